// Sizes of the payload's own memory (its bss): shared by entry.S and C++.
#pragma once

#define SVM_MAX_VCPUS 8
// Each vCPU's stack slot: a guard page its stage-1 leaves unmapped, then the stack.
#define SVM_STACK_GUARD 0x1000
#define SVM_STACK_SIZE 0x4000
#define SVM_STACK_SLOT (SVM_STACK_GUARD + SVM_STACK_SIZE)
// Stage-1 table pages: one level-1 root, a level-2 table per GiB of RAM touched, level-3
// tables where the image's sections and stack guards need 4 KiB pages.
#define SVM_TABLE_PAGES 32
// HYPHEAP_FN_SVM_ABORT (include/hypheap/abi.h): vectors.S cannot include the C header.
#define SVM_FN_ABORT 0xC6000014

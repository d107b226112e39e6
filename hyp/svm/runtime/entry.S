// The payload's entry and exception vectors (EL1, in VM 10's stage-2).
//
// The image is linked at 0 and position independent: vCPU 0 applies its own R_AARCH64_RELATIVE
// relocations with the MMU off, before any C++ runs, so it works wherever the hyp loaded it
// (the carve-out moves with the size of RAM). Every vCPU then turns on the stage-1 that vCPU 0
// built and runs C++ with caches on.
#include "layout.h"

#define R_AARCH64_RELATIVE 1027

.macro adr_l reg, sym
	adrp \reg, \sym
	add \reg, \reg, :lo12:\sym
.endm

.macro mov_imm reg, imm
	movz \reg, #((\imm) & 0xffff)
	movk \reg, #(((\imm) >> 16) & 0xffff), lsl #16
.endm

// Any exception at EL1 ends the partition: report it to the hyp without touching memory (the
// stack may be what failed), and never come back.
.macro report
	.balign 0x80
	mrs x1, esr_el1
	mrs x2, far_el1
	mrs x3, elr_el1
	mov_imm x0, SVM_FN_ABORT
	hvc #0
	b .
.endm

	.section .text.head, "ax"
	.global _svm_head
_svm_head:
	b svm_entry
	.long 0x56534848          // "HHSV" (boot_info.h: ImageHeader)
	.quad __svm_end - _svm_head       // header to end of bss
	.quad __svm_file_end - _svm_head  // what the hyp copies
	.quad __svm_rodata_end - _svm_head  // start of data and bss

svm_entry:
	// x0 = BootInfo, x1 = vCPU index. Vectors first, so even an early fault is reported.
	adr_l x9, svm_vectors
	msr vbar_el1, x9
	isb
	mov x19, x0
	mov x20, x1
	cmp x20, #SVM_MAX_VCPUS
	b.hs boot_failed
	// This vCPU's stack: the top of its slot.
	adr_l x9, svm_stacks
	mov x10, #SVM_STACK_SLOT
	madd x9, x20, x10, x9
	add sp, x9, x10
	cbnz x20, enable_mmu

	// vCPU 0, global init. Relocate: every entry must be R_AARCH64_RELATIVE (the linker
	// script keeps the image self-contained); anything else is a build bug.
	adr x21, _svm_head
	adr_l x9, __rela_start
	adr_l x10, __rela_end
1:	cmp x9, x10
	b.hs 2f
	ldp x11, x12, [x9], #16   // r_offset, r_info
	ldr x13, [x9], #8         // r_addend
	cmp x12, #R_AARCH64_RELATIVE
	b.ne boot_failed
	add x13, x13, x21
	str x13, [x21, x11]
	b 1b
2:	adr_l x9, __bss_start
	adr_l x10, __bss_end
3:	cmp x9, x10
	b.hs 4f
	str xzr, [x9], #8
	b 3b
4:	mov x0, x19
	bl svm_build_stage1       // C++ with the MMU off: only stores the tables and g_svm_mmu
	cbz x0, boot_failed
	// Everything vCPU 0 wrote went to memory (MMU off). The hyp's cacheable identity map may
	// have pulled lines of the image into the caches since the hyp cleaned it; drop them so
	// no stale line shadows the tables, the relocations or the stack once caches are on.
	adr x9, _svm_head
	adr_l x10, __svm_end
	mrs x11, ctr_el0
	ubfx x11, x11, #16, #4    // DminLine, log2 of words
	mov x12, #4
	lsl x12, x12, x11
	sub x13, x12, #1
	bic x9, x9, x13
5:	cmp x9, x10
	b.hs enable_mmu
	dc ivac, x9
	add x9, x9, x12
	b 5b

enable_mmu:
	dsb sy
	adr_l x9, g_svm_mmu
	ldp x10, x11, [x9]        // MAIR, TCR
	ldp x12, x13, [x9, #16]   // TTBR0, SCTLR
	cbz x13, boot_failed      // vCPU 0 never built it
	msr mair_el1, x10
	msr tcr_el1, x11
	msr ttbr0_el1, x12
	isb
	tlbi vmalle1
	dsb nsh
	isb
	msr sctlr_el1, x13
	isb
	ic iallu
	dsb nsh
	isb
	mov x0, x19
	mov x1, x20
	mov x29, xzr
	bl svm_main
	// svm_main never returns.
boot_failed:
	mov x1, xzr
	mov x2, x19
	mov x3, x20
	mov_imm x0, SVM_FN_ABORT
	hvc #0
	b .

	.text
	.balign 0x800
	.global svm_vectors
svm_vectors:
	.rept 16
	report
	.endr

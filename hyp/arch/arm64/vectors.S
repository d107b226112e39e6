// The EL2 exception vector table (Arm ARM D1.10.2): 16 entries of 0x80
// bytes, 2 KiB aligned. Exceptions from a lower EL (the host, or a secure-VM
// vCPU) save its x0-x30 on the EL2 stack as a GuestRegs frame (frame.h), call
// C++, and restore them on return: a switch between the two (vcpu.h) rewrites
// the frame, so the eret enters the other.
// The hyp is built with -mgeneral-regs-only, so the host's FP/SIMD state is
// never touched and needs no saving.
#include "stack.h"

#define FRAME_SIZE 256

// x0-x30 into the frame at sp (x30 at 16 * 15; the slot after it is free).
.macro save_regs
	stp x0, x1, [sp, #16 * 0]
	stp x2, x3, [sp, #16 * 1]
	stp x4, x5, [sp, #16 * 2]
	stp x6, x7, [sp, #16 * 3]
	stp x8, x9, [sp, #16 * 4]
	stp x10, x11, [sp, #16 * 5]
	stp x12, x13, [sp, #16 * 6]
	stp x14, x15, [sp, #16 * 7]
	stp x16, x17, [sp, #16 * 8]
	stp x18, x19, [sp, #16 * 9]
	stp x20, x21, [sp, #16 * 10]
	stp x22, x23, [sp, #16 * 11]
	stp x24, x25, [sp, #16 * 12]
	stp x26, x27, [sp, #16 * 13]
	stp x28, x29, [sp, #16 * 14]
	str x30, [sp, #16 * 15]
.endm

.macro save_frame
	sub sp, sp, #FRAME_SIZE
	save_regs
.endm

.macro restore_frame
	ldp x0, x1, [sp, #16 * 0]
	ldp x2, x3, [sp, #16 * 1]
	ldp x4, x5, [sp, #16 * 2]
	ldp x6, x7, [sp, #16 * 3]
	ldp x8, x9, [sp, #16 * 4]
	ldp x10, x11, [sp, #16 * 5]
	ldp x12, x13, [sp, #16 * 6]
	ldp x14, x15, [sp, #16 * 7]
	ldp x16, x17, [sp, #16 * 8]
	ldp x18, x19, [sp, #16 * 9]
	ldp x20, x21, [sp, #16 * 10]
	ldp x22, x23, [sp, #16 * 11]
	ldp x24, x25, [sp, #16 * 12]
	ldp x26, x27, [sp, #16 * 13]
	ldp x28, x29, [sp, #16 * 14]
	ldr x30, [sp, #16 * 15]
	add sp, sp, #FRAME_SIZE
.endm

// A vector the host cannot reach: its IRQ/FIQ/SError are not routed here, and
// AArch32 lower ELs do not exist. Runs on the EL2 stack the host exit entered.
.macro unexpected kind
	.balign 0x80
	save_frame
	mov x0, #\kind
	mov x1, sp
	b hyp_unexpected_common
.endm

.macro lower_async kind
	.balign 0x80
	save_frame
	mov x0, #\kind
	mov x1, sp
	bl hyp_handle_lower_async
	b hyp_return_to_host
.endm

// An exception taken from EL2 itself: always a hyp bug, possibly a stack
// overflow into the guard page, so the SP it hit cannot be trusted. Before any
// memory access, switch to this CPU's emergency stack (TPIDR_EL2 + its top,
// stack.h), keeping the old SP for the report. x0 is parked in SP_EL0, which
// holds the host's EL0 stack pointer: lost, but the machine is stopping. The
// three-instruction swap exchanges SP and x0 with no third register.
.macro el2_fatal_body kind
	msr sp_el0, x0
	mrs x0, tpidr_el2
	add x0, x0, #PERCPU_EMERGENCY_STACK_TOP
	add sp, sp, x0
	sub x0, sp, x0
	sub sp, sp, x0
	sub sp, sp, #FRAME_SIZE
	str x0, [sp, #FATAL_FRAME_SP]
	mrs x0, sp_el0
	save_regs
	mov x0, #\kind
	mov x1, sp
	b hyp_unexpected_common
.endm

.macro el2_fatal kind
	.balign 0x80
.Lfatal_\kind:
	el2_fatal_body \kind
	// An entry is 32 instructions: .org fails the build if this one is longer.
	.org .Lfatal_\kind + 0x80
.endm

	.text
	.balign 0x800
	.global hyp_vectors
hyp_vectors:
	// Current EL with SP_EL0: the hyp never runs on SP_EL0.
	el2_fatal 0
	el2_fatal 1
	el2_fatal 2
	el2_fatal 3
	// Current EL with SP_EL2: a hyp bug, except an abort on hyp_at_s1e1r's AT (at.S).
	.balign 0x80
	b .Lel2h_sync
	el2_fatal 5
	el2_fatal 6
	el2_fatal 7
	// Lower EL, AArch64: the host. The frame is saved with no indirect branch,
	// then the branch predictor is hardened before any C++ runs.
	.balign 0x80
	save_frame
	bl hyp_harden_branch_predictor
	mov x0, sp
	bl hyp_handle_lower_sync
	b hyp_return_to_host
	// Lower EL IRQ, FIQ, SError: routed here only while a secure-VM vCPU runs (HCR_EL2.IMO,
	// FMO, AMO; partition.h), never from the host. No branch hardening: the partition is the
	// hyp's own code.
	lower_async 9
	lower_async 10
	lower_async 11
	// Lower EL, AArch32: used only when the EL below EL2 (EL1) is AArch32,
	// which HCR_EL2.RW rules out. A 32-bit EL0 task's traps to EL2 arrive on
	// the AArch64 entries above, with SPSR_EL2.M[4] set.
	unexpected 12
	unexpected 13
	unexpected 14
	unexpected 15

// Spectre-v2 and Spectre-BHB at EL2 (errata.h, BranchHardening; docs/hypervisor.md):
// whatever the host trained must not steer the hyp's indirect branches. Runs on
// every exception from the host, with its registers already in the frame, so
// x0, x1 and x30 are free; only direct and conditional branches until it
// returns. hyp_branch_hardening: 0 nothing, 1 Cortex-A57/A72, 2 firmware.
hyp_harden_branch_predictor:
	adrp x0, hyp_branch_hardening
	ldr w0, [x0, :lo12:hyp_branch_hardening]
	cmp w0, #1
	b.eq 1f
	cmp w0, #2
	b.eq 3f
	ret
	// Cortex-A57/A72. Branch history: a loop of taken branches overwrites what
	// the host left; eight iterations is the count Arm gives for these cores.
1:	mov x0, #8
2:	b . + 4
	subs x0, x0, #1
	b.ne 2b
	dsb nsh
	isb
	// Branch targets: turning the EL2 MMU off and on again invalidates these
	// cores' branch predictor. No memory access while SCTLR_EL2.M is clear;
	// the instructions are fetched from the same address (identity map).
	mrs x0, sctlr_el2
	bic x1, x0, #1
	msr sctlr_el2, x1
	isb
	msr sctlr_el2, x0
	isb
	ret
	// Another affected core: the firmware's SMCCC_ARCH_WORKAROUND_1 (it may
	// clobber x0-x17, all saved in the frame).
3:	mov w0, #0x8000
	movk w0, #0x8000, lsl #16
	smc #0
	ret

hyp_return_to_host:
	restore_frame
	eret
	// No speculation past the eret (Spectre-style straight-line speculation).
	dsb nsh
	isb

hyp_unexpected_common:
	bl hyp_handle_unexpected_vector
1:	wfi
	b 1b

// EL2h synchronous exceptions, out of line (the vector entry has room for a branch only).
// Not a bug when it is the host's stage-1 walk of hyp_at_s1e1r that aborted: resume at its
// fixup. x16/x17 are free at that AT (at.S); in a real fatal report they are lost.
	.text
.Lel2h_sync:
	mrs x17, elr_el2
	adr x16, hyp_at_insn
	cmp x16, x17
	b.ne 1f
	adr x16, hyp_at_fixup
	msr elr_el2, x16
	eret
1:	el2_fatal_body 4

// Entry points: the primary CPU from QEMU's boot (x0 = DTB), secondary CPUs
// from PSCI CPU_ON (x0 = CPU index), and the eret into the host.
#include "boot_params.h"

#define PSCI_SYSTEM_OFF 0x84000008
// SCTLR_EL2 RES1 bits with the MMU and D-cache off (Arm ARM D17.2.119).
#define SCTLR_EL2_MMU_OFF 0x30c50830
#define SPSR_EL1H_DAIF_MASKED 0x3c5

.macro adr_l reg, sym
	adrp \reg, \sym
	add \reg, \reg, :lo12:\sym
.endm

// Known EL2 state with the MMU off: nothing masked in, our vectors installed,
// and TPIDR_EL2 on the boot PerCpu so even an early fault finds an emergency
// stack (vectors.S).
.macro el2_early_init
	msr daifset, #0xf
	adr_l x9, hyp_boot_percpu
	msr tpidr_el2, x9
	mov_imm x9, SCTLR_EL2_MMU_OFF
	msr sctlr_el2, x9
	isb
	adr_l x9, hyp_vectors
	msr vbar_el2, x9
	isb
.endm

.macro mov_imm reg, imm
	movz \reg, #((\imm) & 0xffff)
	movk \reg, #(((\imm) >> 16) & 0xffff), lsl #16
.endm

	.section .text.head, "ax"
	.global _head
// arm64 Image header (Linux Documentation/arm64/booting.rst): QEMU loads an
// image with this header at RAM base + text_offset (+ 2 MiB when the offset
// is below 2 MiB) and enters it with x0 = DTB.
_head:
	b primary_entry
	.long 0
	.quad 0                    // text_offset
	.quad __hyp_image_size     // image_size, bss included
	.quad 0xa                  // flags: little-endian, 4 KiB pages, anywhere
	.quad 0
	.quad 0
	.quad 0
	.ascii "ARM\x64"
	.long 0

primary_entry:
	mov x19, x0
	el2_early_init
	// Not position independent: refuse to run anywhere but the link address.
	adr x9, _head
	ldr x10, =_head
	cmp x9, x10
	b.ne power_off
	adr_l x9, __bss_start
	adr_l x10, __bss_end
1:	cmp x9, x10
	b.hs 2f
	str xzr, [x9], #8
	b 1b
2:	adr_l x9, hyp_boot_stack_top
	mov sp, x9
	mov x29, xzr
	mov x0, x19
	bl hyp_primary_main
	b power_off

	.text
	.global hyp_secondary_entry
	.balign 8
hyp_secondary_entry:
	mov x19, x0
	el2_early_init
	cmp x19, #HYP_MAX_CPUS
	b.hs power_off
	adr_l x20, hyp_boot_params
	mov x0, x20
	bl hyp_mmu_enable
	add x9, x20, #BOOT_PARAMS_STACK_TOP
	ldr x9, [x9, x19, lsl #3]
	mov sp, x9
	add x9, x20, #BOOT_PARAMS_PERCPU
	ldr x9, [x9, x19, lsl #3]
	msr tpidr_el2, x9
	mov x29, xzr
	mov x0, x19
	bl hyp_secondary_main
	b power_off

// x0 = &MmuRegs. Leaf, no stack: callable with the MMU off.
	.global hyp_mmu_enable
hyp_mmu_enable:
	ldp x1, x2, [x0, #BOOT_PARAMS_MAIR]
	ldp x3, x4, [x0, #BOOT_PARAMS_TTBR0]
	msr mair_el2, x1
	msr tcr_el2, x2
	msr ttbr0_el2, x3
	isb
	tlbi alle2
	ic iallu
	dsb nsh
	isb
	msr sctlr_el2, x4
	isb
	ret

// x0 = function, x1 = new SP_EL2: calls a function that does not return on
// a fresh stack (the stack-overflow test runs on a CPU's own EL2 stack).
	.global hyp_run_on_stack
hyp_run_on_stack:
	mov sp, x1
	mov x29, xzr
	blr x0
	b power_off

// x0 = entry, x1 = argument, x2 = new SP_EL2.
	.global hyp_enter_host
hyp_enter_host:
	msr elr_el2, x0
	mov x9, #SPSR_EL1H_DAIF_MASKED
	msr spsr_el2, x9
	mov sp, x2
	mov x0, x1
	mov x1, xzr
	mov x2, xzr
	mov x3, xzr
	mov x4, xzr
	mov x5, xzr
	mov x6, xzr
	mov x7, xzr
	mov x8, xzr
	mov x9, xzr
	mov x10, xzr
	mov x11, xzr
	mov x12, xzr
	mov x13, xzr
	mov x14, xzr
	mov x15, xzr
	mov x16, xzr
	mov x17, xzr
	mov x18, xzr
	mov x19, xzr
	mov x20, xzr
	mov x21, xzr
	mov x22, xzr
	mov x23, xzr
	mov x24, xzr
	mov x25, xzr
	mov x26, xzr
	mov x27, xzr
	mov x28, xzr
	mov x29, xzr
	mov x30, xzr
	eret

// Nothing sensible left to do (wrong load address, early boot failure):
// power off through QEMU's PSCI so the run ends instead of hanging.
power_off:
	mov_imm x0, PSCI_SYSTEM_OFF
	smc #0
3:	wfi
	b 3b

	.section .data
	.balign 64
	.global hyp_boot_params
hyp_boot_params:
	.space BOOT_PARAMS_SIZE

	.section .bss
	.balign 16
hyp_boot_stack:
	.space HYP_BOOT_STACK_SIZE
hyp_boot_stack_top:

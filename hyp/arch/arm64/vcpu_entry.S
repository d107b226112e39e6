// Boot-time runs of a secure-VM vCPU (vcpu.cc: partition_boot_vcpu): the boot path enters the
// vCPU like an exception return and gets control back, as if from a call, when the vCPU's
// first exit is handled (its FFA_MSG_WAIT or a fault). The exits themselves go through the
// ordinary vectors (vectors.S), on the EL2 stack in use when the vCPU was entered.

// x0 = BootJump (x19..x30, then SP), x1 = the vCPU's x0..x30, x2 = SP_EL2 for its exits
// (0: this one). ELR_EL2, SPSR_EL2 and the EL1 state are already the vCPU's.
	.text
	.global hyp_boot_run
hyp_boot_run:
	stp x19, x20, [x0, #0]
	stp x21, x22, [x0, #16]
	stp x23, x24, [x0, #32]
	stp x25, x26, [x0, #48]
	stp x27, x28, [x0, #64]
	stp x29, x30, [x0, #80]
	mov x9, sp
	str x9, [x0, #96]
	cbz x2, 1f
	mov sp, x2
1:	ldp x2, x3, [x1, #16 * 1]
	ldp x4, x5, [x1, #16 * 2]
	ldp x6, x7, [x1, #16 * 3]
	ldp x8, x9, [x1, #16 * 4]
	ldp x10, x11, [x1, #16 * 5]
	ldp x12, x13, [x1, #16 * 6]
	ldp x14, x15, [x1, #16 * 7]
	ldp x16, x17, [x1, #16 * 8]
	ldp x18, x19, [x1, #16 * 9]
	ldp x20, x21, [x1, #16 * 10]
	ldp x22, x23, [x1, #16 * 11]
	ldp x24, x25, [x1, #16 * 12]
	ldp x26, x27, [x1, #16 * 13]
	ldp x28, x29, [x1, #16 * 14]
	ldr x30, [x1, #16 * 15]
	ldp x0, x1, [x1, #16 * 0]
	eret
	dsb nsh
	isb

// x0 = BootJump, x1 = what hyp_boot_run returns. Drops every frame below the saved SP.
	.global hyp_boot_return
hyp_boot_return:
	ldp x19, x20, [x0, #0]
	ldp x21, x22, [x0, #16]
	ldp x23, x24, [x0, #32]
	ldp x25, x26, [x0, #48]
	ldp x27, x28, [x0, #64]
	ldp x29, x30, [x0, #80]
	ldr x9, [x0, #96]
	mov sp, x9
	mov x0, x1
	ret

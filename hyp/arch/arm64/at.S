// AT S1E1R on the host's behalf, surviving a walk that aborts.
//
// An AT whose stage-1 walk reads a descriptor from memory that answers with an external
// abort does not report it in PAR_EL1: the abort is taken, at EL2, on the AT itself
// (Arm ARM D8.13, "Address translation instructions"). The host chooses its stage-1 tables,
// so it chooses where that walk reads. The EL2 synchronous vector (vectors.S) sends an
// exception taken at hyp_at_insn to hyp_at_fixup instead of the fatal path, and this
// function answers "translation failed" (PAR_EL1.F set). Taking the exception overwrote
// ELR_EL2 and SPSR_EL2, the host's return state, so both are saved first and put back;
// PAR_EL1 is the host's register and is put back too.
//
// uint64_t hyp_at_s1e1r(uint64_t va): PAR_EL1 after the AT, or 1 if the walk aborted.
// Clobbers x16 and x17 in addition to the argument registers (the vector uses them), which
// callers of any function may not keep live across the call (AAPCS64: IP0, IP1).

	.text
	.global hyp_at_s1e1r
	.global hyp_at_insn
	.global hyp_at_fixup
	.type hyp_at_s1e1r, %function
hyp_at_s1e1r:
	mrs x1, elr_el2
	mrs x2, spsr_el2
	mrs x3, par_el1
hyp_at_insn:
	at s1e1r, x0
	isb
	mrs x0, par_el1
.Lat_done:
	msr par_el1, x3
	msr elr_el2, x1
	msr spsr_el2, x2
	isb
	ret
hyp_at_fixup:
	mov x0, #1
	b .Lat_done
	.size hyp_at_s1e1r, . - hyp_at_s1e1r

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the KUnit suites of hypheap_hyp_kunit.ko, which talk to
 * the hypervisor directly (raw SMCCC calls) and read the device tree it
 * handed Linux.
 */
#ifndef HYPHEAP_HYP_TEST_UTIL_H
#define HYPHEAP_HYP_TEST_UTIL_H

#include <kunit/test.h>
#include <linux/arm-smccc.h>
#include <linux/ioport.h>
#include <linux/types.h>

/**
 * struct hypheap_ktest_faults - the hypervisor's host-fault counters at one moment
 * @faults: %HYPHEAP_STAT_HOST_FAULTS
 * @injected: %HYPHEAP_STAT_ABORTS_INJECTED
 */
struct hypheap_ktest_faults {
	u64 faults;
	u64 injected;
};

bool hypheap_ktest_conduit_hvc(struct kunit *test);
void hypheap_ktest_call(bool hvc, u32 fn, unsigned long a1, unsigned long a2,
			struct arm_smccc_res *res);
long hypheap_ktest_assign_one(bool hvc, void *desc, u64 srcvm, u32 vmid,
			      u32 perms, phys_addr_t pa, size_t size,
			      u64 *owners);
struct hypheap_ktest_faults hypheap_ktest_read_faults(struct kunit *test,
						      bool hvc);
long hypheap_ktest_write_nofault(void *dst, u64 value);
u64 hypheap_ktest_stat(struct kunit *test, bool hvc, unsigned int index);
unsigned int hypheap_ktest_carveouts(struct resource *res, unsigned int max);
void hypheap_ktest_ram_bounds(phys_addr_t *start, phys_addr_t *end);

#endif /* HYPHEAP_HYP_TEST_UTIL_H */

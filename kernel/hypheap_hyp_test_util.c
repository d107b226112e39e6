// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the KUnit suites that talk to the hypervisor directly
 * (hypheap-hyp, hypheap-hostile): one way to make a call, read a STATS
 * counter, and find the hypervisor's carve-outs and RAM in the device tree.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/minmax.h>
#include <linux/of.h>
#include <linux/of_address.h>

#include <hypheap/abi.h>

#include "hypheap_hyp_test_util.h"

/**
 * hypheap_ktest_call() - one SMCCC call with two arguments
 * @hvc: conduit: HVC if true, else SMC
 * @fn: function id
 * @a1: x1
 * @a2: x2
 * @res: the answer, x0..x3
 */
void hypheap_ktest_call(bool hvc, u32 fn, unsigned long a1, unsigned long a2,
			struct arm_smccc_res *res)
{
	if (hvc)
		arm_smccc_1_1_hvc(fn, a1, a2, res);
	else
		arm_smccc_1_1_smc(fn, a1, a2, res);
}

/**
 * hypheap_ktest_stat() - read one of the hypervisor's STATS counters
 * @test: the case; a failed call fails it
 * @hvc: conduit
 * @index: HYPHEAP_STAT_*
 *
 * Return: the counter's value.
 */
u64 hypheap_ktest_stat(struct kunit *test, bool hvc, unsigned int index)
{
	struct arm_smccc_res res;

	hypheap_ktest_call(hvc, HYPHEAP_FN_STATS, index, 0, &res);
	KUNIT_EXPECT_EQ(test, (long)res.a0, (long)HYPHEAP_OK);
	return res.a1;
}

/**
 * hypheap_ktest_carveouts() - the hypervisor's carve-outs
 * @res: filled with the regions
 * @max: entries in @res
 *
 * The hypervisor marks its own and the secure VMs' memory no-map in
 * /reserved-memory; the reusable CMA pool it also describes there is host
 * memory and is not returned.
 *
 * Return: the number of entries filled.
 */
unsigned int hypheap_ktest_carveouts(struct resource *res, unsigned int max)
{
	struct device_node *rmem, *np;
	unsigned int n = 0;

	rmem = of_find_node_by_path("/reserved-memory");
	if (!rmem)
		return 0;
	for_each_available_child_of_node(rmem, np) {
		if (n < max && of_property_read_bool(np, "no-map") &&
		    !of_address_to_resource(np, 0, &res[n]))
			n++;
	}
	of_node_put(rmem);
	return n;
}

/**
 * hypheap_ktest_ram_bounds() - lowest and highest+1 addresses of RAM
 * @start: lowest RAM address, from the DT memory nodes
 * @end: highest RAM address + 1
 */
void hypheap_ktest_ram_bounds(phys_addr_t *start, phys_addr_t *end)
{
	struct device_node *np;
	struct resource res;
	int i;

	*start = ~(phys_addr_t)0;
	*end = 0;
	for_each_node_by_type(np, "memory") {
		for (i = 0; !of_address_to_resource(np, i, &res); i++) {
			*start = min_t(phys_addr_t, *start, res.start);
			*end = max_t(phys_addr_t, *end, res.end + 1);
		}
	}
}

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
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <hypheap/abi.h>

#include "hypheap_hyp_test_util.h"

/**
 * hypheap_ktest_conduit_hvc() - the conduit the hypervisor's DT node names
 * @test: the case; without /firmware/hypheap (not under the hypervisor) it
 *	fails
 *
 * Return: true for "hvc", false for "smc".
 */
bool hypheap_ktest_conduit_hvc(struct kunit *test)
{
	struct device_node *np;
	const char *method = "";

	np = of_find_compatible_node(NULL, NULL, "hypheap,hypervisor");
	KUNIT_ASSERT_NOT_NULL_MSG(test, np,
				  "no /firmware/hypheap: not under the hypervisor");
	KUNIT_EXPECT_EQ(test, of_property_read_string(np, "method", &method),
			0);
	of_node_put(np);
	return !strcmp(method, "hvc");
}

static void hypheap_ktest_raw(bool hvc, u32 fn, unsigned long a1,
			      unsigned long a2, struct arm_smccc_res *res)
{
	if (hvc)
		arm_smccc_1_1_hvc(fn, a1, a2, res);
	else
		arm_smccc_1_1_smc(fn, a1, a2, res);
}

/**
 * hypheap_ktest_call() - one SMCCC call with two arguments
 * @hvc: conduit: HVC if true, else SMC
 * @fn: function id
 * @a1: x1
 * @a2: x2
 * @res: the answer, x0..x3
 *
 * A MEM_ASSIGN the hypervisor does in pieces is continued to its end, so
 * @res is its last answer (never PREEMPTED).
 */
void hypheap_ktest_call(bool hvc, u32 fn, unsigned long a1, unsigned long a2,
			struct arm_smccc_res *res)
{
	hypheap_ktest_raw(hvc, fn, a1, a2, res);
	/* a MEM_ASSIGN done in pieces (ABI 1.6): to the end, as the driver */
	while (fn == HYPHEAP_FN_MEM_ASSIGN && (long)res->a0 == HYPHEAP_PREEMPTED) {
		cond_resched();
		hypheap_ktest_raw(hvc, HYPHEAP_FN_MEM_CONTINUE, res->a1, 0, res);
	}
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
 * hypheap_ktest_assign_one() - MEM_ASSIGN of one range to one destination
 * @hvc: conduit
 * @desc: a host-owned page the descriptor is written into
 * @srcvm: bitmap of the range's current owners
 * @vmid: the destination
 * @perms: the destination's HYPHEAP_PERM_*
 * @pa: first byte of the range
 * @size: bytes
 * @owners: if not NULL, the owners bitmap the call returns (x1)
 *
 * Return: the hypervisor's status (HYPHEAP_OK or HYPHEAP_ERR_*).
 */
long hypheap_ktest_assign_one(bool hvc, void *desc, u64 srcvm, u32 vmid,
			      u32 perms, phys_addr_t pa, size_t size,
			      u64 *owners)
{
	struct hypheap_assign_hdr *hdr = desc;
	struct hypheap_vmperm *dst = (struct hypheap_vmperm *)(hdr + 1);
	struct hypheap_mem_range *range = (struct hypheap_mem_range *)(dst + 1);
	struct arm_smccc_res res;

	memset(desc, 0, HYPHEAP_DESC_SIZE(1, 1));
	hdr->version = HYPHEAP_DESC_VERSION;
	hdr->nr_dests = 1;
	hdr->nr_ranges = 1;
	hdr->srcvm = srcvm;
	dst->vmid = vmid;
	dst->perms = perms;
	range->addr = pa;
	range->size = size;
	hypheap_ktest_call(hvc, HYPHEAP_FN_MEM_ASSIGN, virt_to_phys(desc),
			   HYPHEAP_DESC_SIZE(1, 1), &res);
	if (owners)
		*owners = res.a1;
	return (long)res.a0;
}

/**
 * hypheap_ktest_read_faults() - STATS HOST_FAULTS and ABORTS_INJECTED
 * @test: the case
 * @hvc: conduit
 *
 * Return: both counters, read one after the other.
 */
struct hypheap_ktest_faults hypheap_ktest_read_faults(struct kunit *test,
						      bool hvc)
{
	return (struct hypheap_ktest_faults){
		.faults = hypheap_ktest_stat(test, hvc, HYPHEAP_STAT_HOST_FAULTS),
		.injected = hypheap_ktest_stat(test, hvc,
					       HYPHEAP_STAT_ABORTS_INJECTED),
	};
}

/**
 * hypheap_ktest_write_nofault() - store one u64, surviving a fault
 * @dst: kernel address (an ioremap mapping of memory the host may not own)
 * @value: what to store
 *
 * What copy_to_kernel_nofault() does for one u64; that function is not
 * exported to modules in 6.1.
 *
 * Return: 0, or -EFAULT if the store faulted (the abort the hypervisor
 * injects is fixed up like any bad kernel access).
 */
long hypheap_ktest_write_nofault(void *dst, u64 value)
{
	pagefault_disable();
	__put_kernel_nofault(dst, &value, u64, fault);
	pagefault_enable();
	return 0;
fault:
	pagefault_enable();
	return -EFAULT;
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

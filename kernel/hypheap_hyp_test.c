// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the hypheap hypervisor itself, from the host it guards:
 * raw SMCCC calls with descriptors written here (not by the driver's
 * encoder), on pages this test takes from the page allocator.
 *
 * They need the hypervisor: without the /firmware/hypheap node every case
 * fails. Every page a case lends is checked and given back by the exit
 * hook before it returns to the allocator, whatever the case did.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/arm-smccc.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/of_address.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <uapi/linux/psci.h>

#include <asm/cputype.h>
#include <asm/sysreg.h>

#include <hypheap/abi.h>

#include "hypheap_hyp_test_util.h"
#include "hypheap_priv.h"

#define HH_HOST		HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST)
#define HH_SVM		HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0)
#define HH_DESC_ORDER	5	/* 128 KiB: room past the 64 KiB maximum */
#define HH_MAX_REGIONS	4
#define HH_LOOPS	200
#define HH_MAX_LOOPS	50000	/* overlapping workers: until they collide */

/**
 * struct hh_region - pages a case took from the page allocator
 * @page: first page
 * @order: allocation order
 */
struct hh_region {
	struct page *page;
	unsigned int order;
};

/**
 * struct hh_ctx - one case's conduit, descriptor memory and pages
 * @hvc: the DT node's method is "hvc" (else "smc")
 * @desc: descriptor memory, 2^%HH_DESC_ORDER pages, host owned
 * @regions: pages to check and free at exit
 * @nr_regions: entries in @regions
 */
struct hh_ctx {
	bool hvc;
	void *desc;
	struct hh_region regions[HH_MAX_REGIONS];
	unsigned int nr_regions;
};

static const struct hypheap_vmperm hh_lend_svm = {
	HYPHEAP_VMID_SECURE_0, HYPHEAP_PERM_R | HYPHEAP_PERM_W,
};

static const struct hypheap_vmperm hh_host_rwx = {
	HYPHEAP_VMID_HOST, HYPHEAP_PERM_RWX,
};

/* Write a well-formed descriptor into @desc; return its exact length. */
static size_t hh_build(void *desc, u64 srcvm,
		       const struct hypheap_vmperm *dst, unsigned int nr_dst,
		       const struct hypheap_mem_range *r, unsigned int nr)
{
	struct hypheap_assign_hdr *hdr = desc;
	struct hypheap_vmperm *vm = (struct hypheap_vmperm *)(hdr + 1);
	size_t len = HYPHEAP_DESC_SIZE(nr_dst, nr);

	memset(desc, 0, len);
	hdr->version = HYPHEAP_DESC_VERSION;
	hdr->nr_dests = nr_dst;
	hdr->nr_ranges = nr;
	hdr->srcvm = srcvm;
	memcpy(vm, dst, nr_dst * sizeof(*dst));
	memcpy(vm + nr_dst, r, nr * sizeof(*r));
	return len;
}

static long hh_assign_at(bool hvc, phys_addr_t pa, size_t len, u64 *owners)
{
	struct arm_smccc_res res;

	hypheap_ktest_call(hvc, HYPHEAP_FN_MEM_ASSIGN, pa, len, &res);
	if (owners)
		*owners = res.a1;
	return (long)res.a0;
}

/* MEM_ASSIGN of @nr ranges from @srcvm to one destination. */
static long hh_assign(bool hvc, void *desc, u64 srcvm,
		      const struct hypheap_vmperm *dst,
		      const struct hypheap_mem_range *r, unsigned int nr)
{
	size_t len = hh_build(desc, srcvm, dst, 1, r, nr);

	return hh_assign_at(hvc, virt_to_phys(desc), len, NULL);
}

static long hh_query(bool hvc, phys_addr_t pa, u64 pages,
		     struct arm_smccc_res *res)
{
	hypheap_ktest_call(hvc, HYPHEAP_FN_MEM_QUERY, pa, pages, res);
	return (long)res->a0;
}

static u64 hh_stat(struct kunit *test, unsigned int index)
{
	struct hh_ctx *ctx = test->priv;

	return hypheap_ktest_stat(test, ctx->hvc, index);
}

/* Pages for a case, zeroed; the exit hook gives them back. */
static struct page *hh_pages(struct kunit *test, unsigned int order)
{
	struct hh_ctx *ctx = test->priv;
	struct page *page;

	KUNIT_ASSERT_LT(test, ctx->nr_regions, HH_MAX_REGIONS);
	page = alloc_pages(GFP_KERNEL | __GFP_ZERO, order);
	KUNIT_ASSERT_NOT_NULL(test, page);
	ctx->regions[ctx->nr_regions].page = page;
	ctx->regions[ctx->nr_regions].order = order;
	ctx->nr_regions++;
	return page;
}

static struct hypheap_mem_range hh_range(struct page *page, unsigned int n)
{
	return (struct hypheap_mem_range){
		.addr = page_to_phys(page), .size = (u64)n << PAGE_SHIFT,
	};
}

/* Expect all @n pages at @page to have @owners and @state. */
static void hh_expect_owned(struct kunit *test, struct page *page,
			    unsigned int n, u64 owners, u64 state)
{
	struct hh_ctx *ctx = test->priv;
	struct arm_smccc_res res;

	KUNIT_ASSERT_EQ(test, hh_query(ctx->hvc, page_to_phys(page), n, &res),
			(long)HYPHEAP_OK);
	KUNIT_EXPECT_EQ(test, res.a1, owners);
	KUNIT_EXPECT_EQ(test, res.a2, state);
	KUNIT_EXPECT_EQ(test, res.a3, (unsigned long)n);
}

static bool hh_page_is_host(bool hvc, phys_addr_t pa, u64 *owners)
{
	struct arm_smccc_res res;

	if (hh_query(hvc, pa, 1, &res) != HYPHEAP_OK)
		return false;
	*owners = res.a1;
	return res.a1 == HH_HOST && res.a2 == HYPHEAP_STATE_EXCLUSIVE;
}

/* Make every page of @r the host's again; false if one cannot be. */
static bool hh_give_back(struct hh_ctx *ctx, struct hh_region *r)
{
	unsigned int i;
	bool ok = true;

	for (i = 0; i < 1U << r->order; i++) {
		struct hypheap_mem_range one = hh_range(r->page + i, 1);
		u64 owners;

		if (hh_page_is_host(ctx->hvc, one.addr, &owners))
			continue;
		if (hh_assign(ctx->hvc, ctx->desc, owners, &hh_host_rwx, &one,
			      1) != HYPHEAP_OK ||
		    !hh_page_is_host(ctx->hvc, one.addr, &owners))
			ok = false;
	}
	return ok;
}

static int hh_init(struct kunit *test)
{
	struct device_node *np;
	struct hh_ctx *ctx;
	const char *method;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	test->priv = ctx;
	/* the cases count the hyp's calls; a pool's scrub is one of them */
	hypheap_heaps_quiesce();

	np = of_find_compatible_node(NULL, NULL, "hypheap,hypervisor");
	KUNIT_ASSERT_NOT_NULL_MSG(test, np,
				  "no /firmware/hypheap: not under the hypervisor");
	KUNIT_ASSERT_EQ(test, of_property_read_string(np, "method", &method),
			0);
	ctx->hvc = !strcmp(method, "hvc");
	of_node_put(np);

	ctx->desc = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO,
					     HH_DESC_ORDER);
	KUNIT_ASSERT_NOT_NULL(test, ctx->desc);
	return 0;
}

static void hh_exit(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	unsigned int i;

	if (!ctx || !ctx->desc)
		return;
	for (i = 0; i < ctx->nr_regions; i++) {
		struct hh_region *r = &ctx->regions[i];

		/* never hand a page the host does not own to the allocator */
		if (hh_give_back(ctx, r))
			__free_pages(r->page, r->order);
		else
			KUNIT_FAIL(test, "pages at %pa stay lent: leaked",
				   &(phys_addr_t){ page_to_phys(r->page) });
	}
	free_pages((unsigned long)ctx->desc, HH_DESC_ORDER);
}

/* ---- identity ---- */

static void uid_identifies_hypheap(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	struct arm_smccc_res res;

	hypheap_ktest_call(ctx->hvc, HYPHEAP_FN_VENDOR_HYP_UID, 0, 0, &res);
	KUNIT_EXPECT_EQ(test, res.a0, (unsigned long)HYPHEAP_UID_0);
	KUNIT_EXPECT_EQ(test, res.a1, (unsigned long)HYPHEAP_UID_1);
	KUNIT_EXPECT_EQ(test, res.a2, (unsigned long)HYPHEAP_UID_2);
	KUNIT_EXPECT_EQ(test, res.a3, (unsigned long)HYPHEAP_UID_3);

	hypheap_ktest_call(ctx->hvc, HYPHEAP_FN_VENDOR_HYP_REVISION, 0, 0, &res);
	KUNIT_EXPECT_EQ(test, res.a0, (unsigned long)HYPHEAP_ABI_VERSION_MAJOR);
	KUNIT_EXPECT_EQ(test, res.a1, (unsigned long)HYPHEAP_ABI_VERSION_MINOR);
}

static void unknown_calls_are_refused(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	struct arm_smccc_res res;

	hypheap_ktest_call(ctx->hvc, HYPHEAP_FN_STATS + 0x10, 0, 0, &res);
	KUNIT_EXPECT_EQ(test, (long)res.a0, (long)HYPHEAP_ERR_NOT_SUPPORTED);
	hypheap_ktest_call(ctx->hvc, HYPHEAP_FN_STATS, HYPHEAP_STAT_COUNT, 0, &res);
	KUNIT_EXPECT_EQ(test, (long)res.a0, (long)HYPHEAP_ERR_STAT_INDEX);
}

/* ---- SMCCC Arm architecture calls ---- */

#define HH_SPECTRE_V2 "/sys/devices/system/cpu/vulnerabilities/spectre_v2"

/* Cortex-A57 or A72: the cores the hypervisor hardens itself (no CSV2). */
static bool hh_cpu_is_a57_class(void)
{
	u32 midr = read_cpuid_id();

	return MIDR_IMPLEMENTOR(midr) == ARM_CPU_IMP_ARM &&
	       (MIDR_PARTNUM(midr) == ARM_CPU_PART_CORTEX_A57 ||
		MIDR_PARTNUM(midr) == ARM_CPU_PART_CORTEX_A72);
}

static long hh_arch_features(struct hh_ctx *ctx, u32 fid)
{
	struct arm_smccc_res res;

	hypheap_ktest_call(ctx->hvc, ARM_SMCCC_ARCH_FEATURES_FUNC_ID, fid, 0,
			   &res);
	return (long)(int)res.a0;
}

/*
 * ARCH_FEATURES answers for what the hypervisor implements and nothing
 * else: on the cores it hardens, SMCCC_ARCH_WORKAROUND_1 is there (so Linux
 * mitigates Spectre-v2 by calling it); WORKAROUND_2 and 3, SOC_ID and ids
 * of other owners (PSCI) are not.
 */
static void arch_features_answer_only_what_is_implemented(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	struct arm_smccc_res res;

	KUNIT_EXPECT_EQ(test, hh_arch_features(ctx, ARM_SMCCC_VERSION_FUNC_ID),
			0L);
	KUNIT_EXPECT_EQ(test,
			hh_arch_features(ctx, ARM_SMCCC_ARCH_FEATURES_FUNC_ID),
			0L);
	if (hh_cpu_is_a57_class())
		KUNIT_EXPECT_EQ(test,
				hh_arch_features(ctx, ARM_SMCCC_ARCH_WORKAROUND_1),
				0L);
	KUNIT_EXPECT_EQ(test, hh_arch_features(ctx, ARM_SMCCC_ARCH_WORKAROUND_2),
			(long)SMCCC_RET_NOT_SUPPORTED);
	KUNIT_EXPECT_EQ(test, hh_arch_features(ctx, ARM_SMCCC_ARCH_WORKAROUND_3),
			(long)SMCCC_RET_NOT_SUPPORTED);
	KUNIT_EXPECT_EQ(test, hh_arch_features(ctx, ARM_SMCCC_ARCH_SOC_ID),
			(long)SMCCC_RET_NOT_SUPPORTED);
	KUNIT_EXPECT_EQ(test, hh_arch_features(ctx, PSCI_0_2_FN_PSCI_VERSION),
			(long)SMCCC_RET_NOT_SUPPORTED);
	KUNIT_EXPECT_EQ(test, hh_arch_features(ctx, HYPHEAP_FN_MEM_ASSIGN),
			(long)SMCCC_RET_NOT_SUPPORTED);

	/* and the workaround itself returns, on both conduits' path */
	hypheap_ktest_call(ctx->hvc, ARM_SMCCC_ARCH_WORKAROUND_1, 0, 0, &res);
	KUNIT_EXPECT_EQ(test, (long)res.a0, 0L);
}

/*
 * What Linux concluded from those answers at boot, as user space reads it.
 * Before the hypervisor answered WORKAROUND_1 this read "Vulnerable".
 */
static void host_mitigates_spectre_v2_through_the_hyp(struct kunit *test)
{
	static const char want[] =
		"Mitigation: Branch predictor hardening, BHB\n";
	char buf[80] = {};
	struct file *f;
	loff_t pos = 0;
	ssize_t n;

	if (!hh_cpu_is_a57_class())
		kunit_skip(test, "not a Cortex-A57/A72");
	f = filp_open(HH_SPECTRE_V2, O_RDONLY, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(f), "open %s: %ld", HH_SPECTRE_V2,
			       PTR_ERR(f));
	n = kernel_read(f, buf, sizeof(buf) - 1, &pos);
	filp_close(f, NULL);
	KUNIT_ASSERT_GT(test, n, 0L);
	KUNIT_EXPECT_STREQ(test, buf, want);
}

/* ---- the PMU cannot count the hypervisor ---- */

#define HH_PMU_P	BIT(31)	/* PMCCFILTR_EL0: do not count EL1 */
#define HH_PMU_U	BIT(30)	/* do not count EL0 */
#define HH_PMU_NSH	BIT(27)	/* count EL2 */
#define HH_PMCR_E	BIT(0)
#define HH_PMCR_C	BIT(2)	/* reset the cycle counter */
#define HH_PMCNTEN_C	BIT(31)
#define HH_PMU_CALLS	200
#define HH_DFR0_PMUVER(dfr0)	(((dfr0) >> 8) & 0xf)	/* ID_AA64DFR0_EL1 */

/*
 * With nothing counted but EL2 (P and U set, NSH set), the cycle counter
 * runs across hypercalls only if the host can profile the hypervisor.
 * Cortex-A57 has no MDCR_EL2.HPMD: the hypervisor traps the PMU and drops
 * NSH from every event type the host writes. QEMU's cycle counter follows
 * the filter across exception levels, so the leak was visible here: the
 * counter ran, and NSH read back as written.
 */
static void host_cannot_count_el2_cycles(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	u64 pmcr, cnten, filter, readback, before, after, own;
	struct arm_smccc_res res;
	unsigned int i;

	if (HH_DFR0_PMUVER(read_sysreg(id_aa64dfr0_el1)) == 0)
		kunit_skip(test, "no PMU");
	preempt_disable();
	pmcr = read_sysreg(pmcr_el0);
	cnten = read_sysreg(pmcntenset_el0);
	filter = read_sysreg(pmccfiltr_el0);

	write_sysreg(HH_PMU_P | HH_PMU_U | HH_PMU_NSH, pmccfiltr_el0);
	isb();
	readback = read_sysreg(pmccfiltr_el0);
	write_sysreg(HH_PMCNTEN_C, pmcntenset_el0);
	write_sysreg(pmcr | HH_PMCR_E | HH_PMCR_C, pmcr_el0);
	isb();
	before = read_sysreg(pmccntr_el0);
	for (i = 0; i < HH_PMU_CALLS; i++)
		hypheap_ktest_call(ctx->hvc, HYPHEAP_FN_STATS,
				   HYPHEAP_STAT_ASSIGN_CALLS, 0, &res);
	isb();
	after = read_sysreg(pmccntr_el0);

	/* and the host keeps its own counting: EL1 cycles do count */
	write_sysreg(HH_PMU_U, pmccfiltr_el0);
	isb();
	own = read_sysreg(pmccntr_el0);
	for (i = 0; i < HH_PMU_CALLS; i++)
		cpu_relax();
	isb();
	own = read_sysreg(pmccntr_el0) - own;

	write_sysreg(HH_PMCNTEN_C & ~cnten, pmcntenclr_el0);
	write_sysreg(filter, pmccfiltr_el0);
	write_sysreg(pmcr, pmcr_el0);
	isb();
	preempt_enable();

	KUNIT_EXPECT_EQ_MSG(test, readback & HH_PMU_NSH, 0ULL,
			    "PMCCFILTR_EL0 %llx: EL2 counting kept", readback);
	KUNIT_EXPECT_EQ_MSG(test, after - before, 0ULL,
			    "%u hypercalls: %llu EL2 cycles counted",
			    HH_PMU_CALLS, after - before);
	KUNIT_EXPECT_GT_MSG(test, own, 0ULL, "EL1 cycles not counted");
}

/* ---- ownership round trips ---- */

static void lend_query_reclaim_round_trip(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	struct page *page = hh_pages(test, 2);
	struct hypheap_mem_range r = hh_range(page, 4);
	u64 lent = hh_stat(test, HYPHEAP_STAT_PAGES_LENT);
	u64 reclaimed = hh_stat(test, HYPHEAP_STAT_PAGES_RECLAIMED);
	u64 scrubbed = hh_stat(test, HYPHEAP_STAT_PAGES_SCRUBBED);
	u64 calls = hh_stat(test, HYPHEAP_STAT_ASSIGN_CALLS);
	u64 owners;
	size_t len;

	hh_expect_owned(test, page, 4, HH_HOST, HYPHEAP_STATE_EXCLUSIVE);

	len = hh_build(ctx->desc, HH_HOST, &hh_lend_svm, 1, &r, 1);
	KUNIT_ASSERT_EQ(test, hh_assign_at(ctx->hvc, virt_to_phys(ctx->desc),
					   len, &owners), (long)HYPHEAP_OK);
	KUNIT_EXPECT_EQ(test, owners, HH_SVM);
	hh_expect_owned(test, page, 4, HH_SVM, HYPHEAP_STATE_EXCLUSIVE);
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_PAGES_LENT), lent + 4);

	len = hh_build(ctx->desc, HH_SVM, &hh_host_rwx, 1, &r, 1);
	KUNIT_ASSERT_EQ(test, hh_assign_at(ctx->hvc, virt_to_phys(ctx->desc),
					   len, &owners), (long)HYPHEAP_OK);
	KUNIT_EXPECT_EQ(test, owners, HH_HOST);
	hh_expect_owned(test, page, 4, HH_HOST, HYPHEAP_STATE_EXCLUSIVE);

	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_PAGES_LENT), lent);
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_PAGES_RECLAIMED),
			reclaimed + 4);
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_PAGES_SCRUBBED),
			scrubbed + 4);
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_ASSIGN_CALLS),
			calls + 2);
}

/*
 * ABI 1.8 at EL2: the scrub in place of a lend keeps it lent (owners, state
 * and PAGES_LENT as they were), counts its pages scrubbed, and is refused
 * without its flag (DEST_SET) or with perms other than the lend's (PERMS).
 */
static void scrub_in_place_keeps_the_lend(struct kunit *test)
{
	static const struct hypheap_vmperm read_only = {
		HYPHEAP_VMID_SECURE_0, HYPHEAP_PERM_R,
	};
	struct hh_ctx *ctx = test->priv;
	struct hypheap_assign_hdr *hdr = ctx->desc;
	struct page *page = hh_pages(test, 2);
	struct hypheap_mem_range r = hh_range(page, 4);
	phys_addr_t pa = virt_to_phys(ctx->desc);
	u64 lent, scrubbed, owners;
	size_t len;

	len = hh_build(ctx->desc, HH_HOST, &hh_lend_svm, 1, &r, 1);
	KUNIT_ASSERT_EQ(test, hh_assign_at(ctx->hvc, pa, len, &owners),
			(long)HYPHEAP_OK);
	lent = hh_stat(test, HYPHEAP_STAT_PAGES_LENT);
	scrubbed = hh_stat(test, HYPHEAP_STAT_PAGES_SCRUBBED);

	len = hh_build(ctx->desc, HH_SVM, &hh_lend_svm, 1, &r, 1);
	KUNIT_EXPECT_EQ(test, hh_assign_at(ctx->hvc, pa, len, &owners),
			(long)HYPHEAP_ERR_DEST_SET);
	len = hh_build(ctx->desc, HH_SVM, &read_only, 1, &r, 1);
	hdr->flags = HYPHEAP_DESC_F_SCRUB;
	KUNIT_EXPECT_EQ(test, hh_assign_at(ctx->hvc, pa, len, &owners),
			(long)HYPHEAP_ERR_PERMS);
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_PAGES_SCRUBBED),
			scrubbed);

	len = hh_build(ctx->desc, HH_SVM, &hh_lend_svm, 1, &r, 1);
	hdr->flags = HYPHEAP_DESC_F_SCRUB;
	KUNIT_ASSERT_EQ(test, hh_assign_at(ctx->hvc, pa, len, &owners),
			(long)HYPHEAP_OK);
	KUNIT_EXPECT_EQ(test, owners, HH_SVM);
	hh_expect_owned(test, page, 4, HH_SVM, HYPHEAP_STATE_EXCLUSIVE);
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_PAGES_LENT), lent);
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_PAGES_SCRUBBED),
			scrubbed + 4);

	len = hh_build(ctx->desc, HH_SVM, &hh_host_rwx, 1, &r, 1);
	KUNIT_EXPECT_EQ(test, hh_assign_at(ctx->hvc, pa, len, &owners),
			(long)HYPHEAP_OK);
	hh_expect_owned(test, page, 4, HH_HOST, HYPHEAP_STATE_EXCLUSIVE);
}

/* One phase of the hypervisor's PROFILE, read raw: ticks, times, ticks per second. */
static void hh_profile(struct kunit *test, unsigned int phase, u64 out[3])
{
	struct hh_ctx *ctx = test->priv;
	struct arm_smccc_res res;

	hypheap_ktest_call(ctx->hvc, HYPHEAP_FN_PROFILE, phase, 0, &res);
	KUNIT_EXPECT_EQ(test, (long)res.a0, (long)HYPHEAP_OK);
	out[0] = res.a1;
	out[1] = res.a2;
	out[2] = res.a3;
}

/*
 * A lend and its reclaim are timed phase by phase, in ticks of the counter
 * Linux's own arch timer runs on; a phase past the last is refused.
 */
static void profile_times_a_lend_and_reclaim(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	struct page *page = hh_pages(test, 2);
	struct hypheap_mem_range r = hh_range(page, 4);
	u64 before[HYPHEAP_PROFILE_COUNT][3], after[HYPHEAP_PROFILE_COUNT][3];
	struct arm_smccc_res res;
	unsigned int i;
	size_t len;

	for (i = 0; i < HYPHEAP_PROFILE_COUNT; i++)
		hh_profile(test, i, before[i]);
	len = hh_build(ctx->desc, HH_HOST, &hh_lend_svm, 1, &r, 1);
	KUNIT_ASSERT_EQ(test, hh_assign_at(ctx->hvc, virt_to_phys(ctx->desc),
					   len, NULL), (long)HYPHEAP_OK);
	len = hh_build(ctx->desc, HH_SVM, &hh_host_rwx, 1, &r, 1);
	KUNIT_ASSERT_EQ(test, hh_assign_at(ctx->hvc, virt_to_phys(ctx->desc),
					   len, NULL), (long)HYPHEAP_OK);
	for (i = 0; i < HYPHEAP_PROFILE_COUNT; i++) {
		hh_profile(test, i, after[i]);
		KUNIT_EXPECT_EQ(test, after[i][2], (u64)read_sysreg(cntfrq_el0));
		KUNIT_EXPECT_GE(test, after[i][0], before[i][0]);
	}
	KUNIT_EXPECT_GE(test, after[HYPHEAP_PROFILE_VALIDATE][1],
			before[HYPHEAP_PROFILE_VALIDATE][1] + 2);
	KUNIT_EXPECT_GE(test, after[HYPHEAP_PROFILE_STAGE2][1],
			before[HYPHEAP_PROFILE_STAGE2][1] + 4);
	KUNIT_EXPECT_GE(test, after[HYPHEAP_PROFILE_CLEAN][1],
			before[HYPHEAP_PROFILE_CLEAN][1] + 1);
	KUNIT_EXPECT_GE(test, after[HYPHEAP_PROFILE_SCRUB][1],
			before[HYPHEAP_PROFILE_SCRUB][1] + 1);
	/* zeroing 16 KiB is not free: the scrub took time */
	KUNIT_EXPECT_GT(test, after[HYPHEAP_PROFILE_SCRUB][0],
			before[HYPHEAP_PROFILE_SCRUB][0]);

	hypheap_ktest_call(ctx->hvc, HYPHEAP_FN_PROFILE, HYPHEAP_PROFILE_COUNT,
			   0, &res);
	KUNIT_EXPECT_EQ(test, (long)res.a0, (long)HYPHEAP_ERR_STAT_INDEX);
}

static void share_keeps_host_access_and_data(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	struct page *page = hh_pages(test, 0);
	struct hypheap_mem_range r = hh_range(page, 1);
	const struct hypheap_vmperm share[] = {
		{ HYPHEAP_VMID_HOST, HYPHEAP_PERM_R | HYPHEAP_PERM_W },
		{ HYPHEAP_VMID_SECURE_0, HYPHEAP_PERM_R },
	};
	u64 shared = hh_stat(test, HYPHEAP_STAT_PAGES_SHARED);
	u8 *va = page_address(page);
	u8 byte = 0;
	size_t len;

	memset(va, 0x5a, PAGE_SIZE);
	len = hh_build(ctx->desc, HH_HOST, share, 2, &r, 1);
	KUNIT_ASSERT_EQ(test, hh_assign_at(ctx->hvc, virt_to_phys(ctx->desc),
					   len, NULL), (long)HYPHEAP_OK);
	hh_expect_owned(test, page, 1, HH_HOST | HH_SVM,
			HYPHEAP_STATE_SHARED);
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_PAGES_SHARED),
			shared + 1);
	KUNIT_EXPECT_EQ(test, copy_from_kernel_nofault(&byte, va + 100, 1), 0);
	KUNIT_EXPECT_EQ(test, byte, 0x5a);

	KUNIT_ASSERT_EQ(test, hh_assign(ctx->hvc, ctx->desc, HH_HOST | HH_SVM,
					&hh_host_rwx, &r, 1), (long)HYPHEAP_OK);
	hh_expect_owned(test, page, 1, HH_HOST, HYPHEAP_STATE_EXCLUSIVE);
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_PAGES_SHARED), shared);
	/* the host had it all along: no scrub */
	KUNIT_EXPECT_NULL(test, memchr_inv(va, 0x5a, PAGE_SIZE));
}

static void lent_page_faults_on_read(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	struct page *page = hh_pages(test, 0);
	struct hypheap_mem_range r = hh_range(page, 1);
	u8 *va = page_address(page);
	u8 got[64];

	memset(va, 0xa5, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, copy_from_kernel_nofault(got, va, sizeof(got)),
			0);
	KUNIT_EXPECT_NULL(test, memchr_inv(got, 0xa5, sizeof(got)));

	KUNIT_ASSERT_EQ(test, hh_assign(ctx->hvc, ctx->desc, HH_HOST,
					&hh_lend_svm, &r, 1), (long)HYPHEAP_OK);
	memset(got, 0, sizeof(got));
	KUNIT_EXPECT_EQ(test, copy_from_kernel_nofault(got, va, sizeof(got)),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, copy_from_kernel_nofault(got, va + PAGE_SIZE - 8,
						       8), -EFAULT);
	KUNIT_EXPECT_NULL(test, memchr_inv(got, 0, sizeof(got)));

	KUNIT_ASSERT_EQ(test, hh_assign(ctx->hvc, ctx->desc, HH_SVM,
					&hh_host_rwx, &r, 1), (long)HYPHEAP_OK);
	KUNIT_EXPECT_EQ(test, copy_from_kernel_nofault(got, va, sizeof(got)),
			0);
}

static void reclaimed_pages_read_zero(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	struct page *page = hh_pages(test, 3);
	struct hypheap_mem_range r = hh_range(page, 8);
	u8 *va = page_address(page);

	memset(va, 0xa5, 8 * PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, hh_assign(ctx->hvc, ctx->desc, HH_HOST,
					&hh_lend_svm, &r, 1), (long)HYPHEAP_OK);
	KUNIT_ASSERT_EQ(test, hh_assign(ctx->hvc, ctx->desc, HH_SVM,
					&hh_host_rwx, &r, 1), (long)HYPHEAP_OK);
	KUNIT_EXPECT_NULL(test, memchr_inv(va, 0, 8 * PAGE_SIZE));
}

/* One call, never continued: what the hypervisor answers to this call alone. */
static void hh_raw(bool hvc, u32 fn, unsigned long a1, unsigned long a2,
		   struct arm_smccc_res *res)
{
	if (hvc)
		arm_smccc_1_1_hvc(fn, a1, a2, res);
	else
		arm_smccc_1_1_smc(fn, a1, a2, res);
}

/*
 * ABI 1.6: a lend of more than HYPHEAP_PIECE_PAGES pages is done one piece
 * per call at EL2. After the first, the first 2 MiB are the secure VM's and
 * the rest still the host's, all flagged as the operation's; another lend of
 * one of its pages is PENDING, a forged token TOKEN; MEM_CONTINUE ends it.
 * The reclaim goes in pieces too and leaves every page zero.
 */
static void long_calls_are_done_in_pieces(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	struct page *page = hh_pages(test, 10);	/* 4 MiB, aligned: 2 pieces */
	unsigned int n = 1U << 10;
	struct hypheap_mem_range r = hh_range(page, n);
	struct hypheap_mem_range last = hh_range(page + n - 1, 1);
	u64 pending = HYPHEAP_STATE_EXCLUSIVE | HYPHEAP_STATE_F_PENDING;
	u64 preempted = hh_stat(test, HYPHEAP_STAT_PREEMPTED);
	u8 *va = page_address(page);
	struct arm_smccc_res res;
	unsigned long token;
	size_t len;

	memset(va, 0xa5, n * PAGE_SIZE);
	len = hh_build(ctx->desc, HH_HOST, &hh_lend_svm, 1, &r, 1);
	hh_raw(ctx->hvc, HYPHEAP_FN_MEM_ASSIGN, virt_to_phys(ctx->desc), len,
	       &res);
	KUNIT_ASSERT_EQ(test, (long)res.a0, (long)HYPHEAP_PREEMPTED);
	token = res.a1;
	hh_expect_owned(test, page, n / 2, HH_SVM, pending);
	hh_expect_owned(test, page + n / 2, n / 2, HH_HOST, pending);
	KUNIT_EXPECT_EQ(test, hh_assign(ctx->hvc, ctx->desc, HH_HOST,
					&hh_lend_svm, &last, 1),
			(long)HYPHEAP_ERR_PENDING);
	hh_raw(ctx->hvc, HYPHEAP_FN_MEM_CONTINUE, token ^ BIT(8), 0, &res);
	KUNIT_EXPECT_EQ(test, (long)res.a0, (long)HYPHEAP_ERR_TOKEN);
	hh_raw(ctx->hvc, HYPHEAP_FN_MEM_CONTINUE, token, 0, &res);
	KUNIT_ASSERT_EQ(test, (long)res.a0, (long)HYPHEAP_OK);
	KUNIT_EXPECT_EQ(test, res.a1, (unsigned long)HH_SVM);
	hh_expect_owned(test, page, n, HH_SVM, HYPHEAP_STATE_EXCLUSIVE);
	/* the reclaim, continued to its end by the helper */
	KUNIT_ASSERT_EQ(test, hh_assign(ctx->hvc, ctx->desc, HH_SVM,
					&hh_host_rwx, &r, 1), (long)HYPHEAP_OK);
	hh_expect_owned(test, page, n, HH_HOST, HYPHEAP_STATE_EXCLUSIVE);
	KUNIT_EXPECT_NULL(test, memchr_inv(va, 0, n * PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_PREEMPTED) - preempted,
			2ULL);
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_PENDING), 0ULL);
}

/* ---- hostile descriptors: each has its own status, and changes nothing */

/**
 * struct hh_hostile - a refused call and what it must not have changed
 * @page: four host pages: the valid range is the first two, the hostile
 *	ranges may name the other two
 * @spare: physical address of the third page
 * @r: ranges of the descriptor, @r[0] the valid one
 * @nr_host: pages from @page on that must stay the host's
 * @lent: PAGES_LENT before the call
 * @failed: ASSIGN_FAILED before the call
 */
struct hh_hostile {
	struct page *page;
	phys_addr_t spare;
	struct hypheap_mem_range r[4];
	unsigned int nr_host;
	u64 lent;
	u64 failed;
};

static void hh_hostile_init(struct kunit *test, struct hh_hostile *h)
{
	h->page = hh_pages(test, 2);
	h->spare = page_to_phys(h->page + 2);
	h->r[0] = hh_range(h->page, 2);
	h->nr_host = 4;
	h->lent = hh_stat(test, HYPHEAP_STAT_PAGES_LENT);
	h->failed = hh_stat(test, HYPHEAP_STAT_ASSIGN_FAILED);
}

/* Call with the descriptor at @pa as it is; expect @want and no change. */
static void hh_expect_refused(struct kunit *test, struct hh_hostile *h,
			      phys_addr_t pa, size_t len, long want)
{
	struct hh_ctx *ctx = test->priv;
	u64 owners = ~0ULL;

	KUNIT_EXPECT_EQ(test, hh_assign_at(ctx->hvc, pa, len, &owners), want);
	KUNIT_EXPECT_EQ(test, owners, 0ULL);
	h->failed++;
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_ASSIGN_FAILED),
			h->failed);
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_PAGES_LENT), h->lent);
	hh_expect_owned(test, h->page, h->nr_host, HH_HOST,
			HYPHEAP_STATE_EXCLUSIVE);
}

/* Assign @h's valid range plus @nr_bad more ranges, expect @want. */
static void hh_expect_assign_refused(struct kunit *test, struct hh_hostile *h,
				     u64 srcvm,
				     const struct hypheap_vmperm *dst,
				     unsigned int nr_dst, unsigned int nr_bad,
				     long want)
{
	struct hh_ctx *ctx = test->priv;
	size_t len = hh_build(ctx->desc, srcvm, dst, nr_dst, h->r, 1 + nr_bad);

	hh_expect_refused(test, h, virt_to_phys(ctx->desc), len, want);
}

/* A lend of @h's valid range plus @nr_bad ranges, expect @want. */
static void hh_expect_lend_refused(struct kunit *test, struct hh_hostile *h,
				   unsigned int nr_bad, long want)
{
	hh_expect_assign_refused(test, h, HH_HOST, &hh_lend_svm, 1, nr_bad,
				 want);
}

static void hostile_bad_version(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	struct hypheap_assign_hdr *hdr = ctx->desc;
	struct hh_hostile h;
	size_t len;

	hh_hostile_init(test, &h);
	len = hh_build(ctx->desc, HH_HOST, &hh_lend_svm, 1, h.r, 1);
	hdr->version = HYPHEAP_DESC_VERSION + 1;
	hh_expect_refused(test, &h, virt_to_phys(ctx->desc), len,
			  HYPHEAP_ERR_BAD_VERSION);
	hdr->version = 0;
	hh_expect_refused(test, &h, virt_to_phys(ctx->desc), len,
			  HYPHEAP_ERR_BAD_VERSION);
}

static void hostile_descriptor_placement(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	struct hypheap_mem_range tail;
	struct resource carve[8];
	struct hh_hostile h;
	struct page *two;
	size_t len;

	hh_hostile_init(test, &h);
	len = hh_build(ctx->desc + 8, HH_HOST, &hh_lend_svm, 1, h.r, 1);
	hh_expect_refused(test, &h, virt_to_phys(ctx->desc) + 8, len,
			  HYPHEAP_ERR_DESC_ALIGN);

	/* in the hypervisor's memory */
	KUNIT_ASSERT_GE(test, hypheap_ktest_carveouts(carve, ARRAY_SIZE(carve)), 1U);
	hh_expect_refused(test, &h, carve[0].start, HYPHEAP_DESC_SIZE(1, 1),
			  HYPHEAP_ERR_DESC_NOT_HOST);

	/* partly in a page lent away: 300 ranges spill into the second page */
	two = hh_pages(test, 1);
	len = hh_build(page_address(two), HH_HOST, &hh_lend_svm, 1, h.r, 1);
	len = HYPHEAP_DESC_SIZE(1, 300);
	KUNIT_ASSERT_GT(test, len, (size_t)PAGE_SIZE);
	tail = hh_range(two + 1, 1);
	KUNIT_ASSERT_EQ(test, hh_assign(ctx->hvc, ctx->desc, HH_HOST,
					&hh_lend_svm, &tail, 1),
			(long)HYPHEAP_OK);
	h.lent++;
	((struct hypheap_assign_hdr *)page_address(two))->nr_ranges = 300;
	hh_expect_refused(test, &h, page_to_phys(two), len,
			  HYPHEAP_ERR_DESC_NOT_HOST);
}

static void hostile_oversized(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	struct hypheap_assign_hdr *hdr = ctx->desc;
	phys_addr_t pa = virt_to_phys(ctx->desc);
	struct hh_hostile h;
	size_t len;

	hh_hostile_init(test, &h);
	len = hh_build(ctx->desc, HH_HOST, &hh_lend_svm, 1, h.r, 1);
	hh_expect_refused(test, &h, pa, HYPHEAP_DESC_MAX_SIZE + PAGE_SIZE,
			  HYPHEAP_ERR_DESC_LEN);
	hh_expect_refused(test, &h, pa, len + sizeof(h.r[0]),
			  HYPHEAP_ERR_DESC_LEN);
	hh_expect_refused(test, &h, pa, len - sizeof(h.r[0]),
			  HYPHEAP_ERR_DESC_LEN);
	hh_expect_refused(test, &h, pa, sizeof(*hdr) - 1,
			  HYPHEAP_ERR_DESC_LEN);

	/* one range more than 64 KiB holds, length matching the counts */
	hdr->nr_ranges = HYPHEAP_DESC_MAX_RANGES(1) + 1;
	hh_expect_refused(test, &h, pa,
			  HYPHEAP_DESC_SIZE(1, HYPHEAP_DESC_MAX_RANGES(1) + 1),
			  HYPHEAP_ERR_DESC_LEN);
	hdr->nr_ranges = 0;
	hh_expect_refused(test, &h, pa, HYPHEAP_DESC_SIZE(1, 0),
			  HYPHEAP_ERR_DESC_LEN);
}

static void hostile_reserved_fields(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	struct hypheap_assign_hdr *hdr = ctx->desc;
	struct hh_hostile h;
	size_t len;

	hh_hostile_init(test, &h);
	len = hh_build(ctx->desc, HH_HOST, &hh_lend_svm, 1, h.r, 1);
	hdr->flags = 0x8000;
	hh_expect_refused(test, &h, virt_to_phys(ctx->desc), len,
			  HYPHEAP_ERR_DESC_RESERVED);
	/* the scrub flag (1.8) names one transition, and a lend is not it */
	hdr->flags = HYPHEAP_DESC_F_SCRUB;
	hh_expect_refused(test, &h, virt_to_phys(ctx->desc), len,
			  HYPHEAP_ERR_DEST_SET);
	hdr->flags = 0;
	hdr->reserved = 0x80000000;
	hh_expect_refused(test, &h, virt_to_phys(ctx->desc), len,
			  HYPHEAP_ERR_DESC_RESERVED);
}

static void hostile_unaligned_range(struct kunit *test)
{
	struct hh_hostile h;

	hh_hostile_init(test, &h);
	h.r[1] = (struct hypheap_mem_range){ h.spare + 0x800, PAGE_SIZE };
	hh_expect_lend_refused(test, &h, 1, HYPHEAP_ERR_RANGE_UNALIGNED);
	h.r[1] = (struct hypheap_mem_range){ h.spare, 0x800 };
	hh_expect_lend_refused(test, &h, 1, HYPHEAP_ERR_RANGE_UNALIGNED);
}

static void hostile_range_size(struct kunit *test)
{
	struct hh_hostile h;

	hh_hostile_init(test, &h);
	h.r[1] = (struct hypheap_mem_range){ h.spare, 0 };
	hh_expect_lend_refused(test, &h, 1, HYPHEAP_ERR_RANGE_SIZE);
	h.r[1] = (struct hypheap_mem_range){ -(u64)PAGE_SIZE, 2 * PAGE_SIZE };
	hh_expect_lend_refused(test, &h, 1, HYPHEAP_ERR_RANGE_SIZE);
}

static void hostile_outside_ram(struct kunit *test)
{
	phys_addr_t start, end;
	struct hh_hostile h;

	hypheap_ktest_ram_bounds(&start, &end);
	KUNIT_ASSERT_LT(test, start, end);
	hh_hostile_init(test, &h);
	h.r[1] = (struct hypheap_mem_range){ end, PAGE_SIZE };
	hh_expect_lend_refused(test, &h, 1, HYPHEAP_ERR_OUTSIDE_RAM);
	h.r[1] = (struct hypheap_mem_range){ start - PAGE_SIZE, PAGE_SIZE };
	hh_expect_lend_refused(test, &h, 1, HYPHEAP_ERR_OUTSIDE_RAM);
	/* straddling the end of RAM */
	h.r[1] = (struct hypheap_mem_range){ end - PAGE_SIZE, 2 * PAGE_SIZE };
	hh_expect_lend_refused(test, &h, 1, HYPHEAP_ERR_OUTSIDE_RAM);
}

static void hostile_hyp_memory(struct kunit *test)
{
	struct resource carve[8];
	struct hh_hostile h;
	unsigned int n, i;

	n = hypheap_ktest_carveouts(carve, ARRAY_SIZE(carve));
	KUNIT_ASSERT_GE_MSG(test, n, 1U, "no no-map region in /reserved-memory");
	hh_hostile_init(test, &h);
	for (i = 0; i < n; i++) {
		kunit_info(test, "carve-out %pR\n", &carve[i]);
		h.r[1] = (struct hypheap_mem_range){ carve[i].start,
						     PAGE_SIZE };
		hh_expect_lend_refused(test, &h, 1, HYPHEAP_ERR_PROTECTED);
		h.r[1] = (struct hypheap_mem_range){
			carve[i].end + 1 - PAGE_SIZE, PAGE_SIZE };
		hh_expect_lend_refused(test, &h, 1, HYPHEAP_ERR_PROTECTED);
	}
}

static void hostile_overlap(struct kunit *test)
{
	struct hh_hostile h;

	hh_hostile_init(test, &h);
	h.r[1] = h.r[0];
	hh_expect_lend_refused(test, &h, 1, HYPHEAP_ERR_OVERLAP);
	h.r[1] = (struct hypheap_mem_range){ h.r[0].addr + PAGE_SIZE,
					     2 * PAGE_SIZE };
	hh_expect_lend_refused(test, &h, 1, HYPHEAP_ERR_OVERLAP);
	/* the valid range first, two overlapping ones after it */
	h.r[1] = (struct hypheap_mem_range){ h.spare + PAGE_SIZE, PAGE_SIZE };
	h.r[2] = (struct hypheap_mem_range){ h.spare, 2 * PAGE_SIZE };
	hh_expect_lend_refused(test, &h, 2, HYPHEAP_ERR_OVERLAP);
}

static void hostile_unknown_vm(struct kunit *test)
{
	const u32 bad[] = { 0, HYPHEAP_VMID_HYP, 5, 12, 63 };
	struct hypheap_vmperm vm;
	struct hh_hostile h;
	unsigned int i;

	hh_hostile_init(test, &h);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		vm = (struct hypheap_vmperm){ bad[i], HYPHEAP_PERM_R };
		hh_expect_assign_refused(test, &h, HH_HOST, &vm, 1, 0,
					 HYPHEAP_ERR_UNKNOWN_VMID);
	}
	hh_expect_assign_refused(test, &h, HH_HOST | HYPHEAP_VMID_BIT(7),
				 &hh_lend_svm, 1, 0,
				 HYPHEAP_ERR_UNKNOWN_VMID);
}

static void hostile_perms(struct kunit *test)
{
	struct hypheap_vmperm vm = { HYPHEAP_VMID_SECURE_0, 0 };
	struct hh_hostile h;

	hh_hostile_init(test, &h);
	hh_expect_assign_refused(test, &h, HH_HOST, &vm, 1, 0,
				 HYPHEAP_ERR_PERMS);
	vm.perms = HYPHEAP_PERM_RWX + 1;
	hh_expect_assign_refused(test, &h, HH_HOST, &vm, 1, 0,
				 HYPHEAP_ERR_PERMS);
	/* a reclaim must give the host everything back */
	vm = (struct hypheap_vmperm){ HYPHEAP_VMID_HOST, HYPHEAP_PERM_R };
	hh_expect_assign_refused(test, &h, HH_SVM, &vm, 1, 0,
				 HYPHEAP_ERR_PERMS);
}

static void hostile_dest_set(struct kunit *test)
{
	const struct hypheap_vmperm dup[] = { hh_lend_svm, hh_lend_svm };
	const struct hypheap_vmperm two_svm[] = {
		hh_lend_svm, { HYPHEAP_VMID_SECURE_1, HYPHEAP_PERM_R },
	};
	struct hypheap_vmperm many[HYPHEAP_DESC_MAX_DESTS + 1];
	struct hh_hostile h;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = (struct hypheap_vmperm){ i, HYPHEAP_PERM_R };
	hh_hostile_init(test, &h);
	hh_expect_assign_refused(test, &h, HH_HOST, &hh_lend_svm, 0, 0,
				 HYPHEAP_ERR_DEST_SET);
	hh_expect_assign_refused(test, &h, HH_HOST, many, ARRAY_SIZE(many), 0,
				 HYPHEAP_ERR_DEST_SET);
	hh_expect_assign_refused(test, &h, HH_HOST, dup, 2, 0,
				 HYPHEAP_ERR_DEST_SET);
	hh_expect_assign_refused(test, &h, HH_HOST, two_svm, 2, 0,
				 HYPHEAP_ERR_DEST_SET);
	/* not one of the four transitions */
	hh_expect_assign_refused(test, &h, HH_HOST, &hh_host_rwx, 1, 0,
				 HYPHEAP_ERR_DEST_SET);
	hh_expect_assign_refused(test, &h, 0, &hh_lend_svm, 1, 0,
				 HYPHEAP_ERR_DEST_SET);
}

static void hostile_wrong_state(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	struct hypheap_mem_range last;
	struct hh_hostile h;

	hh_hostile_init(test, &h);
	/* reclaiming pages the secure VM does not have */
	hh_expect_assign_refused(test, &h, HH_SVM, &hh_host_rwx, 1, 0,
				 HYPHEAP_ERR_STATE);

	/* lending a page that is lent already, with pages that are not */
	last = hh_range(h.page + 3, 1);
	KUNIT_ASSERT_EQ(test, hh_assign(ctx->hvc, ctx->desc, HH_HOST,
					&hh_lend_svm, &last, 1),
			(long)HYPHEAP_OK);
	h.lent++;
	h.nr_host = 3;
	h.r[1] = last;
	hh_expect_lend_refused(test, &h, 1, HYPHEAP_ERR_STATE);
	hh_expect_owned(test, h.page + 3, 1, HH_SVM, HYPHEAP_STATE_EXCLUSIVE);
}

/* ---- both CPUs at once ---- */

/**
 * struct hh_worker - one kthread lending and reclaiming in a loop
 * @hvc: conduit
 * @desc: its own descriptor page
 * @r: the pages it assigns
 * @touch: write a pattern before each lend, check zeros after reclaim
 * @ok: lends that worked (each followed by a reclaim)
 * @state: lends refused with %HYPHEAP_ERR_STATE
 * @other: any other answer to a lend, or a failed reclaim
 * @last_bad: the last such answer
 * @dirty: reclaims after which the pages were not all zero
 * @ready: shared by the pair: workers at the start line
 * @collisions: shared by an overlapping pair, NULL otherwise: STATE
 *	answers so far; the loop goes on past %HH_LOOPS until there is one
 * @loops: iterations done
 * @done: completed when the loop ends
 */
struct hh_worker {
	bool hvc;
	void *desc;
	struct hypheap_mem_range r;
	bool touch;
	unsigned int ok, state, other, dirty;
	long last_bad;
	atomic_t *ready;
	atomic_t *collisions;
	unsigned int loops;
	struct completion done;
};

static int hh_worker_fn(void *data)
{
	struct hh_worker *w = data;
	void *va = phys_to_virt(w->r.addr);
	unsigned int i;
	long st;

	/* start together, so the calls really overlap in time */
	atomic_inc(w->ready);
	while (atomic_read(w->ready) < 2)
		cpu_relax();

	for (i = 0; i < HH_LOOPS || (w->collisions && i < HH_MAX_LOOPS &&
				     !atomic_read(w->collisions)); i++) {
		if (w->touch)
			memset(va, 0x3c + i, w->r.size);
		st = hh_assign(w->hvc, w->desc, HH_HOST, &hh_lend_svm, &w->r,
			       1);
		if (st == HYPHEAP_ERR_STATE) {
			w->state++;
			if (w->collisions)
				atomic_inc(w->collisions);
			continue;
		}
		if (st == HYPHEAP_OK) {
			w->ok++;
			st = hh_assign(w->hvc, w->desc, HH_SVM, &hh_host_rwx,
				       &w->r, 1);
			if (st == HYPHEAP_OK) {
				if (w->touch && memchr_inv(va, 0, w->r.size))
					w->dirty++;
				continue;
			}
		}
		w->other++;
		w->last_bad = st;
	}
	w->loops = i;
	complete(&w->done);
	return 0;
}

/* Run one worker on each of CPU 0 and 1 and wait for both. */
static void hh_run_pair(struct kunit *test, struct hh_worker *w)
{
	atomic_t ready = ATOMIC_INIT(0);
	struct task_struct *t[2];
	unsigned int cpu;

	KUNIT_ASSERT_TRUE_MSG(test, cpu_online(0) && cpu_online(1),
			      "needs CPUs 0 and 1 online");
	for (cpu = 0; cpu < 2; cpu++) {
		w[cpu].ready = &ready;
		init_completion(&w[cpu].done);
		t[cpu] = kthread_create(hh_worker_fn, &w[cpu], "hh-assign/%u",
					cpu);
		if (IS_ERR(t[cpu])) {
			/* the first one has not started: let it not wait */
			if (cpu)
				kthread_stop(t[0]);
			KUNIT_ASSERT_FAILURE(test, "kthread_create: %ld",
					     PTR_ERR(t[cpu]));
		}
		kthread_bind(t[cpu], cpu);
	}
	/* both exist: neither can spin waiting for one that never comes */
	for (cpu = 0; cpu < 2; cpu++)
		wake_up_process(t[cpu]);
	for (cpu = 0; cpu < 2; cpu++)
		wait_for_completion(&w[cpu].done);
	for (cpu = 0; cpu < 2; cpu++)
		kunit_info(test, "cpu%u: %u calls: %u ok, %u STATE, %u other (last %ld)\n",
			   cpu, w[cpu].loops, w[cpu].ok, w[cpu].state,
			   w[cpu].other, w[cpu].last_bad);
}

static void two_cpus_disjoint_pages(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	struct page *page = hh_pages(test, 3);
	struct hh_worker w[2] = {};
	u64 lent = hh_stat(test, HYPHEAP_STAT_PAGES_LENT);
	u64 calls = hh_stat(test, HYPHEAP_STAT_ASSIGN_CALLS);
	unsigned int i;

	for (i = 0; i < 2; i++) {
		w[i].hvc = ctx->hvc;
		w[i].desc = page_address(hh_pages(test, 0));
		/* neighbours in one block: both CPUs edit one stage-2 table */
		w[i].r = hh_range(page + 4 * i, 4);
		w[i].touch = true;
	}
	hh_run_pair(test, w);
	for (i = 0; i < 2; i++) {
		KUNIT_EXPECT_EQ(test, w[i].ok, (unsigned int)HH_LOOPS);
		KUNIT_EXPECT_EQ(test, w[i].state, 0U);
		KUNIT_EXPECT_EQ(test, w[i].other, 0U);
		KUNIT_EXPECT_EQ(test, w[i].dirty, 0U);
	}
	hh_expect_owned(test, page, 8, HH_HOST, HYPHEAP_STATE_EXCLUSIVE);
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_PAGES_LENT), lent);
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_ASSIGN_CALLS),
			calls + 4 * HH_LOOPS);
}

static void two_cpus_overlapping_ranges(struct kunit *test)
{
	struct hh_ctx *ctx = test->priv;
	struct page *page = hh_pages(test, 3);
	struct hh_worker w[2] = {};
	u64 lent = hh_stat(test, HYPHEAP_STAT_PAGES_LENT);
	u64 calls = hh_stat(test, HYPHEAP_STAT_ASSIGN_CALLS);
	atomic_t collisions = ATOMIC_INIT(0);
	unsigned int i;

	for (i = 0; i < 2; i++) {
		w[i].hvc = ctx->hvc;
		w[i].desc = page_address(hh_pages(test, 0));
		w[i].collisions = &collisions;
		/* pages 2 and 3 in both: the CPU must not touch them */
		w[i].r = hh_range(page + 2 * i, 4);
	}
	hh_run_pair(test, w);
	for (i = 0; i < 2; i++) {
		KUNIT_EXPECT_EQ(test, w[i].ok + w[i].state, w[i].loops);
		KUNIT_EXPECT_EQ(test, w[i].other, 0U);
	}
	/*
	 * Lends did happen and did collide. Which CPU wins is not fair and
	 * need not be: one may lose every time.
	 */
	KUNIT_EXPECT_GT(test, w[0].ok + w[1].ok, 0U);
	KUNIT_EXPECT_GT(test, w[0].state + w[1].state, 0U);
	hh_expect_owned(test, page, 8, HH_HOST, HYPHEAP_STATE_EXCLUSIVE);
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_PAGES_LENT), lent);
	KUNIT_EXPECT_EQ(test, hh_stat(test, HYPHEAP_STAT_ASSIGN_CALLS),
			calls + w[0].loops + w[1].loops + w[0].ok + w[1].ok);
}

static struct kunit_case hypheap_hyp_cases[] = {
	KUNIT_CASE(uid_identifies_hypheap),
	KUNIT_CASE(unknown_calls_are_refused),
	KUNIT_CASE(arch_features_answer_only_what_is_implemented),
	KUNIT_CASE(host_mitigates_spectre_v2_through_the_hyp),
	KUNIT_CASE(host_cannot_count_el2_cycles),
	KUNIT_CASE(lend_query_reclaim_round_trip),
	KUNIT_CASE(profile_times_a_lend_and_reclaim),
	KUNIT_CASE(share_keeps_host_access_and_data),
	KUNIT_CASE(lent_page_faults_on_read),
	KUNIT_CASE(reclaimed_pages_read_zero),
	KUNIT_CASE(long_calls_are_done_in_pieces),
	KUNIT_CASE(hostile_bad_version),
	KUNIT_CASE(hostile_descriptor_placement),
	KUNIT_CASE(hostile_oversized),
	KUNIT_CASE(scrub_in_place_keeps_the_lend),
	KUNIT_CASE(hostile_reserved_fields),
	KUNIT_CASE(hostile_unaligned_range),
	KUNIT_CASE(hostile_range_size),
	KUNIT_CASE(hostile_outside_ram),
	KUNIT_CASE(hostile_hyp_memory),
	KUNIT_CASE(hostile_overlap),
	KUNIT_CASE(hostile_unknown_vm),
	KUNIT_CASE(hostile_perms),
	KUNIT_CASE(hostile_dest_set),
	KUNIT_CASE(hostile_wrong_state),
	KUNIT_CASE(two_cpus_disjoint_pages),
	KUNIT_CASE(two_cpus_overlapping_ranges),
	{}
};

static struct kunit_suite hypheap_hyp_suite = {
	.name = "hypheap-hyp",
	.init = hh_init,
	.exit = hh_exit,
	.test_cases = hypheap_hyp_cases,
};

kunit_test_suite(hypheap_hyp_suite);

MODULE_DESCRIPTION("KUnit tests of hypheap against the real hypervisor");
MODULE_LICENSE("GPL");

// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite "hypheap-hostile": the host throws garbage at the hypervisor,
 * which must answer every call with a defined status, change no page's owner
 * unless it said OK, and keep answering. Also EL1 reads and writes of memory
 * the host does not own, which must come back as -EFAULT from the nofault
 * accessors instead of stopping anything, each counted once by the
 * hypervisor (STATS HOST_FAULTS and ABORTS_INJECTED).
 *
 * Like hypheap-hyp it needs the hypervisor: without /firmware/hypheap every
 * case fails.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/arm-smccc.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/of_address.h>
#include <linux/prandom.h>
#include <linux/psci.h>
#include <linux/sizes.h>
#include <linux/uaccess.h>
#include <uapi/linux/psci.h>

#include <hypheap/abi.h>

#include "hypheap.h"

#include "hypheap_hyp_test_util.h"
#include "hypheap_priv.h"

#define HHX_HOST	HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST)
#define HHX_SVM0	HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0)
#define HHX_SVM1	HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_1)
#define HHX_CALLS	100000
#define HHX_SECONDS	240	/* a hang guard, well inside the scenario's 480 s */
#define HHX_PROBE_ORDER	2	/* four probe pages */
#define HHX_DESC_ORDER	4	/* 64 KiB: any length up to the maximum is host RAM */
#define HHX_MAX_CARVE	8
#define HHX_SEED	0x6879706865617021ULL
#define HHX_IPA_LIMIT	BIT_ULL(39)	/* the hypervisor's stage-2 input size */

/* PSCI function numbers that would stop a CPU or the machine (PSCI 1.1). */
#define HHX_PSCI_CPU_SUSPEND		0x01
#define HHX_PSCI_CPU_OFF		0x02
#define HHX_PSCI_SYSTEM_OFF		0x08
#define HHX_PSCI_SYSTEM_RESET		0x09
#define HHX_PSCI_CPU_FREEZE		0x0b
#define HHX_PSCI_CPU_DEFAULT_SUSPEND	0x0c
#define HHX_PSCI_SYSTEM_SUSPEND		0x0e
#define HHX_PSCI_SYSTEM_RESET2		0x12
#define HHX_PSCI_SYSTEM_OFF2		0x15

/**
 * struct hhx_ctx - what one case throws and what it watches
 * @hvc: the DT node's method is "hvc" (else "smc")
 * @rnd: the random stream; seeded with %HHX_SEED so a failure replays
 * @probe: pages the hostile calls may name; they stay the host's unless a
 *	call said OK, after which they are given back
 * @desc: where hostile descriptors are written; its first page may also be
 *	named by a descriptor, so it can be lent away too
 * @safe: descriptor page of the give-backs, never named by a hostile call
 * @carve: the no-map /reserved-memory regions: the hypervisor's memory
 * @nr_carve: entries in @carve
 * @ram_start: lowest RAM address
 * @ram_end: highest RAM address + 1
 */
struct hhx_ctx {
	bool hvc;
	struct rnd_state rnd;
	struct page *probe;
	void *desc;
	void *safe;
	struct resource carve[HHX_MAX_CARVE];
	unsigned int nr_carve;
	phys_addr_t ram_start;
	phys_addr_t ram_end;
};

/**
 * struct hhx_tally - what the random calls did
 * @calls: calls made
 * @assigns: MEM_ASSIGN calls among them
 * @rejected: MEM_ASSIGN calls answered with an error
 * @accepted: MEM_ASSIGN calls answered OK (their pages were given back)
 * @give_backs: MEM_ASSIGN calls made to give pages back
 * @ffa: calls in the FF-A range among them
 * @ffa_runs: FFA_RUN calls made to resume a request the hyp preempted
 */
struct hhx_tally {
	unsigned int calls;
	unsigned int assigns;
	unsigned int rejected;
	unsigned int accepted;
	unsigned int give_backs;
	unsigned int ffa;
	unsigned int ffa_runs;
};

/* FF-A (DEN0077A) ids and codes the storm needs; the hyp's are hyp/core/ffa_abi.h. */
#define HHX_FFA_ERROR		0x84000060U
#define HHX_FFA_SUCCESS		0x84000061U
#define HHX_FFA_INTERRUPT	0x84000062U
#define HHX_FFA_VERSION		0x84000063U
#define HHX_FFA_RX_RELEASE	0x84000065U
#define HHX_FFA_RXTX_UNMAP	0x84000067U
#define HHX_FFA_PARTITION_INFO	0x84000068U
#define HHX_FFA_ID_GET		0x84000069U
#define HHX_FFA_RUN		0x8400006DU
#define HHX_FFA_DIRECT_RESP	0x84000070U
#define HHX_FFA_MEM_FRAG_RX	0x8400007AU
#define HHX_FFA_LAST		0x840000FFU
#define HHX_FFA_64		0x40000000U

static bool hhx_is_ffa(u32 fid)
{
	u32 f = fid & ~HHX_FFA_64;

	return f >= HHX_FFA_ERROR && f <= HHX_FFA_LAST;
}

static u32 hhx_rand(struct hhx_ctx *ctx)
{
	return prandom_u32_state(&ctx->rnd);
}

static u64 hhx_rand64(struct hhx_ctx *ctx)
{
	return (u64)hhx_rand(ctx) << 32 | hhx_rand(ctx);
}

/* True with probability @percent / 100. */
static bool hhx_chance(struct hhx_ctx *ctx, unsigned int percent)
{
	return hhx_rand(ctx) % 100 < percent;
}

static phys_addr_t hhx_probe_pa(struct hhx_ctx *ctx)
{
	return page_to_phys(ctx->probe);
}

static int hhx_init(struct kunit *test)
{
	struct device_node *np;
	struct hhx_ctx *ctx;
	const char *method;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	test->priv = ctx;
	prandom_seed_state(&ctx->rnd, HHX_SEED);

	np = of_find_compatible_node(NULL, NULL, "hypheap,hypervisor");
	KUNIT_ASSERT_NOT_NULL_MSG(test, np,
				  "no /firmware/hypheap: not under the hypervisor");
	KUNIT_ASSERT_EQ(test, of_property_read_string(np, "method", &method),
			0);
	ctx->hvc = !strcmp(method, "hvc");
	of_node_put(np);

	ctx->nr_carve = hypheap_ktest_carveouts(ctx->carve, HHX_MAX_CARVE);
	KUNIT_ASSERT_GE_MSG(test, ctx->nr_carve, 1U,
			    "no no-map region in /reserved-memory");
	hypheap_ktest_ram_bounds(&ctx->ram_start, &ctx->ram_end);
	KUNIT_ASSERT_LT(test, ctx->ram_start, ctx->ram_end);

	ctx->probe = alloc_pages(GFP_KERNEL | __GFP_ZERO, HHX_PROBE_ORDER);
	ctx->desc = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO,
					     HHX_DESC_ORDER);
	ctx->safe = (void *)get_zeroed_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->probe);
	KUNIT_ASSERT_NOT_NULL(test, ctx->desc);
	KUNIT_ASSERT_NOT_NULL(test, ctx->safe);
	return 0;
}

/* ---- ownership of the pages this suite owns ---- */

static bool hhx_query(struct hhx_ctx *ctx, phys_addr_t pa, u64 pages,
		      struct arm_smccc_res *res)
{
	hypheap_ktest_call(ctx->hvc, HYPHEAP_FN_MEM_QUERY, pa, pages, res);
	return (long)res->a0 == HYPHEAP_OK;
}

/* All @pages at @pa are the host's alone. */
static bool hhx_host_owns(struct hhx_ctx *ctx, phys_addr_t pa, u64 pages)
{
	struct arm_smccc_res res;

	return hhx_query(ctx, pa, pages, &res) && res.a1 == HHX_HOST &&
	       res.a2 == HYPHEAP_STATE_EXCLUSIVE && res.a3 == pages;
}

/* Make the page at @pa the host's again, through the safe descriptor. */
static bool hhx_give_back_page(struct hhx_ctx *ctx, phys_addr_t pa,
			       struct hhx_tally *tally)
{
	struct hypheap_assign_hdr *hdr = ctx->safe;
	struct hypheap_vmperm *dest = (struct hypheap_vmperm *)(hdr + 1);
	struct hypheap_mem_range *range = (struct hypheap_mem_range *)(dest + 1);
	struct arm_smccc_res res;

	if (hhx_host_owns(ctx, pa, 1))
		return true;
	if (!hhx_query(ctx, pa, 1, &res))
		return false;
	memset(hdr, 0, HYPHEAP_DESC_SIZE(1, 1));
	hdr->version = HYPHEAP_DESC_VERSION;
	hdr->nr_dests = 1;
	hdr->nr_ranges = 1;
	hdr->srcvm = res.a1;
	dest->vmid = HYPHEAP_VMID_HOST;
	dest->perms = HYPHEAP_PERM_RWX;
	range->addr = pa;
	range->size = PAGE_SIZE;
	tally->give_backs++;
	hypheap_ktest_call(ctx->hvc, HYPHEAP_FN_MEM_ASSIGN,
			   virt_to_phys(ctx->safe), HYPHEAP_DESC_SIZE(1, 1),
			   &res);
	return (long)res.a0 == HYPHEAP_OK && hhx_host_owns(ctx, pa, 1);
}

/* After an OK: every page a hostile call may name goes back to the host. */
static bool hhx_give_back_all(struct hhx_ctx *ctx, struct hhx_tally *tally)
{
	unsigned int i;
	bool ok = true;

	for (i = 0; i < 1U << HHX_PROBE_ORDER; i++)
		ok &= hhx_give_back_page(ctx, hhx_probe_pa(ctx) + i * PAGE_SIZE,
					 tally);
	return ok && hhx_give_back_page(ctx, virt_to_phys(ctx->desc), tally);
}

static bool hhx_all_host(struct hhx_ctx *ctx)
{
	return hhx_host_owns(ctx, hhx_probe_pa(ctx), 1U << HHX_PROBE_ORDER) &&
	       hhx_host_owns(ctx, virt_to_phys(ctx->desc), 1);
}

static void hhx_exit(struct kunit *test)
{
	struct hhx_ctx *ctx = test->priv;
	struct hhx_tally scratch = {};

	if (!ctx)
		return;
	/* never hand a page the host does not own to the allocator */
	if (ctx->probe && ctx->desc && ctx->safe &&
	    !hhx_give_back_all(ctx, &scratch)) {
		KUNIT_FAIL(test, "probe or descriptor pages stay lent: leaked");
		return;
	}
	if (ctx->probe)
		__free_pages(ctx->probe, HHX_PROBE_ORDER);
	if (ctx->desc)
		free_pages((unsigned long)ctx->desc, HHX_DESC_ORDER);
	if (ctx->safe)
		free_page((unsigned long)ctx->safe);
}

/* ---- hostile values ---- */

/* A random value that lies in RAM would name kernel pages: move it past RAM. */
static u64 hhx_not_in_ram(struct hhx_ctx *ctx, u64 value)
{
	if (value >= ctx->ram_start && value < ctx->ram_end)
		return ctx->ram_end + (value & (SZ_64K - 1));
	return value;
}

/* An address in the hypervisor's memory, aligned or not. */
static u64 hhx_carve_addr(struct hhx_ctx *ctx)
{
	const struct resource *r = &ctx->carve[hhx_rand(ctx) % ctx->nr_carve];
	u64 size = resource_size(r);

	switch (hhx_rand(ctx) % 4) {
	case 0:
		return r->start;
	case 1:
		return r->end + 1 - PAGE_SIZE;
	case 2:
		return r->start + (hhx_rand64(ctx) % size & PAGE_MASK);
	default:
		return r->start + hhx_rand64(ctx) % size;
	}
}

/* Not RAM: device space below RAM on QEMU virt, or past the IPA size. */
static u64 hhx_mmio_addr(struct hhx_ctx *ctx)
{
	u64 pages_below_ram = ctx->ram_start >> PAGE_SHIFT;

	if (!pages_below_ram)
		return 1ULL << (39 + hhx_rand(ctx) % 25);
	switch (hhx_rand(ctx) % 4) {
	case 0:
		return ctx->ram_start - PAGE_SIZE;
	case 1:
		return (hhx_rand(ctx) % pages_below_ram) << PAGE_SHIFT;
	case 2:
		return 1ULL << (39 + hhx_rand(ctx) % 25);
	default:
		return 0;
	}
}

static u64 hhx_beyond_ram(struct hhx_ctx *ctx)
{
	return ctx->ram_end + (u64)(hhx_rand(ctx) % 1024) * PAGE_SIZE;
}

/* A probe page, maybe off its page boundary. */
static u64 hhx_probe_addr(struct hhx_ctx *ctx, bool unaligned)
{
	u64 pa = hhx_probe_pa(ctx) +
		 (u64)(hhx_rand(ctx) % (1U << HHX_PROBE_ORDER)) * PAGE_SIZE;

	return unaligned ? pa + 1 + hhx_rand(ctx) % (PAGE_SIZE - 1) : pa;
}

static u64 hhx_length(struct hhx_ctx *ctx)
{
	static const u64 lengths[] = {
		0, 1, HYPHEAP_DESC_SIZE(1, 0), HYPHEAP_DESC_SIZE(1, 1),
		HYPHEAP_DESC_SIZE(2, 3), HYPHEAP_DESC_MAX_SIZE,
		HYPHEAP_DESC_MAX_SIZE + 8, PAGE_SIZE, 2 * PAGE_SIZE,
		U32_MAX, 1ULL << 63, ~0ULL, ~0ULL - PAGE_SIZE + 1,
	};

	return lengths[hhx_rand(ctx) % ARRAY_SIZE(lengths)];
}

/* One register's worth, biased toward what a careless check would miss. */
static u64 hhx_arg(struct hhx_ctx *ctx)
{
	switch (hhx_rand(ctx) % 12) {
	case 0:
		return 0;
	case 1:
		return hhx_rand(ctx) % 32;
	case 2:
		return hhx_length(ctx);
	case 3:
		return hhx_carve_addr(ctx);
	case 4:
		return hhx_mmio_addr(ctx);
	case 5:
		return hhx_beyond_ram(ctx);
	case 6:
		return hhx_probe_addr(ctx, false);
	case 7:
		return hhx_probe_addr(ctx, true);
	case 8:
		return virt_to_phys(ctx->desc);
	case 9:
		return hhx_rand(ctx) % HYPHEAP_STAT_COUNT + 1;
	case 10:
		return hhx_not_in_ram(ctx, hhx_rand64(ctx));
	default:
		return hhx_not_in_ram(ctx, hhx_rand(ctx));
	}
}

/*
 * A size no range may have, whatever its address: zero, unaligned, or so big
 * it leaves RAM or wraps around.
 */
static u64 hhx_bad_size(struct hhx_ctx *ctx)
{
	static const u64 sizes[] = {
		0, 1, PAGE_SIZE / 2, PAGE_SIZE + 8, U32_MAX, 1ULL << 63,
		~0ULL, ~0ULL - PAGE_SIZE + 1,
	};

	return sizes[hhx_rand(ctx) % ARRAY_SIZE(sizes)];
}

/*
 * A range of a hostile descriptor. Whatever the hypervisor accepts must be
 * this suite's own pages: an aligned, in-RAM range only ever names a probe
 * page or the descriptor's first page, one page long; the rest must all be
 * refused (hypervisor memory, device space, past RAM, bad sizes).
 */
static struct hypheap_mem_range hhx_range(struct hhx_ctx *ctx)
{
	const struct resource *carve;
	struct hypheap_mem_range r = { .size = PAGE_SIZE };

	switch (hhx_rand(ctx) % 9) {
	case 0:
	case 1:
		r.addr = hhx_probe_addr(ctx, false);
		break;
	case 2:
		/* the descriptor names itself */
		r.addr = virt_to_phys(ctx->desc);
		break;
	case 3:
		r.addr = hhx_carve_addr(ctx);
		r.size = (1 + hhx_rand(ctx) % 4) * PAGE_SIZE;
		break;
	case 4:
		r.addr = hhx_mmio_addr(ctx);
		break;
	case 5:
		r.addr = hhx_beyond_ram(ctx);
		break;
	case 6:
		r.addr = hhx_probe_addr(ctx, true);
		break;
	case 7:
		/* from the last page of RAM over its end */
		r.addr = ctx->ram_end - PAGE_SIZE;
		r.size = 2 * PAGE_SIZE;
		return r;
	default:
		/* from a host page into the hypervisor's memory */
		carve = &ctx->carve[hhx_rand(ctx) % ctx->nr_carve];
		r.addr = carve->start - PAGE_SIZE;
		r.size = 2 * PAGE_SIZE;
		return r;
	}
	if (hhx_chance(ctx, 20))
		r.size = hhx_bad_size(ctx);
	return r;
}

static struct hypheap_vmperm hhx_dest(struct hhx_ctx *ctx)
{
	static const u32 vmids[] = {
		HYPHEAP_VMID_HOST, HYPHEAP_VMID_SECURE_0, HYPHEAP_VMID_SECURE_1,
		HYPHEAP_VMID_HYP, 0, 63, 64, U32_MAX,
	};
	static const u32 perms[] = {
		HYPHEAP_PERM_R | HYPHEAP_PERM_W, HYPHEAP_PERM_RWX,
		HYPHEAP_PERM_R, 0, HYPHEAP_PERM_RWX + 1, U32_MAX,
	};

	return (struct hypheap_vmperm){
		.vmid = vmids[hhx_rand(ctx) % ARRAY_SIZE(vmids)],
		.perms = perms[hhx_rand(ctx) % ARRAY_SIZE(perms)],
	};
}

static u64 hhx_srcvm(struct hhx_ctx *ctx)
{
	static const u64 srcvms[] = {
		HHX_HOST, HHX_HOST, HHX_SVM0, HHX_SVM1, HHX_HOST | HHX_SVM0,
		HHX_SVM0 | HHX_SVM1, 0, ~0ULL, HYPHEAP_VMID_BIT(HYPHEAP_VMID_HYP),
	};

	return srcvms[hhx_rand(ctx) % ARRAY_SIZE(srcvms)];
}

/*
 * Write a descriptor, mostly well formed, into ctx->desc; return the length
 * its counts imply.
 */
static size_t hhx_build_desc(struct hhx_ctx *ctx)
{
	struct hypheap_assign_hdr *hdr = ctx->desc;
	struct hypheap_vmperm *dest = (struct hypheap_vmperm *)(hdr + 1);
	struct hypheap_mem_range *range;
	unsigned int nr_dests = 1 + hhx_rand(ctx) % 2;
	unsigned int nr_ranges = 1 + hhx_rand(ctx) % 4;
	unsigned int i;

	if (hhx_chance(ctx, 5))
		nr_dests = hhx_chance(ctx, 50) ? 0 : HYPHEAP_DESC_MAX_DESTS + 1;
	range = (struct hypheap_mem_range *)(dest + nr_dests);
	memset(hdr, 0, HYPHEAP_DESC_SIZE(nr_dests, nr_ranges));
	hdr->version = hhx_chance(ctx, 90) ? HYPHEAP_DESC_VERSION : hhx_rand(ctx);
	hdr->nr_dests = nr_dests;
	hdr->nr_ranges = nr_ranges;
	hdr->flags = hhx_chance(ctx, 90) ? 0 : hhx_rand(ctx);
	hdr->reserved = hhx_chance(ctx, 90) ? 0 : hhx_rand(ctx);
	hdr->srcvm = hhx_srcvm(ctx);
	for (i = 0; i < nr_dests; i++)
		dest[i] = hhx_dest(ctx);
	for (i = 0; i < nr_ranges; i++)
		range[i] = hhx_range(ctx);
	if (hhx_chance(ctx, 3))
		hdr->nr_ranges = hhx_rand(ctx);
	return HYPHEAP_DESC_SIZE(nr_dests, nr_ranges);
}

/* PSCI calls that would stop a CPU or the machine are never made. */
static bool hhx_psci_stops_something(u32 fid)
{
	if ((fid & ~0x4000001fU) != 0x84000000U)
		return false;
	switch (fid & 0x1f) {
	case HHX_PSCI_CPU_SUSPEND:
	case HHX_PSCI_CPU_OFF:
	case HHX_PSCI_SYSTEM_OFF:
	case HHX_PSCI_SYSTEM_RESET:
	case HHX_PSCI_CPU_FREEZE:
	case HHX_PSCI_CPU_DEFAULT_SUSPEND:
	case HHX_PSCI_SYSTEM_SUSPEND:
	case HHX_PSCI_SYSTEM_RESET2:
	case HHX_PSCI_SYSTEM_OFF2:
		return true;
	default:
		return false;
	}
}

static u32 hhx_fid(struct hhx_ctx *ctx)
{
	static const u32 queries[] = {
		0x8600ff00, HYPHEAP_FN_VENDOR_HYP_UID, 0x8600ff02,
		HYPHEAP_FN_VENDOR_HYP_REVISION, 0xc600ff01, 0xc600ff03,
		HYPHEAP_FN_MEM_QUERY, HYPHEAP_FN_STATS,
	};
	static const u32 arch[] = {
		ARM_SMCCC_VERSION_FUNC_ID, ARM_SMCCC_ARCH_FEATURES_FUNC_ID,
		ARM_SMCCC_ARCH_SOC_ID, ARM_SMCCC_ARCH_WORKAROUND_1,
		ARM_SMCCC_ARCH_WORKAROUND_2, ARM_SMCCC_ARCH_WORKAROUND_3,
	};
	u32 fid;

	switch (hhx_rand(ctx) % 11) {
	case 10:
		/*
		 * FF-A, either width. Not the calls that would take Linux's
		 * own FF-A session away from it (its negotiated version, its
		 * mailbox); those are the core's host tests' and fuzzer's.
		 */
		fid = HHX_FFA_ERROR + hhx_rand(ctx) % (HHX_FFA_LAST - HHX_FFA_ERROR + 1);
		if (fid == HHX_FFA_VERSION || fid == HHX_FFA_RXTX_UNMAP)
			fid = HHX_FFA_ID_GET;
		return fid | (hhx_chance(ctx, 50) ? HHX_FFA_64 : 0);
	case 0:
		return 0xc6000000U | (hhx_rand(ctx) & 0xff);
	case 1:
		return 0x86000000U | (hhx_rand(ctx) & 0xff);
	case 2:
		return queries[hhx_rand(ctx) % ARRAY_SIZE(queries)];
	case 3:
		fid = 0x84000000U | (hhx_rand(ctx) & 0x4000001fU);
		break;
	case 4:
		return arch[hhx_rand(ctx) % ARRAY_SIZE(arch)];
	case 5:
	case 6:
		fid = hhx_rand(ctx);
		break;
	default:
		return HYPHEAP_FN_MEM_ASSIGN;
	}
	return hhx_psci_stops_something(fid) ? PSCI_0_2_FN_PSCI_VERSION : fid;
}

/*
 * Whether @res is an answer the SMCCC, PSCI or hypheap ABI defines for @fid.
 * SMC32 calls return 32-bit values.
 */
static bool hhx_ffa_answer_defined(const struct arm_smccc_res *res)
{
	switch ((u32)res->a0) {
	case HHX_FFA_ERROR:
		/* FF-A 1.1 codes: NOT_SUPPORTED (-1) .. NO_DATA (-9) */
		return (int)res->a2 >= -9 && (int)res->a2 <= -1;
	case HHX_FFA_SUCCESS:
	case HHX_FFA_SUCCESS | HHX_FFA_64:
	case HHX_FFA_MEM_FRAG_RX:
	case HHX_FFA_DIRECT_RESP:
	case HHX_FFA_DIRECT_RESP | HHX_FFA_64:
		return true;
	default:
		return false;
	}
}

static bool hhx_answer_defined(u32 fid, const struct arm_smccc_res *res)
{
	long s = ARM_SMCCC_IS_64(fid) ? (long)res->a0 : (long)(s32)res->a0;

	switch (fid) {
	case HYPHEAP_FN_VENDOR_HYP_UID:
		return res->a0 == HYPHEAP_UID_0 && res->a1 == HYPHEAP_UID_1 &&
		       res->a2 == HYPHEAP_UID_2 && res->a3 == HYPHEAP_UID_3;
	case HYPHEAP_FN_VENDOR_HYP_REVISION:
		return res->a0 == HYPHEAP_ABI_VERSION_MAJOR &&
		       res->a1 == HYPHEAP_ABI_VERSION_MINOR;
	case PSCI_0_2_FN_PSCI_VERSION:
		return res->a0 == 0x10000;	/* PSCI 1.0 */
	case ARM_SMCCC_VERSION_FUNC_ID:
		return res->a0 == ARM_SMCCC_VERSION_1_2;
	case ARM_SMCCC_ARCH_FEATURES_FUNC_ID:
		/* 1: WORKAROUND_1 not needed on this core */
		return s == 0 || s == 1 || s == SMCCC_RET_NOT_SUPPORTED;
	case PSCI_0_2_FN_CPU_ON:
	case PSCI_0_2_FN64_CPU_ON:
		/* every CPU is on: a SUCCESS would start one twice */
		return s >= PSCI_RET_INVALID_ADDRESS && s < 0;
	}
	if (!ARM_SMCCC_IS_FAST_CALL(fid))
		return s == SMCCC_RET_NOT_SUPPORTED;
	switch (ARM_SMCCC_OWNER_NUM(fid)) {
	case ARM_SMCCC_OWNER_VENDOR_HYP:
		return s >= HYPHEAP_ERR_PENDING_LIMIT && s <= HYPHEAP_OK;
	case ARM_SMCCC_OWNER_ARCH:
		return s == 0 || s == SMCCC_RET_NOT_SUPPORTED;
	case ARM_SMCCC_OWNER_STANDARD:
		if ((fid & ~0x4000001fU) == 0x84000000U)
			/* statuses, or AFFINITY_INFO's ON / OFF / ON_PENDING */
			return s >= PSCI_RET_INVALID_ADDRESS && s <= 2;
		return s == SMCCC_RET_NOT_SUPPORTED;
	default:
		return s == SMCCC_RET_NOT_SUPPORTED;
	}
}

static u64 hhx_stat(struct kunit *test, unsigned int index)
{
	struct hhx_ctx *ctx = test->priv;

	return hypheap_ktest_stat(test, ctx->hvc, index);
}

/* One random call; false (and a KUnit failure) when it broke a rule. */
static bool hhx_one_call(struct kunit *test, struct hhx_tally *tally)
{
	struct hhx_ctx *ctx = test->priv;
	u32 fid = hhx_fid(ctx);
	u64 a[8] = { fid };
	struct arm_smccc_res res;
	unsigned int i;
	size_t len;

	for (i = 1; i < ARRAY_SIZE(a); i++)
		a[i] = hhx_arg(ctx);
	if (fid == HYPHEAP_FN_MEM_ASSIGN) {
		len = hhx_build_desc(ctx);
		if (hhx_chance(ctx, 85))
			a[1] = virt_to_phys(ctx->desc);
		if (hhx_chance(ctx, 80))
			a[2] = len;
	}
	if (hhx_chance(ctx, 50))
		arm_smccc_1_1_invoke(fid, a[1], a[2], a[3], a[4], a[5], a[6],
				     a[7], &res);
	else
		arm_smccc_1_1_hvc(fid, a[1], a[2], a[3], a[4], a[5], a[6], a[7],
				  &res);
	tally->calls++;

	if (hhx_is_ffa(fid)) {
		tally->ffa++;
		/* a request the hyp preempted for an interrupt: resume it */
		while ((u32)res.a0 == HHX_FFA_INTERRUPT) {
			tally->ffa_runs++;
			arm_smccc_1_1_invoke(HHX_FFA_RUN, res.a1, 0, 0, 0, 0, 0,
					     0, &res);
		}
		if (!hhx_ffa_answer_defined(&res)) {
			KUNIT_FAIL(test, "call %u: FF-A %#x w1 %#llx: answer %#lx w2 %#lx",
				   tally->calls, fid, a[1], res.a0, res.a2);
			return false;
		}
		/* the RX buffer is Linux's driver's: hand it back */
		if ((fid & ~HHX_FFA_64) == HHX_FFA_PARTITION_INFO &&
		    (u32)res.a0 == HHX_FFA_SUCCESS)
			arm_smccc_1_1_invoke(HHX_FFA_RX_RELEASE, 0, 0, 0, 0, 0,
					     0, 0, &res);
		if (!hhx_all_host(ctx)) {
			KUNIT_FAIL(test, "call %u: FF-A %#x: an owner changed",
				   tally->calls, fid);
			return false;
		}
		return true;
	}

	if (!hhx_answer_defined(fid, &res)) {
		KUNIT_FAIL(test, "call %u: fid %#x x1 %#llx x2 %#llx: undefined answer %#lx %#lx",
			   tally->calls, fid, a[1], a[2], res.a0, res.a1);
		return false;
	}
	if (fid == HYPHEAP_FN_MEM_ASSIGN) {
		tally->assigns++;
		if ((long)res.a0 == HYPHEAP_OK) {
			tally->accepted++;
			if (!hhx_give_back_all(ctx, tally)) {
				KUNIT_FAIL(test, "call %u: lent pages do not come back",
					   tally->calls);
				return false;
			}
			return true;
		}
		tally->rejected++;
	}
	if (!hhx_all_host(ctx)) {
		KUNIT_FAIL(test, "call %u: fid %#x x1 %#llx x2 %#llx: %ld, but an owner changed",
			   tally->calls, fid, a[1], a[2], (long)res.a0);
		return false;
	}
	return true;
}

/* ---- cases ---- */

static void random_calls_get_defined_answers(struct kunit *test)
{
	struct hhx_ctx *ctx = test->priv;
	unsigned long deadline = jiffies + HHX_SECONDS * HZ;
	struct hhx_tally tally = {};
	struct arm_smccc_res res;
	u64 failed, calls;

	/* a pool's scrub in place is a MEM_ASSIGN too: none while counting */
	hypheap_heaps_quiesce();
	failed = hhx_stat(test, HYPHEAP_STAT_ASSIGN_FAILED);
	calls = hhx_stat(test, HYPHEAP_STAT_ASSIGN_CALLS);

	KUNIT_ASSERT_TRUE(test, hhx_all_host(ctx));
	while (tally.calls < HHX_CALLS && time_before(jiffies, deadline)) {
		if (!hhx_one_call(test, &tally))
			break;
		cond_resched();
	}
	kunit_info(test, "seed %#llx: %u calls, %u assigns: %u rejected, %u accepted, %u give-backs; %u FF-A calls, %u resumed\n",
		   HHX_SEED, tally.calls, tally.assigns, tally.rejected,
		   tally.accepted, tally.give_backs, tally.ffa, tally.ffa_runs);
	/* every call made: the deadline is a guard against a hang, not a budget */
	KUNIT_EXPECT_EQ(test, tally.calls, (unsigned int)HHX_CALLS);
	KUNIT_EXPECT_GT(test, tally.rejected, 0U);
	KUNIT_EXPECT_GT(test, tally.ffa, 0U);
#ifdef HYPHEAP_HAVE_FFA
	/* and the partition still serves Linux's FF-A driver */
	{
		struct hypheap_svm *svm = hypheap_svm_get();
		struct hypheap_svm_info info;
		long status;

		KUNIT_ASSERT_NOT_NULL(test, svm);
		KUNIT_EXPECT_EQ(test, hypheap_svm_info(svm, &info, &status), 0);
		hypheap_svm_put(svm);
	}
#endif

	hypheap_ktest_call(ctx->hvc, HYPHEAP_FN_VENDOR_HYP_UID, 0, 0, &res);
	KUNIT_EXPECT_EQ(test, res.a0, (unsigned long)HYPHEAP_UID_0);
	KUNIT_EXPECT_EQ(test, res.a3, (unsigned long)HYPHEAP_UID_3);
	/* give-backs all succeeded, so every failure is a rejected assign */
	KUNIT_EXPECT_EQ(test, hhx_stat(test, HYPHEAP_STAT_ASSIGN_FAILED),
			failed + tally.rejected);
	KUNIT_EXPECT_EQ(test, hhx_stat(test, HYPHEAP_STAT_ASSIGN_CALLS),
			calls + tally.assigns + tally.give_backs);
	KUNIT_EXPECT_TRUE(test, hhx_all_host(ctx));
}

static struct hypheap_ktest_faults hhx_read_faults(struct kunit *test)
{
	struct hhx_ctx *ctx = test->priv;

	return hypheap_ktest_read_faults(test, ctx->hvc);
}

/*
 * The access just made was refused once, counted once and answered with
 * exactly one injected abort: not retried as spurious, not faulted twice.
 * Nothing else in this test faults, and the other CPU is idle.
 */
static void hhx_expect_counted_once(struct kunit *test,
				    const struct hypheap_ktest_faults *before,
				    const char *what, phys_addr_t pa)
{
	struct hypheap_ktest_faults after = hhx_read_faults(test);

	KUNIT_EXPECT_EQ_MSG(test, after.faults, before->faults + 1,
			    "host faults after the %s of %pa", what, &pa);
	KUNIT_EXPECT_EQ_MSG(test, after.injected, before->injected + 1,
			    "aborts injected after the %s of %pa", what, &pa);
}

/*
 * Hypervisor memory has no linear-map alias (no-map), so it is reached
 * through ioremap: Linux's stage 1 maps it, the hypervisor's stage 2 does
 * not, and the abort injected back must be fixed up by the nofault
 * accessors like any bad kernel access. The hypervisor counts each one.
 */
static void hhx_expect_no_access(struct kunit *test, phys_addr_t pa)
{
	void __iomem *io = ioremap(pa, PAGE_SIZE);
	struct hypheap_ktest_faults before;
	u64 value = 0;
	u8 bytes[16];
	void *va;
	long ret;

	KUNIT_ASSERT_TRUE_MSG(test, io, "ioremap %pa", &pa);
	va = (__force void *)io;
	before = hhx_read_faults(test);
	ret = copy_from_kernel_nofault(bytes, va, sizeof(bytes));
	KUNIT_EXPECT_EQ_MSG(test, ret, -EFAULT, "read of %pa", &pa);
	hhx_expect_counted_once(test, &before, "read", pa);

	before = hhx_read_faults(test);
	ret = copy_from_kernel_nofault(&value, va + PAGE_SIZE - 8, 8);
	KUNIT_EXPECT_EQ_MSG(test, ret, -EFAULT, "read of the end of %pa", &pa);
	hhx_expect_counted_once(test, &before, "read of the end", pa);

	before = hhx_read_faults(test);
	ret = hypheap_ktest_write_nofault(va, value);
	KUNIT_EXPECT_EQ_MSG(test, ret, -EFAULT, "write of %pa", &pa);
	hhx_expect_counted_once(test, &before, "write", pa);
	iounmap(io);
}

static void el1_access_to_hyp_memory_faults(struct kunit *test)
{
	struct hhx_ctx *ctx = test->priv;
	unsigned int i;

	for (i = 0; i < ctx->nr_carve; i++) {
		const struct resource *r = &ctx->carve[i];

		kunit_info(test, "no-map region %pR\n", r);
		hhx_expect_no_access(test, r->start);
		hhx_expect_no_access(test, r->start +
				     (resource_size(r) / 2 & PAGE_MASK));
		hhx_expect_no_access(test, r->end + 1 - PAGE_SIZE);
	}
	/* and the hypervisor still answers */
	KUNIT_EXPECT_TRUE(test, hhx_all_host(ctx));
}

/*
 * The hypervisor's stage-2 translates 39-bit IPAs (docs/hypervisor.md): an
 * IPA at or above 512 GiB, where QEMU's high PCIe window starts, is no
 * address of the host's. Its fault must be refused at once and counted as
 * one host fault, not taken for an entry that changed (FAULTS_SPURIOUS) and
 * retried: the review found the check aliasing it onto IPA 0 (flash) and
 * onto RAM (512 GiB + 1 GiB), mapped to the host, 64 retries each.
 */
static void el1_access_above_the_ipa_space_faults(struct kunit *test)
{
	struct hhx_ctx *ctx = test->priv;
	u64 spurious = hhx_stat(test, HYPHEAP_STAT_FAULTS_SPURIOUS);

	hhx_expect_no_access(test, HHX_IPA_LIMIT);
	hhx_expect_no_access(test, HHX_IPA_LIMIT + ctx->ram_start + SZ_1M);
	hhx_expect_no_access(test, BIT_ULL(40) - PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, hhx_stat(test, HYPHEAP_STAT_FAULTS_SPURIOUS),
			spurious);
	KUNIT_EXPECT_TRUE(test, hhx_all_host(ctx));
}

static struct kunit_case hypheap_hostile_cases[] = {
	KUNIT_CASE(random_calls_get_defined_answers),
	KUNIT_CASE(el1_access_to_hyp_memory_faults),
	KUNIT_CASE(el1_access_above_the_ipa_space_faults),
	{}
};

static struct kunit_suite hypheap_hostile_suite = {
	.name = "hypheap-hostile",
	.init = hhx_init,
	.exit = hhx_exit,
	.test_cases = hypheap_hostile_cases,
};

kunit_test_suite(hypheap_hostile_suite);

// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite "hypheap-dma": a DMA master the host programs, QEMU's edu
 * PCI device (docs/specs/edu.rst in QEMU), aimed at memory lent to a secure
 * VM, as root on the host could aim any NIC, GPU or codec:
 *
 * - edu copies a page lent to secure VM 10 into its own buffer and from
 *   there into host memory: the host must not see the lent bytes;
 * - edu copies host bytes into a page lent to secure VM 10: the page must
 *   not change;
 * - the secure VM's device (the second edu, the stream the platform file
 *   names) reads a "bitstream" the host shared with VM 10 and writes a
 *   "frame" into the lent page: that must land, while it can neither read
 *   host memory nor write the shared page. The page stays lent and the
 *   CRC-32 of what it must hold is printed, for the dma scenario to compare
 *   with the hypervisor's own at power-off ("hypheap.attest");
 * - the host's device still copies host memory to host memory, so a refusal
 *   is the SMMU's doing, not a broken device;
 * - every blocked transfer is one more SMMU fault in STATS (DMA_FAULTS).
 *
 * All of it while CPU 1 lends and reclaims 64 KiB buffers in a loop, so the
 * host's DMA table splits and merges under the transfers.
 *
 * The hypervisor owns the SMMUv3 in front of PCIe: every stream the host's
 * devices use translates through tables that map what the host owns or
 * shares (docs/hypervisor.md, "SMMU").
 */

#include <kunit/test.h>
#include <linux/crc32.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sizes.h>
#include <linux/string.h>

#include <hypheap/abi.h>

#include "hypheap_edu.h"
#include "hypheap_hyp_test_util.h"

#define HHD_XFER	HYPHEAP_EDU_XFER

#define HHD_HOST	HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST)
#define HHD_SVM0	HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0)
#define HHD_SECRET	0x5a
#define HHD_SENTINEL	0xee
#define HHD_ATTACK	0xbd
#define HHD_FRAME	0xf7
#define HHD_HOST_BYTES	0x3c
#define HHD_CHURN_ORDER	4	/* 64 KiB buffers */
#define HHD_CHURN_CPU	1

/**
 * struct hhd_ctx - one case's device and pages
 * @hvc: the DT node's method is "hvc"
 * @desc: a host page for MEM_ASSIGN descriptors
 * @edu: the host's edu
 * @secure: the secure VM's edu (the host programs it too)
 * @churn: the thread lending and reclaiming buffers on HHD_CHURN_CPU
 * @churn_desc: its descriptor page
 * @cycles: lend+reclaim cycles it completed
 * @failures: calls of it that did not answer HYPHEAP_OK
 */
struct hhd_ctx {
	bool hvc;
	void *desc;
	struct hypheap_edu edu;
	struct hypheap_edu secure;
	struct task_struct *churn;
	void *churn_desc;
	unsigned long cycles;
	unsigned long failures;
};

static int hhd_churn_fn(void *arg)
{
	struct hhd_ctx *ctx = arg;
	const size_t size = PAGE_SIZE << HHD_CHURN_ORDER;

	while (!kthread_should_stop()) {
		struct page *page = alloc_pages(GFP_KERNEL, HHD_CHURN_ORDER);
		phys_addr_t pa;
		long ret;

		if (!page) {
			msleep(20);
			continue;
		}
		pa = page_to_phys(page);
		ret = hypheap_ktest_assign_one(ctx->hvc, ctx->churn_desc,
					       HHD_HOST, HYPHEAP_VMID_SECURE_0,
					       HYPHEAP_PERM_R | HYPHEAP_PERM_W,
					       pa, size, NULL);
		if (ret == HYPHEAP_OK)
			ret = hypheap_ktest_assign_one(ctx->hvc,
						       ctx->churn_desc,
						       HHD_SVM0,
						       HYPHEAP_VMID_HOST,
						       HYPHEAP_PERM_RWX, pa,
						       size, NULL);
		if (ret == HYPHEAP_OK) {
			ctx->cycles++;
			__free_pages(page, HHD_CHURN_ORDER);
		} else {
			/* never hand back a page whose owner is unknown */
			ctx->failures++;
		}
		cond_resched();
	}
	return 0;
}

/* Stops the churn and checks it ran and never failed. */
static void hhd_churn_stop(struct kunit *test)
{
	struct hhd_ctx *ctx = test->priv;

	if (!ctx->churn)
		return;
	kthread_stop(ctx->churn);
	ctx->churn = NULL;
	kunit_info(test, "cpu%u meanwhile: %lu buffers of %lu KiB lent and reclaimed\n",
		   HHD_CHURN_CPU, ctx->cycles,
		   (PAGE_SIZE << HHD_CHURN_ORDER) / 1024);
	KUNIT_EXPECT_GT(test, ctx->cycles, 0UL);
	KUNIT_EXPECT_EQ(test, ctx->failures, 0UL);
}

static int hhd_init(struct kunit *test)
{
	struct hhd_ctx *ctx;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	test->priv = ctx;
	ctx->hvc = hypheap_ktest_conduit_hvc(test);
	ctx->desc = (void *)get_zeroed_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->desc);
	KUNIT_ASSERT_EQ_MSG(test, hypheap_edu_get(&ctx->edu, HYPHEAP_EDU_HOST_SLOT), 0,
			    "no edu at 00:%02x.0: the host was not given PCIe",
			    HYPHEAP_EDU_HOST_SLOT);
	KUNIT_ASSERT_EQ(test, hypheap_edu_get(&ctx->secure, HYPHEAP_EDU_SECURE_SLOT), 0);
	KUNIT_ASSERT_TRUE(test, cpu_online(HHD_CHURN_CPU));
	ctx->churn_desc = (void *)get_zeroed_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->churn_desc);
	ctx->churn = kthread_create(hhd_churn_fn, ctx, "hhd-churn");
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->churn));
	kthread_bind(ctx->churn, HHD_CHURN_CPU);
	wake_up_process(ctx->churn);
	return 0;
}

static void hhd_exit(struct kunit *test)
{
	struct hhd_ctx *ctx = test->priv;

	if (!ctx)
		return;
	if (ctx->churn && !IS_ERR(ctx->churn))
		kthread_stop(ctx->churn);
	if (ctx->churn_desc)
		free_page((unsigned long)ctx->churn_desc);
	hypheap_edu_put(&ctx->secure);
	hypheap_edu_put(&ctx->edu);
	if (ctx->desc)
		free_page((unsigned long)ctx->desc);
}

/* A transfer of the host's edu, which must end. */
static void hhd_dma(struct kunit *test, phys_addr_t ram, bool to_ram)
{
	struct hhd_ctx *ctx = test->priv;

	KUNIT_ASSERT_EQ_MSG(test, hypheap_edu_dma(&ctx->edu, ram, to_ram), 0,
			    "edu DMA %s %pa did not complete",
			    to_ram ? "to" : "from", &ram);
}

/* A transfer of the secure VM's edu, which the host programs all the same. */
static void hhd_secure_dma(struct kunit *test, phys_addr_t ram, bool to_ram)
{
	struct hhd_ctx *ctx = test->priv;

	KUNIT_ASSERT_EQ_MSG(test, hypheap_edu_dma(&ctx->secure, ram, to_ram), 0,
			    "secure edu DMA %s %pa did not complete",
			    to_ram ? "to" : "from", &ram);
}

static u64 hhd_dma_faults(struct kunit *test)
{
	struct hhd_ctx *ctx = test->priv;

	return hypheap_ktest_stat(test, ctx->hvc, HYPHEAP_STAT_DMA_FAULTS);
}

static struct page *hhd_page(struct kunit *test, u8 fill)
{
	struct page *page = alloc_page(GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, page);
	memset(page_address(page), fill, PAGE_SIZE);
	return page;
}

static void hhd_lend(struct kunit *test, struct page *page)
{
	struct hhd_ctx *ctx = test->priv;
	phys_addr_t pa = page_to_phys(page);
	u64 owners = 0;
	long ret;

	ret = hypheap_ktest_assign_one(ctx->hvc, ctx->desc, HHD_HOST,
				       HYPHEAP_VMID_SECURE_0,
				       HYPHEAP_PERM_R | HYPHEAP_PERM_W, pa,
				       PAGE_SIZE, &owners);
	KUNIT_ASSERT_EQ_MSG(test, ret, (long)HYPHEAP_OK, "lend %pa", &pa);
	KUNIT_ASSERT_EQ(test, owners, HHD_SVM0);
}

static void hhd_reclaim(struct kunit *test, struct page *page)
{
	struct hhd_ctx *ctx = test->priv;
	phys_addr_t pa = page_to_phys(page);
	long ret;

	ret = hypheap_ktest_assign_one(ctx->hvc, ctx->desc, HHD_SVM0,
				       HYPHEAP_VMID_HOST, HYPHEAP_PERM_RWX, pa,
				       PAGE_SIZE, NULL);
	KUNIT_ASSERT_EQ_MSG(test, ret, (long)HYPHEAP_OK, "reclaim %pa", &pa);
}

/* How many of the HHD_XFER bytes at @p are @value. */
static size_t hhd_count(const u8 *p, u8 value)
{
	size_t i, n = 0;

	for (i = 0; i < HHD_XFER; i++)
		n += p[i] == value;
	return n;
}

static void edu_copies_host_memory(struct kunit *test)
{
	struct page *src = hhd_page(test, HHD_HOST_BYTES);
	struct page *dst = hhd_page(test, 0);
	u64 faults = hhd_dma_faults(test);

	hhd_dma(test, page_to_phys(src), false);
	hhd_dma(test, page_to_phys(dst), true);
	KUNIT_EXPECT_EQ(test, hhd_count(page_address(dst), HHD_HOST_BYTES),
			(size_t)HHD_XFER);
	KUNIT_EXPECT_EQ(test, hhd_dma_faults(test), faults);
	hhd_churn_stop(test);
	__free_page(src);
	__free_page(dst);
}

static void edu_cannot_read_a_lent_page(struct kunit *test)
{
	struct page *lent = hhd_page(test, HHD_SECRET);
	struct page *sentinel = hhd_page(test, HHD_SENTINEL);
	struct page *seen = hhd_page(test, 0);
	const u8 *p = page_address(seen);
	phys_addr_t pa = page_to_phys(lent);
	u64 faults;

	/*
	 * The device reads the page while the host owns it, so the SMMU may
	 * cache that translation: the lend's invalidation must remove it.
	 */
	hhd_dma(test, pa, false);
	hhd_lend(test, lent);
	/* the edu buffer holds something known before the attempt */
	hhd_dma(test, page_to_phys(sentinel), false);
	faults = hhd_dma_faults(test);
	hhd_dma(test, pa, false);
	KUNIT_EXPECT_EQ_MSG(test, hhd_dma_faults(test), faults + 1,
			    "the blocked read is one SMMU fault");
	hhd_dma(test, page_to_phys(seen), true);
	kunit_info(test, "edu read of lent page %pa gave the host: %*ph ...\n",
		   &pa, 16, p);
	KUNIT_EXPECT_EQ_MSG(test, hhd_count(p, HHD_SECRET), (size_t)0,
			    "%zu bytes of the lent page reached the host",
			    hhd_count(p, HHD_SECRET));
	hhd_churn_stop(test);
	hhd_reclaim(test, lent);
	__free_page(lent);
	__free_page(sentinel);
	__free_page(seen);
}

static void hhd_share(struct kunit *test, struct page *page)
{
	struct hhd_ctx *ctx = test->priv;
	struct hypheap_assign_hdr *hdr = ctx->desc;
	struct hypheap_vmperm *dst = (struct hypheap_vmperm *)(hdr + 1);
	struct hypheap_mem_range *range = (struct hypheap_mem_range *)(dst + 2);
	struct arm_smccc_res res;

	memset(ctx->desc, 0, HYPHEAP_DESC_SIZE(2, 1));
	hdr->version = HYPHEAP_DESC_VERSION;
	hdr->nr_dests = 2;
	hdr->nr_ranges = 1;
	hdr->srcvm = HHD_HOST;
	dst[0].vmid = HYPHEAP_VMID_HOST;
	dst[0].perms = HYPHEAP_PERM_RWX;
	dst[1].vmid = HYPHEAP_VMID_SECURE_0;
	dst[1].perms = HYPHEAP_PERM_R;
	range->addr = page_to_phys(page);
	range->size = PAGE_SIZE;
	hypheap_ktest_call(ctx->hvc, HYPHEAP_FN_MEM_ASSIGN,
			   virt_to_phys(ctx->desc), HYPHEAP_DESC_SIZE(2, 1), &res);
	KUNIT_ASSERT_EQ(test, (long)res.a0, (long)HYPHEAP_OK);
}

/*
 * The secure video path: the host shares a bitstream with the secure VM and
 * programs the secure VM's device to turn it into a frame in a lent page;
 * the host's own device aimed at that page gets nowhere.
 */
static void only_the_secure_device_writes_a_lent_page(struct kunit *test)
{
	struct hhd_ctx *ctx = test->priv;
	struct page *lent = hhd_page(test, HHD_SECRET);
	struct page *attack = hhd_page(test, HHD_ATTACK);
	struct page *bitstream = hhd_page(test, HHD_FRAME);
	struct page *host = hhd_page(test, HHD_HOST_BYTES);
	struct page *expect = hhd_page(test, HHD_SECRET);
	phys_addr_t pa = page_to_phys(lent);
	u64 faults;
	u32 crc;
	long ret;

	hhd_lend(test, lent);
	hhd_share(test, bitstream);
	faults = hhd_dma_faults(test);

	/* the host's device: its write into the lent page is dropped */
	hhd_dma(test, page_to_phys(attack), false);
	hhd_dma(test, pa, true);
	KUNIT_EXPECT_EQ(test, hhd_dma_faults(test), faults + 1);

	/* the secure VM's device reaches no host page, read or write */
	hhd_secure_dma(test, page_to_phys(host), false);
	hhd_secure_dma(test, page_to_phys(host), true);
	KUNIT_EXPECT_EQ(test, hhd_dma_faults(test), faults + 3);
	KUNIT_EXPECT_EQ(test, hhd_count(page_address(host), 0), (size_t)0);

	/* it reads the shared bitstream, may not write it, writes the frame */
	hhd_secure_dma(test, page_to_phys(bitstream), false);
	hhd_secure_dma(test, page_to_phys(bitstream), true);
	KUNIT_EXPECT_EQ(test, hhd_dma_faults(test), faults + 4);
	hhd_secure_dma(test, pa, true);
	KUNIT_EXPECT_EQ(test, hhd_dma_faults(test), faults + 4);

	/*
	 * What the secure VM's stream cached is its context's alone: the host's
	 * device reading the frame right after gets nothing of it.
	 */
	hhd_secure_dma(test, pa, false);
	memset(page_address(host), 0, PAGE_SIZE);
	hhd_dma(test, page_to_phys(attack), false);
	hhd_dma(test, pa, false);
	hhd_dma(test, page_to_phys(host), true);
	KUNIT_EXPECT_EQ(test, hhd_dma_faults(test), faults + 5);
	KUNIT_EXPECT_EQ(test, hhd_count(page_address(host), HHD_FRAME), (size_t)0);

	hhd_churn_stop(test);
	memset(page_address(expect), HHD_FRAME, HHD_XFER);
	crc = crc32_le(~0U, page_address(expect), PAGE_SIZE) ^ ~0U;
	/* left lent on purpose: the hyp hashes it at power-off */
	kunit_info(test, "lent page %pa crc32 %08x (kept lent)\n", &pa, crc);

	ret = hypheap_ktest_assign_one(ctx->hvc, ctx->desc,
				       HHD_HOST | HHD_SVM0, HYPHEAP_VMID_HOST,
				       HYPHEAP_PERM_RWX, page_to_phys(bitstream),
				       PAGE_SIZE, NULL);
	KUNIT_EXPECT_EQ(test, ret, (long)HYPHEAP_OK);
	if (ret == HYPHEAP_OK)
		__free_page(bitstream);
	__free_page(attack);
	__free_page(host);
	__free_page(expect);
}

/*
 * The host's device aimed at the hypervisor's carve-out (its page tables, the
 * SMMU's own stream table and queues) and the secure VM's: nothing comes back,
 * every attempt is a fault.
 */
static void edu_cannot_reach_the_carveouts(struct kunit *test)
{
	struct page *seen = hhd_page(test, 0);
	struct resource res[4];
	unsigned int i, n;

	n = hypheap_ktest_carveouts(res, ARRAY_SIZE(res));
	KUNIT_ASSERT_GE(test, n, 2U);
	for (i = 0; i < n; i++) {
		/* the start, and 64 KiB in: the SMMU's event queue in the hyp's */
		phys_addr_t at[2] = { res[i].start, res[i].start + SZ_64K };
		unsigned int j;

		for (j = 0; j < ARRAY_SIZE(at); j++) {
			u64 faults = hhd_dma_faults(test);

			if (at[j] + HHD_XFER > res[i].end + 1)
				continue;
			memset(page_address(seen), HHD_SENTINEL, PAGE_SIZE);
			hhd_dma(test, page_to_phys(seen), false);
			hhd_dma(test, at[j], false);
			hhd_dma(test, page_to_phys(seen), true);
			KUNIT_EXPECT_EQ_MSG(test, hhd_dma_faults(test), faults + 1,
					    "read of %pa (%pR)", &at[j], &res[i]);
			KUNIT_EXPECT_EQ_MSG(test, hhd_count(page_address(seen), 0),
					    (size_t)HHD_XFER,
					    "%pa (%pR) reached the host", &at[j],
					    &res[i]);
		}
	}
	hhd_churn_stop(test);
	__free_page(seen);
}

/*
 * The lend's own invalidation, with nothing else invalidating meanwhile (the
 * churn's merges would flush the SMMU's TLB too): the device reads the page
 * while the host owns it, so its translation is cached; right after the lend
 * the same read must be blocked.
 */
static void edu_loses_a_page_the_moment_it_is_lent(struct kunit *test)
{
	struct hhd_ctx *ctx = test->priv;
	struct page *lent = hhd_page(test, HHD_SECRET);
	struct page *seen = hhd_page(test, 0);
	phys_addr_t pa = page_to_phys(lent);
	u64 faults;

	kthread_stop(ctx->churn);
	ctx->churn = NULL;
	hhd_dma(test, pa, false);
	hhd_lend(test, lent);
	faults = hhd_dma_faults(test);
	hhd_dma(test, pa, false);
	hhd_dma(test, page_to_phys(seen), true);
	KUNIT_EXPECT_EQ(test, hhd_dma_faults(test), faults + 1);
	KUNIT_EXPECT_EQ_MSG(test, hhd_count(page_address(seen), HHD_SECRET),
			    (size_t)0,
			    "the SMMU still translated the lent page %pa", &pa);
	hhd_reclaim(test, lent);
	__free_page(lent);
	__free_page(seen);
}

static struct kunit_case hhd_cases[] = {
	KUNIT_CASE(edu_copies_host_memory),
	KUNIT_CASE(edu_cannot_read_a_lent_page),
	KUNIT_CASE(edu_cannot_reach_the_carveouts),
	KUNIT_CASE(edu_loses_a_page_the_moment_it_is_lent),
	KUNIT_CASE(only_the_secure_device_writes_a_lent_page),
	{}
};

static struct kunit_suite hhd_suite = {
	.name = "hypheap-dma",
	.init = hhd_init,
	.exit = hhd_exit,
	.test_cases = hhd_cases,
};

kunit_test_suite(hhd_suite);

MODULE_DESCRIPTION("hypheap: device DMA against lent memory, through the hyp's SMMU");
MODULE_LICENSE("GPL");

// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite "hypheap-recovery": the heap core and the hyp backend (the
 * driver's own restrict and unrestrict) over a fake hypervisor that keeps
 * the books of who owns each page and fails chosen calls. Whatever fails,
 * a page is given back to the page allocator only when the books say the
 * host owns it, a page given back to the host is never lent again by a
 * retry, and one retry brings back everything once the failures stop.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/sizes.h>

#include "hypheap_fake_hyp.h"
#include "hypheap_priv.h"

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);

static const struct hypheap_vmperm rt_dst = {
	.vmid = HYPHEAP_VMID_SECURE_0, .perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W,
};

/*
 * Single pages and a 64 KiB, a 1 MiB and a 2 MiB block: one to four ranges
 * (blocks that happen to be contiguous merge into one).
 */
#define RT_SIZE		(SZ_2M + SZ_1M + SZ_64K + SZ_4K)

/**
 * struct rt_ctx - one case's heap on the fake hypervisor
 * @fh: the fake hypervisor
 * @pdev: the device the backend cleans pages through
 * @be: the hyp backend on the fake's conduit
 * @heap: an unregistered heap served by @be
 */
struct rt_ctx {
	struct fake_hyp fh;
	struct platform_device *pdev;
	struct hypheap_backend *be;
	struct hypheap_heap *heap;
};

static int rt_setup(struct kunit *test, bool query)
{
	struct rt_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	struct hypheap_conduit *c;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	test->priv = ctx;
	/* one range a call: each range of a buffer is a batch of its own */
	c = fake_hyp_conduit(test, &ctx->fh, 1, query);
	ctx->pdev = platform_device_register_simple("hypheap-kunit-recovery",
						    -1, NULL, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx->pdev);
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(&ctx->pdev->dev,
							DMA_BIT_MASK(64)), 0);
	ctx->be = hypheap_hyp_backend_create(&ctx->pdev->dev, c,
					     HYPHEAP_VMID_HOST);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx->be);
	ctx->heap = hypheap_heap_create("hypheap-kunit-recovery", &rt_dst, 1,
					HYPHEAP_VMID_HOST);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx->heap);
	/* the cases retry by hand; the worker's own test is in hypheap-core */
	ctx->heap->retry_delay = 3600 * HZ;
	hypheap_heap_set_backend(ctx->heap, ctx->be);
	return 0;
}

static int rt_init(struct kunit *test)
{
	return rt_setup(test, true);
}

static void rt_exit(struct kunit *test)
{
	struct rt_ctx *ctx = test->priv;

	if (!ctx)
		return;
	if (ctx->heap) {
		ctx->fh.fail_call = 0;
		hypheap_heap_retry_quarantine(ctx->heap);
		/* pages the books still lend out are leaked, never freed */
		if (!hypheap_heap_destroy(ctx->heap))
			ctx->heap = NULL;
	}
	if (ctx->be && !ctx->heap)
		hypheap_backend_put(ctx->be);
	if (ctx->pdev)
		platform_device_unregister(ctx->pdev);
}

static s64 rt_stat(struct rt_ctx *ctx, enum hypheap_stat s)
{
	return hypheap_stat_read(&ctx->heap->stats, s);
}

/*
 * After a failed allocation: the pages are either back with the host (and
 * freed) or quarantined, never freed while the books lend them out.
 */
static void rt_expect_nothing_freed_lent(struct kunit *test, const char *what)
{
	struct rt_ctx *ctx = test->priv;

	KUNIT_EXPECT_EQ_MSG(test, rt_stat(ctx, HYPHEAP_STAT_LIVE_BUFFERS), 0,
			    "%s", what);
	if (!rt_stat(ctx, HYPHEAP_STAT_PAGES_QUARANTINED))
		KUNIT_EXPECT_TRUE_MSG(test, fake_hyp_all_host(&ctx->fh),
				      "%s: pages freed while still lent", what);
}

/* One retry brings everything back and lends nothing again. */
static void rt_expect_one_retry_is_enough(struct kunit *test, const char *what)
{
	struct rt_ctx *ctx = test->priv;
	unsigned int lends = ctx->fh.lends;

	KUNIT_EXPECT_EQ_MSG(test, hypheap_heap_retry_quarantine(ctx->heap), 0U,
			    "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, rt_stat(ctx, HYPHEAP_STAT_PAGES_QUARANTINED),
			    0, "%s", what);
	KUNIT_EXPECT_TRUE_MSG(test, fake_hyp_all_host(&ctx->fh), "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, ctx->fh.lends, lends,
			    "%s: a retry lent pages again", what);
}

/*
 * Lending fails at batch k and so does the first call that would take the
 * batches already lent back: the buffer is quarantined, and one retry
 * reclaims exactly what the secure VM has, lending nothing again.
 */
static void partial_lend_failure_comes_back_in_one_retry(struct kunit *test)
{
	struct rt_ctx *ctx = test->priv;
	unsigned int k, partial = 0;
	struct hypheap_buffer *buf;
	char what[32];

	for (k = 1; k <= 8; k++) {
		snprintf(what, sizeof(what), "lend fails at batch %u", k);
		fake_hyp_fail(&ctx->fh, k, 2, HYPHEAP_ERR_BUSY, false);
		buf = hypheap_buffer_alloc(ctx->heap, RT_SIZE);
		ctx->fh.fail_call = 0;
		if (!IS_ERR(buf)) {
			/* fewer batches than k: nothing failed */
			hypheap_buffer_release(buf);
			KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(&ctx->fh));
			break;
		}
		/* the hypervisor's answer, or: quarantined */
		KUNIT_EXPECT_TRUE_MSG(test, PTR_ERR(buf) == -EBUSY ||
				      PTR_ERR(buf) == -ENOTRECOVERABLE,
				      "%s: %ld", what, PTR_ERR(buf));
		rt_expect_nothing_freed_lent(test, what);
		partial += k > 1;
		rt_expect_one_retry_is_enough(test, what);
	}
	/* a buffer of one range would prove nothing about batches */
	KUNIT_EXPECT_GE(test, partial, 1U);
}

/*
 * Releasing fails at batch k: what came back stays back (no reclaim is
 * undone), and one retry takes the rest.
 */
static void partial_reclaim_failure_comes_back_in_one_retry(struct kunit *test)
{
	struct rt_ctx *ctx = test->priv;
	struct hypheap_buffer *buf;
	unsigned int k, lends;
	char what[32];

	for (k = 1; k <= 8; k++) {
		snprintf(what, sizeof(what), "reclaim fails at batch %u", k);
		buf = hypheap_buffer_alloc(ctx->heap, RT_SIZE);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
		lends = ctx->fh.lends;
		fake_hyp_fail(&ctx->fh, k, 1, HYPHEAP_ERR_BUSY, false);
		hypheap_buffer_release(buf);
		ctx->fh.fail_call = 0;
		KUNIT_EXPECT_EQ_MSG(test, ctx->fh.lends, lends,
				    "%s: a reclaim was undone", what);
		if (!rt_stat(ctx, HYPHEAP_STAT_PAGES_QUARANTINED)) {
			/* fewer batches than k: nothing failed */
			KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(&ctx->fh));
			break;
		}
		rt_expect_one_retry_is_enough(test, what);
	}
	KUNIT_EXPECT_GE(test, k, 3U);
}

/*
 * A lend the hypervisor answers with a status the ABI does not define (or
 * a transport answers with a bare errno, as qcom_scm does) may have changed
 * the pages: they are freed only once MEM_QUERY shows them the host's.
 */
static void rt_unknown_answer(struct kunit *test, long status, int err,
			      bool applies)
{
	struct rt_ctx *ctx = test->priv;
	struct hypheap_buffer *buf;
	char what[48];

	snprintf(what, sizeof(what), "status %ld errno %d %s", status, err,
		 applies ? "applied" : "not applied");
	fake_hyp_fail(&ctx->fh, 1, 1, status, applies);
	ctx->fh.fail_errno = err;
	buf = hypheap_buffer_alloc(ctx->heap, RT_SIZE);
	ctx->fh.fail_call = 0;
	KUNIT_EXPECT_TRUE_MSG(test, IS_ERR(buf), "%s", what);
	if (!IS_ERR(buf))
		hypheap_buffer_release(buf);
	rt_expect_nothing_freed_lent(test, what);
	rt_expect_one_retry_is_enough(test, what);
}

static void unknown_lend_answer_is_resolved_by_query(struct kunit *test)
{
	rt_unknown_answer(test, -1000, 0, true);
	rt_unknown_answer(test, -1000, 0, false);
	rt_unknown_answer(test, HYPHEAP_OK, -EINVAL, true);
	rt_unknown_answer(test, HYPHEAP_OK, -EIO, false);
}

/*
 * One failed allocation is one failure, whatever it took to fail: the
 * refused call and the take-back are calls, counted as such.
 */
static void a_failed_allocation_is_counted_once(struct kunit *test)
{
	struct rt_ctx *ctx = test->priv;
	s64 calls = rt_stat(ctx, HYPHEAP_STAT_HYPERCALLS);
	struct hypheap_buffer *buf;

	fake_hyp_fail(&ctx->fh, 2, 1, HYPHEAP_ERR_BUSY, false);
	buf = hypheap_buffer_alloc(ctx->heap, RT_SIZE);
	ctx->fh.fail_call = 0;
	KUNIT_ASSERT_EQ(test, PTR_ERR(buf), -EBUSY);
	KUNIT_EXPECT_EQ(test, rt_stat(ctx, HYPHEAP_STAT_FAIL_EBUSY), 1);
	KUNIT_EXPECT_EQ(test, rt_stat(ctx, HYPHEAP_STAT_HYP_BUSY), 1);
	/* lend 1, lend 2 refused, the take-back of batch 1 */
	KUNIT_EXPECT_EQ(test, rt_stat(ctx, HYPHEAP_STAT_HYPERCALLS), calls + 3);
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(&ctx->fh));
}

static struct kunit_case hypheap_recovery_cases[] = {
	KUNIT_CASE(partial_lend_failure_comes_back_in_one_retry),
	KUNIT_CASE(partial_reclaim_failure_comes_back_in_one_retry),
	KUNIT_CASE(unknown_lend_answer_is_resolved_by_query),
	KUNIT_CASE(a_failed_allocation_is_counted_once),
	{}
};

static struct kunit_suite hypheap_recovery_suite = {
	.name = "hypheap-recovery",
	.init = rt_init,
	.exit = rt_exit,
	.test_cases = hypheap_recovery_cases,
};

kunit_test_suite(hypheap_recovery_suite);

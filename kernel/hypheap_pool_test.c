// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite "hypheap-pool": a heap's pool (hypheap_pool.c) with the real
 * heap core and hyp backend over the fake hypervisor, whose books say who
 * owns each page, and a scrub that zeroes the pages (the fake never takes
 * them from the host, so the test can write and read them). Hits and
 * misses are counted exactly, a pooled buffer is zeroed before its reuse
 * and costs no call, the shrinker and a drain give every pooled page back
 * to the host, a refused or failed step falls back to today's reclaim,
 * and a disabled pool changes nothing.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/sizes.h>
#include <linux/string.h>

#include "hypheap_fake_hyp.h"
#include "hypheap_priv.h"

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);

static const struct hypheap_vmperm pt_dst = {
	.vmid = HYPHEAP_VMID_SECURE_0, .perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W,
};

/* a 2 MiB, a 1 MiB and a 64 KiB block and a page: every order of the backend */
#define PT_SIZE		(SZ_2M + SZ_1M + SZ_64K + SZ_4K)
#define PT_POOL		(4 * PT_SIZE)

/**
 * struct pt_ctx - one case's heap and pool on the fake hypervisor
 * @fh: the fake hypervisor
 * @pdev: the device the backend would clean pages through
 * @c: the fake's conduit
 * @be: the hyp backend on it
 * @heap: an unregistered heap served by @be
 * @scrubs: buffers the fake scrub zeroed
 * @scrub_fail: the scrub's answer; 0 zeroes
 * @calls: scrubs begun
 * @gated: bit n: scrub n + 1 (counted in @calls) signals @entered[n], then
 *	waits for @gate[n] (10 s at most: a broken pool fails, never hangs)
 * @entered: scrub n + 1 has begun
 * @gate: lets scrub n + 1 go on
 * @conduit_after: the pool's conduit as scrub n + 1 ended
 * @scrubber: the task of the last scrub
 */
struct pt_ctx {
	struct fake_hyp fh;
	struct platform_device *pdev;
	struct hypheap_conduit *c;
	struct hypheap_backend *be;
	struct hypheap_heap *heap;
	atomic_t scrubs;
	int scrub_fail;
	atomic_t calls;
	unsigned int gated;
	struct completion entered[2];
	struct completion gate[2];
	struct hypheap_conduit *conduit_after[2];
	struct task_struct *scrubber;
};

static struct pt_ctx *pt_of(struct hypheap_pool *pool)
{
	return pool->ops_priv;
}

static void pt_fill(struct hypheap_mem *mem, u8 byte)
{
	struct scatterlist *sg;
	unsigned int i, j;

	for_each_sgtable_sg(&mem->sgt, sg, i)
		for (j = 0; j < sg->length >> PAGE_SHIFT; j++) {
			void *va = kmap_local_page(nth_page(sg_page(sg), j));

			memset(va, byte, PAGE_SIZE);
			kunmap_local(va);
		}
}

/* every byte of @mem is @byte */
static bool pt_all(struct hypheap_mem *mem, u8 byte)
{
	struct scatterlist *sg;
	unsigned int i, j;
	bool same = true;

	for_each_sgtable_sg(&mem->sgt, sg, i)
		for (j = 0; j < sg->length >> PAGE_SHIFT && same; j++) {
			u8 *va = kmap_local_page(nth_page(sg_page(sg), j));

			same = va[0] == byte &&
			       !memcmp(va, va + 1, PAGE_SIZE - 1);
			kunmap_local(va);
		}
	return same;
}

/* What the secure VM's FILL does for the real pool, on pages we can see. */
static int pt_scrub(struct hypheap_pool *pool, struct hypheap_mem *mem)
{
	struct pt_ctx *ctx = pt_of(pool);
	int n;

	if (ctx->scrub_fail)
		return ctx->scrub_fail;
	n = atomic_inc_return(&ctx->calls) - 1;
	if (n < 2 && ctx->gated & BIT(n)) {
		complete(&ctx->entered[n]);
		wait_for_completion_timeout(&ctx->gate[n], 10 * HZ);
	}
	WRITE_ONCE(ctx->scrubber, current);
	pt_fill(mem, 0);
	atomic_inc(&ctx->scrubs);
	if (n < 2)
		WRITE_ONCE(ctx->conduit_after[n], READ_ONCE(pool->conduit));
	return 0;
}

static const struct hypheap_pool_ops pt_ops = {
	.name = "kunit",
	.scrub = pt_scrub,
};

static int pt_init(struct kunit *test)
{
	struct pt_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	struct hypheap_conduit *c;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	test->priv = ctx;
	init_completion(&ctx->entered[0]);
	init_completion(&ctx->entered[1]);
	init_completion(&ctx->gate[0]);
	init_completion(&ctx->gate[1]);
	c = fake_hyp_conduit(test, &ctx->fh, 64, true);
	ctx->c = c;
	ctx->pdev = platform_device_register_simple("hypheap-kunit-pool", -1,
						    NULL, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx->pdev);
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(&ctx->pdev->dev,
							DMA_BIT_MASK(64)), 0);
	ctx->be = hypheap_hyp_backend_create(&ctx->pdev->dev, c,
					     HYPHEAP_VMID_HOST);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx->be);
	ctx->heap = hypheap_heap_create("hypheap-kunit-pool", &pt_dst, 1,
					HYPHEAP_VMID_HOST);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx->heap);
	ctx->heap->retry_delay = 3600 * HZ;
	hypheap_heap_set_backend(ctx->heap, ctx->be);
	return 0;
}

static void pt_exit(struct kunit *test)
{
	struct pt_ctx *ctx = test->priv;

	if (!ctx)
		return;
	complete_all(&ctx->gate[0]);	/* a gated scrub never stays blocked */
	complete_all(&ctx->gate[1]);
	if (ctx->heap) {
		ctx->fh.fail_call = 0;
		hypheap_pool_disable(&ctx->heap->pool);
		/* nothing of the pool runs after it, an hour later or ever */
		KUNIT_EXPECT_FALSE(test,
				   delayed_work_pending(&ctx->heap->pool.scrub_work));
		hypheap_heap_retry_quarantine(ctx->heap);
		if (!hypheap_heap_destroy(ctx->heap))
			ctx->heap = NULL;
	}
	if (ctx->be && !ctx->heap)
		hypheap_backend_put(ctx->be);
	if (ctx->pdev)
		platform_device_unregister(ctx->pdev);
}

static void pt_enable(struct kunit *test, u64 bytes)
{
	struct pt_ctx *ctx = test->priv;

	KUNIT_ASSERT_EQ(test, hypheap_pool_enable(&ctx->heap->pool, ctx->be,
						  ctx->c, bytes, &pt_ops, ctx),
			0);
}

/* the pool a 1.8 hypervisor gives a heap: its scrub in place, over the fake */
static void pt_enable_hyp(struct kunit *test)
{
	struct pt_ctx *ctx = test->priv;

	KUNIT_ASSERT_EQ(test, hypheap_pool_enable(&ctx->heap->pool, ctx->be,
						  ctx->c, PT_POOL,
						  &hypheap_pool_hyp_ops, NULL),
			0);
}

static struct hypheap_buffer *pt_alloc(struct kunit *test, size_t len)
{
	struct pt_ctx *ctx = test->priv;
	struct hypheap_buffer *buf = hypheap_buffer_alloc(ctx->heap, len);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	return buf;
}

static s64 pt_count(atomic64_t *v)
{
	return atomic64_read(v);
}

/* every page of @buf owned by the heap's VM alone, in the books */
static bool pt_lent(struct pt_ctx *ctx, struct hypheap_buffer *buf)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_sg(&buf->mem.sgt, sg, i)
		if (fake_hyp_owner(&ctx->fh, sg_phys(sg)) !=
		    HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0))
			return false;
	return true;
}

/*
 * A miss lends, a free keeps the buffer lent (no call), the same size
 * again is a hit (no call, the very pages); another size is a miss.
 */
static void hits_and_misses_are_counted_exactly(struct kunit *test)
{
	struct pt_ctx *ctx = test->priv;
	struct hypheap_pool *pool = &ctx->heap->pool;
	struct hypheap_buffer *buf;
	struct page *first;
	unsigned int calls;

	pt_enable(test, PT_POOL);
	buf = pt_alloc(test, PT_SIZE);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->misses), 1);
	KUNIT_EXPECT_EQ(test, ctx->fh.lends, 1U);
	first = sg_page(buf->mem.sgt.sgl);
	calls = ctx->fh.calls;
	hypheap_buffer_release(buf);
	KUNIT_EXPECT_EQ(test, ctx->fh.calls, calls);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->puts), 1);
	KUNIT_EXPECT_EQ(test, READ_ONCE(pool->bytes), (u64)PT_SIZE);
	KUNIT_EXPECT_EQ(test, hypheap_stat_read(&ctx->heap->stats,
						HYPHEAP_STAT_LIVE_BUFFERS), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->heap->charged), 0);

	buf = pt_alloc(test, PT_SIZE);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->hits), 1);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->misses), 1);
	KUNIT_EXPECT_EQ(test, ctx->fh.calls, calls);
	KUNIT_EXPECT_PTR_EQ(test, sg_page(buf->mem.sgt.sgl), first);
	KUNIT_EXPECT_TRUE(test, pt_lent(ctx, buf));
	KUNIT_EXPECT_EQ(test, READ_ONCE(pool->bytes), 0ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->heap->charged), (s64)PT_SIZE);

	/* another size finds nothing: a miss, lent anew */
	hypheap_buffer_release(pt_alloc(test, SZ_64K));
	KUNIT_EXPECT_EQ(test, pt_count(&pool->misses), 2);
	KUNIT_EXPECT_EQ(test, ctx->fh.lends, 2U);
	hypheap_buffer_release(buf);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->puts), 3);
	KUNIT_EXPECT_EQ(test, ctx->fh.reclaims, 0U);
	/* and both sizes are hits now */
	hypheap_buffer_release(pt_alloc(test, SZ_64K));
	hypheap_buffer_release(pt_alloc(test, PT_SIZE));
	KUNIT_EXPECT_EQ(test, pt_count(&pool->hits), 3);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->misses), 2);
	KUNIT_EXPECT_EQ(test, ctx->fh.calls, 2U);
}

/* The next user of pooled pages finds zeros, never the last one's bytes. */
static void a_reused_buffer_is_zeroed_first(struct kunit *test)
{
	struct pt_ctx *ctx = test->priv;
	struct hypheap_buffer *buf;

	pt_enable(test, PT_POOL);
	buf = pt_alloc(test, PT_SIZE);
	KUNIT_EXPECT_TRUE(test, pt_all(&buf->mem, 0));
	pt_fill(&buf->mem, 0xA5);	/* what the secure VM left in it */
	hypheap_buffer_release(buf);
	buf = pt_alloc(test, PT_SIZE);
	KUNIT_EXPECT_EQ(test, pt_count(&ctx->heap->pool.hits), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->scrubs), 1);
	KUNIT_EXPECT_TRUE_MSG(test, pt_all(&buf->mem, 0),
			      "a pooled buffer came back with old data");
	hypheap_buffer_release(buf);
}

/* A buffer the scrub fails on goes back to the host, never to a user. */
static void an_unscrubbed_buffer_goes_back_to_the_host(struct kunit *test)
{
	struct pt_ctx *ctx = test->priv;
	struct hypheap_pool *pool = &ctx->heap->pool;

	pt_enable(test, PT_POOL);
	ctx->scrub_fail = -ECANCELED;
	hypheap_buffer_release(pt_alloc(test, PT_SIZE));
	hypheap_pool_flush(pool);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->scrub_failures), 1);
	KUNIT_EXPECT_EQ(test, ctx->fh.reclaims, 1U);
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(&ctx->fh));
	KUNIT_EXPECT_EQ(test, READ_ONCE(pool->bytes), 0ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->heap->charged), 0);
	ctx->scrub_fail = 0;
	hypheap_buffer_release(pt_alloc(test, PT_SIZE));
	KUNIT_EXPECT_EQ(test, pt_count(&pool->hits), 0);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->misses), 2);
}

/*
 * The shrinker counts every pooled page and its scan gives every one back
 * to the host (the books agree), however the pool was filled.
 */
static void the_shrinker_gives_every_pooled_page_back(struct kunit *test)
{
	struct pt_ctx *ctx = test->priv;
	struct hypheap_pool *pool = &ctx->heap->pool;
	struct shrink_control sc = { .gfp_mask = GFP_KERNEL };
	struct hypheap_buffer *bufs[4];
	unsigned long count;
	unsigned int i;

	pt_enable(test, PT_POOL);
	for (i = 0; i < ARRAY_SIZE(bufs); i++)
		bufs[i] = pt_alloc(test, i & 1 ? SZ_64K : PT_SIZE);
	for (i = 0; i < ARRAY_SIZE(bufs); i++)
		hypheap_buffer_release(bufs[i]);
	hypheap_pool_flush(pool);
	KUNIT_EXPECT_FALSE(test, fake_hyp_all_host(&ctx->fh));

	count = pool->shrinker.count_objects(&pool->shrinker, &sc);
	KUNIT_EXPECT_EQ(test, count, (2 * PT_SIZE + 2 * SZ_64K) >> PAGE_SHIFT);
	/* a small scan gives back at least what it asks for, oldest first */
	sc.nr_to_scan = 1;
	KUNIT_EXPECT_EQ(test, pool->shrinker.scan_objects(&pool->shrinker, &sc),
			(unsigned long)PT_SIZE >> PAGE_SHIFT);
	sc.nr_to_scan = count;
	KUNIT_EXPECT_EQ(test, pool->shrinker.scan_objects(&pool->shrinker, &sc),
			(unsigned long)(PT_SIZE + 2 * SZ_64K) >> PAGE_SHIFT);
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(&ctx->fh));
	KUNIT_EXPECT_EQ(test, ctx->fh.reclaims, 4U);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->shrinks), 4);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->shrunk_pages),
			(s64)(2 * PT_SIZE + 2 * SZ_64K) >> PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, pool->shrinker.count_objects(&pool->shrinker, &sc),
			SHRINK_EMPTY);
	KUNIT_EXPECT_EQ(test, pool->shrinker.scan_objects(&pool->shrinker, &sc),
			SHRINK_STOP);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->heap->charged), 0);
}

/* A pooled buffer whose reclaim fails is quarantined, never freed lent. */
static void a_failed_give_back_is_quarantined(struct kunit *test)
{
	struct pt_ctx *ctx = test->priv;
	struct hypheap_pool *pool = &ctx->heap->pool;

	pt_enable(test, PT_POOL);
	hypheap_buffer_release(pt_alloc(test, PT_SIZE));
	hypheap_pool_flush(pool);
	fake_hyp_fail(&ctx->fh, 1, 1, HYPHEAP_ERR_BUSY, false);	/* the next */
	KUNIT_EXPECT_EQ(test, hypheap_pool_drain(pool),
			(unsigned long)PT_SIZE >> PAGE_SHIFT);
	ctx->fh.fail_call = 0;
	KUNIT_EXPECT_EQ(test, hypheap_stat_read(&ctx->heap->stats,
						HYPHEAP_STAT_PAGES_QUARANTINED),
			(s64)PT_SIZE >> PAGE_SHIFT);
	KUNIT_EXPECT_FALSE(test, fake_hyp_all_host(&ctx->fh));
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->heap->charged), (s64)PT_SIZE);
	KUNIT_EXPECT_EQ(test, hypheap_heap_retry_quarantine(ctx->heap), 0U);
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(&ctx->fh));
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->heap->charged), 0);
}

/*
 * A buffer freed while the secure VM pins a page of it (a pin that outlived
 * its user: an in-kernel caller's, a file whose unpin failed at close) is
 * still in the secure VM's use: it must not be zeroed under that use nor
 * handed to the next allocation. It goes back the ordinary way, whose
 * reclaim the hypervisor refuses BUSY, so it waits in the quarantine until
 * the pin goes, then comes back to the host.
 */
/*
 * A buffer the secure VM still uses when it is freed, one page of it
 * answering @flag to MEM_QUERY, is neither zeroed nor handed out again: it
 * waits in quarantine until the secure VM lets go.
 */
static void pt_busy_buffer_is_never_pooled(struct kunit *test, u32 flag)
{
	struct pt_ctx *ctx = test->priv;
	struct hypheap_pool *pool = &ctx->heap->pool;
	struct hypheap_buffer *buf;
	struct page *first;

	pt_enable(test, PT_POOL);
	buf = pt_alloc(test, PT_SIZE);
	first = sg_page(buf->mem.sgt.sgl);
	ctx->fh.pinned = sg_phys(buf->mem.sgt.sgl) + SZ_64K;
	ctx->fh.pinned_pages = 1;
	ctx->fh.pinned_flag = flag;
	hypheap_buffer_release(buf);
	hypheap_pool_flush(pool);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&ctx->scrubs), 0,
			    "a pinned buffer was zeroed under its user");
	KUNIT_EXPECT_EQ(test, READ_ONCE(pool->bytes), 0ULL);
	KUNIT_EXPECT_EQ(test, hypheap_stat_read(&ctx->heap->stats,
						HYPHEAP_STAT_PAGES_QUARANTINED),
			(s64)PT_SIZE >> PAGE_SHIFT);

	buf = pt_alloc(test, PT_SIZE);
	KUNIT_EXPECT_EQ_MSG(test, pt_count(&pool->hits), 0,
			    "a pinned buffer was handed out again");
	KUNIT_EXPECT_PTR_NE(test, sg_page(buf->mem.sgt.sgl), first);
	hypheap_buffer_release(buf);

	ctx->fh.pinned_pages = 0;	/* the secure VM lets go */
	KUNIT_EXPECT_EQ(test, hypheap_heap_retry_quarantine(ctx->heap), 0U);
	hypheap_pool_drain(pool);
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(&ctx->fh));
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->heap->charged), 0);
}

static void a_pinned_buffer_is_never_pooled(struct kunit *test)
{
	pt_busy_buffer_is_never_pooled(test, HYPHEAP_STATE_F_PINNED);
}

/* held: a service call of the secure VM is using the page right now */
static void a_held_buffer_is_never_pooled(struct kunit *test)
{
	pt_busy_buffer_is_never_pooled(test, HYPHEAP_STATE_F_HELD);
}

/* pending: a MEM_ASSIGN in progress (kept token) still changes the page */
static void a_pending_buffer_is_never_pooled(struct kunit *test)
{
	pt_busy_buffer_is_never_pooled(test, HYPHEAP_STATE_F_PENDING);
}

/* Full: a freed buffer that does not fit is reclaimed as without a pool. */
static void a_full_pool_refuses_and_reclaims(struct kunit *test)
{
	struct pt_ctx *ctx = test->priv;
	struct hypheap_pool *pool = &ctx->heap->pool;
	struct hypheap_buffer *a, *b;

	pt_enable(test, PT_SIZE);
	a = pt_alloc(test, PT_SIZE);
	b = pt_alloc(test, SZ_4K);
	hypheap_buffer_release(a);
	hypheap_buffer_release(b);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->puts), 1);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->refused), 1);
	KUNIT_EXPECT_EQ(test, ctx->fh.reclaims, 1U);
	KUNIT_EXPECT_EQ(test, READ_ONCE(pool->bytes), (u64)PT_SIZE);
}

/* Disabled (or disabled again): every free reclaims, nothing is counted. */
static void a_disabled_pool_is_todays_behaviour(struct kunit *test)
{
	struct pt_ctx *ctx = test->priv;
	struct hypheap_pool *pool = &ctx->heap->pool;
	unsigned int i;

	for (i = 0; i < 3; i++)
		hypheap_buffer_release(pt_alloc(test, PT_SIZE));
	KUNIT_EXPECT_EQ(test, ctx->fh.lends, 3U);
	KUNIT_EXPECT_EQ(test, ctx->fh.reclaims, 3U);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->hits) + pt_count(&pool->misses) +
			pt_count(&pool->puts) + pt_count(&pool->refused), 0);

	pt_enable(test, PT_POOL);
	hypheap_buffer_release(pt_alloc(test, PT_SIZE));
	KUNIT_EXPECT_EQ(test, ctx->fh.reclaims, 3U);
	hypheap_pool_disable(pool);
	KUNIT_EXPECT_EQ(test, ctx->fh.reclaims, 4U);
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(&ctx->fh));
	hypheap_buffer_release(pt_alloc(test, PT_SIZE));
	KUNIT_EXPECT_EQ(test, ctx->fh.lends, 5U);
	KUNIT_EXPECT_EQ(test, ctx->fh.reclaims, 5U);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->hits), 0);
}

/*
 * Back to back, an allocation does not wait for the worker: while the
 * worker is busy zeroing one buffer, the next freed buffer of the size is
 * taken off the dirty list and zeroed by the allocating task itself, and
 * is the hit.
 */
static void an_allocation_zeroes_a_waiting_buffer_itself(struct kunit *test)
{
	struct pt_ctx *ctx = test->priv;
	struct hypheap_pool *pool = &ctx->heap->pool;
	struct hypheap_buffer *a, *b, *buf;
	struct page *first;

	ctx->gated = BIT(0);
	pt_enable(test, PT_POOL);
	a = pt_alloc(test, PT_SIZE);
	b = pt_alloc(test, PT_SIZE);
	first = sg_page(b->mem.sgt.sgl);
	pt_fill(&b->mem, 0xc3);
	hypheap_buffer_release(a);
	/* the worker holds a */
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&ctx->entered[0],
							  10 * HZ), 0UL);
	hypheap_buffer_release(b);		/* b waits on the dirty list */

	buf = pt_alloc(test, PT_SIZE);
	KUNIT_EXPECT_PTR_EQ(test, sg_page(buf->mem.sgt.sgl), first);
	KUNIT_EXPECT_PTR_EQ_MSG(test, READ_ONCE(ctx->scrubber), current,
				"the allocation waited for the worker");
	KUNIT_EXPECT_TRUE(test, pt_all(&buf->mem, 0));
	KUNIT_EXPECT_EQ(test, pt_count(&pool->hits), 1);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->waits), 0);
	KUNIT_EXPECT_TRUE(test, pt_lent(ctx, buf));
	KUNIT_EXPECT_EQ(test, ctx->fh.lends, 2U);

	complete(&ctx->gate[0]);
	hypheap_pool_flush(pool);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->scrubs), 2);
	KUNIT_EXPECT_EQ(test, READ_ONCE(pool->bytes), (u64)PT_SIZE);
	KUNIT_EXPECT_EQ(test, READ_ONCE(pool->unscrubbed), 0ULL);
	hypheap_buffer_release(buf);
	hypheap_pool_drain(pool);
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(&ctx->fh));
}

/*
 * Freed and allocated again within the worker's delay (a codec cycling
 * its frames), the buffer is zeroed by the allocation, on its own CPU:
 * the worker does not take it first and make the allocation wait. The
 * pause stands for the rest of the cycle; a worker without the delay
 * zeroes the buffer during it.
 */
static void within_its_delay_a_freed_buffer_is_left_to_the_allocation(struct kunit *test)
{
	struct pt_ctx *ctx = test->priv;
	struct hypheap_pool *pool = &ctx->heap->pool;
	struct task_struct *by;
	struct hypheap_buffer *a;
	struct page *first;
	int i;

	pt_enable(test, PT_POOL);
	/* the real delay outlasts a tick: a timer armed now fires no sooner */
	KUNIT_EXPECT_GE(test, READ_ONCE(pool->zero_delay), 2UL);
	WRITE_ONCE(pool->zero_delay, 3600 * HZ);
	a = pt_alloc(test, PT_SIZE);
	first = sg_page(a->mem.sgt.sgl);
	for (i = 0; i < 3; i++) {
		pt_fill(&a->mem, 0xc3);
		hypheap_buffer_release(a);
		msleep(50);
		a = pt_alloc(test, PT_SIZE);
		by = READ_ONCE(ctx->scrubber);
		KUNIT_EXPECT_PTR_EQ(test, sg_page(a->mem.sgt.sgl), first);
		KUNIT_EXPECT_PTR_EQ_MSG(test, by, current, "the worker zeroed it");
		KUNIT_EXPECT_TRUE(test, pt_all(&a->mem, 0));
	}
	KUNIT_EXPECT_EQ(test, pt_count(&pool->hits), 3);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->waits), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->scrubs), 3);
	KUNIT_EXPECT_EQ(test, ctx->fh.lends, 1U);
	hypheap_buffer_release(a);
	hypheap_pool_drain(pool);
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(&ctx->fh));
}

/*
 * Left alone, a freed buffer is zeroed by the worker once its delay is
 * over, not before; a flush zeroes it at once, however young.
 */
static void an_idle_buffer_is_zeroed_by_the_worker_after_its_delay(struct kunit *test)
{
	struct pt_ctx *ctx = test->priv;
	struct hypheap_pool *pool = &ctx->heap->pool;
	struct task_struct *by;
	unsigned long start;
	int i;

	pt_enable(test, PT_POOL);
	WRITE_ONCE(pool->zero_delay, HZ);
	start = jiffies;
	hypheap_buffer_release(pt_alloc(test, PT_SIZE));
	if (time_before(jiffies, start + HZ / 2))	/* not descheduled */
		KUNIT_EXPECT_EQ(test, atomic_read(&ctx->scrubs), 0);
	for (i = 0; i < 100 && READ_ONCE(pool->unscrubbed); i++)
		msleep(100);
	KUNIT_EXPECT_EQ(test, READ_ONCE(pool->unscrubbed), 0ULL);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->scrubs), 1);
	by = READ_ONCE(ctx->scrubber);
	KUNIT_EXPECT_PTR_NE(test, by, current);
	KUNIT_EXPECT_GE(test, (long)(jiffies - start), (long)HZ);

	WRITE_ONCE(pool->zero_delay, 3600 * HZ);
	hypheap_buffer_release(pt_alloc(test, PT_SIZE));	/* a hit */
	hypheap_pool_flush(pool);
	KUNIT_EXPECT_EQ(test, READ_ONCE(pool->unscrubbed), 0ULL);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->scrubs), 2);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->hits), 1);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->waits), 0);
	hypheap_pool_drain(pool);
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(&ctx->fh));
}

/* an allocation or a disable on a thread of its own */
struct pt_job {
	struct pt_ctx *ctx;
	struct hypheap_buffer *buf;
	struct completion done;
};

static int pt_alloc_thread(void *data)
{
	struct pt_job *job = data;

	job->buf = hypheap_buffer_alloc(job->ctx->heap, PT_SIZE);
	complete(&job->done);
	return 0;
}

static int pt_disable_thread(void *data)
{
	struct pt_job *job = data;

	hypheap_pool_disable(&job->ctx->heap->pool);
	complete(&job->done);
	return 0;
}

/*
 * An unbind disables the pool while an allocation is zeroing a buffer it
 * took off the dirty list (on no list, which a drain would wait for): the
 * disable waits for it, so the pool's conduit is still there when its
 * zeroing uses it.
 */
static void disable_waits_for_an_allocation_zeroing_a_buffer(struct kunit *test)
{
	struct pt_ctx *ctx = test->priv;
	struct pt_job alloc = { .ctx = ctx }, off = { .ctx = ctx };
	struct hypheap_buffer *a, *b;
	struct page *first;

	init_completion(&alloc.done);
	init_completion(&off.done);
	ctx->gated = BIT(0) | BIT(1);
	pt_enable(test, PT_POOL);
	a = pt_alloc(test, PT_SIZE);
	b = pt_alloc(test, PT_SIZE);
	first = sg_page(b->mem.sgt.sgl);
	hypheap_buffer_release(a);
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&ctx->entered[0],
							  10 * HZ), 0UL);
	hypheap_buffer_release(b);
	KUNIT_ASSERT_FALSE(test, IS_ERR(kthread_run(pt_alloc_thread, &alloc,
						    "pt-alloc")));
	/* the allocation holds b, zeroing it */
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&ctx->entered[1],
							  10 * HZ), 0UL);
	complete(&ctx->gate[0]);
	KUNIT_ASSERT_FALSE(test, IS_ERR(kthread_run(pt_disable_thread, &off,
						    "pt-disable")));
	KUNIT_EXPECT_EQ_MSG(test, wait_for_completion_timeout(&off.done, HZ / 2),
			    0UL, "the pool was disabled under a zeroing");
	complete(&ctx->gate[1]);
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&alloc.done, 10 * HZ),
			0UL);
	KUNIT_ASSERT_GT(test, wait_for_completion_timeout(&off.done, 10 * HZ),
			0UL);
	KUNIT_EXPECT_PTR_EQ(test, READ_ONCE(ctx->conduit_after[1]), ctx->c);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, alloc.buf);
	KUNIT_EXPECT_PTR_EQ(test, sg_page(alloc.buf->mem.sgt.sgl), first);
	hypheap_buffer_release(alloc.buf);	/* no pool: reclaimed */
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(&ctx->fh));
}

/*
 * The pool a 1.8 hypervisor gives a heap: the scrub in place. A freed
 * buffer is zeroed by one call per batch of ranges (the fake's conduit
 * takes 64), stays lent, is not asked about with MEM_QUERY, and is the
 * next allocation of its size with no call.
 */
static void the_hypervisor_zeroes_a_freed_buffer_in_place(struct kunit *test)
{
	struct pt_ctx *ctx = test->priv;
	struct hypheap_pool *pool = &ctx->heap->pool;
	struct hypheap_buffer *buf;
	unsigned int lends, queries;
	struct page *first;

	pt_enable_hyp(test);
	buf = pt_alloc(test, PT_SIZE);
	first = sg_page(buf->mem.sgt.sgl);
	pt_fill(&buf->mem, 0xc3);	/* the last user's secrets */
	lends = ctx->fh.lends;
	queries = ctx->fh.queries;
	hypheap_buffer_release(buf);
	hypheap_pool_flush(pool);
	KUNIT_EXPECT_EQ(test, ctx->fh.scrubs, 1U);
	KUNIT_EXPECT_EQ(test, ctx->fh.reclaims, 0U);
	KUNIT_EXPECT_EQ_MSG(test, ctx->fh.queries, queries,
			    "the scrub refuses a pinned page itself");

	buf = pt_alloc(test, PT_SIZE);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->hits), 1);
	KUNIT_EXPECT_PTR_EQ(test, sg_page(buf->mem.sgt.sgl), first);
	KUNIT_EXPECT_TRUE_MSG(test, pt_all(&buf->mem, 0),
			      "a reused buffer kept its last user's bytes");
	KUNIT_EXPECT_TRUE(test, pt_lent(ctx, buf));
	KUNIT_EXPECT_EQ(test, ctx->fh.lends, lends);
	KUNIT_EXPECT_EQ(test, ctx->fh.scrubs, 1U);
	hypheap_buffer_release(buf);
	hypheap_pool_drain(pool);
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(&ctx->fh));
}

/*
 * A pinned page makes the hypervisor refuse the whole scrub: nothing is
 * zeroed under the secure VM's use, the buffer is counted as pinned and
 * given back (quarantined while the pin lasts), never reused.
 */
static void the_hypervisor_refuses_a_pinned_buffer_whole(struct kunit *test)
{
	struct pt_ctx *ctx = test->priv;
	struct hypheap_pool *pool = &ctx->heap->pool;
	struct hypheap_buffer *buf;
	struct page *first;

	pt_enable_hyp(test);
	buf = pt_alloc(test, PT_SIZE);
	first = sg_page(buf->mem.sgt.sgl);
	pt_fill(&buf->mem, 0xc3);
	ctx->fh.pinned = sg_phys(buf->mem.sgt.sgl) + SZ_64K;
	ctx->fh.pinned_pages = 1;
	hypheap_buffer_release(buf);
	hypheap_pool_flush(pool);
	KUNIT_EXPECT_EQ(test, ctx->fh.scrubs, 1U);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->pinned), 1);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->scrub_failures), 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(pool->bytes), 0ULL);
	KUNIT_EXPECT_EQ(test, hypheap_stat_read(&ctx->heap->stats,
						HYPHEAP_STAT_PAGES_QUARANTINED),
			(s64)PT_SIZE >> PAGE_SHIFT);

	buf = pt_alloc(test, PT_SIZE);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->hits), 0);
	KUNIT_EXPECT_PTR_NE(test, sg_page(buf->mem.sgt.sgl), first);
	hypheap_buffer_release(buf);
	ctx->fh.pinned_pages = 0;
	KUNIT_EXPECT_EQ(test, hypheap_heap_retry_quarantine(ctx->heap), 0U);
	hypheap_pool_drain(pool);
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(&ctx->fh));
}

/* A conduit without the scrub in place: the pool gives the buffer back. */
static void without_the_scrub_in_place_the_buffer_goes_back(struct kunit *test)
{
	struct pt_ctx *ctx = test->priv;
	struct hypheap_pool *pool = &ctx->heap->pool;

	ctx->c->scrubs_in_place = false;
	pt_enable_hyp(test);
	hypheap_buffer_release(pt_alloc(test, PT_SIZE));
	hypheap_pool_flush(pool);
	KUNIT_EXPECT_EQ(test, ctx->fh.scrubs, 0U);
	KUNIT_EXPECT_EQ(test, ctx->fh.reclaims, 1U);
	KUNIT_EXPECT_EQ(test, pt_count(&pool->scrub_failures), 1);
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(&ctx->fh));
}

static struct kunit_case hypheap_pool_cases[] = {
	KUNIT_CASE(hits_and_misses_are_counted_exactly),
	KUNIT_CASE(a_reused_buffer_is_zeroed_first),
	KUNIT_CASE(an_unscrubbed_buffer_goes_back_to_the_host),
	KUNIT_CASE(the_shrinker_gives_every_pooled_page_back),
	KUNIT_CASE(a_failed_give_back_is_quarantined),
	KUNIT_CASE(a_pinned_buffer_is_never_pooled),
	KUNIT_CASE(a_held_buffer_is_never_pooled),
	KUNIT_CASE(a_pending_buffer_is_never_pooled),
	KUNIT_CASE(a_full_pool_refuses_and_reclaims),
	KUNIT_CASE(a_disabled_pool_is_todays_behaviour),
	KUNIT_CASE(an_allocation_zeroes_a_waiting_buffer_itself),
	KUNIT_CASE(within_its_delay_a_freed_buffer_is_left_to_the_allocation),
	KUNIT_CASE(an_idle_buffer_is_zeroed_by_the_worker_after_its_delay),
	KUNIT_CASE(disable_waits_for_an_allocation_zeroing_a_buffer),
	KUNIT_CASE(the_hypervisor_zeroes_a_freed_buffer_in_place),
	KUNIT_CASE(the_hypervisor_refuses_a_pinned_buffer_whole),
	KUNIT_CASE(without_the_scrub_in_place_the_buffer_goes_back),
	{}
};

static struct kunit_suite hypheap_pool_suite = {
	.name = "hypheap-pool",
	.init = pt_init,
	.exit = pt_exit,
	.test_cases = hypheap_pool_cases,
};

kunit_test_suite(hypheap_pool_suite);

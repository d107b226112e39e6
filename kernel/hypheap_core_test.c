// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the hypheap heap core against a test backend that fails
 * each operation on demand: nothing leaks, memory whose reclaim fails is
 * quarantined and counted, and a heap outlives its backend safely.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/iosys-map.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/swiotlb.h>

#include "hypheap_priv.h"

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
MODULE_IMPORT_NS(DMA_BUF);

/**
 * struct test_backend - a backend with injectable failures
 * @be: the backend
 * @fail_alloc: errno @alloc returns, 0 to succeed
 * @fail_restrict: errno @restrict_buf returns, 0 to succeed
 * @unrestrict_fails: how many @unrestrict_buf calls fail with -EBUSY
 * @pages_out: pages allocated and not freed
 * @restricted: buffers restricted and not unrestricted
 * @destroyed: calls of @destroy
 * @delays: the heap's retry delay at each @unrestrict_buf call the retry
 *	worker made, in order
 * @nr_delays: entries in @delays
 * @gate: an @unrestrict_buf call from the retry worker signals @entered,
 *	then waits (up to a second) for @go
 * @entered: see @gate
 * @go: see @gate
 * @heap: the heap under test, whose retry delay @delays records
 * @pageless: @alloc makes page-less tables: physical ranges at
 *	@pageless_base, where the kernel has no struct page (a carve-out)
 * @pageless_base: see @pageless
 * @mixed: @alloc makes a table with one page-less entry among pages
 */
struct test_backend {
	struct hypheap_backend be;
	int fail_alloc;
	int fail_restrict;
	unsigned int unrestrict_fails;
	long pages_out;
	long restricted;
	unsigned int destroyed;
	unsigned long delays[8];
	unsigned int nr_delays;
	bool gate;
	struct completion entered;
	struct completion go;
	struct hypheap_heap *heap;
	bool pageless;
	phys_addr_t pageless_base;
	bool mixed;
};

static int tb_alloc_pageless(struct test_backend *tb, struct hypheap_mem *mem)
{
	struct scatterlist *sg;
	unsigned int i;
	int ret;

	/* two pages an entry, the entries apart: nothing can merge them */
	ret = sg_alloc_table(&mem->sgt, mem->len >> (PAGE_SHIFT + 1),
			     GFP_KERNEL);
	if (ret)
		return ret;
	for_each_sgtable_sg(&mem->sgt, sg, i) {
		sg_dma_address(sg) = tb->pageless_base + i * 4 * PAGE_SIZE;
		sg->length = 2 * PAGE_SIZE;
	}
	mem->pageless = true;
	tb->pages_out += mem->len >> PAGE_SHIFT;
	return 0;
}

static int tb_alloc(struct hypheap_backend *be, struct hypheap_mem *mem,
		    const struct hypheap_use *use)
{
	struct test_backend *tb = be->priv;
	unsigned int n = mem->len >> PAGE_SHIFT, i;
	struct scatterlist *sg;
	int ret;

	if (tb->fail_alloc)
		return tb->fail_alloc;
	if (tb->pageless)
		return tb_alloc_pageless(tb, mem);
	ret = sg_alloc_table(&mem->sgt, n, GFP_KERNEL);
	if (ret)
		return ret;
	for_each_sgtable_sg(&mem->sgt, sg, i) {
		struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);

		if (!page) {
			sg_mark_end(sg);
			mem->sgt.orig_nents = i;
			goto err;
		}
		sg_set_page(sg, page, PAGE_SIZE, 0);
		tb->pages_out++;
	}
	if (tb->mixed && n > 1) {
		/* the core must refuse it: its last entry loses its page */
		sg = sg_last(mem->sgt.sgl, n);
		__free_page(sg_page(sg));
		sg_dma_address(sg) = tb->pageless_base;
		sg_assign_page(sg, NULL);
	}
	return 0;
err:
	for_each_sgtable_sg(&mem->sgt, sg, i) {
		__free_page(sg_page(sg));
		tb->pages_out--;
	}
	sg_free_table(&mem->sgt);
	return -ENOMEM;
}

static void tb_free(struct hypheap_backend *be, struct hypheap_mem *mem)
{
	struct test_backend *tb = be->priv;
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_sg(&mem->sgt, sg, i) {
		if (mem->pageless) {
			tb->pages_out -= sg->length >> PAGE_SHIFT;
			continue;
		}
		if (sg_page(sg))
			__free_page(sg_page(sg));
		tb->pages_out--;
	}
	sg_free_table(&mem->sgt);
}

static int tb_restrict(struct hypheap_backend *be, struct hypheap_mem *mem,
		       const struct hypheap_use *use)
{
	struct test_backend *tb = be->priv;

	if (tb->fail_restrict) {
		/* what is unrecoverable may be partly lent: reclaim it later */
		if (tb->fail_restrict == -ENOTRECOVERABLE)
			tb->restricted++;
		return tb->fail_restrict;
	}
	mem->owners = hypheap_vmperm_bitmap(use->dst, use->nr_dst);
	tb->restricted++;
	return 0;
}

static int tb_unrestrict(struct hypheap_backend *be, struct hypheap_mem *mem,
			 const struct hypheap_use *use)
{
	struct test_backend *tb = be->priv;

	if (current_work() && tb->nr_delays < ARRAY_SIZE(tb->delays))
		tb->delays[tb->nr_delays++] = READ_ONCE(tb->heap->retry_delay);
	if (tb->gate && current_work()) {
		complete(&tb->entered);
		wait_for_completion_timeout(&tb->go, HZ);
	}
	if (tb->unrestrict_fails) {
		tb->unrestrict_fails--;
		return -EBUSY;
	}
	mem->owners = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
	tb->restricted--;
	return 0;
}

static void tb_destroy(struct hypheap_backend *be)
{
	struct test_backend *tb = be->priv;

	tb->destroyed++;
}

static const struct hypheap_backend_ops tb_ops = {
	.alloc = tb_alloc,
	.free = tb_free,
	.restrict_buf = tb_restrict,
	.unrestrict_buf = tb_unrestrict,
	.destroy = tb_destroy,
};

static const struct hypheap_vmperm test_dst = {
	.vmid = HYPHEAP_VMID_SECURE_0, .perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W,
};

struct test_ctx {
	struct test_backend tb;
	struct hypheap_heap *heap;
};

static int core_test_init(struct kunit *test)
{
	struct test_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	hypheap_backend_init(&ctx->tb.be, &tb_ops, "kunit", &ctx->tb);
	ctx->heap = hypheap_heap_create("hypheap-kunit", &test_dst, 1,
					HYPHEAP_VMID_HOST);
	if (IS_ERR(ctx->heap))
		return PTR_ERR(ctx->heap);
	ctx->tb.heap = ctx->heap;
	/* retries run when the test says so, not from the worker */
	ctx->heap->retry_delay = 3600 * HZ;
	hypheap_heap_set_backend(ctx->heap, &ctx->tb.be);
	test->priv = ctx;
	return 0;
}

static void core_test_exit(struct kunit *test)
{
	struct test_ctx *ctx = test->priv;

	if (!ctx->heap)
		return;	/* destroyed by the case: nothing can be checked */
	/* a failed test may leave quarantine: take it all back first */
	ctx->tb.gate = false;
	ctx->tb.unrestrict_fails = 0;
	hypheap_heap_retry_quarantine(ctx->heap);
	KUNIT_EXPECT_EQ(test, hypheap_heap_destroy(ctx->heap), 0);
	if (!ctx->tb.destroyed)
		hypheap_backend_put(&ctx->tb.be);
	KUNIT_EXPECT_EQ(test, ctx->tb.destroyed, 1U);
	KUNIT_EXPECT_EQ(test, ctx->tb.pages_out, 0L);
	KUNIT_EXPECT_EQ(test, ctx->tb.restricted, 0L);
}

static s64 hstat(struct test_ctx *ctx, enum hypheap_stat s)
{
	return hypheap_stat_read(&ctx->heap->stats, s);
}

static void alloc_then_release_balances(struct kunit *test)
{
	struct test_ctx *ctx = test->priv;
	struct hypheap_buffer *buf;

	buf = hypheap_buffer_alloc(ctx->heap, 3 * PAGE_SIZE - 1);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	KUNIT_EXPECT_EQ(test, buf->mem.len, 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, ctx->tb.pages_out, 3L);
	KUNIT_EXPECT_EQ(test, ctx->tb.restricted, 1L);
	KUNIT_EXPECT_EQ(test, buf->mem.owners,
			HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0));
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_LIVE_BUFFERS), 1);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_LIVE_BYTES),
			3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_PAGES_ASSIGNED), 3);

	hypheap_buffer_release(buf);
	KUNIT_EXPECT_EQ(test, ctx->tb.pages_out, 0L);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_LIVE_BUFFERS), 0);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_LIVE_BYTES), 0);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_PAGES_ASSIGNED), 0);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_PAGES_QUARANTINED), 0);
}

static void zero_length_is_rejected(struct kunit *test)
{
	struct test_ctx *ctx = test->priv;

	KUNIT_EXPECT_EQ(test, PTR_ERR(hypheap_buffer_alloc(ctx->heap, 0)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(hypheap_buffer_alloc(ctx->heap,
							   SIZE_MAX - 1)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(hypheap_buffer_alloc(ctx->heap,
							   SIZE_MAX / 2)),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, ctx->tb.pages_out, 0L);
	/* each a failed operation of the driver's own */
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_FAIL_EINVAL), 2);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_FAIL_ENOMEM), 1);
}

static void alloc_failure_leaks_nothing(struct kunit *test)
{
	struct test_ctx *ctx = test->priv;

	ctx->tb.fail_alloc = -ENOMEM;
	KUNIT_EXPECT_EQ(test, PTR_ERR(hypheap_buffer_alloc(ctx->heap, 8192)),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, ctx->tb.pages_out, 0L);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_FAIL_ENOMEM), 1);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_LIVE_BUFFERS), 0);
}

static void restrict_failure_frees_pages(struct kunit *test)
{
	struct test_ctx *ctx = test->priv;

	ctx->tb.fail_restrict = -EPERM;
	KUNIT_EXPECT_EQ(test, PTR_ERR(hypheap_buffer_alloc(ctx->heap, 8192)),
			-EPERM);
	KUNIT_EXPECT_EQ(test, ctx->tb.pages_out, 0L);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_FAIL_EPERM), 1);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_PAGES_QUARANTINED), 0);
}

static void restrict_unrecoverable_quarantines(struct kunit *test)
{
	struct test_ctx *ctx = test->priv;

	ctx->tb.fail_restrict = -ENOTRECOVERABLE;
	KUNIT_EXPECT_EQ(test, PTR_ERR(hypheap_buffer_alloc(ctx->heap, 8192)),
			-ENOTRECOVERABLE);
	KUNIT_EXPECT_EQ(test, ctx->tb.pages_out, 2L);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_PAGES_QUARANTINED), 2);
	KUNIT_EXPECT_EQ(test, hypheap_heap_destroy(ctx->heap), -EBUSY);

	KUNIT_EXPECT_EQ(test, ctx->tb.restricted, 1L);

	KUNIT_EXPECT_EQ(test, hypheap_heap_retry_quarantine(ctx->heap), 0U);
	KUNIT_EXPECT_EQ(test, ctx->tb.restricted, 0L);
	KUNIT_EXPECT_EQ(test, ctx->tb.pages_out, 0L);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_PAGES_QUARANTINED), 0);
}

static void unrestrict_failure_quarantines_until_retry_works(struct kunit *t)
{
	struct test_ctx *ctx = t->priv;
	struct hypheap_buffer *buf;

	buf = hypheap_buffer_alloc(ctx->heap, 4 * PAGE_SIZE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(t, buf);
	ctx->tb.unrestrict_fails = 2;
	hypheap_buffer_release(buf);

	/* never given back to the page allocator while the VM has it */
	KUNIT_EXPECT_EQ(t, ctx->tb.pages_out, 4L);
	KUNIT_EXPECT_EQ(t, hstat(ctx, HYPHEAP_STAT_PAGES_QUARANTINED), 4);
	KUNIT_EXPECT_EQ(t, hstat(ctx, HYPHEAP_STAT_FAIL_EBUSY), 1);
	KUNIT_EXPECT_EQ(t, hstat(ctx, HYPHEAP_STAT_LIVE_BUFFERS), 0);
	KUNIT_EXPECT_EQ(t, hypheap_heap_destroy(ctx->heap), -EBUSY);

	KUNIT_EXPECT_EQ(t, hypheap_heap_retry_quarantine(ctx->heap), 1U);
	KUNIT_EXPECT_EQ(t, buf->retries, 2U);
	KUNIT_EXPECT_EQ(t, hstat(ctx, HYPHEAP_STAT_FAIL_EBUSY), 2);
	KUNIT_EXPECT_EQ(t, ctx->tb.pages_out, 4L);

	KUNIT_EXPECT_EQ(t, hypheap_heap_retry_quarantine(ctx->heap), 0U);
	KUNIT_EXPECT_EQ(t, ctx->tb.pages_out, 0L);
	KUNIT_EXPECT_EQ(t, hstat(ctx, HYPHEAP_STAT_PAGES_QUARANTINED), 0);
}

static void backend_gone_fails_alloc_and_still_reclaims(struct kunit *test)
{
	struct test_ctx *ctx = test->priv;
	struct hypheap_buffer *buf;

	buf = hypheap_buffer_alloc(ctx->heap, PAGE_SIZE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);

	/* the provider unbinds: heap keeps no reference, buffer keeps one */
	hypheap_heap_set_backend(ctx->heap, NULL);
	hypheap_backend_put(&ctx->tb.be);
	KUNIT_EXPECT_EQ(test, ctx->tb.destroyed, 0U);

	KUNIT_EXPECT_EQ(test, PTR_ERR(hypheap_buffer_alloc(ctx->heap, 4096)),
			-ENODEV);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_FAIL_ENODEV), 1);

	hypheap_buffer_release(buf);
	KUNIT_EXPECT_EQ(test, ctx->tb.restricted, 0L);
	KUNIT_EXPECT_EQ(test, ctx->tb.pages_out, 0L);
	KUNIT_EXPECT_EQ(test, ctx->tb.destroyed, 1U);
}

static void dmabuf_refuses_cpu_access(struct kunit *test)
{
	struct test_ctx *ctx = test->priv;
	struct hypheap_buffer *buf;
	struct iosys_map map;
	struct dma_buf *dmabuf;

	buf = hypheap_buffer_alloc(ctx->heap, 2 * PAGE_SIZE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	dmabuf = hypheap_buffer_export(buf, O_RDWR | O_CLOEXEC);
	if (IS_ERR(dmabuf))
		hypheap_buffer_release(buf);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	KUNIT_EXPECT_EQ(test, dmabuf->size, 2 * PAGE_SIZE);

	KUNIT_EXPECT_NE(test, dma_buf_vmap(dmabuf, &map), 0);
	KUNIT_EXPECT_EQ(test, dma_buf_begin_cpu_access(dmabuf, DMA_FROM_DEVICE),
			-EPERM);
	KUNIT_EXPECT_EQ(test, dma_buf_end_cpu_access(dmabuf, DMA_TO_DEVICE),
			-EPERM);

	/* the last fput of a kthread is deferred: wait for the release */
	dma_buf_put(dmabuf);
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, ctx->tb.pages_out, 0L);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_LIVE_BUFFERS), 0);
}

static void dmabuf_attachment_maps_its_own_table(struct kunit *test)
{
	struct test_ctx *ctx = test->priv;
	struct dma_buf_attachment *att;
	struct hypheap_buffer *buf;
	struct scatterlist *a, *b;
	struct dma_buf *dmabuf;
	struct platform_device *pdev;
	struct sg_table *sgt;
	struct device *dev;
	unsigned int i, off;

	pdev = platform_device_register_simple("hypheap-kunit", -1, NULL, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pdev);
	dev = &pdev->dev;
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64)),
			0);

	buf = hypheap_buffer_alloc(ctx->heap, 3 * PAGE_SIZE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	dmabuf = hypheap_buffer_export(buf, O_RDWR);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);

	att = dma_buf_attach(dmabuf, dev);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, att);
	sgt = dma_buf_map_attachment(att, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_PTR_NE(test, sgt, &buf->mem.sgt);
	/*
	 * What the importer needs, read only from the DMA side of the table
	 * (with CONFIG_DMABUF_DEBUG the page links are scrambled): the DMA
	 * segments, in order, are exactly the buffer's memory, however
	 * dma-direct (or an IOMMU) chose to merge it.
	 */
	b = buf->mem.sgt.sgl;
	off = 0;
	for_each_sgtable_dma_sg(sgt, a, i) {
		phys_addr_t pa = dma_to_phys(dev, sg_dma_address(a));
		unsigned int left = sg_dma_len(a), step;

		while (left && b) {
			KUNIT_EXPECT_EQ(test, pa, sg_phys(b) + off);
			step = min(left, b->length - off);
			pa += step;
			left -= step;
			off += step;
			if (off == b->length) {
				b = sg_next(b);
				off = 0;
			}
		}
		KUNIT_EXPECT_EQ_MSG(test, left, 0U, "DMA past the buffer");
	}
	KUNIT_EXPECT_NULL_MSG(test, b, "buffer memory the device cannot see");
	dma_buf_unmap_attachment(att, sgt, DMA_BIDIRECTIONAL);
	dma_buf_detach(dmabuf, att);
	dma_buf_put(dmabuf);
	flush_delayed_fput();
	platform_device_unregister(pdev);
	KUNIT_EXPECT_EQ(test, ctx->tb.pages_out, 0L);
}

/*
 * The worker itself, with short delays: each failed pass doubles the
 * delay up to the cap, and the pass that empties the quarantine resets it.
 */
static void retry_worker_backs_off_and_resets(struct kunit *test)
{
	static const unsigned long want[] = { 2, 4, 8, 8, 8 };
	struct test_ctx *ctx = test->priv;
	struct hypheap_buffer *buf;
	unsigned long deadline;
	unsigned int i;

	ctx->heap->retry_min = 2;
	ctx->heap->retry_max = 8;
	ctx->heap->retry_delay = 2;
	buf = hypheap_buffer_alloc(ctx->heap, 2 * PAGE_SIZE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	/* the release, then four passes of the worker fail; the fifth works */
	ctx->tb.unrestrict_fails = 5;
	hypheap_buffer_release(buf);

	deadline = jiffies + 10 * HZ;
	while (hstat(ctx, HYPHEAP_STAT_PAGES_QUARANTINED) &&
	       time_before(jiffies, deadline))
		msleep(20);
	KUNIT_ASSERT_EQ(test, hstat(ctx, HYPHEAP_STAT_PAGES_QUARANTINED), 0);
	flush_delayed_work(&ctx->heap->retry_work);

	KUNIT_ASSERT_EQ(test, ctx->tb.nr_delays, (unsigned int)ARRAY_SIZE(want));
	for (i = 0; i < ARRAY_SIZE(want); i++)
		KUNIT_EXPECT_EQ_MSG(test, ctx->tb.delays[i], want[i], "pass %u",
				    i + 1);
	KUNIT_EXPECT_EQ(test, ctx->heap->retry_delay, 2UL);
	KUNIT_EXPECT_EQ(test, ctx->tb.pages_out, 0L);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_FAIL_EBUSY), 5);
}

/*
 * No process may lend away more than the heap's limit; quarantined
 * buffers keep their bytes charged, so the quarantine is bounded too.
 */
static void allocation_stops_at_the_limit(struct kunit *test)
{
	struct test_ctx *ctx = test->priv;
	struct hypheap_buffer *a, *b;

	KUNIT_EXPECT_EQ(test, ctx->heap->limit, hypheap_default_limit());
	KUNIT_EXPECT_EQ(test, hypheap_default_limit(),
			(u64)totalram_pages() * PAGE_SIZE / 4);
	ctx->heap->limit = 8 * PAGE_SIZE;

	a = hypheap_buffer_alloc(ctx->heap, 5 * PAGE_SIZE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, a);
	KUNIT_EXPECT_EQ(test, PTR_ERR(hypheap_buffer_alloc(ctx->heap,
							   4 * PAGE_SIZE)),
			-ENOMEM);
	/* refused before the backend was asked for anything */
	KUNIT_EXPECT_EQ(test, ctx->tb.pages_out, 5L);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_FAIL_ENOMEM), 1);
	b = hypheap_buffer_alloc(ctx->heap, 3 * PAGE_SIZE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, b);
	hypheap_buffer_release(b);

	/* a quarantined buffer still counts */
	ctx->tb.unrestrict_fails = 1;
	hypheap_buffer_release(a);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->heap->charged),
			(s64)(5 * PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, PTR_ERR(hypheap_buffer_alloc(ctx->heap,
							   4 * PAGE_SIZE)),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, hypheap_heap_retry_quarantine(ctx->heap), 0U);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->heap->charged), 0);
	a = hypheap_buffer_alloc(ctx->heap, 8 * PAGE_SIZE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, a);
	hypheap_buffer_release(a);
}

/*
 * The retry worker takes the quarantine off the list while it works on it:
 * a heap destroyed meanwhile must wait for it and find it busy, or the
 * worker puts the buffer back into freed memory.
 */
static void destroy_waits_for_a_running_retry(struct kunit *test)
{
	struct test_ctx *ctx = test->priv;
	struct hypheap_buffer *buf;

	init_completion(&ctx->tb.entered);
	init_completion(&ctx->tb.go);
	buf = hypheap_buffer_alloc(ctx->heap, PAGE_SIZE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	ctx->heap->retry_delay = 1;
	ctx->tb.gate = true;
	/* the release fails, then the worker's retry */
	ctx->tb.unrestrict_fails = 2;
	hypheap_buffer_release(buf);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&ctx->tb.entered,
							  5 * HZ), 0UL);

	if (hypheap_heap_destroy(ctx->heap) == 0) {
		ctx->heap = NULL;
		KUNIT_FAIL(test, "heap destroyed under a running retry");
		return;
	}
	ctx->tb.gate = false;
	complete(&ctx->tb.go);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_PAGES_QUARANTINED), 1);
}

/* Attach @dev to a fresh buffer: what the importer gets, then clean up. */
static int try_import(struct kunit *test, struct device *dev)
{
	struct test_ctx *ctx = test->priv;
	struct dma_buf_attachment *att;
	struct hypheap_buffer *buf;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	int ret = 0;

	buf = hypheap_buffer_alloc(ctx->heap, 4 * PAGE_SIZE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	dmabuf = hypheap_buffer_export(buf, O_RDWR);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);

	att = dma_buf_attach(dmabuf, dev);
	if (IS_ERR(att)) {
		ret = PTR_ERR(att);
		goto out;
	}
	sgt = dma_buf_map_attachment(att, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt))
		ret = PTR_ERR(sgt);
	else
		dma_buf_unmap_attachment(att, sgt, DMA_BIDIRECTIONAL);
	dma_buf_detach(dmabuf, att);
out:
	dma_buf_put(dmabuf);
	flush_delayed_fput();
	return ret;
}

/*
 * swiotlb would copy the pages with the CPU (6.1 bounces on map whatever
 * DMA_ATTR_SKIP_CPU_SYNC says): a device whose DMA cannot reach the pages,
 * or whose mappings are forced through swiotlb, is refused at attach.
 */
static void dmabuf_refuses_importer_that_would_bounce(struct kunit *test)
{
	struct test_ctx *ctx = test->priv;
	struct platform_device *pdev;
	struct device *dev;
	s64 refused = hstat(ctx, HYPHEAP_STAT_FAIL_EOPNOTSUPP);
	u64 *saved_mask;
#ifdef CONFIG_SWIOTLB
	static struct io_tlb_mem forced = { .force_bounce = true };
	struct io_tlb_mem *saved;
#endif

	pdev = platform_device_register_simple("hypheap-kunit-bounce", -1,
					       NULL, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pdev);
	dev = &pdev->dev;
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64)),
			0);
	KUNIT_EXPECT_EQ(test, try_import(test, dev), 0);

	/* a bus limit (DT dma-ranges) below every page of RAM */
	dev->bus_dma_limit = 1;
	KUNIT_EXPECT_EQ(test, try_import(test, dev), -EOPNOTSUPP);
	dev->bus_dma_limit = 0;
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_FAIL_EOPNOTSUPP),
			refused + 1);

	/* no DMA mask at all (found in review: dma_capable() reads it blindly) */
	saved_mask = dev->dma_mask;
	dev->dma_mask = NULL;
	KUNIT_EXPECT_EQ(test, try_import(test, dev), -EOPNOTSUPP);
	dev->dma_mask = saved_mask;
	refused++;

#ifdef CONFIG_SWIOTLB
	/* what swiotlb=force gives every device */
	saved = dev->dma_io_tlb_mem;
	dev->dma_io_tlb_mem = &forced;
	KUNIT_EXPECT_EQ(test, try_import(test, dev), -EOPNOTSUPP);
	dev->dma_io_tlb_mem = saved;
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_FAIL_EOPNOTSUPP),
			refused + 2);
#endif
	platform_device_unregister(pdev);
	KUNIT_EXPECT_EQ(test, ctx->tb.pages_out, 0L);
}

/*
 * A page-less far above RAM: no struct page there (the model of a
 * carve-out the kernel never mapped), and nothing ever touches it.
 */
static phys_addr_t pageless_base(struct kunit *test)
{
	phys_addr_t pa = (phys_addr_t)1 << 40;

	KUNIT_ASSERT_FALSE(test, pfn_valid(PHYS_PFN(pa)));
	KUNIT_ASSERT_FALSE(test, pfn_valid(PHYS_PFN(pa + 64 * PAGE_SIZE)));
	return pa;
}

/*
 * A backend that hands physical ranges without struct page: the core
 * allocates, exports and maps them for an importer (dma_map_resource(),
 * one DMA segment per range, exactly the ranges), lists them in its books
 * as ranges, and releases them, never asking for a page.
 */
static void pageless_buffer_maps_by_resource(struct kunit *test)
{
	struct test_ctx *ctx = test->priv;
	struct dma_buf_attachment *att;
	struct hypheap_range_iter it;
	struct platform_device *pdev;
	struct hypheap_buffer *buf;
	struct hypheap_range r[4];
	struct dma_buf *dmabuf;
	struct scatterlist *sg;
	struct sg_table *sgt;
	struct device *dev;
	phys_addr_t base;
	unsigned int i, n;

	base = pageless_base(test);
	ctx->tb.pageless = true;
	ctx->tb.pageless_base = base;
	pdev = platform_device_register_simple("hypheap-kunit", -1, NULL, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pdev);
	dev = &pdev->dev;
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64)),
			0);

	buf = hypheap_buffer_alloc(ctx->heap, 6 * PAGE_SIZE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	KUNIT_EXPECT_TRUE(test, buf->mem.pageless);
	hypheap_range_iter_init_mem(&it, &buf->mem);
	n = hypheap_range_iter_fill(&it, r, ARRAY_SIZE(r));
	KUNIT_ASSERT_EQ(test, n, 3U);
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_EQ(test, r[i].base, base + i * 4 * PAGE_SIZE);
		KUNIT_EXPECT_EQ(test, r[i].size, 2 * PAGE_SIZE);
	}

	dmabuf = hypheap_buffer_export(buf, O_RDWR);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	att = dma_buf_attach(dmabuf, dev);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, att);
	/* twice: an unmap must leave the copy ready to map again */
	for (n = 0; n < 2; n++) {
		sgt = dma_buf_map_attachment(att, DMA_BIDIRECTIONAL);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
		KUNIT_EXPECT_EQ(test, sgt->nents, 3U);
		for_each_sgtable_dma_sg(sgt, sg, i) {
			KUNIT_EXPECT_EQ(test, dma_to_phys(dev, sg_dma_address(sg)),
					base + i * 4 * PAGE_SIZE);
			KUNIT_EXPECT_EQ(test, sg_dma_len(sg), 2 * PAGE_SIZE);
		}
		dma_buf_unmap_attachment(att, sgt, DMA_BIDIRECTIONAL);
	}
	/* out of the device's reach: refused as page-backed memory is */
	dev->bus_dma_limit = base - 1;
	sgt = dma_buf_map_attachment(att, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(sgt), -EOPNOTSUPP);
	dev->bus_dma_limit = 0;
	dma_buf_detach(dmabuf, att);
	dma_buf_put(dmabuf);
	flush_delayed_fput();
	platform_device_unregister(pdev);
	KUNIT_EXPECT_EQ(test, ctx->tb.pages_out, 0L);
	KUNIT_EXPECT_EQ(test, ctx->tb.restricted, 0L);
}

/*
 * A table with pages in some entries and none in others would send the
 * core down the wrong path for part of it: the allocation is refused and
 * the memory handed back.
 */
static void mixed_table_is_refused(struct kunit *test)
{
	struct test_ctx *ctx = test->priv;
	struct hypheap_buffer *buf;

	ctx->tb.pageless_base = pageless_base(test);
	ctx->tb.mixed = true;
	buf = hypheap_buffer_alloc(ctx->heap, 3 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(buf), -EINVAL);
	KUNIT_EXPECT_EQ(test, ctx->tb.pages_out, 0L);
	KUNIT_EXPECT_EQ(test, ctx->tb.restricted, 0L);
	KUNIT_EXPECT_EQ(test, hstat(ctx, HYPHEAP_STAT_LIVE_BUFFERS), 0);
}

/*
 * The name picks the use case; hypheap,use-case gives one to a heap with
 * another name, and may not contradict a use case's name.
 */
static void use_case_from_name_or_property(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, hypheap_heap_use_case("protected,secure-video", NULL),
			HYPHEAP_USE_SECURE_VIDEO);
	KUNIT_EXPECT_EQ(test, hypheap_heap_use_case("protected,bench-carveout", NULL),
			HYPHEAP_USE_NONE);
	KUNIT_EXPECT_EQ(test, hypheap_heap_use_case("protected,bench-carveout",
						    "secure-video"),
			HYPHEAP_USE_SECURE_VIDEO);
	KUNIT_EXPECT_EQ(test, hypheap_heap_use_case("vendor,heap",
						    "secure-video-record"),
			HYPHEAP_USE_SECURE_VIDEO_RECORD);
	KUNIT_EXPECT_EQ(test, hypheap_heap_use_case("protected,trusted-ui",
						    "trusted-ui"),
			HYPHEAP_USE_TRUSTED_UI);
	KUNIT_EXPECT_EQ(test, hypheap_heap_use_case("protected,trusted-ui",
						    "secure-video"), -EINVAL);
	KUNIT_EXPECT_EQ(test, hypheap_heap_use_case("protected,bench-hyp",
						    "protected,secure-video"),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, hypheap_heap_use_case("protected,bench-hyp", ""),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, hypheap_heap_use_case("protected,bench-hyp",
						    "secure-video-"), -EINVAL);
}

static struct kunit_case hypheap_core_cases[] = {
	KUNIT_CASE(use_case_from_name_or_property),
	KUNIT_CASE(alloc_then_release_balances),
	KUNIT_CASE(zero_length_is_rejected),
	KUNIT_CASE(alloc_failure_leaks_nothing),
	KUNIT_CASE(restrict_failure_frees_pages),
	KUNIT_CASE(restrict_unrecoverable_quarantines),
	KUNIT_CASE(unrestrict_failure_quarantines_until_retry_works),
	KUNIT_CASE(backend_gone_fails_alloc_and_still_reclaims),
	KUNIT_CASE(dmabuf_refuses_cpu_access),
	KUNIT_CASE(dmabuf_attachment_maps_its_own_table),
	KUNIT_CASE(dmabuf_refuses_importer_that_would_bounce),
	KUNIT_CASE(destroy_waits_for_a_running_retry),
	KUNIT_CASE(retry_worker_backs_off_and_resets),
	KUNIT_CASE(allocation_stops_at_the_limit),
	KUNIT_CASE(pageless_buffer_maps_by_resource),
	KUNIT_CASE(mixed_table_is_refused),
	{}
};

static struct kunit_suite hypheap_core_suite = {
	.name = "hypheap-core",
	.init = core_test_init,
	.exit = core_test_exit,
	.test_cases = hypheap_core_cases,
};

kunit_test_suite(hypheap_core_suite);

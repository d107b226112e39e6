// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the registered heaps under the real hypervisor (the
 * importer's view is hypheap_importer_test.c): buffers of every size cost one
 * MEM_ASSIGN each way, in 2 MiB blocks when the allocator has them; the
 * heap served from the CMA region gives one contiguous range inside it.
 *
 * They use the heaps "protected,secure-video" and (CMA)
 * "protected,secure-video-record" that hypheap.ko registers from the DT,
 * so they fail without the hypervisor.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/dma-buf.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/of_address.h>
#include <linux/of_platform.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>

#include "hypheap_priv.h"

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
MODULE_IMPORT_NS(DMA_BUF);

#define HT_HEAP		"protected,secure-video"
#define HT_CMA_HEAP	"protected,secure-video-record"
#define HT_HOST		HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST)
#define HT_SVM		HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0)
#define HT_MAX_RANGES	64

static struct hypheap_heap *ht_find(struct kunit *test, const char *name)
{
	struct hypheap_heap *heap = hypheap_heap_find(name);

	KUNIT_ASSERT_NOT_NULL_MSG(test, heap, "no heap %s: hypheap.ko not bound to the hypervisor",
				  name);
	return heap;
}

static struct hypheap_heap *ht_heap(struct kunit *test)
{
	return ht_find(test, HT_HEAP);
}

static s64 ht_count(struct hypheap_heap *heap, enum hypheap_stat s)
{
	return hypheap_stat_read(&heap->stats, s);
}

static u64 ht_hyp(struct kunit *test, unsigned int index)
{
	u64 v = 0;

	KUNIT_EXPECT_EQ(test, hypheap_hyp_stat(index, &v, NULL), 0);
	return v;
}

/* Expect [pa, pa + len) to be owned by @owners alone, exclusively. */
static void ht_expect_owned(struct kunit *test, phys_addr_t pa, u64 len,
			    u64 owners)
{
	struct hypheap_query q = {};
	long status;

	KUNIT_ASSERT_EQ(test, hypheap_mem_query(pa, len >> PAGE_SHIFT, &q,
						&status), 0);
	KUNIT_EXPECT_EQ(test, q.owners, owners);
	KUNIT_EXPECT_EQ(test, q.state, (u64)HYPHEAP_STATE_EXCLUSIVE);
	KUNIT_EXPECT_EQ(test, q.pages, len >> PAGE_SHIFT);
}

/*
 * Every page of a live buffer is marked PageOffline(): hibernation does not
 * save such pages, /proc/kcore and makedumpfile leave them out, so nothing
 * reads a page the host has lent (it would fault).
 */
static void ht_expect_offline(struct kunit *test, struct hypheap_buffer *buf)
{
	unsigned int i, j, marked = 0, pages = 0;
	struct scatterlist *sg;

	for_each_sgtable_sg(&buf->mem.sgt, sg, i)
		for (j = 0; j < sg->length >> PAGE_SHIFT; j++, pages++)
			marked += !!PageOffline(nth_page(sg_page(sg), j));
	KUNIT_EXPECT_EQ_MSG(test, marked, pages,
			    "lent pages not marked offline");
}

static void ht_put(struct dma_buf *dmabuf)
{
	dma_buf_put(dmabuf);
	/* a kthread's last fput is deferred: make the release happen now */
	flush_delayed_fput();
}

/* ---- buffers of every size ---- */

/*
 * Allocate @size from the heap and check, against the hypervisor, that it
 * took one MEM_ASSIGN to lend and one to reclaim, that the pages come
 * largest block first, and that 2 MiB blocks did not make the hypervisor
 * split its own block mappings.
 */
/*
 * How many of @want free 2 MiB blocks the page allocator has right now:
 * taken and given straight back, so the heap's allocation that follows
 * finds them.
 */
static unsigned int ht_free_2m_blocks(unsigned int want)
{
	struct page *pages[SZ_64M / SZ_2M];
	unsigned int n, got;

	want = min_t(unsigned int, want, ARRAY_SIZE(pages));
	for (n = 0; n < want; n++) {
		pages[n] = alloc_pages(GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN,
				       get_order(SZ_2M));
		if (!pages[n])
			break;
	}
	got = n;
	while (n-- > 0)
		__free_pages(pages[n], get_order(SZ_2M));
	return got;
}

static void ht_one_buffer(struct kunit *test, size_t size)
{
	struct hypheap_heap *heap = ht_heap(test);
	s64 calls = ht_count(heap, HYPHEAP_STAT_HYPERCALLS);
	u64 hyp_calls = ht_hyp(test, HYPHEAP_STAT_ASSIGN_CALLS);
	u64 splits = ht_hyp(test, HYPHEAP_STAT_BLOCK_SPLITS);
	u64 lent = ht_hyp(test, HYPHEAP_STAT_PAGES_LENT);
	unsigned int i, blocks_2m = 0, small = 0, free_2m;
	struct hypheap_buffer *buf;
	struct dma_buf *dmabuf;
	struct scatterlist *sg;
	u64 prev = ULLONG_MAX;

	free_2m = ht_free_2m_blocks(size / SZ_2M);
	dmabuf = hypheap_alloc_dmabuf(HT_HEAP, size, O_RDWR | O_CLOEXEC);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	buf = dmabuf->priv;
	ht_expect_offline(test, buf);

	KUNIT_EXPECT_EQ(test, ht_count(heap, HYPHEAP_STAT_HYPERCALLS),
			calls + 1);
	KUNIT_EXPECT_EQ(test, ht_hyp(test, HYPHEAP_STAT_ASSIGN_CALLS),
			hyp_calls + 1);
	KUNIT_EXPECT_EQ(test, ht_hyp(test, HYPHEAP_STAT_PAGES_LENT),
			lent + (size >> PAGE_SHIFT));

	for_each_sgtable_sg(&buf->mem.sgt, sg, i) {
		KUNIT_EXPECT_LE(test, (u64)sg->length, prev);
		prev = sg->length;
		if (sg->length == SZ_2M) {
			KUNIT_EXPECT_TRUE(test, IS_ALIGNED(sg_phys(sg), SZ_2M));
			blocks_2m++;
		} else {
			small++;
		}
		ht_expect_owned(test, sg_phys(sg), sg->length, HT_SVM);
	}
	kunit_info(test, "%zu KiB: %u blocks of 2 MiB, %u smaller, %llu splits\n",
		   size / SZ_1K, blocks_2m, small,
		   ht_hyp(test, HYPHEAP_STAT_BLOCK_SPLITS) - splits);
	/* largest first: every free 2 MiB block the allocator just had */
	KUNIT_EXPECT_GE_MSG(test, blocks_2m, free_2m,
			    "%u free 2 MiB blocks a moment before", free_2m);
	/*
	 * The host's stage-2 loses each run (the secure VM's entries there are
	 * empty, and an empty entry's split is not counted). A run aligned to
	 * its size splits at most one host block per level above it: a 2 MiB
	 * run the 1 GiB block it is in, if still whole; a smaller run that and
	 * its 2 MiB block.
	 */
	KUNIT_EXPECT_LE(test, ht_hyp(test, HYPHEAP_STAT_BLOCK_SPLITS) - splits,
			(u64)blocks_2m + 2 * (u64)small);

	ht_put(dmabuf);
	KUNIT_EXPECT_EQ(test, ht_count(heap, HYPHEAP_STAT_HYPERCALLS),
			calls + 2);
	KUNIT_EXPECT_EQ(test, ht_hyp(test, HYPHEAP_STAT_ASSIGN_CALLS),
			hyp_calls + 2);
	KUNIT_EXPECT_EQ(test, ht_hyp(test, HYPHEAP_STAT_PAGES_LENT), lent);
}

static void buffer_4k(struct kunit *test)
{
	ht_one_buffer(test, SZ_4K);
}

static void buffer_3m(struct kunit *test)
{
	ht_one_buffer(test, 3 * SZ_1M);
}

static void buffer_12m(struct kunit *test)
{
	ht_one_buffer(test, 12 * SZ_1M);
}

static void buffer_64m(struct kunit *test)
{
	ht_one_buffer(test, SZ_64M);
}

/*
 * The backend hands the secure VM zeroed pages: whatever the host had in
 * them before must not reach another VM. The pages are dirtied and freed
 * just before, so the backend's allocation gets many of them back.
 */
static void backend_hands_out_zeroed_pages(struct kunit *test)
{
	static const unsigned int orders[] = { 9, 9, 4, 4, 4, 0, 0, 0, 0, 0 };
	struct hypheap_heap *heap = ht_heap(test);
	struct page *dirty[ARRAY_SIZE(orders)];
	struct hypheap_buffer buf = { .heap = heap };
	unsigned int i, j, nonzero = 0;
	struct hypheap_backend *be;
	struct scatterlist *sg;
	int ret;

	for (i = 0; i < ARRAY_SIZE(orders); i++) {
		dirty[i] = alloc_pages(GFP_KERNEL, orders[i]);
		KUNIT_ASSERT_NOT_NULL(test, dirty[i]);
		for (j = 0; j < 1U << orders[i]; j++)
			memset(page_address(nth_page(dirty[i], j)), 0xa5,
			       PAGE_SIZE);
		buf.mem.len += PAGE_SIZE << orders[i];
	}
	for (i = ARRAY_SIZE(orders); i-- > 0;)
		__free_pages(dirty[i], orders[i]);

	mutex_lock(&heap->lock);
	be = heap->backend;
	if (be)
		hypheap_backend_get(be);
	mutex_unlock(&heap->lock);
	KUNIT_ASSERT_NOT_NULL(test, be);
	buf.backend = be;
	ret = be->ops->alloc(be, &buf.mem, &heap->use);
	if (ret)
		hypheap_backend_put(be);
	KUNIT_ASSERT_EQ(test, ret, 0);

	/* not lent: the host may still read them */
	for_each_sgtable_sg(&buf.mem.sgt, sg, i)
		for (j = 0; j < sg->length >> PAGE_SHIFT; j++)
			nonzero += !!memchr_inv(page_address(nth_page(sg_page(sg), j)),
						0, PAGE_SIZE);
	KUNIT_EXPECT_EQ_MSG(test, nonzero, 0U,
			    "pages with old data among %zu KiB", buf.mem.len / SZ_1K);
	be->ops->free(be, &buf.mem);
	hypheap_backend_put(be);
}

static struct kunit_case hypheap_heap_cases[] = {
	KUNIT_CASE(buffer_4k),
	KUNIT_CASE(buffer_3m),
	KUNIT_CASE(buffer_12m),
	KUNIT_CASE(buffer_64m),
	KUNIT_CASE(backend_hands_out_zeroed_pages),
	{}
};

static struct kunit_suite hypheap_heap_suite = {
	.name = "hypheap-heap",
	.test_cases = hypheap_heap_cases,
};

/* ---- the heap served from the CMA region ---- */

/* The region of @heap's node in the DT: its first memory-region. */
static void ht_region(struct kunit *test, const char *heap, struct resource *r)
{
	struct device_node *fw, *np, *region = NULL;
	const char *name;

	fw = of_find_node_by_path("/firmware/hypheap");
	KUNIT_ASSERT_NOT_NULL(test, fw);
	for_each_available_child_of_node(fw, np) {
		if (!of_property_read_string(np, "hypheap,heap-name", &name) &&
		    !strcmp(name, heap)) {
			region = of_parse_phandle(np, "memory-region", 0);
			of_node_put(np);
			break;
		}
	}
	of_node_put(fw);
	KUNIT_ASSERT_NOT_NULL_MSG(test, region, "heap %s has no memory-region",
				  heap);
	KUNIT_ASSERT_EQ(test, of_address_to_resource(region, 0, r), 0);
	KUNIT_EXPECT_TRUE(test, of_property_read_bool(region, "reusable"));
	KUNIT_EXPECT_FALSE(test, of_property_read_bool(region, "no-map"));
	of_node_put(region);
}

/* Counters that a failed or finished allocation must leave as they were. */
struct ht_counts {
	s64 live, bytes, assigned, calls;
	u64 hyp_calls, lent, splits;
};

static void ht_counts(struct kunit *test, struct hypheap_heap *heap,
		      struct ht_counts *c)
{
	c->live = ht_count(heap, HYPHEAP_STAT_LIVE_BUFFERS);
	c->bytes = ht_count(heap, HYPHEAP_STAT_LIVE_BYTES);
	c->assigned = ht_count(heap, HYPHEAP_STAT_PAGES_ASSIGNED);
	c->calls = ht_count(heap, HYPHEAP_STAT_HYPERCALLS);
	c->hyp_calls = ht_hyp(test, HYPHEAP_STAT_ASSIGN_CALLS);
	c->lent = ht_hyp(test, HYPHEAP_STAT_PAGES_LENT);
	c->splits = ht_hyp(test, HYPHEAP_STAT_BLOCK_SPLITS);
}

static void ht_expect_counts(struct kunit *test, const struct ht_counts *a,
			     const struct ht_counts *b)
{
	KUNIT_EXPECT_EQ(test, a->live, b->live);
	KUNIT_EXPECT_EQ(test, a->bytes, b->bytes);
	KUNIT_EXPECT_EQ(test, a->assigned, b->assigned);
	KUNIT_EXPECT_EQ(test, a->calls, b->calls);
	KUNIT_EXPECT_EQ(test, a->hyp_calls, b->hyp_calls);
	KUNIT_EXPECT_EQ(test, a->lent, b->lent);
}

/* The buffer's one range; fails the test unless there is exactly one. */
static struct hypheap_range ht_one_range(struct kunit *test,
					 struct dma_buf *dmabuf)
{
	struct hypheap_buffer *buf = dmabuf->priv;
	struct scatterlist *sg = buf->mem.sgt.sgl;

	KUNIT_ASSERT_EQ(test, buf->mem.sgt.orig_nents, 1U);
	return (struct hypheap_range){ sg_phys(sg), sg->length };
}

static bool ht_inside(const struct resource *r, struct hypheap_range b)
{
	return b.base >= r->start && b.base + b.size - 1 <= r->end;
}

static void cma_buffer_is_one_lent_range_inside_the_region(struct kunit *test)
{
	struct hypheap_heap *heap = ht_find(test, HT_CMA_HEAP);
	const size_t size = 2 * SZ_2M;
	struct ht_counts before, after;
	struct hypheap_range range;
	struct dma_buf *dmabuf;
	struct resource region;

	ht_region(test, HT_CMA_HEAP, &region);
	ht_counts(test, heap, &before);

	dmabuf = hypheap_alloc_dmabuf(HT_CMA_HEAP, size, O_RDWR | O_CLOEXEC);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	range = ht_one_range(test, dmabuf);
	kunit_info(test, "buffer %pa+%#llx in %pR\n", &range.base, range.size,
		   &region);
	KUNIT_EXPECT_EQ(test, range.size, (u64)size);
	KUNIT_EXPECT_TRUE(test, ht_inside(&region, range));
	/* one MEM_ASSIGN of one range, the whole buffer the secure VM's */
	KUNIT_EXPECT_EQ(test, ht_count(heap, HYPHEAP_STAT_HYPERCALLS),
			before.calls + 1);
	KUNIT_EXPECT_EQ(test, ht_hyp(test, HYPHEAP_STAT_ASSIGN_CALLS),
			before.hyp_calls + 1);
	KUNIT_EXPECT_EQ(test, ht_hyp(test, HYPHEAP_STAT_PAGES_LENT),
			before.lent + (size >> PAGE_SHIFT));
	ht_expect_owned(test, range.base, range.size, HT_SVM);
	ht_expect_offline(test, dmabuf->priv);
	/*
	 * A chunk of whole 2 MiB blocks at a 2 MiB boundary changes owner
	 * with block mappings: the hypervisor splits none. (The region is
	 * 2 MiB aligned and CMA aligns a chunk to its size up to
	 * CONFIG_CMA_ALIGNMENT; with 8, a chunk after a smaller one may
	 * start at 1 MiB, which this expectation would report.)
	 */
	KUNIT_EXPECT_TRUE_MSG(test, IS_ALIGNED(range.base, SZ_2M),
			      "chunk at %pa is not 2 MiB aligned", &range.base);
	KUNIT_EXPECT_EQ(test, ht_hyp(test, HYPHEAP_STAT_BLOCK_SPLITS),
			before.splits);

	ht_put(dmabuf);
	ht_expect_owned(test, range.base, range.size, HT_HOST);
	KUNIT_EXPECT_EQ(test, ht_hyp(test, HYPHEAP_STAT_ASSIGN_CALLS),
			before.hyp_calls + 2);
	KUNIT_EXPECT_EQ(test, ht_hyp(test, HYPHEAP_STAT_BLOCK_SPLITS),
			before.splits);
	ht_counts(test, heap, &after);
	after.calls -= 2;
	after.hyp_calls -= 2;
	ht_expect_counts(test, &after, &before);
}

/* Fails with -ENOMEM having lent nothing; @before is the baseline. */
static void ht_expect_enomem(struct kunit *test, struct hypheap_heap *heap,
			     size_t size, const struct ht_counts *before)
{
	s64 enomem = ht_count(heap, HYPHEAP_STAT_FAIL_ENOMEM);
	struct ht_counts after;
	struct dma_buf *dmabuf;

	dmabuf = hypheap_alloc_dmabuf(HT_CMA_HEAP, size, O_RDWR | O_CLOEXEC);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(dmabuf), -ENOMEM);
	if (!IS_ERR(dmabuf))
		ht_put(dmabuf);
	KUNIT_EXPECT_EQ(test, ht_count(heap, HYPHEAP_STAT_FAIL_ENOMEM),
			enomem + 1);
	ht_counts(test, heap, &after);
	ht_expect_counts(test, &after, before);
}

static void cma_exhaustion_fails_with_enomem_lending_nothing(struct kunit *test)
{
	struct hypheap_heap *heap = ht_find(test, HT_CMA_HEAP);
	struct ht_counts before, full;
	struct hypheap_range range;
	struct dma_buf *dmabuf;
	struct resource region;
	size_t big;

	ht_region(test, HT_CMA_HEAP, &region);
	ht_counts(test, heap, &before);
	KUNIT_ASSERT_EQ_MSG(test, before.live, 0LL,
			    "the region must be empty for this test");

	/* more than the whole region: refused before anything is taken */
	ht_expect_enomem(test, heap, resource_size(&region) + PAGE_SIZE,
			 &before);

	/*
	 * Leave 3 MiB free, then ask for 4 MiB: CMA has no room and
	 * dma-direct's fallback to the page allocator (which can serve
	 * 4 MiB) must be refused, as its memory is not in the region.
	 */
	big = resource_size(&region) - 3 * SZ_1M;
	dmabuf = hypheap_alloc_dmabuf(HT_CMA_HEAP, big, O_RDWR | O_CLOEXEC);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	range = ht_one_range(test, dmabuf);
	KUNIT_EXPECT_TRUE(test, ht_inside(&region, range));
	ht_expect_owned(test, range.base, range.size, HT_SVM);
	ht_counts(test, heap, &full);
	ht_expect_enomem(test, heap, 4 * SZ_1M, &full);
	ht_expect_enomem(test, heap, SZ_64M, &full);

	ht_put(dmabuf);
	ht_expect_owned(test, range.base, range.size, HT_HOST);
	KUNIT_EXPECT_EQ(test, ht_count(heap, HYPHEAP_STAT_PAGES_QUARANTINED),
			0);
	ht_counts(test, heap, &full);
	full.calls -= 2;
	full.hyp_calls -= 2;
	ht_expect_counts(test, &full, &before);
}

/*
 * Each binding makes its own CMA backend on the same region: a buffer of
 * the old one goes back to the region when released after a rebind, and
 * the new one still allocates from it afterwards.
 */
static void cma_buffer_outlives_unbind_and_rebind(struct kunit *test)
{
	struct hypheap_heap *heap = ht_find(test, HT_CMA_HEAP);
	struct hypheap_range old_range, new_range;
	struct platform_device *pdev;
	struct dma_buf *old, *new;
	struct ht_counts before;
	struct device_node *fw;
	struct resource region;

	ht_region(test, HT_CMA_HEAP, &region);
	fw = of_find_node_by_path("/firmware/hypheap");
	KUNIT_ASSERT_NOT_NULL(test, fw);
	pdev = of_find_device_by_node(fw);
	of_node_put(fw);
	KUNIT_ASSERT_NOT_NULL(test, pdev);
	ht_counts(test, heap, &before);

	old = hypheap_alloc_dmabuf(HT_CMA_HEAP, SZ_2M, O_RDWR | O_CLOEXEC);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, old);
	old_range = ht_one_range(test, old);

	device_release_driver(&pdev->dev);
	new = hypheap_alloc_dmabuf(HT_CMA_HEAP, SZ_2M, O_RDWR | O_CLOEXEC);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(new), -ENODEV);
	KUNIT_EXPECT_EQ(test, device_attach(&pdev->dev), 1);
	put_device(&pdev->dev);
	ht_expect_owned(test, old_range.base, old_range.size, HT_SVM);

	ht_put(old);
	ht_expect_owned(test, old_range.base, old_range.size, HT_HOST);
	new = hypheap_alloc_dmabuf(HT_CMA_HEAP, SZ_2M, O_RDWR | O_CLOEXEC);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, new);
	new_range = ht_one_range(test, new);
	KUNIT_EXPECT_TRUE(test, ht_inside(&region, new_range));
	ht_expect_owned(test, new_range.base, new_range.size, HT_SVM);
	ht_put(new);
	ht_expect_owned(test, new_range.base, new_range.size, HT_HOST);
	KUNIT_EXPECT_EQ(test, ht_count(heap, HYPHEAP_STAT_LIVE_BUFFERS),
			before.live);
	KUNIT_EXPECT_EQ(test, ht_hyp(test, HYPHEAP_STAT_PAGES_LENT),
			before.lent);
}

static struct kunit_case hypheap_cma_cases[] = {
	KUNIT_CASE(cma_buffer_is_one_lent_range_inside_the_region),
	KUNIT_CASE(cma_exhaustion_fails_with_enomem_lending_nothing),
	KUNIT_CASE(cma_buffer_outlives_unbind_and_rebind),
	{}
};

static struct kunit_suite hypheap_cma_suite = {
	.name = "hypheap-cma",
	.test_cases = hypheap_cma_cases,
};

/* ---- what the probe refuses, and what it leaves out (docs/dt-binding.md) ---- */

/* hypheap.bench_heaps=hyp in the kunit scenario: a heap whose use case is a property. */
#define HT_BENCH_HEAP	"protected,bench-hyp"

/* The child of /firmware/hypheap that makes heap @heap. */
static struct device_node *ht_heap_node(struct kunit *test, const char *heap)
{
	struct device_node *fw, *np, *found = NULL;
	const char *name;

	fw = of_find_node_by_path("/firmware/hypheap");
	KUNIT_ASSERT_NOT_NULL(test, fw);
	for_each_available_child_of_node(fw, np) {
		if (!of_property_read_string(np, "hypheap,heap-name", &name) &&
		    !strcmp(name, heap)) {
			found = np;
			break;
		}
	}
	of_node_put(fw);
	KUNIT_ASSERT_NOT_NULL_MSG(test, found, "no DT node for heap %s", heap);
	return found;
}

static struct platform_device *ht_hypheap_pdev(struct kunit *test)
{
	struct device_node *fw = of_find_node_by_path("/firmware/hypheap");
	struct platform_device *pdev;

	KUNIT_ASSERT_NOT_NULL(test, fw);
	pdev = of_find_device_by_node(fw);
	of_node_put(fw);
	KUNIT_ASSERT_NOT_NULL(test, pdev);
	return pdev;
}

/* 0 when @heap hands out a 4 KiB buffer, else the error. */
static int ht_alloc_4k(const char *heap)
{
	struct dma_buf *dmabuf = hypheap_alloc_dmabuf(heap, SZ_4K,
						       O_RDWR | O_CLOEXEC);

	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	dma_buf_put(dmabuf);
	return 0;
}

/*
 * Probe again with @np's hypheap,use-case made @len bytes of @value (a
 * property added when the node has none), then as it was. Returns
 * device_attach()'s answer for the changed DT; @heap_err and @bench_err get
 * what a 4 KiB allocation from HT_HEAP and HT_BENCH_HEAP then returns.
 * The DT has no OF_DYNAMIC here: the value is swapped in place and an
 * added property, once removed, stays on the node's deadprops (leaked).
 */
static int ht_probe_with_use_case(struct kunit *test, struct device_node *np,
				  const char *value, int len, int *heap_err,
				  int *bench_err)
{
	struct platform_device *pdev = ht_hypheap_pdev(test);
	struct property *prop = of_find_property(np, "hypheap,use-case", NULL);
	struct property *added = NULL;
	void *old_value = NULL;
	int old_len = 0, attached;

	device_release_driver(&pdev->dev);
	if (prop) {
		old_value = prop->value;
		old_len = prop->length;
		prop->value = (void *)value;
		prop->length = len;
	} else {
		added = kzalloc(sizeof(*added), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, added);
		added->name = "hypheap,use-case";
		added->value = (void *)value;
		added->length = len;
		KUNIT_EXPECT_EQ(test, of_add_property(np, added), 0);
	}
	attached = device_attach(&pdev->dev);
	*heap_err = ht_alloc_4k(HT_HEAP);
	*bench_err = ht_alloc_4k(HT_BENCH_HEAP);

	device_release_driver(&pdev->dev);
	if (prop) {
		prop->value = old_value;
		prop->length = old_len;
	} else {
		KUNIT_EXPECT_EQ(test, of_remove_property(np, added), 0);
	}
	KUNIT_EXPECT_EQ(test, device_attach(&pdev->dev), 1);
	KUNIT_EXPECT_EQ(test, ht_alloc_4k(HT_HEAP), 0);
	KUNIT_EXPECT_EQ(test, ht_alloc_4k(HT_BENCH_HEAP), 0);
	put_device(&pdev->dev);
	return attached;
}

/*
 * A production heap's hypheap,use-case that is not a readable string, empty
 * (-ENODATA) or without its NUL (-EILSEQ), fails the probe: it must not
 * fall back to the use case of the name as if the property were absent.
 */
static void probe_refuses_unreadable_use_case(struct kunit *test)
{
	static const char unterminated[] = "secure-video";
	struct device_node *np = ht_heap_node(test, HT_HEAP);
	int heap_err, bench_err;

	KUNIT_EXPECT_NE(test, ht_probe_with_use_case(test, np, "", 0,
						     &heap_err, &bench_err), 1);
	KUNIT_EXPECT_EQ(test, heap_err, -ENODEV);
	KUNIT_EXPECT_NE(test, ht_probe_with_use_case(test, np, unterminated,
						     strlen(unterminated),
						     &heap_err, &bench_err), 1);
	KUNIT_EXPECT_EQ(test, heap_err, -ENODEV);
	of_node_put(np);
}

/*
 * A heap keeps the use case it was first bound with: binding again with
 * another leaves it out (its allocations fail), rather than serve the old
 * one under the new property. The production heaps still bind.
 */
static void rebind_refuses_another_use_case(struct kunit *test)
{
	static const char other[] = "trusted-ui";
	struct device_node *np = ht_heap_node(test, HT_BENCH_HEAP);
	int heap_err, bench_err;

	KUNIT_EXPECT_EQ(test, ht_alloc_4k(HT_BENCH_HEAP), 0);
	KUNIT_EXPECT_EQ(test, ht_probe_with_use_case(test, np, other,
						     sizeof(other), &heap_err,
						     &bench_err), 1);
	KUNIT_EXPECT_EQ(test, heap_err, 0);
	KUNIT_EXPECT_EQ(test, bench_err, -ENODEV);
	of_node_put(np);
}

/*
 * A benchmark heap the driver refuses is left out alone: the production
 * heaps bind and allocate all the same.
 */
static void refused_bench_heap_leaves_the_others_bound(struct kunit *test)
{
	static const char bad[] = "no-such-use";
	struct device_node *np = ht_heap_node(test, HT_BENCH_HEAP);
	int heap_err, bench_err;

	KUNIT_EXPECT_EQ(test, ht_probe_with_use_case(test, np, bad, sizeof(bad),
						     &heap_err, &bench_err), 1);
	KUNIT_EXPECT_EQ(test, heap_err, 0);
	KUNIT_EXPECT_EQ(test, ht_alloc_4k(HT_CMA_HEAP), 0);
	KUNIT_EXPECT_EQ(test, bench_err, -ENODEV);
	of_node_put(np);
}

static struct kunit_case hypheap_probe_cases[] = {
	KUNIT_CASE(probe_refuses_unreadable_use_case),
	KUNIT_CASE(rebind_refuses_another_use_case),
	KUNIT_CASE(refused_bench_heap_leaves_the_others_bound),
	{}
};

static struct kunit_suite hypheap_probe_suite = {
	.name = "hypheap-probe",
	.test_cases = hypheap_probe_cases,
};

kunit_test_suites(&hypheap_heap_suite, &hypheap_cma_suite, &hypheap_probe_suite);

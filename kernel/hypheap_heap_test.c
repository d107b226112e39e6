// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the registered heaps under the real hypervisor: a device
 * driver importing a protected buffer sees exactly the memory the
 * hypervisor says the secure VM owns, and buffers of every size cost one
 * MEM_ASSIGN each way, in 2 MiB blocks when the allocator has them.
 *
 * They use the heap "protected,secure-video" that hypheap.ko registers
 * from the DT, so they fail without the hypervisor.
 */

#include <kunit/test.h>
#include <linux/dma-buf.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>

#include "hypheap_priv.h"

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
MODULE_IMPORT_NS(DMA_BUF);

#define HT_HEAP		"protected,secure-video"
#define HT_HOST		HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST)
#define HT_SVM		HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0)
#define HT_MAX_RANGES	64

static struct hypheap_heap *ht_heap(struct kunit *test)
{
	struct hypheap_heap *heap = hypheap_heap_find(HT_HEAP);

	KUNIT_ASSERT_NOT_NULL_MSG(test, heap, "no heap " HT_HEAP
				  ": hypheap.ko not bound to the hypervisor");
	return heap;
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

static void ht_put(struct dma_buf *dmabuf)
{
	dma_buf_put(dmabuf);
	/* a kthread's last fput is deferred: make the release happen now */
	flush_delayed_fput();
}

/* ---- importer ---- */

static void importer_sees_only_secure_vm_memory(struct kunit *test)
{
	struct hypheap_heap *heap = ht_heap(test);
	s64 live = ht_count(heap, HYPHEAP_STAT_LIVE_BUFFERS);
	s64 bytes = ht_count(heap, HYPHEAP_STAT_LIVE_BYTES);
	s64 assigned = ht_count(heap, HYPHEAP_STAT_PAGES_ASSIGNED);
	u64 lent = ht_hyp(test, HYPHEAP_STAT_PAGES_LENT);
	struct hypheap_range ranges[HT_MAX_RANGES];
	const size_t size = SZ_2M + SZ_64K + 3 * PAGE_SIZE;
	struct dma_buf_attachment *att;
	struct platform_device *pdev;
	unsigned int i, n = 0;
	struct dma_buf *dmabuf;
	struct scatterlist *sg;
	struct sg_table *sgt;
	struct device *dev;
	u64 total = 0;

	pdev = platform_device_register_simple("hypheap-importer", -1, NULL, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pdev);
	dev = &pdev->dev;
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64)),
			0);

	dmabuf = hypheap_alloc_dmabuf(HT_HEAP, size, O_RDWR | O_CLOEXEC);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	KUNIT_EXPECT_EQ(test, ht_count(heap, HYPHEAP_STAT_LIVE_BUFFERS),
			live + 1);
	KUNIT_EXPECT_EQ(test, ht_hyp(test, HYPHEAP_STAT_PAGES_LENT),
			lent + (size >> PAGE_SHIFT));

	att = dma_buf_attach(dmabuf, dev);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, att);
	sgt = dma_buf_map_attachment(att, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);

	/* only the DMA side, as an importer may: each segment is the VM's */
	for_each_sgtable_dma_sg(sgt, sg, i) {
		phys_addr_t pa = dma_to_phys(dev, sg_dma_address(sg));
		u64 len = sg_dma_len(sg);

		KUNIT_EXPECT_TRUE(test, PAGE_ALIGNED(pa) && PAGE_ALIGNED(len));
		ht_expect_owned(test, pa, len, HT_SVM);
		if (n < HT_MAX_RANGES)
			ranges[n++] = (struct hypheap_range){ pa, len };
		total += len;
	}
	KUNIT_EXPECT_EQ(test, total, (u64)size);
	KUNIT_EXPECT_LE(test, i, (unsigned int)HT_MAX_RANGES);

	dma_buf_unmap_attachment(att, sgt, DMA_BIDIRECTIONAL);
	dma_buf_detach(dmabuf, att);
	ht_put(dmabuf);
	platform_device_unregister(pdev);

	for (i = 0; i < n; i++)
		ht_expect_owned(test, ranges[i].base, ranges[i].size, HT_HOST);
	KUNIT_EXPECT_EQ(test, ht_count(heap, HYPHEAP_STAT_LIVE_BUFFERS), live);
	KUNIT_EXPECT_EQ(test, ht_count(heap, HYPHEAP_STAT_LIVE_BYTES), bytes);
	KUNIT_EXPECT_EQ(test, ht_count(heap, HYPHEAP_STAT_PAGES_ASSIGNED),
			assigned);
	KUNIT_EXPECT_EQ(test, ht_count(heap, HYPHEAP_STAT_PAGES_QUARANTINED),
			0);
	KUNIT_EXPECT_EQ(test, ht_hyp(test, HYPHEAP_STAT_PAGES_LENT), lent);
}

static struct kunit_case hypheap_importer_cases[] = {
	KUNIT_CASE(importer_sees_only_secure_vm_memory),
	{}
};

static struct kunit_suite hypheap_importer_suite = {
	.name = "hypheap-importer",
	.test_cases = hypheap_importer_cases,
};

/* ---- buffers of every size ---- */

/*
 * Allocate @size from the heap and check, against the hypervisor, that it
 * took one MEM_ASSIGN to lend and one to reclaim, that the pages come
 * largest block first, and that 2 MiB blocks did not make the hypervisor
 * split its own block mappings.
 */
static void ht_one_buffer(struct kunit *test, size_t size)
{
	struct hypheap_heap *heap = ht_heap(test);
	s64 calls = ht_count(heap, HYPHEAP_STAT_HYPERCALLS);
	u64 hyp_calls = ht_hyp(test, HYPHEAP_STAT_ASSIGN_CALLS);
	u64 splits = ht_hyp(test, HYPHEAP_STAT_BLOCK_SPLITS);
	u64 lent = ht_hyp(test, HYPHEAP_STAT_PAGES_LENT);
	unsigned int i, blocks_2m = 0, small = 0;
	struct hypheap_buffer *buf;
	struct dma_buf *dmabuf;
	struct scatterlist *sg;
	u64 prev = ULLONG_MAX;

	dmabuf = hypheap_alloc_dmabuf(HT_HEAP, size, O_RDWR | O_CLOEXEC);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	buf = dmabuf->priv;

	KUNIT_EXPECT_EQ(test, ht_count(heap, HYPHEAP_STAT_HYPERCALLS),
			calls + 1);
	KUNIT_EXPECT_EQ(test, ht_hyp(test, HYPHEAP_STAT_ASSIGN_CALLS),
			hyp_calls + 1);
	KUNIT_EXPECT_EQ(test, ht_hyp(test, HYPHEAP_STAT_PAGES_LENT),
			lent + (size >> PAGE_SHIFT));

	for_each_sgtable_sg(&buf->sgt, sg, i) {
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
	/* a fresh guest has free 2 MiB blocks for every whole 2 MiB */
	KUNIT_EXPECT_EQ(test, blocks_2m, (unsigned int)(size / SZ_2M));
	/* lending whole 2 MiB blocks splits nothing; each smaller run may */
	KUNIT_EXPECT_LE(test, ht_hyp(test, HYPHEAP_STAT_BLOCK_SPLITS) - splits,
			(u64)small);

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

static struct kunit_case hypheap_heap_cases[] = {
	KUNIT_CASE(buffer_4k),
	KUNIT_CASE(buffer_3m),
	KUNIT_CASE(buffer_12m),
	KUNIT_CASE(buffer_64m),
	{}
};

static struct kunit_suite hypheap_heap_suite = {
	.name = "hypheap-heap",
	.test_cases = hypheap_heap_cases,
};

kunit_test_suites(&hypheap_importer_suite, &hypheap_heap_suite);

// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: a device driver's view of the registered heap
 * "protected,secure-video", whatever backend serves it (hypheap,backend):
 * the DMA side of an imported buffer is exactly memory the hypervisor says
 * the secure VM owns, and a second hypheap device does not take the heaps
 * over. hypheap_importer_kunit.ko: scenario kunit (backend hyp) and
 * heap-ffa-lend (backend ffa-lend). Fails without the hypervisor.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/dma-buf.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/string.h>

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

	KUNIT_ASSERT_NOT_NULL_MSG(test, heap, "no heap %s: hypheap.ko not bound to the hypervisor",
				  HT_HEAP);
	return heap;
}

static bool ht_backend_is(struct hypheap_heap *heap, const char *name)
{
	bool is;

	mutex_lock(&heap->lock);
	is = heap->backend && !strcmp(heap->backend->name, name);
	mutex_unlock(&heap->lock);
	return is;
}

/* The ffa-lend block of a buffer alone in its use case (PROTMEM_CONFIG). */
static u64 ht_ffa_block(u64 len)
{
	return max_t(u64, HYPHEAP_PROTMEM_MIN_SIZE,
		     ALIGN(len, HYPHEAP_PROTMEM_ALIGN));
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

/* Expect [pa, pa + len) to be owned by @owners alone, in @state. */
static void ht_expect_owned(struct kunit *test, phys_addr_t pa, u64 len,
			    u64 owners, u64 state)
{
	struct hypheap_query q = {};
	long status;

	KUNIT_ASSERT_EQ(test, hypheap_mem_query(pa, len >> PAGE_SHIFT, &q,
						&status), 0);
	KUNIT_EXPECT_EQ(test, q.owners, owners);
	KUNIT_EXPECT_EQ(test, q.state, state);
	KUNIT_EXPECT_EQ(test, q.pages, len >> PAGE_SHIFT);
}

static void ht_put(struct dma_buf *dmabuf)
{
	dma_buf_put(dmabuf);
	/* a kthread's last fput is deferred: make the release happen now */
	flush_delayed_fput();
}

/*
 * A device driver importing a protected buffer sees exactly the memory the
 * hypervisor says the secure VM owns, and nothing of it once it is freed.
 * Under the ffa-lend backend, by design, the hypervisor lends the buffer's
 * whole block (FF-A: its pages say so in MEM_QUERY), and takes it back
 * when the buffer, its only one, goes. Under the carveout backend, by
 * design, nothing is lent: the buffer is a page-less range of the secure
 * VM's pool, its own from boot and still its own after the buffer goes.
 */
static void importer_sees_only_secure_vm_memory(struct kunit *test)
{
	struct hypheap_heap *heap = ht_heap(test);
	bool ffa = ht_backend_is(heap, "ffa-lend");
	bool pool = ht_backend_is(heap, "carveout");
	u64 state = HYPHEAP_STATE_EXCLUSIVE | (ffa ? HYPHEAP_STATE_F_FFA : 0);
	s64 live = ht_count(heap, HYPHEAP_STAT_LIVE_BUFFERS);
	s64 bytes = ht_count(heap, HYPHEAP_STAT_LIVE_BYTES);
	s64 assigned = ht_count(heap, HYPHEAP_STAT_PAGES_ASSIGNED);
	s64 quarantined = ht_count(heap, HYPHEAP_STAT_PAGES_QUARANTINED);
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
			lent + (pool ? 0 : ffa ? ht_ffa_block(size) : size) /
				       PAGE_SIZE);

	att = dma_buf_attach(dmabuf, dev);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, att);
	sgt = dma_buf_map_attachment(att, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);

	/* only the DMA side, as an importer may: each segment is the VM's */
	for_each_sgtable_dma_sg(sgt, sg, i) {
		phys_addr_t pa = dma_to_phys(dev, sg_dma_address(sg));
		u64 len = sg_dma_len(sg);

		KUNIT_EXPECT_TRUE(test, PAGE_ALIGNED(pa) && PAGE_ALIGNED(len));
		ht_expect_owned(test, pa, len, HT_SVM, state);
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
		ht_expect_owned(test, ranges[i].base, ranges[i].size,
				pool ? HT_SVM : HT_HOST,
				HYPHEAP_STATE_EXCLUSIVE);
	KUNIT_EXPECT_EQ(test, ht_count(heap, HYPHEAP_STAT_LIVE_BUFFERS), live);
	KUNIT_EXPECT_EQ(test, ht_count(heap, HYPHEAP_STAT_LIVE_BYTES), bytes);
	KUNIT_EXPECT_EQ(test, ht_count(heap, HYPHEAP_STAT_PAGES_ASSIGNED),
			assigned);
	KUNIT_EXPECT_EQ(test, ht_count(heap, HYPHEAP_STAT_PAGES_QUARANTINED),
			quarantined);
	KUNIT_EXPECT_EQ(test, ht_hyp(test, HYPHEAP_STAT_PAGES_LENT), lent);
}

/*
 * A second device for the same node (or a second hypheap node) must not
 * bind: it would take the heaps over, and its unbinding would leave them
 * and hypheap_assign_mem() without a hypervisor.
 */
static void second_hypheap_device_does_not_bind(struct kunit *test)
{
	struct hypheap_heap *heap = ht_heap(test);
	struct platform_device *pdev;
	struct device_node *np;
	struct dma_buf *dmabuf;
	u64 v;

	np = of_find_compatible_node(NULL, NULL, "hypheap,hypervisor");
	KUNIT_ASSERT_NOT_NULL(test, np);
	pdev = platform_device_alloc("hypheap-second", PLATFORM_DEVID_AUTO);
	if (!pdev)
		of_node_put(np);
	KUNIT_ASSERT_NOT_NULL(test, pdev);
	/* not of_node_reused: of_match_device() would then match nothing */
	pdev->dev.of_node = np;
	KUNIT_ASSERT_EQ(test, platform_device_add(pdev), 0);
	KUNIT_EXPECT_NULL(test, pdev->dev.driver);
	platform_device_unregister(pdev);

	/* the first device still serves the heaps and the global entries */
	mutex_lock(&heap->lock);
	KUNIT_EXPECT_NOT_NULL(test, heap->backend);
	mutex_unlock(&heap->lock);
	KUNIT_EXPECT_EQ(test, hypheap_hyp_stat(HYPHEAP_STAT_ASSIGN_CALLS, &v,
					       NULL), 0);
	dmabuf = hypheap_alloc_dmabuf(HT_HEAP, SZ_4K, O_RDWR | O_CLOEXEC);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, dmabuf);
	if (!IS_ERR(dmabuf))
		ht_put(dmabuf);
}

static struct kunit_case hypheap_importer_cases[] = {
	KUNIT_CASE(importer_sees_only_secure_vm_memory),
	KUNIT_CASE(second_hypheap_device_does_not_bind),
	{}
};

static struct kunit_suite hypheap_importer_suite = {
	.name = "hypheap-importer",
	.test_cases = hypheap_importer_cases,
};

kunit_test_suite(hypheap_importer_suite);

MODULE_LICENSE("GPL");

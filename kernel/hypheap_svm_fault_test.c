// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit test of a secure VM that faults (HYPHEAP_SVM_OP_FAULT, built into
 * test builds): the hypervisor survives, the partition is aborted for good
 * (every later call answers FFA_ERROR(ABORTED), -ECANCELED in Linux), and
 * memory lent to it still comes back, scrubbed, when its buffer is freed.
 * Its own module and scenario (tests/qemu, svm-fault): the partition stays
 * dead for the rest of the boot.
 */

#include <kunit/test.h>
#include <linux/dma-buf.h>
#include <linux/file.h>
#include <linux/scatterlist.h>
#include <hypheap/svm_ioctl.h>

#include "hypheap.h"
#include "hypheap_priv.h"

#define SVM_HEAP "protected,secure-video"

static void fault_aborts_partition_and_memory_comes_back(struct kunit *test)
{
	struct hypheap_svm *svm = hypheap_svm_get();
	struct hypheap_heap *heap = hypheap_heap_find(SVM_HEAP);
	struct hypheap_svm_info info;
	struct dma_buf *buf;
	u64 d[5] = { HYPHEAP_SVM_OP_FAULT };
	struct hypheap_query q;
	s64 quarantined;
	u64 pages;
	phys_addr_t pa;
	u8 digest[32];
	long status;

	KUNIT_ASSERT_NOT_NULL(test, svm);
	KUNIT_ASSERT_NOT_NULL(test, heap);
	KUNIT_ASSERT_EQ(test, hypheap_svm_info(svm, &info, &status), 0);
	KUNIT_ASSERT_TRUE(test, info.features & HYPHEAP_SVM_F_FAULT);
	buf = hypheap_alloc_dmabuf(SVM_HEAP, SZ_2M, O_RDWR);
	KUNIT_ASSERT_FALSE(test, IS_ERR(buf));
	pa = sg_phys(hypheap_buffer_of(buf)->mem.sgt.sgl);
	pages = hypheap_buffer_of(buf)->mem.sgt.sgl->length >> PAGE_SHIFT;
	KUNIT_ASSERT_EQ(test, hypheap_svm_pin(svm, buf, &status), 0);

	KUNIT_EXPECT_EQ(test, hypheap_svm_direct(svm, d, &status), -ECANCELED);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_STATUS_NONE);
	KUNIT_EXPECT_EQ(test, hypheap_svm_info(svm, &info, &status), -ECANCELED);
	KUNIT_EXPECT_EQ(test, hypheap_svm_hash(svm, buf, 0, digest, &status),
			-ECANCELED);

	/* its pin died with it: the buffer is reclaimed, not quarantined */
	quarantined = hypheap_stat_read(&heap->stats,
					HYPHEAP_STAT_PAGES_QUARANTINED);
	dma_buf_put(buf);
	flush_delayed_fput(); /* a kthread's last fput is deferred */
	KUNIT_EXPECT_EQ(test, hypheap_stat_read(&heap->stats,
						HYPHEAP_STAT_PAGES_QUARANTINED),
			quarantined);
	KUNIT_ASSERT_EQ(test, hypheap_mem_query(pa, pages, &q, NULL), 0);
	KUNIT_EXPECT_EQ(test, q.owners, HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST));
	KUNIT_EXPECT_EQ(test, q.pages, pages);
	hypheap_svm_put(svm);
}

static struct kunit_case hypheap_svm_fault_cases[] = {
	KUNIT_CASE(fault_aborts_partition_and_memory_comes_back),
	{}
};

static struct kunit_suite hypheap_svm_fault_suite = {
	.name = "hypheap-svm-fault",
	.test_cases = hypheap_svm_fault_cases,
};

kunit_test_suites(&hypheap_svm_fault_suite);

MODULE_DESCRIPTION("KUnit test of an aborted secure VM");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);

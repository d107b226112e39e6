// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite hypheap-xen: what Xen 4.17 does with dom0's memory, by
 * experiment, from dom0 with the receiver domain up (scenario xen,
 * docs/xen.md). Loaded after hypheap.ko bound with method "xen".
 *
 * Whether dom0 can still reach a frame is asked of Xen without touching the
 * frame: GNTTABOP_copy from dom0's own gfn looks the gfn up in dom0's p2m
 * (GNTST_bad_page when it maps nothing). A plain CPU access would take the
 * abort Xen injects, which in the kernel is an oops; user space takes it in
 * hh-devmem-test instead.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/ktime.h>
#include <linux/sizes.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/string.h>
#include <xen/grant_table.h>
#include <xen/interface/grant_table.h>
#include <xen/mem-reservation.h>
#include <xen/page.h>
#include <xen/xen.h>

#include "hypheap_priv.h"
#include "hypheap_xen_proto.h"

#define LEND_PAGES	4

static const struct hypheap_vmperm to_svm = {
	.vmid = HYPHEAP_VMID_SECURE_0,
	.perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W,
};

static const struct hypheap_vmperm to_host = {
	.vmid = HYPHEAP_VMID_HOST,
	.perms = HYPHEAP_PERM_RWX,
};

/* GNTTABOP_copy of one byte from dom0's own @pfn into @dst: Xen's p2m answer. */
static s16 p2m_copy_status(unsigned long pfn, struct page *dst)
{
	struct gnttab_copy op = {
		.source.u.gmfn = pfn_to_gfn(pfn),
		.source.domid = DOMID_SELF,
		.dest.u.gmfn = xen_page_to_gfn(dst),
		.dest.domid = DOMID_SELF,
		.len = 1,
	};

	gnttab_batch_copy(&op, 1);
	return op.status;
}

static u64 local_sum(struct page *page, unsigned int n)
{
	u64 h = HYPHEAP_XEN_SUM_INIT;
	unsigned int i;

	for (i = 0; i < n; i++)
		h = hypheap_xen_sum(h, page_address(page + i));
	return h;
}

static void fill_pattern(struct page *page, unsigned int n, u8 seed)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		memset(page_address(page + i), seed + i, PAGE_SIZE);
}

static bool all_bytes(struct page *page, unsigned int n, u8 byte)
{
	unsigned int i, j;
	const u8 *p;

	for (i = 0; i < n; i++) {
		p = page_address(page + i);
		for (j = 0; j < PAGE_SIZE; j++)
			if (p[j] != byte)
				return false;
	}
	return true;
}

static int xen_test_init(struct kunit *test)
{
	KUNIT_ASSERT_TRUE_MSG(test, xen_initial_domain() &&
			      hypheap_xen_receiver_domid() > 0,
			      "not dom0 with hypheap's xen transport");
	return 0;
}

/*
 * The lend experiment: the receiver sees what dom0 wrote, and dom0's p2m
 * no longer maps the frames; after reclaim the same frames are dom0's
 * again, zeroed by the receiver.
 */
static void xen_lend_removes_frames_from_dom0(struct kunit *test)
{
	struct page *page = alloc_pages(GFP_KERNEL, 2), *probe;
	unsigned long pfn;
	phys_addr_t pa;
	u64 src, want, seen = 0;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, page);
	probe = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, probe);
	pa = page_to_phys(page);
	pfn = page_to_pfn(page);
	fill_pattern(page, LEND_PAGES, 0x40);
	want = local_sum(page, LEND_PAGES);
	for (i = 0; i < LEND_PAGES; i++)
		KUNIT_EXPECT_EQ(test, p2m_copy_status(pfn + i, probe),
				GNTST_okay);

	src = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
	KUNIT_ASSERT_EQ(test, hypheap_assign_mem(pa, LEND_PAGES * PAGE_SIZE,
						 &src, &to_svm, 1), 0);
	for (i = 0; i < LEND_PAGES; i++)
		KUNIT_EXPECT_EQ(test, p2m_copy_status(pfn + i, probe),
				GNTST_bad_page);
	KUNIT_EXPECT_EQ(test, hypheap_xen_receiver_op(pa, LEND_PAGES * PAGE_SIZE,
						      HYPHEAP_XEN_OP_SUM, 0,
						      &seen), 0);
	KUNIT_EXPECT_EQ(test, seen, want);
	kunit_info(test, "lent %u pages at %pa: GNTTABOP_copy from their gfns checked for GNTST_bad_page, receiver's checksum %016llx, dom0's %016llx\n",
		   LEND_PAGES, &pa, seen, want);

	/* the receiver writes; dom0 cannot see it until the frames come back */
	KUNIT_EXPECT_EQ(test, hypheap_xen_receiver_op(pa, LEND_PAGES * PAGE_SIZE,
						      HYPHEAP_XEN_OP_FILL, 0xee,
						      NULL), 0);
	src = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);
	KUNIT_ASSERT_EQ(test, hypheap_assign_mem(pa, LEND_PAGES * PAGE_SIZE,
						 &src, &to_host, 1), 0);
	for (i = 0; i < LEND_PAGES; i++)
		KUNIT_EXPECT_EQ(test, p2m_copy_status(pfn + i, probe),
				GNTST_okay);
	KUNIT_EXPECT_TRUE_MSG(test, all_bytes(page, LEND_PAGES, 0),
			      "reclaimed frames are not zero: the receiver did not scrub");
	__free_page(probe);
	__free_pages(page, 2);
}

/* Sharing: both sides see each other's writes, nothing leaves dom0's p2m. */
static void xen_share_keeps_dom0_access(struct kunit *test)
{
	static const struct hypheap_vmperm share[] = {
		{ .vmid = HYPHEAP_VMID_HOST, .perms = HYPHEAP_PERM_RWX },
		{ .vmid = HYPHEAP_VMID_SECURE_0,
		  .perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W },
	};
	struct page *page = alloc_page(GFP_KERNEL), *probe;
	phys_addr_t pa;
	u64 src, seen = 0;

	KUNIT_ASSERT_NOT_NULL(test, page);
	probe = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, probe);
	pa = page_to_phys(page);
	fill_pattern(page, 1, 0x11);
	src = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
	KUNIT_ASSERT_EQ(test, hypheap_assign_mem(pa, PAGE_SIZE, &src, share, 2),
			0);
	KUNIT_EXPECT_EQ(test, p2m_copy_status(page_to_pfn(page), probe),
			GNTST_okay);
	KUNIT_EXPECT_EQ(test, hypheap_xen_receiver_op(pa, PAGE_SIZE,
						      HYPHEAP_XEN_OP_SUM, 0,
						      &seen), 0);
	KUNIT_EXPECT_EQ(test, seen, local_sum(page, 1));
	KUNIT_EXPECT_EQ(test, hypheap_xen_receiver_op(pa, PAGE_SIZE,
						      HYPHEAP_XEN_OP_FILL, 0x77,
						      NULL), 0);
	KUNIT_EXPECT_TRUE(test, all_bytes(page, 1, 0x77));
	src = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST) |
	      HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);
	KUNIT_ASSERT_EQ(test, hypheap_assign_mem(pa, PAGE_SIZE, &src, &to_host,
						 1), 0);
	/* a share is not scrubbed: the host saw it all along */
	KUNIT_EXPECT_TRUE(test, all_bytes(page, 1, 0x77));
	__free_page(probe);
	__free_page(page);
}

/* The transport checks a request in full against its books first. */
static void xen_transport_refuses_bad_requests(struct kunit *test)
{
	static const struct hypheap_vmperm to_other = {
		.vmid = HYPHEAP_VMID_SECURE_1, .perms = HYPHEAP_PERM_R,
	};
	struct page *page = alloc_page(GFP_KERNEL);
	phys_addr_t pa;
	u64 src;

	KUNIT_ASSERT_NOT_NULL(test, page);
	pa = page_to_phys(page);
	src = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
	/* VM 11 is no domain here */
	KUNIT_EXPECT_NE(test, hypheap_assign_mem(pa, PAGE_SIZE, &src,
						 &to_other, 1), 0);
	/* reclaiming what was never lent */
	src = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);
	KUNIT_EXPECT_NE(test, hypheap_assign_mem(pa, PAGE_SIZE, &src, &to_host,
						 1), 0);
	/* lending twice */
	src = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
	KUNIT_ASSERT_EQ(test, hypheap_assign_mem(pa, PAGE_SIZE, &src, &to_svm,
						 1), 0);
	src = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
	KUNIT_EXPECT_NE(test, hypheap_assign_mem(pa, PAGE_SIZE, &src, &to_svm,
						 1), 0);
	src = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);
	KUNIT_ASSERT_EQ(test, hypheap_assign_mem(pa, PAGE_SIZE, &src, &to_host,
						 1), 0);
	__free_page(page);
}

/* Lend by hand: grant, receiver maps, dom0 drops the frame from its p2m. */
static int raw_lend(struct kunit *test, struct page *page, u32 *ref)
{
	xen_pfn_t frame = xen_page_to_gfn(page);
	int r;

	r = gnttab_grant_foreign_access(hypheap_xen_receiver_domid(), frame, 0);
	KUNIT_ASSERT_GE(test, r, 0);
	*ref = r;
	KUNIT_ASSERT_EQ(test, hypheap_xen_raw_request(HYPHEAP_XEN_OP_MAP, 0, 0,
						      ref, 1, NULL), 0);
	return xenmem_reservation_decrease(1, &frame);
}

static void raw_end(struct kunit *test, u32 ref)
{
	KUNIT_EXPECT_EQ(test, gnttab_end_foreign_access_ref(ref), 1);
	gnttab_free_grant_reference(ref);
}

/*
 * Not enforced: while the receiver still maps a frame dom0 gave up, dom0
 * puts it back in its own p2m (XENMEM_populate_physmap, gpfn == mfn) and
 * reads what the receiver wrote. Nothing in Xen 4.17 refuses it.
 */
static void xen_dom0_repopulates_a_lent_frame_alone(struct kunit *test)
{
	struct page *page = alloc_page(GFP_KERNEL), *probe;
	xen_pfn_t frame;
	u32 ref;

	KUNIT_ASSERT_NOT_NULL(test, page);
	probe = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, probe);
	frame = xen_page_to_gfn(page);
	fill_pattern(page, 1, 0x20);
	KUNIT_ASSERT_EQ(test, raw_lend(test, page, &ref), 1);
	KUNIT_EXPECT_EQ(test, p2m_copy_status(page_to_pfn(page), probe),
			GNTST_bad_page);
	KUNIT_EXPECT_EQ(test, hypheap_xen_raw_request(HYPHEAP_XEN_OP_FILL, 0,
						      0x5c, &ref, 1, NULL), 0);
	/* the receiver still maps it, and dom0 takes it back anyway */
	KUNIT_EXPECT_EQ(test, xenmem_reservation_increase(1, &frame), 1);
	KUNIT_EXPECT_EQ(test, p2m_copy_status(page_to_pfn(page), probe),
			GNTST_okay);
	KUNIT_EXPECT_TRUE_MSG(test, all_bytes(page, 1, 0x5c),
			      "dom0 repopulated the frame but does not see the receiver's bytes");
	kunit_info(test, "dom0 repopulated pfn %#lx while dom%d maps it, and reads the receiver's 0x5c\n",
		   page_to_pfn(page), hypheap_xen_receiver_domid());
	KUNIT_EXPECT_EQ(test, hypheap_xen_raw_request(HYPHEAP_XEN_OP_UNMAP, 0,
						      0, &ref, 1, NULL), 0);
	raw_end(test, ref);
	__free_page(probe);
	__free_page(page);
}

/*
 * Not done by Xen: a frame that comes back from the receiver unscrubbed
 * holds the receiver's bytes; only the receiver's own scrub (what the
 * transport asks for) clears it.
 */
static void xen_does_not_scrub_a_returned_frame(struct kunit *test)
{
	struct page *page = alloc_page(GFP_KERNEL);
	xen_pfn_t frame;
	u32 ref;

	KUNIT_ASSERT_NOT_NULL(test, page);
	frame = xen_page_to_gfn(page);
	KUNIT_ASSERT_EQ(test, raw_lend(test, page, &ref), 1);
	KUNIT_EXPECT_EQ(test, hypheap_xen_raw_request(HYPHEAP_XEN_OP_FILL, 0,
						      0xc3, &ref, 1, NULL), 0);
	KUNIT_EXPECT_EQ(test, hypheap_xen_raw_request(HYPHEAP_XEN_OP_UNMAP, 0,
						      0, &ref, 1, NULL), 0);
	raw_end(test, ref);
	KUNIT_EXPECT_EQ(test, xenmem_reservation_increase(1, &frame), 1);
	KUNIT_EXPECT_TRUE_MSG(test, all_bytes(page, 1, 0xc3),
			      "the frame came back without the receiver's bytes");
	__free_page(page);
}

/* Grants are one per 4 KiB page, from a table of bounded size. */
static void xen_grants_are_per_page_and_bounded(struct kunit *test)
{
	unsigned int frames = gnttab_max_grant_frames();
	unsigned long cap = (unsigned long)frames * (XEN_PAGE_SIZE /
					sizeof(struct grant_entry_v1));
	struct page *page = alloc_page(GFP_KERNEL);
	unsigned long n = 0, i;
	int *refs;
	int r;

	KUNIT_ASSERT_NOT_NULL(test, page);
	refs = kvmalloc_array(cap, sizeof(*refs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, refs);
	while (n < cap) {
		r = gnttab_grant_foreign_access(hypheap_xen_receiver_domid(),
						xen_page_to_gfn(page), 1);
		if (r < 0)
			break;
		refs[n++] = r;
	}
	KUNIT_EXPECT_EQ(test, r, -ENOSPC);
	KUNIT_EXPECT_LT(test, n, cap);
	kunit_info(test, "%u grant frames: %lu grant entries, %lu granted before -ENOSPC (%lu MiB of 4 KiB pages)\n",
		   frames, cap, n, n >> 8);
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_EQ(test, gnttab_end_foreign_access_ref(refs[i]), 1);
		gnttab_free_grant_reference(refs[i]);
	}
	kvfree(refs);
	__free_page(page);
}

/* The cost of a 4 MiB lend and reclaim, and where it goes (docs/xen.md). */
static void xen_lend_reclaim_4mib_timed(struct kunit *test)
{
	struct page *page = alloc_pages(GFP_KERNEL, 10);
	u64 src, t0, t1, t2;
	phys_addr_t pa;

	KUNIT_ASSERT_NOT_NULL(test, page);
	pa = page_to_phys(page);
	hypheap_xen_log_phases("hypheap-xen: before the 4 MiB lend, totals");
	src = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
	t0 = ktime_get_ns();
	KUNIT_ASSERT_EQ(test, hypheap_assign_mem(pa, SZ_4M, &src, &to_svm, 1),
			0);
	t1 = ktime_get_ns();
	src = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);
	KUNIT_ASSERT_EQ(test, hypheap_assign_mem(pa, SZ_4M, &src, &to_host, 1),
			0);
	t2 = ktime_get_ns();
	kunit_info(test, "4 MiB (1024 pages): lend %llu ms, reclaim %llu ms\n",
		   (t1 - t0) / 1000000, (t2 - t1) / 1000000);
	hypheap_xen_log_phases("hypheap-xen: after the 4 MiB lend and reclaim, totals");
	__free_pages(page, 10);
}

static struct kunit_case xen_cases[] = {
	KUNIT_CASE(xen_lend_removes_frames_from_dom0),
	KUNIT_CASE(xen_share_keeps_dom0_access),
	KUNIT_CASE(xen_transport_refuses_bad_requests),
	KUNIT_CASE(xen_dom0_repopulates_a_lent_frame_alone),
	KUNIT_CASE(xen_does_not_scrub_a_returned_frame),
	KUNIT_CASE(xen_grants_are_per_page_and_bounded),
	KUNIT_CASE(xen_lend_reclaim_4mib_timed),
	{}
};

static struct kunit_suite xen_suite = {
	.name = "hypheap-xen",
	.init = xen_test_init,
	.test_cases = xen_cases,
};

kunit_test_suite(xen_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("hypheap: what Xen 4.17 enforces on dom0's memory, by experiment");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);

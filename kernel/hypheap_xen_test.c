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
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/delay.h>
#include <linux/ktime.h>
#include <linux/sizes.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/of_platform.h>
#include <linux/platform_device.h>
#include <linux/string.h>
#include <xen/grant_table.h>
#include <xen/interface/grant_table.h>
#include <xen/mem-reservation.h>
#include <xen/page.h>
#include <xen/xen.h>

#include "hypheap_priv.h"
#include "hypheap_xen.h"
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
	/* a writable grant: Xen lets the receiver write by every way */
	KUNIT_EXPECT_EQ(test, hypheap_xen_receiver_op(pa, PAGE_SIZE,
						      HYPHEAP_XEN_OP_PROBE_WRITE,
						      0, &seen), 0);
	KUNIT_EXPECT_EQ_MSG(test, seen, 0ULL,
			    "Xen refused a write to a writable grant");
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

static const u64 host_bit = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
static const u64 svm_bit = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);

static int lend(phys_addr_t pa, unsigned int n)
{
	u64 src = host_bit;

	return hypheap_assign_mem(pa, n * PAGE_SIZE, &src, &to_svm, 1);
}

static int reclaim(phys_addr_t pa, unsigned int n, u64 owners)
{
	u64 src = owners;

	return hypheap_assign_mem(pa, n * PAGE_SIZE, &src, &to_host, 1);
}

/* Who the transport's books say owns each of @n pages at @pa. */
static u64 owners_of(struct kunit *test, phys_addr_t pa)
{
	struct hypheap_query q = {};

	KUNIT_EXPECT_EQ(test, hypheap_mem_query(pa, 1, &q, NULL), 0);
	return q.owners;
}

static struct hypheap_xen_counts counts(struct kunit *test)
{
	struct hypheap_xen_counts n = {};

	KUNIT_EXPECT_EQ(test, hypheap_xen_counts(&n), 0);
	return n;
}

static void inject(struct kunit *test, const struct hypheap_xen_faults *f)
{
	KUNIT_ASSERT_EQ(test, hypheap_xen_inject(f), 0);
}

/* The receiver's test hooks, outside the books. */
static int receiver_keeps_next_unmap(void)
{
	return hypheap_xen_raw_request(HYPHEAP_XEN_OP_KEEP, 0, 1, NULL, 0,
				       NULL);
}

static int receiver_lets_go(void)
{
	return hypheap_xen_raw_request(HYPHEAP_XEN_OP_LETGO, 0, 0, NULL, 0,
				       NULL);
}

static int receiver_refuses_next_unmaps(unsigned int n)
{
	return hypheap_xen_raw_request(HYPHEAP_XEN_OP_REFUSE, 0, n, NULL, 0,
				       NULL);
}

/* The mailbox counts, which outlive the conduits. */
static struct hypheap_xen_counts mailbox_counts(void)
{
	struct hypheap_xen_counts n = {};

	hypheap_xen_counts(&n);
	return n;
}

/*
 * After a request that failed and said nothing changed: every page is
 * dom0's again, in its p2m and in the books, the transport's counts are as
 * they were, and the same pages lend and come back as before.
 */
static void expect_all_host(struct kunit *test, struct page *page,
			    unsigned int n, const struct hypheap_xen_counts *was,
			    const char *what)
{
	struct hypheap_xen_counts now = counts(test);
	struct page *probe = alloc_page(GFP_KERNEL);
	phys_addr_t pa = page_to_phys(page);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, probe);
	for (i = 0; i < n; i++) {
		KUNIT_EXPECT_EQ_MSG(test, p2m_copy_status(page_to_pfn(page) + i,
							  probe),
				    GNTST_okay, "%s: page %u", what, i);
		KUNIT_EXPECT_EQ_MSG(test, owners_of(test, pa + i * PAGE_SIZE),
				    host_bit, "%s: page %u", what, i);
	}
	KUNIT_EXPECT_EQ_MSG(test, now.grants, was->grants, "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, now.pages_lent, was->pages_lent, "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, now.pages_shared, was->pages_shared, "%s",
			    what);
	KUNIT_EXPECT_EQ_MSG(test, now.held, was->held, "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, now.unreturned, was->unreturned, "%s", what);
	KUNIT_EXPECT_FALSE_MSG(test, now.broken, "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, lend(pa, n), 0, "%s: lending again", what);
	KUNIT_EXPECT_EQ_MSG(test, reclaim(pa, n, svm_bit), 0,
			    "%s: reclaiming again", what);
	__free_page(probe);
}

/*
 * A read-only share: the receiver maps it read-only (Xen refuses a
 * writable map of a read-only grant), reads it, and every write it tries
 * is refused: its own FILL, a second writable map, GNTTABOP_copy into it.
 */
static void xen_read_only_share_is_mapped_read_only(struct kunit *test)
{
	static const struct hypheap_vmperm ro_share[] = {
		{ .vmid = HYPHEAP_VMID_HOST, .perms = HYPHEAP_PERM_RWX },
		{ .vmid = HYPHEAP_VMID_SECURE_0, .perms = HYPHEAP_PERM_R },
	};
	struct page *page = alloc_page(GFP_KERNEL);
	u64 src = host_bit, seen = 0;
	phys_addr_t pa;

	KUNIT_ASSERT_NOT_NULL(test, page);
	pa = page_to_phys(page);
	fill_pattern(page, 1, 0x31);
	KUNIT_ASSERT_EQ(test, hypheap_assign_mem(pa, PAGE_SIZE, &src, ro_share,
						 2), 0);
	KUNIT_EXPECT_EQ(test, hypheap_xen_receiver_op(pa, PAGE_SIZE,
						      HYPHEAP_XEN_OP_SUM, 0,
						      &seen), 0);
	KUNIT_EXPECT_EQ(test, seen, local_sum(page, 1));
	KUNIT_EXPECT_EQ(test, hypheap_xen_receiver_op(pa, PAGE_SIZE,
						      HYPHEAP_XEN_OP_FILL, 0x99,
						      NULL), -EREMOTEIO);
	KUNIT_EXPECT_EQ(test, hypheap_xen_receiver_op(pa, PAGE_SIZE,
						      HYPHEAP_XEN_OP_PROBE_WRITE,
						      0, &seen), 0);
	KUNIT_EXPECT_EQ_MSG(test, seen, (1ULL << 32) | 1,
			    "writes Xen refused (copies << 32 | maps): %#llx",
			    seen);
	KUNIT_EXPECT_TRUE(test, all_bytes(page, 1, 0x31));
	kunit_info(test, "read-only share: the receiver reads it, Xen refused its writable map and its copy into it\n");
	KUNIT_EXPECT_EQ(test, reclaim(pa, 1, host_bit | svm_bit), 0);
	KUNIT_EXPECT_TRUE(test, all_bytes(page, 1, 0x31));
	__free_page(page);
}

/* A read-only lend: mapped read-only, out of dom0's p2m, not scrubbed. */
static void xen_read_only_lend(struct kunit *test)
{
	static const struct hypheap_vmperm to_svm_ro = {
		.vmid = HYPHEAP_VMID_SECURE_0, .perms = HYPHEAP_PERM_R,
	};
	struct page *page = alloc_pages(GFP_KERNEL, 1), *probe;
	u64 src = host_bit, seen = 0, want;
	phys_addr_t pa;

	KUNIT_ASSERT_NOT_NULL(test, page);
	probe = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, probe);
	pa = page_to_phys(page);
	fill_pattern(page, 2, 0x51);
	want = local_sum(page, 2);
	KUNIT_ASSERT_EQ(test, hypheap_assign_mem(pa, 2 * PAGE_SIZE, &src,
						 &to_svm_ro, 1), 0);
	KUNIT_EXPECT_EQ(test, p2m_copy_status(page_to_pfn(page), probe),
			GNTST_bad_page);
	KUNIT_EXPECT_EQ(test, hypheap_xen_receiver_op(pa, 2 * PAGE_SIZE,
						      HYPHEAP_XEN_OP_FILL, 0x99,
						      NULL), -EREMOTEIO);
	KUNIT_EXPECT_EQ(test, hypheap_xen_receiver_op(pa, 2 * PAGE_SIZE,
						      HYPHEAP_XEN_OP_PROBE_WRITE,
						      0, &seen), 0);
	KUNIT_EXPECT_EQ(test, seen, (2ULL << 32) | 2);
	KUNIT_EXPECT_EQ(test, reclaim(pa, 2, svm_bit), 0);
	KUNIT_EXPECT_EQ(test, p2m_copy_status(page_to_pfn(page), probe),
			GNTST_okay);
	/* nothing to scrub: the receiver could not write */
	KUNIT_EXPECT_EQ(test, local_sum(page, 2), want);
	__free_page(probe);
	__free_pages(page, 1);
}

/* The undo of a lend whose grant of page 3 fails: nothing changed. */
static void xen_lend_undo_grant_fails_midway(struct kunit *test)
{
	struct hypheap_xen_faults f = { .grant_at = 3 };
	struct page *page = alloc_pages(GFP_KERNEL, 2);
	struct hypheap_xen_counts was;

	KUNIT_ASSERT_NOT_NULL(test, page);
	was = counts(test);
	inject(test, &f);
	KUNIT_EXPECT_EQ(test, lend(page_to_phys(page), 4), -ENOSPC);
	expect_all_host(test, page, 4, &was, "grant 3 fails");
	__free_pages(page, 2);
}

/* The undo of a lend the receiver refuses to map: nothing changed. */
static void xen_lend_undo_map_refused(struct kunit *test)
{
	struct hypheap_xen_faults f = { .map_bad_at = 2 };
	struct page *page = alloc_pages(GFP_KERNEL, 2);
	struct hypheap_xen_counts was;

	KUNIT_ASSERT_NOT_NULL(test, page);
	was = counts(test);
	inject(test, &f);
	KUNIT_EXPECT_EQ(test, lend(page_to_phys(page), 4), -EREMOTEIO);
	expect_all_host(test, page, 4, &was, "map refused");
	__free_pages(page, 2);
}

/* The undo of a lend Xen took only 2 pages of: nothing changed. */
static void xen_lend_undo_decrease_short(struct kunit *test)
{
	struct hypheap_xen_faults f = { .decrease_at = 3 };
	struct page *page = alloc_pages(GFP_KERNEL, 2);
	struct hypheap_xen_counts was;

	KUNIT_ASSERT_NOT_NULL(test, page);
	was = counts(test);
	inject(test, &f);
	KUNIT_EXPECT_EQ(test, lend(page_to_phys(page), 4), -EIO);
	expect_all_host(test, page, 4, &was, "decrease short");
	__free_pages(page, 2);
}

/*
 * The same undo with a receiver that answers UNMAP but keeps its
 * mappings: no grant can be ended, so no page is dom0's alone. The lend
 * says so (-ENOTRECOVERABLE), the books say the receiver shares them, and
 * once it lets go a reclaim brings every page back.
 */
static void xen_lend_undo_keeps_grants_it_cannot_end(struct kunit *test)
{
	struct hypheap_xen_faults f = { .decrease_at = 3 };
	struct page *page = alloc_pages(GFP_KERNEL, 2);
	struct hypheap_xen_counts was, now;
	phys_addr_t pa;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, page);
	pa = page_to_phys(page);
	was = counts(test);
	inject(test, &f);
	KUNIT_ASSERT_EQ(test, receiver_keeps_next_unmap(), 0);
	KUNIT_EXPECT_EQ(test, lend(pa, 4), -ENOTRECOVERABLE);
	now = counts(test);
	KUNIT_EXPECT_EQ(test, now.held, was.held + 4);
	KUNIT_EXPECT_EQ(test, now.grants, was.grants + 4);
	KUNIT_EXPECT_GE(test, now.end_refused, was.end_refused + 4);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ_MSG(test, owners_of(test, pa + i * PAGE_SIZE),
				    host_bit | svm_bit, "page %u", i);
	/* still the receiver's to map: not dom0's to free */
	KUNIT_EXPECT_NE(test, reclaim(pa, 4, host_bit | svm_bit), 0);
	KUNIT_EXPECT_EQ(test, counts(test).held, was.held + 4);
	KUNIT_ASSERT_EQ(test, receiver_lets_go(), 0);
	KUNIT_EXPECT_EQ(test, reclaim(pa, 4, host_bit | svm_bit), 0);
	expect_all_host(test, page, 4, &was, "after the receiver let go");
	__free_pages(page, 2);
}

/*
 * The undo of a short decrease whose repopulate is short too: the page
 * Xen did not give back stays lent (out of dom0's p2m, in the books), the
 * others are dom0's; a reclaim of that page brings it back later.
 */
static void xen_lend_undo_populate_short(struct kunit *test)
{
	struct hypheap_xen_faults f = { .decrease_at = 3, .populate_at = 2 };
	struct page *page = alloc_pages(GFP_KERNEL, 2), *probe;
	struct hypheap_xen_counts was;
	phys_addr_t pa;

	KUNIT_ASSERT_NOT_NULL(test, page);
	probe = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, probe);
	pa = page_to_phys(page);
	was = counts(test);
	inject(test, &f);
	KUNIT_EXPECT_EQ(test, lend(pa, 4), -ENOTRECOVERABLE);
	KUNIT_EXPECT_FALSE(test, counts(test).broken);
	KUNIT_EXPECT_EQ(test, owners_of(test, pa), host_bit);
	KUNIT_EXPECT_EQ(test, owners_of(test, pa + PAGE_SIZE), svm_bit);
	KUNIT_EXPECT_EQ(test, owners_of(test, pa + 2 * PAGE_SIZE), host_bit);
	KUNIT_EXPECT_EQ(test, p2m_copy_status(page_to_pfn(page) + 1, probe),
			GNTST_bad_page);
	KUNIT_EXPECT_EQ(test, counts(test).pages_lent, was.pages_lent + 1);
	KUNIT_EXPECT_EQ(test, reclaim(pa + PAGE_SIZE, 1, svm_bit), 0);
	expect_all_host(test, page, 4, &was, "after the reclaim of page 1");
	__free_page(probe);
	__free_pages(page, 2);
}

#define UNDO_PAGES	70

/*
 * The undo of a short decrease whose UNMAP the receiver refuses (the
 * first of two pieces, 64 + 6 pages): it keeps every page mapped, so all
 * stay shared, at their first step (mapped: the next reclaim asks it to
 * unmap them), and one reclaim brings all 70 back.
 */
static void xen_lend_undo_unmap_refused_keeps_pages_mapped(struct kunit *test)
{
	struct hypheap_xen_faults f = { .decrease_at = 3 };
	struct page *page = alloc_pages(GFP_KERNEL, 7);
	struct hypheap_xen_counts was, now;
	phys_addr_t pa;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, page);
	pa = page_to_phys(page);
	was = counts(test);
	inject(test, &f);
	KUNIT_ASSERT_EQ(test, receiver_refuses_next_unmaps(1), 0);
	KUNIT_EXPECT_EQ(test, lend(pa, UNDO_PAGES), -ENOTRECOVERABLE);
	now = counts(test);
	KUNIT_EXPECT_FALSE(test, now.broken);
	KUNIT_EXPECT_EQ(test, now.held, was.held);
	KUNIT_EXPECT_EQ(test, now.pages_shared, was.pages_shared + UNDO_PAGES);
	KUNIT_EXPECT_EQ(test, now.pages_lent, was.pages_lent);
	KUNIT_EXPECT_EQ(test, now.grants, was.grants + UNDO_PAGES);
	for (i = 0; i < UNDO_PAGES; i++)
		KUNIT_EXPECT_EQ_MSG(test, owners_of(test, pa + i * PAGE_SIZE),
				    host_bit | svm_bit, "page %u", i);
	KUNIT_EXPECT_EQ(test, reclaim(pa, UNDO_PAGES, host_bit | svm_bit), 0);
	expect_all_host(test, page, UNDO_PAGES, &was, "after the reclaim");
	__free_pages(page, 7);
}

/**
 * struct xen_heap - a heap of the test's own on the xen conduit
 * @pdev: the device the backend cleans pages through
 * @c: the default conduit (xen)
 * @be: the hyp backend on it
 * @heap: an unregistered heap served by @be
 */
struct xen_heap {
	struct platform_device *pdev;
	struct hypheap_conduit *c;
	struct hypheap_backend *be;
	struct hypheap_heap *heap;
};

static void xen_heap_setup(struct kunit *test, struct xen_heap *h)
{
	h->c = hypheap_get_default_conduit();
	KUNIT_ASSERT_NOT_NULL(test, h->c);
	h->pdev = platform_device_register_simple("hypheap-kunit-xen", -1,
						  NULL, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, h->pdev);
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(&h->pdev->dev,
							DMA_BIT_MASK(64)), 0);
	h->be = hypheap_hyp_backend_create(&h->pdev->dev, h->c,
					   HYPHEAP_VMID_HOST);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, h->be);
	h->heap = hypheap_heap_create("hypheap-kunit-xen", &to_svm, 1,
				      HYPHEAP_VMID_HOST);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, h->heap);
	/* the case retries by hand */
	h->heap->retry_delay = 3600 * HZ;
	hypheap_heap_set_backend(h->heap, h->be);
}

static void xen_heap_teardown(struct xen_heap *h)
{
	/* a heap that keeps quarantined pages is leaked, never freed */
	if (h->heap && !hypheap_heap_destroy(h->heap))
		h->heap = NULL;
	if (h->be && !h->heap)
		hypheap_backend_put(h->be);
	if (h->pdev)
		platform_device_unregister(h->pdev);
	if (h->c)
		hypheap_conduit_put(h->c);
}

static s64 heap_stat(struct xen_heap *h, enum hypheap_stat s)
{
	return hypheap_stat_read(&h->heap->stats, s);
}

/*
 * A receiver that answers UNMAP but keeps mapping the pages: dom0 cannot
 * end their grants, so the reclaim fails, the buffer is quarantined (never
 * freed, never put back in dom0's p2m), and the transport serves other
 * buffers meanwhile. Once the receiver lets go, one retry frees it.
 */
static void xen_reclaim_refuses_while_the_receiver_keeps_a_mapping(struct kunit *test)
{
	struct hypheap_xen_counts was, now;
	struct hypheap_buffer *buf, *other;
	struct xen_heap h = {};
	struct scatterlist *sg;
	unsigned long pfn[4];
	unsigned int i, j, n;
	struct page *probe;
	u64 seen = 0;

	xen_heap_setup(test, &h);
	probe = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, probe);
	was = counts(test);
	buf = hypheap_buffer_alloc(h.heap, 4 * PAGE_SIZE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	n = 0;
	for_each_sgtable_sg(&buf->mem.sgt, sg, i)
		for (j = 0; j < sg->length >> PAGE_SHIFT && n < 4; j++)
			pfn[n++] = page_to_pfn(sg_page(sg)) + j;
	KUNIT_ASSERT_EQ(test, n, 4U);

	KUNIT_ASSERT_EQ(test, receiver_keeps_next_unmap(), 0);
	hypheap_buffer_release(buf);
	KUNIT_EXPECT_EQ(test, heap_stat(&h, HYPHEAP_STAT_PAGES_QUARANTINED), 4);
	KUNIT_EXPECT_EQ(test, heap_stat(&h, HYPHEAP_STAT_LIVE_BUFFERS), 0);
	now = counts(test);
	KUNIT_EXPECT_EQ(test, now.held, was.held + 4);
	KUNIT_EXPECT_GE(test, now.end_refused, was.end_refused + 4);
	KUNIT_EXPECT_EQ(test, now.pages_lent, was.pages_lent + 4);
	for (i = 0; i < 4; i++) {
		KUNIT_EXPECT_EQ_MSG(test, p2m_copy_status(pfn[i], probe),
				    GNTST_bad_page,
				    "pfn %#lx is back in dom0's p2m while the receiver maps it",
				    pfn[i]);
		KUNIT_EXPECT_EQ(test, owners_of(test, PFN_PHYS(pfn[i])),
				svm_bit);
	}
	/* a retry changes nothing while the receiver holds on */
	KUNIT_EXPECT_EQ(test, hypheap_heap_retry_quarantine(h.heap), 1U);
	KUNIT_EXPECT_EQ(test, p2m_copy_status(pfn[0], probe), GNTST_bad_page);

	/* other buffers are lent and come back meanwhile */
	other = hypheap_buffer_alloc(h.heap, 2 * PAGE_SIZE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, other);
	KUNIT_EXPECT_EQ(test,
			hypheap_xen_receiver_op(sg_phys(other->mem.sgt.sgl),
						PAGE_SIZE, HYPHEAP_XEN_OP_SUM,
						0, &seen), 0);
	hypheap_buffer_release(other);
	KUNIT_EXPECT_EQ(test, heap_stat(&h, HYPHEAP_STAT_PAGES_QUARANTINED), 4);

	KUNIT_ASSERT_EQ(test, receiver_lets_go(), 0);
	KUNIT_EXPECT_EQ(test, hypheap_heap_retry_quarantine(h.heap), 0U);
	KUNIT_EXPECT_EQ(test, heap_stat(&h, HYPHEAP_STAT_PAGES_QUARANTINED), 0);
	now = counts(test);
	KUNIT_EXPECT_EQ(test, now.held, was.held);
	KUNIT_EXPECT_EQ(test, now.grants, was.grants);
	KUNIT_EXPECT_EQ(test, now.pages_lent, was.pages_lent);
	__free_page(probe);
	xen_heap_teardown(&h);
}

/*
 * Xen gives back only 2 of 4 frames on reclaim: those 2 stay out of dom0's
 * p2m and in the books, and only they; the transport serves other
 * requests, and a later reclaim brings the 2 back.
 */
static void xen_reclaim_populate_short_keeps_serving(struct kunit *test)
{
	struct hypheap_xen_faults f = { .populate_at = 3 };
	struct page *page = alloc_pages(GFP_KERNEL, 2), *other, *probe;
	struct hypheap_xen_counts was;
	phys_addr_t pa;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, page);
	other = alloc_page(GFP_KERNEL);
	probe = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, other);
	KUNIT_ASSERT_NOT_NULL(test, probe);
	pa = page_to_phys(page);
	was = counts(test);
	KUNIT_ASSERT_EQ(test, lend(pa, 4), 0);
	inject(test, &f);
	KUNIT_EXPECT_EQ(test, reclaim(pa, 4, svm_bit), -ENOTRECOVERABLE);
	KUNIT_EXPECT_FALSE(test, counts(test).broken);
	KUNIT_EXPECT_EQ(test, counts(test).unreturned, was.unreturned + 2);
	KUNIT_EXPECT_EQ(test, counts(test).pages_lent, was.pages_lent + 2);
	for (i = 0; i < 4; i++) {
		KUNIT_EXPECT_EQ_MSG(test, p2m_copy_status(page_to_pfn(page) + i,
							  probe),
				    i < 2 ? GNTST_okay : GNTST_bad_page,
				    "page %u", i);
		KUNIT_EXPECT_EQ_MSG(test, owners_of(test, pa + i * PAGE_SIZE),
				    i < 2 ? host_bit : svm_bit, "page %u", i);
	}
	/* the transport goes on */
	KUNIT_EXPECT_EQ(test, lend(page_to_phys(other), 1), 0);
	KUNIT_EXPECT_EQ(test, reclaim(page_to_phys(other), 1, svm_bit), 0);
	/* and the 2 frames come back */
	KUNIT_EXPECT_EQ(test, reclaim(pa + 2 * PAGE_SIZE, 2, svm_bit), 0);
	expect_all_host(test, page, 4, &was, "after the second reclaim");
	__free_page(probe);
	__free_page(other);
	__free_pages(page, 2);
}

static struct device *hypheap_device(struct kunit *test)
{
	struct platform_device *pdev;
	struct device_node *np;

	np = of_find_compatible_node(NULL, NULL, "hypheap,hypervisor");
	KUNIT_ASSERT_NOT_NULL(test, np);
	pdev = of_find_device_by_node(np);
	of_node_put(np);
	KUNIT_ASSERT_NOT_NULL(test, pdev);
	return &pdev->dev;
}

/* What a working transport does: a lend the receiver sees, a reclaim. */
static void expect_transport_works(struct kunit *test, const char *what)
{
	struct page *page = alloc_page(GFP_KERNEL);
	u64 seen = 0, want;
	phys_addr_t pa;

	KUNIT_ASSERT_NOT_NULL(test, page);
	pa = page_to_phys(page);
	fill_pattern(page, 1, 0x6a);
	/* before the lend: dom0 reading a lent page is an oops */
	want = local_sum(page, 1);
	KUNIT_EXPECT_EQ_MSG(test, lend(pa, 1), 0, "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, hypheap_xen_receiver_op(pa, PAGE_SIZE,
							  HYPHEAP_XEN_OP_SUM, 0,
							  &seen), 0,
			    "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, seen, want, "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, reclaim(pa, 1, svm_bit), 0, "%s", what);
	__free_page(page);
}

/*
 * A second xen conduit (the driver bound again while buffers of the first
 * live) shares the first's mailbox and books: it never grants the
 * mailbox's reference over again while the receiver maps it.
 */
static void xen_second_conduit_shares_the_mailbox(struct kunit *test)
{
	struct device *dev = hypheap_device(test);
	struct page *page = alloc_page(GFP_KERNEL);
	struct hypheap_range range;
	struct hypheap_assign_req req = {
		.srcvm = host_bit, .dst = &to_svm, .nr_dst = 1,
		.ranges = &range, .nr_ranges = 1,
	};
	struct hypheap_conduit *c2;
	long status = HYPHEAP_OK;
	u64 seen = 0, want;
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, page);
	fill_pattern(page, 1, 0x24);
	want = local_sum(page, 1);
	range.base = page_to_phys(page);
	range.size = PAGE_SIZE;
	c2 = hypheap_xen_create(dev);
	put_device(dev);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, c2);
	mutex_lock(&c2->lock);
	ret = c2->ops->assign(c2, &req, &status);
	mutex_unlock(&c2->lock);
	KUNIT_EXPECT_EQ(test, ret, 0);
	if (!ret) {
		/* the first conduit sees the second's lend */
		KUNIT_EXPECT_EQ(test, hypheap_xen_receiver_op(range.base,
							      PAGE_SIZE,
							      HYPHEAP_XEN_OP_SUM,
							      0, &seen), 0);
		KUNIT_EXPECT_EQ(test, seen, want);
		KUNIT_EXPECT_EQ(test, reclaim(range.base, 1, svm_bit), 0);
	}
	hypheap_conduit_put(c2);
	expect_transport_works(test, "after the second conduit went");
	__free_page(page);
}

/*
 * The driver unbound and bound again (what a reload does): the old
 * conduit retires the mailbox (the receiver unmaps it, dom0 ends its grant
 * and frees it), the new one grants a new page under the same reference,
 * and the receiver serves that one.
 */
static void xen_rebind_retires_and_reattaches_the_mailbox(struct kunit *test)
{
	struct device *dev = hypheap_device(test);
	struct hypheap_xen_counts was = mailbox_counts(), now;

	expect_transport_works(test, "before the unbind");
	device_release_driver(dev);
	KUNIT_EXPECT_EQ(test, hypheap_xen_receiver_domid(), -ENODEV);
	now = mailbox_counts();
	KUNIT_EXPECT_EQ(test, now.mailboxes_retired, was.mailboxes_retired + 1);
	KUNIT_EXPECT_EQ(test, now.mailboxes_leaked, was.mailboxes_leaked);
	KUNIT_EXPECT_EQ(test, device_attach(dev), 1);
	put_device(dev);
	KUNIT_ASSERT_GT(test, hypheap_xen_receiver_domid(), 0);
	expect_transport_works(test, "after the driver bound again");
}

/* Bind again, for up to @seconds while the reference is busy; whether it bound. */
static bool bind_within(struct device *dev, unsigned int seconds)
{
	unsigned int i;

	for (i = 0; i <= seconds; i++) {
		if (device_attach(dev) == 1 && hypheap_xen_receiver_domid() > 0)
			return true;
		ssleep(1);
	}
	return false;
}

/*
 * A conduit creation that fails while the receiver could attach: the
 * mailbox page is never freed under a live mapping (it is granted only
 * once the conduit exists), and the next bind works.
 */
static void xen_create_failure_never_frees_a_mapped_mailbox(struct kunit *test)
{
	struct device *dev = hypheap_device(test);
	struct hypheap_xen_counts was, now;

	device_release_driver(dev);
	KUNIT_EXPECT_EQ(test, hypheap_xen_receiver_domid(), -ENODEV);
	was = mailbox_counts();
	hypheap_xen_fail_next_create();
	KUNIT_EXPECT_NE(test, device_attach(dev), 1);
	KUNIT_EXPECT_EQ(test, hypheap_xen_receiver_domid(), -ENODEV);
	now = mailbox_counts();
	KUNIT_EXPECT_EQ(test, now.mailboxes_leaked, was.mailboxes_leaked);
	/* the reference is free: a freed page the receiver maps would hold it */
	KUNIT_EXPECT_TRUE(test, bind_within(dev, 5));
	put_device(dev);
	KUNIT_ASSERT_GT(test, hypheap_xen_receiver_domid(), 0);
	expect_transport_works(test, "after the failed creation");
}

static struct kunit_case xen_cases[] = {
	KUNIT_CASE(xen_lend_removes_frames_from_dom0),
	KUNIT_CASE(xen_share_keeps_dom0_access),
	KUNIT_CASE(xen_transport_refuses_bad_requests),
	KUNIT_CASE(xen_dom0_repopulates_a_lent_frame_alone),
	KUNIT_CASE(xen_does_not_scrub_a_returned_frame),
	KUNIT_CASE(xen_grants_are_per_page_and_bounded),
	KUNIT_CASE(xen_lend_reclaim_4mib_timed),
	KUNIT_CASE(xen_read_only_share_is_mapped_read_only),
	KUNIT_CASE(xen_read_only_lend),
	KUNIT_CASE(xen_lend_undo_grant_fails_midway),
	KUNIT_CASE(xen_lend_undo_map_refused),
	KUNIT_CASE(xen_lend_undo_decrease_short),
	KUNIT_CASE(xen_lend_undo_keeps_grants_it_cannot_end),
	KUNIT_CASE(xen_reclaim_refuses_while_the_receiver_keeps_a_mapping),
	KUNIT_CASE(xen_lend_undo_populate_short),
	KUNIT_CASE(xen_reclaim_populate_short_keeps_serving),
	KUNIT_CASE(xen_second_conduit_shares_the_mailbox),
	KUNIT_CASE(xen_lend_undo_unmap_refused_keeps_pages_mapped),
	KUNIT_CASE(xen_rebind_retires_and_reattaches_the_mailbox),
	KUNIT_CASE(xen_create_failure_never_frees_a_mapped_mailbox),
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

// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the hypheap assign layer: VM permission checks, source
 * bitmaps, descriptor encoding and the batching of sg_tables into calls.
 *
 * The sg_tables here describe made-up physical ranges: their pages are
 * never touched, only converted back to physical addresses.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <asm/unaligned.h>

#include "hypheap_fake_hyp.h"
#include "hypheap_priv.h"

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);

#define TEST_BASE_PFN	0x40000UL	/* 0x40000000, RAM base of QEMU virt */

static const struct hypheap_vmperm test_secure = {
	.vmid = HYPHEAP_VMID_SECURE_0, .perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W,
};

static const struct hypheap_vmperm test_host = {
	.vmid = HYPHEAP_VMID_HOST, .perms = HYPHEAP_PERM_RWX,
};

/* ---- VM permissions and source bitmaps ---- */

static void vmperm_accepts_valid_sets(struct kunit *test)
{
	struct hypheap_vmperm two[] = {
		{ HYPHEAP_VMID_HOST, HYPHEAP_PERM_RWX },
		{ HYPHEAP_VMID_SECURE_1, HYPHEAP_PERM_R },
	};
	struct hypheap_vmperm top = { HYPHEAP_VMID_LIMIT - 1, HYPHEAP_PERM_X };

	KUNIT_EXPECT_EQ(test, hypheap_vmperm_check(&test_secure, 1), 0);
	KUNIT_EXPECT_EQ(test, hypheap_vmperm_check(two, 2), 0);
	KUNIT_EXPECT_EQ(test, hypheap_vmperm_check(&top, 1), 0);
}

static void vmperm_rejects_bad_sets(struct kunit *test)
{
	struct hypheap_vmperm many[HYPHEAP_MAX_DEST + 1];
	struct hypheap_vmperm dup[] = {
		{ HYPHEAP_VMID_SECURE_0, HYPHEAP_PERM_R },
		{ HYPHEAP_VMID_SECURE_0, HYPHEAP_PERM_W },
	};
	struct hypheap_vmperm v;
	unsigned int i;

	KUNIT_EXPECT_EQ(test, hypheap_vmperm_check(NULL, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, hypheap_vmperm_check(&test_secure, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, hypheap_vmperm_check(dup, 2), -EINVAL);

	v = (struct hypheap_vmperm){ HYPHEAP_VMID_LIMIT, HYPHEAP_PERM_R };
	KUNIT_EXPECT_EQ(test, hypheap_vmperm_check(&v, 1), -EINVAL);
	v = (struct hypheap_vmperm){ HYPHEAP_VMID_SECURE_0, 0 };
	KUNIT_EXPECT_EQ(test, hypheap_vmperm_check(&v, 1), -EINVAL);
	v = (struct hypheap_vmperm){ HYPHEAP_VMID_SECURE_0, 0x8 };
	KUNIT_EXPECT_EQ(test, hypheap_vmperm_check(&v, 1), -EINVAL);

	for (i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = (struct hypheap_vmperm){ i, HYPHEAP_PERM_R };
	KUNIT_EXPECT_EQ(test, hypheap_vmperm_check(many, HYPHEAP_MAX_DEST), 0);
	KUNIT_EXPECT_EQ(test, hypheap_vmperm_check(many, ARRAY_SIZE(many)),
			-EINVAL);
}

static void vmperm_bitmap_has_one_bit_per_vm(struct kunit *test)
{
	struct hypheap_vmperm set[] = {
		{ HYPHEAP_VMID_HOST, HYPHEAP_PERM_RWX },
		{ HYPHEAP_VMID_SECURE_0, HYPHEAP_PERM_R },
		{ 63, HYPHEAP_PERM_R },
	};

	KUNIT_EXPECT_EQ(test, hypheap_vmperm_bitmap(set, 1),
			HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST));
	KUNIT_EXPECT_EQ(test, hypheap_vmperm_bitmap(set, 3),
			HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST) |
			HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0) | BIT_ULL(63));
}

/*
 * A heap's destinations are what MEM_ASSIGN accepts from the host: one
 * secure VM (a lend), optionally with the host (a share); never the
 * hypervisor, the host alone, or two secure VMs.
 */
static void heap_refuses_destinations_the_hypervisor_refuses(struct kunit *test)
{
	const u32 rw = HYPHEAP_PERM_R | HYPHEAP_PERM_W;
	const struct hypheap_vmperm two_vms[] = {
		{ HYPHEAP_VMID_SECURE_0, rw }, { HYPHEAP_VMID_SECURE_1, rw },
	};
	const struct hypheap_vmperm share_two[] = {
		{ HYPHEAP_VMID_HOST, rw }, { HYPHEAP_VMID_SECURE_0, rw },
		{ HYPHEAP_VMID_SECURE_1, HYPHEAP_PERM_R },
	};
	const struct hypheap_vmperm hyp = { HYPHEAP_VMID_HYP, rw };
	const struct hypheap_vmperm host = { HYPHEAP_VMID_HOST, rw };
	const struct hypheap_vmperm share[] = {
		{ HYPHEAP_VMID_HOST, HYPHEAP_PERM_R }, { HYPHEAP_VMID_SECURE_1, rw },
	};
	struct hypheap_heap *heap;

	KUNIT_EXPECT_EQ(test, PTR_ERR(hypheap_heap_create("kunit", two_vms, 2,
							  HYPHEAP_VMID_HOST)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(hypheap_heap_create("kunit", share_two, 3,
							  HYPHEAP_VMID_HOST)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(hypheap_heap_create("kunit", &hyp, 1,
							  HYPHEAP_VMID_HOST)),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(hypheap_heap_create("kunit", &host, 1,
							  HYPHEAP_VMID_HOST)),
			-EINVAL);

	heap = hypheap_heap_create("kunit", &test_secure, 1,
				   HYPHEAP_VMID_HOST);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, heap);
	KUNIT_EXPECT_EQ(test, hypheap_heap_destroy(heap), 0);
	heap = hypheap_heap_create("kunit", share, 2, HYPHEAP_VMID_HOST);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, heap);
	KUNIT_EXPECT_EQ(test, hypheap_heap_destroy(heap), 0);
}

static struct kunit_case hypheap_vmperm_cases[] = {
	KUNIT_CASE(vmperm_accepts_valid_sets),
	KUNIT_CASE(vmperm_rejects_bad_sets),
	KUNIT_CASE(vmperm_bitmap_has_one_bit_per_vm),
	KUNIT_CASE(heap_refuses_destinations_the_hypervisor_refuses),
	{}
};

static struct kunit_suite hypheap_vmperm_suite = {
	.name = "hypheap-vmperm",
	.test_cases = hypheap_vmperm_cases,
};

/* ---- descriptor encoding ---- */

static void desc_layout_matches_abi(struct kunit *test)
{
	struct hypheap_vmperm dst[] = {
		{ HYPHEAP_VMID_HOST, HYPHEAP_PERM_RWX },
		{ HYPHEAP_VMID_SECURE_0, HYPHEAP_PERM_R },
	};
	struct hypheap_range ranges[] = {
		{ 0x40200000, SZ_2M }, { 0x48000000, SZ_64K }, { 0x7fff000, SZ_4K },
	};
	struct hypheap_assign_req req = {
		.srcvm = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST),
		.dst = dst, .nr_dst = 2, .ranges = ranges, .nr_ranges = 3,
	};
	u8 *buf = kunit_kmalloc(test, 256, GFP_KERNEL);
	ssize_t len;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	memset(buf, 0xa5, 256);
	len = hypheap_desc_encode(buf, 256, &req);
	KUNIT_ASSERT_EQ(test, len, (ssize_t)(24 + 2 * 8 + 3 * 16));

	KUNIT_EXPECT_EQ(test, get_unaligned_le32(buf + 0), HYPHEAP_DESC_VERSION);
	KUNIT_EXPECT_EQ(test, get_unaligned_le16(buf + 4), 2);
	KUNIT_EXPECT_EQ(test, get_unaligned_le16(buf + 6), 0);
	KUNIT_EXPECT_EQ(test, get_unaligned_le32(buf + 8), 3U);
	KUNIT_EXPECT_EQ(test, get_unaligned_le32(buf + 12), 0U);
	KUNIT_EXPECT_EQ(test, get_unaligned_le64(buf + 16),
			HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST));
	KUNIT_EXPECT_EQ(test, get_unaligned_le32(buf + 24), HYPHEAP_VMID_HOST);
	KUNIT_EXPECT_EQ(test, get_unaligned_le32(buf + 28), HYPHEAP_PERM_RWX);
	KUNIT_EXPECT_EQ(test, get_unaligned_le32(buf + 32), HYPHEAP_VMID_SECURE_0);
	KUNIT_EXPECT_EQ(test, get_unaligned_le32(buf + 36), HYPHEAP_PERM_R);
	KUNIT_EXPECT_EQ(test, get_unaligned_le64(buf + 40), 0x40200000ULL);
	KUNIT_EXPECT_EQ(test, get_unaligned_le64(buf + 48), (u64)SZ_2M);
	KUNIT_EXPECT_EQ(test, get_unaligned_le64(buf + 56), 0x48000000ULL);
	KUNIT_EXPECT_EQ(test, get_unaligned_le64(buf + 64), (u64)SZ_64K);
	KUNIT_EXPECT_EQ(test, get_unaligned_le64(buf + 72), 0x7fff000ULL);
	KUNIT_EXPECT_EQ(test, get_unaligned_le64(buf + 80), (u64)SZ_4K);
	/* nothing written past the descriptor */
	KUNIT_EXPECT_EQ(test, buf[88], 0xa5);
}

static void desc_rejects_what_does_not_fit(struct kunit *test)
{
	struct hypheap_range range = { 0x40000000, SZ_4K };
	struct hypheap_assign_req req = {
		.srcvm = 1, .dst = &test_secure, .nr_dst = 1,
		.ranges = &range, .nr_ranges = 1,
	};
	u8 buf[64];

	KUNIT_EXPECT_EQ(test, hypheap_desc_encode(buf, 47, &req),
			(ssize_t)-E2BIG);
	KUNIT_EXPECT_EQ(test, hypheap_desc_encode(buf, 48, &req), (ssize_t)48);
	req.nr_ranges = HYPHEAP_DESC_MAX_RANGES(1) + 1;
	KUNIT_EXPECT_EQ(test, hypheap_desc_encode(buf, SIZE_MAX, &req),
			(ssize_t)-E2BIG);
	req.nr_ranges = 0;
	KUNIT_EXPECT_EQ(test, hypheap_desc_encode(buf, sizeof(buf), &req),
			(ssize_t)-EINVAL);
	req.nr_ranges = 1;
	req.nr_dst = 0;
	KUNIT_EXPECT_EQ(test, hypheap_desc_encode(buf, sizeof(buf), &req),
			(ssize_t)-EINVAL);
	req.nr_dst = HYPHEAP_DESC_MAX_DESTS + 1;
	KUNIT_EXPECT_EQ(test, hypheap_desc_encode(buf, sizeof(buf), &req),
			(ssize_t)-EINVAL);
}

static void abi_status_maps_to_errno(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, hypheap_abi_errno(HYPHEAP_OK), 0);
	KUNIT_EXPECT_EQ(test, hypheap_abi_errno(HYPHEAP_ERR_NOT_SUPPORTED),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, hypheap_abi_errno(HYPHEAP_ERR_BUSY), -EBUSY);
	KUNIT_EXPECT_EQ(test, hypheap_abi_errno(HYPHEAP_ERR_NO_MEMORY),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, hypheap_abi_errno(HYPHEAP_ERR_STATE), -EPERM);
	KUNIT_EXPECT_EQ(test, hypheap_abi_errno(HYPHEAP_ERR_PROTECTED), -EPERM);
	KUNIT_EXPECT_EQ(test, hypheap_abi_errno(HYPHEAP_ERR_OUTSIDE_RAM),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, hypheap_abi_errno(HYPHEAP_ERR_OVERLAP), -EINVAL);
	KUNIT_EXPECT_EQ(test, hypheap_abi_errno(HYPHEAP_ERR_BAD_VERSION),
			-EPROTO);
	KUNIT_EXPECT_EQ(test, hypheap_abi_errno(-1000), -EIO);
}

static struct kunit_case hypheap_desc_cases[] = {
	KUNIT_CASE(desc_layout_matches_abi),
	KUNIT_CASE(desc_rejects_what_does_not_fit),
	KUNIT_CASE(abi_status_maps_to_errno),
	{}
};

static struct kunit_suite hypheap_desc_suite = {
	.name = "hypheap-desc",
	.test_cases = hypheap_desc_cases,
};

/* ---- batching sg_tables into calls ---- */

/* One entry per sg entry: page offset from TEST_BASE_PFN and page count. */
struct test_chunk {
	unsigned long pfn_off;
	unsigned int pages;
};

static struct sg_table *test_sgt(struct kunit *test,
				 const struct test_chunk *c, unsigned int n)
{
	struct sg_table *sgt = kunit_kzalloc(test, sizeof(*sgt), GFP_KERNEL);
	struct scatterlist *sg;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, sgt);
	KUNIT_ASSERT_EQ(test, sg_alloc_table(sgt, n, GFP_KERNEL), 0);
	for_each_sgtable_sg(sgt, sg, i)
		sg_set_page(sg, pfn_to_page(TEST_BASE_PFN + c[i].pfn_off),
			    c[i].pages << PAGE_SHIFT, 0);
	return sgt;
}

static int test_res_init(struct kunit_resource *res, void *ctx)
{
	res->data = ctx;
	return 0;
}

static void test_sgt_release(struct kunit_resource *res)
{
	sg_free_table(res->data);
}

static struct sg_table *test_sgt_auto(struct kunit *test,
				      const struct test_chunk *c,
				      unsigned int n)
{
	struct sg_table *sgt = test_sgt(test, c, n);

	if (!kunit_alloc_resource(test, test_res_init, test_sgt_release,
				  GFP_KERNEL, sgt)) {
		sg_free_table(sgt);
		KUNIT_ASSERT_FAILURE(test, "no memory for a test resource");
	}
	return sgt;
}

static phys_addr_t test_pa(unsigned long pfn_off)
{
	return PFN_PHYS(TEST_BASE_PFN + pfn_off);
}

static void iter_merges_contiguous_entries(struct kunit *test)
{
	/* 3 contiguous, a gap, 2 contiguous, then one going backwards */
	static const struct test_chunk c[] = {
		{ 0, 1 }, { 1, 15 }, { 16, 512 }, { 1024, 16 }, { 1040, 1 },
		{ 600, 1 },
	};
	struct sg_table *sgt = test_sgt_auto(test, c, ARRAY_SIZE(c));
	struct hypheap_range r[8];
	struct hypheap_range_iter it;

	hypheap_range_iter_init(&it, sgt);
	KUNIT_ASSERT_EQ(test, hypheap_range_iter_fill(&it, r, 8), 3U);
	KUNIT_EXPECT_EQ(test, r[0].base, test_pa(0));
	KUNIT_EXPECT_EQ(test, r[0].size, 528ULL << PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, r[1].base, test_pa(1024));
	KUNIT_EXPECT_EQ(test, r[1].size, 17ULL << PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, r[2].base, test_pa(600));
	KUNIT_EXPECT_EQ(test, r[2].size, (u64)PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, hypheap_range_iter_fill(&it, r, 8), 0U);
}

static void iter_splits_batches_at_max(struct kunit *test)
{
	/* every other page: 7 ranges that cannot merge */
	static const struct test_chunk c[] = {
		{ 0, 1 }, { 2, 1 }, { 4, 1 }, { 6, 1 }, { 8, 1 }, { 10, 1 },
		{ 12, 1 },
	};
	struct sg_table *sgt = test_sgt_auto(test, c, ARRAY_SIZE(c));
	struct hypheap_range r[3];
	struct hypheap_range_iter it;

	hypheap_range_iter_init(&it, sgt);
	KUNIT_EXPECT_EQ(test, hypheap_range_iter_fill(&it, r, 3), 3U);
	KUNIT_EXPECT_EQ(test, r[2].base, test_pa(4));
	KUNIT_EXPECT_EQ(test, hypheap_range_iter_fill(&it, r, 3), 3U);
	KUNIT_EXPECT_EQ(test, r[0].base, test_pa(6));
	KUNIT_EXPECT_EQ(test, hypheap_range_iter_fill(&it, r, 3), 1U);
	KUNIT_EXPECT_EQ(test, r[0].base, test_pa(12));
	KUNIT_EXPECT_EQ(test, hypheap_range_iter_fill(&it, r, 3), 0U);
}

static void iter_keeps_merging_a_full_batch(struct kunit *test)
{
	/* the last range of a full batch still absorbs contiguous entries */
	static const struct test_chunk c[] = {
		{ 0, 1 }, { 2, 1 }, { 3, 1 }, { 4, 4 }, { 10, 1 },
	};
	struct sg_table *sgt = test_sgt_auto(test, c, ARRAY_SIZE(c));
	struct hypheap_range r[2];
	struct hypheap_range_iter it;

	hypheap_range_iter_init(&it, sgt);
	KUNIT_ASSERT_EQ(test, hypheap_range_iter_fill(&it, r, 2), 2U);
	KUNIT_EXPECT_EQ(test, r[1].base, test_pa(2));
	KUNIT_EXPECT_EQ(test, r[1].size, 6ULL << PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, hypheap_range_iter_fill(&it, r, 2), 1U);
	KUNIT_EXPECT_EQ(test, r[0].base, test_pa(10));
}

/* A transport that logs requests and fails on demand. */
struct test_transport {
	unsigned int calls;
	unsigned int fail_call;		/* 1-based call number to fail, 0: none */
	unsigned int fail_from;		/* fail every call from this one on */
	u64 total_bytes;
	u64 last_srcvm;
	u64 last_dst;
	unsigned int max_seen;
};

static int test_transport_assign(struct hypheap_conduit *c,
				 const struct hypheap_assign_req *req,
				 long *status)
{
	struct test_transport *t = c->priv;
	unsigned int i;

	t->calls++;
	if (t->calls == t->fail_call ||
	    (t->fail_from && t->calls >= t->fail_from)) {
		*status = HYPHEAP_ERR_BUSY;
		return -EBUSY;
	}
	for (i = 0; i < req->nr_ranges; i++)
		t->total_bytes += req->ranges[i].size;
	t->last_srcvm = req->srcvm;
	t->last_dst = hypheap_vmperm_bitmap(req->dst, req->nr_dst);
	t->max_seen = max(t->max_seen, req->nr_ranges);
	return 0;
}

static const struct hypheap_transport_ops test_transport_ops = {
	.name = "kunit",
	.assign = test_transport_assign,
};

static void test_conduit_release(struct kunit_resource *res)
{
	hypheap_conduit_put(res->data);
}

static struct hypheap_conduit *test_conduit(struct kunit *test,
					    struct test_transport *t,
					    unsigned int max_ranges)
{
	struct hypheap_conduit *c;

	c = hypheap_conduit_create(&test_transport_ops, t, max_ranges);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, c);
	if (!kunit_alloc_resource(test, test_res_init, test_conduit_release,
				  GFP_KERNEL, c)) {
		hypheap_conduit_put(c);
		KUNIT_ASSERT_FAILURE(test, "no memory for a test resource");
	}
	return c;
}

static void table_of_2m_chunks_is_one_call(struct kunit *test)
{
	/* 256 MiB in scattered 2 MiB blocks: 128 ranges, one call */
	struct test_chunk *c = kunit_kcalloc(test, 128, sizeof(*c), GFP_KERNEL);
	struct test_transport t = {};
	struct hypheap_conduit *cd;
	struct sg_table *sgt;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, c);
	for (i = 0; i < 128; i++)
		c[i] = (struct test_chunk){ (127 - i) * 1024, 512 };
	sgt = test_sgt_auto(test, c, 128);
	cd = test_conduit(test, &t, HYPHEAP_DESC_MAX_RANGES(HYPHEAP_MAX_DEST));

	KUNIT_ASSERT_EQ(test, hypheap_lend_table(cd, sgt, &test_host,
						 &test_secure, 1, NULL), 0);
	KUNIT_EXPECT_EQ(test, t.calls, 1U);
	KUNIT_EXPECT_EQ(test, t.max_seen, 128U);
	KUNIT_EXPECT_EQ(test, t.total_bytes, (u64)SZ_256M);
	KUNIT_EXPECT_EQ(test, t.last_dst,
			HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0));
	KUNIT_EXPECT_EQ(test, t.last_srcvm,
			HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST));
}

static void table_of_scattered_pages_is_batched(struct kunit *test)
{
	/* 5000 single pages that never touch: 2 calls at 4090 a call */
	const unsigned int n = 5000;
	struct test_chunk *c = kunit_kcalloc(test, n, sizeof(*c), GFP_KERNEL);
	unsigned int max = HYPHEAP_DESC_MAX_RANGES(HYPHEAP_MAX_DEST);
	struct test_transport t = {};
	struct hypheap_conduit *cd;
	struct sg_table *sgt;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, c);
	for (i = 0; i < n; i++)
		c[i] = (struct test_chunk){ 2 * i, 1 };
	sgt = test_sgt_auto(test, c, n);
	cd = test_conduit(test, &t, max);

	KUNIT_ASSERT_EQ(test, hypheap_lend_table(cd, sgt, &test_host,
						 &test_secure, 1, NULL), 0);
	KUNIT_EXPECT_EQ(test, t.calls, DIV_ROUND_UP(n, max));
	KUNIT_EXPECT_EQ(test, t.max_seen, max);
	KUNIT_EXPECT_EQ(test, t.total_bytes, (u64)n << PAGE_SHIFT);
}

static void table_failure_undoes_done_batches(struct kunit *test)
{
	static const struct test_chunk c[] = {
		{ 0, 1 }, { 2, 1 }, { 4, 1 }, { 6, 1 }, { 8, 1 },
	};
	struct sg_table *sgt = test_sgt_auto(test, c, ARRAY_SIZE(c));
	struct test_transport t = { .fail_call = 3 };
	struct hypheap_conduit *cd = test_conduit(test, &t, 2);
	u64 host = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);

	/*
	 * A transport without MEM_QUERY: batches {0,2} {4,6} ok, {8} fails,
	 * then {0,2} {4,6} go back, one reclaim each.
	 */
	KUNIT_EXPECT_EQ(test, hypheap_lend_table(cd, sgt, &test_host,
						 &test_secure, 1, NULL),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, t.calls, 5U);
	KUNIT_EXPECT_EQ(test, t.total_bytes, 8ULL << PAGE_SHIFT);
	KUNIT_EXPECT_EQ(test, t.last_srcvm,
			HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0));
	KUNIT_EXPECT_EQ(test, t.last_dst, host);
}

static void table_failed_undo_is_unrecoverable(struct kunit *test)
{
	static const struct test_chunk c[] = { { 0, 1 }, { 2, 1 }, { 4, 1 } };
	struct sg_table *sgt = test_sgt_auto(test, c, ARRAY_SIZE(c));
	struct test_transport t = { .fail_from = 2 };
	struct hypheap_conduit *cd = test_conduit(test, &t, 2);
	s64 before = hypheap_stat_read(NULL, HYPHEAP_STAT_HYPERCALLS);

	KUNIT_EXPECT_EQ(test, hypheap_lend_table(cd, sgt, &test_host,
						 &test_secure, 1, NULL),
			-ENOTRECOVERABLE);
	KUNIT_EXPECT_EQ(test, hypheap_stat_read(NULL, HYPHEAP_STAT_HYPERCALLS),
			before + 3);
}

static void table_first_failure_makes_one_call(struct kunit *test)
{
	static const struct test_chunk c[] = { { 0, 4 } };
	struct sg_table *sgt = test_sgt_auto(test, c, ARRAY_SIZE(c));
	struct test_transport t = { .fail_call = 1 };
	struct hypheap_conduit *cd = test_conduit(test, &t, 4);
	struct hypheap_stats stats = {};

	KUNIT_EXPECT_EQ(test, hypheap_lend_table(cd, sgt, &test_host,
						 &test_secure, 1, &stats),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, t.calls, 1U);
	KUNIT_EXPECT_EQ(test, hypheap_stat_read(&stats, HYPHEAP_STAT_HYPERCALLS), 1);
	/* failures_<errno> counts operations, which the caller counts */
	KUNIT_EXPECT_EQ(test,
			hypheap_stat_read(&stats, HYPHEAP_STAT_FAIL_EBUSY), 0);
	/* and by the hypervisor's own status */
	KUNIT_EXPECT_EQ(test,
			hypheap_stat_read(&stats, HYPHEAP_STAT_HYP_BUSY), 1);
	KUNIT_EXPECT_EQ(test,
			hypheap_stat_read(&stats, HYPHEAP_STAT_HYP_STATE), 0);
}

static void hyp_status_has_its_own_counter(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, hypheap_hyp_fail_stat(HYPHEAP_ERR_NOT_SUPPORTED),
			HYPHEAP_STAT_HYP_NOT_SUPPORTED);
	KUNIT_EXPECT_EQ(test, hypheap_hyp_fail_stat(HYPHEAP_ERR_OUTSIDE_RAM),
			HYPHEAP_STAT_HYP_OUTSIDE_RAM);
	KUNIT_EXPECT_EQ(test, hypheap_hyp_fail_stat(HYPHEAP_ERR_STATE),
			HYPHEAP_STAT_HYP_STATE);
	KUNIT_EXPECT_EQ(test, hypheap_hyp_fail_stat(HYPHEAP_ERR_STAT_INDEX),
			HYPHEAP_STAT_HYP_STAT_INDEX);
	KUNIT_EXPECT_EQ(test, hypheap_hyp_fail_stat(HYPHEAP_ERR_MAILBOX),
			HYPHEAP_STAT_HYP_MAILBOX);
	KUNIT_EXPECT_EQ(test, hypheap_hyp_fail_stat(HYPHEAP_ERR_FFA),
			HYPHEAP_STAT_HYP_FFA);
	KUNIT_EXPECT_EQ(test, hypheap_hyp_fail_stat(HYPHEAP_ERR_PENDING_LIMIT),
			HYPHEAP_STAT_HYP_PENDING_LIMIT);
	KUNIT_EXPECT_EQ(test, hypheap_hyp_fail_stat(HYPHEAP_ERR_PENDING_LIMIT - 1),
			HYPHEAP_STAT_HYP_OTHER);
	KUNIT_EXPECT_EQ(test, hypheap_hyp_fail_stat(HYPHEAP_OK),
			HYPHEAP_STAT_HYP_OTHER);
	KUNIT_EXPECT_EQ(test, hypheap_hyp_fail_stat(1), HYPHEAP_STAT_HYP_OTHER);
}

static void table_rejects_bad_arguments(struct kunit *test)
{
	static const struct test_chunk c[] = { { 0, 1 } };
	struct sg_table *sgt = test_sgt_auto(test, c, ARRAY_SIZE(c));
	struct test_transport t = {};
	struct hypheap_conduit *cd = test_conduit(test, &t, 4);
	struct hypheap_vmperm bad = { HYPHEAP_VMID_SECURE_0, 0 };
	struct hypheap_vmperm nohost = { HYPHEAP_VMID_LIMIT, HYPHEAP_PERM_RWX };
	struct hypheap_vmperm rohost = { HYPHEAP_VMID_HOST, HYPHEAP_PERM_R };
	u64 owners = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);

	KUNIT_EXPECT_EQ(test, hypheap_lend_table(cd, sgt, &nohost,
						 &test_secure, 1, NULL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, hypheap_lend_table(cd, sgt, &test_host, &bad, 1,
						 NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, hypheap_reclaim_table(cd, sgt, &rohost, owners,
						    &owners, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, t.calls, 0U);
}

/* Every page of @sgt is owned by @owners in the fake's books. */
static bool test_owned_by(struct fake_hyp *fh, struct sg_table *sgt,
			  u64 owners)
{
	struct scatterlist *sg;
	unsigned int i;
	u64 off;

	for_each_sgtable_sg(sgt, sg, i)
		for (off = 0; off < sg->length; off += PAGE_SIZE)
			if (fake_hyp_owner(fh, sg_phys(sg) + off) != owners)
				return false;
	return true;
}

static const struct test_chunk five_apart[] = {
	{ 0, 1 }, { 2, 1 }, { 4, 1 }, { 6, 1 }, { 8, 1 },
};

static void lend_failure_takes_back_exactly_what_was_lent(struct kunit *test)
{
	struct sg_table *sgt = test_sgt_auto(test, five_apart, 5);
	struct fake_hyp *fh = kunit_kzalloc(test, sizeof(*fh), GFP_KERNEL);
	struct hypheap_conduit *cd;
	unsigned int k, lends;

	KUNIT_ASSERT_NOT_NULL(test, fh);
	cd = fake_hyp_conduit(test, fh, 2, true);
	/* batches {0,2} {4,6} {8}: the failure at each of them */
	for (k = 1; k <= 3; k++) {
		fake_hyp_fail(fh, k, 1, HYPHEAP_ERR_NO_MEMORY, false);
		KUNIT_EXPECT_EQ(test, hypheap_lend_table(cd, sgt, &test_host,
							 &test_secure, 1, NULL),
				-ENOMEM);
		lends = fh->lends;
		KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(fh));
		/* the 2 (k - 1) pages lent came back, two ranges a call */
		KUNIT_EXPECT_EQ(test, fh->reclaims, k - 1);
		KUNIT_EXPECT_EQ(test, lends, k);
		fh->reclaims = 0;
		fh->lends = 0;
	}
}

static void lend_of_unknown_outcome_is_resolved_by_query(struct kunit *test)
{
	struct sg_table *sgt = test_sgt_auto(test, five_apart, 5);
	struct fake_hyp *fh = kunit_kzalloc(test, sizeof(*fh), GFP_KERNEL);
	struct hypheap_conduit *cd;

	KUNIT_ASSERT_NOT_NULL(test, fh);
	cd = fake_hyp_conduit(test, fh, 8, true);

	/* a status abi.h does not define, after the pages did change */
	fake_hyp_fail(fh, 1, 1, -1000, true);
	KUNIT_EXPECT_EQ(test, hypheap_lend_table(cd, sgt, &test_host,
						 &test_secure, 1, NULL), -EIO);
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(fh));
	KUNIT_EXPECT_EQ(test, fh->reclaims, 1U);
	KUNIT_EXPECT_GE(test, fh->queries, 5U);

	/* and before they did: nothing to take back */
	fh->reclaims = 0;
	fake_hyp_fail(fh, 1, 1, -1000, false);
	KUNIT_EXPECT_EQ(test, hypheap_lend_table(cd, sgt, &test_host,
						 &test_secure, 1, NULL), -EIO);
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(fh));
	KUNIT_EXPECT_EQ(test, fh->reclaims, 0U);

	/* still lent and cannot come back now: the caller must quarantine */
	fake_hyp_fail(fh, 1, 2, -1000, true);
	KUNIT_EXPECT_EQ(test, hypheap_lend_table(cd, sgt, &test_host,
						 &test_secure, 1, NULL),
			-ENOTRECOVERABLE);
	KUNIT_EXPECT_TRUE(test, test_owned_by(fh, sgt,
					      HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0)));
}

static void lend_of_unknown_outcome_without_query_is_unrecoverable(struct kunit *t)
{
	struct sg_table *sgt = test_sgt_auto(t, five_apart, 5);
	struct fake_hyp *fh = kunit_kzalloc(t, sizeof(*fh), GFP_KERNEL);
	struct hypheap_conduit *cd;
	u64 owners = 0;

	KUNIT_ASSERT_NOT_NULL(t, fh);
	cd = fake_hyp_conduit(t, fh, 8, false);
	/* what qcom_scm does: a bare errno, whatever it changed */
	fake_hyp_fail(fh, 1, 1, HYPHEAP_OK, false);
	fh->fail_errno = -EINVAL;
	KUNIT_EXPECT_EQ(t, hypheap_lend_table(cd, sgt, &test_host, &test_secure,
					      1, NULL), -ENOTRECOVERABLE);
	/* unknown owners cannot be reclaimed without MEM_QUERY */
	KUNIT_EXPECT_EQ(t, hypheap_reclaim_table(cd, sgt, &test_host,
						 HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0),
						 &owners, NULL),
			-ENOTRECOVERABLE);
	KUNIT_EXPECT_EQ(t, fh->calls, 1U);
}

static void reclaim_is_never_undone(struct kunit *test)
{
	struct sg_table *sgt = test_sgt_auto(test, five_apart, 5);
	struct fake_hyp *fh = kunit_kzalloc(test, sizeof(*fh), GFP_KERNEL);
	u64 svm = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);
	struct hypheap_conduit *cd;
	unsigned int k;
	u64 owners;

	KUNIT_ASSERT_NOT_NULL(test, fh);
	cd = fake_hyp_conduit(test, fh, 2, true);
	for (k = 1; k <= 3; k++) {
		KUNIT_ASSERT_EQ(test, hypheap_lend_table(cd, sgt, &test_host,
							 &test_secure, 1, NULL),
				0);
		fh->lends = 0;
		owners = svm;
		fake_hyp_fail(fh, k, 1, HYPHEAP_ERR_BUSY, false);
		KUNIT_EXPECT_EQ(test, hypheap_reclaim_table(cd, sgt, &test_host,
							    svm, &owners, NULL),
				-EBUSY);
		KUNIT_EXPECT_EQ(test, fh->lends, 0U);
		/* the first batch failing changed nothing: owners still known */
		KUNIT_EXPECT_EQ(test, owners, k == 1 ? svm : 0);

		/* the retry takes the rest: MEM_QUERY says what is left */
		KUNIT_EXPECT_EQ(test, hypheap_reclaim_table(cd, sgt, &test_host,
							    svm, &owners, NULL),
				0);
		KUNIT_EXPECT_EQ(test, owners,
				HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST));
		KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(fh));
		KUNIT_EXPECT_EQ(test, fh->lends, 0U);
	}
}

static void resync_leaves_foreign_pages_alone(struct kunit *test)
{
	struct sg_table *sgt = test_sgt_auto(test, five_apart, 5);
	struct fake_hyp *fh = kunit_kzalloc(test, sizeof(*fh), GFP_KERNEL);
	u64 svm0 = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);
	u64 svm1 = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_1);
	struct hypheap_conduit *cd;
	u64 owners = 0;

	KUNIT_ASSERT_NOT_NULL(test, fh);
	cd = fake_hyp_conduit(test, fh, 8, true);
	/* page 2 is lent to a VM this buffer was never lent to */
	xa_store(&fh->owners, TEST_BASE_PFN + 2, xa_mk_value(svm1), GFP_KERNEL);
	xa_store(&fh->owners, TEST_BASE_PFN + 4, xa_mk_value(svm0), GFP_KERNEL);
	KUNIT_EXPECT_EQ(test, hypheap_reclaim_table(cd, sgt, &test_host, svm0,
						    &owners, NULL), -EPERM);
	KUNIT_EXPECT_EQ(test, fake_hyp_owner(fh, test_pa(2)), svm1);
	KUNIT_EXPECT_EQ(test, fake_hyp_owner(fh, test_pa(4)),
			HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST));
	KUNIT_EXPECT_EQ(test, owners, 0ULL);
	xa_erase(&fh->owners, TEST_BASE_PFN + 2);
}

/*
 * The driver's books say VM 11 but the pages are VM 10's: the hypervisor
 * answers STATE. Before, every retry sent the same wrong srcvm for ever;
 * now the reclaim asks MEM_QUERY and brings back exactly what it finds.
 */
static void reclaim_with_wrong_owners_resyncs(struct kunit *test)
{
	struct sg_table *sgt = test_sgt_auto(test, five_apart, 5);
	struct fake_hyp *fh = kunit_kzalloc(test, sizeof(*fh), GFP_KERNEL);
	u64 svm0 = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);
	u64 svm1 = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_1);
	struct hypheap_conduit *cd;
	u64 owners = svm1;

	KUNIT_ASSERT_NOT_NULL(test, fh);
	cd = fake_hyp_conduit(test, fh, 8, true);
	KUNIT_ASSERT_EQ(test, hypheap_lend_table(cd, sgt, &test_host,
						 &test_secure, 1, NULL), 0);
	KUNIT_EXPECT_EQ(test, hypheap_reclaim_table(cd, sgt, &test_host,
						    svm0 | svm1, &owners, NULL),
			0);
	KUNIT_EXPECT_EQ(test, owners, HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST));
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(fh));
	KUNIT_EXPECT_GE(test, fh->queries, 1U);
}

static void abi_errors_leave_pages_alone(struct kunit *test)
{
	long st;

	for (st = HYPHEAP_ERR_NOT_SUPPORTED; st >= HYPHEAP_ERR_PENDING_LIMIT; st--)
		KUNIT_EXPECT_TRUE(test, hypheap_status_unchanged(st));
	KUNIT_EXPECT_TRUE(test, hypheap_status_unchanged(HYPHEAP_STATUS_NOT_SENT));
	KUNIT_EXPECT_FALSE(test, hypheap_status_unchanged(HYPHEAP_OK));
	/* pieces of a split call changed owner before it failed */
	KUNIT_EXPECT_FALSE(test, hypheap_status_unchanged(HYPHEAP_STATUS_PARTIAL));
	KUNIT_EXPECT_FALSE(test, hypheap_status_unchanged(HYPHEAP_PREEMPTED));
	KUNIT_EXPECT_FALSE(test,
			   hypheap_status_unchanged(HYPHEAP_ERR_PENDING_LIMIT - 1));
	KUNIT_EXPECT_FALSE(test, hypheap_status_unchanged(-1000));
}

/*
 * hypheap_assign_mem(), the qcom_scm_assign_mem() mirror, through a fake
 * hypervisor made the default conduit for the duration of the case (the
 * real one, if bound, is put back): an error the ABI defines leaves *srcvm
 * as it was and is returned as its errno; an outcome the driver cannot know
 * is -ENOTRECOVERABLE, counted once, and *srcvm still names the old owners
 * so that the caller neither frees nor forgets the range.
 */
/* The default conduit swapped for the case's, and put back however it ends. */
static int swap_default_conduit(struct kunit_resource *res, void *fake)
{
	res->data = hypheap_get_default_conduit();
	hypheap_set_default_conduit(fake);
	return 0;
}

static void restore_default_conduit(struct kunit_resource *res)
{
	struct hypheap_conduit *real = res->data;

	hypheap_set_default_conduit(real);
	if (real)
		hypheap_conduit_put(real);
}

static void assign_mem_reports_unknown_outcome(struct kunit *test)
{
	struct fake_hyp *fh = kunit_kzalloc(test, sizeof(*fh), GFP_KERNEL);
	u64 host = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
	u64 svm = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);
	struct hypheap_conduit *cd;
	s64 other;
	u64 srcvm;

	KUNIT_ASSERT_NOT_NULL(test, fh);
	cd = fake_hyp_conduit(test, fh, 8, true);
	KUNIT_ASSERT_NOT_NULL(test, kunit_alloc_resource(test, swap_default_conduit,
							 restore_default_conduit,
							 GFP_KERNEL, cd));

	/* defined validation error: nothing changed, its own errno */
	srcvm = host;
	fake_hyp_fail(fh, 1, 1, HYPHEAP_ERR_STATE, false);
	KUNIT_EXPECT_EQ(test, hypheap_assign_mem(test_pa(0), 2 * PAGE_SIZE,
						 &srcvm, &test_secure, 1),
			-EPERM);
	KUNIT_EXPECT_EQ(test, srcvm, host);
	KUNIT_EXPECT_EQ(test, fake_hyp_owner(fh, test_pa(0)), host);

	/* a status abi.h does not define, after the pages changed */
	other = hypheap_stat_read(&hypheap_total_stats, HYPHEAP_STAT_FAIL_OTHER);
	fake_hyp_fail(fh, 1, 1, -1000, true);
	KUNIT_EXPECT_EQ(test, hypheap_assign_mem(test_pa(0), 2 * PAGE_SIZE,
						 &srcvm, &test_secure, 1),
			-ENOTRECOVERABLE);
	KUNIT_EXPECT_EQ(test, srcvm, host);
	KUNIT_EXPECT_EQ(test, fake_hyp_owner(fh, test_pa(0)), svm);
	KUNIT_EXPECT_EQ(test,
			hypheap_stat_read(&hypheap_total_stats,
					  HYPHEAP_STAT_FAIL_OTHER) - other, 1);

	/* and a clean call afterwards returns the new owners */
	srcvm = svm;
	KUNIT_EXPECT_EQ(test, hypheap_assign_mem(test_pa(0), 2 * PAGE_SIZE,
						 &srcvm, &test_host, 1), 0);
	KUNIT_EXPECT_EQ(test, srcvm, host);
	KUNIT_EXPECT_TRUE(test, fake_hyp_all_host(fh));
}

static struct kunit_case hypheap_batch_cases[] = {
	KUNIT_CASE(iter_merges_contiguous_entries),
	KUNIT_CASE(iter_splits_batches_at_max),
	KUNIT_CASE(iter_keeps_merging_a_full_batch),
	KUNIT_CASE(table_of_2m_chunks_is_one_call),
	KUNIT_CASE(table_of_scattered_pages_is_batched),
	KUNIT_CASE(table_failure_undoes_done_batches),
	KUNIT_CASE(table_failed_undo_is_unrecoverable),
	KUNIT_CASE(table_first_failure_makes_one_call),
	KUNIT_CASE(hyp_status_has_its_own_counter),
	KUNIT_CASE(table_rejects_bad_arguments),
	KUNIT_CASE(lend_failure_takes_back_exactly_what_was_lent),
	KUNIT_CASE(lend_of_unknown_outcome_is_resolved_by_query),
	KUNIT_CASE(lend_of_unknown_outcome_without_query_is_unrecoverable),
	KUNIT_CASE(reclaim_is_never_undone),
	KUNIT_CASE(resync_leaves_foreign_pages_alone),
	KUNIT_CASE(reclaim_with_wrong_owners_resyncs),
	KUNIT_CASE(abi_errors_leave_pages_alone),
	KUNIT_CASE(assign_mem_reports_unknown_outcome),
	{}
};

static struct kunit_suite hypheap_batch_suite = {
	.name = "hypheap-batch",
	.test_cases = hypheap_batch_cases,
};

kunit_test_suites(&hypheap_vmperm_suite, &hypheap_desc_suite,
		  &hypheap_batch_suite);

MODULE_DESCRIPTION("KUnit tests of hypheap");
MODULE_LICENSE("GPL");

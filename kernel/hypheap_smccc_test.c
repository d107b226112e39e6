// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite "hypheap-smccc": the SMCCC transport (hypheap_smccc.c) over a
 * fake hypervisor that speaks the ABI's long calls (docs/abi.md, "Long calls
 * in pieces"): a MEM_ASSIGN of more than HYPHEAP_PIECE_PAGES pages is done
 * one piece per call, its pages are the operation's until the last piece
 * (MEM_QUERY flags them PENDING, a MEM_ASSIGN naming one answers PENDING),
 * and MEM_CONTINUE may answer NO_MEMORY, changing nothing, for as long as
 * the case says. The case that matters: NO_MEMORY for longer than the
 * transport waits, then memory comes back; the operation must still end and
 * every page must come back to the host, through the heap's ordinary paths.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/test.h>
#include <linux/arm-smccc.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>

#include <hypheap/abi.h>

#include "hypheap_priv.h"

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);

#define ST_BLOCKS	3			/* 2 MiB each: 3 pieces */
#define ST_PAGES	(ST_BLOCKS * (SZ_2M >> PAGE_SHIFT))
#define ST_MAX_RANGES	8

/**
 * struct st_hyp - the fake hypervisor
 * @base: first page of each block (the books cover these pages only)
 * @owner: owners bitmap of every page, in block order
 * @op_live: an operation is in progress
 * @op_to: its destination bitmap
 * @op_ranges: its ranges, as the descriptor gave them
 * @op_nr: how many
 * @op_done: pages done, in range order
 * @op_total: pages in all
 * @op_gen: generation, in the token
 * @no_memory: MEM_CONTINUE answers NO_MEMORY this many more times
 * @refuse_state: then answers STATE (changing nothing) this many more times
 * @continues: MEM_CONTINUE calls so far
 * @pieces: pieces done so far
 */
struct st_hyp {
	phys_addr_t base[ST_BLOCKS];
	u64 owner[ST_PAGES];
	bool op_live;
	u64 op_to;
	struct hypheap_range op_ranges[ST_MAX_RANGES];
	unsigned int op_nr;
	u64 op_done;
	u64 op_total;
	unsigned long op_gen;
	unsigned int no_memory;
	unsigned int refuse_state;
	unsigned int continues;
	unsigned int pieces;
	unsigned int calls;
	unsigned long minor;
};

static const u64 st_host = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
static const struct hypheap_vmperm st_hostperm = {
	.vmid = HYPHEAP_VMID_HOST, .perms = HYPHEAP_PERM_RWX,
};

static const struct hypheap_vmperm st_dst = {
	.vmid = HYPHEAP_VMID_SECURE_0, .perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W,
};

/* the books' slot of @pa, or NULL outside them */
static u64 *st_slot(struct st_hyp *h, phys_addr_t pa)
{
	unsigned int b;

	for (b = 0; b < ST_BLOCKS; b++)
		if (pa >= h->base[b] && pa < h->base[b] + SZ_2M)
			return &h->owner[b * (SZ_2M >> PAGE_SHIFT) +
					 ((pa - h->base[b]) >> PAGE_SHIFT)];
	return NULL;
}

static bool st_in_op(struct st_hyp *h, phys_addr_t pa)
{
	unsigned int i;

	if (!h->op_live)
		return false;
	for (i = 0; i < h->op_nr; i++)
		if (pa >= h->op_ranges[i].base &&
		    pa < h->op_ranges[i].base + h->op_ranges[i].size)
			return true;
	return false;
}

static unsigned long st_token(struct st_hyp *h)
{
	return BIT(63) | h->op_gen << 8;
}

/* The next piece: up to HYPHEAP_PIECE_PAGES pages of the operation. */
static void st_piece(struct st_hyp *h)
{
	u64 skip = h->op_done, left = HYPHEAP_PIECE_PAGES;
	unsigned int i;

	for (i = 0; i < h->op_nr && left; i++) {
		u64 pages = h->op_ranges[i].size >> PAGE_SHIFT, p;

		if (skip >= pages) {
			skip -= pages;
			continue;
		}
		for (p = skip; p < pages && left; p++, left--) {
			*st_slot(h, h->op_ranges[i].base + p * PAGE_SIZE) =
				h->op_to;
			h->op_done++;
		}
		skip = 0;
	}
	h->pieces++;
}

static void st_assign(struct st_hyp *h, phys_addr_t desc_pa,
		      struct arm_smccc_res *res)
{
	const struct hypheap_assign_hdr *hdr = phys_to_virt(desc_pa);
	const struct hypheap_vmperm *vm = (const void *)(hdr + 1);
	const struct hypheap_mem_range *r = (const void *)(vm + hdr->nr_dests);
	u64 to = 0, total = 0, off, *slot;
	unsigned int i;

	for (i = 0; i < hdr->nr_dests; i++)
		to |= HYPHEAP_VMID_BIT(vm[i].vmid);
	/* validate everything, then change anything */
	for (i = 0; i < hdr->nr_ranges; i++)
		for (off = 0; off < r[i].size; off += PAGE_SIZE) {
			slot = st_slot(h, r[i].addr + off);
			if (!slot || st_in_op(h, r[i].addr + off)) {
				res->a0 = slot ? HYPHEAP_ERR_PENDING :
						 HYPHEAP_ERR_OUTSIDE_RAM;
				return;
			}
			if (*slot != hdr->srcvm) {
				res->a0 = HYPHEAP_ERR_STATE;
				return;
			}
			total++;
		}
	if (total > HYPHEAP_PIECE_PAGES &&
	    (h->op_live || hdr->nr_ranges > ST_MAX_RANGES)) {
		res->a0 = HYPHEAP_ERR_PENDING_LIMIT;
		return;
	}
	res->a0 = HYPHEAP_OK;
	res->a1 = to;
	if (total <= HYPHEAP_PIECE_PAGES) {
		/* one piece: done in the call, whatever else is in progress */
		for (i = 0; i < hdr->nr_ranges; i++)
			for (off = 0; off < r[i].size; off += PAGE_SIZE)
				*st_slot(h, r[i].addr + off) = to;
		h->pieces++;
		return;
	}
	h->op_to = to;
	h->op_nr = hdr->nr_ranges;
	for (i = 0; i < hdr->nr_ranges; i++) {
		h->op_ranges[i].base = r[i].addr;
		h->op_ranges[i].size = r[i].size;
	}
	h->op_done = 0;
	h->op_total = total;
	st_piece(h);
	h->op_live = true;
	h->op_gen++;
	res->a0 = HYPHEAP_PREEMPTED;
	res->a1 = st_token(h);
}

static void st_continue(struct st_hyp *h, unsigned long token,
			struct arm_smccc_res *res)
{
	h->continues++;
	if (!h->op_live || token != st_token(h)) {
		res->a0 = HYPHEAP_ERR_TOKEN;
		return;
	}
	if (h->no_memory) {
		h->no_memory--;
		res->a0 = HYPHEAP_ERR_NO_MEMORY;
		return;
	}
	if (h->refuse_state) {
		h->refuse_state--;
		res->a0 = HYPHEAP_ERR_STATE;
		return;
	}
	st_piece(h);
	if (h->op_done < h->op_total) {
		res->a0 = HYPHEAP_PREEMPTED;
		res->a1 = token;
		return;
	}
	h->op_live = false;
	res->a0 = HYPHEAP_OK;
	res->a1 = h->op_to;
}

static void st_query(struct st_hyp *h, phys_addr_t pa, u64 pages,
		     struct arm_smccc_res *res)
{
	u64 *slot = st_slot(h, pa), n;
	bool pending = st_in_op(h, pa);

	if (!slot) {
		res->a0 = HYPHEAP_ERR_OUTSIDE_RAM;
		return;
	}
	for (n = 1; n < pages; n++) {
		u64 *next = st_slot(h, pa + n * PAGE_SIZE);

		if (!next || *next != *slot ||
		    st_in_op(h, pa + n * PAGE_SIZE) != pending)
			break;
	}
	res->a0 = HYPHEAP_OK;
	res->a1 = *slot;
	res->a2 = HYPHEAP_STATE_EXCLUSIVE |
		  (pending ? HYPHEAP_STATE_F_PENDING : 0);
	res->a3 = n;
}

static void st_call(void *ctx, unsigned long fn, unsigned long a1,
		    unsigned long a2, struct arm_smccc_res *res)
{
	struct st_hyp *h = ctx;

	memset(res, 0, sizeof(*res));
	h->calls++;
	switch (fn) {
	case HYPHEAP_FN_VENDOR_HYP_UID:
		res->a0 = HYPHEAP_UID_0;
		res->a1 = HYPHEAP_UID_1;
		res->a2 = HYPHEAP_UID_2;
		res->a3 = HYPHEAP_UID_3;
		break;
	case HYPHEAP_FN_VENDOR_HYP_REVISION:
		res->a0 = HYPHEAP_ABI_VERSION_MAJOR;
		res->a1 = h->minor ?: HYPHEAP_ABI_VERSION_MINOR;
		break;
	case HYPHEAP_FN_MEM_ASSIGN:
		st_assign(h, a1, res);
		break;
	case HYPHEAP_FN_MEM_CONTINUE:
		if (a2)
			res->a0 = HYPHEAP_ERR_DESC_RESERVED;
		else
			st_continue(h, a1, res);
		break;
	case HYPHEAP_FN_MEM_QUERY:
		st_query(h, a1, a2, res);
		break;
	default:
		res->a0 = HYPHEAP_ERR_NOT_SUPPORTED;
	}
}

/**
 * struct st_ctx - one case
 * @h: the fake hypervisor
 * @c: the real transport over it
 * @pages: the blocks (never touched: the fake keeps books only)
 * @sgt: the blocks as a buffer's table
 */
struct st_ctx {
	struct st_hyp h;
	struct hypheap_conduit *c;
	struct page *pages[ST_BLOCKS];
	struct sg_table sgt;
};

static int st_init(struct kunit *test)
{
	struct st_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	struct scatterlist *sg;
	unsigned int i;
	u64 p;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	test->priv = ctx;
	for (i = 0; i < ST_BLOCKS; i++) {
		ctx->pages[i] = alloc_pages(GFP_KERNEL | __GFP_NOWARN,
					    get_order(SZ_2M));
		KUNIT_ASSERT_NOT_NULL(test, ctx->pages[i]);
		ctx->h.base[i] = page_to_phys(ctx->pages[i]);
	}
	for (p = 0; p < ST_PAGES; p++)
		ctx->h.owner[p] = st_host;
	KUNIT_ASSERT_EQ(test, sg_alloc_table(&ctx->sgt, ST_BLOCKS, GFP_KERNEL),
			0);
	for_each_sgtable_sg(&ctx->sgt, sg, i)
		sg_set_page(sg, ctx->pages[i], SZ_2M, 0);
	ctx->c = hypheap_smccc_create_fake(NULL, st_call, &ctx->h);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ctx->c);
	return 0;
}

static void st_exit(struct kunit *test)
{
	struct st_ctx *ctx = test->priv;
	unsigned int i;

	if (!ctx)
		return;
	if (!IS_ERR_OR_NULL(ctx->c))
		hypheap_conduit_put(ctx->c);
	sg_free_table(&ctx->sgt);
	/* the fake never took them from the host: free them whatever it says */
	for (i = 0; i < ST_BLOCKS; i++)
		if (ctx->pages[i])
			__free_pages(ctx->pages[i], get_order(SZ_2M));
}

static unsigned int st_count(struct st_hyp *h, u64 owner)
{
	unsigned int p, n = 0;

	for (p = 0; p < ST_PAGES; p++)
		n += h->owner[p] == owner;
	return n;
}

/* No NO_MEMORY: one call and two MEM_CONTINUEs each way. */
static void a_long_lend_and_reclaim_go_piece_by_piece(struct kunit *test)
{
	struct st_ctx *ctx = test->priv;
	u64 owners = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);

	KUNIT_EXPECT_EQ(test, hypheap_lend_table(ctx->c, &ctx->sgt,
						 &st_hostperm, &st_dst, 1,
						 NULL), 0);
	KUNIT_EXPECT_EQ(test, st_count(&ctx->h, owners), ST_PAGES);
	KUNIT_EXPECT_EQ(test, ctx->h.pieces, ST_BLOCKS);
	KUNIT_EXPECT_EQ(test, ctx->h.continues, ST_BLOCKS - 1);
	KUNIT_EXPECT_EQ(test, hypheap_reclaim_table(ctx->c, &ctx->sgt,
						    &st_hostperm, owners,
						    &owners, NULL), 0);
	KUNIT_EXPECT_EQ(test, owners, st_host);
	KUNIT_EXPECT_EQ(test, st_count(&ctx->h, st_host), ST_PAGES);
	KUNIT_EXPECT_FALSE(test, ctx->h.op_live);
}

/* More NO_MEMORY answers than the transport waits for (100 tries). */
#define ST_LONG_SHORTAGE	150

/*
 * A lend whose second piece is refused NO_MEMORY for longer than the
 * transport waits fails, its buffer's owners unknown; when memory comes
 * back, the quarantine's retry (a reclaim with unknown owners) must end the
 * operation and bring every page back. Dropping the token instead leaves
 * the operation in progress for ever: its pages answer PENDING, and neither
 * side can use them again.
 */
static void a_lend_stalled_past_the_wait_ends_when_memory_returns(struct kunit *test)
{
	struct st_ctx *ctx = test->priv;
	u64 owners = 0;

	ctx->h.no_memory = ST_LONG_SHORTAGE;
	KUNIT_EXPECT_EQ(test, hypheap_lend_table(ctx->c, &ctx->sgt,
						 &st_hostperm, &st_dst, 1,
						 NULL), -ENOTRECOVERABLE);
	KUNIT_EXPECT_TRUE(test, ctx->h.op_live);
	/* the pages of the piece done are lent; no page is lost yet */
	KUNIT_EXPECT_EQ(test, st_count(&ctx->h, st_host) +
			st_count(&ctx->h,
				 HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0)),
			ST_PAGES);

	ctx->h.no_memory = 0;	/* memory comes back */
	KUNIT_EXPECT_EQ(test, hypheap_reclaim_table(ctx->c, &ctx->sgt,
						    &st_hostperm,
						    HYPHEAP_VMID_BIT(st_dst.vmid),
						    &owners, NULL), 0);
	KUNIT_EXPECT_EQ(test, owners, st_host);
	KUNIT_EXPECT_FALSE_MSG(test, ctx->h.op_live,
			       "the operation was left in progress");
	KUNIT_EXPECT_EQ(test, st_count(&ctx->h, st_host), ST_PAGES);
}

/* The same for a reclaim: it ends, and every page is the host's. */
static void a_reclaim_stalled_past_the_wait_ends_when_memory_returns(struct kunit *test)
{
	struct st_ctx *ctx = test->priv;
	u64 lent_to = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0), owners = lent_to;
	int ret;

	KUNIT_ASSERT_EQ(test, hypheap_lend_table(ctx->c, &ctx->sgt,
						 &st_hostperm, &st_dst, 1,
						 NULL), 0);
	ctx->h.no_memory = ST_LONG_SHORTAGE;
	ret = hypheap_reclaim_table(ctx->c, &ctx->sgt, &st_hostperm, lent_to,
				    &owners, NULL);
	KUNIT_EXPECT_NE(test, ret, 0);
	KUNIT_EXPECT_EQ(test, owners, 0ULL);	/* part came back */
	KUNIT_EXPECT_TRUE(test, ctx->h.op_live);

	/* still short: the retry fails and changes nothing, the token kept */
	ctx->h.no_memory = ST_LONG_SHORTAGE;
	KUNIT_EXPECT_NE(test, hypheap_reclaim_table(ctx->c, &ctx->sgt,
						    &st_hostperm, lent_to,
						    &owners, NULL), 0);
	KUNIT_EXPECT_TRUE(test, ctx->h.op_live);

	ctx->h.no_memory = 0;
	KUNIT_EXPECT_EQ(test, hypheap_reclaim_table(ctx->c, &ctx->sgt,
						    &st_hostperm, lent_to,
						    &owners, NULL), 0);
	KUNIT_EXPECT_EQ(test, owners, st_host);
	KUNIT_EXPECT_FALSE_MSG(test, ctx->h.op_live,
			       "the operation was left in progress");
	KUNIT_EXPECT_EQ(test, st_count(&ctx->h, st_host), ST_PAGES);
}

/*
 * Any refusal of a MEM_CONTINUE but TOKEN leaves the operation in progress,
 * not only NO_MEMORY: the token is kept for those too, so the failed lend's
 * own recovery ends the operation and brings every page back. A dropped
 * token leaves the operation in progress for ever instead.
 */
static void a_lend_refused_after_a_piece_keeps_its_token(struct kunit *test)
{
	struct st_ctx *ctx = test->priv;

	ctx->h.refuse_state = 1;
	KUNIT_EXPECT_NE(test, hypheap_lend_table(ctx->c, &ctx->sgt,
						 &st_hostperm, &st_dst, 1,
						 NULL), 0);
	KUNIT_EXPECT_FALSE_MSG(test, ctx->h.op_live,
			       "the operation was left in progress");
	KUNIT_EXPECT_EQ(test, st_count(&ctx->h, st_host), ST_PAGES);
}

/*
 * A caller told to ask MEM_QUERY after -ENOTRECOVERABLE, on a conduit
 * nothing else calls, sees the operation end once memory is back, not its
 * pages PENDING for ever.
 */
static void a_query_lets_a_kept_operation_end(struct kunit *test)
{
	struct st_ctx *ctx = test->priv;
	struct hypheap_query q = {};
	long status;

	ctx->h.no_memory = ST_LONG_SHORTAGE;
	KUNIT_EXPECT_EQ(test, hypheap_lend_table(ctx->c, &ctx->sgt,
						 &st_hostperm, &st_dst, 1,
						 NULL), -ENOTRECOVERABLE);
	ctx->h.no_memory = 0;
	KUNIT_ASSERT_EQ(test, hypheap_conduit_query(ctx->c, ctx->h.base[2], 1,
						    &q, &status), 0);
	KUNIT_EXPECT_FALSE_MSG(test, ctx->h.op_live,
			       "the operation was left in progress");
	KUNIT_EXPECT_EQ(test, q.state & HYPHEAP_STATE_F_PENDING, 0ULL);
	KUNIT_EXPECT_EQ(test, q.owners,
			HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0));
}

/* @sgt: blocks @first.. of @ctx, @n of them */
static void st_table(struct kunit *test, struct st_ctx *ctx,
		     struct sg_table *sgt, unsigned int first, unsigned int n)
{
	struct scatterlist *sg;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, sg_alloc_table(sgt, n, GFP_KERNEL), 0);
	for_each_sgtable_sg(sgt, sg, i)
		sg_set_page(sg, ctx->pages[first + i], SZ_2M, 0);
}

/*
 * An operation that still cannot go on keeps only its own pages: another
 * buffer's recovery (a reclaim with unknown owners) is not held up by it.
 */
static void a_kept_operation_holds_up_no_other_buffer(struct kunit *test)
{
	struct st_ctx *ctx = test->priv;
	u64 lent_to = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0), owners = 0;
	struct sg_table two, one;
	int ret;

	st_table(test, ctx, &two, 0, 2);
	st_table(test, ctx, &one, 2, 1);
	ctx->h.no_memory = 10 * ST_LONG_SHORTAGE;
	KUNIT_EXPECT_EQ(test, hypheap_lend_table(ctx->c, &two, &st_hostperm,
						 &st_dst, 1, NULL),
			-ENOTRECOVERABLE);
	/* one piece: no MEM_CONTINUE, done in the call */
	KUNIT_EXPECT_EQ(test, hypheap_lend_table(ctx->c, &one, &st_hostperm,
						 &st_dst, 1, NULL), 0);
	ret = hypheap_reclaim_table(ctx->c, &one, &st_hostperm, lent_to,
				    &owners, NULL);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, owners, st_host);
	KUNIT_EXPECT_TRUE(test, ctx->h.op_live);

	ctx->h.no_memory = 0;
	owners = 0;
	KUNIT_EXPECT_EQ(test, hypheap_reclaim_table(ctx->c, &two, &st_hostperm,
						    lent_to, &owners, NULL),
			0);
	KUNIT_EXPECT_FALSE(test, ctx->h.op_live);
	KUNIT_EXPECT_EQ(test, st_count(&ctx->h, st_host), ST_PAGES);
	sg_free_table(&two);
	sg_free_table(&one);
}

/*
 * The scrub in place is ABI 1.8: a conduit to a 1.7 hypervisor never sends
 * it (that one would answer DEST_SET), one to 1.8 does.
 */
static void only_a_1_8_hypervisor_is_asked_to_scrub_in_place(struct kunit *test)
{
	struct st_ctx *ctx = test->priv;
	struct st_hyp *old = kunit_kzalloc(test, sizeof(*old), GFP_KERNEL);
	struct hypheap_conduit *c;

	KUNIT_ASSERT_NOT_NULL(test, old);
	old->minor = 7;
	KUNIT_EXPECT_TRUE(test, ctx->c->scrubs_in_place);
	c = hypheap_smccc_create_fake(NULL, st_call, old);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, c);
	KUNIT_EXPECT_FALSE(test, c->scrubs_in_place);
	old->calls = 0;
	KUNIT_EXPECT_EQ(test, hypheap_scrub_table(c, &ctx->sgt, &st_dst, NULL),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, old->calls, 0U);
	hypheap_conduit_put(c);
}

static struct kunit_case hypheap_smccc_cases[] = {
	KUNIT_CASE(a_long_lend_and_reclaim_go_piece_by_piece),
	KUNIT_CASE(a_lend_stalled_past_the_wait_ends_when_memory_returns),
	KUNIT_CASE(a_reclaim_stalled_past_the_wait_ends_when_memory_returns),
	KUNIT_CASE(a_lend_refused_after_a_piece_keeps_its_token),
	KUNIT_CASE(a_query_lets_a_kept_operation_end),
	KUNIT_CASE(a_kept_operation_holds_up_no_other_buffer),
	KUNIT_CASE(only_a_1_8_hypervisor_is_asked_to_scrub_in_place),
	{}
};

static struct kunit_suite hypheap_smccc_suite = {
	.name = "hypheap-smccc",
	.init = st_init,
	.exit = st_exit,
	.test_cases = hypheap_smccc_cases,
};

kunit_test_suite(hypheap_smccc_suite);

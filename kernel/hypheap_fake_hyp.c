// SPDX-License-Identifier: GPL-2.0
/*
 * The fake hypervisor of hypheap_kunit.ko (hypheap_fake_hyp.h).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/resource.h>
#include <linux/highmem.h>
#include <linux/mm.h>

#include <hypheap/abi.h>

#include "hypheap_fake_hyp.h"

/**
 * fake_hyp_owner() - who owns a page in the books
 * @fh: the fake
 * @pa: the page
 *
 * Return: the owners bitmap.
 */
u64 fake_hyp_owner(struct fake_hyp *fh, phys_addr_t pa)
{
	void *entry = xa_load(&fh->owners, PHYS_PFN(pa));

	return entry ? xa_to_value(entry) : fh->host;
}

static bool fake_hyp_pinned(struct fake_hyp *fh, phys_addr_t pa)
{
	return pa >= fh->pinned &&
	       pa - fh->pinned < fh->pinned_pages * PAGE_SIZE;
}

static bool fake_hyp_failing(struct fake_hyp *fh)
{
	return fh->fail_call && fh->calls >= fh->fail_call &&
	       fh->calls < fh->fail_call + max(fh->fail_count, 1U);
}

static void fake_hyp_apply(struct fake_hyp *fh,
			   const struct hypheap_assign_req *req, u64 to)
{
	unsigned int i;
	u64 off;

	for (i = 0; i < req->nr_ranges; i++)
		for (off = 0; off < req->ranges[i].size; off += PAGE_SIZE) {
			unsigned long pfn = PHYS_PFN(req->ranges[i].base + off);

			if (to == fh->host)
				xa_erase(&fh->owners, pfn);
			else
				xa_store(&fh->owners, pfn, xa_mk_value(to),
					 GFP_KERNEL);
		}
}

/* The scrub in place zeroes what it names: the test's own pages. */
static void fake_hyp_zero(const struct hypheap_assign_req *req)
{
	unsigned int i;
	u64 off;

	for (i = 0; i < req->nr_ranges; i++)
		for (off = 0; off < req->ranges[i].size; off += PAGE_SIZE)
			clear_highpage(pfn_to_page(PHYS_PFN(req->ranges[i].base +
							    off)));
}

static int fake_hyp_assign(struct hypheap_conduit *c,
			   const struct hypheap_assign_req *req, long *status)
{
	struct fake_hyp *fh = c->priv;
	u64 to = hypheap_vmperm_bitmap(req->dst, req->nr_dst);
	unsigned int i;
	bool scrub, in_place;
	u64 off;

	fh->calls++;
	if (req->srcvm == fh->host)
		fh->lends++;
	else if (to == fh->host)
		fh->reclaims++;
	else if (req->flags & HYPHEAP_DESC_F_SCRUB)
		fh->scrubs++;

	if (fake_hyp_failing(fh)) {
		if (fh->fail_applies && fh->calls == fh->fail_call)
			fake_hyp_apply(fh, req, to);
		*status = fh->fail_status;
		return fh->fail_errno ?: hypheap_abi_errno(fh->fail_status);
	}
	/* validate everything, then change everything */
	if (req->flags & ~HYPHEAP_DESC_F_SCRUB) {
		*status = HYPHEAP_ERR_DESC_RESERVED;
		return hypheap_abi_errno(*status);
	}
	scrub = req->flags & HYPHEAP_DESC_F_SCRUB;
	in_place = to == req->srcvm;
	if (scrub != in_place || (scrub && to & fh->host)) {
		*status = HYPHEAP_ERR_DEST_SET;
		return hypheap_abi_errno(*status);
	}
	for (i = 0; i < req->nr_ranges; i++)
		for (off = 0; off < req->ranges[i].size; off += PAGE_SIZE)
			if (fake_hyp_owner(fh, req->ranges[i].base + off) !=
			    req->srcvm) {
				*status = HYPHEAP_ERR_STATE;
				return hypheap_abi_errno(*status);
			}
	for (i = 0; i < req->nr_ranges; i++)
		for (off = 0; off < req->ranges[i].size; off += PAGE_SIZE)
			if ((to == fh->host || to == req->srcvm) &&
			    fake_hyp_pinned(fh, req->ranges[i].base + off)) {
				*status = HYPHEAP_ERR_BUSY;
				return hypheap_abi_errno(*status);
			}
	if (req->flags & HYPHEAP_DESC_F_SCRUB) {
		fake_hyp_zero(req);
		return 0;
	}
	fake_hyp_apply(fh, req, to);
	return 0;
}

static int fake_hyp_query(struct hypheap_conduit *c, phys_addr_t addr,
			  u64 nr_pages, struct hypheap_query *q, long *status)
{
	struct fake_hyp *fh = c->priv;
	bool pinned = fake_hyp_pinned(fh, addr);
	u64 n;

	fh->queries++;
	q->owners = fake_hyp_owner(fh, addr);
	for (n = 1; n < nr_pages; n++)
		if (fake_hyp_owner(fh, addr + n * PAGE_SIZE) != q->owners ||
		    fake_hyp_pinned(fh, addr + n * PAGE_SIZE) != pinned)
			break;
	q->pages = n;
	q->state = (q->owners & fh->host) && q->owners != fh->host ?
		   HYPHEAP_STATE_SHARED : HYPHEAP_STATE_EXCLUSIVE;
	if (pinned)
		q->state |= fh->pinned_flag ?: HYPHEAP_STATE_F_PINNED;
	return 0;
}

static const struct hypheap_transport_ops fake_hyp_ops = {
	.name = "fake-hyp",
	.lends = true,
	.cleans_on_lend = true,
	.assign = fake_hyp_assign,
	.query = fake_hyp_query,
};

/* A transport that cannot query, as qcom_scm. */
static const struct hypheap_transport_ops fake_hyp_noquery_ops = {
	.name = "fake-hyp-noquery",
	.lends = true,
	.cleans_on_lend = true,
	.assign = fake_hyp_assign,
};

static int fake_hyp_res_init(struct kunit_resource *res, void *ctx)
{
	res->data = ctx;
	return 0;
}

static void fake_hyp_res_free(struct kunit_resource *res)
{
	struct hypheap_conduit *c = res->data;
	struct fake_hyp *fh = c->priv;

	hypheap_conduit_put(c);
	xa_destroy(&fh->owners);
}

/**
 * fake_hyp_conduit() - a conduit to a fake hypervisor
 * @test: the case; the conduit and the books go when it ends
 * @fh: the fake, zeroed by the caller
 * @max_ranges: ranges a call takes
 * @query: whether the transport can answer MEM_QUERY
 *
 * Return: the conduit; the case fails if it cannot be made.
 */
struct hypheap_conduit *fake_hyp_conduit(struct kunit *test,
					 struct fake_hyp *fh,
					 unsigned int max_ranges, bool query)
{
	struct hypheap_conduit *c;

	xa_init(&fh->owners);
	fh->host = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
	c = hypheap_conduit_create(query ? &fake_hyp_ops : &fake_hyp_noquery_ops,
				   fh, max_ranges);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, c);
	c->scrubs_in_place = true;
	if (!kunit_alloc_resource(test, fake_hyp_res_init, fake_hyp_res_free,
				  GFP_KERNEL, c)) {
		hypheap_conduit_put(c);
		KUNIT_ASSERT_FAILURE(test, "no memory for a test resource");
	}
	return c;
}

/**
 * fake_hyp_fail() - fail calls from now on
 * @fh: the fake
 * @from: the first call to fail, counted from the next one (1: the next)
 * @count: how many calls in a row fail
 * @status: what they answer (a HYPHEAP_ERR_* code, or any other value)
 * @applies: whether the first of them changes the pages anyway
 */
void fake_hyp_fail(struct fake_hyp *fh, unsigned int from, unsigned int count,
		   long status, bool applies)
{
	fh->fail_call = fh->calls + from;
	fh->fail_count = count;
	fh->fail_status = status;
	fh->fail_errno = 0;
	fh->fail_applies = applies;
}

/**
 * fake_hyp_all_host() - whether the host owns every page again
 * @fh: the fake
 *
 * Return: true when the books hold no page away from the host.
 */
bool fake_hyp_all_host(struct fake_hyp *fh)
{
	return xa_empty(&fh->owners);
}

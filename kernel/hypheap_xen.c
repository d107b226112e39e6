// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap xen transport: the same assign requests, served by Xen 4.17 from
 * dom0 (docs/xen.md). The secure VM is a second domain, the receiver
 * (hypheap_xen_rx.c), reached through the mailbox of hypheap_xen_proto.h.
 *
 * Lend: dom0 grants each 4 KiB page to the receiver, the receiver maps them
 * all, then dom0 takes the pages out of its own p2m
 * (XENMEM_decrease_reservation). Xen keeps a granted frame mapped in the
 * receiver after the granter dropped it, and dom0, which Xen maps 1:1,
 * keeps owning the frame. Reclaim: the receiver scrubs and unmaps, dom0
 * ends the grants and puts the same frames back (XENMEM_populate_physmap,
 * gpfn == mfn). Share: grant and map, nothing removed.
 *
 * Xen keeps no books of who may use a page (dom0 can populate a lent frame
 * again by itself), so this transport keeps them: MEM_QUERY answers from
 * them, and every request is checked against them in full before anything
 * changes, as the hypheap hypervisor does.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/ioport.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/of.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <xen/grant_table.h>
#include <xen/mem-reservation.h>
#include <xen/page.h>
#include <xen/xen.h>

#include "hypheap_priv.h"
#include "hypheap_xen_proto.h"

static_assert(sizeof(struct hypheap_xen_mailbox) <= XEN_PAGE_SIZE);
/* one grant and one p2m entry per kernel page */
static_assert(PAGE_SIZE == XEN_PAGE_SIZE);

#define HYPHEAP_XEN_RANGES		4096
/* the receiver boots beside dom0: the first request may wait for it */
#define HYPHEAP_XEN_READY_TIMEOUT_S	120
#define HYPHEAP_XEN_REQ_TIMEOUT_S	60

/* book entries: xa_mk_value(ref << 2 | state) */
enum hypheap_xen_state {
	HYPHEAP_XEN_PENDING = 1,	/* checked, in a request being done */
	HYPHEAP_XEN_SHARED = 2,
	HYPHEAP_XEN_LENT = 3,
};

/* Where a lend or reclaim spends its time (debugfs hypheap/transport). */
enum hypheap_xen_phase {
	HYPHEAP_XEN_PH_GRANT,		/* dom0 fills its grant entries */
	HYPHEAP_XEN_PH_MAP,		/* the receiver maps (request to answer) */
	HYPHEAP_XEN_PH_DECREASE,	/* XENMEM_decrease_reservation */
	HYPHEAP_XEN_PH_UNMAP,		/* the receiver scrubs and unmaps */
	HYPHEAP_XEN_PH_END,		/* dom0 ends its grants */
	HYPHEAP_XEN_PH_POPULATE,	/* XENMEM_populate_physmap */
	HYPHEAP_XEN_NR_PHASES,
};

static const char * const hypheap_xen_phase_names[HYPHEAP_XEN_NR_PHASES] = {
	[HYPHEAP_XEN_PH_GRANT] = "grant",
	[HYPHEAP_XEN_PH_MAP] = "receiver_map",
	[HYPHEAP_XEN_PH_DECREASE] = "decrease_reservation",
	[HYPHEAP_XEN_PH_UNMAP] = "receiver_scrub_unmap",
	[HYPHEAP_XEN_PH_END] = "end_grant",
	[HYPHEAP_XEN_PH_POPULATE] = "populate_physmap",
};

/**
 * struct hypheap_xen - one xen conduit
 * @domid: the receiver domain
 * @mbox_page: the mailbox page, granted to @domid as HYPHEAP_XEN_MAILBOX_REF
 * @mb: its address
 * @seq: last request number
 * @ready: the receiver answered once
 * @broken: a request timed out: its outcome is unknown, nothing more is sent
 * @books: pfn -> grant ref and state of every page lent or shared
 * @grants: grants dom0 holds for the receiver now
 * @pages_lent: pages out of dom0's p2m now
 * @pages_shared: pages shared now
 * @decrease_calls: XENMEM_decrease_reservation calls
 * @populate_calls: XENMEM_populate_physmap calls
 * @scrubbed: pages the receiver zeroed before unmapping
 * @ns: wall time spent in each &enum hypheap_xen_phase since boot
 */
struct hypheap_xen {
	domid_t domid;
	struct page *mbox_page;
	struct hypheap_xen_mailbox *mb;
	u32 seq;
	bool ready;
	bool broken;
	struct xarray books;
	u64 grants;
	u64 pages_lent;
	u64 pages_shared;
	u64 decrease_calls;
	u64 populate_calls;
	u64 scrubbed;
	u64 ns[HYPHEAP_XEN_NR_PHASES];
};

/* What one request is, from its owners and destinations. */
enum hypheap_xen_kind { HYPHEAP_XEN_LEND, HYPHEAP_XEN_SHARE, HYPHEAP_XEN_RECLAIM };

static void *hypheap_xen_entry(u32 ref, enum hypheap_xen_state st)
{
	return xa_mk_value(((unsigned long)ref << 2) | st);
}

static enum hypheap_xen_state hypheap_xen_entry_state(void *e)
{
	return xa_to_value(e) & 3;
}

static u32 hypheap_xen_entry_ref(void *e)
{
	return xa_to_value(e) >> 2;
}

/* Adds the time since @t to @phase; returns now. */
static u64 hypheap_xen_lap(struct hypheap_xen *x, enum hypheap_xen_phase phase,
			   u64 t)
{
	u64 now = ktime_get_ns();

	x->ns[phase] += now - t;
	return now;
}

/* Wait for the receiver's answer; a timeout leaves the outcome unknown. */
static int hypheap_xen_wait(struct hypheap_xen *x, u32 seq)
{
	unsigned long deadline = jiffies + HYPHEAP_XEN_REQ_TIMEOUT_S * HZ;
	unsigned int polls = 0;
	s32 status;

	/* pairs with the receiver's release of ack_seq after its answer */
	while (le32_to_cpu(smp_load_acquire(&x->mb->ack_seq)) != seq) {
		if (time_after(jiffies, deadline)) {
			x->broken = true;
			pr_err("receiver dom%u did not answer request %u in %u s: nothing more is sent\n",
			       x->domid, seq, HYPHEAP_XEN_REQ_TIMEOUT_S);
			return -ETIMEDOUT;
		}
		if (polls++ < 1000)
			usleep_range(20, 50);
		else
			usleep_range(1000, 2000);
	}
	status = (s32)le32_to_cpu(READ_ONCE(x->mb->status));
	if (!status)
		return 0;
	/*
	 * The receiver's word is not dom0's errno: one it chose (positive, or
	 * one with a meaning here such as -ETIMEDOUT) must not steer dom0.
	 */
	pr_warn_ratelimited("receiver dom%u refused request %u (%d)\n", x->domid,
			    seq, status);
	return -EREMOTEIO;
}

static int hypheap_xen_wait_ready(struct hypheap_xen *x)
{
	unsigned long deadline = jiffies + HYPHEAP_XEN_READY_TIMEOUT_S * HZ;

	/* pairs with the receiver's release of ready once it serves */
	while (le32_to_cpu(smp_load_acquire(&x->mb->ready)) !=
	       HYPHEAP_XEN_VERSION) {
		if (time_after(jiffies, deadline))
			return -ENODEV;
		msleep(20);
	}
	if (!x->ready)
		pr_info("receiver dom%u serves the mailbox\n", x->domid);
	x->ready = true;
	return 0;
}

/**
 * hypheap_xen_request() - one mailbox request to the receiver
 * @x: the conduit's data
 * @op: an &enum hypheap_xen_op
 * @flags: %HYPHEAP_XEN_F_*
 * @arg: the op's argument
 * @refs: dom0's grant references, @nr of them
 * @nr: 1 to %HYPHEAP_XEN_MAX_REFS
 * @sum: the receiver's checksum, if not NULL
 *
 * Return: the receiver's answer (0 or -errno), -ENODEV before the receiver
 * is up (nothing sent), -EIO once a request timed out (nothing sent), or
 * -ETIMEDOUT (sent, outcome unknown).
 */
static int hypheap_xen_request(struct hypheap_xen *x, u32 op, u32 flags,
			       u32 arg, const u32 *refs, unsigned int nr,
			       u64 *sum)
{
	struct hypheap_xen_mailbox *mb = x->mb;
	unsigned int i;
	int ret;

	if (x->broken)
		return -EIO;
	if (!nr || nr > HYPHEAP_XEN_MAX_REFS)
		return -EINVAL;
	ret = hypheap_xen_wait_ready(x);
	if (ret)
		return ret;
	WRITE_ONCE(mb->op, cpu_to_le32(op));
	WRITE_ONCE(mb->flags, cpu_to_le32(flags));
	WRITE_ONCE(mb->arg, cpu_to_le32(arg));
	WRITE_ONCE(mb->nr, cpu_to_le32(nr));
	for (i = 0; i < nr; i++)
		WRITE_ONCE(mb->refs[i], cpu_to_le32(refs[i]));
	/* the request is written before the receiver can see its number */
	smp_store_release(&mb->req_seq, cpu_to_le32(++x->seq));
	ret = hypheap_xen_wait(x, x->seq);
	if (sum)
		*sum = le64_to_cpu(READ_ONCE(mb->sum));
	return ret;
}

/* The same request over @n references, in mailbox-sized pieces. */
static int hypheap_xen_request_all(struct hypheap_xen *x, u32 op, u32 flags,
				   const u32 *refs, unsigned long n,
				   unsigned long *done)
{
	unsigned int len;
	int ret;

	for (*done = 0; *done < n; *done += len) {
		len = min_t(unsigned long, n - *done, HYPHEAP_XEN_MAX_REFS);
		ret = hypheap_xen_request(x, op, flags, 0, refs + *done, len,
					  NULL);
		if (ret)
			return ret;
	}
	return 0;
}

static unsigned long hypheap_xen_req_pages(const struct hypheap_assign_req *req)
{
	unsigned long n = 0;
	unsigned int i;

	for (i = 0; i < req->nr_ranges; i++)
		n += req->ranges[i].size >> PAGE_SHIFT;
	return n;
}

/* pfns[] of every page of @req, in order */
static void hypheap_xen_req_pfns(const struct hypheap_assign_req *req,
				 unsigned long *pfns)
{
	unsigned long pfn, end, k = 0;
	unsigned int i;

	for (i = 0; i < req->nr_ranges; i++) {
		pfn = PHYS_PFN(req->ranges[i].base);
		end = pfn + (req->ranges[i].size >> PAGE_SHIFT);
		while (pfn < end)
			pfns[k++] = pfn++;
	}
}

/* What the request asks for; every other shape is refused. */
static long hypheap_xen_classify(const struct hypheap_assign_req *req,
				 enum hypheap_xen_kind *kind, bool *ro)
{
	const u64 host = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
	const u64 svm = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);
	unsigned int i, svm_at = 0;
	u64 dst = 0;

	for (i = 0; i < req->nr_dst; i++) {
		if (req->dst[i].vmid >= HYPHEAP_VMID_LIMIT)
			return HYPHEAP_ERR_UNKNOWN_VMID;
		if (!req->dst[i].perms ||
		    req->dst[i].perms & ~HYPHEAP_PERM_RWX)
			return HYPHEAP_ERR_PERMS;
		if (dst & HYPHEAP_VMID_BIT(req->dst[i].vmid))
			return HYPHEAP_ERR_DEST_SET;
		dst |= HYPHEAP_VMID_BIT(req->dst[i].vmid);
		if (req->dst[i].vmid == HYPHEAP_VMID_SECURE_0)
			svm_at = i;
	}
	/* one receiver: VM 10 is that domain, no other VM id exists here */
	if ((dst | req->srcvm) & ~(host | svm))
		return HYPHEAP_ERR_UNKNOWN_VMID;
	if (req->srcvm == host && dst == svm) {
		*kind = HYPHEAP_XEN_LEND;
	} else if (req->srcvm == host && dst == (host | svm)) {
		*kind = HYPHEAP_XEN_SHARE;
	} else if ((req->srcvm == svm || req->srcvm == (host | svm)) &&
		   dst == host) {
		*kind = HYPHEAP_XEN_RECLAIM;
		return HYPHEAP_OK;
	} else {
		return HYPHEAP_ERR_DEST_SET;
	}
	/* a grant is read-only or read-write; execute is not Xen's to give */
	*ro = !(req->dst[svm_at].perms & HYPHEAP_PERM_W);
	return HYPHEAP_OK;
}

/* Only dom0's own RAM can be granted and given up: one resource walk a range. */
static bool hypheap_xen_is_ram(phys_addr_t base, u64 size)
{
	return pfn_valid(PHYS_PFN(base)) &&
	       pfn_valid(PHYS_PFN(base + size - 1)) &&
	       region_intersects(base, size, IORESOURCE_SYSTEM_RAM,
				 IORES_DESC_NONE) == REGION_INTERSECTS;
}

static long hypheap_xen_check_ranges(const struct hypheap_assign_req *req)
{
	unsigned int i;

	for (i = 0; i < req->nr_ranges; i++) {
		const struct hypheap_range *r = &req->ranges[i];

		if (!PAGE_ALIGNED(r->base) || !PAGE_ALIGNED(r->size))
			return HYPHEAP_ERR_RANGE_UNALIGNED;
		if (!r->size || r->base + r->size < r->base)
			return HYPHEAP_ERR_RANGE_SIZE;
		if (!hypheap_xen_is_ram(r->base, r->size))
			return HYPHEAP_ERR_OUTSIDE_RAM;
	}
	return HYPHEAP_OK;
}

/*
 * Mark every page of a lend or share PENDING in the books: a page in them
 * already is lent or shared (STATE), or twice in @pfns (OVERLAP). All or
 * nothing.
 */
static long hypheap_xen_book_new(struct hypheap_xen *x,
				 const unsigned long *pfns, unsigned long n,
				 int *err)
{
	unsigned long i;
	long status = HYPHEAP_OK;
	int ret;

	for (i = 0; i < n; i++) {
		ret = xa_insert(&x->books, pfns[i],
				hypheap_xen_entry(0, HYPHEAP_XEN_PENDING),
				GFP_KERNEL);
		if (!ret)
			continue;
		if (ret == -EBUSY) {
			void *e = xa_load(&x->books, pfns[i]);

			status = hypheap_xen_entry_state(e) ==
				 HYPHEAP_XEN_PENDING ? HYPHEAP_ERR_OVERLAP :
						       HYPHEAP_ERR_STATE;
		} else {
			*err = ret;
			status = HYPHEAP_STATUS_NOT_SENT;
		}
		break;
	}
	if (status != HYPHEAP_OK)
		while (i--)
			xa_erase(&x->books, pfns[i]);
	return status;
}

/*
 * Check a reclaim against the books: every page lent (owners {VM 10}) or
 * shared (owners {host, VM 10}) as @srcvm says, none twice (XA_MARK_0
 * marks the ones seen). Fills @refs. All or nothing.
 */
static long hypheap_xen_book_reclaim(struct hypheap_xen *x, u64 srcvm,
				     const unsigned long *pfns,
				     unsigned long n, u32 *refs,
				     enum hypheap_xen_state *st)
{
	const u64 svm = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);
	enum hypheap_xen_state want = srcvm == svm ? HYPHEAP_XEN_LENT :
						     HYPHEAP_XEN_SHARED;
	long status = HYPHEAP_OK;
	unsigned long i;
	void *e;

	for (i = 0; i < n; i++) {
		e = xa_load(&x->books, pfns[i]);
		if (!e || hypheap_xen_entry_state(e) != want) {
			status = HYPHEAP_ERR_STATE;
			break;
		}
		if (xa_get_mark(&x->books, pfns[i], XA_MARK_0)) {
			status = HYPHEAP_ERR_OVERLAP;
			break;
		}
		xa_set_mark(&x->books, pfns[i], XA_MARK_0);
		refs[i] = hypheap_xen_entry_ref(e);
	}
	if (status != HYPHEAP_OK)
		while (i--)
			xa_clear_mark(&x->books, pfns[i], XA_MARK_0);
	*st = want;
	return status;
}

static void hypheap_xen_end_grants(struct hypheap_xen *x, const u32 *refs,
				   unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		/* only once the receiver let go; anything else is a bug of ours */
		if (WARN_ON(!gnttab_end_foreign_access_ref(refs[i])))
			continue;
		gnttab_free_grant_reference(refs[i]);
		x->grants--;
	}
}

/* XENMEM_populate_physmap of the same frames, in pieces: how many came back. */
static unsigned long hypheap_xen_populate(struct hypheap_xen *x,
					  xen_pfn_t *frames, unsigned long n)
{
	unsigned long done = 0;
	int len, got;

	while (done < n) {
		len = min_t(unsigned long, n - done, HYPHEAP_XEN_MAX_REFS);
		x->populate_calls++;
		got = xenmem_reservation_increase(len, frames + done);
		if (got > 0)
			done += got;
		if (got != len)
			break;
	}
	return done;
}

static unsigned long hypheap_xen_decrease(struct hypheap_xen *x,
					  xen_pfn_t *frames, unsigned long n)
{
	unsigned long done = 0;
	int len, got;

	while (done < n) {
		len = min_t(unsigned long, n - done, HYPHEAP_XEN_MAX_REFS);
		x->decrease_calls++;
		got = xenmem_reservation_decrease(len, frames + done);
		if (got > 0)
			done += got;
		if (got != len)
			break;
	}
	return done;
}

static int hypheap_xen_give(struct hypheap_xen *x, enum hypheap_xen_kind kind,
			    bool ro, const unsigned long *pfns,
			    unsigned long n, long *status)
{
	unsigned long i, mapped = 0, gone;
	enum hypheap_xen_state st;
	xen_pfn_t *frames = NULL;
	u32 *refs;
	int ret, ref;
	u64 t;

	refs = kvmalloc_array(n, sizeof(*refs), GFP_KERNEL);
	if (kind == HYPHEAP_XEN_LEND)
		frames = kvmalloc_array(n, sizeof(*frames), GFP_KERNEL);
	if (!refs || (kind == HYPHEAP_XEN_LEND && !frames)) {
		ret = -ENOMEM;
		goto undo_books;
	}
	t = ktime_get_ns();
	for (i = 0; i < n; i++) {
		ref = gnttab_grant_foreign_access(x->domid,
						  pfn_to_gfn(pfns[i]), ro);
		if (ref < 0) {
			/* grants are 4 KiB each, and the table is finite */
			ret = ref;
			hypheap_xen_end_grants(x, refs, i);
			goto undo_books;
		}
		refs[i] = ref;
		x->grants++;
	}
	t = hypheap_xen_lap(x, HYPHEAP_XEN_PH_GRANT, t);
	/* the receiver maps before dom0 lets go: Xen looks the frame up then */
	ret = hypheap_xen_request_all(x, HYPHEAP_XEN_OP_MAP, 0, refs, n,
				      &mapped);
	t = hypheap_xen_lap(x, HYPHEAP_XEN_PH_MAP, t);
	if (ret == -ETIMEDOUT)
		goto unknown;
	if (ret)
		goto undo_map;

	if (kind == HYPHEAP_XEN_LEND) {
		for (i = 0; i < n; i++)
			frames[i] = pfn_to_gfn(pfns[i]);
		gone = hypheap_xen_decrease(x, frames, n);
		hypheap_xen_lap(x, HYPHEAP_XEN_PH_DECREASE, t);
		if (gone != n) {
			pr_err("XENMEM_decrease_reservation took %lu of %lu pages\n",
			       gone, n);
			ret = -EIO;
			if (hypheap_xen_populate(x, frames, gone) != gone)
				goto unknown;
			goto undo_map;
		}
		x->pages_lent += n;
	} else {
		x->pages_shared += n;
	}
	st = kind == HYPHEAP_XEN_LEND ? HYPHEAP_XEN_LENT : HYPHEAP_XEN_SHARED;
	for (i = 0; i < n; i++)
		xa_store(&x->books, pfns[i], hypheap_xen_entry(refs[i], st),
			 GFP_KERNEL);
	kvfree(frames);
	kvfree(refs);
	return 0;

undo_map:
	if (mapped) {
		unsigned long back;
		int err = hypheap_xen_request_all(x, HYPHEAP_XEN_OP_UNMAP, 0,
						  refs, mapped, &back);

		if (err)
			goto unknown;
	}
	hypheap_xen_end_grants(x, refs, n);
undo_books:
	for (i = 0; i < n; i++)
		xa_erase(&x->books, pfns[i]);
	*status = HYPHEAP_STATUS_NOT_SENT;
	kvfree(frames);
	kvfree(refs);
	return ret;

unknown:
	/* pages stay PENDING in the books: nothing will lend or reclaim them */
	x->broken = true;
	kvfree(frames);
	kvfree(refs);
	return ret ? ret : -EIO;
}

static int hypheap_xen_take_back(struct hypheap_xen *x, u64 srcvm,
				 const unsigned long *pfns, unsigned long n,
				 long *status)
{
	enum hypheap_xen_state st;
	unsigned long i, off, len, got;
	xen_pfn_t *frames;
	long check;
	u32 *refs;
	int ret = 0;
	u64 t;

	refs = kvmalloc_array(n, sizeof(*refs), GFP_KERNEL);
	frames = kvmalloc_array(n, sizeof(*frames), GFP_KERNEL);
	if (!refs || !frames) {
		ret = -ENOMEM;
		*status = HYPHEAP_STATUS_NOT_SENT;
		goto out;
	}
	check = hypheap_xen_book_reclaim(x, srcvm, pfns, n, refs, &st);
	if (check != HYPHEAP_OK) {
		*status = check;
		ret = hypheap_abi_errno(check);
		goto out;
	}

	/* piece by piece; a piece that came back stays back (never undone) */
	for (off = 0; off < n; off += len) {
		len = min_t(unsigned long, n - off, HYPHEAP_XEN_MAX_REFS);
		t = ktime_get_ns();
		ret = hypheap_xen_request(x, HYPHEAP_XEN_OP_UNMAP,
					  st == HYPHEAP_XEN_LENT ?
					  HYPHEAP_XEN_F_SCRUB : 0, 0,
					  refs + off, len, NULL);
		t = hypheap_xen_lap(x, HYPHEAP_XEN_PH_UNMAP, t);
		if (ret)
			break;
		hypheap_xen_end_grants(x, refs + off, len);
		t = hypheap_xen_lap(x, HYPHEAP_XEN_PH_END, t);
		if (st == HYPHEAP_XEN_LENT) {
			x->scrubbed += len;
			for (i = 0; i < len; i++)
				frames[i] = pfn_to_gfn(pfns[off + i]);
			got = hypheap_xen_populate(x, frames, len);
			hypheap_xen_lap(x, HYPHEAP_XEN_PH_POPULATE, t);
			if (got != len) {
				pr_err("XENMEM_populate_physmap gave back %lu of %lu pages\n",
				       got, len);
				x->broken = true;
				ret = -EIO;
				break;
			}
			x->pages_lent -= len;
		} else {
			x->pages_shared -= len;
		}
		for (i = 0; i < len; i++)
			xa_erase(&x->books, pfns[off + i]);
	}
	if (ret) {
		for (i = off; i < n; i++)
			xa_clear_mark(&x->books, pfns[i], XA_MARK_0);
		/* nothing came back for sure only if the first piece was refused */
		if (!off && ret != -ETIMEDOUT && !x->broken)
			*status = HYPHEAP_STATUS_NOT_SENT;
	}
out:
	kvfree(frames);
	kvfree(refs);
	return ret;
}

static int hypheap_xen_assign(struct hypheap_conduit *c,
			      const struct hypheap_assign_req *req,
			      long *status)
{
	struct hypheap_xen *x = c->priv;
	enum hypheap_xen_kind kind;
	unsigned long *pfns, n;
	bool ro = false;
	int err = -ENOMEM;
	long check;
	int ret;

	if (x->broken) {
		*status = HYPHEAP_STATUS_NOT_SENT;
		return -EIO;
	}
	check = hypheap_xen_classify(req, &kind, &ro);
	if (check == HYPHEAP_OK)
		check = hypheap_xen_check_ranges(req);
	if (check != HYPHEAP_OK) {
		*status = check;
		return hypheap_abi_errno(check);
	}
	n = hypheap_xen_req_pages(req);
	pfns = kvmalloc_array(n, sizeof(*pfns), GFP_KERNEL);
	if (!pfns) {
		*status = HYPHEAP_STATUS_NOT_SENT;
		return -ENOMEM;
	}
	hypheap_xen_req_pfns(req, pfns);

	if (kind == HYPHEAP_XEN_RECLAIM) {
		ret = hypheap_xen_take_back(x, req->srcvm, pfns, n, status);
	} else {
		check = hypheap_xen_book_new(x, pfns, n, &err);
		if (check == HYPHEAP_STATUS_NOT_SENT) {
			*status = check;
			ret = err;
		} else if (check != HYPHEAP_OK) {
			*status = check;
			ret = hypheap_abi_errno(check);
		} else {
			ret = hypheap_xen_give(x, kind, ro, pfns, n, status);
		}
	}
	kvfree(pfns);
	return ret;
}

/* From the books: Xen has no ownership query. */
static int hypheap_xen_query(struct hypheap_conduit *c, phys_addr_t addr,
			     u64 nr_pages, struct hypheap_query *q,
			     long *status)
{
	const u64 host = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
	const u64 svm = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);
	struct hypheap_xen *x = c->priv;
	unsigned long pfn = PHYS_PFN(addr), i;
	u64 owners = 0, state = 0, o, s;
	void *e;

	for (i = 0; i < nr_pages; i++) {
		if (!hypheap_xen_is_ram(PFN_PHYS(pfn + i), PAGE_SIZE)) {
			if (!i) {
				*status = HYPHEAP_ERR_OUTSIDE_RAM;
				return hypheap_abi_errno(*status);
			}
			break;
		}
		e = xa_load(&x->books, pfn + i);
		switch (e ? hypheap_xen_entry_state(e) : 0) {
		case HYPHEAP_XEN_LENT:
			o = svm;
			s = HYPHEAP_STATE_EXCLUSIVE;
			break;
		case HYPHEAP_XEN_SHARED:
			o = host | svm;
			s = HYPHEAP_STATE_SHARED;
			break;
		case HYPHEAP_XEN_PENDING:
			/* in a request that never finished: nobody knows */
			o = 0;
			s = 0;
			break;
		default:
			o = host;
			s = HYPHEAP_STATE_EXCLUSIVE;
		}
		if (!i) {
			owners = o;
			state = s;
		} else if (o != owners || s != state) {
			break;
		}
	}
	q->owners = owners;
	q->state = state;
	q->pages = i;
	return 0;
}

static void hypheap_xen_show(struct hypheap_conduit *c, struct seq_file *m)
{
	struct hypheap_xen *x = c->priv;
	unsigned int i;

	mutex_lock(&c->lock);
	seq_printf(m, "receiver_domid: %u\n", x->domid);
	seq_printf(m, "receiver_ready: %d\n",
		   le32_to_cpu(READ_ONCE(x->mb->ready)) == HYPHEAP_XEN_VERSION);
	seq_printf(m, "receiver_mapped: %llu\n",
		   le64_to_cpu(READ_ONCE(x->mb->mapped)));
	seq_printf(m, "broken: %d\n", x->broken);
	seq_printf(m, "grants: %llu\n", x->grants);
	seq_printf(m, "grant_frames_max: %u\n", gnttab_max_grant_frames());
	seq_printf(m, "pages_lent: %llu\n", x->pages_lent);
	seq_printf(m, "pages_shared: %llu\n", x->pages_shared);
	seq_printf(m, "pages_scrubbed_by_receiver: %llu\n", x->scrubbed);
	seq_printf(m, "decrease_reservation_calls: %llu\n", x->decrease_calls);
	seq_printf(m, "populate_physmap_calls: %llu\n", x->populate_calls);
	for (i = 0; i < HYPHEAP_XEN_NR_PHASES; i++)
		seq_printf(m, "%s_ns: %llu\n", hypheap_xen_phase_names[i],
			   x->ns[i]);
	mutex_unlock(&c->lock);
}

static void hypheap_xen_destroy(struct hypheap_conduit *c)
{
	struct hypheap_xen *x = c->priv;

	/* a page the receiver may still map is never freed */
	if (gnttab_end_foreign_access_ref(HYPHEAP_XEN_MAILBOX_REF))
		__free_page(x->mbox_page);
	else
		pr_err("receiver dom%u still maps the mailbox: page leaked\n",
		       x->domid);
	xa_destroy(&x->books);
	kfree(x);
}

static const struct hypheap_transport_ops hypheap_xen_ops = {
	.name = "xen",
	.lends = true,
	/* Xen does no cache maintenance for a grant: the backend cleans */
	.cleans_on_lend = false,
	.assign = hypheap_xen_assign,
	.query = hypheap_xen_query,
	.show = hypheap_xen_show,
	.destroy = hypheap_xen_destroy,
};

/**
 * hypheap_xen_create() - make a conduit over Xen grants (dom0 only)
 * @dev: the probing device; its node's hypheap,xen-domid names the receiver
 *
 * Return: the conduit, or an ERR_PTR() (-ENODEV outside a Xen dom0).
 */
struct hypheap_conduit *hypheap_xen_create(struct device *dev)
{
	struct hypheap_conduit *c;
	struct hypheap_xen *x;
	u32 domid;

	if (!xen_initial_domain()) {
		dev_err(dev, "method \"xen\" needs a Xen dom0\n");
		return ERR_PTR(-ENODEV);
	}
	if (of_property_read_u32(dev->of_node, "hypheap,xen-domid", &domid) ||
	    !domid || domid >= DOMID_FIRST_RESERVED) {
		dev_err(dev, "hypheap,xen-domid missing or invalid\n");
		return ERR_PTR(-EINVAL);
	}
	x = kzalloc(sizeof(*x), GFP_KERNEL);
	if (!x)
		return ERR_PTR(-ENOMEM);
	x->domid = domid;
	xa_init(&x->books);
	x->mbox_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!x->mbox_page) {
		kfree(x);
		return ERR_PTR(-ENOMEM);
	}
	x->mb = page_address(x->mbox_page);
	x->mb->magic = cpu_to_le32(HYPHEAP_XEN_MAGIC);
	gnttab_grant_foreign_access_ref(HYPHEAP_XEN_MAILBOX_REF, domid,
					xen_page_to_gfn(x->mbox_page), 0);
	c = hypheap_conduit_create(&hypheap_xen_ops, x, HYPHEAP_XEN_RANGES);
	if (IS_ERR(c)) {
		gnttab_end_foreign_access_ref(HYPHEAP_XEN_MAILBOX_REF);
		__free_page(x->mbox_page);
		kfree(x);
		return c;
	}
	dev_info(dev, "xen transport: receiver dom%u, mailbox grant ref %u, %u grant frames at most\n",
		 domid, HYPHEAP_XEN_MAILBOX_REF, gnttab_max_grant_frames());
	return c;
}

/**
 * hypheap_xen_receiver_op() - ask the receiver about a range dom0 gave it
 * @addr: physical address, page aligned, lent or shared through the
 *	default conduit
 * @size: bytes, page aligned
 * @op: %HYPHEAP_XEN_OP_SUM or %HYPHEAP_XEN_OP_FILL
 * @arg: FILL's byte
 * @sum: SUM's answer: the receiver's checksum of what it sees
 *
 * For the tests that show what the receiver sees and what Xen enforces
 * (kernel/hypheap_xen_test.c).
 *
 * Return: 0, -ENODEV without a xen conduit, -ENOENT for a page not given,
 * or the receiver's error.
 */
int hypheap_xen_receiver_op(phys_addr_t addr, size_t size, u32 op, u32 arg,
			    u64 *sum)
{
	struct hypheap_conduit *c = hypheap_get_default_conduit();
	unsigned long n = size >> PAGE_SHIFT, i;
	struct hypheap_xen *x;
	u64 part = 0;
	u32 *refs;
	void *e;
	int ret = 0;

	if (!c)
		return -ENODEV;
	if (c->ops != &hypheap_xen_ops)
		ret = -ENODEV;
	else if (!n || n > HYPHEAP_XEN_MAX_REFS || !PAGE_ALIGNED(addr))
		ret = -EINVAL;
	if (ret) {
		hypheap_conduit_put(c);
		return ret;
	}
	x = c->priv;
	refs = kcalloc(n, sizeof(*refs), GFP_KERNEL);
	if (!refs) {
		hypheap_conduit_put(c);
		return -ENOMEM;
	}
	mutex_lock(&c->lock);
	for (i = 0; i < n && !ret; i++) {
		e = xa_load(&x->books, PHYS_PFN(addr) + i);
		if (!e || hypheap_xen_entry_state(e) == HYPHEAP_XEN_PENDING)
			ret = -ENOENT;
		else
			refs[i] = hypheap_xen_entry_ref(e);
	}
	if (!ret)
		ret = hypheap_xen_request(x, op, 0, arg, refs, n, &part);
	mutex_unlock(&c->lock);
	/* the receiver chains in refs order, which is address order here */
	if (!ret && sum)
		*sum = part;
	kfree(refs);
	hypheap_conduit_put(c);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_xen_receiver_op);

/**
 * hypheap_xen_raw_request() - one mailbox request, outside the books
 * @op: an &enum hypheap_xen_op
 * @flags: %HYPHEAP_XEN_F_*
 * @arg: the op's argument
 * @refs: grant references the caller made itself
 * @nr: 1 to %HYPHEAP_XEN_MAX_REFS
 * @sum: the receiver's checksum, if not NULL
 *
 * For the experiments of kernel/hypheap_xen_test.c, which grant, remove
 * and repopulate pages themselves to show what Xen does and does not do.
 *
 * Return: as hypheap_xen_request(), or -ENODEV without a xen conduit.
 */
int hypheap_xen_raw_request(u32 op, u32 flags, u32 arg, const u32 *refs,
			    unsigned int nr, u64 *sum)
{
	struct hypheap_conduit *c = hypheap_get_default_conduit();
	int ret;

	if (!c)
		return -ENODEV;
	if (c->ops != &hypheap_xen_ops) {
		hypheap_conduit_put(c);
		return -ENODEV;
	}
	mutex_lock(&c->lock);
	ret = hypheap_xen_request(c->priv, op, flags, arg, refs, nr, sum);
	mutex_unlock(&c->lock);
	hypheap_conduit_put(c);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_xen_raw_request);

/**
 * hypheap_xen_receiver_domid() - the receiver of the default conduit
 *
 * Return: its domain id, or -ENODEV without a xen conduit.
 */
int hypheap_xen_receiver_domid(void)
{
	struct hypheap_conduit *c = hypheap_get_default_conduit();
	int ret;

	if (!c)
		return -ENODEV;
	ret = c->ops == &hypheap_xen_ops ?
	      ((struct hypheap_xen *)c->priv)->domid : -ENODEV;
	hypheap_conduit_put(c);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_xen_receiver_domid);

/**
 * hypheap_xen_log_phases() - print where the xen transport spent its time
 * @why: what the numbers are for, at the start of the line
 *
 * For the timed experiment of kernel/hypheap_xen_test.c (docs/xen.md).
 */
void hypheap_xen_log_phases(const char *why)
{
	struct hypheap_conduit *c = hypheap_get_default_conduit();
	struct hypheap_xen *x;

	if (!c)
		return;
	if (c->ops == &hypheap_xen_ops) {
		x = c->priv;
		mutex_lock(&c->lock);
		pr_info("%s: grant %llu us, receiver map %llu us, decrease_reservation %llu us, receiver scrub+unmap %llu us, end grant %llu us, populate_physmap %llu us\n",
			why, x->ns[HYPHEAP_XEN_PH_GRANT] / 1000,
			x->ns[HYPHEAP_XEN_PH_MAP] / 1000,
			x->ns[HYPHEAP_XEN_PH_DECREASE] / 1000,
			x->ns[HYPHEAP_XEN_PH_UNMAP] / 1000,
			x->ns[HYPHEAP_XEN_PH_END] / 1000,
			x->ns[HYPHEAP_XEN_PH_POPULATE] / 1000);
		mutex_unlock(&c->lock);
	}
	hypheap_conduit_put(c);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_xen_log_phases);

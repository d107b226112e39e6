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
 *
 * A frame is dom0's again only once Xen has ended its grant (nobody maps
 * it) and, if it was lent, put it back in dom0's p2m. A page for which
 * either could not be done stays in the books, its step recorded, until a
 * later reclaim finishes it: never freed, never repopulated while granted.
 *
 * The mailbox (one reserved grant reference) outlives a conduit: a driver
 * bound again while buffers of the first binding live gets the same state,
 * and the last conduit with nothing lent retires the page (DETACH).
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
#include <xen/features.h>
#include <xen/grant_table.h>
#include <xen/mem-reservation.h>
#include <xen/page.h>
#include <xen/xen.h>

#include "hypheap_priv.h"
#include "hypheap_xen.h"
#include "hypheap_xen_proto.h"

static_assert(sizeof(struct hypheap_xen_mailbox) <= XEN_PAGE_SIZE);
/* one grant and one p2m entry per kernel page */
static_assert(PAGE_SIZE == XEN_PAGE_SIZE);

#define HYPHEAP_XEN_RANGES		4096
/* the receiver boots beside dom0: the first request may wait for it */
#define HYPHEAP_XEN_READY_TIMEOUT_S	120
#define HYPHEAP_XEN_REQ_TIMEOUT_S	60

/* how long the receiver may take to let go of a retired mailbox */
#define HYPHEAP_XEN_DETACH_TRIES	10

/* book entries: xa_mk_value(ref << 4 | step << 2 | state) */
enum hypheap_xen_state {
	HYPHEAP_XEN_PENDING = 1,	/* checked, in a request being done */
	HYPHEAP_XEN_SHARED = 2,
	HYPHEAP_XEN_LENT = 3,
};

/* How far the way back of a shared or lent page got. */
enum hypheap_xen_step {
	HYPHEAP_XEN_MAPPED = 0,		/* granted; the receiver maps it */
	HYPHEAP_XEN_UNMAPPED = 1,	/* it answered UNMAP, Xen says it still maps it */
	HYPHEAP_XEN_ENDED = 2,		/* grant ended, frame not back in dom0's p2m */
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
 * struct hypheap_xen - the xen transport's state, shared by its conduits
 * @lock: one request at a time; the books and the counters
 * @users: conduits over it (hypheap_xen_lock)
 * @domid: the receiver domain
 * @mbox_page: the mailbox page, granted to @domid as HYPHEAP_XEN_MAILBOX_REF
 * @mb: its address
 * @seq: last request number
 * @ready: the receiver answered once
 * @broken: a request timed out: its outcome is unknown, nothing more is sent
 * @books: pfn -> grant ref, step and state of every page lent or shared
 * @grants: grants dom0 holds for the receiver now
 * @pages_lent: pages out of dom0's p2m now
 * @pages_shared: pages shared now
 * @decrease_calls: XENMEM_decrease_reservation calls
 * @populate_calls: XENMEM_populate_physmap calls
 * @scrubbed: pages the receiver says it zeroed before unmapping
 * @end_refused: grants Xen would not end (still mapped), since boot
 * @populate_short: frames XENMEM_populate_physmap did not give back
 * @ns: wall time spent in each &enum hypheap_xen_phase since boot
 * @fault: failures the tests asked for (kernel/hypheap_xen.h)
 */
struct hypheap_xen {
	struct mutex lock; /* requests, books, counters */
	unsigned int users;
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
	u64 end_refused;
	u64 populate_short;
	u64 ns[HYPHEAP_XEN_NR_PHASES];
	struct hypheap_xen_faults fault;
};

/* The one state of the mailbox's reference: created once, reused. */
static DEFINE_MUTEX(hypheap_xen_lock);
static struct hypheap_xen *hypheap_xen_cur;
/* mailbox pages retired and freed, and never freed, since boot (the lock) */
static u64 hypheap_xen_mailboxes_retired;
static u64 hypheap_xen_mailboxes_leaked;
/* KUnit: the next conduit creation fails (hypheap_xen_fail_next_create()) */
static bool hypheap_xen_create_fault;

static bool hypheap_xen_fault(unsigned long *at, unsigned long i)
{
	if (!IS_ENABLED(CONFIG_KUNIT) || *at != i + 1)
		return false;
	*at = 0;
	return true;
}

/* What one request is, from its owners and destinations. */
enum hypheap_xen_kind { HYPHEAP_XEN_LEND, HYPHEAP_XEN_SHARE, HYPHEAP_XEN_RECLAIM };

static void *hypheap_xen_entry(u32 ref, enum hypheap_xen_state st,
			       enum hypheap_xen_step step)
{
	return xa_mk_value(((unsigned long)ref << 4) | (step << 2) | st);
}

static enum hypheap_xen_state hypheap_xen_entry_state(void *e)
{
	return xa_to_value(e) & 3;
}

static enum hypheap_xen_step hypheap_xen_entry_step(void *e)
{
	return (xa_to_value(e) >> 2) & 3;
}

static u32 hypheap_xen_entry_ref(void *e)
{
	return xa_to_value(e) >> 4;
}

/* Record where page @pfn now is; the books already hold it (no allocation). */
static void hypheap_xen_book_set(struct hypheap_xen *x, unsigned long pfn,
				 u32 ref, enum hypheap_xen_state st,
				 enum hypheap_xen_step step)
{
	xa_store(&x->books, pfn, hypheap_xen_entry(ref, st, step), GFP_KERNEL);
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
 * @nr: 1 to %HYPHEAP_XEN_MAX_REFS; 0 for the ops without references
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
	if (nr > HYPHEAP_XEN_MAX_REFS || !nr != !hypheap_xen_op_has_refs(op))
		return -EINVAL;
	ret = hypheap_xen_wait_ready(x);
	if (ret)
		return ret;
	WRITE_ONCE(mb->op, cpu_to_le32(op));
	WRITE_ONCE(mb->flags, cpu_to_le32(flags));
	WRITE_ONCE(mb->arg, cpu_to_le32(arg));
	WRITE_ONCE(mb->nr, cpu_to_le32(nr));
	for (i = 0; i < nr; i++)
		WRITE_ONCE(mb->refs[i],
			   cpu_to_le32(op == HYPHEAP_XEN_OP_MAP &&
				       hypheap_xen_fault(&x->fault.map_bad_at, i) ?
				       U32_MAX : refs[i]));
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
				hypheap_xen_entry(0, HYPHEAP_XEN_PENDING,
						  HYPHEAP_XEN_MAPPED),
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

/*
 * End the grant of @ref if Xen says nobody maps it (quietly: a receiver
 * that still maps it is not dom0's bug), and free the reference.
 */
static bool hypheap_xen_end_grant(struct hypheap_xen *x, u32 ref)
{
	if (!gnttab_try_end_foreign_access(ref)) {
		x->end_refused++;
		return false;
	}
	x->grants--;
	return true;
}

/* XENMEM_populate_physmap of the same frames, in pieces: how many came back. */
static unsigned long hypheap_xen_populate(struct hypheap_xen *x,
					  xen_pfn_t *frames, unsigned long n)
{
	unsigned long done;
	int len, got;

	for (done = 0; done < n; done++)
		if (hypheap_xen_fault(&x->fault.populate_at, done))
			n = done;
	done = 0;
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
	unsigned long done;
	int len, got;

	for (done = 0; done < n; done++)
		if (hypheap_xen_fault(&x->fault.decrease_at, done))
			n = done;
	done = 0;
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

/*
 * Undo a lend or share that failed after @granted pages were granted, the
 * receiver mapped the first @mapped, and Xen took the first @gone out of
 * dom0's p2m (their gfns in @frames). Every page that can be made dom0's
 * alone again is; one that cannot stays in the books as what it is now: lent
 * (Xen did not put the frame back), or shared (the receiver still maps it,
 * or may). *@status says which: nothing changed, or PARTIAL.
 */
static int hypheap_xen_undo_give(struct hypheap_xen *x,
				 const unsigned long *pfns, const u32 *refs,
				 xen_pfn_t *frames, unsigned long n,
				 unsigned long granted, unsigned long mapped,
				 unsigned long gone, int err, long *status)
{
	unsigned long i, back = 0, kept = 0, piece = 0, first = 0, done;
	u32 urefs[64];
	int ret;

	/* the frames first, while the receiver's mapping still pins them */
	if (gone) {
		back = hypheap_xen_populate(x, frames, gone);
		if (back != gone) {
			x->populate_short += gone - back;
			pr_err("XENMEM_populate_physmap gave back %lu of %lu pages: they stay lent\n",
			       back, gone);
		}
		for (i = back; i < gone; i++)
			hypheap_xen_book_set(x, pfns[i], refs[i], HYPHEAP_XEN_LENT,
					     HYPHEAP_XEN_MAPPED);
		x->pages_lent += gone - back;
		kept += gone - back;
	}

	/* the receiver unmaps the rest, in pieces of urefs */
	for (i = 0; i <= mapped; i++) {
		if (i < mapped && (i < back || i >= gone)) {
			if (!piece)
				first = i;
			urefs[piece++] = refs[i];
		}
		if (!piece || (i < mapped && piece < ARRAY_SIZE(urefs)))
			continue;
		ret = hypheap_xen_request(x, HYPHEAP_XEN_OP_UNMAP, 0, 0, urefs,
					  piece, NULL);
		if (ret == -ETIMEDOUT)
			return ret;	/* unknown: x->broken, pages PENDING */
		if (ret) {
			/* it keeps these and the rest: shared, as they are */
			for (done = first; done < mapped; done++) {
				if (done >= back && done < gone)
					continue;
				hypheap_xen_book_set(x, pfns[done], refs[done],
						     HYPHEAP_XEN_SHARED,
						     HYPHEAP_XEN_MAPPED);
				x->pages_shared++;
				kept++;
			}
			break;
		}
		piece = 0;
	}

	/* end the grants nobody maps: one Xen will not end stays shared */
	for (i = 0; i < granted; i++) {
		if (hypheap_xen_entry_state(xa_load(&x->books, pfns[i])) !=
		    HYPHEAP_XEN_PENDING)
			continue;	/* kept above */
		if (hypheap_xen_end_grant(x, refs[i])) {
			xa_erase(&x->books, pfns[i]);
			continue;
		}
		hypheap_xen_book_set(x, pfns[i], refs[i], HYPHEAP_XEN_SHARED,
				     HYPHEAP_XEN_UNMAPPED);
		x->pages_shared++;
		kept++;
	}
	for (i = granted; i < n; i++)
		xa_erase(&x->books, pfns[i]);
	if (kept)
		pr_err("a failed lend or share left %lu of %lu pages with the receiver\n",
		       kept, n);
	*status = kept ? HYPHEAP_STATUS_PARTIAL : HYPHEAP_STATUS_NOT_SENT;
	return err;
}

static int hypheap_xen_give(struct hypheap_xen *x, enum hypheap_xen_kind kind,
			    bool ro, const unsigned long *pfns,
			    unsigned long n, long *status)
{
	unsigned long i, granted = 0, mapped = 0, gone = 0;
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
		goto undo;
	}
	t = ktime_get_ns();
	for (granted = 0; granted < n; granted++) {
		ref = hypheap_xen_fault(&x->fault.grant_at, granted) ? -ENOSPC :
		      gnttab_grant_foreign_access(x->domid,
						  pfn_to_gfn(pfns[granted]),
						  ro);
		if (ref < 0) {
			/* grants are 4 KiB each, and the table is finite */
			ret = ref;
			goto undo;
		}
		refs[granted] = ref;
		x->grants++;
	}
	t = hypheap_xen_lap(x, HYPHEAP_XEN_PH_GRANT, t);
	/* the receiver maps before dom0 lets go: Xen looks the frame up then */
	ret = hypheap_xen_request_all(x, HYPHEAP_XEN_OP_MAP,
				      ro ? HYPHEAP_XEN_F_READONLY : 0, refs, n,
				      &mapped);
	t = hypheap_xen_lap(x, HYPHEAP_XEN_PH_MAP, t);
	if (ret == -ETIMEDOUT)
		goto unknown;
	if (ret)
		goto undo;

	if (kind == HYPHEAP_XEN_LEND) {
		for (i = 0; i < n; i++)
			frames[i] = pfn_to_gfn(pfns[i]);
		gone = hypheap_xen_decrease(x, frames, n);
		hypheap_xen_lap(x, HYPHEAP_XEN_PH_DECREASE, t);
		if (gone != n) {
			pr_err("XENMEM_decrease_reservation took %lu of %lu pages\n",
			       gone, n);
			ret = -EIO;
			goto undo;
		}
		x->pages_lent += n;
	} else {
		x->pages_shared += n;
	}
	st = kind == HYPHEAP_XEN_LEND ? HYPHEAP_XEN_LENT : HYPHEAP_XEN_SHARED;
	for (i = 0; i < n; i++)
		hypheap_xen_book_set(x, pfns[i], refs[i], st,
				     HYPHEAP_XEN_MAPPED);
	kvfree(frames);
	kvfree(refs);
	return 0;

undo:
	if (!refs) {
		for (i = 0; i < n; i++)
			xa_erase(&x->books, pfns[i]);
		*status = HYPHEAP_STATUS_NOT_SENT;
	} else {
		ret = hypheap_xen_undo_give(x, pfns, refs, frames, n, granted,
					    mapped, gone, ret, status);
	}
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

/*
 * Take back one piece of a reclaim, each page from where its way back
 * stopped last time: the receiver scrubs (a lend) and unmaps what it maps,
 * dom0 ends every grant Xen says nobody maps, and Xen puts the lent frames
 * whose grant ended back in dom0's p2m. Pages that came back leave the
 * books (*@back counts them); the others stay, at their step.
 *
 * Return: 0 once every page came back; -EREMOTEIO/-ETIMEDOUT/-EIO when the
 * receiver refused or did not answer the UNMAP (nothing of the piece
 * changed, or unknown); -EBUSY when a grant is still mapped; -EIO when Xen
 * did not give every frame back.
 */
static int hypheap_xen_reclaim_piece(struct hypheap_xen *x,
				     enum hypheap_xen_state st,
				     const unsigned long *pfns,
				     const u32 *refs, unsigned long len,
				     u32 *scratch, xen_pfn_t *frames,
				     unsigned long *back)
{
	unsigned long i, k = 0, ended = 0, got, stuck = 0;
	u64 t = ktime_get_ns(), scrubbed = 0;
	void *e;
	int ret;

	for (i = 0; i < len; i++)
		if (hypheap_xen_entry_step(xa_load(&x->books, pfns[i])) ==
		    HYPHEAP_XEN_MAPPED)
			scratch[k++] = refs[i];
	if (k) {
		ret = hypheap_xen_request(x, HYPHEAP_XEN_OP_UNMAP,
					  st == HYPHEAP_XEN_LENT ?
					  HYPHEAP_XEN_F_SCRUB : 0, 0, scratch,
					  k, &scrubbed);
		t = hypheap_xen_lap(x, HYPHEAP_XEN_PH_UNMAP, t);
		if (ret)
			return ret;
		x->scrubbed += scrubbed;
	}

	/* all or none per page: a grant Xen will not end stays granted */
	for (i = 0; i < len; i++) {
		e = xa_load(&x->books, pfns[i]);
		if (hypheap_xen_entry_step(e) == HYPHEAP_XEN_ENDED)
			continue;
		if (!hypheap_xen_end_grant(x, refs[i])) {
			hypheap_xen_book_set(x, pfns[i], refs[i], st,
					     HYPHEAP_XEN_UNMAPPED);
			stuck++;
			continue;
		}
		if (st == HYPHEAP_XEN_SHARED) {
			xa_erase(&x->books, pfns[i]);
			x->pages_shared--;
			(*back)++;
		} else {
			hypheap_xen_book_set(x, pfns[i], 0, st,
					     HYPHEAP_XEN_ENDED);
		}
	}
	t = hypheap_xen_lap(x, HYPHEAP_XEN_PH_END, t);
	if (stuck)
		pr_warn_ratelimited("receiver dom%u answered UNMAP but still maps %lu pages: kept, never freed\n",
				    x->domid, stuck);

	/* only frames whose grant ended go back into dom0's p2m */
	if (st == HYPHEAP_XEN_LENT) {
		for (i = 0; i < len; i++)
			if (hypheap_xen_entry_step(xa_load(&x->books, pfns[i])) ==
			    HYPHEAP_XEN_ENDED)
				frames[ended++] = pfn_to_gfn(pfns[i]);
		got = ended ? hypheap_xen_populate(x, frames, ended) : 0;
		hypheap_xen_lap(x, HYPHEAP_XEN_PH_POPULATE, t);
		if (got != ended) {
			pr_err("XENMEM_populate_physmap gave back %lu of %lu pages: the others stay out\n",
			       got, ended);
			x->populate_short += ended - got;
		}
		/* Xen populates in order: the first @got ENDED pages are back */
		for (i = 0; i < len && got; i++) {
			if (hypheap_xen_entry_step(xa_load(&x->books, pfns[i])) !=
			    HYPHEAP_XEN_ENDED)
				continue;
			xa_erase(&x->books, pfns[i]);
			x->pages_lent--;
			(*back)++;
			got--;
			ended--;
		}
	}
	if (stuck)
		return -EBUSY;
	return st == HYPHEAP_XEN_LENT && ended ? -EIO : 0;
}

static int hypheap_xen_take_back(struct hypheap_xen *x, u64 srcvm,
				 const unsigned long *pfns, unsigned long n,
				 long *status)
{
	unsigned long i, off, len, back = 0;
	enum hypheap_xen_state st;
	xen_pfn_t *frames;
	u32 *refs, *scratch;
	long check;
	int ret = 0, err;

	refs = kvmalloc_array(n, sizeof(*refs), GFP_KERNEL);
	frames = kvmalloc_array(min_t(unsigned long, n, HYPHEAP_XEN_MAX_REFS),
				sizeof(*frames), GFP_KERNEL);
	scratch = kmalloc_array(HYPHEAP_XEN_MAX_REFS, sizeof(*scratch),
				GFP_KERNEL);
	if (!refs || !frames || !scratch) {
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

	/* piece by piece; a page that came back stays back (never undone) */
	for (off = 0; off < n; off += len) {
		len = min_t(unsigned long, n - off, HYPHEAP_XEN_MAX_REFS);
		err = hypheap_xen_reclaim_piece(x, st, pfns + off, refs + off,
						len, scratch, frames, &back);
		/* a refused or unanswered UNMAP ends the request there */
		if (err == -EREMOTEIO || err == -ETIMEDOUT ||
		    (err && x->broken)) {
			ret = err;
			break;
		}
		ret = ret ?: err;
	}
	if (ret) {
		for (i = 0; i < n; i++)
			xa_clear_mark(&x->books, pfns[i], XA_MARK_0);
		if (ret == -ETIMEDOUT || x->broken)
			;	/* unknown: *status stays OK, MEM_QUERY tells */
		else if (back)
			*status = HYPHEAP_STATUS_PARTIAL;
		else if (ret == -EREMOTEIO && !off)
			*status = HYPHEAP_STATUS_NOT_SENT;
		else
			/* no page changed owner, some moved on their way back */
			*status = HYPHEAP_ERR_BUSY;
	}
out:
	kfree(scratch);
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

	mutex_lock(&x->lock);
	if (x->broken) {
		*status = HYPHEAP_STATUS_NOT_SENT;
		ret = -EIO;
	} else if (kind == HYPHEAP_XEN_RECLAIM) {
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
	mutex_unlock(&x->lock);
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

	mutex_lock(&x->lock);
	for (i = 0; i < nr_pages; i++) {
		if (!hypheap_xen_is_ram(PFN_PHYS(pfn + i), PAGE_SIZE)) {
			if (!i) {
				mutex_unlock(&x->lock);
				*status = HYPHEAP_ERR_OUTSIDE_RAM;
				return hypheap_abi_errno(*status);
			}
			break;
		}
		e = xa_load(&x->books, pfn + i);
		/* a page on its way back is not back: its step does not matter */
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
	mutex_unlock(&x->lock);
	q->owners = owners;
	q->state = state;
	q->pages = i;
	return 0;
}

/* Pages the receiver still maps after UNMAP, and frames not given back. */
static void hypheap_xen_count_steps(struct hypheap_xen *x, u64 *held,
				    u64 *unreturned)
{
	unsigned long pfn;
	void *e;

	*held = 0;
	*unreturned = 0;
	xa_for_each(&x->books, pfn, e) {
		if (hypheap_xen_entry_step(e) == HYPHEAP_XEN_UNMAPPED)
			(*held)++;
		else if (hypheap_xen_entry_step(e) == HYPHEAP_XEN_ENDED)
			(*unreturned)++;
	}
}

static void hypheap_xen_show(struct hypheap_conduit *c, struct seq_file *m)
{
	struct hypheap_xen *x = c->priv;
	u64 held, unreturned;
	unsigned int i;

	mutex_lock(&x->lock);
	hypheap_xen_count_steps(x, &held, &unreturned);
	seq_printf(m, "receiver_domid: %u\n", x->domid);
	seq_printf(m, "receiver_ready: %d\n",
		   le32_to_cpu(READ_ONCE(x->mb->ready)) == HYPHEAP_XEN_VERSION);
	seq_printf(m, "receiver_mapped: %llu\n",
		   le64_to_cpu(READ_ONCE(x->mb->mapped)));
	seq_printf(m, "broken: %d\n", x->broken);
	seq_printf(m, "conduits: %u\n", x->users);
	seq_printf(m, "grants: %llu\n", x->grants);
	seq_printf(m, "grant_frames_max: %u\n", gnttab_max_grant_frames());
	seq_printf(m, "pages_lent: %llu\n", x->pages_lent);
	seq_printf(m, "pages_shared: %llu\n", x->pages_shared);
	seq_printf(m, "pages_held_by_receiver: %llu\n", held);
	seq_printf(m, "pages_not_repopulated: %llu\n", unreturned);
	seq_printf(m, "end_grant_refused: %llu\n", x->end_refused);
	seq_printf(m, "populate_short: %llu\n", x->populate_short);
	seq_printf(m, "pages_scrubbed_by_receiver: %llu\n", x->scrubbed);
	seq_printf(m, "decrease_reservation_calls: %llu\n", x->decrease_calls);
	seq_printf(m, "populate_physmap_calls: %llu\n", x->populate_calls);
	seq_printf(m, "mailboxes_retired: %llu\n",
		   READ_ONCE(hypheap_xen_mailboxes_retired));
	seq_printf(m, "mailboxes_leaked: %llu\n",
		   READ_ONCE(hypheap_xen_mailboxes_leaked));
	for (i = 0; i < HYPHEAP_XEN_NR_PHASES; i++)
		seq_printf(m, "%s_ns: %llu\n", hypheap_xen_phase_names[i],
			   x->ns[i]);
	mutex_unlock(&x->lock);
}

/*
 * Retire the mailbox: the receiver must never attach to this page again
 * (magic cleared), unmaps it after its answer, and only then can dom0 end
 * the grant and free the page. Return: whether it could.
 */
static bool hypheap_xen_retire_mailbox(struct hypheap_xen *x)
{
	unsigned int tries;

	WRITE_ONCE(x->mb->magic, 0);
	mutex_lock(&x->lock);
	/* a receiver that does not serve would not answer: nothing to ask */
	if (!x->broken && (x->ready || le32_to_cpu(READ_ONCE(x->mb->ready)) ==
				       HYPHEAP_XEN_VERSION))
		hypheap_xen_request(x, HYPHEAP_XEN_OP_DETACH, 0, 0, NULL, 0,
				    NULL);
	mutex_unlock(&x->lock);
	/* each failed end warns: let it unmap first (a hypercall away) */
	for (tries = 0; tries < HYPHEAP_XEN_DETACH_TRIES; tries++) {
		msleep(tries ? 1000 : 200);
		if (gnttab_end_foreign_access_ref(HYPHEAP_XEN_MAILBOX_REF))
			return true;
	}
	return false;
}

static void hypheap_xen_free(struct hypheap_xen *x)
{
	xa_destroy(&x->books);
	mutex_destroy(&x->lock);
	kfree(x);
}

static void hypheap_xen_destroy(struct hypheap_conduit *c)
{
	struct hypheap_xen *x = c->priv;

	mutex_lock(&hypheap_xen_lock);
	if (--x->users) {
		mutex_unlock(&hypheap_xen_lock);
		return;
	}
	/* what is still lent or shared needs this state to come back */
	if (!xa_empty(&x->books)) {
		pr_warn("last xen conduit gone with pages still with dom%u: the mailbox stays for the next one\n",
			x->domid);
		mutex_unlock(&hypheap_xen_lock);
		return;
	}
	hypheap_xen_cur = NULL;
	/* a page the receiver may still map is never freed */
	if (hypheap_xen_retire_mailbox(x)) {
		__free_page(x->mbox_page);
		hypheap_xen_mailboxes_retired++;
		pr_info("mailbox of dom%u retired\n", x->domid);
	} else {
		hypheap_xen_mailboxes_leaked++;
		pr_err("receiver dom%u still maps the mailbox: page leaked, grant ref %u stays taken\n",
		       x->domid, HYPHEAP_XEN_MAILBOX_REF);
	}
	/* held until the reference is free: a new conduit checks it */
	mutex_unlock(&hypheap_xen_lock);
	hypheap_xen_free(x);
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

/* A new state, its mailbox page not granted yet (hypheap_xen_grant_mailbox()). */
static struct hypheap_xen *hypheap_xen_new(struct device *dev, u32 domid)
{
	struct hypheap_xen *x;

	/*
	 * Reclaim puts a frame back at the gfn it had (populate_physmap of
	 * gpfn == mfn): only a direct-mapped dom0 gets its own frame back.
	 */
	if (!xen_feature(XENFEAT_direct_mapped)) {
		dev_err(dev, "dom0 is not direct-mapped (no XENFEAT_direct_mapped): the xen transport cannot give lent frames back\n");
		return ERR_PTR(-ENODEV);
	}
	/*
	 * An earlier hypheap whose receiver never let go left the reference
	 * granted: never grant it over a live mapping (ending it otherwise
	 * is harmless, nobody else uses a reserved reference).
	 */
	if (!gnttab_end_foreign_access_ref(HYPHEAP_XEN_MAILBOX_REF)) {
		dev_err(dev, "grant ref %u is still mapped (an earlier mailbox): not reused\n",
			HYPHEAP_XEN_MAILBOX_REF);
		return ERR_PTR(-EBUSY);
	}
	x = kzalloc(sizeof(*x), GFP_KERNEL);
	if (!x)
		return ERR_PTR(-ENOMEM);
	mutex_init(&x->lock);
	x->domid = domid;
	xa_init(&x->books);
	x->mbox_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!x->mbox_page) {
		hypheap_xen_free(x);
		return ERR_PTR(-ENOMEM);
	}
	x->mb = page_address(x->mbox_page);
	x->mb->magic = cpu_to_le32(HYPHEAP_XEN_MAGIC);
	return x;
}

/*
 * Let the receiver map a new state's mailbox: only once its conduit
 * exists, so that no failure after it has to take a page back from a
 * receiver that may map it.
 */
static void hypheap_xen_grant_mailbox(struct hypheap_xen *x)
{
	gnttab_grant_foreign_access_ref(HYPHEAP_XEN_MAILBOX_REF, x->domid,
					xen_page_to_gfn(x->mbox_page), 0);
}

/*
 * The KUnit fault of a failed conduit creation, as slow as one that waits
 * for memory: long enough for the receiver to attach to a mailbox granted
 * by then.
 */
static bool hypheap_xen_create_fails(struct hypheap_xen *x)
{
	unsigned int i;

	if (!IS_ENABLED(CONFIG_KUNIT) || !hypheap_xen_create_fault)
		return false;
	hypheap_xen_create_fault = false;
	for (i = 0; i < 50; i++) {
		/* pairs with the receiver's release of ready once it serves */
		if (le32_to_cpu(smp_load_acquire(&x->mb->ready)) ==
		    HYPHEAP_XEN_VERSION)
			break;
		msleep(100);
	}
	pr_info("conduit creation fails (KUnit fault), receiver %s\n",
		i < 50 ? "attached" : "not attached");
	return true;
}

/**
 * hypheap_xen_create() - make a conduit over Xen grants (dom0 only)
 * @dev: the probing device; its node's hypheap,xen-domid names the receiver
 *
 * A conduit made while another lives, or while pages lent through one are
 * still out, shares its mailbox and books.
 *
 * Return: the conduit, or an ERR_PTR() (-ENODEV outside a direct-mapped
 * Xen dom0, -EBUSY while the mailbox's reference is taken otherwise).
 */
struct hypheap_conduit *hypheap_xen_create(struct device *dev)
{
	struct hypheap_conduit *c;
	struct hypheap_xen *x;
	bool fresh = false;
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
	mutex_lock(&hypheap_xen_lock);
	x = hypheap_xen_cur;
	if (x && x->domid != domid) {
		dev_err(dev, "the mailbox serves dom%u, not dom%u\n", x->domid,
			domid);
		x = ERR_PTR(-EBUSY);
	} else if (!x) {
		x = hypheap_xen_new(dev, domid);
		fresh = true;
	}
	if (IS_ERR(x)) {
		mutex_unlock(&hypheap_xen_lock);
		return ERR_CAST(x);
	}
	c = hypheap_xen_create_fails(x) ? ERR_PTR(-ENOMEM) :
	    hypheap_conduit_create(&hypheap_xen_ops, x, HYPHEAP_XEN_RANGES);
	if (IS_ERR(c)) {
		/* never granted: nobody else can have seen the page */
		if (fresh) {
			__free_page(x->mbox_page);
			hypheap_xen_free(x);
		}
		mutex_unlock(&hypheap_xen_lock);
		return c;
	}
	if (fresh)
		hypheap_xen_grant_mailbox(x);
	x->users++;
	hypheap_xen_cur = x;
	mutex_unlock(&hypheap_xen_lock);
	dev_info(dev, "xen transport: receiver dom%u, mailbox grant ref %u%s, %u grant frames at most\n",
		 domid, HYPHEAP_XEN_MAILBOX_REF,
		 fresh ? "" : " (the earlier conduit's)",
		 gnttab_max_grant_frames());
	return c;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_xen_create);

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
	mutex_lock(&x->lock);
	for (i = 0; i < n && !ret; i++) {
		e = xa_load(&x->books, PHYS_PFN(addr) + i);
		if (!e || hypheap_xen_entry_state(e) == HYPHEAP_XEN_PENDING ||
		    hypheap_xen_entry_step(e) == HYPHEAP_XEN_ENDED)
			ret = -ENOENT;
		else
			refs[i] = hypheap_xen_entry_ref(e);
	}
	if (!ret)
		ret = hypheap_xen_request(x, op, 0, arg, refs, n, &part);
	mutex_unlock(&x->lock);
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
	struct hypheap_xen *x;
	int ret;

	if (!c)
		return -ENODEV;
	if (c->ops != &hypheap_xen_ops) {
		hypheap_conduit_put(c);
		return -ENODEV;
	}
	x = c->priv;
	mutex_lock(&x->lock);
	ret = hypheap_xen_request(x, op, flags, arg, refs, nr, sum);
	mutex_unlock(&x->lock);
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
		mutex_lock(&x->lock);
		pr_info("%s: grant %llu us, receiver map %llu us, decrease_reservation %llu us, receiver scrub+unmap %llu us, end grant %llu us, populate_physmap %llu us\n",
			why, x->ns[HYPHEAP_XEN_PH_GRANT] / 1000,
			x->ns[HYPHEAP_XEN_PH_MAP] / 1000,
			x->ns[HYPHEAP_XEN_PH_DECREASE] / 1000,
			x->ns[HYPHEAP_XEN_PH_UNMAP] / 1000,
			x->ns[HYPHEAP_XEN_PH_END] / 1000,
			x->ns[HYPHEAP_XEN_PH_POPULATE] / 1000);
		mutex_unlock(&x->lock);
	}
	hypheap_conduit_put(c);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_xen_log_phases);

static struct hypheap_xen *hypheap_xen_get(struct hypheap_conduit **c)
{
	*c = hypheap_get_default_conduit();
	if (*c && (*c)->ops == &hypheap_xen_ops)
		return (*c)->priv;
	if (*c)
		hypheap_conduit_put(*c);
	return NULL;
}

/**
 * hypheap_xen_inject() - make the next requests fail as @f says
 * @f: the failures, each once
 *
 * Return: 0, or -ENODEV without a xen conduit.
 */
int hypheap_xen_inject(const struct hypheap_xen_faults *f)
{
	struct hypheap_conduit *c;
	struct hypheap_xen *x = hypheap_xen_get(&c);

	if (!x)
		return -ENODEV;
	mutex_lock(&x->lock);
	x->fault = *f;
	mutex_unlock(&x->lock);
	hypheap_conduit_put(c);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_xen_inject);

/**
 * hypheap_xen_fail_next_create() - make the next conduit creation fail
 *
 * Once, with -ENOMEM, after waiting up to 5 s for the receiver to serve
 * the mailbox (if it can see one by then).
 */
void hypheap_xen_fail_next_create(void)
{
	mutex_lock(&hypheap_xen_lock);
	hypheap_xen_create_fault = true;
	mutex_unlock(&hypheap_xen_lock);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_xen_fail_next_create);

/**
 * hypheap_xen_counts() - the transport's counts
 * @n: filled; the mailbox counts also without a conduit
 *
 * Return: 0, or -ENODEV without a xen conduit.
 */
int hypheap_xen_counts(struct hypheap_xen_counts *n)
{
	struct hypheap_conduit *c;
	struct hypheap_xen *x;
	u64 retired, leaked;

	mutex_lock(&hypheap_xen_lock);
	retired = hypheap_xen_mailboxes_retired;
	leaked = hypheap_xen_mailboxes_leaked;
	mutex_unlock(&hypheap_xen_lock);
	*n = (struct hypheap_xen_counts){
		.mailboxes_retired = retired,
		.mailboxes_leaked = leaked,
	};
	x = hypheap_xen_get(&c);
	if (!x)
		return -ENODEV;
	mutex_lock(&x->lock);
	*n = (struct hypheap_xen_counts){
		.mailboxes_retired = retired,
		.mailboxes_leaked = leaked,
		.grants = x->grants,
		.pages_lent = x->pages_lent,
		.pages_shared = x->pages_shared,
		.end_refused = x->end_refused,
		.populate_short = x->populate_short,
		.broken = x->broken,
	};
	hypheap_xen_count_steps(x, &n->held, &n->unreturned);
	mutex_unlock(&x->lock);
	hypheap_conduit_put(c);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_xen_counts);

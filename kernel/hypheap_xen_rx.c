// SPDX-License-Identifier: GPL-2.0
/*
 * The receiver of the xen transport, in the second (dom0less) domain: maps
 * the pages dom0 grants it, shows what it sees (a checksum), scrubs them
 * before it lets go, and unmaps them. It serves dom0's requests from the
 * mailbox page of hypheap_xen_proto.h, polled by one kthread.
 *
 * It maps every page before dom0 takes the page out of its own p2m: Xen
 * looks a grant's frame up in the granter's p2m on the first map only, so
 * that order is what lets a mapping outlive dom0's (docs/xen.md).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <xen/grant_table.h>
#include <xen/page.h>
#include <xen/xen.h>

#include "hypheap_xen_proto.h"

static_assert(sizeof(struct hypheap_xen_mailbox) <= XEN_PAGE_SIZE);

static unsigned int dom0_domid;
module_param(dom0_domid, uint, 0444);
MODULE_PARM_DESC(dom0_domid, "domain that grants the mailbox (0)");

/* Polling: fast for a while after a request, then slow, so an idle receiver costs little. */
#define HYPHEAP_XEN_RX_BUSY_POLLS	2000
#define HYPHEAP_XEN_RX_IDLE_MS		5
#define HYPHEAP_XEN_RX_MAP_RETRY_MS	100
#define HYPHEAP_XEN_RX_DETACH_MS	2000

/**
 * struct hypheap_xen_rx_map - one granted page the receiver maps
 * @page: the receiver's ballooned page the grant is mapped into
 * @handle: Xen's handle of the mapping
 * @ro: mapped read-only (the grant is)
 * @node: in hypheap_xen_rx_kept once KEEP kept it
 */
struct hypheap_xen_rx_map {
	struct page *page;
	grant_handle_t handle;
	bool ro;
	struct list_head node;
};

static struct task_struct *hypheap_xen_rx_task;

/* a grant op's host_addr: the kernel address of our page (Linux takes __pa) */
static unsigned long hypheap_xen_rx_addr(struct page *page)
{
	return (unsigned long)page_address(page);
}

static DEFINE_XARRAY(hypheap_xen_rx_maps);	/* dom0 ref -> mapping */
static unsigned long hypheap_xen_rx_nr_mapped;

/*
 * The test hook of a lying receiver (OP_KEEP): UNMAP requests still to
 * answer 0 without unmapping, and the mappings kept so. Only the kthread
 * touches them.
 */
static unsigned int hypheap_xen_rx_keep;
/* OP_REFUSE: UNMAP requests still to refuse; OP_HOLD: seconds to hold a retired mailbox */
static unsigned int hypheap_xen_rx_refuse;
static unsigned int hypheap_xen_rx_hold_s;
static LIST_HEAD(hypheap_xen_rx_kept);

/*
 * Unmapped ballooned pages, kept for the next MAP: giving them back to
 * Linux's balloon lets it repopulate them, and the next MAP would balloon
 * them out again, two p2m changes per page per lend. Only the kthread
 * touches it.
 */
static LIST_HEAD(hypheap_xen_rx_pool);

/* @nr ballooned pages into @pages, the pool's first. */
static int hypheap_xen_rx_get_pages(unsigned int nr, struct page **pages)
{
	unsigned int i = 0;
	struct page *page;
	int ret;

	while (i < nr && !list_empty(&hypheap_xen_rx_pool)) {
		page = list_first_entry(&hypheap_xen_rx_pool, struct page, lru);
		list_del(&page->lru);
		pages[i++] = page;
	}
	if (i == nr)
		return 0;
	ret = gnttab_alloc_pages(nr - i, pages + i);
	if (ret)
		while (i--)
			list_add(&pages[i]->lru, &hypheap_xen_rx_pool);
	return ret;
}

static void hypheap_xen_rx_put_pages(unsigned int nr, struct page **pages)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		list_add(&pages[i]->lru, &hypheap_xen_rx_pool);
}

static int hypheap_xen_rx_gntst(s16 status)
{
	switch (status) {
	case GNTST_okay:
		return 0;
	case GNTST_bad_gntref:
	case GNTST_bad_domain:
		return -ENOENT;
	case GNTST_permission_denied:
		return -EPERM;
	case GNTST_no_device_space:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

static u32 hypheap_xen_rx_map_flags(bool ro)
{
	return GNTMAP_host_map | (ro ? GNTMAP_readonly : 0);
}

static int hypheap_xen_rx_unmap_pages(struct page **pages,
				      const grant_handle_t *handles,
				      const bool *ro, unsigned int nr)
{
	struct gnttab_unmap_grant_ref *ops;
	unsigned int i;
	int ret;

	ops = kvcalloc(nr, sizeof(*ops), GFP_KERNEL);
	if (!ops)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		gnttab_set_unmap_op(&ops[i], hypheap_xen_rx_addr(pages[i]),
				    hypheap_xen_rx_map_flags(ro && ro[i]),
				    handles[i]);
	ret = gnttab_unmap_refs(ops, NULL, pages, nr);
	for (i = 0; !ret && i < nr; i++)
		ret = hypheap_xen_rx_gntst(ops[i].status);
	kvfree(ops);
	return ret;
}

/* All of @refs or none: a failed map takes back the ones that worked. */
static int hypheap_xen_rx_map(const u32 *refs, unsigned int nr, bool ro)
{
	struct hypheap_xen_rx_map *m = NULL;
	struct gnttab_map_grant_ref *ops;
	grant_handle_t *handles;
	struct page **pages;
	unsigned int i, ok = 0;
	bool leaked = false;
	int ret, err = 0;

	for (i = 0; i < nr; i++)
		if (xa_load(&hypheap_xen_rx_maps, refs[i]))
			return -EEXIST;

	pages = kvcalloc(nr, sizeof(*pages), GFP_KERNEL);
	ops = kvcalloc(nr, sizeof(*ops), GFP_KERNEL);
	handles = kvcalloc(nr, sizeof(*handles), GFP_KERNEL);
	if (!pages || !ops || !handles) {
		ret = -ENOMEM;
		goto out;
	}
	ret = hypheap_xen_rx_get_pages(nr, pages);
	if (ret)
		goto out;
	/* a read-only grant refuses a writable map: map it as it is granted */
	for (i = 0; i < nr; i++)
		gnttab_set_map_op(&ops[i], hypheap_xen_rx_addr(pages[i]),
				  hypheap_xen_rx_map_flags(ro), refs[i],
				  dom0_domid);
	ret = gnttab_map_refs(ops, NULL, pages, nr);
	for (i = 0; i < nr; i++) {
		if (!ret && ops[i].status == GNTST_okay) {
			handles[i] = ops[i].handle;
			ok++;
		} else if (!err) {
			err = ret ? ret : hypheap_xen_rx_gntst(ops[i].status);
			pr_err("map of dom%u ref %u: status %d\n", dom0_domid,
			       refs[i], ops[i].status);
		}
	}
	if (err) {
		for (i = 0; i < nr && ok; i++) {
			if (ret || ops[i].status != GNTST_okay)
				continue;
			ok--;
			if (hypheap_xen_rx_unmap_pages(&pages[i], &handles[i],
						       &ro, 1))
				leaked = true;
		}
		if (leaked)
			pr_err("cannot take back a mapped grant: pages leaked\n");
		else
			hypheap_xen_rx_put_pages(nr, pages);
		ret = err;
		goto out;
	}

	for (i = 0; i < nr; i++) {
		m = kmalloc(sizeof(*m), GFP_KERNEL);
		if (!m) {
			ret = -ENOMEM;
			break;
		}
		m->page = pages[i];
		m->handle = handles[i];
		m->ro = ro;
		ret = xa_insert(&hypheap_xen_rx_maps, refs[i], m, GFP_KERNEL);
		if (ret) {
			kfree(m);
			break;
		}
	}
	if (ret) {
		/* out of memory for the books: forget and unmap everything */
		while (i--)
			kfree(xa_erase(&hypheap_xen_rx_maps, refs[i]));
		for (i = 0; i < nr; i++)
			if (hypheap_xen_rx_unmap_pages(&pages[i], &handles[i],
						       &ro, 1))
				leaked = true;
		if (leaked)
			pr_err("cannot take back %u mapped grants: leaked\n", nr);
		else
			hypheap_xen_rx_put_pages(nr, pages);
		goto out;
	}
	hypheap_xen_rx_nr_mapped += nr;
out:
	kvfree(handles);
	kvfree(ops);
	kvfree(pages);
	return ret;
}

static int hypheap_xen_rx_lookup(const u32 *refs, unsigned int nr,
				 bool writable)
{
	struct hypheap_xen_rx_map *m;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		m = xa_load(&hypheap_xen_rx_maps, refs[i]);
		if (!m)
			return -ENOENT;
		/* a write through a read-only mapping would fault here */
		if (writable && m->ro)
			return -EACCES;
	}
	return 0;
}

static u64 hypheap_xen_rx_sum(const u32 *refs, unsigned int nr)
{
	struct hypheap_xen_rx_map *m;
	u64 h = HYPHEAP_XEN_SUM_INIT;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		m = xa_load(&hypheap_xen_rx_maps, refs[i]);
		h = hypheap_xen_sum(h, page_address(m->page));
	}
	return h;
}

static int hypheap_xen_rx_unmap(const u32 *refs, unsigned int nr, bool scrub,
				u64 *scrubbed)
{
	struct hypheap_xen_rx_map *m;
	grant_handle_t *handles;
	struct page **pages;
	unsigned int i;
	bool *ro;
	int ret;

	if (hypheap_xen_rx_refuse) {
		hypheap_xen_rx_refuse--;
		pr_info("REFUSE: refused UNMAP of %u grants\n", nr);
		return -EBUSY;
	}
	ret = hypheap_xen_rx_lookup(refs, nr, false);
	if (ret)
		return ret;
	pages = kvcalloc(nr, sizeof(*pages), GFP_KERNEL);
	handles = kvcalloc(nr, sizeof(*handles), GFP_KERNEL);
	ro = kvcalloc(nr, sizeof(*ro), GFP_KERNEL);
	if (!pages || !handles || !ro) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nr; i++) {
		m = xa_load(&hypheap_xen_rx_maps, refs[i]);
		/*
		 * Xen scrubs nothing it hands back: the receiver must. A
		 * read-only page holds nothing of ours (and cannot be written).
		 */
		if (scrub && !m->ro) {
			clear_page(page_address(m->page));
			(*scrubbed)++;
		}
		pages[i] = m->page;
		handles[i] = m->handle;
		ro[i] = m->ro;
	}
	if (hypheap_xen_rx_keep) {
		/* the test hook: answer as if unmapped, keep every mapping */
		hypheap_xen_rx_keep--;
		for (i = 0; i < nr; i++) {
			m = xa_erase(&hypheap_xen_rx_maps, refs[i]);
			list_add_tail(&m->node, &hypheap_xen_rx_kept);
		}
		hypheap_xen_rx_nr_mapped -= nr;
		pr_info("KEEP: answered UNMAP of %u grants, still maps them\n",
			nr);
		goto out;
	}
	ret = hypheap_xen_rx_unmap_pages(pages, handles, ro, nr);
	if (ret) {
		pr_err("unmap of %u grants failed: %d (kept)\n", nr, ret);
		goto out;
	}
	for (i = 0; i < nr; i++)
		kfree(xa_erase(&hypheap_xen_rx_maps, refs[i]));
	hypheap_xen_rx_put_pages(nr, pages);
	hypheap_xen_rx_nr_mapped -= nr;
out:
	kvfree(ro);
	kvfree(handles);
	kvfree(pages);
	return ret;
}

/* Unmap what KEEP kept: what an honest receiver would have done. */
static int hypheap_xen_rx_letgo(void)
{
	struct hypheap_xen_rx_map *m, *tmp;
	int ret = 0, err;

	hypheap_xen_rx_keep = 0;
	list_for_each_entry_safe(m, tmp, &hypheap_xen_rx_kept, node) {
		err = hypheap_xen_rx_unmap_pages(&m->page, &m->handle, &m->ro,
						 1);
		if (err) {
			ret = ret ?: err;
			continue;
		}
		list_del(&m->node);
		hypheap_xen_rx_put_pages(1, &m->page);
		kfree(m);
	}
	return ret;
}

static void hypheap_xen_rx_fill(const u32 *refs, unsigned int nr, u8 byte)
{
	struct hypheap_xen_rx_map *m;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		m = xa_load(&hypheap_xen_rx_maps, refs[i]);
		memset(page_address(m->page), byte, PAGE_SIZE);
	}
}

/*
 * Whether Xen lets this domain write dom0's page @ref by other ways than
 * its own mapping: a second, writable map, and GNTTABOP_copy into the
 * grant (of the byte that is there, so a write that goes through changes
 * nothing). Sets *@map_refused and *@copy_refused.
 */
static int hypheap_xen_rx_probe_one(u32 ref, struct hypheap_xen_rx_map *m,
				    bool *map_refused, bool *copy_refused)
{
	struct gnttab_map_grant_ref op;
	struct gnttab_copy copy = {};
	struct page *page, *src;
	int ret;

	ret = hypheap_xen_rx_get_pages(1, &page);
	if (ret)
		return ret;
	gnttab_set_map_op(&op, hypheap_xen_rx_addr(page),
			  hypheap_xen_rx_map_flags(false), ref, dom0_domid);
	ret = gnttab_map_refs(&op, NULL, &page, 1);
	if (ret) {
		hypheap_xen_rx_put_pages(1, &page);
		return ret;
	}
	*map_refused = op.status != GNTST_okay;
	if (!*map_refused &&
	    hypheap_xen_rx_unmap_pages(&page, &op.handle, NULL, 1)) {
		pr_err("probe: cannot unmap the writable map of ref %u: leaked\n",
		       ref);
		return -EIO;
	}

	hypheap_xen_rx_put_pages(1, &page);

	/* the copy's source: a page of our own RAM, holding dom0's byte */
	src = alloc_page(GFP_KERNEL);
	if (!src)
		return -ENOMEM;
	*(u8 *)page_address(src) = *(const u8 *)page_address(m->page);
	copy.source.u.gmfn = xen_page_to_gfn(src);
	copy.source.domid = DOMID_SELF;
	copy.dest.u.ref = ref;
	copy.dest.domid = dom0_domid;
	copy.flags = GNTCOPY_dest_gref;
	copy.len = 1;
	gnttab_batch_copy(&copy, 1);
	*copy_refused = copy.status != GNTST_okay;
	__free_page(src);
	pr_info("probe of dom%u ref %u (%s mapping): writable map status %d, copy into it status %d\n",
		dom0_domid, ref, m->ro ? "read-only" : "writable", op.status,
		copy.status);
	return 0;
}

static int hypheap_xen_rx_probe_write(const u32 *refs, unsigned int nr,
				      u64 *sum)
{
	bool map_refused, copy_refused;
	u32 maps = 0, copies = 0;
	unsigned int i;
	int ret;

	ret = hypheap_xen_rx_lookup(refs, nr, false);
	for (i = 0; !ret && i < nr; i++) {
		ret = hypheap_xen_rx_probe_one(refs[i],
					       xa_load(&hypheap_xen_rx_maps,
						       refs[i]),
					       &map_refused, &copy_refused);
		maps += map_refused;
		copies += copy_refused;
	}
	*sum = ((u64)copies << 32) | maps;
	return ret;
}

static int hypheap_xen_rx_serve(struct hypheap_xen_mailbox *mb, u32 op)
{
	unsigned int nr = le32_to_cpu(mb->nr), i;
	u32 flags = le32_to_cpu(mb->flags);
	u32 *refs = NULL;
	u64 sum = 0;
	int ret;

	if (nr > HYPHEAP_XEN_MAX_REFS || !nr != !hypheap_xen_op_has_refs(op))
		return -EINVAL;
	/* one copy: dom0 may rewrite the page while we work */
	if (nr) {
		refs = kmalloc_array(nr, sizeof(*refs), GFP_KERNEL);
		if (!refs)
			return -ENOMEM;
	}
	for (i = 0; i < nr; i++)
		refs[i] = le32_to_cpu(READ_ONCE(mb->refs[i]));

	switch (op) {
	case HYPHEAP_XEN_OP_MAP:
		ret = hypheap_xen_rx_map(refs, nr,
					 flags & HYPHEAP_XEN_F_READONLY);
		break;
	case HYPHEAP_XEN_OP_UNMAP:
		ret = hypheap_xen_rx_unmap(refs, nr,
					   flags & HYPHEAP_XEN_F_SCRUB, &sum);
		break;
	case HYPHEAP_XEN_OP_SUM:
		ret = hypheap_xen_rx_lookup(refs, nr, false);
		if (!ret)
			sum = hypheap_xen_rx_sum(refs, nr);
		break;
	case HYPHEAP_XEN_OP_FILL:
		ret = hypheap_xen_rx_lookup(refs, nr, true);
		if (!ret)
			hypheap_xen_rx_fill(refs, nr, le32_to_cpu(mb->arg));
		break;
	case HYPHEAP_XEN_OP_PROBE_WRITE:
		ret = hypheap_xen_rx_probe_write(refs, nr, &sum);
		break;
	case HYPHEAP_XEN_OP_KEEP:
		hypheap_xen_rx_keep = le32_to_cpu(mb->arg);
		ret = 0;
		break;
	case HYPHEAP_XEN_OP_LETGO:
		ret = hypheap_xen_rx_letgo();
		break;
	case HYPHEAP_XEN_OP_DETACH:
		ret = 0;
		break;
	case HYPHEAP_XEN_OP_HOLD:
		hypheap_xen_rx_hold_s = le32_to_cpu(mb->arg);
		ret = 0;
		break;
	case HYPHEAP_XEN_OP_REFUSE:
		hypheap_xen_rx_refuse = le32_to_cpu(mb->arg);
		ret = 0;
		break;
	default:
		ret = -EOPNOTSUPP;
	}
	kfree(refs);
	mb->sum = cpu_to_le64(sum);
	return ret;
}

/* Map dom0's mailbox into @page: retried until dom0 has granted one. */
static struct hypheap_xen_mailbox *hypheap_xen_rx_attach(struct page *page,
							 grant_handle_t *h)
{
	struct gnttab_map_grant_ref op;
	struct hypheap_xen_mailbox *mb;
	bool said = false;

	while (!kthread_should_stop()) {
		gnttab_set_map_op(&op, hypheap_xen_rx_addr(page),
				  GNTMAP_host_map, HYPHEAP_XEN_MAILBOX_REF,
				  dom0_domid);
		if (!gnttab_map_refs(&op, NULL, &page, 1) &&
		    op.status == GNTST_okay) {
			mb = page_address(page);
			if (le32_to_cpu(READ_ONCE(mb->magic)) ==
			    HYPHEAP_XEN_MAGIC) {
				*h = op.handle;
				return mb;
			}
			/* also a page dom0 is retiring (DETACH) */
			if (!said)
				pr_info("dom%u ref %u is not a hypheap mailbox (yet)\n",
					dom0_domid, HYPHEAP_XEN_MAILBOX_REF);
			said = true;
			hypheap_xen_rx_unmap_pages(&page, &op.handle, NULL, 1);
		}
		msleep_interruptible(HYPHEAP_XEN_RX_MAP_RETRY_MS);
	}
	return NULL;
}

/* Serve @mb until dom0 retires it (true) or the module goes (false). */
static bool hypheap_xen_rx_serve_mailbox(struct hypheap_xen_mailbox *mb)
{
	unsigned int polls = 0;
	u32 seen, seq, op;
	int ret;

	seen = le32_to_cpu(READ_ONCE(mb->ack_seq));
	/* dom0 acquires it: everything before it (ack_seq read) is done */
	smp_store_release(&mb->ready, cpu_to_le32(HYPHEAP_XEN_VERSION));
	pr_info("serving dom%u's mailbox (grant ref %u)\n", dom0_domid,
		HYPHEAP_XEN_MAILBOX_REF);

	while (!kthread_should_stop()) {
		/* pairs with dom0's release: the request is written */
		seq = le32_to_cpu(smp_load_acquire(&mb->req_seq));
		if (seq == seen) {
			if (polls++ < HYPHEAP_XEN_RX_BUSY_POLLS)
				usleep_range(50, 100);
			else
				msleep_interruptible(HYPHEAP_XEN_RX_IDLE_MS);
			continue;
		}
		op = le32_to_cpu(READ_ONCE(mb->op));
		ret = hypheap_xen_rx_serve(mb, op);
		WRITE_ONCE(mb->status, cpu_to_le32((u32)ret));
		WRITE_ONCE(mb->mapped, cpu_to_le64(hypheap_xen_rx_nr_mapped));
		/* the answer is written before dom0 sees the request done */
		smp_store_release(&mb->ack_seq, cpu_to_le32(seq));
		seen = seq;
		polls = 0;
		if (op == HYPHEAP_XEN_OP_DETACH) {
			pr_info("dom%u retires its mailbox: attaching again\n",
				dom0_domid);
			return true;
		}
	}
	WRITE_ONCE(mb->ready, 0);
	return false;
}

static int hypheap_xen_rx_thread(void *data)
{
	struct hypheap_xen_mailbox *mb;
	struct page *page;
	grant_handle_t h;
	bool again = true;

	if (gnttab_alloc_pages(1, &page))
		return 0;
	while (again) {
		mb = hypheap_xen_rx_attach(page, &h);
		if (!mb)
			break;
		again = hypheap_xen_rx_serve_mailbox(mb);
		if (again && hypheap_xen_rx_hold_s) {
			pr_info("HOLD: keeping the retired mailbox %u s\n",
				hypheap_xen_rx_hold_s);
			msleep_interruptible(hypheap_xen_rx_hold_s * 1000);
			hypheap_xen_rx_hold_s = 0;
		}
		/* dom0 ends the grant, and frees the page, only after this */
		hypheap_xen_rx_unmap_pages(&page, &h, NULL, 1);
		/*
		 * Each attempt maps the reference for a moment: keep away
		 * while dom0 ends the retired page's grant (it tries after
		 * 200 ms, and a failed try is a warning there).
		 */
		if (again)
			msleep_interruptible(HYPHEAP_XEN_RX_DETACH_MS);
	}
	gnttab_free_pages(1, &page);
	while (!list_empty(&hypheap_xen_rx_pool)) {
		page = list_first_entry(&hypheap_xen_rx_pool, struct page, lru);
		list_del(&page->lru);
		gnttab_free_pages(1, &page);
	}
	return 0;
}

static int __init hypheap_xen_rx_init(void)
{
	if (!xen_domain() || xen_initial_domain()) {
		pr_err("not a Xen domU\n");
		return -ENODEV;
	}
	hypheap_xen_rx_task = kthread_run(hypheap_xen_rx_thread, NULL,
					  "hypheap-xen-rx");
	if (IS_ERR(hypheap_xen_rx_task))
		return PTR_ERR(hypheap_xen_rx_task);
	pr_info("waiting for dom%u's mailbox\n", dom0_domid);
	return 0;
}
module_init(hypheap_xen_rx_init);

/* Pages still mapped stay mapped: dom0 cannot end those grants until a receiver lets go. */
static void __exit hypheap_xen_rx_exit(void)
{
	kthread_stop(hypheap_xen_rx_task);
}
module_exit(hypheap_xen_rx_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("hypheap: receiver domain of the xen transport");

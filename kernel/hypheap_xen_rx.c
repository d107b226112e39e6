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

/**
 * struct hypheap_xen_rx_map - one granted page the receiver maps
 * @page: the receiver's ballooned page the grant is mapped into
 * @handle: Xen's handle of the mapping
 */
struct hypheap_xen_rx_map {
	struct page *page;
	grant_handle_t handle;
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

static int hypheap_xen_rx_unmap_pages(struct page **pages,
				      const grant_handle_t *handles,
				      unsigned int nr)
{
	struct gnttab_unmap_grant_ref *ops;
	unsigned int i;
	int ret;

	ops = kvcalloc(nr, sizeof(*ops), GFP_KERNEL);
	if (!ops)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		gnttab_set_unmap_op(&ops[i], hypheap_xen_rx_addr(pages[i]),
				    GNTMAP_host_map, handles[i]);
	ret = gnttab_unmap_refs(ops, NULL, pages, nr);
	for (i = 0; !ret && i < nr; i++)
		ret = hypheap_xen_rx_gntst(ops[i].status);
	kvfree(ops);
	return ret;
}

/* All of @refs or none: a failed map takes back the ones that worked. */
static int hypheap_xen_rx_map(const u32 *refs, unsigned int nr)
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
	for (i = 0; i < nr; i++)
		gnttab_set_map_op(&ops[i], hypheap_xen_rx_addr(pages[i]),
				  GNTMAP_host_map, refs[i], dom0_domid);
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
						       1))
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
		if (hypheap_xen_rx_unmap_pages(pages, handles, nr))
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

static int hypheap_xen_rx_lookup(const u32 *refs, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (!xa_load(&hypheap_xen_rx_maps, refs[i]))
			return -ENOENT;
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

static int hypheap_xen_rx_unmap(const u32 *refs, unsigned int nr, bool scrub)
{
	struct hypheap_xen_rx_map *m;
	grant_handle_t *handles;
	struct page **pages;
	unsigned int i;
	int ret;

	ret = hypheap_xen_rx_lookup(refs, nr);
	if (ret)
		return ret;
	pages = kvcalloc(nr, sizeof(*pages), GFP_KERNEL);
	handles = kvcalloc(nr, sizeof(*handles), GFP_KERNEL);
	if (!pages || !handles) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nr; i++) {
		m = xa_load(&hypheap_xen_rx_maps, refs[i]);
		/* Xen scrubs nothing it hands back: the receiver must */
		if (scrub)
			clear_page(page_address(m->page));
		pages[i] = m->page;
		handles[i] = m->handle;
	}
	ret = hypheap_xen_rx_unmap_pages(pages, handles, nr);
	if (ret) {
		pr_err("unmap of %u grants failed: %d (kept)\n", nr, ret);
		goto out;
	}
	for (i = 0; i < nr; i++)
		kfree(xa_erase(&hypheap_xen_rx_maps, refs[i]));
	hypheap_xen_rx_put_pages(nr, pages);
	hypheap_xen_rx_nr_mapped -= nr;
out:
	kvfree(handles);
	kvfree(pages);
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

static int hypheap_xen_rx_serve(struct hypheap_xen_mailbox *mb)
{
	unsigned int nr = le32_to_cpu(mb->nr), i;
	u32 op = le32_to_cpu(mb->op);
	u32 *refs;
	u64 sum = 0;
	int ret;

	if (!nr || nr > HYPHEAP_XEN_MAX_REFS)
		return -EINVAL;
	/* one copy: dom0 may rewrite the page while we work */
	refs = kmalloc_array(nr, sizeof(*refs), GFP_KERNEL);
	if (!refs)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		refs[i] = le32_to_cpu(READ_ONCE(mb->refs[i]));

	switch (op) {
	case HYPHEAP_XEN_OP_MAP:
		ret = hypheap_xen_rx_map(refs, nr);
		break;
	case HYPHEAP_XEN_OP_UNMAP:
		ret = hypheap_xen_rx_unmap(refs, nr,
					   le32_to_cpu(mb->flags) &
					   HYPHEAP_XEN_F_SCRUB);
		break;
	case HYPHEAP_XEN_OP_SUM:
		ret = hypheap_xen_rx_lookup(refs, nr);
		if (!ret)
			sum = hypheap_xen_rx_sum(refs, nr);
		break;
	case HYPHEAP_XEN_OP_FILL:
		ret = hypheap_xen_rx_lookup(refs, nr);
		if (!ret)
			hypheap_xen_rx_fill(refs, nr, le32_to_cpu(mb->arg));
		break;
	default:
		ret = -EOPNOTSUPP;
	}
	kfree(refs);
	mb->sum = cpu_to_le64(sum);
	return ret;
}

/* Map dom0's mailbox: retried until dom0 has granted it. */
static struct hypheap_xen_mailbox *hypheap_xen_rx_attach(struct page **page,
							 grant_handle_t *h)
{
	struct gnttab_map_grant_ref op;
	struct hypheap_xen_mailbox *mb;

	if (gnttab_alloc_pages(1, page))
		return NULL;
	while (!kthread_should_stop()) {
		gnttab_set_map_op(&op, hypheap_xen_rx_addr(*page),
				  GNTMAP_host_map, HYPHEAP_XEN_MAILBOX_REF,
				  dom0_domid);
		if (!gnttab_map_refs(&op, NULL, page, 1) &&
		    op.status == GNTST_okay) {
			mb = page_address(*page);
			if (le32_to_cpu(READ_ONCE(mb->magic)) ==
			    HYPHEAP_XEN_MAGIC) {
				*h = op.handle;
				return mb;
			}
			pr_err("dom%u ref %u is not a hypheap mailbox\n",
			       dom0_domid, HYPHEAP_XEN_MAILBOX_REF);
			hypheap_xen_rx_unmap_pages(page, &op.handle, 1);
		}
		msleep_interruptible(HYPHEAP_XEN_RX_MAP_RETRY_MS);
	}
	gnttab_free_pages(1, page);
	return NULL;
}

static int hypheap_xen_rx_thread(void *data)
{
	struct hypheap_xen_mailbox *mb;
	unsigned int polls = 0;
	struct page *page;
	grant_handle_t h;
	u32 seen, seq;
	int ret;

	mb = hypheap_xen_rx_attach(&page, &h);
	if (!mb)
		return 0;
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
		ret = hypheap_xen_rx_serve(mb);
		WRITE_ONCE(mb->status, cpu_to_le32((u32)ret));
		WRITE_ONCE(mb->mapped, cpu_to_le64(hypheap_xen_rx_nr_mapped));
		/* the answer is written before dom0 sees the request done */
		smp_store_release(&mb->ack_seq, cpu_to_le32(seq));
		seen = seq;
		polls = 0;
	}
	WRITE_ONCE(mb->ready, 0);
	hypheap_xen_rx_unmap_pages(&page, &h, 1);
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

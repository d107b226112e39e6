// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap backends: the reference counted provider object, and what the
 * backends that assign their pages through a conduit to the hypervisor
 * share (hypheap_backend_hyp.c, hypheap_backend_cma.c). Each backend is a
 * file of its own and sees a buffer only as the ops hand it: its memory
 * (struct hypheap_mem) and its heap's use (struct hypheap_use).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/dma-map-ops.h>
#include <linux/mm.h>
#include <linux/page-flags.h>
#include <linux/scatterlist.h>
#include <linux/swiotlb.h>

#include "hypheap_priv.h"

/**
 * hypheap_backend_init() - set up a backend with one reference
 * @be: backend, embedded in the provider's own structure
 * @ops: its operations
 * @name: shown in debugfs, not copied
 * @priv: provider data
 */
void hypheap_backend_init(struct hypheap_backend *be,
			  const struct hypheap_backend_ops *ops,
			  const char *name, void *priv)
{
	be->ops = ops;
	be->name = name;
	be->priv = priv;
	kref_init(&be->ref);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_backend_init);

/**
 * hypheap_backend_get() - take a reference
 * @be: backend
 */
void hypheap_backend_get(struct hypheap_backend *be)
{
	kref_get(&be->ref);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_backend_get);

static void hypheap_backend_release(struct kref *ref)
{
	struct hypheap_backend *be = container_of(ref, struct hypheap_backend,
						  ref);

	be->ops->destroy(be);
}

/**
 * hypheap_backend_put() - drop a reference; the last one destroys it
 * @be: backend
 */
void hypheap_backend_put(struct hypheap_backend *be)
{
	kref_put(&be->ref, hypheap_backend_release);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_backend_put);

/* ---- backends that assign through a conduit ---- */

/**
 * hypheap_mark_offline() - mark pages lent away, or no longer
 * @sgt: page-backed memory
 * @offline: set or clear the mark
 *
 * Pages the host lends are out of its reach: marked PageOffline() while
 * they may be, as a balloon marks pages it gave away, so that hibernation
 * does not save them and /proc/kcore and makedumpfile leave them out of a
 * dump (reading one would fault). Cleared before the pages are freed.
 */
void hypheap_mark_offline(struct sg_table *sgt, bool offline)
{
	struct scatterlist *sg;
	unsigned int i, j;

	/* /proc/kcore tests the flag under page_offline_freeze() */
	page_offline_begin();
	for_each_sgtable_sg(sgt, sg, i)
		for (j = 0; j < sg->length >> PAGE_SHIFT; j++) {
			struct page *page = nth_page(sg_page(sg), j);

			if (offline)
				__SetPageOffline(page);
			else if (PageOffline(page))
				__ClearPageOffline(page);
		}
	page_offline_end();
}

/**
 * hypheap_lender_restrict() - assign a buffer's pages to its VMs
 * @l: the conduit and the host
 * @mem: page-backed, host-owned memory
 * @use: the VMs and the counters of the heap
 *
 * Return: 0, or the errno of hypheap_lend_table() (-ENOTRECOVERABLE: some
 * pages may be the VMs', @mem->owners is then 0 and MEM_QUERY tells later).
 */
int hypheap_lender_restrict(const struct hypheap_lender *l,
			    struct hypheap_mem *mem,
			    const struct hypheap_use *use)
{
	int ret;

	if (mem->pageless)
		return -EINVAL;
	/* before the first page goes: a dump may run at any moment */
	hypheap_mark_offline(&mem->sgt, true);
	ret = hypheap_lend_table(l->conduit, &mem->sgt, &l->host, use->dst,
				 use->nr_dst, use->stats);
	if (!ret)
		mem->owners = hypheap_vmperm_bitmap(use->dst, use->nr_dst);
	else if (ret == -ENOTRECOVERABLE)
		mem->owners = 0;
	else
		mem->owners = HYPHEAP_VMID_BIT(l->host.vmid);
	if (ret && ret != -ENOTRECOVERABLE)
		hypheap_mark_offline(&mem->sgt, false);
	return ret;
}

/**
 * hypheap_lender_unrestrict() - assign a buffer's pages back to the host
 * @l: the conduit and the host
 * @mem: memory restricted by hypheap_lender_restrict()
 * @use: the VMs and the counters of the heap
 *
 * Return: 0 or the errno of hypheap_reclaim_table().
 */
int hypheap_lender_unrestrict(const struct hypheap_lender *l,
			      struct hypheap_mem *mem,
			      const struct hypheap_use *use)
{
	return hypheap_reclaim_table(l->conduit, &mem->sgt, &l->host,
				     hypheap_vmperm_bitmap(use->dst,
							   use->nr_dst),
				     &mem->owners, use->stats);
}

/**
 * hypheap_dma_cleans() - does a device's streaming DMA API clean pages?
 * @dev: the device
 *
 * Not on a dma-coherent device (no maintenance at all), nor under
 * swiotlb=force (it would copy them to a bounce buffer and clean that).
 *
 * Return: true when dma_map_sgtable() for @dev cleans the pages to PoC.
 */
bool hypheap_dma_cleans(struct device *dev)
{
	return !dev_is_dma_coherent(dev) && !is_swiotlb_force_bounce(dev);
}

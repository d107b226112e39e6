// SPDX-License-Identifier: GPL-2.0
/*
 * The hyp backend: pages from the page allocator, assigned to the heap's
 * VMs with MEM_ASSIGN (the mirror of qcom_scm_assign_mem()) one buffer at
 * a time.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/device.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "hypheap_priv.h"

/**
 * struct hypheap_hyp_backend - pages from the kernel, owners from the hyp
 * @be: the backend
 * @dev: device whose streaming DMA mapping cleans pages to PoC
 * @lender: the conduit and the host
 * @clean: @dev's DMA API can clean new pages to PoC
 * @hyp_cleans: the transport's hypervisor cleans what it lends (the hypheap
 *	ABI), which makes the host's clean redundant for a lend, not a share
 */
struct hypheap_hyp_backend {
	struct hypheap_backend be;
	struct device *dev;
	struct hypheap_lender lender;
	bool clean;
	bool hyp_cleans;
};

/*
 * Largest blocks first: 2 MiB, 1 MiB, 64 KiB, then single pages. Blocks of
 * 2 MiB let the hypervisor change ownership with block mappings instead of
 * splitting its stage-2 tables. Every run costs the secure VM's services a
 * hold and a release per request, and a MEM_ASSIGN descriptor entry: 1 MiB
 * runs (the system heap's largest order) make the rest of a 3 MiB buffer
 * one run instead of sixteen. (Written as shifts: get_order() is not a
 * constant.)
 */
static const unsigned int hypheap_orders[] = {
	21 - PAGE_SHIFT, 20 - PAGE_SHIFT, 16 - PAGE_SHIFT, 0,
};

static struct page *hypheap_alloc_largest(size_t size, unsigned int max)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hypheap_orders); i++) {
		unsigned int order = hypheap_orders[i];
		/*
		 * A buffer that does not fit fails with -ENOMEM: reclaim may
		 * run, the OOM killer must not pick a victim for it. The pages
		 * are charged to the allocating task's memory cgroup.
		 */
		gfp_t gfp = GFP_KERNEL | __GFP_NOWARN | __GFP_RETRY_MAYFAIL |
			    __GFP_ACCOUNT;
		struct page *page;

		if (size < (PAGE_SIZE << order) || order > max)
			continue;
		if (order)
			gfp = (gfp | __GFP_NORETRY | __GFP_COMP) &
			      ~(__GFP_RECLAIM | __GFP_RETRY_MAYFAIL);
		page = alloc_pages(gfp, order);
		if (page)
			return page;
	}
	return NULL;
}

/*
 * Zeroed by the kernel, not by __GFP_ZERO, so that the trace of a buffer's
 * phases tells the zeroing from the allocation (the same clear_page()).
 */
static void hypheap_zero_pages(struct sg_table *sgt)
{
	struct scatterlist *sg;
	unsigned int i, j;

	for_each_sgtable_sg(sgt, sg, i) {
		for (j = 0; j < sg->length >> PAGE_SHIFT; j++)
			clear_highpage(nth_page(sg_page(sg), j));
		cond_resched();
	}
}

static void hypheap_hyp_free(struct hypheap_backend *be,
			     struct hypheap_mem *mem)
{
	u64 begin = hypheap_phase_begin();
	struct scatterlist *sg;
	unsigned int i;

	hypheap_mark_offline(&mem->sgt, false);
	for_each_sgtable_sg(&mem->sgt, sg, i) {
		__free_pages(sg_page(sg), get_order(sg->length));
		cond_resched();
	}
	sg_free_table(&mem->sgt);
	hypheap_phase_end(HYPHEAP_PHASE_FREE, begin, mem->len);
}

static int hypheap_hyp_alloc(struct hypheap_backend *be,
			     struct hypheap_mem *mem,
			     const struct hypheap_use *use)
{
	struct hypheap_hyp_backend *hb = be->priv;
	unsigned int max = hypheap_orders[0], n = 0;
	size_t left = mem->len;
	struct scatterlist *sg;
	struct page *page, *tmp;
	LIST_HEAD(pages);
	u64 begin;
	int ret;

	begin = hypheap_phase_begin();
	while (left) {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto err_pages;
		}
		page = hypheap_alloc_largest(left, max);
		if (!page) {
			ret = -ENOMEM;
			goto err_pages;
		}
		list_add_tail(&page->lru, &pages);
		left -= page_size(page);
		max = compound_order(page);
		n++;
		cond_resched();
	}

	ret = sg_alloc_table(&mem->sgt, n, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_pages;
	sg = mem->sgt.sgl;
	list_for_each_entry_safe(page, tmp, &pages, lru) {
		sg_set_page(sg, page, page_size(page), 0);
		sg = sg_next(sg);
		list_del(&page->lru);
	}
	hypheap_phase_end(HYPHEAP_PHASE_ALLOC, begin, mem->len);

	/*
	 * The secure VM must not see what the host left in these pages (and
	 * a dma-heap buffer starts zeroed): zero them while they are ours.
	 */
	begin = hypheap_phase_begin();
	hypheap_zero_pages(&mem->sgt);
	hypheap_phase_end(HYPHEAP_PHASE_ZERO, begin, mem->len);

	/*
	 * No dirty line of ours may be written back over the pages once they
	 * belong to another VM. A transport whose hypervisor cleans what it
	 * lends after unmapping it from us (the hypheap ABI) does that at the
	 * only moment it is sure to hold; otherwise clean to the point of
	 * coherency here, through the streaming DMA API of a non-coherent
	 * device.
	 */
	if (!hb->clean ||
	    (hb->hyp_cleans && !hypheap_use_keeps(use, hb->lender.host.vmid)))
		return 0;
	begin = hypheap_phase_begin();
	ret = dma_map_sgtable(hb->dev, &mem->sgt, DMA_TO_DEVICE, 0);
	if (ret) {
		hypheap_hyp_free(be, mem);
		return ret;
	}
	dma_unmap_sgtable(hb->dev, &mem->sgt, DMA_TO_DEVICE,
			  DMA_ATTR_SKIP_CPU_SYNC);
	hypheap_phase_end(HYPHEAP_PHASE_CLEAN, begin, mem->len);
	return 0;

err_pages:
	list_for_each_entry_safe(page, tmp, &pages, lru)
		__free_pages(page, compound_order(page));
	return ret;
}

static int hypheap_hyp_restrict(struct hypheap_backend *be,
				struct hypheap_mem *mem,
				const struct hypheap_use *use)
{
	struct hypheap_hyp_backend *hb = be->priv;

	return hypheap_lender_restrict(&hb->lender, mem, use);
}

static int hypheap_hyp_unrestrict(struct hypheap_backend *be,
				  struct hypheap_mem *mem,
				  const struct hypheap_use *use)
{
	struct hypheap_hyp_backend *hb = be->priv;

	return hypheap_lender_unrestrict(&hb->lender, mem, use);
}

static void hypheap_hyp_destroy(struct hypheap_backend *be)
{
	struct hypheap_hyp_backend *hb = be->priv;

	hypheap_conduit_put(hb->lender.conduit);
	put_device(hb->dev);
	kfree(hb);
}

static const struct hypheap_backend_ops hypheap_hyp_ops = {
	.alloc = hypheap_hyp_alloc,
	.free = hypheap_hyp_free,
	.restrict_buf = hypheap_hyp_restrict,
	.unrestrict_buf = hypheap_hyp_unrestrict,
	.destroy = hypheap_hyp_destroy,
};

/**
 * hypheap_hyp_backend_create() - make the kernel-pages backend
 * @dev: device used for cache maintenance (a reference is taken)
 * @c: conduit to the hypervisor (a reference is taken)
 * @host_vmid: VM id of this kernel, the owner of free memory
 *
 * Return: the backend with one reference, or an ERR_PTR(): -EINVAL if
 * nobody would clean the pages to PoC (@dev's DMA API cannot and the
 * transport does not).
 */
struct hypheap_backend *hypheap_hyp_backend_create(struct device *dev,
						   struct hypheap_conduit *c,
						   u32 host_vmid)
{
	struct hypheap_hyp_backend *hb;
	bool clean = hypheap_dma_cleans(dev);

	if (host_vmid >= HYPHEAP_VMID_LIMIT)
		return ERR_PTR(-EINVAL);
	if (!clean && !c->ops->cleans_on_lend) {
		dev_err(dev, "%s does not clean lent pages and this device's DMA API cannot (%s)\n",
			c->ops->name,
			dev_is_dma_coherent(dev) ? "dma-coherent" : "swiotlb=force");
		return ERR_PTR(-EINVAL);
	}
	if (!clean)
		dev_info(dev, "pages are cleaned to PoC by the hypervisor on lend only (%s device)\n",
			 dev_is_dma_coherent(dev) ? "dma-coherent" : "bounced");
	else if (c->ops->cleans_on_lend)
		dev_info(dev, "pages are cleaned to PoC by the hypervisor on lend, not twice\n");

	hb = kzalloc(sizeof(*hb), GFP_KERNEL);
	if (!hb)
		return ERR_PTR(-ENOMEM);
	hb->dev = get_device(dev);
	hypheap_conduit_get(c);
	hb->lender.conduit = c;
	hb->lender.host.vmid = host_vmid;
	hb->lender.host.perms = HYPHEAP_PERM_RWX;
	hb->clean = clean;
	hb->hyp_cleans = c->ops->cleans_on_lend;
	hypheap_backend_init(&hb->be, &hypheap_hyp_ops, "hyp-pages", hb);
	return &hb->be;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_hyp_backend_create);

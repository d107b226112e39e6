// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap backends: the reference counted provider object, and the two hyp
 * backends, which assign memory to the heap's VMs through a conduit to the
 * hypervisor: one takes pages from the page allocator, the other takes one
 * physically contiguous chunk per buffer from a CMA reserved region.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/of.h>
#include <linux/of_address.h>
#include <linux/of_reserved_mem.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
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

/* ---- the hyp backend ---- */

/**
 * struct hypheap_hyp_backend - pages from the kernel, owners from the hyp
 * @be: the backend
 * @dev: device whose streaming DMA mapping cleans pages to PoC
 * @conduit: the hypervisor
 * @host: the host VM with full access, destination of reclaim
 * @clean: clean new pages to PoC through @dev's DMA API; false when that
 *	would do nothing and the hypervisor cleans on lend instead
 */
struct hypheap_hyp_backend {
	struct hypheap_backend be;
	struct device *dev;
	struct hypheap_conduit *conduit;
	struct hypheap_vmperm host;
	bool clean;
};

/*
 * Largest blocks first: 2 MiB, 64 KiB, then single pages. Blocks let the
 * hypervisor change ownership with block mappings instead of splitting its
 * stage-2 tables. (Written as shifts: get_order() is not a constant.)
 */
static const unsigned int hypheap_orders[] = {
	21 - PAGE_SHIFT, 16 - PAGE_SHIFT, 0,
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
		gfp_t gfp = GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN |
			    __GFP_RETRY_MAYFAIL | __GFP_ACCOUNT;
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
 * Pages the host lends are out of its reach: marked PageOffline() while
 * they may be, as a balloon marks pages it gave away, so that hibernation
 * does not save them and /proc/kcore and makedumpfile leave them out of a
 * dump (reading one would fault). Cleared before the pages are freed.
 */
static void hypheap_mark_offline(struct sg_table *sgt, bool offline)
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

static void hypheap_hyp_free(struct hypheap_backend *be,
			     struct hypheap_buffer *buf)
{
	struct scatterlist *sg;
	unsigned int i;

	hypheap_mark_offline(&buf->sgt, false);
	for_each_sgtable_sg(&buf->sgt, sg, i) {
		__free_pages(sg_page(sg), get_order(sg->length));
		cond_resched();
	}
	sg_free_table(&buf->sgt);
}

static int hypheap_hyp_alloc(struct hypheap_backend *be,
			     struct hypheap_buffer *buf)
{
	struct hypheap_hyp_backend *hb = be->priv;
	unsigned int max = hypheap_orders[0], n = 0;
	size_t left = buf->len;
	struct scatterlist *sg;
	struct page *page, *tmp;
	LIST_HEAD(pages);
	int ret;

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

	ret = sg_alloc_table(&buf->sgt, n, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_pages;
	sg = buf->sgt.sgl;
	list_for_each_entry_safe(page, tmp, &pages, lru) {
		sg_set_page(sg, page, page_size(page), 0);
		sg = sg_next(sg);
		list_del(&page->lru);
	}

	/*
	 * The pages are zeroed; clean them to the point of coherency so no
	 * dirty line is written back over them once they belong to another
	 * VM. The streaming DMA API does that for a non-coherent device.
	 */
	if (!hb->clean)
		return 0;
	ret = dma_map_sgtable(hb->dev, &buf->sgt, DMA_TO_DEVICE, 0);
	if (ret) {
		hypheap_hyp_free(be, buf);
		return ret;
	}
	dma_unmap_sgtable(hb->dev, &buf->sgt, DMA_TO_DEVICE,
			  DMA_ATTR_SKIP_CPU_SYNC);
	return 0;

err_pages:
	list_for_each_entry_safe(page, tmp, &pages, lru)
		__free_pages(page, compound_order(page));
	return ret;
}

static int hypheap_hyp_restrict(struct hypheap_backend *be,
				struct hypheap_buffer *buf)
{
	struct hypheap_hyp_backend *hb = be->priv;
	struct hypheap_heap *heap = buf->heap;
	int ret;

	/* before the first page goes: a dump may run at any moment */
	hypheap_mark_offline(&buf->sgt, true);
	ret = hypheap_lend_table(hb->conduit, &buf->sgt, &hb->host, heap->dst,
				 heap->nr_dst, &heap->stats);
	if (!ret)
		buf->owners = hypheap_vmperm_bitmap(heap->dst, heap->nr_dst);
	else if (ret == -ENOTRECOVERABLE)
		/* some pages may be the VMs': MEM_QUERY tells which, later */
		buf->owners = 0;
	else
		buf->owners = HYPHEAP_VMID_BIT(hb->host.vmid);
	if (ret && ret != -ENOTRECOVERABLE)
		hypheap_mark_offline(&buf->sgt, false);
	return ret;
}

static int hypheap_hyp_unrestrict(struct hypheap_backend *be,
				  struct hypheap_buffer *buf)
{
	struct hypheap_hyp_backend *hb = be->priv;
	struct hypheap_heap *heap = buf->heap;

	return hypheap_reclaim_table(hb->conduit, &buf->sgt, &hb->host,
				     hypheap_vmperm_bitmap(heap->dst,
							   heap->nr_dst),
				     &buf->owners, &heap->stats);
}

static void hypheap_hyp_destroy(struct hypheap_backend *be)
{
	struct hypheap_hyp_backend *hb = be->priv;

	hypheap_conduit_put(hb->conduit);
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

/*
 * Does @dev's streaming DMA API clean the pages themselves? Not on a
 * dma-coherent device (no maintenance at all), nor under swiotlb=force
 * (it would copy them to a bounce buffer and clean that).
 */
static bool hypheap_dma_cleans(struct device *dev)
{
	return !dev_is_dma_coherent(dev) && !is_swiotlb_force_bounce(dev);
}

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

	hb = kzalloc(sizeof(*hb), GFP_KERNEL);
	if (!hb)
		return ERR_PTR(-ENOMEM);
	hb->dev = get_device(dev);
	hypheap_conduit_get(c);
	hb->conduit = c;
	hb->host.vmid = host_vmid;
	hb->host.perms = HYPHEAP_PERM_RWX;
	hb->clean = clean;
	hypheap_backend_init(&hb->be, &hypheap_hyp_ops, "hyp-pages", hb);
	return &hb->be;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_hyp_backend_create);

/* ---- the hyp backend on a CMA region ---- */

/**
 * struct hypheap_cma_backend - one contiguous chunk per buffer, from CMA
 * @hb: restrict and unrestrict are those of the hyp backend
 * @dev: a device of its own whose CMA area is the region (the parent may
 *	be bound again, with a new backend, while this one still has
 *	buffers: each backend keeps its own device until it is destroyed)
 * @region: the region's bounds, to refuse memory from anywhere else
 */
struct hypheap_cma_backend {
	struct hypheap_hyp_backend hb;
	struct device dev;
	struct resource region;
};

static struct hypheap_cma_backend *to_cma_backend(struct hypheap_backend *be)
{
	return container_of(be, struct hypheap_cma_backend, hb.be);
}

static int hypheap_cma_alloc(struct hypheap_backend *be,
			     struct hypheap_buffer *buf)
{
	struct hypheap_cma_backend *cb = to_cma_backend(be);
	/*
	 * When the region has no room, dma-direct falls back to the page
	 * allocator: that must give up quickly (no OOM killer), and what it
	 * returns is refused below.
	 */
	gfp_t gfp = GFP_KERNEL | __GFP_NOWARN | __GFP_NORETRY;
	struct page *page;
	phys_addr_t pa;
	dma_addr_t dma;
	int ret;

	if (buf->len > resource_size(&cb->region))
		return -ENOMEM;
	/* zeroed through the linear map; mapped for the device (to PoC) below */
	page = dma_alloc_pages(&cb->dev, buf->len, &dma, DMA_TO_DEVICE, gfp);
	if (!page)
		return -ENOMEM;
	pa = page_to_phys(page);
	if (pa < cb->region.start || pa + buf->len - 1 > cb->region.end) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = sg_alloc_table(&buf->sgt, 1, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_free;
	sg_set_page(buf->sgt.sgl, page, buf->len, 0);
	buf->dma = dma;
	/* no dirty line may be written back once another VM owns it */
	dma_sync_single_for_device(&cb->dev, dma, buf->len, DMA_TO_DEVICE);
	return 0;

err_free:
	dma_free_pages(&cb->dev, buf->len, page, dma, DMA_TO_DEVICE);
	return ret;
}

static void hypheap_cma_free(struct hypheap_backend *be,
			     struct hypheap_buffer *buf)
{
	struct hypheap_cma_backend *cb = to_cma_backend(be);

	hypheap_mark_offline(&buf->sgt, false);
	dma_free_pages(&cb->dev, buf->len, sg_page(buf->sgt.sgl), buf->dma,
		       DMA_TO_DEVICE);
	sg_free_table(&buf->sgt);
}

static void hypheap_cma_dev_release(struct device *dev)
{
	struct hypheap_cma_backend *cb;

	cb = container_of(dev, struct hypheap_cma_backend, dev);

	put_device(cb->hb.dev);
	kfree(cb);
}

static void hypheap_cma_destroy(struct hypheap_backend *be)
{
	struct hypheap_cma_backend *cb = to_cma_backend(be);

	of_reserved_mem_device_release(&cb->dev);
	hypheap_conduit_put(cb->hb.conduit);
	put_device(&cb->dev);
}

static const struct hypheap_backend_ops hypheap_cma_ops = {
	.alloc = hypheap_cma_alloc,
	.free = hypheap_cma_free,
	.restrict_buf = hypheap_hyp_restrict,
	.unrestrict_buf = hypheap_hyp_unrestrict,
	.destroy = hypheap_cma_destroy,
};

static bool hypheap_dev_has_cma(struct device *dev)
{
#ifdef CONFIG_DMA_CMA
	return dev->cma_area;
#else
	return false;
#endif
}

/**
 * hypheap_cma_backend_create() - make the backend of a CMA region
 * @parent: the hypheap device (a reference is taken)
 * @np: heap node whose first "memory-region" is a reusable
 *	"shared-dma-pool" (a CMA region)
 * @c: conduit to the hypervisor (a reference is taken)
 * @host_vmid: VM id of this kernel, the owner of free memory
 *
 * Buffers are one physically contiguous chunk of the region, zeroed,
 * cleaned to the point of coherency and assigned in one range.
 *
 * Return: the backend with one reference, or an ERR_PTR(): -EINVAL if
 * the region is not a CMA region.
 */
struct hypheap_backend *hypheap_cma_backend_create(struct device *parent,
						   struct device_node *np,
						   struct hypheap_conduit *c,
						   u32 host_vmid)
{
	struct hypheap_cma_backend *cb;
	struct device_node *region;
	int ret;

	if (host_vmid >= HYPHEAP_VMID_LIMIT)
		return ERR_PTR(-EINVAL);
	region = of_parse_phandle(np, "memory-region", 0);
	if (!region)
		return ERR_PTR(-EINVAL);

	cb = kzalloc(sizeof(*cb), GFP_KERNEL);
	if (!cb) {
		of_node_put(region);
		return ERR_PTR(-ENOMEM);
	}
	ret = of_address_to_resource(region, 0, &cb->region);
	of_node_put(region);
	if (ret) {
		kfree(cb);
		return ERR_PTR(ret);
	}
	/*
	 * Not dma-coherent (the default): dma_sync_single_for_device() then
	 * cleans the buffer to PoC.
	 */
	device_initialize(&cb->dev);
	cb->dev.release = hypheap_cma_dev_release;
	cb->dev.parent = parent;
	cb->dev.coherent_dma_mask = DMA_BIT_MASK(64);
	cb->dev.dma_mask = &cb->dev.coherent_dma_mask;
	cb->hb.dev = get_device(parent);
	ret = dev_set_name(&cb->dev, "%s:%pOFn", dev_name(parent), np);
	if (ret)
		goto err_put;

	ret = of_reserved_mem_device_init_by_idx(&cb->dev, np, 0);
	if (!ret && !hypheap_dev_has_cma(&cb->dev))
		ret = -EINVAL;
	if (ret) {
		dev_err(parent, "%pOF: memory-region is not a CMA region: %d\n",
			np, ret);
		of_reserved_mem_device_release(&cb->dev);
		goto err_put;
	}

	hypheap_conduit_get(c);
	cb->hb.conduit = c;
	cb->hb.host.vmid = host_vmid;
	cb->hb.host.perms = HYPHEAP_PERM_RWX;
	hypheap_backend_init(&cb->hb.be, &hypheap_cma_ops, "hyp-cma", &cb->hb);
	dev_info(parent, "%pOF: contiguous buffers from %pR\n", np,
		 &cb->region);
	return &cb->hb.be;

err_put:
	put_device(&cb->dev);
	return ERR_PTR(ret);
}

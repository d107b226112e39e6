// SPDX-License-Identifier: GPL-2.0
/*
 * The cma backend: one physically contiguous chunk per buffer from a CMA
 * reserved region, assigned to the heap's VMs with MEM_ASSIGN in one range.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/of.h>
#include <linux/of_address.h>
#include <linux/of_reserved_mem.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "hypheap_priv.h"

/**
 * struct hypheap_cma_backend - one contiguous chunk per buffer, from CMA
 * @be: the backend
 * @lender: the conduit and the host
 * @parent: the hypheap device (a reference)
 * @dev: a device of its own whose CMA area is the region (the parent may
 *	be bound again, with a new backend, while this one still has
 *	buffers: each backend keeps its own device until it is destroyed)
 * @region: the region's bounds, to refuse memory from anywhere else
 */
struct hypheap_cma_backend {
	struct hypheap_backend be;
	struct hypheap_lender lender;
	struct device *parent;
	struct device dev;
	struct resource region;
};

static int hypheap_cma_alloc(struct hypheap_backend *be,
			     struct hypheap_mem *mem,
			     const struct hypheap_use *use)
{
	struct hypheap_cma_backend *cb = be->priv;
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

	if (mem->len > resource_size(&cb->region))
		return -ENOMEM;
	/* zeroed through the linear map; mapped for the device (to PoC) below */
	page = dma_alloc_pages(&cb->dev, mem->len, &dma, DMA_TO_DEVICE, gfp);
	if (!page)
		return -ENOMEM;
	pa = page_to_phys(page);
	if (pa < cb->region.start || pa + mem->len - 1 > cb->region.end) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = sg_alloc_table(&mem->sgt, 1, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_free;
	sg_set_page(mem->sgt.sgl, page, mem->len, 0);
	mem->dma = dma;
	/*
	 * No dirty line may be written back once another VM owns it: the
	 * hypervisor cleans on lend where the transport says so (after
	 * unmapping it from us, the moment that counts), else clean here; it
	 * does not clean what it shares, which the host keeps.
	 */
	if (!cb->lender.conduit->ops->cleans_on_lend ||
	    hypheap_use_keeps(use, cb->lender.host.vmid))
		dma_sync_single_for_device(&cb->dev, dma, mem->len,
					   DMA_TO_DEVICE);
	return 0;

err_free:
	dma_free_pages(&cb->dev, mem->len, page, dma, DMA_TO_DEVICE);
	return ret;
}

static void hypheap_cma_free(struct hypheap_backend *be,
			     struct hypheap_mem *mem)
{
	struct hypheap_cma_backend *cb = be->priv;

	hypheap_mark_offline(&mem->sgt, false);
	dma_free_pages(&cb->dev, mem->len, sg_page(mem->sgt.sgl), mem->dma,
		       DMA_TO_DEVICE);
	sg_free_table(&mem->sgt);
}

static int hypheap_cma_restrict(struct hypheap_backend *be,
				struct hypheap_mem *mem,
				const struct hypheap_use *use)
{
	struct hypheap_cma_backend *cb = be->priv;

	return hypheap_lender_restrict(&cb->lender, mem, use);
}

static int hypheap_cma_unrestrict(struct hypheap_backend *be,
				  struct hypheap_mem *mem,
				  const struct hypheap_use *use)
{
	struct hypheap_cma_backend *cb = be->priv;

	return hypheap_lender_unrestrict(&cb->lender, mem, use);
}

static void hypheap_cma_dev_release(struct device *dev)
{
	struct hypheap_cma_backend *cb;

	cb = container_of(dev, struct hypheap_cma_backend, dev);

	put_device(cb->parent);
	kfree(cb);
}

static void hypheap_cma_destroy(struct hypheap_backend *be)
{
	struct hypheap_cma_backend *cb = be->priv;

	of_reserved_mem_device_release(&cb->dev);
	hypheap_conduit_put(cb->lender.conduit);
	put_device(&cb->dev);
}

static const struct hypheap_backend_ops hypheap_cma_ops = {
	.alloc = hypheap_cma_alloc,
	.free = hypheap_cma_free,
	.restrict_buf = hypheap_cma_restrict,
	.unrestrict_buf = hypheap_cma_unrestrict,
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
	 * cleans the buffer to PoC, on a transport that does not clean.
	 */
	device_initialize(&cb->dev);
	cb->dev.release = hypheap_cma_dev_release;
	cb->dev.parent = parent;
	cb->dev.coherent_dma_mask = DMA_BIT_MASK(64);
	cb->dev.dma_mask = &cb->dev.coherent_dma_mask;
	cb->parent = get_device(parent);
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
	cb->lender.conduit = c;
	cb->lender.host.vmid = host_vmid;
	cb->lender.host.perms = HYPHEAP_PERM_RWX;
	hypheap_backend_init(&cb->be, &hypheap_cma_ops, "hyp-cma", cb);
	dev_info(parent, "%pOF: contiguous buffers from %pR\n", np,
		 &cb->region);
	return &cb->be;

err_put:
	put_device(&cb->dev);
	return ERR_PTR(ret);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap buffers as dma-bufs.
 *
 * The memory belongs to other VMs while the buffer lives: the CPU must not
 * touch it, so mmap and CPU access fail with -EPERM and there is no vmap
 * (Linux 6.1 warns when a vmap op fails, so the op is left out and
 * dma_buf_vmap() answers -EINVAL). Device mappings skip CPU cache
 * maintenance: the pages were cleaned to the point of coherency before
 * they were assigned away.
 *
 * A device must reach the pages themselves. Where dma-direct would bounce
 * them through swiotlb (a DMA mask or bus limit below the pages, or
 * swiotlb=force), Linux 6.1 copies the original page with the CPU on map
 * whatever DMA_ATTR_SKIP_CPU_SYNC says: the host would read a page it has
 * lent (an injected abort) and the device would work on an unprotected
 * copy. Such a device is refused at attach, and again at map in case its
 * mask changed in between.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/swiotlb.h>

#include "hypheap_priv.h"

/**
 * struct hypheap_attachment - one device attached to a buffer
 * @dev: the device
 * @mem: the buffer's memory
 * @sgt: this attachment's copy of the buffer's table, mapped for @dev
 */
struct hypheap_attachment {
	struct device *dev;
	struct hypheap_mem *mem;
	struct sg_table sgt;
};

/* A page-less copy has no pages to point at: map fills its DMA side. */
static int hypheap_dup_table(struct sg_table *to, struct hypheap_mem *mem)
{
	struct scatterlist *s, *d;
	unsigned int i;
	int ret;

	ret = sg_alloc_table(to, mem->sgt.orig_nents, GFP_KERNEL);
	if (ret)
		return ret;

	d = to->sgl;
	for_each_sgtable_sg(&mem->sgt, s, i) {
		if (mem->pageless)
			d->length = s->length;
		else
			sg_set_page(d, sg_page(s), s->length, s->offset);
		d = sg_next(d);
	}
	return 0;
}

/*
 * Whether @dev's DMA mappings of @mem would be the memory itself, never a
 * swiotlb copy of it. dma_map_resource() never bounces: page-less memory
 * is only checked against the device's reach.
 */
static bool hypheap_dma_reaches(struct device *dev, struct hypheap_mem *mem)
{
	struct hypheap_range_iter it;
	struct hypheap_range r;

	/* no mask, no DMA (and dma_capable() would dereference it) */
	if (!dev->dma_mask)
		return false;
	if (!mem->pageless && is_swiotlb_force_bounce(dev))
		return false;
	if (get_dma_ops(dev))
		/* an IOMMU: dma-iommu bounces pages for untrusted devices */
		return mem->pageless ||
		       !(dev_is_pci(dev) && to_pci_dev(dev)->untrusted);

	hypheap_range_iter_init_mem(&it, mem);
	while (hypheap_range_iter_fill(&it, &r, 1))
		if (!dma_capable(dev, phys_to_dma(dev, r.base), r.size, true))
			return false;
	return true;
}

static int hypheap_check_importer(struct hypheap_buffer *buf,
				  struct device *dev)
{
	if (hypheap_dma_reaches(dev, &buf->mem))
		return 0;
	hypheap_stats_fail(&buf->heap->stats, -EOPNOTSUPP);
	dev_warn_ratelimited(dev, "cannot import %s buffer: its DMA would bounce through swiotlb, which copies protected pages with the CPU\n",
			     buf->heap->name);
	return -EOPNOTSUPP;
}

static int hypheap_attach(struct dma_buf *dmabuf,
			  struct dma_buf_attachment *attachment)
{
	struct hypheap_buffer *buf = dmabuf->priv;
	struct hypheap_attachment *a;
	int ret;

	ret = hypheap_check_importer(buf, attachment->dev);
	if (ret)
		return ret;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;

	ret = hypheap_dup_table(&a->sgt, &buf->mem);
	if (ret) {
		kfree(a);
		return ret;
	}
	a->dev = attachment->dev;
	a->mem = &buf->mem;
	attachment->priv = a;
	return 0;
}

static void hypheap_detach(struct dma_buf *dmabuf,
			   struct dma_buf_attachment *attachment)
{
	struct hypheap_attachment *a = attachment->priv;

	sg_free_table(&a->sgt);
	kfree(a);
}

static void hypheap_unmap_resources(struct hypheap_attachment *a,
				    unsigned int n,
				    enum dma_data_direction dir)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_sg(&a->sgt, sg, i) {
		if (i == n)
			break;
		dma_unmap_resource(a->dev, sg_dma_address(sg), sg_dma_len(sg),
				   dir, DMA_ATTR_SKIP_CPU_SYNC);
	}
	a->sgt.nents = 0;
}

/* Page-less memory: one DMA segment per entry, never merged. */
static int hypheap_map_resources(struct hypheap_attachment *a,
				 enum dma_data_direction dir)
{
	struct scatterlist *s = a->mem->sgt.sgl, *d;
	unsigned int i;

	for_each_sgtable_sg(&a->sgt, d, i) {
		dma_addr_t dma = dma_map_resource(a->dev,
						  hypheap_sg_phys(a->mem, s),
						  s->length, dir,
						  DMA_ATTR_SKIP_CPU_SYNC);

		if (dma_mapping_error(a->dev, dma)) {
			hypheap_unmap_resources(a, i, dir);
			return -EIO;
		}
		sg_dma_address(d) = dma;
		sg_dma_len(d) = s->length;
		s = sg_next(s);
	}
	a->sgt.nents = a->sgt.orig_nents;
	return 0;
}

static struct sg_table *hypheap_map(struct dma_buf_attachment *attachment,
				    enum dma_data_direction dir)
{
	struct hypheap_attachment *a = attachment->priv;
	int ret;

	ret = hypheap_check_importer(attachment->dmabuf->priv, a->dev);
	if (ret)
		return ERR_PTR(ret);
	if (a->mem->pageless)
		ret = hypheap_map_resources(a, dir);
	else
		ret = dma_map_sgtable(a->dev, &a->sgt, dir,
				      DMA_ATTR_SKIP_CPU_SYNC);
	if (ret)
		return ERR_PTR(ret);
	return &a->sgt;
}

static void hypheap_unmap(struct dma_buf_attachment *attachment,
			  struct sg_table *sgt, enum dma_data_direction dir)
{
	struct hypheap_attachment *a = attachment->priv;

	if (a->mem->pageless)
		hypheap_unmap_resources(a, sgt->orig_nents, dir);
	else
		dma_unmap_sgtable(a->dev, sgt, dir, DMA_ATTR_SKIP_CPU_SYNC);
}

static int hypheap_no_cpu_access(struct dma_buf *dmabuf,
				 enum dma_data_direction dir)
{
	return -EPERM;
}

static int hypheap_no_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	return -EPERM;
}

static void hypheap_dma_buf_release(struct dma_buf *dmabuf)
{
	hypheap_buffer_release(dmabuf->priv);
}

static const struct dma_buf_ops hypheap_dma_buf_ops = {
	.attach = hypheap_attach,
	.detach = hypheap_detach,
	.map_dma_buf = hypheap_map,
	.unmap_dma_buf = hypheap_unmap,
	.begin_cpu_access = hypheap_no_cpu_access,
	.end_cpu_access = hypheap_no_cpu_access,
	.mmap = hypheap_no_mmap,
	.release = hypheap_dma_buf_release,
};

/**
 * hypheap_buffer_export() - wrap a buffer in a dma-buf
 * @buf: a restricted buffer; the dma-buf owns it on success
 * @fd_flags: O_* flags of the dma-buf file
 *
 * Return: the dma-buf, or an ERR_PTR() with @buf still the caller's.
 */
struct dma_buf *hypheap_buffer_export(struct hypheap_buffer *buf,
				      u32 fd_flags)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct dma_buf *dmabuf;

	exp_info.exp_name = buf->heap->name;
	exp_info.ops = &hypheap_dma_buf_ops;
	exp_info.size = buf->mem.len;
	exp_info.flags = fd_flags;
	exp_info.priv = buf;
	dmabuf = dma_buf_export(&exp_info);
	if (!IS_ERR(dmabuf))
		/* kept as a number: the file may go before the release op */
		WRITE_ONCE(buf->ino, file_inode(dmabuf->file)->i_ino);
	return dmabuf;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_buffer_export);

/**
 * hypheap_buffer_of() - the hypheap buffer behind a dma-buf
 * @dmabuf: any dma-buf
 *
 * Return: the buffer, owned by @dmabuf (valid while the caller holds a
 * reference to it), or NULL when another exporter made @dmabuf.
 */
struct hypheap_buffer *hypheap_buffer_of(struct dma_buf *dmabuf)
{
	return dmabuf->ops == &hypheap_dma_buf_ops ? dmabuf->priv : NULL;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_buffer_of);

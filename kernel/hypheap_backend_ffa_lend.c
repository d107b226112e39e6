// SPDX-License-Identifier: GPL-2.0
/*
 * The ffa-lend backend: the dynamic protected memory of the upstream TEE
 * heap over FF-A, as Linux 6.18's OP-TEE driver does it. Per use case the
 * secure VM says what it wants lent (PROTMEM_CONFIG: minimum size,
 * alignment, receiver); a block of at least that much is one contiguous
 * chunk of CMA, lent with Linux's own memory_lend() (tag = use case) and
 * taken by the secure VM (PROTMEM_ASSIGN: it retrieves the handle). Buffers
 * are sub-allocated from the block with genalloc: they are the secure VM's
 * from the start, so restrict and unrestrict change nothing. When the last
 * buffer of a block goes, the secure VM releases it (PROTMEM_RELEASE) and
 * memory_reclaim() takes it back (the hyp zeroes it); a block whose release
 * or reclaim fails (DENIED while held, BUSY while pinned) is quarantined,
 * never freed to CMA, and retried with backoff.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/device.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/genalloc.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/of_address.h>
#include <linux/of_reserved_mem.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "hypheap_priv.h"

#define HYPHEAP_FFA_RETRY_MIN	msecs_to_jiffies(100)
#define HYPHEAP_FFA_RETRY_MAX	msecs_to_jiffies(60 * MSEC_PER_SEC)
#define HYPHEAP_FFA_NR_USES	(HYPHEAP_USE_SECURE_VIDEO_RECORD + 1)

struct hypheap_ffa_backend;

/**
 * struct hypheap_ffa_block - one lent block
 * @node: entry in its pool's blocks, or in the backend's quarantine
 * @svm: the partition it is lent to (a reference)
 * @sgt: the block, one entry
 * @page: its first page
 * @dma: its DMA handle on the backend's device
 * @size: bytes
 * @handle: the FF-A memory handle
 * @use_case: its FF-A tag
 * @taken: the secure VM took it and has not released it
 * @gp: its sub-allocator, NULL once retired
 * @nr_bufs: live buffers in it
 * @sealed: off its pool's list: a freed slice of it was not zeroed, so it
 *	takes no new buffer and goes when its last one does
 */
struct hypheap_ffa_block {
	struct list_head node;
	struct hypheap_svm *svm;
	struct sg_table sgt;
	struct page *page;
	dma_addr_t dma;
	size_t size;
	u64 handle;
	u32 use_case;
	bool taken;
	struct gen_pool *gp;
	unsigned int nr_bufs;
	bool sealed;
};

/**
 * struct hypheap_ffa_pool - the blocks of one use case
 * @have_cfg: @cfg holds the secure VM's answer
 * @cfg: what it wants lent
 * @blocks: lent blocks with room or buffers
 */
struct hypheap_ffa_pool {
	bool have_cfg;
	struct hypheap_protmem_config cfg;
	struct list_head blocks;
};

/**
 * struct hypheap_ffa_backend - FF-A lent blocks, sub-allocated
 * @be: the backend
 * @parent: the hypheap device (a reference)
 * @dev: a device of its own for the blocks' CMA (the region's, else the
 *	default area), as the cma backend has
 * @region: the region's bounds; empty without one
 * @lock: protects @pools, @quarantine, the blocks and @retry_delay
 * @pools: by use case
 * @quarantine: blocks whose release or reclaim failed; each holds a
 *	backend reference
 * @retry: retries @quarantine
 * @retry_delay: the next retry's delay
 * @stats: lends, reclaims and failures (hypheap_ffa_lend_counters())
 */
struct hypheap_ffa_backend {
	struct hypheap_backend be;
	struct device *parent;
	struct device dev;
	struct resource region;
	struct mutex lock; /* protects the pools, blocks and quarantine */
	struct hypheap_ffa_pool pools[HYPHEAP_FFA_NR_USES];
	struct list_head quarantine;
	struct delayed_work retry;
	unsigned long retry_delay;
	struct hypheap_ffa_counters stats;
};

static struct hypheap_ffa_backend *to_ffa(struct hypheap_backend *be)
{
	return container_of(be, struct hypheap_ffa_backend, be);
}

static void hypheap_ffa_block_free(struct hypheap_ffa_backend *fb,
				   struct hypheap_ffa_block *b)
{
	hypheap_mark_offline(&b->sgt, false);
	dma_free_pages(&fb->dev, b->size, b->page, b->dma, DMA_TO_DEVICE);
	sg_free_table(&b->sgt);
	hypheap_svm_put(b->svm);
	kfree(b);
}

/*
 * Release (if taken), then reclaim. Return: 0 once the block is the
 * host's again and freed, or the first errno with the block unchanged
 * beyond what succeeded (a release is not undone).
 */
static int hypheap_ffa_block_retire(struct hypheap_ffa_backend *fb,
				    struct hypheap_ffa_block *b)
{
	long status;
	int ret;

	if (b->gp) {
		gen_pool_destroy(b->gp);
		b->gp = NULL;
	}
	if (b->taken) {
		ret = hypheap_svm_protmem_release(b->svm, b->handle, &status);
		/* -ESRCH: it holds nothing, which is all a release is for */
		if (ret && ret != -ESRCH) {
			atomic64_inc(&fb->stats.release_failures);
			return ret;
		}
		b->taken = false;
	}
	ret = hypheap_svm_protmem_reclaim(b->svm, b->handle);
	if (ret) {
		atomic64_inc(&fb->stats.reclaim_failures);
		return ret;
	}
	atomic64_inc(&fb->stats.reclaims);
	hypheap_ffa_block_free(fb, b);
	return 0;
}

/* Under fb->lock: keep @b, which the secure VM may hold, until a retry works. */
static void hypheap_ffa_quarantine(struct hypheap_ffa_backend *fb,
				   struct hypheap_ffa_block *b, int err)
{
	pr_warn_ratelimited("ffa-lend: block %#llx (%zu KiB) quarantined, not given back (%d); retrying\n",
			    b->handle, b->size >> 10, err);
	hypheap_backend_get(&fb->be);
	list_add_tail(&b->node, &fb->quarantine);
	atomic64_inc(&fb->stats.quarantined);
	schedule_delayed_work(&fb->retry, fb->retry_delay);
}

static void hypheap_ffa_retry(struct work_struct *work)
{
	struct hypheap_ffa_backend *fb =
		container_of(to_delayed_work(work), struct hypheap_ffa_backend,
			     retry);
	struct hypheap_ffa_block *b, *tmp;
	unsigned int back = 0;

	mutex_lock(&fb->lock);
	list_for_each_entry_safe(b, tmp, &fb->quarantine, node) {
		list_del(&b->node);
		if (hypheap_ffa_block_retire(fb, b)) {
			list_add(&b->node, &fb->quarantine);
			continue;
		}
		atomic64_dec(&fb->stats.quarantined);
		back++;
	}
	if (list_empty(&fb->quarantine)) {
		fb->retry_delay = HYPHEAP_FFA_RETRY_MIN;
	} else {
		fb->retry_delay = min(fb->retry_delay * 2, HYPHEAP_FFA_RETRY_MAX);
		schedule_delayed_work(&fb->retry, fb->retry_delay);
	}
	mutex_unlock(&fb->lock);
	/* the last reference may go here: nothing of @fb is touched after it */
	while (back--)
		hypheap_backend_put(&fb->be);
}

/*
 * A new block of at least @len bytes for @use_case, lent and taken. The
 * caller's reference to @svm is the block's (or dropped on failure).
 */
static struct hypheap_ffa_block *
hypheap_ffa_block_new(struct hypheap_ffa_backend *fb, struct hypheap_svm *svm,
		      const struct hypheap_protmem_config *cfg, u32 use_case,
		      size_t len)
{
	gfp_t gfp = GFP_KERNEL | __GFP_NOWARN | __GFP_NORETRY;
	struct hypheap_ffa_block *b;
	phys_addr_t pa;
	long status;
	int ret;

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b) {
		hypheap_svm_put(svm);
		return ERR_PTR(-ENOMEM);
	}
	b->size = max_t(size_t, cfg->min_size, ALIGN(len, cfg->align));
	b->use_case = use_case;
	ret = -ENOMEM;
	if (fb->region.end && b->size > resource_size(&fb->region))
		goto err_free;
	/* zeroed by dma-direct; cleaned to PoC below (the hyp cleans too) */
	b->page = dma_alloc_pages(&fb->dev, b->size, &b->dma, DMA_TO_DEVICE,
				  gfp);
	if (!b->page)
		goto err_free;
	pa = page_to_phys(b->page);
	if (!IS_ALIGNED(pa, cfg->align) ||
	    (fb->region.end &&
	     (pa < fb->region.start || pa + b->size - 1 > fb->region.end)))
		goto err_pages;
	ret = sg_alloc_table(&b->sgt, 1, GFP_KERNEL);
	if (ret)
		goto err_pages;
	sg_set_page(b->sgt.sgl, b->page, b->size, 0);
	dma_sync_single_for_device(&fb->dev, b->dma, b->size, DMA_TO_DEVICE);

	b->gp = gen_pool_create(PAGE_SHIFT, -1);
	if (!b->gp) {
		ret = -ENOMEM;
		goto err_sgt;
	}
	ret = gen_pool_add(b->gp, pa, b->size, -1);
	if (ret)
		goto err_gp;

	hypheap_mark_offline(&b->sgt, true);
	ret = hypheap_svm_protmem_lend(svm, cfg, &b->sgt, use_case, &b->handle);
	if (ret) {
		atomic64_inc(&fb->stats.lend_failures);
		hypheap_mark_offline(&b->sgt, false);
		goto err_gp;
	}
	atomic64_inc(&fb->stats.lends);
	b->svm = svm;
	ret = hypheap_svm_protmem_assign(svm, b->handle, use_case, &status);
	if (ret) {
		int back;

		atomic64_inc(&fb->stats.assign_failures);
		back = hypheap_ffa_block_retire(fb, b);
		if (back)
			hypheap_ffa_quarantine(fb, b, back);
		return ERR_PTR(ret);
	}
	b->taken = true;
	return b;

err_gp:
	gen_pool_destroy(b->gp);
err_sgt:
	sg_free_table(&b->sgt);
err_pages:
	dma_free_pages(&fb->dev, b->size, b->page, b->dma, DMA_TO_DEVICE);
err_free:
	kfree(b);
	hypheap_svm_put(svm);
	return ERR_PTR(ret);
}

/* The heap must lend to the partition alone, read-write. */
static bool hypheap_ffa_use_ok(const struct hypheap_use *use)
{
	u32 rw = HYPHEAP_PERM_R | HYPHEAP_PERM_W;

	return use->nr_dst == 1 && use->dst[0].vmid == HYPHEAP_VMID_SECURE_0 &&
	       (use->dst[0].perms & rw) == rw &&
	       use->use_case > HYPHEAP_USE_NONE &&
	       use->use_case < HYPHEAP_FFA_NR_USES;
}

static int hypheap_ffa_alloc(struct hypheap_backend *be,
			     struct hypheap_mem *mem,
			     const struct hypheap_use *use)
{
	struct hypheap_ffa_backend *fb = to_ffa(be);
	struct hypheap_ffa_block *b, *found = NULL;
	struct hypheap_ffa_pool *pool;
	struct hypheap_svm *svm;
	unsigned long pa = 0;
	long status;
	int ret;

	if (!hypheap_ffa_use_ok(use))
		return -EINVAL;
	pool = &fb->pools[use->use_case];
	ret = sg_alloc_table(&mem->sgt, 1, GFP_KERNEL_ACCOUNT);
	if (ret)
		return ret;
	svm = hypheap_svm_get();
	if (!svm) {
		ret = -ENODEV;
		goto err_sgt;
	}

	mutex_lock(&fb->lock);
	if (!pool->have_cfg) {
		ret = hypheap_svm_protmem_config(svm, use->use_case, &pool->cfg,
						 &status);
		if (ret)
			goto err_unlock;
		pool->have_cfg = true;
	}
	list_for_each_entry(b, &pool->blocks, node) {
		pa = gen_pool_alloc(b->gp, mem->len);
		if (pa) {
			found = b;
			break;
		}
	}
	if (found) {
		hypheap_svm_put(svm);
	} else {
		found = hypheap_ffa_block_new(fb, svm, &pool->cfg,
					      use->use_case, mem->len);
		if (IS_ERR(found)) {
			mutex_unlock(&fb->lock);
			ret = PTR_ERR(found);
			goto err_sgt;
		}
		list_add_tail(&found->node, &pool->blocks);
		pa = gen_pool_alloc(found->gp, mem->len);
	}
	found->nr_bufs++;
	mutex_unlock(&fb->lock);

	sg_set_page(mem->sgt.sgl, pfn_to_page(PHYS_PFN(pa)), mem->len, 0);
	mem->priv = found;
	mem->owners = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);
	return 0;

err_unlock:
	mutex_unlock(&fb->lock);
	hypheap_svm_put(svm);
err_sgt:
	sg_free_table(&mem->sgt);
	return ret;
}

static void hypheap_ffa_free(struct hypheap_backend *be,
			     struct hypheap_mem *mem)
{
	struct hypheap_ffa_backend *fb = to_ffa(be);
	struct hypheap_ffa_block *b = mem->priv;
	bool reuse = true;
	int ret;

	/*
	 * The slice stays lent for the block's next buffer: the secure VM zeroes
	 * it first, or one buffer's frame could be confirmed through the next's
	 * HASH. The block's last buffer needs none: the hyp scrubs on reclaim.
	 * Decided under the lock, so an allocation cannot keep the block alive
	 * between the test and the free.
	 */
	mutex_lock(&fb->lock);
	if (b->nr_bufs > 1) {
		long status;

		ret = hypheap_svm_fill_mem(b->svm, mem, 0, true, &status);
		if (ret) {
			pr_warn_ratelimited("ffa-lend: a freed slice of block %#llx was not zeroed (%d, status %ld): block sealed\n",
					    b->handle, ret, status);
			atomic64_inc(&fb->stats.zero_failures);
			reuse = false;
		} else {
			atomic64_inc(&fb->stats.slices_zeroed);
		}
	}
	/*
	 * The slice goes back to genalloc either way (gen_pool_destroy() wants
	 * none outstanding); a block holding one not zeroed leaves its pool's
	 * list, so nothing allocates from it again.
	 */
	if (!reuse && !b->sealed) {
		list_del_init(&b->node);
		b->sealed = true;
	}
	gen_pool_free(b->gp, sg_phys(mem->sgt.sgl), mem->len);
	if (!--b->nr_bufs) {
		list_del_init(&b->node);
		ret = hypheap_ffa_block_retire(fb, b);
		if (ret)
			hypheap_ffa_quarantine(fb, b, ret);
	}
	mutex_unlock(&fb->lock);
	sg_free_table(&mem->sgt);
}

/* The block was lent and taken before the buffer existed: nothing to do. */
static int hypheap_ffa_restrict(struct hypheap_backend *be,
				struct hypheap_mem *mem,
				const struct hypheap_use *use)
{
	return 0;
}

static void hypheap_ffa_dev_release(struct device *dev)
{
	struct hypheap_ffa_backend *fb;

	fb = container_of(dev, struct hypheap_ffa_backend, dev);
	put_device(fb->parent);
	mutex_destroy(&fb->lock);
	kfree(fb);
}

/* Every block is gone: each held a reference, directly or by its buffers. */
static void hypheap_ffa_destroy(struct hypheap_backend *be)
{
	struct hypheap_ffa_backend *fb = to_ffa(be);

	if (fb->region.end)
		of_reserved_mem_device_release(&fb->dev);
	put_device(&fb->dev);
}

static const struct hypheap_backend_ops hypheap_ffa_ops = {
	.alloc = hypheap_ffa_alloc,
	.free = hypheap_ffa_free,
	.restrict_buf = hypheap_ffa_restrict,
	.unrestrict_buf = hypheap_ffa_restrict,
	.destroy = hypheap_ffa_destroy,
	.use_ok = hypheap_ffa_use_ok,
};

/**
 * hypheap_ffa_lend_counters() - what an ffa-lend backend did so far
 * @be: an ffa-lend backend
 *
 * Return: its counters.
 */
struct hypheap_ffa_counters *hypheap_ffa_lend_counters(struct hypheap_backend *be)
{
	return be->ops == &hypheap_ffa_ops ? &to_ffa(be)->stats : NULL;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_ffa_lend_counters);

/**
 * hypheap_ffa_lend_backend_create() - make an ffa-lend backend
 * @parent: the hypheap device (a reference is taken)
 * @np: heap node; its first "memory-region", if any, is the CMA region
 *	blocks come from (else the default CMA area); NULL for none
 *
 * The secure VM is looked up at each allocation (hypheap_svm_get()): a
 * heap of this backend answers -ENODEV while no partition is bound.
 *
 * Return: the backend with one reference, or an ERR_PTR().
 */
struct hypheap_backend *hypheap_ffa_lend_backend_create(struct device *parent,
							struct device_node *np)
{
	struct hypheap_ffa_backend *fb;
	struct device_node *region = NULL;
	unsigned int i;
	int ret;

	fb = kzalloc(sizeof(*fb), GFP_KERNEL);
	if (!fb)
		return ERR_PTR(-ENOMEM);
	if (np)
		region = of_parse_phandle(np, "memory-region", 0);
	if (region) {
		ret = of_address_to_resource(region, 0, &fb->region);
		of_node_put(region);
		if (ret) {
			kfree(fb);
			return ERR_PTR(ret);
		}
	}
	mutex_init(&fb->lock);
	for (i = 0; i < ARRAY_SIZE(fb->pools); i++)
		INIT_LIST_HEAD(&fb->pools[i].blocks);
	INIT_LIST_HEAD(&fb->quarantine);
	INIT_DELAYED_WORK(&fb->retry, hypheap_ffa_retry);
	fb->retry_delay = HYPHEAP_FFA_RETRY_MIN;

	/* not dma-coherent: dma_sync_single_for_device() cleans to PoC */
	device_initialize(&fb->dev);
	fb->dev.release = hypheap_ffa_dev_release;
	fb->dev.parent = parent;
	fb->dev.coherent_dma_mask = DMA_BIT_MASK(64);
	fb->dev.dma_mask = &fb->dev.coherent_dma_mask;
	fb->parent = get_device(parent);
	ret = dev_set_name(&fb->dev, "%s:ffa-lend%s%pOFn", dev_name(parent),
			   np ? ":" : "", np);
	if (ret)
		goto err_put;
	if (fb->region.end) {
		ret = of_reserved_mem_device_init_by_idx(&fb->dev, np, 0);
		if (ret) {
			dev_err(parent, "%pOF: memory-region is not a CMA region: %d\n",
				np, ret);
			fb->region.end = 0;
			goto err_put;
		}
	}
	hypheap_backend_init(&fb->be, &hypheap_ffa_ops, "ffa-lend", fb);
	return &fb->be;

err_put:
	put_device(&fb->dev);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_ffa_lend_backend_create);

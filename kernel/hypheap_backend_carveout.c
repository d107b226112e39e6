// SPDX-License-Identifier: GPL-2.0
/*
 * The carveout backend: the model of MediaTek's restricted heap and of
 * OP-TEE's static protected memory. The secure VM owns a carve-out pool
 * from boot (the host never owned it: absent from its stage-2, a no-map
 * reserved-memory node) and allocates each buffer from it on request
 * (CARVEOUT_ALLOC); the kernel only learns the buffer's physical range, so
 * the table is page-less (hypheap_mem.pageless). Restrict and unrestrict
 * change nothing: the memory is the secure VM's from the start to the end.
 * Free is CARVEOUT_FREE (the secure VM scrubs the buffer before reusing
 * it); a refused free (the buffer still pinned or held by a call) keeps
 * the range in this backend's quarantine, never handed out again by the
 * kernel, and is retried with backoff.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "hypheap_priv.h"

#define HYPHEAP_CARVEOUT_RETRY_MIN	msecs_to_jiffies(100)
#define HYPHEAP_CARVEOUT_RETRY_MAX	msecs_to_jiffies(60 * MSEC_PER_SEC)

/**
 * struct hypheap_carveout_held - a buffer whose free was refused
 * @node: entry in the backend's quarantine
 * @svm: the partition (a reference)
 * @base: its physical base, as CARVEOUT_ALLOC answered
 * @len: bytes
 */
struct hypheap_carveout_held {
	struct list_head node;
	struct hypheap_svm *svm;
	phys_addr_t base;
	size_t len;
};

/**
 * struct hypheap_carveout_backend - buffers of the secure VM's carve-out
 * @be: the backend
 * @lock: protects @quarantine, @retry_delay and @pool_size
 * @quarantine: buffers whose free failed; each holds a backend reference
 * @retry: retries @quarantine
 * @retry_delay: the next retry's delay
 * @pool_size: the pool's size (CARVEOUT_INFO), 0 until known
 * @stats: what it did (hypheap_carveout_counters())
 */
struct hypheap_carveout_backend {
	struct hypheap_backend be;
	struct mutex lock; /* protects @quarantine, @retry_delay, @pool_size */
	struct list_head quarantine;
	struct delayed_work retry;
	unsigned long retry_delay;
	u64 pool_size;
	struct hypheap_carveout_counters stats;
};

static struct hypheap_carveout_backend *to_carveout(struct hypheap_backend *be)
{
	return container_of(be, struct hypheap_carveout_backend, be);
}

/* The secure VM's carve-out answers as errnos; the raw status stays in *status. */
static int hypheap_carveout_errno(long status, int ret)
{
	switch (status) {
	case HYPHEAP_SVM_ERR_CARVEOUT_NO_POOL:
		return -ENODEV;
	case HYPHEAP_SVM_ERR_CARVEOUT_LEN:
		return -EINVAL;
	case HYPHEAP_SVM_ERR_CARVEOUT_USE_CASE:
		return -EOPNOTSUPP;
	case HYPHEAP_SVM_ERR_CARVEOUT_NO_SPACE:
	case HYPHEAP_SVM_ERR_CARVEOUT_TOO_MANY:
		return -ENOMEM;
	case HYPHEAP_SVM_ERR_CARVEOUT_NOT_ALLOCATED:
	case HYPHEAP_SVM_ERR_CARVEOUT_NOT_BASE:
		return -ENOENT;
	case HYPHEAP_SVM_ERR_CARVEOUT_DOUBLE_FREE:
		return -EALREADY;
	case HYPHEAP_SVM_ERR_CARVEOUT_PINNED:
	case HYPHEAP_SVM_ERR_CARVEOUT_HELD:
		return -EBUSY;
	default:
		return ret;
	}
}

static int hypheap_carveout_call(struct hypheap_svm *svm, u64 data[5],
				 long *status)
{
	int ret = hypheap_svm_direct(svm, data, status);

	return ret ? hypheap_carveout_errno(*status, ret) : 0;
}

/**
 * hypheap_svm_carveout_info() - the secure VM's carve-out pool
 * @svm: the partition
 * @base: its physical base
 * @size: its size in bytes
 * @allocated: bytes allocated from it now
 * @status: the secure VM's answer
 *
 * Return: 0, -ENODEV when it has no pool, -EPROTO for an answer that
 * makes no sense, or another errno.
 */
int hypheap_svm_carveout_info(struct hypheap_svm *svm, phys_addr_t *base,
			      u64 *size, u64 *allocated, long *status)
{
	u64 data[5] = { HYPHEAP_SVM_OP_CARVEOUT_INFO };
	int ret = hypheap_carveout_call(svm, data, status);

	if (ret)
		return ret;
	if (!data[2] || !PAGE_ALIGNED(data[1]) || !PAGE_ALIGNED(data[2]) ||
	    data[1] + data[2] < data[1] || data[3] > data[2] ||
	    data[4] > data[2])
		return -EPROTO;
	*base = data[1];
	*size = data[2];
	*allocated = data[3];
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_svm_carveout_info);

/**
 * hypheap_svm_carveout_alloc() - a buffer from the secure VM's carve-out
 * @svm: the partition
 * @len: bytes, page aligned
 * @use_case: HYPHEAP_PROTMEM_USE_*
 * @base: its physical base
 * @status: the secure VM's answer
 *
 * Return: 0, -ENOMEM (no room), -EINVAL (a length it refuses),
 * -EOPNOTSUPP (not its use case), -ENODEV (no pool), -EPROTO (an answer
 * that makes no sense), or another errno.
 */
int hypheap_svm_carveout_alloc(struct hypheap_svm *svm, size_t len,
			       u32 use_case, phys_addr_t *base, long *status)
{
	u64 data[5] = { HYPHEAP_SVM_OP_CARVEOUT_ALLOC, len, use_case };
	int ret = hypheap_carveout_call(svm, data, status);

	if (ret)
		return ret;
	if (!data[1] || !PAGE_ALIGNED(data[1]) || data[1] + len < data[1])
		return -EPROTO;
	*base = data[1];
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_svm_carveout_alloc);

/**
 * hypheap_svm_carveout_free() - give a buffer back to the secure VM
 * @svm: the partition
 * @base: what hypheap_svm_carveout_alloc() answered
 * @status: the secure VM's answer
 *
 * Return: 0 (it scrubs the buffer before reusing it), -EBUSY (pinned, or
 * held by a call in progress), -ENOENT (no buffer of its at @base),
 * -EALREADY (freed already), or another errno.
 */
int hypheap_svm_carveout_free(struct hypheap_svm *svm, phys_addr_t base,
			      long *status)
{
	u64 data[5] = { HYPHEAP_SVM_OP_CARVEOUT_FREE, base };

	return hypheap_carveout_call(svm, data, status);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_svm_carveout_free);

/* Under cb->lock: keep @h's range, which the secure VM still holds, until a retry works. */
static void hypheap_carveout_quarantine(struct hypheap_carveout_backend *cb,
					struct hypheap_carveout_held *h,
					int err)
{
	pr_warn_ratelimited("carveout: %zu KiB at %pa quarantined, not freed (%d); retrying\n",
			    h->len >> 10, &h->base, err);
	hypheap_backend_get(&cb->be);
	list_add_tail(&h->node, &cb->quarantine);
	atomic64_inc(&cb->stats.quarantined);
	schedule_delayed_work(&cb->retry, cb->retry_delay);
}

static void hypheap_carveout_retry(struct work_struct *work)
{
	struct hypheap_carveout_backend *cb =
		container_of(to_delayed_work(work),
			     struct hypheap_carveout_backend, retry);
	struct hypheap_carveout_held *h, *tmp;
	unsigned int back = 0;
	long status;

	mutex_lock(&cb->lock);
	list_for_each_entry_safe(h, tmp, &cb->quarantine, node) {
		if (hypheap_svm_carveout_free(h->svm, h->base, &status)) {
			atomic64_inc(&cb->stats.free_failures);
			continue;
		}
		list_del(&h->node);
		atomic64_inc(&cb->stats.frees);
		atomic64_dec(&cb->stats.quarantined);
		hypheap_svm_put(h->svm);
		kfree(h);
		back++;
	}
	if (list_empty(&cb->quarantine)) {
		cb->retry_delay = HYPHEAP_CARVEOUT_RETRY_MIN;
	} else {
		cb->retry_delay = min(cb->retry_delay * 2,
				      HYPHEAP_CARVEOUT_RETRY_MAX);
		schedule_delayed_work(&cb->retry, cb->retry_delay);
	}
	mutex_unlock(&cb->lock);
	/* the last reference may go here: nothing of @cb is touched after it */
	while (back--)
		hypheap_backend_put(&cb->be);
}

/* The heap's memory is for the partition alone, read-write, for a use case it serves. */
static bool hypheap_carveout_use_ok(const struct hypheap_use *use)
{
	u32 rw = HYPHEAP_PERM_R | HYPHEAP_PERM_W;

	return use->nr_dst == 1 && use->dst[0].vmid == HYPHEAP_VMID_SECURE_0 &&
	       (use->dst[0].perms & rw) == rw &&
	       (use->use_case == HYPHEAP_USE_SECURE_VIDEO ||
		use->use_case == HYPHEAP_USE_SECURE_VIDEO_RECORD);
}

/* The pool's size, asked once: the memory Linux lost at boot. */
static void hypheap_carveout_learn_pool(struct hypheap_carveout_backend *cb,
					struct hypheap_svm *svm)
{
	phys_addr_t base;
	u64 size, allocated;
	long status;

	mutex_lock(&cb->lock);
	if (!cb->pool_size &&
	    !hypheap_svm_carveout_info(svm, &base, &size, &allocated, &status))
		cb->pool_size = size;
	cb->be.reserved_bytes = cb->pool_size;
	mutex_unlock(&cb->lock);
}

static int hypheap_carveout_alloc(struct hypheap_backend *be,
				  struct hypheap_mem *mem,
				  const struct hypheap_use *use)
{
	struct hypheap_carveout_backend *cb = to_carveout(be);
	struct hypheap_svm *svm;
	phys_addr_t base;
	long status;
	int ret;

	if (!hypheap_carveout_use_ok(use))
		return -EINVAL;
	svm = hypheap_svm_get();
	if (!svm)
		return -ENODEV;
	if (!READ_ONCE(cb->pool_size))
		hypheap_carveout_learn_pool(cb, svm);
	ret = sg_alloc_table(&mem->sgt, 1, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_put;
	ret = hypheap_svm_carveout_alloc(svm, mem->len, use->use_case, &base,
					 &status);
	if (ret) {
		atomic64_inc(&cb->stats.alloc_failures);
		goto err_sgt;
	}
	atomic64_inc(&cb->stats.allocs);
	/* no struct page: the physical range, as a page-less table carries it */
	mem->sgt.sgl->length = mem->len;
	mem->sgt.sgl->offset = 0;
	sg_dma_address(mem->sgt.sgl) = base;
	mem->pageless = true;
	mem->owners = HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);
	mem->priv = svm;
	return 0;

err_sgt:
	sg_free_table(&mem->sgt);
err_put:
	hypheap_svm_put(svm);
	return ret;
}

static void hypheap_carveout_free(struct hypheap_backend *be,
				  struct hypheap_mem *mem)
{
	struct hypheap_carveout_backend *cb = to_carveout(be);
	phys_addr_t base = hypheap_sg_phys(mem, mem->sgt.sgl);
	struct hypheap_svm *svm = mem->priv;
	struct hypheap_carveout_held *h;
	long status;
	int ret;

	sg_free_table(&mem->sgt);
	ret = hypheap_svm_carveout_free(svm, base, &status);
	if (!ret) {
		atomic64_inc(&cb->stats.frees);
		hypheap_svm_put(svm);
		return;
	}
	atomic64_inc(&cb->stats.free_failures);
	h = kzalloc(sizeof(*h), GFP_KERNEL | __GFP_NOFAIL);
	h->svm = svm;
	h->base = base;
	h->len = mem->len;
	mutex_lock(&cb->lock);
	hypheap_carveout_quarantine(cb, h, ret);
	mutex_unlock(&cb->lock);
}

/* The memory is the secure VM's from ALLOC to FREE: nothing changes owner. */
static int hypheap_carveout_restrict(struct hypheap_backend *be,
				     struct hypheap_mem *mem,
				     const struct hypheap_use *use)
{
	return 0;
}

/* Every quarantined buffer is gone: each held a reference. */
static void hypheap_carveout_destroy(struct hypheap_backend *be)
{
	struct hypheap_carveout_backend *cb = to_carveout(be);

	mutex_destroy(&cb->lock);
	kfree(cb);
}

static const struct hypheap_backend_ops hypheap_carveout_ops = {
	.alloc = hypheap_carveout_alloc,
	.free = hypheap_carveout_free,
	.restrict_buf = hypheap_carveout_restrict,
	.unrestrict_buf = hypheap_carveout_restrict,
	.destroy = hypheap_carveout_destroy,
	.use_ok = hypheap_carveout_use_ok,
};

/**
 * hypheap_carveout_counters() - what a carveout backend did so far
 * @be: a carveout backend
 *
 * Return: its counters, or NULL for another backend.
 */
struct hypheap_carveout_counters *
hypheap_carveout_counters(struct hypheap_backend *be)
{
	return be->ops == &hypheap_carveout_ops ? &to_carveout(be)->stats : NULL;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_carveout_counters);

/**
 * hypheap_carveout_backend_create() - make a carveout backend
 *
 * The secure VM is looked up at each allocation (hypheap_svm_get()): a
 * heap of this backend answers -ENODEV while no partition is bound. The
 * pool's size (the backend's reserved_bytes) is asked for now if the
 * partition is bound, else at the first allocation.
 *
 * Return: the backend with one reference, or an ERR_PTR().
 */
struct hypheap_backend *hypheap_carveout_backend_create(void)
{
	struct hypheap_carveout_backend *cb;
	struct hypheap_svm *svm;

	cb = kzalloc(sizeof(*cb), GFP_KERNEL);
	if (!cb)
		return ERR_PTR(-ENOMEM);
	mutex_init(&cb->lock);
	INIT_LIST_HEAD(&cb->quarantine);
	INIT_DELAYED_WORK(&cb->retry, hypheap_carveout_retry);
	cb->retry_delay = HYPHEAP_CARVEOUT_RETRY_MIN;
	hypheap_backend_init(&cb->be, &hypheap_carveout_ops, "carveout", cb);
	svm = hypheap_svm_get();
	if (svm) {
		hypheap_carveout_learn_pool(cb, svm);
		hypheap_svm_put(svm);
	}
	return &cb->be;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_carveout_backend_create);

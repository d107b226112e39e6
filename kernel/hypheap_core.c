// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap heap core: heaps, their backend, buffer lifetime and quarantine.
 *
 * A buffer is allocated by the heap's backend, then restricted (assigned
 * to the heap's destination VMs). On release it is unrestricted, then
 * freed. Memory whose unrestrict fails is never handed back to the page
 * allocator: the buffer goes to the heap's quarantine, is counted, and a
 * worker retries with exponential backoff until the hypervisor returns it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "hypheap_priv.h"

#define CREATE_TRACE_POINTS
#include "hypheap_trace.h"

#define HYPHEAP_RETRY_MIN	msecs_to_jiffies(100)
#define HYPHEAP_RETRY_MAX	msecs_to_jiffies(60 * MSEC_PER_SEC)
/* Without hypheap,max-bytes a heap may hold a quarter of RAM at most. */
#define HYPHEAP_DEFAULT_LIMIT_SHIFT	2

/**
 * hypheap_phase_begin() - start timing a phase (trace event hypheap_phase)
 *
 * Return: the time now, or 0 while the event is off (nothing is timed).
 */
u64 hypheap_phase_begin(void)
{
	return trace_hypheap_phase_enabled() ? ktime_get_ns() ?: 1 : 0;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_phase_begin);

/**
 * hypheap_phase_end() - trace a phase's duration
 * @phase: which
 * @begin: hypheap_phase_begin()'s answer when the phase began
 * @bytes: the memory it worked on
 */
void hypheap_phase_end(enum hypheap_phase phase, u64 begin, u64 bytes)
{
	if (begin)
		trace_hypheap_phase(phase, bytes, ktime_get_ns() - begin);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_phase_end);

/* A heap pool's events, for hypheap_pool.c (the points are made here). */
void hypheap_trace_pool(int what, struct hypheap_heap *heap, size_t len)
{
	u64 bytes = READ_ONCE(heap->pool.bytes);

	if (what < 0)
		trace_hypheap_pool_take(heap->name, len, bytes);
	else if (what > 0)
		trace_hypheap_pool_put(heap->name, len, bytes);
	else
		trace_hypheap_pool_give_back(heap->name, len, bytes);
}

static LIST_HEAD(hypheap_heaps);
static DEFINE_MUTEX(hypheap_heaps_lock);

static void hypheap_retry_work(struct work_struct *work);

/**
 * hypheap_default_limit() - a heap's byte limit when the DT sets none
 *
 * Return: a quarter of the RAM the page allocator manages.
 */
u64 hypheap_default_limit(void)
{
	return (u64)totalram_pages() << PAGE_SHIFT >> HYPHEAP_DEFAULT_LIMIT_SHIFT;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_default_limit);

/* The upstream TEE heap's names, which pick the use case (and so the memory). */
static const char * const hypheap_use_names[] = {
	[HYPHEAP_USE_SECURE_VIDEO] = "protected,secure-video",
	[HYPHEAP_USE_TRUSTED_UI] = "protected,trusted-ui",
	[HYPHEAP_USE_SECURE_VIDEO_RECORD] = "protected,secure-video-record",
};

#define HYPHEAP_USE_PREFIX "protected,"

/**
 * hypheap_use_case() - the use case of a heap, from its name
 * @heap_name: the heap's name
 *
 * The names are the upstream TEE heap's, which pick the use case (and so
 * the memory) by name; any other heap has none.
 *
 * Return: a HYPHEAP_USE_* value.
 */
u32 hypheap_use_case(const char *heap_name)
{
	u32 i;

	for (i = HYPHEAP_USE_SECURE_VIDEO; i < ARRAY_SIZE(hypheap_use_names); i++)
		if (!strcmp(heap_name, hypheap_use_names[i]))
			return i;
	return HYPHEAP_USE_NONE;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_use_case);

/**
 * hypheap_heap_use_case() - the use case a heap's memory is for
 * @heap_name: the heap's name
 * @use_case: its hypheap,use-case ("secure-video", "trusted-ui" or
 *	"secure-video-record"), or NULL when it has none
 *
 * A heap with a use case's name has that one. A heap with another name
 * (a benchmark heap beside the real one, docs/dt-binding.md) has the one
 * it names, else none.
 *
 * Return: a HYPHEAP_USE_* value, or -EINVAL for a @use_case that is not
 * one of the three or not the one the name says.
 */
int hypheap_heap_use_case(const char *heap_name, const char *use_case)
{
	u32 by_name = hypheap_use_case(heap_name);
	u32 i;

	if (!use_case)
		return by_name;
	for (i = HYPHEAP_USE_SECURE_VIDEO; i < ARRAY_SIZE(hypheap_use_names); i++)
		if (!strcmp(use_case, hypheap_use_names[i] +
				      strlen(HYPHEAP_USE_PREFIX)))
			break;
	if (i == ARRAY_SIZE(hypheap_use_names) ||
	    (by_name != HYPHEAP_USE_NONE && by_name != i))
		return -EINVAL;
	return i;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_heap_use_case);

/**
 * hypheap_heap_dst_check() - can a heap lend to these destinations?
 * @dst: destination VMs
 * @nr_dst: entries in @dst
 * @host_vmid: the host's VM id
 *
 * The hypervisor takes pages from the host to exactly one secure VM (a
 * lend) or to the host and one secure VM (a share); anything else it
 * refuses with HYPHEAP_ERR_DEST_SET or HYPHEAP_ERR_UNKNOWN_VMID, so a heap
 * that asked for it could never allocate.
 *
 * Return: 0 or -EINVAL.
 */
int hypheap_heap_dst_check(const struct hypheap_vmperm *dst,
			   unsigned int nr_dst, u32 host_vmid)
{
	unsigned int i, vms = 0;

	if (hypheap_vmperm_check(dst, nr_dst))
		return -EINVAL;
	for (i = 0; i < nr_dst; i++) {
		if (dst[i].vmid == HYPHEAP_VMID_HYP)
			return -EINVAL;
		if (dst[i].vmid != host_vmid)
			vms++;
	}
	return vms == 1 ? 0 : -EINVAL;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_heap_dst_check);

/**
 * hypheap_heap_create() - make an unregistered heap
 * @name: heap name, copied
 * @dst: destination VMs of its buffers, copied
 * @nr_dst: entries in @dst
 * @host_vmid: the host's VM id
 *
 * Return: the heap, without backend, limited to hypheap_default_limit()
 * bytes, or an ERR_PTR(): -EINVAL for destinations the hypervisor
 * refuses (hypheap_heap_dst_check()).
 */
struct hypheap_heap *hypheap_heap_create(const char *name,
					 const struct hypheap_vmperm *dst,
					 unsigned int nr_dst, u32 host_vmid)
{
	struct hypheap_heap *heap;

	if (!name || hypheap_heap_dst_check(dst, nr_dst, host_vmid))
		return ERR_PTR(-EINVAL);

	heap = kzalloc(sizeof(*heap), GFP_KERNEL);
	if (!heap)
		return ERR_PTR(-ENOMEM);
	heap->name = kstrdup(name, GFP_KERNEL);
	if (!heap->name) {
		kfree(heap);
		return ERR_PTR(-ENOMEM);
	}
	memcpy(heap->dst, dst, nr_dst * sizeof(*dst));
	heap->nr_dst = nr_dst;
	heap->use = (struct hypheap_use){
		.name = heap->name,
		.dst = heap->dst,
		.nr_dst = nr_dst,
		.use_case = hypheap_use_case(name),
		.stats = &heap->stats,
	};
	mutex_init(&heap->lock);
	spin_lock_init(&heap->qlock);
	INIT_LIST_HEAD(&heap->quarantine);
	mutex_init(&heap->buffers_lock);
	INIT_LIST_HEAD(&heap->buffers);
	INIT_LIST_HEAD(&heap->node);
	heap->limit = hypheap_default_limit();
	atomic64_set(&heap->charged, 0);
	heap->retry_min = HYPHEAP_RETRY_MIN;
	heap->retry_max = HYPHEAP_RETRY_MAX;
	heap->retry_delay = heap->retry_min;
	INIT_DELAYED_WORK(&heap->retry_work, hypheap_retry_work);
	hypheap_pool_init(&heap->pool, heap);
	return heap;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_heap_create);

/**
 * hypheap_heap_destroy() - free an unregistered heap
 * @heap: heap from hypheap_heap_create(), never registered
 *
 * Return: 0, or -EBUSY if the heap is registered, has live buffers or
 * quarantined memory (which is then kept, never freed, and retried).
 */
int hypheap_heap_destroy(struct hypheap_heap *heap)
{
	bool quarantined;

	if (!list_empty(&heap->node) ||
	    hypheap_stat_read(&heap->stats, HYPHEAP_STAT_LIVE_BUFFERS))
		return -EBUSY;
	/* what the pool gives back and fails to reclaim is quarantined */
	hypheap_pool_disable(&heap->pool);
	/*
	 * A running retry holds its buffers off the list: let it finish
	 * before looking, and keep it from rescheduling itself meanwhile.
	 */
	cancel_delayed_work_sync(&heap->retry_work);
	spin_lock(&heap->qlock);
	quarantined = !list_empty(&heap->quarantine);
	if (quarantined)
		schedule_delayed_work(&heap->retry_work, heap->retry_delay);
	spin_unlock(&heap->qlock);
	if (quarantined)
		return -EBUSY;

	hypheap_heap_set_backend(heap, NULL);
	mutex_destroy(&heap->buffers_lock);
	mutex_destroy(&heap->lock);
	kfree(heap->name);
	kfree(heap);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_heap_destroy);

/**
 * hypheap_heap_set_backend() - bind a heap to a backend, or unbind it
 * @heap: the heap
 * @be: new backend (a reference is taken), or NULL: allocation then fails
 *	with -ENODEV while existing buffers keep their own backend
 */
void hypheap_heap_set_backend(struct hypheap_heap *heap,
			      struct hypheap_backend *be)
{
	struct hypheap_backend *old;

	if (be)
		hypheap_backend_get(be);
	mutex_lock(&heap->lock);
	old = heap->backend;
	heap->backend = be;
	mutex_unlock(&heap->lock);
	if (old)
		hypheap_backend_put(old);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_heap_set_backend);

static struct hypheap_backend *hypheap_heap_get_backend(struct hypheap_heap *h)
{
	struct hypheap_backend *be;

	mutex_lock(&h->lock);
	be = h->backend;
	if (be)
		hypheap_backend_get(be);
	mutex_unlock(&h->lock);
	return be;
}

static void hypheap_uncharge(struct hypheap_heap *heap, size_t len)
{
	atomic64_sub(len, &heap->charged);
}

static void hypheap_buffer_destroy(struct hypheap_buffer *buf)
{
	struct hypheap_backend *be = buf->backend;

	be->ops->free(be, &buf->mem);
	hypheap_uncharge(buf->heap, buf->mem.len);
	hypheap_backend_put(be);
	kfree(buf);
}

/* Keep @buf, which VMs may still own, until a retry takes it back. */
static void hypheap_quarantine(struct hypheap_buffer *buf, int err)
{
	struct hypheap_heap *heap = buf->heap;

	trace_hypheap_quarantine(heap->name, buf->mem.len, err);
	pr_warn_ratelimited("%s: %zu KiB quarantined, the hypervisor did not give them back (%d); retrying\n",
			    heap->name, buf->mem.len / SZ_1K, err);
	hypheap_stat_add(&heap->stats, HYPHEAP_STAT_PAGES_QUARANTINED,
			 buf->mem.len >> PAGE_SHIFT);
	spin_lock(&heap->qlock);
	list_add_tail(&buf->qnode, &heap->quarantine);
	schedule_delayed_work(&heap->retry_work, heap->retry_delay);
	spin_unlock(&heap->qlock);
}

/* Give @buf back to the host; quarantine it if that fails. */
static int hypheap_unrestrict(struct hypheap_buffer *buf)
{
	struct hypheap_backend *be = buf->backend;
	int ret = be->ops->unrestrict_buf(be, &buf->mem, &buf->heap->use);

	trace_hypheap_unrestrict(buf->heap->name, buf->mem.len,
				 buf->mem.owners, ret);
	return ret;
}

/**
 * hypheap_buffer_reclaim() - give a released buffer back to the host, free it
 * @buf: a buffer no one uses, off the heap's lists
 *
 * If the reclaim fails the buffer is quarantined and retried instead.
 */
void hypheap_buffer_reclaim(struct hypheap_buffer *buf)
{
	struct hypheap_heap *heap = buf->heap;
	int ret;

	ret = hypheap_unrestrict(buf);
	if (ret) {
		hypheap_stats_fail(&heap->stats, ret);
		buf->retries++;
		hypheap_quarantine(buf, ret);
		return;
	}
	hypheap_buffer_destroy(buf);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_buffer_reclaim);

/**
 * hypheap_heap_retry_quarantine() - try to reclaim every quarantined buffer
 * @heap: the heap
 *
 * Buffers the backend gives back are freed; the others stay quarantined.
 *
 * Return: the number of buffers still quarantined by this pass.
 */
unsigned int hypheap_heap_retry_quarantine(struct hypheap_heap *heap)
{
	struct hypheap_buffer *buf, *tmp;
	unsigned int left = 0;
	LIST_HEAD(batch);

	spin_lock(&heap->qlock);
	list_splice_init(&heap->quarantine, &batch);
	spin_unlock(&heap->qlock);

	list_for_each_entry_safe(buf, tmp, &batch, qnode) {
		size_t pages = buf->mem.len >> PAGE_SHIFT;
		int ret;

		list_del(&buf->qnode);
		ret = hypheap_unrestrict(buf);
		if (ret) {
			hypheap_stats_fail(&heap->stats, ret);
			buf->retries++;
			spin_lock(&heap->qlock);
			list_add_tail(&buf->qnode, &heap->quarantine);
			spin_unlock(&heap->qlock);
			left++;
			continue;
		}
		hypheap_stat_add(&heap->stats, HYPHEAP_STAT_PAGES_QUARANTINED,
				 -(s64)pages);
		hypheap_buffer_destroy(buf);
	}
	return left;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_heap_retry_quarantine);

static void hypheap_retry_work(struct work_struct *work)
{
	struct hypheap_heap *heap = container_of(to_delayed_work(work),
						 struct hypheap_heap,
						 retry_work);
	unsigned int left = hypheap_heap_retry_quarantine(heap);

	spin_lock(&heap->qlock);
	if (left) {
		heap->retry_delay = min(heap->retry_delay * 2, heap->retry_max);
		schedule_delayed_work(&heap->retry_work, heap->retry_delay);
	} else {
		heap->retry_delay = heap->retry_min;
	}
	trace_hypheap_retry(heap->name, left,
			    left ? jiffies_to_msecs(heap->retry_delay) : 0);
	spin_unlock(&heap->qlock);
}

/*
 * What the core relies on in a backend's table: it covers exactly the
 * buffer, in page-aligned entries that all have pages or none has.
 */
static bool hypheap_mem_consistent(struct hypheap_mem *mem)
{
	struct scatterlist *sg;
	size_t total = 0;
	unsigned int i;

	for_each_sgtable_sg(&mem->sgt, sg, i) {
		if (!sg_page(sg) != mem->pageless || sg->offset ||
		    !PAGE_ALIGNED(sg->length) ||
		    !PAGE_ALIGNED(hypheap_sg_phys(mem, sg)))
			return false;
		total += sg->length;
	}
	return total == mem->len;
}

static struct hypheap_buffer *__hypheap_buffer_alloc(struct hypheap_heap *heap,
						     size_t len)
{
	struct hypheap_backend *be;
	struct hypheap_buffer *buf;
	int ret;

	len = PAGE_ALIGN(len);
	if (!len) {
		hypheap_stats_fail(&heap->stats, -EINVAL);
		return ERR_PTR(-EINVAL);
	}
	/* a request no machine state can satisfy fails before it drains memory */
	if (len >> PAGE_SHIFT > totalram_pages()) {
		hypheap_stats_fail(&heap->stats, -ENOMEM);
		return ERR_PTR(-ENOMEM);
	}

	be = hypheap_heap_get_backend(heap);
	if (!be) {
		hypheap_stats_fail(&heap->stats, -ENODEV);
		return ERR_PTR(-ENODEV);
	}
	/* quarantined buffers stay charged: the quarantine is bounded too */
	if (atomic64_add_return(len, &heap->charged) > READ_ONCE(heap->limit)) {
		ret = -ENOMEM;
		goto err_uncharge;
	}

	/* a pooled buffer is lent already: no page allocation, no hypercall */
	buf = hypheap_pool_take(&heap->pool, be, len);
	if (buf) {
		hypheap_backend_put(be);	/* the buffer holds its own */
		hypheap_trace_pool(-1, heap, len);
		goto live;
	}

	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf) {
		ret = -ENOMEM;
		goto err_uncharge;
	}
	buf->heap = heap;
	buf->backend = be;
	buf->mem.len = len;
	INIT_LIST_HEAD(&buf->qnode);
	INIT_LIST_HEAD(&buf->lnode);

	ret = be->ops->alloc(be, &buf->mem, &heap->use);
	if (ret)
		goto err_free_buf;
	if (!hypheap_mem_consistent(&buf->mem)) {
		pr_err_ratelimited("%s: backend %s made a table the core cannot use\n",
				   heap->name, be->name);
		ret = -EINVAL;
		goto err_free_mem;
	}

	ret = be->ops->restrict_buf(be, &buf->mem, &heap->use);
	trace_hypheap_restrict(heap->name, len, buf->mem.owners, ret);
	if (ret == -ENOTRECOVERABLE) {
		/* ownership unknown: only the hypervisor can give it back */
		hypheap_stats_fail(&heap->stats, ret);
		hypheap_quarantine(buf, ret);
		return ERR_PTR(ret);
	}
	if (ret)
		goto err_free_mem;

live:
	mutex_lock(&heap->buffers_lock);
	list_add_tail(&buf->lnode, &heap->buffers);
	mutex_unlock(&heap->buffers_lock);
	hypheap_stat_add(&heap->stats, HYPHEAP_STAT_LIVE_BUFFERS, 1);
	hypheap_stat_add(&heap->stats, HYPHEAP_STAT_LIVE_BYTES, len);
	hypheap_stat_add(&heap->stats, HYPHEAP_STAT_PAGES_ASSIGNED,
			 len >> PAGE_SHIFT);
	return buf;

err_free_mem:
	be->ops->free(be, &buf->mem);
err_free_buf:
	kfree(buf);
err_uncharge:
	hypheap_uncharge(heap, len);
	hypheap_stats_fail(&heap->stats, ret);
	hypheap_backend_put(be);
	return ERR_PTR(ret);
}

/**
 * hypheap_buffer_alloc() - allocate and restrict a buffer
 * @heap: the heap
 * @len: bytes, rounded up to pages
 *
 * Return: the buffer, owned by the heap's destination VMs, or an ERR_PTR():
 * -EINVAL for zero bytes, -ENOMEM for more than the machine's RAM or than
 * the heap's limit leaves, -ENODEV when the heap has no backend any more,
 * or the backend's error.
 */
struct hypheap_buffer *hypheap_buffer_alloc(struct hypheap_heap *heap,
					    size_t len)
{
	struct hypheap_buffer *buf = __hypheap_buffer_alloc(heap, len);

	trace_hypheap_alloc(heap->name, len, PTR_ERR_OR_ZERO(buf));
	return buf;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_buffer_alloc);

/**
 * hypheap_buffer_release() - unrestrict and free a buffer
 * @buf: a buffer from hypheap_buffer_alloc(), with no attachment left
 *
 * If the memory cannot be taken back from the VMs it is quarantined, not
 * freed, and retried later.
 */
void hypheap_buffer_release(struct hypheap_buffer *buf)
{
	struct hypheap_heap *heap = buf->heap;
	size_t pages = buf->mem.len >> PAGE_SHIFT;

	mutex_lock(&heap->buffers_lock);
	list_del_init(&buf->lnode);
	mutex_unlock(&heap->buffers_lock);
	hypheap_stat_add(&heap->stats, HYPHEAP_STAT_LIVE_BUFFERS, -1);
	hypheap_stat_add(&heap->stats, HYPHEAP_STAT_LIVE_BYTES,
			 -(s64)buf->mem.len);
	hypheap_stat_add(&heap->stats, HYPHEAP_STAT_PAGES_ASSIGNED,
			 -(s64)pages);
	if (hypheap_pool_put(&heap->pool, buf)) {
		hypheap_trace_pool(1, heap, buf->mem.len);
		return;
	}
	hypheap_buffer_reclaim(buf);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_buffer_release);

static struct dma_buf *hypheap_heap_export(struct hypheap_heap *heap,
					   size_t len, u32 fd_flags)
{
	struct hypheap_buffer *buf;
	struct dma_buf *dmabuf;

	buf = hypheap_buffer_alloc(heap, len);
	if (IS_ERR(buf))
		return ERR_CAST(buf);

	dmabuf = hypheap_buffer_export(buf, fd_flags);
	if (IS_ERR(dmabuf))
		hypheap_buffer_release(buf);
	return dmabuf;
}

/**
 * hypheap_heap_find() - look a registered heap up by name
 * @name: heap name
 *
 * Return: the heap or NULL. Registered heaps are never freed.
 */
struct hypheap_heap *hypheap_heap_find(const char *name)
{
	struct hypheap_heap *heap, *found = NULL;

	mutex_lock(&hypheap_heaps_lock);
	list_for_each_entry(heap, &hypheap_heaps, node) {
		if (!strcmp(heap->name, name)) {
			found = heap;
			break;
		}
	}
	mutex_unlock(&hypheap_heaps_lock);
	return found;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_heap_find);

/**
 * hypheap_heaps_quiesce() - let every registered heap's pool go idle
 *
 * For KUnit alone: a test that counts the hypervisor's calls: a buffer freed before it
 * (a kthread's last fput is deferred) is zeroed now by its pool's worker,
 * with a call of its own, and not in the middle of the count.
 */
#if IS_ENABLED(CONFIG_KUNIT)
void hypheap_heaps_quiesce(void)
{
	struct hypheap_heap *heap;

	flush_delayed_fput();
	mutex_lock(&hypheap_heaps_lock);
	list_for_each_entry(heap, &hypheap_heaps, node)
		hypheap_pool_flush(&heap->pool);
	mutex_unlock(&hypheap_heaps_lock);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_heaps_quiesce);
#endif

/**
 * hypheap_alloc_dmabuf() - allocate a protected dma-buf from the kernel
 * @name: heap name, e.g. "protected,secure-video"
 * @len: bytes
 * @fd_flags: O_* flags for the dma-buf file (O_CLOEXEC, O_RDWR...)
 *
 * For drivers that allocate protected buffers themselves (codec working
 * buffers, GPU firmware), as user space does through /dev/dma_heap.
 *
 * Return: the dma-buf, or an ERR_PTR(): -ENOENT for an unknown heap,
 * -ENODEV if its backend is gone.
 */
struct dma_buf *hypheap_alloc_dmabuf(const char *name, size_t len,
				     u32 fd_flags)
{
	struct hypheap_heap *heap = hypheap_heap_find(name);

	if (!heap)
		return ERR_PTR(-ENOENT);
	return hypheap_heap_export(heap, len, fd_flags);
}
EXPORT_SYMBOL_GPL(hypheap_alloc_dmabuf);

static struct dma_buf *hypheap_dma_heap_allocate(struct dma_heap *dma_heap,
						 unsigned long len,
						 unsigned long fd_flags,
						 unsigned long heap_flags)
{
	return hypheap_heap_export(dma_heap_get_drvdata(dma_heap), len,
				   fd_flags);
}

static const struct dma_heap_ops hypheap_dma_heap_ops = {
	.allocate = hypheap_dma_heap_allocate,
};

static int hypheap_dma_heap_add(struct hypheap_heap *heap)
{
	struct dma_heap_export_info exp_info = {
		.name = heap->name,
		.ops = &hypheap_dma_heap_ops,
		.priv = heap,
	};
	struct dma_heap *dma_heap;

	dma_heap = dma_heap_add(&exp_info);
	if (IS_ERR(dma_heap))
		return PTR_ERR(dma_heap);
	heap->dma_heap = dma_heap;
	return 0;
}

/**
 * hypheap_heap_register() - publish a heap
 * @heap: heap with its backend set
 *
 * Adds the dma-heap (/dev/dma_heap/<name>), the debugfs directory and makes
 * the heap visible to hypheap_alloc_dmabuf(). A dma-heap cannot be removed
 * in Linux 6.1, so from then on the heap lives as long as the kernel and
 * this module is pinned (rmmod is refused).
 *
 * Return: 0, -EEXIST if a heap of that name is registered, or the error of
 * dma_heap_add().
 */
int hypheap_heap_register(struct hypheap_heap *heap)
{
	struct hypheap_heap *h;
	int ret = -EEXIST;

	mutex_lock(&hypheap_heaps_lock);
	list_for_each_entry(h, &hypheap_heaps, node)
		if (h == heap || !strcmp(h->name, heap->name))
			goto out;
	ret = hypheap_dma_heap_add(heap);
	if (ret)
		goto out;
	/* registered heaps are never freed: keep their code loaded */
	__module_get(THIS_MODULE);
	list_add_tail(&heap->node, &hypheap_heaps);
	hypheap_debugfs_add_heap(heap);
out:
	mutex_unlock(&hypheap_heaps_lock);
	return ret;
}

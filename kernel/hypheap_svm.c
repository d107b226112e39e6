// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap's client of the secure VM: an FF-A driver, bound by UUID to the
 * partition the hypervisor runs (include/hypheap/abi.h, "Secure VM"). It
 * offers the partition's services to other drivers (a secure decoder hands
 * it dma-bufs) and, for tests and the demo, to root through
 * /dev/hypheap-svm (include/hypheap/svm_ioctl.h).
 *
 * Linux's arm_ffa driver is the transport: direct requests through its
 * msg_ops, with its FFA_INTERRUPT/FFA_RUN loop resuming a call the
 * hypervisor preempted for a host interrupt. Arguments that do not fit in
 * registers go in an argument block, in a page the host shares with the
 * secure VM (one per slot, shared once at probe); the secure VM copies the
 * block before it reads it.
 *
 * Only hypheap's own buffers are accepted: their pages are lent to the
 * heap's VM, and the client names them by physical address. Ciphertext for
 * DECRYPT comes from the caller's memory, copied into pages shared with the
 * secure VM for the duration of the call. Where the host cannot read (lent
 * pages) requests name whole pages, so a HASH is never an oracle on a few
 * secret bytes (include/hypheap/abi.h, "Whole pages ...").
 *
 * A pin made through /dev/hypheap-svm belongs to the open file that made it,
 * which keeps a reference to the buffer: closing the file (or the process
 * dying) undoes it, so a buffer can never be left pinned, and so
 * quarantined, by a process that is gone.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/arm_ffa.h>
#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/uuid.h>
#include <asm/unaligned.h>
#include <hypheap/svm_ioctl.h>

#include "hypheap.h"
#include "hypheap_priv.h"

#define HYPHEAP_SVM_MAX_SLOTS	8
/*
 * BUSY from the FF-A layer (no answer from the secure VM): this CPU's vCPU is
 * in another task's call, preempted there or resumed on another CPU, and that
 * task resumes it soon. Retried this many times, 100-200 us apart.
 */
#define HYPHEAP_SVM_BUSY_TRIES	1000

/**
 * struct hypheap_svm_slot - one argument page, shared with the secure VM
 * @lock: serialises the use of @page
 * @page: the page; host RW, secure VM R while @shared
 * @shared: the share succeeded (and has not been taken back)
 */
struct hypheap_svm_slot {
	struct mutex lock; /* serialises use of @page */
	struct page *page;
	bool shared;
};

/**
 * struct hypheap_svm - the bound partition
 * @ffa: Linux's FF-A device of the partition
 * @ref: references: the binding, and each hypheap_svm_get()
 * @info: INFO's answer at probe
 * @nr_slots: entries of @slots
 * @slots: argument pages
 */
struct hypheap_svm {
	struct ffa_device *ffa;
	struct kref ref;
	struct hypheap_svm_info info;
	unsigned int nr_slots;
	struct hypheap_svm_slot slots[];
};

static DEFINE_MUTEX(hypheap_svm_lock);
static struct hypheap_svm *hypheap_svm_bound; /* under hypheap_svm_lock */

static const struct hypheap_vmperm hypheap_svm_host_rwx = {
	.vmid = HYPHEAP_VMID_HOST,
	.perms = HYPHEAP_PERM_RWX,
};

/* A share: the host keeps RW, the secure VM may read. */
static const struct hypheap_vmperm hypheap_svm_share_dst[] = {
	{ .vmid = HYPHEAP_VMID_HOST,
	  .perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W },
	{ .vmid = HYPHEAP_VMID_SECURE_0, .perms = HYPHEAP_PERM_R },
};

#define HYPHEAP_SVM_SHARED_BY \
	(HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST) | HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0))

/* The secure VM's answer as an errno; each rejection keeps its raw status. */
static int hypheap_svm_errno(long status)
{
	switch (status) {
	case HYPHEAP_SVM_OK:
		return 0;
	case HYPHEAP_SVM_ERR_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	case HYPHEAP_SVM_ERR_NOT_OWNED:
		return -EACCES;
	case HYPHEAP_SVM_ERR_HOST_READABLE:
		return -EPERM;
	case HYPHEAP_SVM_ERR_PIN_STATE:
		return -EALREADY;
	case HYPHEAP_SVM_ERR_BUSY:
		return -EBUSY;
	case HYPHEAP_SVM_ERR_NO_MEMORY:
		return -ENOMEM;
	case HYPHEAP_SVM_ERR_RANGE_COUNT:
		return -E2BIG;
	case HYPHEAP_SVM_ERR_RANGE_SIZE:
	case HYPHEAP_SVM_ERR_RANGE_UNALIGNED:
	case HYPHEAP_SVM_ERR_PARTIAL_PAGE:
	case HYPHEAP_SVM_ERR_OVERLAP:
	case HYPHEAP_SVM_ERR_LEN_MISMATCH:
		return -EINVAL;
	default:
		/* an argument block this driver built wrong, or an unknown answer */
		return -EPROTO;
	}
}

/*
 * Whether a call may give up for a fatal signal. Not while the task exits:
 * that is when the pins of its /dev/hypheap-svm files are undone, and an
 * UNPIN given up then would leave the buffer pinned, so quarantined, for
 * good (a killed task still has SIGKILL pending in do_exit()).
 */
static bool hypheap_svm_may_give_up(void)
{
	return fatal_signal_pending(current) && !(current->flags & PF_EXITING);
}

/**
 * hypheap_svm_direct() - one direct request, registers as they are
 * @svm: the partition
 * @data: in: data0..data4 of the request; out: of the response
 * @status: the response's data0, or %HYPHEAP_SVM_STATUS_NONE
 *
 * Return: 0, the errno of the secure VM's answer, or of the FF-A call.
 */
int hypheap_svm_direct(struct hypheap_svm *svm, u64 data[5], long *status)
{
	struct ffa_send_direct_data d;
	unsigned int tries = 0;
	int ret;

	*status = HYPHEAP_SVM_STATUS_NONE;
	for (;;) {
		d = (struct ffa_send_direct_data){
			.data0 = data[0], .data1 = data[1], .data2 = data[2],
			.data3 = data[3], .data4 = data[4],
		};
		ret = svm->ffa->ops->msg_ops->sync_send_receive(svm->ffa, &d);
		if (ret != -EBUSY || ++tries == HYPHEAP_SVM_BUSY_TRIES ||
		    hypheap_svm_may_give_up())
			break;
		usleep_range(100, 200);
	}
	if (ret)
		return ret;
	data[0] = d.data0;
	data[1] = d.data1;
	data[2] = d.data2;
	data[3] = d.data3;
	data[4] = d.data4;
	*status = (long)d.data0;
	return hypheap_svm_errno(*status);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_svm_direct);

/**
 * struct hypheap_svm_req - an argument block being built in a slot page
 * @slot: the slot, locked
 * @args: its header, at the start of the page
 * @ranges: src[] then dst[]
 */
struct hypheap_svm_req {
	struct hypheap_svm_slot *slot;
	struct hypheap_svm_args *args;
	struct hypheap_mem_range *ranges;
};

/*
 * Any free slot, this CPU's first (spreading concurrent callers); when all
 * are busy, wait for this CPU's, killably: a call can take seconds.
 */
static int hypheap_svm_req_start(struct hypheap_svm *svm,
				 struct hypheap_svm_req *req, u32 op)
{
	unsigned int first = raw_smp_processor_id() % svm->nr_slots, i;

	req->slot = NULL;
	for (i = 0; i < svm->nr_slots && !req->slot; i++) {
		struct hypheap_svm_slot *slot =
			&svm->slots[(first + i) % svm->nr_slots];

		if (mutex_trylock(&slot->lock))
			req->slot = slot;
	}
	if (!req->slot) {
		req->slot = &svm->slots[first];
		/* an exiting task undoes its pins: it must not give up */
		if (current->flags & PF_EXITING)
			mutex_lock(&req->slot->lock);
		else if (mutex_lock_killable(&req->slot->lock))
			return -EINTR;
	}
	req->args = page_address(req->slot->page);
	memset(req->args, 0, PAGE_SIZE);
	req->args->version = HYPHEAP_SVM_ARGS_VERSION;
	req->args->op = op;
	req->ranges = (struct hypheap_mem_range *)(req->args + 1);
	return 0;
}

static int hypheap_svm_req_add(struct hypheap_svm_req *req, bool dst,
			       u64 addr, u64 size)
{
	struct hypheap_svm_args *a = req->args;
	unsigned int n = a->nr_src + a->nr_dst;
	struct hypheap_mem_range *last = n ? &req->ranges[n - 1] : NULL;

	/* extend the previous range when contiguous (same list) */
	if (last && (dst ? a->nr_dst : !a->nr_dst) &&
	    last->addr + last->size == addr) {
		last->size += size;
		return 0;
	}
	if (n == HYPHEAP_SVM_ARGS_MAX_RANGES)
		return -E2BIG;
	/* dst[] follows src[]: src ranges may not come after a dst one */
	if (!dst && a->nr_dst)
		return -EINVAL;
	req->ranges[n].addr = addr;
	req->ranges[n].size = size;
	if (dst)
		a->nr_dst++;
	else
		a->nr_src++;
	return 0;
}

/* The first @len bytes of @sgt as ranges of one list. */
static int hypheap_svm_req_add_table(struct hypheap_svm_req *req, bool dst,
				     struct sg_table *sgt, size_t len)
{
	struct scatterlist *sg;
	unsigned int i;
	int ret;

	for_each_sgtable_sg(sgt, sg, i) {
		size_t n = min_t(size_t, len, sg->length);

		if (!n)
			break;
		ret = hypheap_svm_req_add(req, dst, sg_phys(sg), n);
		if (ret)
			return ret;
		len -= n;
	}
	return len ? -EINVAL : 0;
}

/* The first @len bytes of a buffer's memory, page-backed or page-less. */
static int hypheap_svm_req_add_mem(struct hypheap_svm_req *req, bool dst,
				   struct hypheap_mem *mem, size_t len)
{
	struct hypheap_range_iter it;
	struct hypheap_range r;
	int ret;

	hypheap_range_iter_init_mem(&it, mem);
	while (len && hypheap_range_iter_fill(&it, &r, 1)) {
		u64 n = min_t(u64, len, r.size);

		ret = hypheap_svm_req_add(req, dst, r.base, n);
		if (ret)
			return ret;
		len -= n;
	}
	return len ? -EINVAL : 0;
}

static int hypheap_svm_req_send(struct hypheap_svm *svm,
				struct hypheap_svm_req *req, u64 out[5],
				long *status)
{
	struct hypheap_svm_args *a = req->args;
	u64 data[5] = {
		a->op, page_to_phys(req->slot->page),
		HYPHEAP_SVM_ARGS_SIZE(a->nr_src, a->nr_dst), 0, 0,
	};
	int ret;

	ret = hypheap_svm_direct(svm, data, status);
	mutex_unlock(&req->slot->lock);
	if (out)
		memcpy(out, data, sizeof(data));
	return ret;
}

static void hypheap_svm_req_abort(struct hypheap_svm_req *req)
{
	mutex_unlock(&req->slot->lock);
}

static struct hypheap_buffer *hypheap_svm_buffer(struct dma_buf *dmabuf)
{
	return dmabuf ? hypheap_buffer_of(dmabuf) : NULL;
}

/* @len: bytes from the buffer's start, 0 for all of it; whole pages */
static int hypheap_svm_buffer_op(struct hypheap_svm *svm, u32 op,
				 struct dma_buf *dmabuf, bool dst, u64 pattern,
				 size_t len, u64 out[5], long *status)
{
	struct hypheap_buffer *buf = hypheap_svm_buffer(dmabuf);
	struct hypheap_svm_req req;
	int ret;

	*status = HYPHEAP_SVM_STATUS_NONE;
	if (!buf)
		return -EINVAL;
	if (!len)
		len = buf->mem.len;
	if (len > buf->mem.len || !PAGE_ALIGNED(len))
		return -EINVAL;
	ret = hypheap_svm_req_start(svm, &req, op);
	if (ret)
		return ret;
	req.args->pattern = pattern;
	ret = hypheap_svm_req_add_mem(&req, dst, &buf->mem, len);
	if (ret) {
		hypheap_svm_req_abort(&req);
		return ret;
	}
	return hypheap_svm_req_send(svm, &req, out, status);
}

/**
 * hypheap_svm_hash() - SHA-256, computed by the secure VM, of a buffer
 * @svm: the partition
 * @dmabuf: a hypheap buffer lent to the secure VM
 * @len: bytes from its start, a page multiple (the host cannot read those
 *	pages: a partial page would make the hash an oracle), 0 for all of it
 * @digest: the hash
 * @status: the secure VM's answer
 *
 * Return: 0 or an errno (-EINVAL for a buffer not hypheap's).
 */
int hypheap_svm_hash(struct hypheap_svm *svm, struct dma_buf *dmabuf,
		     size_t len, u8 digest[32], long *status)
{
	u64 out[5];
	int ret, i;

	ret = hypheap_svm_buffer_op(svm, HYPHEAP_SVM_OP_HASH, dmabuf, false, 0,
				    len, out, status);
	if (ret)
		return ret;
	for (i = 0; i < 4; i++)
		put_unaligned_le64(out[1 + i], digest + 8 * i);
	return 0;
}
EXPORT_SYMBOL_GPL(hypheap_svm_hash);

/**
 * hypheap_svm_fill() - have the secure VM set every byte of a buffer
 * @svm: the partition
 * @dmabuf: a hypheap buffer lent to the secure VM
 * @pattern: the byte
 * @status: the secure VM's answer
 *
 * Return: 0 or an errno.
 */
int hypheap_svm_fill(struct hypheap_svm *svm, struct dma_buf *dmabuf,
		     u8 pattern, long *status)
{
	return hypheap_svm_buffer_op(svm, HYPHEAP_SVM_OP_FILL, dmabuf, true,
				     pattern, 0, NULL, status);
}
EXPORT_SYMBOL_GPL(hypheap_svm_fill);

/**
 * hypheap_svm_pin() - the secure VM holds a buffer: reclaim answers BUSY
 * @svm: the partition
 * @dmabuf: a hypheap buffer lent to the secure VM
 * @status: the secure VM's answer
 *
 * A buffer released while pinned stays quarantined until unpinned: an
 * in-kernel caller unpins before it drops its last reference.
 *
 * Return: 0 or an errno (-EALREADY when already pinned).
 */
int hypheap_svm_pin(struct hypheap_svm *svm, struct dma_buf *dmabuf,
		    long *status)
{
	return hypheap_svm_buffer_op(svm, HYPHEAP_SVM_OP_PIN, dmabuf, false, 0,
				     0, NULL, status);
}
EXPORT_SYMBOL_GPL(hypheap_svm_pin);

/**
 * hypheap_svm_unpin() - undo hypheap_svm_pin()
 * @svm: the partition
 * @dmabuf: the pinned buffer
 * @status: the secure VM's answer
 *
 * Return: 0 or an errno (-EALREADY when not pinned).
 */
int hypheap_svm_unpin(struct hypheap_svm *svm, struct dma_buf *dmabuf,
		      long *status)
{
	return hypheap_svm_buffer_op(svm, HYPHEAP_SVM_OP_UNPIN, dmabuf, false,
				     0, 0, NULL, status);
}
EXPORT_SYMBOL_GPL(hypheap_svm_unpin);

/* Pages for @len bytes, as few chunks as the allocator gives. */
static int hypheap_svm_bounce_alloc(struct sg_table *sgt, size_t len)
{
	unsigned int order = get_order(min_t(size_t, len, SZ_2M)), n = 0;
	size_t left = PAGE_ALIGN(len);
	struct page *chunks[HYPHEAP_SVM_ARGS_MAX_RANGES];
	struct scatterlist *sg;
	unsigned int i;
	int ret;

	while (left) {
		struct page *page;

		while (order && (PAGE_SIZE << order) > left)
			order--;
		ret = -EINTR;
		if (fatal_signal_pending(current))
			goto err;
		/* as the heap's backend: fail rather than wake the OOM killer */
		page = alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_NOWARN |
				   (order ? __GFP_NORETRY : __GFP_RETRY_MAYFAIL),
				   order);
		if (!page && order) {
			order--;
			continue;
		}
		ret = -ENOMEM;
		if (!page)
			goto err;
		ret = -E2BIG;
		if (n == ARRAY_SIZE(chunks)) {
			__free_pages(page, order);
			goto err;
		}
		set_page_private(page, order);
		chunks[n++] = page;
		left -= PAGE_SIZE << order;
		cond_resched();
	}
	ret = sg_alloc_table(sgt, n, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err;
	for_each_sgtable_sg(sgt, sg, i)
		sg_set_page(sg, chunks[i], PAGE_SIZE << page_private(chunks[i]),
			    0);
	return 0;
err:
	while (n--)
		__free_pages(chunks[n], page_private(chunks[n]));
	return ret;
}

static void hypheap_svm_bounce_free(struct sg_table *sgt)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_sg(sgt, sg, i)
		__free_pages(sg_page(sg), get_order(sg->length));
	sg_free_table(sgt);
}

static int hypheap_svm_bounce_fill(struct sg_table *sgt, struct iov_iter *src,
				   size_t len)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_sg(sgt, sg, i) {
		size_t n = min_t(size_t, len, sg->length);

		if (copy_from_iter(sg_virt(sg), n, src) != n)
			return -EFAULT;
		len -= n;
		if (!len)
			break;
	}
	return 0;
}

/**
 * hypheap_svm_decrypt() - AES-128-CTR by the secure VM into a lent buffer
 * @svm: the partition
 * @src: the ciphertext (its whole count is decrypted: a page multiple, a
 *	frame being encrypted padded to whole pages)
 * @dst: a hypheap buffer lent to the secure VM, at least as long
 * @iv: CENC 8-byte IV
 * @status: the secure VM's answer
 *
 * The ciphertext is copied into pages shared with the secure VM for the
 * call. Pages whose share cannot be taken back are never freed (the secure
 * VM could still read what the page allocator puts there next).
 *
 * Return: 0 or an errno.
 */
int hypheap_svm_decrypt(struct hypheap_svm *svm, struct iov_iter *src,
			struct dma_buf *dst, const u8 iv[8], long *status)
{
	struct hypheap_buffer *buf = hypheap_svm_buffer(dst);
	size_t len = iov_iter_count(src);
	struct hypheap_conduit *c;
	struct hypheap_svm_req req;
	struct sg_table bounce;
	u64 owners = HYPHEAP_SVM_SHARED_BY;
	int ret, back;

	*status = HYPHEAP_SVM_STATUS_NONE;
	if (!buf || !len || len > buf->mem.len || !PAGE_ALIGNED(len))
		return -EINVAL;
	c = hypheap_get_default_conduit();
	if (!c)
		return -ENODEV;
	ret = hypheap_svm_bounce_alloc(&bounce, len);
	if (ret)
		goto out_put;
	ret = hypheap_svm_bounce_fill(&bounce, src, len);
	if (ret) {
		hypheap_svm_bounce_free(&bounce);
		goto out_put;
	}
	ret = hypheap_lend_table(c, &bounce, &hypheap_svm_host_rwx,
				 hypheap_svm_share_dst,
				 ARRAY_SIZE(hypheap_svm_share_dst), NULL);
	if (ret) {
		if (ret == -ENOTRECOVERABLE)
			pr_warn_ratelimited("decrypt: a share of %zu bytes cannot be undone; leaking it\n",
					    len);
		else
			hypheap_svm_bounce_free(&bounce);
		goto out_put;
	}

	ret = hypheap_svm_req_start(svm, &req, HYPHEAP_SVM_OP_DECRYPT);
	if (!ret) {
		memcpy(req.args->iv, iv, sizeof(req.args->iv));
		ret = hypheap_svm_req_add_table(&req, false, &bounce, len);
		if (!ret)
			ret = hypheap_svm_req_add_mem(&req, true, &buf->mem,
						      len);
		if (ret)
			hypheap_svm_req_abort(&req);
		else
			ret = hypheap_svm_req_send(svm, &req, NULL, status);
	}

	back = hypheap_reclaim_table(c, &bounce, &hypheap_svm_host_rwx,
				     HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0),
				     &owners, NULL);
	if (back) {
		pr_warn_ratelimited("decrypt: %zu shared bytes did not come back (%d); leaking them\n",
				    len, back);
		ret = ret ?: back;
	} else {
		hypheap_svm_bounce_free(&bounce);
	}
out_put:
	hypheap_conduit_put(c);
	return ret;
}
EXPORT_SYMBOL_GPL(hypheap_svm_decrypt);

/**
 * hypheap_svm_info() - the partition's INFO
 * @svm: the partition
 * @info: its answer
 * @status: the secure VM's answer
 *
 * Return: 0 or an errno.
 */
int hypheap_svm_info(struct hypheap_svm *svm, struct hypheap_svm_info *info,
		     long *status)
{
	u64 data[5] = { HYPHEAP_SVM_OP_INFO };
	int ret;

	ret = hypheap_svm_direct(svm, data, status);
	if (ret)
		return ret;
	info->version = data[1];
	info->nr_vcpus = data[2];
	info->features = data[3];
	info->partition_id = svm->ffa->vm_id;
	return 0;
}
EXPORT_SYMBOL_GPL(hypheap_svm_info);

static void hypheap_svm_free(struct kref *ref)
{
	struct hypheap_svm *svm = container_of(ref, struct hypheap_svm, ref);
	unsigned int i;

	for (i = 0; i < svm->nr_slots; i++) {
		struct hypheap_svm_slot *slot = &svm->slots[i];
		u64 owners = HYPHEAP_SVM_SHARED_BY;

		if (slot->shared &&
		    hypheap_assign_mem(page_to_phys(slot->page), PAGE_SIZE,
				       &owners, &hypheap_svm_host_rwx, 1)) {
			/* still readable by the secure VM: never reuse it */
			pr_warn("argument page %pa stays shared; leaking it\n",
				&(phys_addr_t){ page_to_phys(slot->page) });
			continue;
		}
		if (slot->page)
			__free_page(slot->page);
	}
	put_device(&svm->ffa->dev);
	kfree(svm);
}

/**
 * hypheap_svm_get() - the bound partition, with a reference
 *
 * Return: it, or NULL when no partition is bound.
 */
struct hypheap_svm *hypheap_svm_get(void)
{
	struct hypheap_svm *svm;

	mutex_lock(&hypheap_svm_lock);
	svm = hypheap_svm_bound;
	if (svm)
		kref_get(&svm->ref);
	mutex_unlock(&hypheap_svm_lock);
	return svm;
}
EXPORT_SYMBOL_GPL(hypheap_svm_get);

/**
 * hypheap_svm_put() - drop a reference of hypheap_svm_get()
 * @svm: the partition
 */
void hypheap_svm_put(struct hypheap_svm *svm)
{
	kref_put(&svm->ref, hypheap_svm_free);
}
EXPORT_SYMBOL_GPL(hypheap_svm_put);

/**
 * hypheap_svm_ffa() - Linux's FF-A device of the partition
 * @svm: the partition, referenced: the device lives as long as that
 *
 * For hypheap_svm_protmem.c, which lends memory to the partition with the
 * device's own mem_ops.
 *
 * Return: the device.
 */
struct ffa_device *hypheap_svm_ffa(struct hypheap_svm *svm)
{
	return svm->ffa;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_svm_ffa);

/* ---- /dev/hypheap-svm ---- */

/**
 * struct hypheap_svm_file - one open file of /dev/hypheap-svm
 * @lock: protects @pins
 * @pins: the buffers this file pinned (struct hypheap_svm_pinned)
 */
struct hypheap_svm_file {
	struct mutex lock; /* protects @pins */
	struct list_head pins;
};

/**
 * struct hypheap_svm_pinned - a pin made through a file, and its reference
 * @node: entry in &hypheap_svm_file.pins
 * @dmabuf: the pinned buffer, referenced until unpinned
 */
struct hypheap_svm_pinned {
	struct list_head node;
	struct dma_buf *dmabuf;
};

static struct hypheap_svm_pinned *
hypheap_svm_file_pin(struct hypheap_svm_file *f, struct dma_buf *dmabuf)
{
	struct hypheap_svm_pinned *p;

	list_for_each_entry(p, &f->pins, node)
		if (p->dmabuf == dmabuf)
			return p;
	return NULL;
}

/* PIN, UNPIN: the pin is the file's; it holds @dmabuf's reference */
static int hypheap_svm_ioctl_pin(struct hypheap_svm *svm,
				 struct hypheap_svm_file *f, unsigned int cmd,
				 struct dma_buf *dmabuf, long *status)
{
	struct hypheap_svm_pinned *p;
	int ret;

	mutex_lock(&f->lock);
	p = hypheap_svm_file_pin(f, dmabuf);
	if (cmd == HYPHEAP_SVM_IOC_PIN) {
		ret = -EALREADY;
		if (p)
			goto out;
		ret = -ENOMEM;
		p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
		if (!p)
			goto out;
		ret = hypheap_svm_pin(svm, dmabuf, status);
		if (ret) {
			kfree(p);
			goto out;
		}
		get_dma_buf(dmabuf);
		p->dmabuf = dmabuf;
		list_add(&p->node, &f->pins);
	} else {
		/* not this file's pin: another opener's, or none */
		ret = -EPERM;
		if (!p)
			goto out;
		ret = hypheap_svm_unpin(svm, dmabuf, status);
		if (ret)
			goto out;
		list_del(&p->node);
		dma_buf_put(p->dmabuf);
		kfree(p);
	}
out:
	mutex_unlock(&f->lock);
	return ret;
}

static long hypheap_svm_ioctl_buf(struct hypheap_svm *svm,
				  struct hypheap_svm_file *f, unsigned int cmd,
				  void __user *uarg)
{
	struct hypheap_svm_buf_arg a;
	struct dma_buf *dmabuf;
	long status = HYPHEAP_SVM_STATUS_NONE;
	int ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.reserved || (cmd != HYPHEAP_SVM_IOC_FILL && a.pattern) ||
	    a.pattern > U8_MAX)
		return -EINVAL;
	dmabuf = dma_buf_get(a.fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	if (!hypheap_svm_buffer(dmabuf))
		ret = -EINVAL;
	else if (cmd == HYPHEAP_SVM_IOC_FILL &&
		 !(dmabuf->file->f_mode & FMODE_WRITE))
		ret = -EBADF; /* as write(2) on a read-only fd */
	else if (cmd == HYPHEAP_SVM_IOC_FILL)
		ret = hypheap_svm_fill(svm, dmabuf, a.pattern, &status);
	else
		ret = hypheap_svm_ioctl_pin(svm, f, cmd, dmabuf, &status);
	dma_buf_put(dmabuf);
	a.status = status;
	if (copy_to_user(uarg, &a, sizeof(a)))
		return -EFAULT;
	return ret;
}

static long hypheap_svm_ioctl_hash(struct hypheap_svm *svm, void __user *uarg)
{
	struct hypheap_svm_hash_arg a;
	struct dma_buf *dmabuf;
	long status;
	int ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.reserved)
		return -EINVAL;
	dmabuf = dma_buf_get(a.fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	ret = hypheap_svm_hash(svm, dmabuf, a.len, a.digest, &status);
	dma_buf_put(dmabuf);
	a.status = status;
	if (copy_to_user(uarg, &a, sizeof(a)))
		return -EFAULT;
	return ret;
}

static long hypheap_svm_ioctl_decrypt(struct hypheap_svm *svm,
				      void __user *uarg)
{
	struct hypheap_svm_decrypt_arg a;
	struct dma_buf *dmabuf;
	struct iov_iter iter;
	struct iovec iov;
	long status = HYPHEAP_SVM_STATUS_NONE;
	int ret;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.reserved)
		return -EINVAL;
	ret = import_single_range(WRITE, u64_to_user_ptr(a.src), a.len,
				  &iov, &iter);
	if (ret)
		return ret;
	dmabuf = dma_buf_get(a.dst_fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	if (!(dmabuf->file->f_mode & FMODE_WRITE))
		ret = -EBADF; /* as write(2) on a read-only fd */
	else
		ret = hypheap_svm_decrypt(svm, &iter, dmabuf, a.iv, &status);
	dma_buf_put(dmabuf);
	a.status = status;
	if (copy_to_user(uarg, &a, sizeof(a)))
		return -EFAULT;
	return ret;
}

static long hypheap_svm_ioctl_info(struct hypheap_svm *svm, void __user *uarg)
{
	struct hypheap_svm_info_arg a = {};
	struct hypheap_svm_info info = {};
	long status;
	int ret;

	ret = hypheap_svm_info(svm, &info, &status);
	a.status = status;
	a.version = info.version;
	a.nr_vcpus = info.nr_vcpus;
	a.features = info.features;
	a.partition_id = info.partition_id;
	if (copy_to_user(uarg, &a, sizeof(a)))
		return -EFAULT;
	return ret;
}

static long hypheap_svm_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct hypheap_svm *svm = hypheap_svm_get();
	long ret;

	if (!svm)
		return -ENODEV;
	switch (cmd) {
	case HYPHEAP_SVM_IOC_INFO:
		ret = hypheap_svm_ioctl_info(svm, uarg);
		break;
	case HYPHEAP_SVM_IOC_HASH:
		ret = hypheap_svm_ioctl_hash(svm, uarg);
		break;
	case HYPHEAP_SVM_IOC_DECRYPT:
		ret = hypheap_svm_ioctl_decrypt(svm, uarg);
		break;
	case HYPHEAP_SVM_IOC_PIN:
	case HYPHEAP_SVM_IOC_UNPIN:
	case HYPHEAP_SVM_IOC_FILL:
		ret = hypheap_svm_ioctl_buf(svm, file->private_data, cmd, uarg);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	hypheap_svm_put(svm);
	return ret;
}

static int hypheap_svm_open(struct inode *inode, struct file *file)
{
	struct hypheap_svm_file *f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);

	if (!f)
		return -ENOMEM;
	mutex_init(&f->lock);
	INIT_LIST_HEAD(&f->pins);
	file->private_data = f;
	return 0;
}

/* The file's pins die with it, so none outlives the process that made it. */
static int hypheap_svm_release(struct inode *inode, struct file *file)
{
	struct hypheap_svm_file *f = file->private_data;
	struct hypheap_svm *svm = hypheap_svm_get();
	struct hypheap_svm_pinned *p, *tmp;
	long status;

	list_for_each_entry_safe(p, tmp, &f->pins, node) {
		/* an aborted partition dropped its pins itself */
		if (svm && hypheap_svm_unpin(svm, p->dmabuf, &status) &&
		    status != HYPHEAP_SVM_STATUS_NONE)
			pr_warn("a buffer stays pinned at close: status %ld\n",
				status);
		list_del(&p->node);
		dma_buf_put(p->dmabuf);
		kfree(p);
	}
	if (svm)
		hypheap_svm_put(svm);
	kfree(f);
	return 0;
}

static const struct file_operations hypheap_svm_fops = {
	.owner = THIS_MODULE,
	.open = hypheap_svm_open,
	.release = hypheap_svm_release,
	.unlocked_ioctl = hypheap_svm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice hypheap_svm_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "hypheap-svm",
	.fops = &hypheap_svm_fops,
	.mode = 0600,
};

/* ---- the FF-A driver ---- */

static int hypheap_svm_share_slots(struct hypheap_svm *svm)
{
	unsigned int i;

	for (i = 0; i < svm->nr_slots; i++) {
		struct hypheap_svm_slot *slot = &svm->slots[i];
		u64 owners = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
		int ret;

		mutex_init(&slot->lock);
		slot->page = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!slot->page)
			return -ENOMEM;
		ret = hypheap_assign_mem(page_to_phys(slot->page), PAGE_SIZE,
					 &owners, hypheap_svm_share_dst,
					 ARRAY_SIZE(hypheap_svm_share_dst));
		if (ret == -ENOTRECOVERABLE) {
			slot->page = NULL; /* owners unknown: leak it */
			return ret;
		}
		if (ret)
			return ret;
		slot->shared = true;
	}
	return 0;
}

static int hypheap_svm_probe(struct ffa_device *ffa)
{
	unsigned int nr = min_t(unsigned int, num_possible_cpus(),
				HYPHEAP_SVM_MAX_SLOTS);
	long status = HYPHEAP_SVM_STATUS_NONE;
	struct hypheap_svm *svm;
	int ret;

	svm = kzalloc(struct_size(svm, slots, nr), GFP_KERNEL);
	if (!svm)
		return -ENOMEM;
	svm->ffa = ffa;
	get_device(&ffa->dev);
	kref_init(&svm->ref);
	svm->nr_slots = nr;
	ret = hypheap_svm_share_slots(svm);
	if (ret == -ENODEV)
		ret = -EPROBE_DEFER; /* no hypheap hypervisor device yet */
	if (!ret)
		ret = hypheap_svm_info(svm, &svm->info, &status);
	if (ret) {
		hypheap_svm_put(svm);
		return dev_err_probe(&ffa->dev, ret,
				     "secure VM not usable (status %ld)\n",
				     status);
	}
	dev_info(&ffa->dev,
		 "secure VM partition %#x: services %u.%u, %u vCPUs, features %#x\n",
		 ffa->vm_id, svm->info.version >> 16,
		 svm->info.version & 0xffff, svm->info.nr_vcpus,
		 svm->info.features);

	mutex_lock(&hypheap_svm_lock);
	if (hypheap_svm_bound) {
		mutex_unlock(&hypheap_svm_lock);
		hypheap_svm_put(svm);
		return -EBUSY;
	}
	hypheap_svm_bound = svm;
	mutex_unlock(&hypheap_svm_lock);
	ffa_dev_set_drvdata(ffa, svm);
	return 0;
}

static void hypheap_svm_remove(struct ffa_device *ffa)
{
	struct hypheap_svm *svm = ffa_dev_get_drvdata(ffa);

	mutex_lock(&hypheap_svm_lock);
	if (hypheap_svm_bound == svm)
		hypheap_svm_bound = NULL;
	mutex_unlock(&hypheap_svm_lock);
	hypheap_svm_put(svm);
}

/* filled from HYPHEAP_SVM_UUID_STR at init: the UUID is written once, in abi.h */
static struct ffa_device_id hypheap_svm_ids[2];

static struct ffa_driver hypheap_svm_driver = {
	.name = "hypheap-svm",
	.probe = hypheap_svm_probe,
	.remove = hypheap_svm_remove,
	.id_table = hypheap_svm_ids,
};

static bool hypheap_svm_registered;

/**
 * hypheap_svm_init() - register the FF-A driver and /dev/hypheap-svm
 *
 * Without FF-A (a firmware or hypervisor that does not speak it, so Linux's
 * driver gave up) the heaps still work: the client is left out, logged.
 */
void hypheap_svm_init(void)
{
	int ret;

	ret = uuid_parse(HYPHEAP_SVM_UUID_STR, &hypheap_svm_ids[0].uuid);
	if (WARN_ON(ret))
		return;
	ret = ffa_register(&hypheap_svm_driver);
	if (ret) {
		pr_info("no FF-A, no secure-VM services: %d\n", ret);
		return;
	}
	ret = misc_register(&hypheap_svm_misc);
	if (ret) {
		pr_warn("/dev/hypheap-svm: %d\n", ret);
		ffa_unregister(&hypheap_svm_driver);
		return;
	}
	hypheap_svm_registered = true;
}

void hypheap_svm_exit(void)
{
	if (!hypheap_svm_registered)
		return;
	misc_deregister(&hypheap_svm_misc);
	ffa_unregister(&hypheap_svm_driver);
}

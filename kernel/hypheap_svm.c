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
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/semaphore.h>
#include <linux/scatterlist.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/uuid.h>
#include <linux/workqueue.h>
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
/*
 * A request names at most this many bytes (FILL: twice that, below), so that
 * one FF-A call stays short
 * (Linux 6.1's FFA_RUN loop never reschedules): between two chunks the client
 * calls cond_resched(). 1 MiB is about 80 ms of HASH under TCG (13 MiB/s,
 * docs/kernel.md), well under a millisecond on hardware. A power of two, so
 * chunks of a buffer of pages are whole pages.
 */
#define HYPHEAP_SVM_CHUNK_BYTES	SZ_1M
/*
 * FILL's requests are twice that: zeroing and cleaning take some 2 ms a MiB
 * under TCG (docs/performance.md), so a 2 MiB request keeps the caller's CPU
 * for some 5 ms, a fraction of a 1 MiB HASH. A 2 MiB request of a 2 MiB block
 * (the hyp backend allocates those first, largest first, so chunk
 * boundaries fall on block boundaries) holds the whole block. A 1 MiB hold
 * made the hypervisor split the secure VM's block mapping and merge it back
 * on release, a break-before-make and a VMID-wide TLB invalidation each
 * way, which cost more than the zeroing under TCG.
 */
#define HYPHEAP_SVM_FILL_CHUNK_BYTES	SZ_2M
/*
 * DECRYPT's ciphertext goes through a bounce of at most one chunk, in at most
 * this many runs, so that its runs and the destination's share one block.
 */
#define HYPHEAP_SVM_BOUNCE_RUNS	(HYPHEAP_SVM_ARGS_MAX_RANGES / 2)

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
 * @streams: HASH contexts this client may still begin (the secure VM
 *	reuses the least recently used one past %HYPHEAP_SVM_HASH_PER_CLIENT)
 * @nr_slots: entries of @slots
 * @slots: argument pages
 */
struct hypheap_svm {
	struct ffa_device *ffa;
	struct kref ref;
	struct hypheap_svm_info info;
	struct semaphore streams;
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
	case HYPHEAP_SVM_ERR_HASH_HANDLE:
		return -ESTALE;
	case HYPHEAP_SVM_ERR_HASH_IN_USE:
		return -EBUSY;
	case HYPHEAP_SVM_ERR_HASH_CONTEXTS:
		return -EAGAIN;
	case HYPHEAP_SVM_ERR_HASH_LENGTH:
		return -EFBIG;
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

/*
 * One direct request. @undo: the call takes back what an earlier one did
 * (an ABORT, a rollback, an exiting task's UNPIN): it never gives up for a
 * fatal signal, so nothing is left pinned or open because the caller died.
 */
static int hypheap_svm_call(struct hypheap_svm *svm, u64 data[5], long *status,
			    bool undo)
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
		    (!undo && hypheap_svm_may_give_up()))
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
	return hypheap_svm_call(svm, data, status, false);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_svm_direct);

/**
 * struct hypheap_svm_req - an argument block being built in a slot page
 * @slot: the slot, locked
 * @args: its header, at the start of the page
 * @ranges: src[] then dst[]
 * @undo: see hypheap_svm_call()
 */
struct hypheap_svm_req {
	struct hypheap_svm_slot *slot;
	struct hypheap_svm_args *args;
	struct hypheap_mem_range *ranges;
	bool undo;
};

/*
 * Any free slot, this CPU's first (spreading concurrent callers); when all
 * are busy, wait for this CPU's, killably: a call can take seconds.
 */
static int hypheap_svm_req_start(struct hypheap_svm *svm,
				 struct hypheap_svm_req *req, u32 op, bool undo)
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
		if (undo || (current->flags & PF_EXITING))
			mutex_lock(&req->slot->lock);
		else if (mutex_lock_killable(&req->slot->lock))
			return -EINTR;
	}
	req->args = page_address(req->slot->page);
	memset(req->args, 0, PAGE_SIZE);
	req->args->version = HYPHEAP_SVM_ARGS_VERSION;
	req->args->op = op;
	req->ranges = (struct hypheap_mem_range *)(req->args + 1);
	req->undo = undo;
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

/**
 * struct hypheap_svm_cursor - where the next chunk of a buffer starts
 * @sg: its entry (NULL past the table's end)
 * @off: bytes of @sg already taken
 * @left: bytes still to take
 * @pageless: the table's entries have no pages (struct hypheap_mem): the
 *	physical address is in sg_dma_address()
 */
struct hypheap_svm_cursor {
	struct scatterlist *sg;
	size_t off;
	size_t left;
	bool pageless;
};

static void hypheap_svm_cursor_init(struct hypheap_svm_cursor *cur,
				    struct sg_table *sgt, bool pageless,
				    size_t len)
{
	cur->sg = sgt->sgl;
	cur->off = 0;
	cur->left = len;
	cur->pageless = pageless;
}

/*
 * Up to @max bytes from @cur in at most @runs runs (physically contiguous
 * pieces are one run), added to one list of @req, or only counted when @req
 * is NULL. Return: the bytes taken.
 */
static size_t hypheap_svm_take(struct hypheap_svm_req *req, bool dst,
			       struct hypheap_svm_cursor *cur, size_t max,
			       unsigned int runs)
{
	phys_addr_t end = 0;
	unsigned int n = 0;
	size_t done = 0;

	while (cur->left && done < max && cur->sg) {
		phys_addr_t pa = (cur->pageless ?
				  (phys_addr_t)sg_dma_address(cur->sg) :
				  sg_phys(cur->sg)) + cur->off;
		size_t len = min3(cur->left, cur->sg->length - cur->off,
				  max - done);

		if (!n || pa != end) {
			if (n == runs)
				break;
			n++;
		}
		if (req && hypheap_svm_req_add(req, dst, pa, len))
			break;
		end = pa + len;
		done += len;
		cur->left -= len;
		cur->off += len;
		if (cur->off == cur->sg->length) {
			cur->sg = sg_next(cur->sg);
			cur->off = 0;
		}
	}
	return done;
}

static int hypheap_svm_req_send(struct hypheap_svm *svm,
				struct hypheap_svm_req *req, u64 d3, u64 d4,
				u64 out[5], long *status)
{
	struct hypheap_svm_args *a = req->args;
	u64 data[5] = {
		a->op, page_to_phys(req->slot->page),
		HYPHEAP_SVM_ARGS_SIZE(a->nr_src, a->nr_dst), d3, d4,
	};
	int ret;

	ret = hypheap_svm_call(svm, data, status, req->undo);
	mutex_unlock(&req->slot->lock);
	if (out)
		memcpy(out, data, sizeof(data));
	return ret;
}

static void hypheap_svm_req_abort(struct hypheap_svm_req *req)
{
	mutex_unlock(&req->slot->lock);
}

/*
 * Between two chunks: let the CPU schedule (the FF-A call itself never
 * does), and give up for a fatal signal unless this undoes something.
 */
static int hypheap_svm_between_chunks(bool undo)
{
	cond_resched();
	return !undo && hypheap_svm_may_give_up() ? -EINTR : 0;
}

/* One request of @op on the next chunk of @cur, its only list. */
static int hypheap_svm_send_chunk(struct hypheap_svm *svm, u32 op, bool dst,
				  struct hypheap_svm_cursor *cur, u64 pattern,
				  u64 d3, u64 d4, bool undo, u64 out[5],
				  long *status)
{
	struct hypheap_svm_req req;
	int ret;

	*status = HYPHEAP_SVM_STATUS_NONE;
	ret = hypheap_svm_req_start(svm, &req, op, undo);
	if (ret)
		return ret;
	req.args->pattern = pattern;
	if (!hypheap_svm_take(&req, dst, cur,
			      op == HYPHEAP_SVM_OP_FILL ?
			      HYPHEAP_SVM_FILL_CHUNK_BYTES :
			      HYPHEAP_SVM_CHUNK_BYTES,
			      HYPHEAP_SVM_ARGS_MAX_RANGES)) {
		hypheap_svm_req_abort(&req);
		return -EINVAL; /* a table shorter than its buffer */
	}
	return hypheap_svm_req_send(svm, &req, d3, d4, out, status);
}

#if IS_ENABLED(CONFIG_KUNIT)
struct hypheap_svm_test_hooks hypheap_svm_test_hooks;
EXPORT_SYMBOL_IF_KUNIT(hypheap_svm_test_hooks);
#endif

static struct hypheap_buffer *hypheap_svm_buffer(struct dma_buf *dmabuf)
{
	return dmabuf ? hypheap_buffer_of(dmabuf) : NULL;
}

static atomic64_t hypheap_svm_streams_open = ATOMIC64_INIT(0);
static atomic64_t hypheap_svm_streams_lost = ATOMIC64_INIT(0);

/*
 * ABORT of a context this client began; never given up. A context whose
 * ABORT fails is counted lost: the secure VM reuses it for a later BEGIN
 * (the least recently used), so it is not lost for good.
 */
static void hypheap_svm_hash_abort(struct hypheap_svm *svm, u64 handle)
{
	u64 data[5] = { HYPHEAP_SVM_OP_HASH_ABORT, handle };
	long status;
	int ret;

	ret = hypheap_svm_call(svm, data, &status, true);
	atomic64_dec(&hypheap_svm_streams_open);
	/*
	 * HASH_HANDLE: the context is gone already (a FINAL that did answer);
	 * -ECANCELED: the partition aborted, and its contexts with it.
	 */
	if (ret && ret != -ECANCELED && status != HYPHEAP_SVM_ERR_HASH_HANDLE) {
		atomic64_inc(&hypheap_svm_streams_lost);
		pr_warn_ratelimited("HASH context %#llx not aborted (%d, status %ld)\n",
				    handle, ret, status);
	}
}

/* A buffer in more than one chunk: BEGIN, one UPDATE a chunk, FINAL. */
static int hypheap_svm_hash_stream(struct hypheap_svm *svm,
				   struct hypheap_svm_cursor *cur,
				   u8 digest[32], long *status)
{
	u64 data[5] = { HYPHEAP_SVM_OP_HASH_BEGIN };
	u64 handle, offset = 0;
	int ret, i;

	/* at most what the secure VM keeps per client: none is reused */
	if (down_killable(&svm->streams))
		return -EINTR;
	ret = hypheap_svm_call(svm, data, status, false);
	if (ret)
		goto out;
	handle = data[1];
	atomic64_inc(&hypheap_svm_streams_open);
	while (cur->left) {
		size_t before = cur->left;

		ret = hypheap_svm_send_chunk(svm, HYPHEAP_SVM_OP_HASH_UPDATE,
					     false, cur, 0, handle, offset,
					     false, NULL, status);
		if (ret)
			break;
		offset += before - cur->left;
		if (cur->left) {
			ret = hypheap_svm_between_chunks(false);
			if (ret)
				break;
		}
	}
	if (!ret) {
		u64 fin[5] = { HYPHEAP_SVM_OP_HASH_FINAL, handle, offset };

		ret = hypheap_svm_call(svm, fin, status, false);
		if (!ret) {
			atomic64_dec(&hypheap_svm_streams_open);
			for (i = 0; i < 4; i++)
				put_unaligned_le64(fin[1 + i], digest + 8 * i);
		}
	}
	if (ret)
		hypheap_svm_hash_abort(svm, handle);
out:
	up(&svm->streams);
	return ret;
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
 * One HASH when the range fits one request, else a stream of chunks
 * (HASH_BEGIN, UPDATE, FINAL; ABORT when anything fails, so no context is
 * left behind, even by a killed caller).
 *
 * Return: 0 or an errno (-EINVAL for a buffer not hypheap's, -EINTR for a
 * fatal signal between chunks).
 */
int hypheap_svm_hash(struct hypheap_svm *svm, struct dma_buf *dmabuf,
		     size_t len, u8 digest[32], long *status)
{
	struct hypheap_buffer *buf = hypheap_svm_buffer(dmabuf);
	struct hypheap_svm_cursor cur, probe;
	u64 out[5];
	int ret, i;

	*status = HYPHEAP_SVM_STATUS_NONE;
	if (!buf)
		return -EINVAL;
	if (!len)
		len = buf->mem.len;
	if (len > buf->mem.len || !PAGE_ALIGNED(len))
		return -EINVAL;
	hypheap_svm_cursor_init(&cur, &buf->mem.sgt, buf->mem.pageless, len);
	probe = cur;
	hypheap_svm_take(NULL, false, &probe, HYPHEAP_SVM_CHUNK_BYTES,
			 HYPHEAP_SVM_ARGS_MAX_RANGES);
	if (probe.left)
		return hypheap_svm_hash_stream(svm, &cur, digest, status);
	ret = hypheap_svm_send_chunk(svm, HYPHEAP_SVM_OP_HASH, false, &cur, 0,
				     0, 0, false, out, status);
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
 * Return: 0 or an errno (-EINTR: a fatal signal between chunks, the buffer
 * partly filled).
 */
int hypheap_svm_fill(struct hypheap_svm *svm, struct dma_buf *dmabuf,
		     u8 pattern, long *status)
{
	struct hypheap_buffer *buf = hypheap_svm_buffer(dmabuf);

	*status = HYPHEAP_SVM_STATUS_NONE;
	if (!buf)
		return -EINVAL;
	return hypheap_svm_fill_mem(svm, &buf->mem, pattern, false, status);
}
EXPORT_SYMBOL_GPL(hypheap_svm_fill);

/**
 * hypheap_svm_fill_mem() - hypheap_svm_fill() of a backend's memory
 * @svm: the partition
 * @mem: memory lent to the secure VM (a buffer's, or one being freed)
 * @pattern: the byte
 * @cleanup: a free's cleanup, which a fatal signal or a busy secure VM must
 *	not cut short (as an undo)
 * @status: the secure VM's answer
 *
 * For the heap pools (hypheap_pool.c), which zero a freed buffer where the
 * host cannot reach before they hand it out again, and the ffa-lend
 * backend's freed slices.
 *
 * Return: 0 or an errno, as hypheap_svm_fill().
 */
int hypheap_svm_fill_mem(struct hypheap_svm *svm, struct hypheap_mem *mem,
			 u8 pattern, bool cleanup, long *status)
{
	struct hypheap_svm_cursor cur;
	int ret;

	*status = HYPHEAP_SVM_STATUS_NONE;
	if (hypheap_svm_test_hooks.fill_refused) {
		ret = hypheap_svm_test_hooks.fill_refused(mem);
		if (ret)
			return ret;
	}
	hypheap_svm_cursor_init(&cur, &mem->sgt, mem->pageless, mem->len);
	do {
		ret = hypheap_svm_send_chunk(svm, HYPHEAP_SVM_OP_FILL, true,
					     &cur, pattern, 0, 0, cleanup, NULL,
					     status);
		if (!ret && cur.left)
			ret = hypheap_svm_between_chunks(cleanup);
	} while (!ret && cur.left);
	return ret;
}

/*
 * UNPIN of whatever of the first @len bytes of @mem is pinned, never given
 * up: a chunk the secure VM refuses (part of it was not pinned) is done
 * again page by page, and pages not pinned are passed over (a run by run
 * retry would pass over a whole run for one page of it).
 */
static int hypheap_svm_unpin_table_all(struct hypheap_svm *svm,
				       struct hypheap_mem *mem, size_t len)
{
	struct hypheap_svm_cursor cur, chunk;
	long status;
	int ret = 0;

	hypheap_svm_cursor_init(&cur, &mem->sgt, mem->pageless, len);
	while (cur.left) {
		int r;

		chunk = cur;
		r = hypheap_svm_send_chunk(svm, HYPHEAP_SVM_OP_UNPIN, false,
					   &cur, 0, 0, 0, true, NULL, &status);
		if (r && status == HYPHEAP_SVM_STATUS_NONE)
			return r; /* no answer: the rest cannot be done either */
		while (r && chunk.left > cur.left) {
			struct hypheap_svm_req req;
			int one;

			one = hypheap_svm_req_start(svm, &req,
						    HYPHEAP_SVM_OP_UNPIN, true);
			if (one)
				return one;
			/* a page at a time: a run is pinned or not per page */
			hypheap_svm_take(&req, false, &chunk, PAGE_SIZE, 1);
			one = hypheap_svm_req_send(svm, &req, 0, 0, NULL,
						   &status);
			if (one && status != HYPHEAP_SVM_ERR_PIN_STATE && !ret)
				ret = one;
		}
		hypheap_svm_between_chunks(true);
	}
	return ret;
}

/*
 * PIN or UNPIN of the first @len bytes of @sgt, a chunk at a time, all or
 * nothing: a refused chunk undoes the chunks before it. An undo that fails
 * is -ENOTRECOVERABLE (the buffer is partly pinned), never forgotten.
 */
static int hypheap_svm_pin_table(struct hypheap_svm *svm,
				 struct hypheap_mem *mem, size_t len, bool pin,
				 long *status)
{
	struct hypheap_svm_cursor cur;
	unsigned int chunks = 0;
	size_t done = 0;
	long st;
	int ret = 0, back;

	hypheap_svm_cursor_init(&cur, &mem->sgt, mem->pageless, len);
	while (cur.left) {
		ret = hypheap_svm_send_chunk(svm, pin ? HYPHEAP_SVM_OP_PIN :
							HYPHEAP_SVM_OP_UNPIN,
					     false, &cur, 0, 0, 0, false, NULL,
					     status);
		if (ret)
			break;
		done = len - cur.left;
#if IS_ENABLED(CONFIG_KUNIT)
		if (pin && hypheap_svm_test_hooks.pin_chunk_done)
			hypheap_svm_test_hooks.pin_chunk_done(chunks);
#endif
		chunks++;
		if (cur.left) {
			ret = hypheap_svm_between_chunks(false);
			if (ret)
				break;
		}
	}
	if (!ret || !done)
		return ret;
	if (pin) {
		back = hypheap_svm_unpin_table_all(svm, mem, done);
	} else {
		hypheap_svm_cursor_init(&cur, &mem->sgt, mem->pageless, done);
		back = 0;
		while (cur.left && !back) {
			back = hypheap_svm_send_chunk(svm, HYPHEAP_SVM_OP_PIN,
						      false, &cur, 0, 0, 0,
						      true, NULL, &st);
			hypheap_svm_between_chunks(true);
		}
	}
	if (back) {
		pr_warn_ratelimited("%s of a buffer not undone (%d): it is partly pinned\n",
				    pin ? "PIN" : "UNPIN", back);
		return -ENOTRECOVERABLE;
	}
	return ret;
}

/**
 * hypheap_svm_pin() - the secure VM holds a buffer: reclaim answers BUSY
 * @svm: the partition
 * @dmabuf: a hypheap buffer lent to the secure VM
 * @status: the secure VM's answer
 *
 * A buffer released while pinned stays quarantined until unpinned: an
 * in-kernel caller unpins before it drops its last reference. All or
 * nothing, however many requests the buffer takes.
 *
 * Return: 0 or an errno (-EALREADY when a page is already pinned;
 * -ENOTRECOVERABLE when a failure could not be undone: part of the buffer
 * stays pinned until hypheap_svm_unpin_all()).
 */
int hypheap_svm_pin(struct hypheap_svm *svm, struct dma_buf *dmabuf,
		    long *status)
{
	struct hypheap_buffer *buf = hypheap_svm_buffer(dmabuf);

	*status = HYPHEAP_SVM_STATUS_NONE;
	if (!buf)
		return -EINVAL;
	return hypheap_svm_pin_table(svm, &buf->mem, buf->mem.len, true, status);
}
EXPORT_SYMBOL_GPL(hypheap_svm_pin);

/**
 * hypheap_svm_unpin() - undo hypheap_svm_pin()
 * @svm: the partition
 * @dmabuf: the pinned buffer
 * @status: the secure VM's answer
 *
 * Return: 0 or an errno (-EALREADY when a page is not pinned, the buffer
 * then pinned as before; -ENOTRECOVERABLE as hypheap_svm_pin()).
 */
int hypheap_svm_unpin(struct hypheap_svm *svm, struct dma_buf *dmabuf,
		      long *status)
{
	struct hypheap_buffer *buf = hypheap_svm_buffer(dmabuf);

	*status = HYPHEAP_SVM_STATUS_NONE;
	if (!buf)
		return -EINVAL;
	return hypheap_svm_pin_table(svm, &buf->mem, buf->mem.len, false,
				     status);
}
EXPORT_SYMBOL_GPL(hypheap_svm_unpin);

/**
 * hypheap_svm_unpin_all() - unpin whatever of a buffer is pinned
 * @svm: the partition
 * @dmabuf: the buffer
 *
 * For cleanup after -ENOTRECOVERABLE, or before the last reference goes:
 * never gives up for a signal, passes over pages that are not pinned.
 *
 * Return: 0 or the first errno other than -EALREADY.
 */
int hypheap_svm_unpin_all(struct hypheap_svm *svm, struct dma_buf *dmabuf)
{
	struct hypheap_buffer *buf = hypheap_svm_buffer(dmabuf);

	if (!buf)
		return -EINVAL;
	return hypheap_svm_unpin_table_all(svm, &buf->mem, buf->mem.len);
}
EXPORT_SYMBOL_GPL(hypheap_svm_unpin_all);

/* ---- DECRYPT's bounce and its quarantine ---- */

/**
 * struct hypheap_svm_bounce - pages shared with the secure VM for a DECRYPT
 * @sgt: the pages
 * @len: bytes of them
 * @owners: who owns them; 0 when not known (MEM_QUERY tells)
 * @node: entry in hypheap_svm_quarantine while its reclaim fails
 */
struct hypheap_svm_bounce {
	struct sg_table sgt;
	size_t len;
	u64 owners;
	struct list_head node;
};

static DEFINE_MUTEX(hypheap_svm_quarantine_lock);
static LIST_HEAD(hypheap_svm_quarantine); /* under hypheap_svm_quarantine_lock */
#define HYPHEAP_SVM_RETRY_MIN	msecs_to_jiffies(100)
#define HYPHEAP_SVM_RETRY_MAX	msecs_to_jiffies(60 * MSEC_PER_SEC)
static unsigned long hypheap_svm_retry_delay; /* 0: HYPHEAP_SVM_RETRY_MIN */
static atomic64_t hypheap_svm_bounce_quarantined = ATOMIC64_INIT(0);
static atomic64_t hypheap_svm_bounce_failures = ATOMIC64_INIT(0);
static void hypheap_svm_retry_work(struct work_struct *work);
static DECLARE_DELAYED_WORK(hypheap_svm_retry, hypheap_svm_retry_work);

/*
 * Pages for up to @len bytes in at most %HYPHEAP_SVM_BOUNCE_RUNS chunks, as
 * few as the allocator gives. Return: the bytes obtained, or an errno.
 */
static long hypheap_svm_bounce_alloc(struct sg_table *sgt, size_t len)
{
	unsigned int order = get_order(len), n = 0;
	size_t left = PAGE_ALIGN(len), got = 0;
	struct page *chunks[HYPHEAP_SVM_BOUNCE_RUNS];
	struct scatterlist *sg;
	unsigned int i;
	int ret;

	while (left && n < ARRAY_SIZE(chunks)) {
		struct page *page;

		while (order && (PAGE_SIZE << order) > left)
			order--;
		ret = -EINTR;
		if (fatal_signal_pending(current))
			goto err;
		/* as the heap's backend: fail rather than wake the OOM killer */
		/*
		 * Zeroed: the bounce is shared before the ciphertext is copied
		 * in, and a short chunk never writes its tail; the secure VM
		 * must not read what the page allocator left there.
		 */
		page = alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN |
				   (order ? __GFP_NORETRY : __GFP_RETRY_MAYFAIL),
				   order);
		if (!page && order) {
			order--;
			continue;
		}
		ret = -ENOMEM;
		if (!page)
			goto err;
		set_page_private(page, order);
		chunks[n++] = page;
		left -= PAGE_SIZE << order;
		got += PAGE_SIZE << order;
		cond_resched();
	}
	ret = sg_alloc_table(sgt, n, GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err;
	for_each_sgtable_sg(sgt, sg, i)
		sg_set_page(sg, chunks[i], PAGE_SIZE << page_private(chunks[i]),
			    0);
	return got;
err:
	while (n--)
		__free_pages(chunks[n], page_private(chunks[n]));
	return ret;
}

static void hypheap_svm_bounce_free(struct hypheap_svm_bounce *b)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_sg(&b->sgt, sg, i)
		__free_pages(sg_page(sg), get_order(sg->length));
	sg_free_table(&b->sgt);
	kfree(b);
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

/* Takes the share back; 0, or the errno with @b's owners updated. */
static int hypheap_svm_bounce_reclaim(struct hypheap_conduit *c,
				      struct hypheap_svm_bounce *b)
{
	return hypheap_reclaim_table(c, &b->sgt, &hypheap_svm_host_rwx,
				     HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0),
				     &b->owners, NULL);
}

/*
 * A bounce whose share did not come back: never freed while the secure VM
 * may still read it; retried as the heaps retry their quarantine (100 ms
 * doubling to 60 s, back to 100 ms once it is empty).
 */
static void hypheap_svm_bounce_quarantine(struct hypheap_svm_bounce *b,
					  int err)
{
	pr_warn_ratelimited("decrypt: %zu shared bytes did not come back (%d); quarantined\n",
			    b->len, err);
	atomic64_inc(&hypheap_svm_bounce_failures);
	atomic64_add(b->len >> PAGE_SHIFT, &hypheap_svm_bounce_quarantined);
	mutex_lock(&hypheap_svm_quarantine_lock);
	list_add_tail(&b->node, &hypheap_svm_quarantine);
	if (!hypheap_svm_retry_delay)
		hypheap_svm_retry_delay = HYPHEAP_SVM_RETRY_MIN;
	mod_delayed_work(system_wq, &hypheap_svm_retry, hypheap_svm_retry_delay);
	mutex_unlock(&hypheap_svm_quarantine_lock);
}

/**
 * hypheap_svm_retry_bounces() - one retry pass over the bounce quarantine
 *
 * Return: the bounces still quarantined.
 */
unsigned int hypheap_svm_retry_bounces(void)
{
	struct hypheap_conduit *c = hypheap_get_default_conduit();
	struct hypheap_svm_bounce *b, *tmp;
	unsigned int left = 0;

	mutex_lock(&hypheap_svm_quarantine_lock);
	list_for_each_entry_safe(b, tmp, &hypheap_svm_quarantine, node) {
		if (c && !hypheap_svm_bounce_reclaim(c, b)) {
			list_del(&b->node);
			atomic64_sub(b->len >> PAGE_SHIFT,
				     &hypheap_svm_bounce_quarantined);
			hypheap_svm_bounce_free(b);
		} else {
			atomic64_inc(&hypheap_svm_bounce_failures);
			left++;
		}
	}
	if (!left) {
		hypheap_svm_retry_delay = HYPHEAP_SVM_RETRY_MIN;
	} else {
		hypheap_svm_retry_delay = min_t(unsigned long,
						2 * hypheap_svm_retry_delay,
						HYPHEAP_SVM_RETRY_MAX);
		mod_delayed_work(system_wq, &hypheap_svm_retry,
				 hypheap_svm_retry_delay);
	}
	mutex_unlock(&hypheap_svm_quarantine_lock);
	if (c)
		hypheap_conduit_put(c);
	return left;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_svm_retry_bounces);

static void hypheap_svm_retry_work(struct work_struct *work)
{
	hypheap_svm_retry_bounces();
}

/* One DECRYPT request: @n bytes of @dcur from the bounce, at @offset. */
static int hypheap_svm_decrypt_chunk(struct hypheap_svm *svm,
				     struct hypheap_svm_bounce *b,
				     struct hypheap_svm_cursor *dcur, size_t n,
				     const u8 iv[8], u64 offset, long *status)
{
	struct hypheap_svm_cursor bcur;
	struct hypheap_svm_req req;
	int ret;

	ret = hypheap_svm_req_start(svm, &req, HYPHEAP_SVM_OP_DECRYPT, false);
	if (ret)
		return ret;
	memcpy(req.args->iv, iv, sizeof(req.args->iv));
	hypheap_svm_cursor_init(&bcur, &b->sgt, false, n);
	if (hypheap_svm_take(&req, false, &bcur, n, HYPHEAP_SVM_BOUNCE_RUNS) != n ||
	    hypheap_svm_take(&req, true, dcur, n, HYPHEAP_SVM_ARGS_MAX_RANGES -
				  HYPHEAP_SVM_BOUNCE_RUNS) != n) {
		hypheap_svm_req_abort(&req);
		return -EINVAL;
	}
	return hypheap_svm_req_send(svm, &req, offset, 0, NULL, status);
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
 * The ciphertext goes a chunk at a time through pages shared with the
 * secure VM for the call (each request carries its offset in the stream).
 * Pages whose share cannot be taken back are quarantined, never freed
 * while the secure VM could still read them, and retried.
 *
 * Return: 0 or an errno.
 */
int hypheap_svm_decrypt(struct hypheap_svm *svm, struct iov_iter *src,
			struct dma_buf *dst, const u8 iv[8], long *status)
{
	struct hypheap_buffer *buf = hypheap_svm_buffer(dst);
	size_t len = iov_iter_count(src);
	struct hypheap_svm_cursor dcur, probe;
	struct hypheap_svm_bounce *b;
	struct hypheap_conduit *c;
	u64 offset = 0;
	long cap;
	int ret, back;

	*status = HYPHEAP_SVM_STATUS_NONE;
	if (!buf || !len || len > buf->mem.len || !PAGE_ALIGNED(len))
		return -EINVAL;
	c = hypheap_get_default_conduit();
	if (!c)
		return -ENODEV;
	ret = -ENOMEM;
	b = kzalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);
	if (!b)
		goto out_put;
	cap = hypheap_svm_bounce_alloc(&b->sgt,
				       min_t(size_t, len,
					     HYPHEAP_SVM_CHUNK_BYTES));
	if (cap < 0) {
		kfree(b);
		ret = cap;
		goto out_put;
	}
	b->len = cap;
	b->owners = HYPHEAP_SVM_SHARED_BY;
	ret = hypheap_lend_table(c, &b->sgt, &hypheap_svm_host_rwx,
				 hypheap_svm_share_dst,
				 ARRAY_SIZE(hypheap_svm_share_dst), NULL);
	if (ret == -ENOTRECOVERABLE) {
		b->owners = 0;
		goto out_reclaim;
	}
	if (ret) {
		hypheap_svm_bounce_free(b);
		goto out_put;
	}
#if IS_ENABLED(CONFIG_KUNIT)
	if (hypheap_svm_test_hooks.bounce_shared)
		hypheap_svm_test_hooks.bounce_shared(&b->sgt);
#endif

	hypheap_svm_cursor_init(&dcur, &buf->mem.sgt, buf->mem.pageless, len);
	while (dcur.left) {
		size_t n;

		probe = dcur;
		n = hypheap_svm_take(NULL, true, &probe, cap,
				     HYPHEAP_SVM_ARGS_MAX_RANGES -
				     HYPHEAP_SVM_BOUNCE_RUNS);
		ret = n ? hypheap_svm_bounce_fill(&b->sgt, src, n) : -EINVAL;
		if (!ret)
			ret = hypheap_svm_decrypt_chunk(svm, b, &dcur, n, iv,
							offset, status);
		if (ret)
			break;
		offset += n;
		if (dcur.left) {
			ret = hypheap_svm_between_chunks(false);
			if (ret)
				break;
		}
	}

out_reclaim:
	back = hypheap_svm_bounce_reclaim(c, b);
	if (back) {
		hypheap_svm_bounce_quarantine(b, back);
		ret = ret ?: back;
	} else {
		hypheap_svm_bounce_free(b);
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
	info->overlapped = data[4];
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
 * @partly: a PIN or UNPIN failed and could not be undone: some of its pages
 *	are pinned, hypheap_svm_unpin_all() takes them
 */
struct hypheap_svm_pinned {
	struct list_head node;
	struct dma_buf *dmabuf;
	bool partly;
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
		if (ret && ret != -ENOTRECOVERABLE) {
			kfree(p);
			goto out;
		}
		/* partly pinned: kept, so that the file's close unpins it */
		p->partly = ret;
		get_dma_buf(dmabuf);
		p->dmabuf = dmabuf;
		list_add(&p->node, &f->pins);
	} else {
		/* not this file's pin: another opener's, or none */
		ret = -EPERM;
		if (!p)
			goto out;
		if (p->partly)
			ret = hypheap_svm_unpin_all(svm, dmabuf);
		else
			ret = hypheap_svm_unpin(svm, dmabuf, status);
		if (ret == -ENOTRECOVERABLE)
			p->partly = true;
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
		int ret = 0;

		/* an aborted partition dropped its pins itself */
		if (svm && (p->partly ||
			    hypheap_svm_unpin(svm, p->dmabuf, &status)))
			ret = hypheap_svm_unpin_all(svm, p->dmabuf);
		if (ret && ret != -ECANCELED)
			pr_warn("a buffer stays pinned at close: %d\n", ret);
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
	sema_init(&svm->streams, HYPHEAP_SVM_HASH_PER_CLIENT);
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

static int hypheap_svm_debugfs_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "bounce_pages_quarantined: %lld\n",
		   atomic64_read(&hypheap_svm_bounce_quarantined));
	seq_printf(m, "bounce_reclaim_failures: %lld\n",
		   atomic64_read(&hypheap_svm_bounce_failures));
	seq_printf(m, "hash_streams_open: %lld\n",
		   atomic64_read(&hypheap_svm_streams_open));
	seq_printf(m, "hash_streams_lost: %lld\n",
		   atomic64_read(&hypheap_svm_streams_lost));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hypheap_svm_debugfs);

static struct dentry *hypheap_svm_debugfs_file;

/**
 * hypheap_svm_stat() - a counter of hypheap/svm in debugfs, for tests
 * @which: 0 bounce pages quarantined, 1 bounce reclaim failures, 2 HASH
 *	streams open, 3 HASH streams lost
 *
 * Return: its value.
 */
s64 hypheap_svm_stat(unsigned int which)
{
	atomic64_t *v[] = {
		&hypheap_svm_bounce_quarantined, &hypheap_svm_bounce_failures,
		&hypheap_svm_streams_open, &hypheap_svm_streams_lost,
	};

	return which < ARRAY_SIZE(v) ? atomic64_read(v[which]) : 0;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_svm_stat);

/**
 * hypheap_svm_init() - register the FF-A driver and /dev/hypheap-svm
 *
 * Without FF-A (a firmware or hypervisor that does not speak it, so Linux's
 * driver gave up) the heaps still work: the client is left out, logged.
 */
void hypheap_svm_init(void)
{
	struct dentry *root;
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
	root = debugfs_lookup("hypheap", NULL);
	hypheap_svm_debugfs_file = debugfs_create_file("svm", 0400, root, NULL,
						       &hypheap_svm_debugfs_fops);
	dput(root);
}

void hypheap_svm_exit(void)
{
	struct hypheap_svm_bounce *b, *tmp;

	if (!hypheap_svm_registered)
		return;
	debugfs_remove(hypheap_svm_debugfs_file);
	misc_deregister(&hypheap_svm_misc);
	ffa_unregister(&hypheap_svm_driver);
	cancel_delayed_work_sync(&hypheap_svm_retry);
	hypheap_svm_retry_bounces();
	cancel_delayed_work_sync(&hypheap_svm_retry);
	/* still shared: never given back to the page allocator */
	list_for_each_entry_safe(b, tmp, &hypheap_svm_quarantine, node) {
		pr_warn("a DECRYPT bounce of %zu bytes stays shared; leaking it\n",
			b->len);
		list_del(&b->node);
	}
}

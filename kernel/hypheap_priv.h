/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hypheap internals shared by the files of hypheap.ko and its KUnit tests.
 *
 * Objects and who holds them:
 *  - a heap (struct hypheap_heap) lives as long as its dma-heap, which in
 *    Linux 6.1 is forever once registered; it points at one backend or at
 *    none (backend gone: allocation fails with -ENODEV);
 *  - a backend (struct hypheap_backend) is reference counted: the heap
 *    holds one reference, every live or quarantined buffer holds one, so a
 *    buffer is always reclaimed through the backend that restricted it;
 *  - a conduit (struct hypheap_conduit) is one way to reach the hypervisor
 *    (a transport and its descriptor memory); the hyp backend and the
 *    global hypheap_assign_mem() entry each hold a reference.
 */
#ifndef _HYPHEAP_PRIV_H
#define _HYPHEAP_PRIV_H

#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/shrinker.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "hypheap.h"

struct dentry;
struct device;
struct device_node;
struct dma_buf;
struct dma_heap;
struct ffa_device;
struct hypheap_buffer;
struct hypheap_mem;
struct seq_file;

/* Destinations of one assignment. */
#define HYPHEAP_MAX_DEST	HYPHEAP_DESC_MAX_DESTS

/* ---- statistics (hypheap_debugfs.c) ---- */

/**
 * enum hypheap_stat - counters shown in debugfs
 * @HYPHEAP_STAT_LIVE_BUFFERS: buffers allocated and not yet released
 * @HYPHEAP_STAT_LIVE_BYTES: bytes of those buffers
 * @HYPHEAP_STAT_PAGES_ASSIGNED: pages now assigned away from the host
 * @HYPHEAP_STAT_PAGES_QUARANTINED: pages whose reclaim failed, held until a
 *	retry works
 * @HYPHEAP_STAT_HYPERCALLS: assign calls issued
 * @HYPHEAP_STAT_FAIL_EINVAL: failed operations, by errno, from here on
 * @HYPHEAP_STAT_FAIL_EPERM: see above
 * @HYPHEAP_STAT_FAIL_ENOMEM: see above
 * @HYPHEAP_STAT_FAIL_EBUSY: see above
 * @HYPHEAP_STAT_FAIL_EFAULT: see above
 * @HYPHEAP_STAT_FAIL_E2BIG: see above
 * @HYPHEAP_STAT_FAIL_EOPNOTSUPP: see above
 * @HYPHEAP_STAT_FAIL_EIO: see above
 * @HYPHEAP_STAT_FAIL_ENODEV: see above
 * @HYPHEAP_STAT_FAIL_OTHER: failures with any other errno
 * @HYPHEAP_STAT_HYP_NOT_SUPPORTED: calls the hypervisor refused, by the
 *	raw status it answered: %HYPHEAP_ERR_NOT_SUPPORTED
 * @HYPHEAP_STAT_HYP_BAD_VERSION: %HYPHEAP_ERR_BAD_VERSION
 * @HYPHEAP_STAT_HYP_DESC_ALIGN: %HYPHEAP_ERR_DESC_ALIGN
 * @HYPHEAP_STAT_HYP_DESC_NOT_HOST: %HYPHEAP_ERR_DESC_NOT_HOST
 * @HYPHEAP_STAT_HYP_DESC_LEN: %HYPHEAP_ERR_DESC_LEN
 * @HYPHEAP_STAT_HYP_DESC_RESERVED: %HYPHEAP_ERR_DESC_RESERVED
 * @HYPHEAP_STAT_HYP_RANGE_UNALIGNED: %HYPHEAP_ERR_RANGE_UNALIGNED
 * @HYPHEAP_STAT_HYP_RANGE_SIZE: %HYPHEAP_ERR_RANGE_SIZE
 * @HYPHEAP_STAT_HYP_OUTSIDE_RAM: %HYPHEAP_ERR_OUTSIDE_RAM
 * @HYPHEAP_STAT_HYP_PROTECTED: %HYPHEAP_ERR_PROTECTED
 * @HYPHEAP_STAT_HYP_OVERLAP: %HYPHEAP_ERR_OVERLAP
 * @HYPHEAP_STAT_HYP_STATE: %HYPHEAP_ERR_STATE
 * @HYPHEAP_STAT_HYP_UNKNOWN_VMID: %HYPHEAP_ERR_UNKNOWN_VMID
 * @HYPHEAP_STAT_HYP_PERMS: %HYPHEAP_ERR_PERMS
 * @HYPHEAP_STAT_HYP_DEST_SET: %HYPHEAP_ERR_DEST_SET
 * @HYPHEAP_STAT_HYP_NO_MEMORY: %HYPHEAP_ERR_NO_MEMORY
 * @HYPHEAP_STAT_HYP_BUSY: %HYPHEAP_ERR_BUSY
 * @HYPHEAP_STAT_HYP_STAT_INDEX: %HYPHEAP_ERR_STAT_INDEX
 * @HYPHEAP_STAT_HYP_NOT_MAPPED: %HYPHEAP_ERR_NOT_MAPPED (secure-VM calls only)
 * @HYPHEAP_STAT_HYP_HOST_ACCESS: %HYPHEAP_ERR_HOST_ACCESS (secure-VM calls only)
 * @HYPHEAP_STAT_HYP_MAILBOX: %HYPHEAP_ERR_MAILBOX
 * @HYPHEAP_STAT_HYP_FFA: %HYPHEAP_ERR_FFA
 * @HYPHEAP_STAT_HYP_TOKEN: %HYPHEAP_ERR_TOKEN
 * @HYPHEAP_STAT_HYP_PENDING: %HYPHEAP_ERR_PENDING
 * @HYPHEAP_STAT_HYP_PENDING_LIMIT: %HYPHEAP_ERR_PENDING_LIMIT
 * @HYPHEAP_STAT_HYP_OTHER: any status abi.h does not define
 * @HYPHEAP_NR_STATS: number of counters
 */
enum hypheap_stat {
	HYPHEAP_STAT_LIVE_BUFFERS,
	HYPHEAP_STAT_LIVE_BYTES,
	HYPHEAP_STAT_PAGES_ASSIGNED,
	HYPHEAP_STAT_PAGES_QUARANTINED,
	HYPHEAP_STAT_HYPERCALLS,
	HYPHEAP_STAT_FAIL_EINVAL,
	HYPHEAP_STAT_FAIL_EPERM,
	HYPHEAP_STAT_FAIL_ENOMEM,
	HYPHEAP_STAT_FAIL_EBUSY,
	HYPHEAP_STAT_FAIL_EFAULT,
	HYPHEAP_STAT_FAIL_E2BIG,
	HYPHEAP_STAT_FAIL_EOPNOTSUPP,
	HYPHEAP_STAT_FAIL_EIO,
	HYPHEAP_STAT_FAIL_ENODEV,
	HYPHEAP_STAT_FAIL_OTHER,
	HYPHEAP_STAT_HYP_NOT_SUPPORTED,
	HYPHEAP_STAT_HYP_BAD_VERSION,
	HYPHEAP_STAT_HYP_DESC_ALIGN,
	HYPHEAP_STAT_HYP_DESC_NOT_HOST,
	HYPHEAP_STAT_HYP_DESC_LEN,
	HYPHEAP_STAT_HYP_DESC_RESERVED,
	HYPHEAP_STAT_HYP_RANGE_UNALIGNED,
	HYPHEAP_STAT_HYP_RANGE_SIZE,
	HYPHEAP_STAT_HYP_OUTSIDE_RAM,
	HYPHEAP_STAT_HYP_PROTECTED,
	HYPHEAP_STAT_HYP_OVERLAP,
	HYPHEAP_STAT_HYP_STATE,
	HYPHEAP_STAT_HYP_UNKNOWN_VMID,
	HYPHEAP_STAT_HYP_PERMS,
	HYPHEAP_STAT_HYP_DEST_SET,
	HYPHEAP_STAT_HYP_NO_MEMORY,
	HYPHEAP_STAT_HYP_BUSY,
	HYPHEAP_STAT_HYP_STAT_INDEX,
	HYPHEAP_STAT_HYP_NOT_MAPPED,
	HYPHEAP_STAT_HYP_HOST_ACCESS,
	HYPHEAP_STAT_HYP_MAILBOX,
	HYPHEAP_STAT_HYP_FFA,
	HYPHEAP_STAT_HYP_TOKEN,
	HYPHEAP_STAT_HYP_PENDING,
	HYPHEAP_STAT_HYP_PENDING_LIMIT,
	HYPHEAP_STAT_HYP_OTHER,
	HYPHEAP_NR_STATS,
};

/**
 * struct hypheap_stats - one set of counters
 * @c: values, indexed by enum hypheap_stat
 */
struct hypheap_stats {
	atomic64_t c[HYPHEAP_NR_STATS];
};

extern struct hypheap_stats hypheap_total_stats;

enum hypheap_stat hypheap_fail_stat(int err);
enum hypheap_stat hypheap_hyp_fail_stat(long status);
void hypheap_stat_add(struct hypheap_stats *stats, enum hypheap_stat stat,
		      s64 delta);
void hypheap_stats_fail(struct hypheap_stats *stats, int err);
void hypheap_stats_hyp_fail(struct hypheap_stats *stats, long status);
s64 hypheap_stat_read(struct hypheap_stats *stats, enum hypheap_stat stat);

int hypheap_debugfs_init(void);
void hypheap_debugfs_exit(void);
struct hypheap_heap;
void hypheap_debugfs_add_heap(struct hypheap_heap *heap);

/* ---- VM permissions and source bitmaps (hypheap_assign.c) ---- */

int hypheap_vmperm_check(const struct hypheap_vmperm *vm, unsigned int cnt);
u64 hypheap_vmperm_bitmap(const struct hypheap_vmperm *vm, unsigned int cnt);

/* ---- ranges and batching (hypheap_assign.c) ---- */

/**
 * struct hypheap_range - one physically contiguous range
 * @base: physical address, page aligned
 * @size: bytes, a non-zero multiple of PAGE_SIZE
 */
struct hypheap_range {
	phys_addr_t base;
	u64 size;
};

/**
 * struct hypheap_range_iter - walks an sg_table as merged physical ranges
 * @sg: next entry to consume
 * @left: entries left, counting @sg
 * @pageless: the entries have no pages (struct hypheap_mem)
 */
struct hypheap_range_iter {
	struct scatterlist *sg;
	unsigned int left;
	bool pageless;
};

void hypheap_range_iter_init(struct hypheap_range_iter *it,
			     struct sg_table *sgt);
void hypheap_range_iter_init_mem(struct hypheap_range_iter *it,
				 struct hypheap_mem *mem);
unsigned int hypheap_range_iter_fill(struct hypheap_range_iter *it,
				     struct hypheap_range *r,
				     unsigned int max);

/**
 * struct hypheap_assign_req - one assign call as the transports see it
 * @srcvm: bitmap of the current owners
 * @dst: new owners and their permissions
 * @nr_dst: entries in @dst
 * @ranges: memory to assign
 * @nr_ranges: entries in @ranges
 */
struct hypheap_assign_req {
	u16 flags;	/* HYPHEAP_DESC_F_* */
	u64 srcvm;
	const struct hypheap_vmperm *dst;
	unsigned int nr_dst;
	const struct hypheap_range *ranges;
	unsigned int nr_ranges;
};

/* ---- transports and conduits (hypheap_transport.c and transports) ---- */

/**
 * struct hypheap_profile - one phase of the hypervisor's time profile
 * @ticks: counter ticks spent in the phase since boot
 * @times: how many times it was timed
 * @hz: counter ticks per second
 */
struct hypheap_profile {
	u64 ticks;
	u64 times;
	u64 hz;
};

int hypheap_hyp_profile(unsigned int phase, struct hypheap_profile *p,
			long *status);

struct hypheap_conduit;

/**
 * struct hypheap_transport_ops - how assign calls reach the hypervisor
 * @name: shown in logs and debugfs
 * @lends: a lend takes the pages away from the host (the host's CPUs
 *	cannot reach them until reclaimed); false: only sharing is offered
 *	and a lend answers -EOPNOTSUPP. Shown in debugfs hypheap/transport
 * @cleans_on_lend: who does the cache maintenance of a lend. True: the
 *	hypervisor cleans and invalidates every lent page to the point of
 *	coherency after unmapping it from the host (the hypheap ABI,
 *	docs/abi.md), so a dirty host line can never be written back over
 *	the borrower's data. False: the backend must clean the pages itself
 *	before the call, and the driver refuses to bind where its DMA API
 *	cannot (a dma-coherent or bounced device).
 * @assign: perform one request; all its ranges change owner or none does.
 *	Called with the conduit lock held. Returns 0 or a negative errno, and
 *	sets *@status to the hypervisor's raw answer when there was one (it
 *	is %HYPHEAP_OK on entry), or to %HYPHEAP_STATUS_NOT_SENT when it
 *	refused the request itself. A failure is taken to have changed
 *	nothing only with one of those; any other (a bare errno, a status
 *	abi.h does not define) has an unknown outcome.
 * @resume: continue what an earlier @assign left in progress, optional.
 *	Called with the conduit lock held, before a MEM_QUERY resync reads who
 *	owns what (pages of an operation in progress are nobody's to take).
 *	Returns 0 once nothing is left in progress, else an errno
 * @query: MEM_QUERY, optional; same return and @status convention. Counts
 *	in kernel pages (PAGE_SIZE), both @nr_pages and the answer's
 *	@q->pages; the transport converts to its ABI's unit
 * @stat: read one hypervisor counter, optional; same convention
 * @profile: read one phase of the hypervisor's time profile, optional; same
 *	convention
 * @show: print the transport's own state in debugfs hypheap/transport,
 *	optional
 * @destroy: free @priv, called when the last conduit reference goes
 */
struct hypheap_transport_ops {
	const char *name;
	bool lends;
	bool cleans_on_lend;
	int (*assign)(struct hypheap_conduit *c,
		      const struct hypheap_assign_req *req, long *status);
	int (*resume)(struct hypheap_conduit *c);
	int (*query)(struct hypheap_conduit *c, phys_addr_t addr,
		     u64 nr_pages, struct hypheap_query *q, long *status);
	int (*stat)(struct hypheap_conduit *c, unsigned int index, u64 *value,
		    long *status);
	int (*profile)(struct hypheap_conduit *c, unsigned int phase,
		       struct hypheap_profile *p, long *status);
	void (*show)(struct hypheap_conduit *c, struct seq_file *m);
	void (*destroy)(struct hypheap_conduit *c);
};

/**
 * struct hypheap_conduit - a transport instance and its bounded scratch
 * @ops: the transport
 * @priv: transport data (descriptor page, conduit method...)
 * @max_ranges: most ranges one @ops->assign call accepts
 * @lock: serialises calls and the use of @ranges
 * @ranges: scratch of @max_ranges entries, owned by the conduit
 * @ref: references (backends, the global assign entry)
 * @scrubs_in_place: the hypervisor takes MEM_ASSIGN {vm} -> {vm}, the scrub
 *	of a lend in place (ABI 1.8; hypheap_scrub_table())
 */
struct hypheap_conduit {
	const struct hypheap_transport_ops *ops;
	void *priv;
	unsigned int max_ranges;
	bool scrubs_in_place;
	struct mutex lock; /* serialises calls and @ranges */
	struct hypheap_range *ranges;
	struct kref ref;
};

struct hypheap_conduit *
hypheap_conduit_create(const struct hypheap_transport_ops *ops, void *priv,
		       unsigned int max_ranges);
void hypheap_conduit_get(struct hypheap_conduit *c);
void hypheap_conduit_put(struct hypheap_conduit *c);
void hypheap_set_default_conduit(struct hypheap_conduit *c);
struct hypheap_conduit *hypheap_get_default_conduit(void);

ssize_t hypheap_desc_encode(void *desc, size_t cap,
			    const struct hypheap_assign_req *req);
int hypheap_abi_errno(long status);
struct hypheap_conduit *hypheap_smccc_create(struct device *dev, bool hvc);
struct arm_smccc_res;
/* what stands in for HVC in a KUnit case (hypheap_smccc_create_fake()) */
typedef void (*hypheap_smccc_call_fn)(void *ctx, unsigned long fn,
				      unsigned long a1, unsigned long a2,
				      struct arm_smccc_res *res);
struct hypheap_conduit *hypheap_smccc_create_fake(struct device *dev,
						  hypheap_smccc_call_fn call,
						  void *ctx);
struct hypheap_conduit *hypheap_qcom_create(struct device *dev);
struct hypheap_conduit *hypheap_xen_create(struct device *dev);
int hypheap_xen_receiver_op(phys_addr_t addr, size_t size, u32 op, u32 arg,
			    u64 *sum);
int hypheap_xen_raw_request(u32 op, u32 flags, u32 arg, const u32 *refs,
			    unsigned int nr, u64 *sum);
int hypheap_xen_receiver_domid(void);
void hypheap_xen_log_phases(const char *why);

struct qcom_scm_vmperm;
typedef int (*hypheap_qcom_assign_fn)(phys_addr_t mem_addr, size_t mem_sz,
				      unsigned int *srcvm,
				      const struct qcom_scm_vmperm *newvm,
				      unsigned int dest_cnt);
int hypheap_qcom_assign_ranges(const struct hypheap_assign_req *req,
			       long *status, hypheap_qcom_assign_fn fn);

/*
 * What a transport sets *status to when it refused a request before
 * sending it: nothing changed. Not an abi.h status (those are <= 0, and
 * HYPHEAP_PREEMPTED, which no transport passes on).
 */
#define HYPHEAP_STATUS_NOT_SENT	LONG_MAX
/*
 * A call done in pieces (ABI 1.6) that failed after some piece changed
 * owner: only MEM_QUERY can tell which pages did.
 */
#define HYPHEAP_STATUS_PARTIAL	(LONG_MAX - 1)

bool hypheap_status_unchanged(long status);
int hypheap_lend_table(struct hypheap_conduit *c, struct sg_table *sgt,
		       const struct hypheap_vmperm *host,
		       const struct hypheap_vmperm *dst, unsigned int nr_dst,
		       struct hypheap_stats *stats);
int hypheap_scrub_table(struct hypheap_conduit *c, struct sg_table *sgt,
			const struct hypheap_vmperm *vm,
			struct hypheap_stats *stats);
int hypheap_reclaim_table(struct hypheap_conduit *c, struct sg_table *sgt,
			  const struct hypheap_vmperm *host, u64 lent_to,
			  u64 *owners, struct hypheap_stats *stats);
int hypheap_conduit_query(struct hypheap_conduit *c, phys_addr_t addr,
			  u64 nr_pages, struct hypheap_query *q, long *status);

/* ---- backends (hypheap_backend*.c) ---- */

struct hypheap_backend;

/**
 * struct hypheap_mem - a buffer's memory: all of a buffer a backend sees
 * @len: bytes, page aligned; set by the core before @alloc
 * @sgt: the memory, filled by the backend's @alloc. Either every entry has
 *	a page or none has (@pageless): a page-less entry is physical memory
 *	without struct page (a carve-out the kernel never mapped), with
 *	sg_page() NULL, the physical address in sg_dma_address() and the
 *	length in @length. The core never DMA-maps this table itself (it
 *	maps a copy per attachment), so its DMA address is free to carry the
 *	physical one; read it with hypheap_sg_phys().
 * @pageless: the entries of @sgt have no pages
 * @owners: bitmap of the VMs owning the memory while restricted; 0 when
 *	that is not known or not the same for every page (MEM_QUERY tells)
 * @dma: the backend's DMA handle of the memory, if it has one
 * @priv: backend data
 */
struct hypheap_mem {
	size_t len;
	struct sg_table sgt;
	bool pageless;
	u64 owners;
	dma_addr_t dma;
	void *priv;
};

/**
 * hypheap_sg_phys() - physical address of an entry of a buffer's table
 * @mem: the memory the entry belongs to
 * @sg: the entry
 *
 * Return: the address, for page-backed and page-less entries alike.
 */
static inline phys_addr_t hypheap_sg_phys(const struct hypheap_mem *mem,
					  struct scatterlist *sg)
{
	return mem->pageless ? (phys_addr_t)sg_dma_address(sg) : sg_phys(sg);
}

/**
 * struct hypheap_use - what a heap tells its backend about each buffer
 * @name: the heap's name, for logs
 * @dst: VMs the memory is for, and their permissions
 * @nr_dst: entries in @dst
 * @use_case: the heap's use case, HYPHEAP_USE_* (the FF-A memory tag of
 *	a backend that lends with FFA_MEM_LEND)
 * @stats: the heap's counters, for the hypervisor calls the backend makes
 */
struct hypheap_use {
	const char *name;
	const struct hypheap_vmperm *dst;
	unsigned int nr_dst;
	u32 use_case;
	struct hypheap_stats *stats;
};

/* Whether @use leaves @vmid (the host) among the owners: a share, not a lend. */
static inline bool hypheap_use_keeps(const struct hypheap_use *use, u32 vmid)
{
	unsigned int i;

	for (i = 0; i < use->nr_dst; i++)
		if (use->dst[i].vmid == vmid)
			return true;
	return false;
}

/*
 * Use cases, numbered as the upstream TEE heap numbers them (the FF-A
 * memory tag and the secure VM's name for a block): a heap's comes from
 * its name (hypheap_use_case()), or from its hypheap,use-case when the
 * name is not a use case's (hypheap_heap_use_case()).
 */
#define HYPHEAP_USE_NONE		0
#define HYPHEAP_USE_SECURE_VIDEO	1
#define HYPHEAP_USE_TRUSTED_UI		2
#define HYPHEAP_USE_SECURE_VIDEO_RECORD	3

u32 hypheap_use_case(const char *heap_name);
int hypheap_heap_use_case(const char *heap_name, const char *use_case);

/**
 * struct hypheap_backend_ops - what a heap needs from a memory provider
 * @alloc: fill @mem->sgt with @mem->len bytes for @use's VMs. The memory
 *	is host owned after it (the backend's @restrict_buf gives it away)
 *	or already theirs (a pool that lent it beforehand, a carve-out the
 *	secure VM owns); only the backend knows which.
 * @free: give @mem back to the backend; called after a successful
 *	@unrestrict_buf, or when @restrict_buf failed without
 *	-ENOTRECOVERABLE
 * @restrict_buf: make @mem the property of @use's VMs and set
 *	@mem->owners. On failure the memory must still be as @alloc left
 *	it, or -ENOTRECOVERABLE is returned and the core quarantines it.
 * @unrestrict_buf: undo @restrict_buf. On failure the core quarantines
 *	the buffer and calls this again later.
 * @destroy: the last reference is gone
 * @use_ok: optional; whether the backend can serve a heap of @use (its
 *	destinations and use case) at all. The probe refuses to bind a heap
 *	it returns false for, rather than fail its every allocation.
 *
 * A backend touches only what these hand it: the heap behind @use is not
 * its business. The core never looks at the pages of @mem: what it does
 * with the memory (mapping it for importers, the secure VM's requests,
 * debugfs) it does with hypheap_sg_phys(), so a page-less table works.
 */
struct hypheap_backend_ops {
	int (*alloc)(struct hypheap_backend *be, struct hypheap_mem *mem,
		     const struct hypheap_use *use);
	void (*free)(struct hypheap_backend *be, struct hypheap_mem *mem);
	int (*restrict_buf)(struct hypheap_backend *be, struct hypheap_mem *mem,
			    const struct hypheap_use *use);
	int (*unrestrict_buf)(struct hypheap_backend *be,
			      struct hypheap_mem *mem,
			      const struct hypheap_use *use);
	void (*destroy)(struct hypheap_backend *be);
	bool (*use_ok)(const struct hypheap_use *use);
};

/**
 * struct hypheap_backend - a memory provider bound to heaps
 * @ops: its operations
 * @name: shown in debugfs
 * @priv: provider data
 * @ref: the heaps using it and every buffer it still holds
 * @reserved_bytes: memory set aside for it at boot, that Linux lost
 *	whether used or not (a carve-out); 0 for memory taken on demand.
 *	Shown in each of its heaps' debugfs stats; read with READ_ONCE()
 */
struct hypheap_backend {
	const struct hypheap_backend_ops *ops;
	const char *name;
	void *priv;
	struct kref ref;
	u64 reserved_bytes;
};

void hypheap_backend_init(struct hypheap_backend *be,
			  const struct hypheap_backend_ops *ops,
			  const char *name, void *priv);
void hypheap_backend_get(struct hypheap_backend *be);
void hypheap_backend_put(struct hypheap_backend *be);

/*
 * What the backends that assign memory through a conduit share
 * (hypheap_backend.c): the hyp and cma backends.
 */

/**
 * struct hypheap_lender - lends a buffer's pages with MEM_ASSIGN
 * @conduit: the hypervisor (a reference)
 * @host: the host VM with full access, destination of reclaim
 */
struct hypheap_lender {
	struct hypheap_conduit *conduit;
	struct hypheap_vmperm host;
};

void hypheap_mark_offline(struct sg_table *sgt, bool offline);
int hypheap_lender_restrict(const struct hypheap_lender *l,
			    struct hypheap_mem *mem,
			    const struct hypheap_use *use);
int hypheap_lender_unrestrict(const struct hypheap_lender *l,
			      struct hypheap_mem *mem,
			      const struct hypheap_use *use);
bool hypheap_dma_cleans(struct device *dev);

struct hypheap_backend *hypheap_hyp_backend_create(struct device *dev,
						   struct hypheap_conduit *c,
						   u32 host_vmid);
struct hypheap_backend *hypheap_cma_backend_create(struct device *parent,
						   struct device_node *np,
						   struct hypheap_conduit *c,
						   u32 host_vmid);

/* ---- where a buffer's time goes (hypheap_core.c, trace hypheap_phase) ---- */

/**
 * enum hypheap_phase - the kernel's phases of a buffer's life
 * @HYPHEAP_PHASE_ALLOC: pages from the page allocator
 * @HYPHEAP_PHASE_ZERO: zeroing them
 * @HYPHEAP_PHASE_CLEAN: cleaning them to PoC (DMA API)
 * @HYPHEAP_PHASE_DESC: building a MEM_ASSIGN descriptor
 * @HYPHEAP_PHASE_HVC: the MEM_ASSIGN hypercall, as the kernel waits for it
 * @HYPHEAP_PHASE_FREE: pages back to the page allocator
 * @HYPHEAP_PHASE_POOL_SCRUB: a pool's zeroing of a freed buffer (worker,
 *	or the allocation that took it)
 */
enum hypheap_phase {
	HYPHEAP_PHASE_ALLOC,
	HYPHEAP_PHASE_ZERO,
	HYPHEAP_PHASE_CLEAN,
	HYPHEAP_PHASE_DESC,
	HYPHEAP_PHASE_HVC,
	HYPHEAP_PHASE_FREE,
	HYPHEAP_PHASE_POOL_SCRUB,
};

u64 hypheap_phase_begin(void);
void hypheap_phase_end(enum hypheap_phase phase, u64 begin, u64 bytes);
void hypheap_trace_pool(int what, struct hypheap_heap *heap, size_t len);

/* ---- heap pools (hypheap_pool.c) ---- */

struct hypheap_pool;

/**
 * struct hypheap_pool_ops - how a pool makes a freed buffer fit for reuse
 * @name: who zeroes, for debugfs
 * @scrub: zero every byte of @mem where only the heap's VMs can reach it
 *	(the host cannot touch the pages); may sleep. 0, or an errno: the
 *	buffer is then given back to the host (the hypervisor scrubs it);
 *	-EBUSY: the secure VM pins or holds a page
 * @refuses_busy: @scrub itself refuses a buffer the secure VM pins or
 *	holds, in the same step as the zeroing: the pool asks MEM_QUERY
 *	first only when this is false
 */
struct hypheap_pool_ops {
	const char *name;
	int (*scrub)(struct hypheap_pool *pool, struct hypheap_mem *mem);
	bool refuses_busy;
};

/**
 * struct hypheap_pool - freed buffers of a heap, kept lent for reuse
 * @heap: the heap it belongs to
 * @config_lock: serialises enable and disable
 * @lock: protects @be, @max_bytes, @bytes, @unscrubbed, @scrubbing,
 *	@flushing and the lists
 * @be: the backend whose buffers it keeps (a reference); NULL: disabled
 * @max_bytes: the most bytes it holds (hypheap,pool-bytes); 0: no put
 * @bytes: bytes it holds, on the lists or in the worker
 * @unscrubbed: bytes of those not zeroed yet (on @dirty or in the worker)
 * @scrubbing: buffers the worker is zeroing (on no list)
 * @taking: buffers allocations took off @dirty and are zeroing (on no
 *	list, not in @bytes); disable waits for none before it drops @conduit
 * @clean: zeroed buffers, oldest first (struct hypheap_buffer qnode)
 * @dirty: buffers waiting to be zeroed, oldest first
 * @scrub_work: zeroes @dirty, moves it to @clean; queued @zero_delay after
 *	a put, under @lock (no put queues it once @max_bytes is 0)
 * @zero_delay: jiffies a freed buffer waits for an allocation to take it
 *	(and zero it itself) before the worker zeroes it
 * @flushing: hypheap_pool_flush() calls in progress: the worker zeroes
 *	every buffer, however young
 * @ops: how it zeroes
 * @ops_priv: for @ops
 * @conduit: the hypervisor that lent the buffers (a reference), whose
 *	MEM_QUERY says whether the secure VM still pins or holds one
 * @shrinker: gives buffers back under memory pressure
 * @hits: allocations served from the pool
 * @misses: allocations the pool could not serve (enabled, same backend)
 * @waits: allocations that waited for the worker's zeroing
 * @puts: freed buffers it took
 * @refused: freed buffers it did not take (full, charged, owners unknown)
 * @shrinks: buffers it gave back to the host (shrinker, drain, disable)
 * @shrunk_pages: their pages
 * @scrub_failures: buffers the secure VM did not zero (given back)
 * @pinned: buffers given back because the secure VM pinned or held a page
 *	(or MEM_QUERY could not tell) when they were freed
 */
struct hypheap_pool {
	struct hypheap_heap *heap;
	struct mutex config_lock; /* serialises enable, disable */
	spinlock_t lock; /* protects the lists and sizes */
	struct hypheap_backend *be;
	u64 max_bytes;
	u64 bytes;
	u64 unscrubbed;
	unsigned int scrubbing;
	unsigned int taking;
	struct list_head clean;
	struct list_head dirty;
	struct delayed_work scrub_work;
	unsigned long zero_delay;
	unsigned int flushing;
	const struct hypheap_pool_ops *ops;
	void *ops_priv;
	struct hypheap_conduit *conduit;
	struct shrinker shrinker;
	atomic64_t hits;
	atomic64_t misses;
	atomic64_t waits;
	atomic64_t puts;
	atomic64_t refused;
	atomic64_t shrinks;
	atomic64_t shrunk_pages;
	atomic64_t scrub_failures;
	atomic64_t pinned;
};

void hypheap_pool_init(struct hypheap_pool *pool, struct hypheap_heap *heap);
int hypheap_pool_enable(struct hypheap_pool *pool, struct hypheap_backend *be,
			struct hypheap_conduit *c, u64 max_bytes,
			const struct hypheap_pool_ops *ops, void *priv);
void hypheap_pool_disable(struct hypheap_pool *pool);
struct hypheap_buffer *hypheap_pool_take(struct hypheap_pool *pool,
					 struct hypheap_backend *be,
					 size_t len);
bool hypheap_pool_put(struct hypheap_pool *pool, struct hypheap_buffer *buf);
unsigned long hypheap_pool_shrink(struct hypheap_pool *pool,
				  unsigned long pages);
void hypheap_pool_flush(struct hypheap_pool *pool);
unsigned long hypheap_pool_drain(struct hypheap_pool *pool);
void hypheap_pool_show(struct seq_file *m, struct hypheap_pool *pool);
extern const struct hypheap_pool_ops hypheap_pool_hyp_ops;
#ifdef HYPHEAP_HAVE_FFA
extern const struct hypheap_pool_ops hypheap_pool_svm_ops;
#endif

/* ---- heaps and buffers (hypheap_core.c, hypheap_buffer.c) ---- */

/**
 * struct hypheap_heap - one protected heap
 * @name: dma-heap name, e.g. "protected,secure-video"
 * @dst: destination VMs of every buffer of this heap
 * @nr_dst: entries in @dst
 * @lock: protects @backend
 * @backend: current memory provider, NULL when it is gone
 * @dma_heap: the registered dma-heap, NULL for unregistered (test) heaps
 * @stats: counters
 * @use: what its backend is told of each buffer (points at @name, @dst,
 *	@stats)
 * @limit: most bytes its buffers may hold at once, quarantined ones
 *	included (docs/dt-binding.md, hypheap,max-bytes)
 * @charged: bytes its buffers hold now: allocated and not yet freed
 * @qlock: protects @quarantine and @retry_delay
 * @quarantine: buffers whose reclaim failed
 * @retry_delay: next retry delay, in jiffies
 * @retry_min: first retry delay, and the delay once a pass empties the
 *	quarantine
 * @retry_max: the delay doubles up to this
 * @retry_work: retries reclaim of @quarantine
 * @buffers_lock: protects @buffers
 * @buffers: live (allocated, not yet released) buffers
 * @node: entry in the list of registered heaps
 * @debugfs: this heap's debugfs directory
 * @pool: freed buffers kept lent for reuse (disabled unless the DT asks)
 */
struct hypheap_heap {
	const char *name;
	struct hypheap_vmperm dst[HYPHEAP_MAX_DEST];
	unsigned int nr_dst;
	struct mutex lock; /* protects @backend */
	struct hypheap_backend *backend;
	struct dma_heap *dma_heap;
	struct hypheap_stats stats;
	struct hypheap_use use;
	u64 limit;
	atomic64_t charged;
	spinlock_t qlock; /* protects @quarantine, @retry_delay */
	struct list_head quarantine;
	unsigned long retry_delay;
	unsigned long retry_min;
	unsigned long retry_max;
	struct delayed_work retry_work;
	struct mutex buffers_lock; /* protects @buffers */
	struct list_head buffers;
	struct list_head node;
	struct dentry *debugfs;
	struct hypheap_pool pool;
};

/**
 * struct hypheap_buffer - one allocation
 * @heap: the heap it came from
 * @backend: the provider that holds its memory (a reference)
 * @mem: the memory, as the backend made it; its len is the buffer's size
 * @qnode: entry in the heap's quarantine, or in its pool's lists
 * @lnode: entry in the heap's live buffers
 * @ino: inode number of the dma-buf file, 0 until exported
 * @retries: failed reclaim attempts
 * @pooled_at: jiffies when its pool took it, while it waits to be zeroed
 */
struct hypheap_buffer {
	struct hypheap_heap *heap;
	struct hypheap_backend *backend;
	struct hypheap_mem mem;
	struct list_head qnode;
	struct list_head lnode;
	unsigned long ino;
	unsigned int retries;
	unsigned long pooled_at;
};

int hypheap_heap_dst_check(const struct hypheap_vmperm *dst,
			   unsigned int nr_dst, u32 host_vmid);
struct hypheap_heap *hypheap_heap_create(const char *name,
					 const struct hypheap_vmperm *dst,
					 unsigned int nr_dst, u32 host_vmid);
int hypheap_heap_destroy(struct hypheap_heap *heap);
int hypheap_heap_register(struct hypheap_heap *heap);
struct hypheap_heap *hypheap_heap_find(const char *name);
void hypheap_heaps_quiesce(void);
void hypheap_heap_set_backend(struct hypheap_heap *heap,
			      struct hypheap_backend *be);
u64 hypheap_default_limit(void);
unsigned int hypheap_heap_retry_quarantine(struct hypheap_heap *heap);

struct hypheap_buffer *hypheap_buffer_alloc(struct hypheap_heap *heap,
					    size_t len);
void hypheap_buffer_release(struct hypheap_buffer *buf);
void hypheap_buffer_reclaim(struct hypheap_buffer *buf);
struct dma_buf *hypheap_buffer_export(struct hypheap_buffer *buf,
				      u32 fd_flags);
struct hypheap_buffer *hypheap_buffer_of(struct dma_buf *dmabuf);

/* ---- secure-VM client (hypheap_svm.c) ---- */

#ifdef HYPHEAP_HAVE_FFA
void hypheap_svm_init(void);
void hypheap_svm_exit(void);
#else
static inline void hypheap_svm_init(void)
{
}

static inline void hypheap_svm_exit(void)
{
}
#endif
int hypheap_svm_direct(struct hypheap_svm *svm, u64 data[5], long *status);
struct ffa_device *hypheap_svm_ffa(struct hypheap_svm *svm);

/* ---- the secure VM's protected memory (hypheap_svm_protmem.c) ---- */

/**
 * struct hypheap_protmem_config - what the secure VM wants lent
 * @min_size: bytes of the smallest block
 * @align: alignment of a block (physical address and size), a power of 2
 * @receiver: FF-A endpoint id of the borrower
 * @perms: its FF-A access permissions
 */
struct hypheap_protmem_config {
	u64 min_size;
	u64 align;
	u16 receiver;
	u8 perms;
};

int hypheap_svm_protmem_config(struct hypheap_svm *svm, u32 use_case,
			       struct hypheap_protmem_config *cfg,
			       long *status);
int hypheap_svm_protmem_lend(struct hypheap_svm *svm,
			     const struct hypheap_protmem_config *cfg,
			     struct sg_table *sgt, u32 use_case, u64 *handle);
int hypheap_svm_protmem_assign(struct hypheap_svm *svm, u64 handle,
			       u32 use_case, long *status);
int hypheap_svm_protmem_release(struct hypheap_svm *svm, u64 handle,
				long *status);
int hypheap_svm_protmem_reclaim(struct hypheap_svm *svm, u64 handle);
int hypheap_svm_fill_mem(struct hypheap_svm *svm, struct hypheap_mem *mem,
			 u8 pattern, bool cleanup, long *status);

/**
 * struct hypheap_ffa_counters - what an ffa-lend backend did
 * @lends: blocks lent (memory_lend() succeeded)
 * @reclaims: blocks reclaimed and freed
 * @lend_failures: memory_lend() failures
 * @assign_failures: PROTMEM_ASSIGN failures (the block is then reclaimed)
 * @release_failures: PROTMEM_RELEASE failures
 * @reclaim_failures: memory_reclaim() failures
 * @quarantined: blocks quarantined now
 * @slices_zeroed: freed buffers' slices the secure VM zeroed for reuse
 * @zero_failures: slices it did not: their block is sealed (takes no new
 *	buffer) until its last buffer goes and the hypervisor scrubs it on
 *	reclaim
 */
struct hypheap_ffa_counters {
	atomic64_t lends;
	atomic64_t reclaims;
	atomic64_t lend_failures;
	atomic64_t assign_failures;
	atomic64_t release_failures;
	atomic64_t reclaim_failures;
	atomic64_t quarantined;
	atomic64_t slices_zeroed;
	atomic64_t zero_failures;
};

#ifdef HYPHEAP_HAVE_FFA
struct hypheap_backend *hypheap_ffa_lend_backend_create(struct device *parent,
							struct device_node *np);
struct hypheap_ffa_counters *hypheap_ffa_lend_counters(struct hypheap_backend *be);
#else
static inline struct hypheap_backend *
hypheap_ffa_lend_backend_create(struct device *parent, struct device_node *np)
{
	return ERR_PTR(-EOPNOTSUPP);
}
#endif

unsigned int hypheap_svm_retry_bounces(void);
s64 hypheap_svm_stat(unsigned int which);
/**
 * struct hypheap_svm_test_hooks - fault injection for KUnit builds
 * @bounce_shared: runs once a DECRYPT's bounce is shared (a test makes the
 *	secure VM pin it, so that its reclaim fails)
 * @pin_chunk_done: runs after each chunk of a PIN (a test unpins a page of
 *	it behind the client's back, so that the rollback meets it)
 * @fill_refused: if it returns an errno, hypheap_svm_fill_mem() returns it
 *	without asking the secure VM (as a FILL the secure VM refused)
 */
struct hypheap_svm_test_hooks {
	void (*bounce_shared)(struct sg_table *sgt);
	void (*pin_chunk_done)(unsigned int chunk);
	int (*fill_refused)(struct hypheap_mem *mem);
};

extern struct hypheap_svm_test_hooks hypheap_svm_test_hooks;

/* ---- the secure VM's carve-out (hypheap_backend_carveout.c) ---- */

/**
 * struct hypheap_carveout_counters - what a carveout backend did
 * @allocs: buffers CARVEOUT_ALLOC gave
 * @alloc_failures: CARVEOUT_ALLOC refusals
 * @frees: buffers CARVEOUT_FREE took back (at once or on a retry)
 * @free_failures: CARVEOUT_FREE refusals (the buffer is then quarantined)
 * @quarantined: buffers quarantined now
 */
struct hypheap_carveout_counters {
	atomic64_t allocs;
	atomic64_t alloc_failures;
	atomic64_t frees;
	atomic64_t free_failures;
	atomic64_t quarantined;
};

int hypheap_svm_carveout_info(struct hypheap_svm *svm, phys_addr_t *base,
			      u64 *size, u64 *allocated, long *status);
int hypheap_svm_carveout_alloc(struct hypheap_svm *svm, size_t len,
			       u32 use_case, phys_addr_t *base, long *status);
int hypheap_svm_carveout_free(struct hypheap_svm *svm, phys_addr_t base,
			      long *status);

#ifdef HYPHEAP_HAVE_FFA
struct hypheap_backend *hypheap_carveout_backend_create(void);
struct hypheap_carveout_counters *
hypheap_carveout_counters(struct hypheap_backend *be);
#else
static inline struct hypheap_backend *hypheap_carveout_backend_create(void)
{
	return ERR_PTR(-EOPNOTSUPP);
}
#endif

/* ---- platform driver (hypheap_probe.c) ---- */

int hypheap_probe_init(void);
void hypheap_probe_exit(void);

#endif /* _HYPHEAP_PRIV_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap assign_mem: move ownership of memory between VMs.
 *
 * hypheap_assign_mem() has the semantics of qcom_scm_assign_mem(): *srcvm
 * is the bitmap of the current owners and, on success, becomes the bitmap
 * of the new ones; giving memory back is assigning it to the host again.
 * hypheap_lend_table() and hypheap_reclaim_table() do the same for a whole
 * sg_table, merging physically contiguous entries and packing as many
 * ranges into each call as the conduit takes, so an ordinary buffer costs
 * a single call each way. When a call fails part way, or its outcome is
 * unknown, MEM_QUERY says which pages the VMs own and exactly those are
 * reclaimed; a page that came back to the host is never lent again.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/bitops.h>
#include <linux/err.h>
#include <linux/export.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>

#include "hypheap_priv.h"

static DEFINE_MUTEX(hypheap_default_lock);
static struct hypheap_conduit *hypheap_default;

/**
 * hypheap_vmperm_check() - validate a destination list
 * @vm: destinations
 * @cnt: number of entries in @vm
 *
 * Return: 0 if there are 1 to %HYPHEAP_MAX_DEST entries, each with a VM id
 * below %HYPHEAP_VMID_LIMIT, appearing once, and a non-zero subset of
 * %HYPHEAP_PERM_RWX; -EINVAL otherwise.
 */
int hypheap_vmperm_check(const struct hypheap_vmperm *vm, unsigned int cnt)
{
	u64 seen = 0;
	unsigned int i;

	if (!vm || !cnt || cnt > HYPHEAP_MAX_DEST)
		return -EINVAL;

	for (i = 0; i < cnt; i++) {
		if (vm[i].vmid >= HYPHEAP_VMID_LIMIT)
			return -EINVAL;
		if (!vm[i].perms || vm[i].perms & ~HYPHEAP_PERM_RWX)
			return -EINVAL;
		if (seen & BIT_ULL(vm[i].vmid))
			return -EINVAL;
		seen |= BIT_ULL(vm[i].vmid);
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_vmperm_check);

/**
 * hypheap_vmperm_bitmap() - owners bitmap of a destination list
 * @vm: destinations, already checked by hypheap_vmperm_check()
 * @cnt: number of entries in @vm
 *
 * Return: the bitmap with one bit set per destination VM id.
 */
u64 hypheap_vmperm_bitmap(const struct hypheap_vmperm *vm, unsigned int cnt)
{
	u64 map = 0;
	unsigned int i;

	for (i = 0; i < cnt; i++)
		map |= BIT_ULL(vm[i].vmid);
	return map;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_vmperm_bitmap);

/**
 * hypheap_range_iter_init() - start walking an sg_table as ranges
 * @it: iterator
 * @sgt: table whose CPU entries (orig_nents) are walked
 */
void hypheap_range_iter_init(struct hypheap_range_iter *it,
			     struct sg_table *sgt)
{
	it->sg = sgt->sgl;
	it->left = sgt->orig_nents;
	it->pageless = false;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_range_iter_init);

/**
 * hypheap_range_iter_init_mem() - start walking a buffer's memory
 * @it: iterator
 * @mem: the memory, page-backed or page-less
 */
void hypheap_range_iter_init_mem(struct hypheap_range_iter *it,
				 struct hypheap_mem *mem)
{
	hypheap_range_iter_init(it, &mem->sgt);
	it->pageless = mem->pageless;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_range_iter_init_mem);

/**
 * hypheap_range_iter_fill() - take the next batch of ranges
 * @it: iterator
 * @r: output array
 * @max: entries available in @r
 *
 * Physically contiguous entries are merged into one range, also across
 * entries that are not adjacent in the table. An entry that would need an
 * (@max + 1)-th range is left for the next batch.
 *
 * Return: the number of ranges written, 0 once the table is consumed.
 */
unsigned int hypheap_range_iter_fill(struct hypheap_range_iter *it,
				     struct hypheap_range *r,
				     unsigned int max)
{
	unsigned int n = 0;

	for (; it->left; it->left--, it->sg = sg_next(it->sg)) {
		phys_addr_t pa = it->pageless ? sg_dma_address(it->sg) :
						sg_phys(it->sg);
		u64 len = it->sg->length;

		if (n && r[n - 1].base + r[n - 1].size == pa) {
			r[n - 1].size += len;
			continue;
		}
		if (n == max)
			break;
		r[n].base = pa;
		r[n].size = len;
		n++;
	}
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_range_iter_fill);

/**
 * hypheap_status_unchanged() - whether a failed assign left the pages alone
 * @status: what the transport set *status to
 *
 * Return: true for the hypheap ABI's own error codes (the hypervisor
 * validates a whole call before it changes anything, docs/abi.md) and for
 * a request the transport never sent; false for anything else, whose
 * outcome only MEM_QUERY can tell.
 */
bool hypheap_status_unchanged(long status)
{
	return status == HYPHEAP_STATUS_NOT_SENT ||
	       (status >= HYPHEAP_ERR_PENDING_LIMIT &&
		status <= HYPHEAP_ERR_NOT_SUPPORTED);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_status_unchanged);

/* One call; *@unchanged says whether a failure left every page alone. */
static int hypheap_call(struct hypheap_conduit *c,
			const struct hypheap_assign_req *req,
			struct hypheap_stats *stats, bool *unchanged)
{
	long status = HYPHEAP_OK;
	int ret;

	lockdep_assert_held(&c->lock);
	hypheap_stat_add(stats, HYPHEAP_STAT_HYPERCALLS, 1);
	ret = c->ops->assign(c, req, &status);
	/* failures_<errno> counts operations: the caller's, not each call */
	if (status != HYPHEAP_OK && status != HYPHEAP_STATUS_NOT_SENT &&
	    status != HYPHEAP_STATUS_PARTIAL)
		hypheap_stats_hyp_fail(stats, status);
	*unchanged = !ret || hypheap_status_unchanged(status);
	return ret;
}

/*
 * @req for every batch of @sgt's ranges, in order, stopping at the first
 * failure: @done counts the batches that succeeded, @unchanged says whether
 * the failed call changed nothing. Called with c->lock held.
 */
static int hypheap_call_batches(struct hypheap_conduit *c,
				struct hypheap_assign_req *req,
				struct sg_table *sgt, struct hypheap_stats *stats,
				bool *unchanged, unsigned int *done)
{
	struct hypheap_range_iter it;
	int ret;

	lockdep_assert_held(&c->lock);
	hypheap_range_iter_init(&it, sgt);
	while ((req->nr_ranges = hypheap_range_iter_fill(&it, c->ranges,
							 c->max_ranges))) {
		ret = hypheap_call(c, req, stats, unchanged);
		if (ret)
			return ret;
		(*done)++;
	}
	return 0;
}

/*
 * Give the first @batches batches of @sgt, which the calls said are owned
 * by @dst, back to @host, one call per batch. A batch that does not come
 * back is left as it is: a reclaim is never undone.
 */
static int hypheap_undo_lend(struct hypheap_conduit *c, struct sg_table *sgt,
			     unsigned int batches,
			     const struct hypheap_vmperm *host,
			     const struct hypheap_vmperm *dst,
			     unsigned int nr_dst, struct hypheap_stats *stats)
{
	struct hypheap_assign_req req = {
		.srcvm = hypheap_vmperm_bitmap(dst, nr_dst),
		.dst = host,
		.nr_dst = 1,
		.ranges = c->ranges,
	};
	struct hypheap_range_iter it;
	bool unchanged;
	int ret = 0;

	hypheap_range_iter_init(&it, sgt);
	while (batches--) {
		req.nr_ranges = hypheap_range_iter_fill(&it, c->ranges,
							c->max_ranges);
		if (hypheap_call(c, &req, stats, &unchanged))
			ret = -ENOTRECOVERABLE;
	}
	return ret;
}

/* Reclaim the @n runs gathered in @c->ranges, all owned by @srcvm. */
static int hypheap_resync_flush(struct hypheap_conduit *c, u64 srcvm,
				unsigned int n,
				const struct hypheap_vmperm *host,
				struct hypheap_stats *stats)
{
	struct hypheap_assign_req req = {
		.srcvm = srcvm,
		.dst = host,
		.nr_dst = 1,
		.ranges = c->ranges,
		.nr_ranges = n,
	};
	bool unchanged;

	return n ? hypheap_call(c, &req, stats, &unchanged) : 0;
}

/*
 * Ask the hypervisor who owns each page of @sgt and give back to @host
 * exactly the runs that VMs of @lent_to (alone or sharing with the host)
 * own, batched by owners. Nothing is ever assigned away from the host.
 *
 * Return: 0 when every page is the host's; otherwise an errno, with
 * whatever did come back kept by the host.
 */
static int hypheap_resync(struct hypheap_conduit *c, struct sg_table *sgt,
			  const struct hypheap_vmperm *host, u64 lent_to,
			  struct hypheap_stats *stats)
{
	u64 hostbit = HYPHEAP_VMID_BIT(host->vmid), srcvm = 0;
	struct hypheap_range_iter it;
	struct hypheap_range r;
	unsigned int n = 0;
	int ret = 0, err;

	lockdep_assert_held(&c->lock);
	/*
	 * An unfinished operation's pages would only answer PENDING. One that
	 * still cannot go on stays kept, and only its own pages stay pending:
	 * the rest of @sgt comes back regardless.
	 */
	if (c->ops->resume)
		c->ops->resume(c);
	hypheap_range_iter_init(&it, sgt);
	while (hypheap_range_iter_fill(&it, &r, 1)) {
		phys_addr_t pa = r.base;
		u64 left = r.size >> PAGE_SHIFT;

		while (left) {
			struct hypheap_query q = {};
			long status = HYPHEAP_OK;

			err = c->ops->query(c, pa, left, &q, &status);
			if (!err && (!q.pages || q.pages > left))
				err = -EPROTO;
			if (err) {
				/* the rest of this range stays as it is */
				ret = err;
				break;
			}
			if (q.owners & ~(lent_to | hostbit)) {
				/* not ours to take: someone else's pages */
				ret = -EPERM;
			} else if (q.owners != hostbit) {
				if (n && (srcvm != q.owners ||
					  n == c->max_ranges)) {
					err = hypheap_resync_flush(c, srcvm, n,
								   host, stats);
					ret = err ?: ret;
					n = 0;
				}
				srcvm = q.owners;
				c->ranges[n].base = pa;
				c->ranges[n].size = q.pages << PAGE_SHIFT;
				n++;
			}
			pa += q.pages << PAGE_SHIFT;
			left -= q.pages;
		}
	}
	err = hypheap_resync_flush(c, srcvm, n, host, stats);
	return err ?: ret;
}

/**
 * hypheap_lend_table() - assign every page of a host-owned sg_table away
 * @c: conduit to the hypervisor
 * @sgt: memory, owned by @host alone; each entry page aligned
 * @host: the host, with the permissions it gets back
 * @dst: new owners
 * @nr_dst: entries in @dst
 * @stats: heap counters to account calls and failures to (may be NULL)
 *
 * The table is sent in as few calls as the conduit allows. When a call
 * fails after others succeeded, or answers something the ABI does not
 * define (its outcome is unknown), what was lent is taken back: with
 * MEM_QUERY exactly the runs the hypervisor says @dst owns, without it the
 * batches the calls said were lent. A page given back is never lent again.
 *
 * Return: 0, every page is @dst's; a negative errno, every page is the
 * host's again; or -ENOTRECOVERABLE when some pages may not be the host's:
 * they must never be reused until hypheap_reclaim_table() with unknown
 * owners succeeds.
 */
int hypheap_lend_table(struct hypheap_conduit *c, struct sg_table *sgt,
		       const struct hypheap_vmperm *host,
		       const struct hypheap_vmperm *dst, unsigned int nr_dst,
		       struct hypheap_stats *stats)
{
	struct hypheap_assign_req req = {
		.srcvm = HYPHEAP_VMID_BIT(host->vmid),
		.dst = dst,
		.nr_dst = nr_dst,
		.ranges = c->ranges,
	};
	u64 lent_to = hypheap_vmperm_bitmap(dst, nr_dst);
	bool unchanged = true;
	unsigned int done = 0;
	int ret = 0, back;

	if (host->vmid >= HYPHEAP_VMID_LIMIT ||
	    hypheap_vmperm_check(dst, nr_dst))
		return -EINVAL;

	mutex_lock(&c->lock);
	ret = hypheap_call_batches(c, &req, sgt, stats, &unchanged, &done);
	if (!ret || (!done && unchanged)) {
		mutex_unlock(&c->lock);
		return ret;
	}

	if (c->ops->query)
		back = hypheap_resync(c, sgt, host, lent_to, stats);
	else if (unchanged)
		back = hypheap_undo_lend(c, sgt, done, host, dst, nr_dst, stats);
	else
		/* the failed batch may be partly lent and nothing can tell */
		back = -ENOTRECOVERABLE;
	mutex_unlock(&c->lock);
	return back ? -ENOTRECOVERABLE : ret;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_lend_table);

/**
 * hypheap_scrub_table() - zero a lent sg_table in place, keeping it lent
 * @c: conduit to the hypervisor
 * @sgt: memory lent to @vm alone (a secure VM); each entry page aligned
 * @vm: that VM, with the perms it was lent with
 * @stats: heap counters to account calls and failures to (may be NULL)
 *
 * MEM_ASSIGN with %HYPHEAP_DESC_F_SCRUB from {@vm} to {@vm} (ABI 1.8), in
 * as few calls as the conduit allows: the pages stay @vm's and mapped as
 * they are, and come out zeroed, cleaned and invalidated to PoC. No call
 * moves a page, whatever it answers, so a failure needs no undo: only some
 * pages may not be zeroed.
 *
 * Return: 0 when every page is zero; -EOPNOTSUPP when the hypervisor cannot;
 * -EBUSY when @vm pins or holds a page (or an operation in progress has
 * one, or every slot for one is taken), checked by the hypervisor in the
 * same call as the zeroing; otherwise the errno of the first failure.
 */
int hypheap_scrub_table(struct hypheap_conduit *c, struct sg_table *sgt,
			const struct hypheap_vmperm *vm,
			struct hypheap_stats *stats)
{
	struct hypheap_assign_req req = {
		.flags = HYPHEAP_DESC_F_SCRUB,
		.srcvm = HYPHEAP_VMID_BIT(vm->vmid),
		.dst = vm,
		.nr_dst = 1,
		.ranges = c->ranges,
	};
	unsigned int done = 0;
	bool unchanged;
	int ret;

	if (!c->scrubs_in_place)
		return -EOPNOTSUPP;
	if (hypheap_vmperm_check(vm, 1))
		return -EINVAL;
	mutex_lock(&c->lock);
	ret = hypheap_call_batches(c, &req, sgt, stats, &unchanged, &done);
	mutex_unlock(&c->lock);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_scrub_table);

/**
 * hypheap_reclaim_table() - give every page of an sg_table back to the host
 * @c: conduit to the hypervisor
 * @sgt: memory; each entry page aligned
 * @host: the host, destination of the reclaim (it gets RWX)
 * @lent_to: bitmap of the VMs the memory may have been lent to
 * @owners: in: the owners of every page, or 0 when they are not known (or
 *	not the same for every page); out: the host's bit on success, 0 once
 *	some pages came back and others did not, unchanged otherwise
 * @stats: heap counters to account calls and failures to (may be NULL)
 *
 * With known owners the table goes back in as few calls as the conduit
 * allows. With unknown owners MEM_QUERY says who owns what and exactly
 * those runs are reclaimed. A batch that came back is never lent again,
 * whatever fails after it.
 *
 * Return: 0 when every page is the host's; -ENOTRECOVERABLE for unknown
 * owners on a conduit that cannot query; otherwise the errno of the first
 * failure. A STATE answer (owners not as @owners says) is resolved at once
 * by MEM_QUERY where the conduit has it.
 */
int hypheap_reclaim_table(struct hypheap_conduit *c, struct sg_table *sgt,
			  const struct hypheap_vmperm *host, u64 lent_to,
			  u64 *owners, struct hypheap_stats *stats)
{
	u64 hostbit = HYPHEAP_VMID_BIT(host->vmid);
	struct hypheap_assign_req req = {
		.srcvm = *owners,
		.dst = host,
		.nr_dst = 1,
		.ranges = c->ranges,
	};
	bool unchanged = true;
	unsigned int done = 0;
	int ret = 0;

	if (host->vmid >= HYPHEAP_VMID_LIMIT || host->perms != HYPHEAP_PERM_RWX)
		return -EINVAL;
	if (*owners == hostbit)
		return 0;

	mutex_lock(&c->lock);
	if (!*owners) {
		ret = c->ops->query ? hypheap_resync(c, sgt, host, lent_to, stats) :
				      -ENOTRECOVERABLE;
	} else {
		ret = hypheap_call_batches(c, &req, sgt, stats, &unchanged,
					   &done);
		/*
		 * -EPERM (STATE): a page is not owned as @owners says, so the
		 * driver's books are wrong (another hypheap_assign_mem() user
		 * took it, or a driver bug). Retrying the same call would fail
		 * for ever: ask who owns what and reclaim exactly that.
		 */
		if (ret == -EPERM && c->ops->query) {
			ret = hypheap_resync(c, sgt, host, lent_to, stats);
			unchanged = false;
		}
	}
	mutex_unlock(&c->lock);

	if (!ret)
		*owners = hostbit;
	else if (done || !unchanged)
		*owners = 0;
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_reclaim_table);

/**
 * hypheap_set_default_conduit() - choose the conduit of hypheap_assign_mem()
 * @c: new conduit (a reference is taken), or NULL for none
 */
void hypheap_set_default_conduit(struct hypheap_conduit *c)
{
	struct hypheap_conduit *old;

	if (c)
		hypheap_conduit_get(c);
	mutex_lock(&hypheap_default_lock);
	old = hypheap_default;
	hypheap_default = c;
	mutex_unlock(&hypheap_default_lock);
	if (old)
		hypheap_conduit_put(old);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_set_default_conduit);

/**
 * hypheap_get_default_conduit() - the conduit of hypheap_assign_mem()
 *
 * Return: it, with a reference the caller puts, or NULL if no hypervisor
 * was found.
 */
struct hypheap_conduit *hypheap_get_default_conduit(void)
{
	struct hypheap_conduit *c;

	mutex_lock(&hypheap_default_lock);
	c = hypheap_default;
	if (c)
		hypheap_conduit_get(c);
	mutex_unlock(&hypheap_default_lock);
	return c;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_get_default_conduit);

/**
 * hypheap_assign_mem() - assign a physical range to a set of VMs
 * @mem_addr: start of the range, page aligned
 * @mem_sz: size of the range, a non-zero multiple of PAGE_SIZE
 * @srcvm: in: bitmap of the VM ids currently owning the range; out, on
 *	success: bitmap of the VM ids in @newvm, to pass back when reversing
 * @newvm: new owners and their permissions
 * @dest_cnt: entries in @newvm
 *
 * Mirrors qcom_scm_assign_mem(). To reclaim memory, assign it back to the
 * host VM with @srcvm as returned by the assignment.
 *
 * Return: 0 on success, -ENODEV if no hypervisor was found, -EINVAL for bad
 * arguments, the error the hypervisor returned when the ABI says nothing
 * changed, or -ENOTRECOVERABLE when the outcome is unknown (a status the ABI
 * does not define, a transport error): then the caller must not free the
 * range, and can ask hypheap_mem_query() who owns it.
 */
int hypheap_assign_mem(phys_addr_t mem_addr, size_t mem_sz, u64 *srcvm,
		       const struct hypheap_vmperm *newvm,
		       unsigned int dest_cnt)
{
	struct hypheap_range range = { .base = mem_addr, .size = mem_sz };
	struct hypheap_assign_req req = {
		.srcvm = *srcvm,
		.dst = newvm,
		.nr_dst = dest_cnt,
		.ranges = &range,
		.nr_ranges = 1,
	};
	struct hypheap_conduit *c;
	bool unchanged;
	int ret;

	if (!mem_sz || !PAGE_ALIGNED(mem_addr) || !PAGE_ALIGNED(mem_sz) ||
	    !*srcvm || hypheap_vmperm_check(newvm, dest_cnt))
		return -EINVAL;

	c = hypheap_get_default_conduit();
	if (!c)
		return -ENODEV;

	mutex_lock(&c->lock);
	ret = hypheap_call(c, &req, NULL, &unchanged);
	mutex_unlock(&c->lock);
	hypheap_conduit_put(c);
	if (ret && !unchanged)
		ret = -ENOTRECOVERABLE;
	if (ret)
		hypheap_stats_fail(NULL, ret);

	if (!ret)
		*srcvm = hypheap_vmperm_bitmap(newvm, dest_cnt);
	return ret;
}
EXPORT_SYMBOL_GPL(hypheap_assign_mem);

/**
 * hypheap_conduit_query() - MEM_QUERY through @c, after what it kept
 * @c: conduit
 * @addr: first page
 * @nr_pages: pages to look at, at least 1
 * @q: the answer, filled on success
 * @status: the raw status the hypervisor answered
 *
 * Gives an operation the transport kept in progress its chance to end
 * first, so that a caller told to ask after -ENOTRECOVERABLE is not answered
 * PENDING for ever on an idle conduit. If the conduit is busy, its call in
 * progress resumes them itself, so this never waits for it.
 *
 * Return: as hypheap_mem_query().
 */
int hypheap_conduit_query(struct hypheap_conduit *c, phys_addr_t addr,
			  u64 nr_pages, struct hypheap_query *q, long *status)
{
	if (!c->ops->query)
		return -EOPNOTSUPP;
	if (c->ops->resume && mutex_trylock(&c->lock)) {
		c->ops->resume(c);
		mutex_unlock(&c->lock);
	}
	return c->ops->query(c, addr, nr_pages, q, status);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_conduit_query);

/**
 * hypheap_mem_query() - ask the hypervisor who owns physical memory
 * @addr: first page, page aligned
 * @nr_pages: pages to look at, at least 1
 * @q: the answer, filled on success
 * @status: if not NULL, the raw status the hypervisor answered
 *	(%HYPHEAP_OK when the call was not made)
 *
 * The answer describes the first page and how many pages from @addr on
 * share its owners and state, so a range is owned uniformly exactly when
 * @q->pages equals @nr_pages.
 *
 * Return: 0, -EINVAL for bad arguments, -ENODEV without a hypervisor,
 * -EOPNOTSUPP if its transport cannot query, or the errno of the
 * hypervisor's error status.
 */
int hypheap_mem_query(phys_addr_t addr, u64 nr_pages,
		      struct hypheap_query *q, long *status)
{
	struct hypheap_conduit *c;
	long st = HYPHEAP_OK;
	int ret;

	if (status)
		*status = HYPHEAP_OK;
	if (!nr_pages || !PAGE_ALIGNED(addr))
		return -EINVAL;
	c = hypheap_get_default_conduit();
	if (!c)
		return -ENODEV;
	ret = hypheap_conduit_query(c, addr, nr_pages, q, &st);
	hypheap_conduit_put(c);
	if (status)
		*status = st;
	return ret;
}
EXPORT_SYMBOL_GPL(hypheap_mem_query);

/**
 * hypheap_hyp_stat() - read one of the hypervisor's own counters
 * @index: a HYPHEAP_STAT_* index of <hypheap/abi.h>
 * @value: the counter, set on success
 * @status: if not NULL, the raw status the hypervisor answered
 *	(%HYPHEAP_OK when the call was not made)
 *
 * Return: 0, -ENODEV without a hypervisor, -EOPNOTSUPP if its transport
 * has no counters, or the errno of the hypervisor's error status (-ERANGE
 * for an index it does not know).
 */
int hypheap_hyp_stat(unsigned int index, u64 *value, long *status)
{
	struct hypheap_conduit *c;
	long st = HYPHEAP_OK;
	int ret;

	c = hypheap_get_default_conduit();
	if (!c) {
		if (status)
			*status = st;
		return -ENODEV;
	}
	ret = c->ops->stat ? c->ops->stat(c, index, value, &st) : -EOPNOTSUPP;
	hypheap_conduit_put(c);
	if (status)
		*status = st;
	return ret;
}
EXPORT_SYMBOL_GPL(hypheap_hyp_stat);

/**
 * hypheap_hyp_profile() - read one phase of the hypervisor's time profile
 * @phase: a HYPHEAP_PROFILE_* index of <hypheap/abi.h>
 * @p: the phase's totals, set on success
 * @status: the raw status the hypervisor answered (%HYPHEAP_OK when the
 *	call was not made)
 *
 * Return: as hypheap_hyp_stat().
 */
int hypheap_hyp_profile(unsigned int phase, struct hypheap_profile *p,
			long *status)
{
	struct hypheap_conduit *c;
	int ret;

	*status = HYPHEAP_OK;
	c = hypheap_get_default_conduit();
	if (!c)
		return -ENODEV;
	ret = c->ops->profile ? c->ops->profile(c, phase, p, status) :
				-EOPNOTSUPP;
	hypheap_conduit_put(c);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_hyp_profile);

// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap assign_mem: move ownership of memory between VMs.
 *
 * hypheap_assign_mem() has the semantics of qcom_scm_assign_mem(): *srcvm
 * is the bitmap of the current owners and, on success, becomes the bitmap
 * of the new ones; giving memory back is assigning it to the host again.
 * hypheap_assign_table() does the same for a whole sg_table, merging
 * physically contiguous entries and packing as many ranges into each call
 * as the conduit takes, so an ordinary buffer costs a single call.
 */

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
 * hypheap_srcvm_to_vmperm() - expand an owners bitmap into destinations
 * @srcvm: owners bitmap
 * @perms: permissions every owner gets
 * @vm: output array
 * @max: entries available in @vm
 *
 * Used to undo an assignment: the old owners become the destinations.
 *
 * Return: the number of entries written, -EINVAL for an empty bitmap or
 * -E2BIG if it has more than @max bits set.
 */
int hypheap_srcvm_to_vmperm(u64 srcvm, u32 perms, struct hypheap_vmperm *vm,
			    unsigned int max)
{
	unsigned int n = 0;

	if (!srcvm)
		return -EINVAL;
	if (hweight64(srcvm) > max)
		return -E2BIG;

	for (; srcvm; srcvm &= srcvm - 1) {
		vm[n].vmid = __ffs64(srcvm);
		vm[n].perms = perms;
		n++;
	}
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_srcvm_to_vmperm);

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
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_range_iter_init);

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
		phys_addr_t pa = sg_phys(it->sg);
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

static int hypheap_call(struct hypheap_conduit *c,
			const struct hypheap_assign_req *req,
			struct hypheap_stats *stats)
{
	long status = HYPHEAP_OK;
	int ret;

	lockdep_assert_held(&c->lock);
	hypheap_stat_add(stats, HYPHEAP_STAT_HYPERCALLS, 1);
	ret = c->ops->assign(c, req, &status);
	if (ret)
		hypheap_stats_fail(stats, ret);
	if (status != HYPHEAP_OK)
		hypheap_stats_hyp_fail(stats, status);
	return ret;
}

/* Give the first @batches batches of @sgt back from @dst to @old. */
static int hypheap_assign_undo(struct hypheap_conduit *c,
			       struct sg_table *sgt, unsigned int batches,
			       const struct hypheap_vmperm *dst,
			       unsigned int nr_dst,
			       const struct hypheap_vmperm *old,
			       unsigned int nr_old,
			       struct hypheap_stats *stats)
{
	struct hypheap_assign_req req = {
		.srcvm = hypheap_vmperm_bitmap(dst, nr_dst),
		.dst = old,
		.nr_dst = nr_old,
		.ranges = c->ranges,
	};
	struct hypheap_range_iter it;
	int ret;

	hypheap_range_iter_init(&it, sgt);
	while (batches--) {
		req.nr_ranges = hypheap_range_iter_fill(&it, c->ranges,
							c->max_ranges);
		ret = hypheap_call(c, &req, stats);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * hypheap_assign_table() - assign every page of an sg_table
 * @c: conduit to the hypervisor
 * @sgt: memory; each entry page aligned
 * @srcvm: in: bitmap of the current owners; out, on success: bitmap of
 *	the VMs in @dst
 * @dst: new owners
 * @nr_dst: entries in @dst
 * @old: the current owners with their permissions, used to undo a partial
 *	assignment; NULL: every VM of @srcvm with %HYPHEAP_PERM_RWX
 * @nr_old: entries in @old
 * @stats: heap counters to account calls and failures to (may be NULL)
 *
 * The table is sent in as few calls as the conduit allows. When a call
 * fails, the batches already done are assigned back to the old owners, so
 * that on any error return the memory is owned as before.
 *
 * Return: 0 on success; a negative errno with ownership unchanged; or
 * -ENOTRECOVERABLE if undoing a partial assignment failed too, in which
 * case the state of the memory is unknown and it must never be reused.
 */
int hypheap_assign_table(struct hypheap_conduit *c, struct sg_table *sgt,
			 u64 *srcvm, const struct hypheap_vmperm *dst,
			 unsigned int nr_dst, const struct hypheap_vmperm *old,
			 unsigned int nr_old, struct hypheap_stats *stats)
{
	struct hypheap_vmperm owners[HYPHEAP_MAX_DEST];
	struct hypheap_assign_req req = {
		.srcvm = *srcvm,
		.dst = dst,
		.nr_dst = nr_dst,
		.ranges = c->ranges,
	};
	struct hypheap_range_iter it;
	unsigned int done = 0;
	int ret;

	if (!*srcvm || hypheap_vmperm_check(dst, nr_dst))
		return -EINVAL;
	if (!old) {
		ret = hypheap_srcvm_to_vmperm(*srcvm, HYPHEAP_PERM_RWX, owners,
					      ARRAY_SIZE(owners));
		if (ret < 0)
			return ret;
		old = owners;
		nr_old = ret;
	} else if (hypheap_vmperm_check(old, nr_old) ||
		   hypheap_vmperm_bitmap(old, nr_old) != *srcvm) {
		return -EINVAL;
	}

	mutex_lock(&c->lock);
	hypheap_range_iter_init(&it, sgt);
	ret = 0;
	while ((req.nr_ranges = hypheap_range_iter_fill(&it, c->ranges,
							c->max_ranges))) {
		ret = hypheap_call(c, &req, stats);
		if (ret)
			break;
		done++;
	}
	if (ret && done &&
	    hypheap_assign_undo(c, sgt, done, dst, nr_dst, old, nr_old, stats))
		ret = -ENOTRECOVERABLE;
	mutex_unlock(&c->lock);

	if (!ret)
		*srcvm = hypheap_vmperm_bitmap(dst, nr_dst);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_assign_table);

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
 * arguments, or the error the hypervisor returned (ownership unchanged).
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
	int ret;

	if (!mem_sz || !PAGE_ALIGNED(mem_addr) || !PAGE_ALIGNED(mem_sz) ||
	    !*srcvm || hypheap_vmperm_check(newvm, dest_cnt))
		return -EINVAL;

	c = hypheap_get_default_conduit();
	if (!c)
		return -ENODEV;

	mutex_lock(&c->lock);
	ret = hypheap_call(c, &req, NULL);
	mutex_unlock(&c->lock);
	hypheap_conduit_put(c);

	if (!ret)
		*srcvm = hypheap_vmperm_bitmap(newvm, dest_cnt);
	return ret;
}
EXPORT_SYMBOL_GPL(hypheap_assign_mem);

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
	ret = c->ops->query ? c->ops->query(c, addr, nr_pages, q, &st) :
			      -EOPNOTSUPP;
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

// SPDX-License-Identifier: GPL-2.0
/*
 * Heap pools: a freed buffer of a heap whose pool is enabled keeps its
 * pages lent to the heap's secure VM, and the next allocation of the same
 * size takes it back without a hypercall.
 *
 * The host never sees a pooled page: it stays in the secure VM's stage-2
 * (and PageOffline) from its first lend until the pool gives it back with
 * an ordinary reclaim, which the hypervisor scrubs. Before a pooled buffer
 * is handed out again it is zeroed where the host cannot write: by the
 * hypervisor in place (ABI 1.8), or by the secure VM's FILL on an older
 * one. A worker does it a little after the free, so that freeing stays
 * cheap and a buffer waiting for its next user is zeroed before that user
 * comes; an allocation that finds its size only among buffers not zeroed
 * yet zeroes one itself. A buffer that could not be zeroed is given back
 * to the host instead.
 *
 * Bounded by the heap's hypheap,pool-bytes (docs/dt-binding.md), emptied
 * under memory pressure by a shrinker, and counted in debugfs
 * (hypheap/<heap>/pool). Only buffers whose pages are charged to no memory
 * cgroup enter it, and only allocations that would charge none take from
 * it: a module cannot move a page's charge, and a container must not get
 * memory its memory.max would refuse, nor keep a charge for a buffer it
 * freed.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>

#include "hypheap_priv.h"

/*
 * How long a freed buffer waits before the worker zeroes it: at least one
 * whole tick. Freed and allocated again back to back (a codec cycling its
 * frames), it is zeroed by the allocation, on its own CPU; a worker woken
 * at once would take it first, on the other CPU, and the allocation would
 * wait for it and be woken, a hand-off that cost more than the zeroing of
 * a small buffer. A buffer idle for longer (the next frame is 16 ms away)
 * is zeroed before it is asked for.
 */
#define HYPHEAP_POOL_ZERO_DELAY_MS 2

/* Pages of the pooled buffers, held in the pool or by its worker. */
static unsigned long hypheap_pool_pages(struct hypheap_pool *pool)
{
	return READ_ONCE(pool->bytes) >> PAGE_SHIFT;
}

/*
 * Would the current task's pages be charged to a memory cgroup (one that
 * is not the root)? Then it must not take a pooled buffer, which nobody's
 * limit pays for.
 */
static bool hypheap_pool_task_charged(void)
{
#ifdef CONFIG_MEMCG
	struct mem_cgroup *memcg;
	bool charged;

	if (mem_cgroup_disabled())
		return false;
	memcg = get_mem_cgroup_from_mm(current->mm);
	if (!memcg)
		return false;
	charged = memcg->css.parent;
	css_put(&memcg->css);
	return charged;
#else
	return false;
#endif
}

/* Is any page of @mem charged to a memory cgroup? */
static bool hypheap_pool_mem_charged(struct hypheap_mem *mem)
{
#ifdef CONFIG_MEMCG
	struct scatterlist *sg;
	bool charged = false;
	unsigned int i;

	rcu_read_lock();
	for_each_sgtable_sg(&mem->sgt, sg, i)
		if (page_memcg_check(sg_page(sg))) {
			charged = true;
			break;
		}
	rcu_read_unlock();
	return charged;
#else
	return false;
#endif
}

/*
 * Does the secure VM still pin or hold a page of @mem? A buffer freed while
 * pinned is still in the secure VM's use (a pin outlives the buffer when its
 * owner did not unpin: an in-kernel user's bug, a file whose unpin failed at
 * close): zeroing it would write under that use, and handing it out again
 * would give one memory to two users. Asked once per freed buffer, before
 * it is zeroed (by the worker, or by an allocation that takes it off the
 * dirty list); only for a scrub that does not refuse such a buffer itself
 * (the FILL path); the host cannot pin a pooled buffer
 * (a pin names a live dma-buf), so the answer stays true until it is reused.
 * Return: 1 (pinned, held, or MEM_QUERY cannot tell), 0 (neither).
 */
static int hypheap_pool_mem_busy(struct hypheap_pool *pool,
				 struct hypheap_mem *mem)
{
	struct hypheap_conduit *c = pool->conduit;
	struct hypheap_range_iter it;
	struct hypheap_range r;

	if (!c->ops->query)
		return 1;
	hypheap_range_iter_init_mem(&it, mem);
	while (hypheap_range_iter_fill(&it, &r, 1)) {
		u64 left = r.size >> PAGE_SHIFT;
		phys_addr_t pa = r.base;

		while (left) {
			struct hypheap_query q = {};
			long status = HYPHEAP_OK;

			if (c->ops->query(c, pa, left, &q, &status) ||
			    !q.pages || q.pages > left ||
			    q.state & (HYPHEAP_STATE_F_PINNED |
				       HYPHEAP_STATE_F_HELD |
				       HYPHEAP_STATE_F_PENDING))
				return 1;
			pa += q.pages << PAGE_SHIFT;
			left -= q.pages;
		}
	}
	return 0;
}

/*
 * Give one pooled buffer back to the host through the core's own path
 * (reclaim, which the hypervisor scrubs, then free; quarantine if the
 * reclaim fails). The pool uncharged it from the heap when it took it;
 * the core uncharges again when it frees, or keeps the charge while the
 * buffer is quarantined.
 */
static void hypheap_pool_give_back(struct hypheap_pool *pool,
				   struct hypheap_buffer *buf)
{
	hypheap_trace_pool(0, pool->heap, buf->mem.len);
	atomic64_add(buf->mem.len, &pool->heap->charged);
	hypheap_buffer_reclaim(buf);
}

/*
 * Zero one buffer taken off the dirty list (by the worker, or by an
 * allocation that found it there). Return: 0, or why it was not zeroed
 * (-EBUSY: pinned, held or pending), counted.
 */
static int hypheap_pool_zero(struct hypheap_pool *pool,
			     struct hypheap_buffer *buf)
{
	u64 begin;
	int ret;

	if (!pool->ops->refuses_busy &&
	    hypheap_pool_mem_busy(pool, &buf->mem)) {
		ret = -EBUSY;
	} else {
		begin = hypheap_phase_begin();
		ret = pool->ops->scrub(pool, &buf->mem);
		hypheap_phase_end(HYPHEAP_PHASE_POOL_SCRUB, begin,
				  buf->mem.len);
	}
	if (ret == -EBUSY) {
		atomic64_inc(&pool->pinned);
	} else if (ret) {
		atomic64_inc(&pool->scrub_failures);
		pr_warn_ratelimited("%s: pool: %s did not zero a freed buffer (%d); giving it back\n",
				    pool->heap->name, pool->ops->name, ret);
	}
	return ret;
}

static void hypheap_pool_scrub_work(struct work_struct *work)
{
	struct hypheap_pool *pool = container_of(to_delayed_work(work),
						 struct hypheap_pool,
						 scrub_work);
	struct hypheap_buffer *buf;
	bool disabled;
	int ret;

	for (;;) {
		unsigned long now, due;

		spin_lock(&pool->lock);
		now = jiffies;
		buf = list_first_entry_or_null(&pool->dirty,
					       struct hypheap_buffer, qnode);
		due = buf ? buf->pooled_at + READ_ONCE(pool->zero_delay) : now;
		if (buf && pool->max_bytes && !pool->flushing &&
		    time_before(now, due)) {
			/* the oldest is still young: come back for it */
			queue_delayed_work(system_unbound_wq, &pool->scrub_work,
					   due - now);
			buf = NULL;
		} else if (buf) {
			list_del_init(&buf->qnode);
			pool->scrubbing++;
		}
		disabled = !pool->max_bytes;
		spin_unlock(&pool->lock);
		if (!buf)
			return;

		/* disabled: going back, and the reclaim scrubs it anyway */
		ret = disabled ? 0 : hypheap_pool_zero(pool, buf);
		spin_lock(&pool->lock);
		pool->scrubbing--;
		pool->unscrubbed -= buf->mem.len;
		/* never clean unless zeroed here, whatever max_bytes is now */
		if (!ret && !disabled && pool->max_bytes) {
			list_add_tail(&buf->qnode, &pool->clean);
			spin_unlock(&pool->lock);
			continue;
		}
		pool->bytes -= buf->mem.len;
		spin_unlock(&pool->lock);
		hypheap_pool_give_back(pool, buf);
	}
}

/**
 * hypheap_pool_init() - set up a heap's pool, disabled
 * @pool: the pool, in its heap
 * @heap: the heap
 */
void hypheap_pool_init(struct hypheap_pool *pool, struct hypheap_heap *heap)
{
	memset(pool, 0, sizeof(*pool));
	pool->heap = heap;
	spin_lock_init(&pool->lock);
	mutex_init(&pool->config_lock);
	INIT_LIST_HEAD(&pool->clean);
	INIT_LIST_HEAD(&pool->dirty);
	INIT_DELAYED_WORK(&pool->scrub_work, hypheap_pool_scrub_work);
	pool->zero_delay = msecs_to_jiffies(HYPHEAP_POOL_ZERO_DELAY_MS) + 1;
}

/**
 * hypheap_pool_take() - a pooled buffer for an allocation, if there is one
 * @pool: the heap's pool
 * @be: the backend the heap allocates from now
 * @len: bytes, page aligned
 *
 * Only a buffer of exactly @len bytes, from @be, zeroed before it is
 * returned. A zeroed one is taken first. Else one still waiting for the
 * worker is taken off the dirty list and zeroed here, by the allocating
 * task (see HYPHEAP_POOL_ZERO_DELAY_MS). Else, when the worker is zeroing
 * one, it is waited for once. Counts a hit or a miss whenever the pool is
 * enabled for @be, and each wait.
 *
 * Return: the buffer, still lent to the heap's VMs, not charged to the
 * heap; or NULL (the caller allocates and lends a new one).
 */
struct hypheap_buffer *hypheap_pool_take(struct hypheap_pool *pool,
					 struct hypheap_backend *be,
					 size_t len)
{
	struct hypheap_buffer *buf, *found = NULL, *dirty = NULL;
	bool waiting = false, waited = false;

	if (!READ_ONCE(pool->max_bytes) || READ_ONCE(pool->be) != be)
		return NULL;
	if (hypheap_pool_task_charged()) {
		atomic64_inc(&pool->misses);
		return NULL;
	}
again:
	spin_lock(&pool->lock);
	if (pool->be == be) {
		list_for_each_entry(buf, &pool->clean, qnode)
			if (buf->mem.len == len) {
				found = buf;
				break;
			}
		if (!found)
			list_for_each_entry(buf, &pool->dirty, qnode)
				if (buf->mem.len == len) {
					dirty = buf;
					break;
				}
		if (found || dirty) {
			list_del_init(&(found ?: dirty)->qnode);
			pool->bytes -= len;
		} else {
			/* the worker holds one: it may be this size */
			waiting = pool->scrubbing;
		}
		if (dirty) {
			pool->unscrubbed -= len;
			pool->taking++;	/* disable waits for it */
		}
	}
	spin_unlock(&pool->lock);
	if (dirty) {
		/* off every list: the pool no longer counts it */
		bool zeroed = !hypheap_pool_zero(pool, dirty);

		if (!zeroed)
			hypheap_pool_give_back(pool, dirty);
		spin_lock(&pool->lock);
		pool->taking--;
		spin_unlock(&pool->lock);
		wake_up_var(&pool->taking);
		if (zeroed) {
			found = dirty;
		} else {
			dirty = NULL;
			cond_resched();
			goto again;	/* another may be fit */
		}
	}
	if (!found && waiting && !waited) {
		/*
		 * The worker's pass in progress (and one queued meanwhile, if
		 * its timer fired), not a timer still pending.
		 */
		if (flush_work(&pool->scrub_work.work))
			atomic64_inc(&pool->waits);
		waited = true;
		goto again;
	}
	atomic64_inc(found ? &pool->hits : &pool->misses);
	return found;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_pool_take);

/**
 * hypheap_pool_put() - keep a freed buffer's memory lent, for the next one
 * @pool: the heap's pool
 * @buf: a released buffer: no user, off the heap's lists, still lent
 *
 * Takes @buf when the pool is enabled for its backend, it was lent to the
 * heap's VMs and nothing else (owners known), none of its pages is charged
 * to a memory cgroup and the pool has room; the pool's worker then zeroes
 * it (hypervisor or secure VM, @pool's ops), unless an allocation takes it
 * first (within @pool's zero_delay) and zeroes it itself.
 *
 * Return: true when the pool took @buf (uncharged from the heap); false:
 * the caller gives it back to the host as without a pool.
 */
bool hypheap_pool_put(struct hypheap_pool *pool, struct hypheap_buffer *buf)
{
	struct hypheap_heap *heap = buf->heap;
	u64 lent_to = hypheap_vmperm_bitmap(heap->dst, heap->nr_dst);
	bool taken = false;

	if (!READ_ONCE(pool->max_bytes) || READ_ONCE(pool->be) != buf->backend)
		return false;
	if (buf->mem.pageless || buf->mem.owners != lent_to ||
	    hypheap_pool_mem_charged(&buf->mem)) {
		atomic64_inc(&pool->refused);
		return false;
	}
	spin_lock(&pool->lock);
	if (pool->be == buf->backend &&
	    pool->bytes + buf->mem.len <= pool->max_bytes) {
		pool->bytes += buf->mem.len;
		pool->unscrubbed += buf->mem.len;
		buf->ino = 0;
		buf->retries = 0;
		buf->pooled_at = jiffies;
		list_add_tail(&buf->qnode, &pool->dirty);
		/*
		 * Queued under the lock: once disable has set max_bytes to 0
		 * and drained, no put can queue the worker again after it.
		 */
		queue_delayed_work(system_unbound_wq, &pool->scrub_work,
				   READ_ONCE(pool->zero_delay));
		taken = true;
	}
	spin_unlock(&pool->lock);
	if (!taken) {
		atomic64_inc(&pool->refused);
		return false;
	}
	atomic64_sub(buf->mem.len, &heap->charged);
	atomic64_inc(&pool->puts);
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_pool_put);

/**
 * hypheap_pool_shrink() - give pooled buffers back to the host
 * @pool: the heap's pool
 * @pages: at least this many pages, oldest buffers first (those not yet
 *	zeroed before those that are: the hypervisor scrubs them anyway);
 *	ULONG_MAX for all of them
 *
 * Each goes back as a buffer of the heap does without a pool: reclaim
 * (the hypervisor zeroes and cleans it), free, quarantine if the reclaim
 * fails. Buffers the worker is zeroing stay; they are not counted.
 *
 * Return: pages of the buffers given back.
 */
unsigned long hypheap_pool_shrink(struct hypheap_pool *pool,
				  unsigned long pages)
{
	unsigned long done = 0;
	struct hypheap_buffer *buf;

	while (done < pages) {
		spin_lock(&pool->lock);
		buf = list_first_entry_or_null(&pool->dirty,
					       struct hypheap_buffer, qnode);
		if (buf)
			pool->unscrubbed -= buf->mem.len;
		else
			buf = list_first_entry_or_null(&pool->clean,
						       struct hypheap_buffer,
						       qnode);
		if (buf) {
			list_del_init(&buf->qnode);
			pool->bytes -= buf->mem.len;
		}
		spin_unlock(&pool->lock);
		if (!buf)
			break;
		done += buf->mem.len >> PAGE_SHIFT;
		atomic64_inc(&pool->shrinks);
		atomic64_add(buf->mem.len >> PAGE_SHIFT, &pool->shrunk_pages);
		hypheap_pool_give_back(pool, buf);
		cond_resched();
	}
	return done;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_pool_shrink);

/**
 * hypheap_pool_flush() - zero every buffer waiting for the worker, now
 * @pool: the heap's pool
 *
 * Runs the worker at once instead of after its delay, and waits for it:
 * afterwards no buffer freed before the call is in its hands.
 */
void hypheap_pool_flush(struct hypheap_pool *pool)
{
	spin_lock(&pool->lock);
	pool->flushing++;	/* the worker takes the young ones too */
	spin_unlock(&pool->lock);
	flush_delayed_work(&pool->scrub_work);
	spin_lock(&pool->lock);
	pool->flushing--;
	spin_unlock(&pool->lock);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_pool_flush);

/**
 * hypheap_pool_drain() - give every pooled buffer back to the host
 * @pool: the heap's pool
 *
 * Stops the worker first: its pass in progress ends, so nothing it holds
 * stays behind, and no other pass zeroes a buffer the reclaim is about to
 * scrub anyway. A buffer put meanwhile is given back too, or (put after
 * the last one was taken) queues the worker again itself.
 *
 * Return: pages given back.
 */
unsigned long hypheap_pool_drain(struct hypheap_pool *pool)
{
	cancel_delayed_work_sync(&pool->scrub_work);
	return hypheap_pool_shrink(pool, ULONG_MAX);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_pool_drain);

static unsigned long hypheap_pool_count(struct shrinker *s,
					struct shrink_control *sc)
{
	struct hypheap_pool *pool = container_of(s, struct hypheap_pool,
						 shrinker);

	return hypheap_pool_pages(pool) ?: SHRINK_EMPTY;
}

static unsigned long hypheap_pool_scan(struct shrinker *s,
				       struct shrink_control *sc)
{
	struct hypheap_pool *pool = container_of(s, struct hypheap_pool,
						 shrinker);
	unsigned long done = hypheap_pool_shrink(pool, sc->nr_to_scan);

	sc->nr_scanned = done;
	return done ?: SHRINK_STOP;
}

/**
 * hypheap_pool_enable() - let a heap keep freed buffers lent
 * @pool: the heap's pool, disabled
 * @be: the backend whose buffers it keeps (a reference is taken)
 * @c: the conduit @be lends through (a reference is taken): its MEM_QUERY
 *	tells a buffer the secure VM still pins, which is never reused
 * @max_bytes: the most bytes it holds, > 0
 * @ops: how it zeroes a buffer before reuse
 * @priv: for @ops
 *
 * Return: 0, -EBUSY if enabled already, or register_shrinker()'s errno.
 */
int hypheap_pool_enable(struct hypheap_pool *pool, struct hypheap_backend *be,
			struct hypheap_conduit *c, u64 max_bytes,
			const struct hypheap_pool_ops *ops, void *priv)
{
	int ret;

	if (!max_bytes || !c->ops->query)
		return -EINVAL;
	mutex_lock(&pool->config_lock);
	if (pool->be) {
		ret = -EBUSY;
		goto out;
	}
	pool->shrinker.count_objects = hypheap_pool_count;
	pool->shrinker.scan_objects = hypheap_pool_scan;
	pool->shrinker.seeks = DEFAULT_SEEKS;
	ret = register_shrinker(&pool->shrinker, "hypheap-pool-%s",
				pool->heap->name);
	if (ret)
		goto out;
	pool->ops = ops;
	pool->ops_priv = priv;
	hypheap_conduit_get(c);
	pool->conduit = c;
	hypheap_backend_get(be);
	spin_lock(&pool->lock);
	pool->be = be;
	pool->max_bytes = max_bytes;
	spin_unlock(&pool->lock);
out:
	mutex_unlock(&pool->config_lock);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_pool_enable);

/**
 * hypheap_pool_disable() - give everything back and keep nothing more
 * @pool: the heap's pool
 *
 * For an unbind (the backend goes) and a heap's destruction. A buffer
 * whose reclaim fails is in the heap's quarantine afterwards.
 */
void hypheap_pool_disable(struct hypheap_pool *pool)
{
	struct hypheap_backend *be;

	mutex_lock(&pool->config_lock);
	be = pool->be;
	if (!be)
		goto out;
	spin_lock(&pool->lock);
	pool->max_bytes = 0;	/* no put from now on; the worker gives back */
	spin_unlock(&pool->lock);
	unregister_shrinker(&pool->shrinker);
	hypheap_pool_drain(pool);
	spin_lock(&pool->lock);
	pool->be = NULL;	/* no take from now on */
	spin_unlock(&pool->lock);
	/* an allocation still zeroing a buffer it took uses the conduit */
	wait_var_event(&pool->taking, !READ_ONCE(pool->taking));
	hypheap_conduit_put(pool->conduit);
	pool->conduit = NULL;
	hypheap_backend_put(be);
out:
	mutex_unlock(&pool->config_lock);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_pool_disable);

/**
 * hypheap_pool_show() - the pool's debugfs lines
 * @m: the file
 * @pool: the heap's pool
 */
void hypheap_pool_show(struct seq_file *m, struct hypheap_pool *pool)
{
	spin_lock(&pool->lock);
	seq_printf(m, "max_bytes: %llu\nbytes: %llu\nunscrubbed_bytes: %llu\n",
		   pool->max_bytes, pool->bytes, pool->unscrubbed);
	seq_printf(m, "zeroed_by: %s\n", pool->ops ? pool->ops->name : "-");
	spin_unlock(&pool->lock);
	seq_printf(m, "hits: %lld\nmisses: %lld\nwaits: %lld\nputs: %lld\nrefused: %lld\n",
		   atomic64_read(&pool->hits), atomic64_read(&pool->misses),
		   atomic64_read(&pool->waits), atomic64_read(&pool->puts),
		   atomic64_read(&pool->refused));
	seq_printf(m, "shrinks: %lld\nshrunk_pages: %lld\nscrub_failures: %lld\npinned: %lld\n",
		   atomic64_read(&pool->shrinks),
		   atomic64_read(&pool->shrunk_pages),
		   atomic64_read(&pool->scrub_failures),
		   atomic64_read(&pool->pinned));
}

/*
 * The hypervisor zeroes the buffer in place (MEM_ASSIGN {vm} -> {vm}, ABI
 * 1.8), at EL2, and refuses it whole if the secure VM pins or holds a page:
 * the check and the zeroing are one step, so no pin can come between them.
 */
static int hypheap_pool_hyp_scrub(struct hypheap_pool *pool,
				  struct hypheap_mem *mem)
{
	struct hypheap_heap *heap = pool->heap;

	if (heap->nr_dst != 1)
		return -EINVAL;
	return hypheap_scrub_table(pool->conduit, &mem->sgt, &heap->dst[0],
				   &heap->stats);
}

const struct hypheap_pool_ops hypheap_pool_hyp_ops = {
	.name = "hypervisor",
	.scrub = hypheap_pool_hyp_scrub,
	.refuses_busy = true,
};
EXPORT_SYMBOL_IF_KUNIT(hypheap_pool_hyp_ops);

#ifdef HYPHEAP_HAVE_FFA
/* The secure VM zeroes the buffer with its FILL service (pattern 0). */
static int hypheap_pool_svm_scrub(struct hypheap_pool *pool,
				  struct hypheap_mem *mem)
{
	struct hypheap_svm *svm = hypheap_svm_get();
	long status;
	int ret;

	if (!svm)
		return -ENODEV;
	ret = hypheap_svm_fill_mem(svm, mem, 0, false, &status);
	hypheap_svm_put(svm);
	return ret;
}

const struct hypheap_pool_ops hypheap_pool_svm_ops = {
	.name = "secure-vm",
	.scrub = hypheap_pool_svm_scrub,
};
#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap counters and their debugfs view:
 *   <debugfs>/hypheap/stats             totals over every heap
 *   <debugfs>/hypheap/<heap>/stats      one heap
 *   <debugfs>/hypheap/<heap>/quarantine buffers whose reclaim failed
 */

#include <kunit/visibility.h>
#include <linux/debugfs.h>
#include <linux/errno.h>
#include <linux/seq_file.h>

#include "hypheap_priv.h"

struct hypheap_stats hypheap_total_stats;
EXPORT_SYMBOL_IF_KUNIT(hypheap_total_stats);

static struct dentry *hypheap_debugfs_root;

static const char * const hypheap_stat_names[HYPHEAP_NR_STATS] = {
	[HYPHEAP_STAT_LIVE_BUFFERS] = "live_buffers",
	[HYPHEAP_STAT_LIVE_BYTES] = "live_bytes",
	[HYPHEAP_STAT_PAGES_ASSIGNED] = "pages_assigned",
	[HYPHEAP_STAT_PAGES_QUARANTINED] = "pages_quarantined",
	[HYPHEAP_STAT_HYPERCALLS] = "hypercalls",
	[HYPHEAP_STAT_FAIL_EINVAL] = "failures_EINVAL",
	[HYPHEAP_STAT_FAIL_EPERM] = "failures_EPERM",
	[HYPHEAP_STAT_FAIL_ENOMEM] = "failures_ENOMEM",
	[HYPHEAP_STAT_FAIL_EBUSY] = "failures_EBUSY",
	[HYPHEAP_STAT_FAIL_EFAULT] = "failures_EFAULT",
	[HYPHEAP_STAT_FAIL_E2BIG] = "failures_E2BIG",
	[HYPHEAP_STAT_FAIL_EOPNOTSUPP] = "failures_EOPNOTSUPP",
	[HYPHEAP_STAT_FAIL_EIO] = "failures_EIO",
	[HYPHEAP_STAT_FAIL_ENODEV] = "failures_ENODEV",
	[HYPHEAP_STAT_FAIL_OTHER] = "failures_other",
};

/**
 * hypheap_fail_stat() - failure counter an errno is counted in
 * @err: negative errno
 *
 * Return: the counter, %HYPHEAP_STAT_FAIL_OTHER for errnos without their own.
 */
enum hypheap_stat hypheap_fail_stat(int err)
{
	switch (err) {
	case -EINVAL:
		return HYPHEAP_STAT_FAIL_EINVAL;
	case -EPERM:
		return HYPHEAP_STAT_FAIL_EPERM;
	case -ENOMEM:
		return HYPHEAP_STAT_FAIL_ENOMEM;
	case -EBUSY:
		return HYPHEAP_STAT_FAIL_EBUSY;
	case -EFAULT:
		return HYPHEAP_STAT_FAIL_EFAULT;
	case -E2BIG:
		return HYPHEAP_STAT_FAIL_E2BIG;
	case -EOPNOTSUPP:
		return HYPHEAP_STAT_FAIL_EOPNOTSUPP;
	case -EIO:
		return HYPHEAP_STAT_FAIL_EIO;
	case -ENODEV:
		return HYPHEAP_STAT_FAIL_ENODEV;
	default:
		return HYPHEAP_STAT_FAIL_OTHER;
	}
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_fail_stat);

/**
 * hypheap_stat_add() - change a counter of a heap and of the totals
 * @stats: heap counters, or NULL to change the totals only
 * @stat: which counter
 * @delta: amount to add
 */
void hypheap_stat_add(struct hypheap_stats *stats, enum hypheap_stat stat,
		      s64 delta)
{
	if (stats)
		atomic64_add(delta, &stats->c[stat]);
	atomic64_add(delta, &hypheap_total_stats.c[stat]);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_stat_add);

/**
 * hypheap_stat_read() - read a counter
 * @stats: counters; NULL for the totals
 * @stat: which counter
 *
 * Return: its value.
 */
s64 hypheap_stat_read(struct hypheap_stats *stats, enum hypheap_stat stat)
{
	return atomic64_read(&(stats ?: &hypheap_total_stats)->c[stat]);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_stat_read);

/**
 * hypheap_stats_fail() - count a failed operation
 * @stats: heap counters (may be NULL: totals only)
 * @err: its negative errno
 */
void hypheap_stats_fail(struct hypheap_stats *stats, int err)
{
	hypheap_stat_add(stats, hypheap_fail_stat(err), 1);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_stats_fail);

static void hypheap_stats_show(struct seq_file *m, struct hypheap_stats *s)
{
	unsigned int i;

	for (i = 0; i < HYPHEAP_NR_STATS; i++)
		seq_printf(m, "%s: %lld\n", hypheap_stat_names[i],
			   atomic64_read(&s->c[i]));
}

static int hypheap_total_show(struct seq_file *m, void *unused)
{
	hypheap_stats_show(m, &hypheap_total_stats);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hypheap_total);

static int hypheap_heap_stats_show(struct seq_file *m, void *unused)
{
	struct hypheap_heap *heap = m->private;

	mutex_lock(&heap->lock);
	seq_printf(m, "backend: %s\n",
		   heap->backend ? heap->backend->name : "(gone)");
	mutex_unlock(&heap->lock);
	hypheap_stats_show(m, &heap->stats);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hypheap_heap_stats);

static int hypheap_quarantine_show(struct seq_file *m, void *unused)
{
	struct hypheap_heap *heap = m->private;
	struct hypheap_buffer *buf;

	spin_lock(&heap->qlock);
	list_for_each_entry(buf, &heap->quarantine, qnode)
		seq_printf(m, "len %zu owners %#llx retries %u backend %s\n",
			   buf->len, buf->owners, buf->retries,
			   buf->backend->name);
	spin_unlock(&heap->qlock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hypheap_quarantine);

/**
 * hypheap_debugfs_add_heap() - create a heap's debugfs directory
 * @heap: a registered heap
 */
void hypheap_debugfs_add_heap(struct hypheap_heap *heap)
{
	heap->debugfs = debugfs_create_dir(heap->name, hypheap_debugfs_root);
	debugfs_create_file("stats", 0400, heap->debugfs, heap,
			    &hypheap_heap_stats_fops);
	debugfs_create_file("quarantine", 0400, heap->debugfs, heap,
			    &hypheap_quarantine_fops);
}

/**
 * hypheap_debugfs_remove_heap() - remove a heap's debugfs directory
 * @heap: the heap
 */
void hypheap_debugfs_remove_heap(struct hypheap_heap *heap)
{
	debugfs_remove_recursive(heap->debugfs);
	heap->debugfs = NULL;
}

/**
 * hypheap_debugfs_init() - create the hypheap debugfs directory
 *
 * Return: 0; debugfs failures are not fatal.
 */
int hypheap_debugfs_init(void)
{
	hypheap_debugfs_root = debugfs_create_dir("hypheap", NULL);
	debugfs_create_file("stats", 0400, hypheap_debugfs_root, NULL,
			    &hypheap_total_fops);
	return 0;
}

/**
 * hypheap_debugfs_exit() - remove the hypheap debugfs directory
 */
void hypheap_debugfs_exit(void)
{
	debugfs_remove_recursive(hypheap_debugfs_root);
}

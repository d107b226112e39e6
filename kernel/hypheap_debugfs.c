// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap counters and their debugfs view (docs/kernel.md):
 *   <debugfs>/hypheap/stats             totals over every heap
 *   <debugfs>/hypheap/hyp               the hypervisor's counters, read live
 *   <debugfs>/hypheap/query             MEM_QUERY: write "<pa> <pages>",
 *                                       read the answer
 *   <debugfs>/hypheap/<heap>/stats      one heap
 *   <debugfs>/hypheap/<heap>/quarantine buffers whose reclaim failed
 *   <debugfs>/hypheap/<heap>/buffers    live buffers and their memory
 *   <debugfs>/hypheap/<heap>/pool       its pool; write "drain" or
 *                                       "shrink <pages>" to give pooled
 *                                       buffers back to the host
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/debugfs.h>
#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>

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
	[HYPHEAP_STAT_HYP_NOT_SUPPORTED] = "hyp_error_NOT_SUPPORTED",
	[HYPHEAP_STAT_HYP_BAD_VERSION] = "hyp_error_BAD_VERSION",
	[HYPHEAP_STAT_HYP_DESC_ALIGN] = "hyp_error_DESC_ALIGN",
	[HYPHEAP_STAT_HYP_DESC_NOT_HOST] = "hyp_error_DESC_NOT_HOST",
	[HYPHEAP_STAT_HYP_DESC_LEN] = "hyp_error_DESC_LEN",
	[HYPHEAP_STAT_HYP_DESC_RESERVED] = "hyp_error_DESC_RESERVED",
	[HYPHEAP_STAT_HYP_RANGE_UNALIGNED] = "hyp_error_RANGE_UNALIGNED",
	[HYPHEAP_STAT_HYP_RANGE_SIZE] = "hyp_error_RANGE_SIZE",
	[HYPHEAP_STAT_HYP_OUTSIDE_RAM] = "hyp_error_OUTSIDE_RAM",
	[HYPHEAP_STAT_HYP_PROTECTED] = "hyp_error_PROTECTED",
	[HYPHEAP_STAT_HYP_OVERLAP] = "hyp_error_OVERLAP",
	[HYPHEAP_STAT_HYP_STATE] = "hyp_error_STATE",
	[HYPHEAP_STAT_HYP_UNKNOWN_VMID] = "hyp_error_UNKNOWN_VMID",
	[HYPHEAP_STAT_HYP_PERMS] = "hyp_error_PERMS",
	[HYPHEAP_STAT_HYP_DEST_SET] = "hyp_error_DEST_SET",
	[HYPHEAP_STAT_HYP_NO_MEMORY] = "hyp_error_NO_MEMORY",
	[HYPHEAP_STAT_HYP_BUSY] = "hyp_error_BUSY",
	[HYPHEAP_STAT_HYP_STAT_INDEX] = "hyp_error_STAT_INDEX",
	[HYPHEAP_STAT_HYP_NOT_MAPPED] = "hyp_error_NOT_MAPPED",
	[HYPHEAP_STAT_HYP_HOST_ACCESS] = "hyp_error_HOST_ACCESS",
	[HYPHEAP_STAT_HYP_MAILBOX] = "hyp_error_MAILBOX",
	[HYPHEAP_STAT_HYP_FFA] = "hyp_error_FFA",
	[HYPHEAP_STAT_HYP_TOKEN] = "hyp_error_TOKEN",
	[HYPHEAP_STAT_HYP_PENDING] = "hyp_error_PENDING",
	[HYPHEAP_STAT_HYP_PENDING_LIMIT] = "hyp_error_PENDING_LIMIT",
	[HYPHEAP_STAT_HYP_OTHER] = "hyp_error_other",
};

/* The hypervisor's counters, by HYPHEAP_STAT_* index of <hypheap/abi.h>. */
static const char * const hypheap_hyp_stat_names[HYPHEAP_STAT_COUNT] = {
	[HYPHEAP_STAT_ASSIGN_CALLS] = "assign_calls",
	[HYPHEAP_STAT_ASSIGN_FAILED] = "assign_failed",
	[HYPHEAP_STAT_PAGES_LENT] = "pages_lent",
	[HYPHEAP_STAT_PAGES_SHARED] = "pages_shared",
	[HYPHEAP_STAT_PAGES_RECLAIMED] = "pages_reclaimed",
	[HYPHEAP_STAT_PAGES_SCRUBBED] = "pages_scrubbed",
	[HYPHEAP_STAT_BLOCK_SPLITS] = "block_splits",
	[HYPHEAP_STAT_BLOCK_MERGES] = "block_merges",
	[HYPHEAP_STAT_TABLE_PAGES_USED] = "table_pages_used",
	[HYPHEAP_STAT_TABLE_PAGES_FREE] = "table_pages_free",
	[HYPHEAP_STAT_HOST_FAULTS] = "host_faults",
	[HYPHEAP_STAT_ABORTS_INJECTED] = "aborts_injected",
	[HYPHEAP_STAT_FAULTS_SPURIOUS] = "faults_spurious",
	[HYPHEAP_STAT_S2_LEAF_WRITES] = "s2_leaf_writes",
	[HYPHEAP_STAT_HOST_CALLS] = "host_calls",
	[HYPHEAP_STAT_DMA_FAULTS] = "dma_faults",
	[HYPHEAP_STAT_PREEMPTED] = "preempted",
	[HYPHEAP_STAT_PENDING] = "pending",
};

/* HYPHEAP_ERR_PENDING_LIMIT is the last error abi.h defines */
static_assert(HYPHEAP_STAT_HYP_PENDING_LIMIT - HYPHEAP_STAT_HYP_NOT_SUPPORTED ==
	      -HYPHEAP_ERR_PENDING_LIMIT - 1);

/* The last answer written through <debugfs>/hypheap/query, for reads. */
static DEFINE_MUTEX(hypheap_query_lock);
static char hypheap_query_answer[80];

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
 * hypheap_hyp_fail_stat() - counter a hypervisor error status is counted in
 * @status: a negative HYPHEAP_ERR_* status of <hypheap/abi.h>
 *
 * Return: its own counter, %HYPHEAP_STAT_HYP_OTHER for any other value.
 */
enum hypheap_stat hypheap_hyp_fail_stat(long status)
{
	/* the HYPHEAP_STAT_HYP_* counters follow the codes -1, -2, ... */
	if (status >= HYPHEAP_ERR_PENDING_LIMIT && status <= -1)
		return HYPHEAP_STAT_HYP_NOT_SUPPORTED + (-status - 1);
	return HYPHEAP_STAT_HYP_OTHER;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_hyp_fail_stat);

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

/**
 * hypheap_stats_hyp_fail() - count a call the hypervisor refused
 * @stats: heap counters (may be NULL: totals only)
 * @status: the raw status it answered
 */
void hypheap_stats_hyp_fail(struct hypheap_stats *stats, long status)
{
	hypheap_stat_add(stats, hypheap_hyp_fail_stat(status), 1);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_stats_hyp_fail);

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
	seq_printf(m, "reserved_bytes: %llu\n",
		   heap->backend ? READ_ONCE(heap->backend->reserved_bytes) : 0);
	mutex_unlock(&heap->lock);
	seq_printf(m, "limit_bytes: %llu\n", heap->limit);
	seq_printf(m, "charged_bytes: %lld\n",
		   (s64)atomic64_read(&heap->charged));
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
			   buf->mem.len, buf->mem.owners, buf->retries,
			   buf->backend->name);
	spin_unlock(&heap->qlock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hypheap_quarantine);

static int hypheap_buffers_show(struct seq_file *m, void *unused)
{
	struct hypheap_heap *heap = m->private;
	struct hypheap_range_iter it;
	struct hypheap_buffer *buf;
	struct hypheap_range r;

	mutex_lock(&heap->buffers_lock);
	list_for_each_entry(buf, &heap->buffers, lnode) {
		const char *sep = "";

		seq_printf(m, "ino=%lu size=%zu ranges=", READ_ONCE(buf->ino),
			   buf->mem.len);
		hypheap_range_iter_init_mem(&it, &buf->mem);
		while (hypheap_range_iter_fill(&it, &r, 1)) {
			seq_printf(m, "%s%#llx+%#llx", sep, (u64)r.base,
				   r.size);
			sep = ",";
		}
		seq_putc(m, '\n');
	}
	mutex_unlock(&heap->buffers_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hypheap_buffers);

static int hypheap_pool_file_show(struct seq_file *m, void *unused)
{
	hypheap_pool_show(m, &((struct hypheap_heap *)m->private)->pool);
	return 0;
}

static int hypheap_pool_file_open(struct inode *inode, struct file *file)
{
	return single_open(file, hypheap_pool_file_show, inode->i_private);
}

/* "drain": every pooled buffer back to the host; "shrink <pages>": some */
static ssize_t hypheap_pool_file_write(struct file *file,
				       const char __user *ubuf, size_t count,
				       loff_t *ppos)
{
	struct hypheap_heap *heap = ((struct seq_file *)file->private_data)->private;
	unsigned long pages;
	char cmd[32], end;

	if (count >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, count))
		return -EFAULT;
	cmd[count] = '\0';
	if (sysfs_streq(cmd, "drain"))
		hypheap_pool_drain(&heap->pool);
	else if (sscanf(cmd, "shrink %lu %c", &pages, &end) == 1 && pages)
		hypheap_pool_shrink(&heap->pool, pages);
	else
		return -EINVAL;
	return count;
}

static const struct file_operations hypheap_pool_fops = {
	.owner = THIS_MODULE,
	.open = hypheap_pool_file_open,
	.read = seq_read,
	.write = hypheap_pool_file_write,
	.llseek = seq_lseek,
	.release = single_release,
};

static int hypheap_hyp_show(struct seq_file *m, void *unused)
{
	unsigned int i;
	long status;
	u64 value;
	int ret;

	for (i = 0; i < HYPHEAP_STAT_COUNT; i++) {
		ret = hypheap_hyp_stat(i, &value, &status);
		/* an older hypervisor has fewer counters: list the ones it has */
		if (i > 0 && status == HYPHEAP_ERR_STAT_INDEX)
			break;
		if (ret)
			return ret;
		seq_printf(m, "%s %llu\n", hypheap_hyp_stat_names[i], value);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hypheap_hyp);

/* Which transport hypheap_assign_mem() uses, whether it lends, its own state. */
static int hypheap_transport_show(struct seq_file *m, void *unused)
{
	struct hypheap_conduit *c = hypheap_get_default_conduit();

	if (!c)
		return -ENODEV;
	seq_printf(m, "name: %s\n", c->ops->name);
	seq_printf(m, "lend: %s\n", c->ops->lends ? "supported" :
		   "unsupported (EOPNOTSUPP): sharing only");
	seq_printf(m, "query: %s\n", c->ops->query ? "yes" : "no");
	seq_printf(m, "hyp_stats: %s\n", c->ops->stat ? "yes" : "no");
	if (c->ops->show)
		c->ops->show(c, m);
	hypheap_conduit_put(c);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hypheap_transport);

/* The hypervisor's time profile, by HYPHEAP_PROFILE_* phase. */
static const char * const hypheap_profile_names[HYPHEAP_PROFILE_COUNT] = {
	[HYPHEAP_PROFILE_VALIDATE] = "validate",
	[HYPHEAP_PROFILE_STAGE2] = "stage2",
	[HYPHEAP_PROFILE_TLB] = "tlb",
	[HYPHEAP_PROFILE_CLEAN] = "clean",
	[HYPHEAP_PROFILE_SCRUB] = "scrub",
};

/* "<phase>_ns N" and "<phase>_times N" lines: one number a line, like stats */
static int hypheap_profile_show(struct seq_file *m, void *unused)
{
	struct hypheap_profile p;
	unsigned int i;
	long status;
	int ret;

	for (i = 0; i < HYPHEAP_PROFILE_COUNT; i++) {
		ret = hypheap_hyp_profile(i, &p, &status);
		if (ret)
			return ret;
		if (!p.hz)
			return -EIO;
		seq_printf(m, "%s_ns %llu\n%s_times %llu\n",
			   hypheap_profile_names[i],
			   mul_u64_u64_div_u64(p.ticks, NSEC_PER_SEC, p.hz),
			   hypheap_profile_names[i], p.times);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(hypheap_profile);

static ssize_t hypheap_query_read(struct file *file, char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&hypheap_query_lock);
	ret = simple_read_from_buffer(ubuf, count, ppos, hypheap_query_answer,
				      strlen(hypheap_query_answer));
	mutex_unlock(&hypheap_query_lock);
	return ret;
}

/*
 * Write "<pa in hex> <pages>": the query is made now and its answer kept
 * for the next read, of any opener. The file position is left alone, so
 * the writer can read the answer through the same descriptor.
 */
static ssize_t hypheap_query_write(struct file *file, const char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	struct hypheap_query q;
	char cmd[64], end;
	u64 pa, pages;
	long status;
	int ret;

	if (count >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, count))
		return -EFAULT;
	cmd[count] = '\0';
	if (sscanf(cmd, "%llx %llu %c", &pa, &pages, &end) != 2)
		return -EINVAL;

	ret = hypheap_mem_query(pa, pages, &q, &status);
	mutex_lock(&hypheap_query_lock);
	if (!ret)
		snprintf(hypheap_query_answer, sizeof(hypheap_query_answer),
			 "owners=%#llx state=%#llx pages=%llu\n", q.owners,
			 q.state, q.pages);
	else if (status != HYPHEAP_OK)
		snprintf(hypheap_query_answer, sizeof(hypheap_query_answer),
			 "error=%ld\n", status);
	mutex_unlock(&hypheap_query_lock);
	/* the hypervisor answered: that answer is the result */
	if (ret && status == HYPHEAP_OK)
		return ret;
	return count;
}

static const struct file_operations hypheap_query_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = hypheap_query_read,
	.write = hypheap_query_write,
	.llseek = default_llseek,
};

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
	debugfs_create_file("buffers", 0400, heap->debugfs, heap,
			    &hypheap_buffers_fops);
	debugfs_create_file("pool", 0600, heap->debugfs, heap,
			    &hypheap_pool_fops);
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
	debugfs_create_file("profile", 0400, hypheap_debugfs_root, NULL,
			    &hypheap_profile_fops);
	debugfs_create_file("transport", 0400, hypheap_debugfs_root, NULL,
			    &hypheap_transport_fops);
	debugfs_create_file("hyp", 0400, hypheap_debugfs_root, NULL,
			    &hypheap_hyp_fops);
	debugfs_create_file("query", 0600, hypheap_debugfs_root, NULL,
			    &hypheap_query_fops);
	return 0;
}

/**
 * hypheap_debugfs_exit() - remove the hypheap debugfs directory
 */
void hypheap_debugfs_exit(void)
{
	debugfs_remove_recursive(hypheap_debugfs_root);
}

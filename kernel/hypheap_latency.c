// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap_latency: test-only module, a probe of how late the host takes a
 * timer interrupt, for the benchmark of what the hypervisor's long calls
 * cost the host's interrupt latency (docs/performance.md). A CPU inside a
 * hypercall takes no interrupt until the hypervisor returns (EL2 runs with
 * them masked), so the lateness of a periodic hard-interrupt hrtimer on the
 * CPU that makes the calls bounds what a device interrupt would wait.
 * Never load it on a product.
 *
 * <debugfs>/hypheap_latency/probe, root only:
 *   write "<ms>"  a hard-interrupt hrtimer every HH_LAT_PERIOD_US on the
 *                 writer's CPU for <ms> milliseconds (1..60000); the write
 *                 sleeps meanwhile and returns when the probe is over
 *   read          the last probe: "samples=<n> max_ns=<n> mean_ns=<n> cpu=<n>",
 *                 lateness = expiry handled minus expiry due
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/smp.h>
#include <linux/uaccess.h>

#define HH_LAT_PERIOD_US	250
#define HH_LAT_MAX_MS		60000

struct hh_lat {
	struct hrtimer timer;
	ktime_t period;
	bool stop;
	/* written by the timer while it runs, read once it is cancelled */
	u64 samples;
	u64 sum_ns;
	u64 max_ns;
	int cpu;
};

static struct hh_lat hh_lat;
static DEFINE_MUTEX(hh_lat_lock);	/* one probe at a time */
static struct dentry *hh_lat_dir;

static enum hrtimer_restart hh_lat_fire(struct hrtimer *t)
{
	struct hh_lat *p = container_of(t, struct hh_lat, timer);
	ktime_t now = ktime_get();
	s64 late = ktime_to_ns(ktime_sub(now, hrtimer_get_expires(t)));

	if (late < 0)
		late = 0;
	p->samples++;
	p->sum_ns += late;
	if (late > p->max_ns)
		p->max_ns = late;
	if (READ_ONCE(p->stop))
		return HRTIMER_NORESTART;
	/* the next expiry after now: a late one is not made up for */
	hrtimer_forward(t, now, p->period);
	return HRTIMER_RESTART;
}

static ssize_t hh_lat_write(struct file *file, const char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	struct hh_lat *p = &hh_lat;
	unsigned int ms;
	int ret;

	ret = kstrtouint_from_user(ubuf, len, 10, &ms);
	if (ret)
		return ret;
	if (!ms || ms > HH_LAT_MAX_MS)
		return -EINVAL;
	mutex_lock(&hh_lat_lock);
	p->samples = 0;
	p->sum_ns = 0;
	p->max_ns = 0;
	p->stop = false;
	p->period = ns_to_ktime(HH_LAT_PERIOD_US * NSEC_PER_USEC);
	hrtimer_init(&p->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_PINNED_HARD);
	p->timer.function = hh_lat_fire;
	/* pinned: it fires on this CPU, whichever CPU this task runs on later */
	preempt_disable();
	p->cpu = smp_processor_id();
	hrtimer_start(&p->timer, ktime_add(ktime_get(), p->period),
		      HRTIMER_MODE_ABS_PINNED_HARD);
	preempt_enable();
	msleep(ms);
	WRITE_ONCE(p->stop, true);
	hrtimer_cancel(&p->timer);
	mutex_unlock(&hh_lat_lock);
	return len;
}

static ssize_t hh_lat_read(struct file *file, char __user *ubuf, size_t len,
			   loff_t *ppos)
{
	struct hh_lat *p = &hh_lat;
	char buf[96];
	int n;

	mutex_lock(&hh_lat_lock);
	n = scnprintf(buf, sizeof(buf),
		      "samples=%llu max_ns=%llu mean_ns=%llu cpu=%d\n",
		      p->samples, p->max_ns,
		      p->samples ? div64_u64(p->sum_ns, p->samples) : 0,
		      p->cpu);
	mutex_unlock(&hh_lat_lock);
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations hh_lat_fops = {
	.owner = THIS_MODULE,
	.write = hh_lat_write,
	.read = hh_lat_read,
	.llseek = default_llseek,
};

static int __init hh_lat_init(void)
{
	hh_lat_dir = debugfs_create_dir("hypheap_latency", NULL);
	debugfs_create_file("probe", 0600, hh_lat_dir, NULL, &hh_lat_fops);
	hh_lat.cpu = -1;
	return 0;
}

static void __exit hh_lat_exit(void)
{
	debugfs_remove_recursive(hh_lat_dir);
}

module_init(hh_lat_init);
module_exit(hh_lat_exit);
MODULE_DESCRIPTION("hypheap test-only probe of the host's timer interrupt latency");
MODULE_LICENSE("GPL");

// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap_testmod: test-only module that lends one kernel page to a secure
 * VM on command, so user space can check what the hypervisor does to an
 * access through /dev/mem. Never load it on a product.
 *
 * <debugfs>/hypheap_test/page, root only:
 *   write "alloc"    take a page, fill it with 0xA5, clean it to PoC
 *         "lend"     hypheap_assign_mem() host -> {secure VM 10: RW}
 *         "reclaim"  assign it back to the host (the hypervisor zeroes it)
 *         "free"     give it back to the page allocator
 *   read  "pa=0x<hex> state=<free|host|lent>"
 * A command that does not fit the current state fails with -EINVAL
 * ("free" of a lent page with -EBUSY) and changes nothing.
 *
 * <debugfs>/hypheap_test/import, root only: a DMA importer of its own
 * platform device, as a codec driver would be:
 *   write "<dma-buf fd> [<bus DMA limit, hex>]"  attach, map for
 *         DMA_BIDIRECTIONAL, unmap, detach; the write fails with the
 *         errno of attach or map (the limit, when given, is the device's
 *         bus_dma_limit for this import only, as DT dma-ranges would set)
 *   read  the last import that mapped:
 *         "segments=<n> bytes=<n> bounced=<n> ranges=0x<pa>+0x<len>,..."
 *         (bounced: DMA segments that are swiotlb slots, not the pages)
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/string.h>
#include <linux/swiotlb.h>
#include <linux/uaccess.h>

#include "hypheap.h"

#define HYPHEAP_TEST_PATTERN	0xa5

/**
 * enum hypheap_test_state - where the test page is
 * @HYPHEAP_TEST_FREE: no page
 * @HYPHEAP_TEST_HOST: allocated, owned by the host
 * @HYPHEAP_TEST_LENT: lent to the secure VM
 */
enum hypheap_test_state {
	HYPHEAP_TEST_FREE,
	HYPHEAP_TEST_HOST,
	HYPHEAP_TEST_LENT,
};

static const char * const hypheap_test_state_names[] = {
	[HYPHEAP_TEST_FREE] = "free",
	[HYPHEAP_TEST_HOST] = "host",
	[HYPHEAP_TEST_LENT] = "lent",
};

static const struct hypheap_vmperm hypheap_test_svm = {
	.vmid = HYPHEAP_VMID_SECURE_0,
	.perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W,
};

static const struct hypheap_vmperm hypheap_test_host = {
	.vmid = HYPHEAP_VMID_HOST,
	.perms = HYPHEAP_PERM_RWX,
};

static DEFINE_MUTEX(hypheap_test_lock); /* protects the three below */
static struct page *hypheap_test_page;
static enum hypheap_test_state hypheap_test_state;
static u64 hypheap_test_owners;

static struct platform_device *hypheap_test_pdev;
static struct dentry *hypheap_test_dir;

static DEFINE_MUTEX(hypheap_import_lock); /* protects the answer below */
static char hypheap_import_answer[512];

/* The CPU wrote the pattern: push it to PoC, as a device would see it. */
static int hypheap_test_clean(struct page *page)
{
	struct device *dev = &hypheap_test_pdev->dev;
	dma_addr_t addr;

	addr = dma_map_page(dev, page, 0, PAGE_SIZE, DMA_TO_DEVICE);
	if (dma_mapping_error(dev, addr))
		return -ENOMEM;
	dma_unmap_page(dev, addr, PAGE_SIZE, DMA_TO_DEVICE);
	return 0;
}

static int hypheap_test_alloc(void)
{
	struct page *page;
	int ret;

	if (hypheap_test_state != HYPHEAP_TEST_FREE)
		return -EINVAL;
	page = alloc_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	memset(page_address(page), HYPHEAP_TEST_PATTERN, PAGE_SIZE);
	ret = hypheap_test_clean(page);
	if (ret) {
		__free_page(page);
		return ret;
	}
	hypheap_test_page = page;
	hypheap_test_owners = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
	hypheap_test_state = HYPHEAP_TEST_HOST;
	return 0;
}

static int hypheap_test_assign(const struct hypheap_vmperm *to,
			       enum hypheap_test_state from,
			       enum hypheap_test_state next)
{
	int ret;

	if (hypheap_test_state != from)
		return -EINVAL;
	ret = hypheap_assign_mem(page_to_phys(hypheap_test_page), PAGE_SIZE,
				 &hypheap_test_owners, to, 1);
	if (!ret)
		hypheap_test_state = next;
	else if (ret == -ENOTRECOVERABLE)
		/* who owns it is unknown: never free it */
		hypheap_test_state = HYPHEAP_TEST_LENT;
	return ret;
}

static int hypheap_test_free(void)
{
	if (hypheap_test_state == HYPHEAP_TEST_LENT)
		return -EBUSY;
	if (hypheap_test_state != HYPHEAP_TEST_HOST)
		return -EINVAL;
	__free_page(hypheap_test_page);
	hypheap_test_page = NULL;
	hypheap_test_state = HYPHEAP_TEST_FREE;
	return 0;
}

static ssize_t hypheap_test_write(struct file *file, const char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	char cmd[16];
	int ret;

	if (count >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, count))
		return -EFAULT;
	cmd[count] = '\0';
	strim(cmd);

	mutex_lock(&hypheap_test_lock);
	if (!strcmp(cmd, "alloc"))
		ret = hypheap_test_alloc();
	else if (!strcmp(cmd, "lend"))
		ret = hypheap_test_assign(&hypheap_test_svm, HYPHEAP_TEST_HOST,
					  HYPHEAP_TEST_LENT);
	else if (!strcmp(cmd, "reclaim"))
		ret = hypheap_test_assign(&hypheap_test_host,
					  HYPHEAP_TEST_LENT, HYPHEAP_TEST_HOST);
	else if (!strcmp(cmd, "free"))
		ret = hypheap_test_free();
	else
		ret = -EINVAL;
	mutex_unlock(&hypheap_test_lock);
	return ret ?: count;
}

static ssize_t hypheap_test_read(struct file *file, char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	phys_addr_t pa = 0;
	char line[64];
	int len;

	mutex_lock(&hypheap_test_lock);
	if (hypheap_test_page)
		pa = page_to_phys(hypheap_test_page);
	len = scnprintf(line, sizeof(line), "pa=%#llx state=%s\n", (u64)pa,
			hypheap_test_state_names[hypheap_test_state]);
	mutex_unlock(&hypheap_test_lock);
	return simple_read_from_buffer(ubuf, count, ppos, line, len);
}

static const struct file_operations hypheap_test_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = hypheap_test_read,
	.write = hypheap_test_write,
	.llseek = default_llseek,
};

/* What the importer was given, in physical terms, for the answer. */
static void hypheap_import_describe(struct device *dev, struct sg_table *sgt)
{
	const size_t cap = sizeof(hypheap_import_answer) - 1;
	unsigned int i, bounced = 0;
	struct scatterlist *sg;
	u64 bytes = 0;
	size_t len;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		if (is_swiotlb_buffer(dev, dma_to_phys(dev, sg_dma_address(sg))))
			bounced++;
		bytes += sg_dma_len(sg);
	}
	/* one byte kept back for the newline, so a cut answer ends a line */
	len = scnprintf(hypheap_import_answer, cap,
			"segments=%u bytes=%llu bounced=%u ranges=", sgt->nents,
			bytes, bounced);
	for_each_sgtable_dma_sg(sgt, sg, i)
		len += scnprintf(hypheap_import_answer + len, cap - len,
				 "%s%#llx+%#x", i ? "," : "",
				 (u64)dma_to_phys(dev, sg_dma_address(sg)),
				 sg_dma_len(sg));
	hypheap_import_answer[len] = '\n';
	hypheap_import_answer[len + 1] = '\0';
}

static int hypheap_import(int fd, u64 limit)
{
	struct device *dev = &hypheap_test_pdev->dev;
	struct dma_buf_attachment *att;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	int ret = 0;

	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	dev->bus_dma_limit = limit;
	att = dma_buf_attach(dmabuf, dev);
	if (IS_ERR(att)) {
		ret = PTR_ERR(att);
		goto out;
	}
	sgt = dma_buf_map_attachment(att, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
	} else {
		hypheap_import_describe(dev, sgt);
		dma_buf_unmap_attachment(att, sgt, DMA_BIDIRECTIONAL);
	}
	dma_buf_detach(dmabuf, att);
out:
	dev->bus_dma_limit = 0;
	dma_buf_put(dmabuf);
	return ret;
}

static ssize_t hypheap_import_write(struct file *file,
				    const char __user *ubuf, size_t count,
				    loff_t *ppos)
{
	u64 limit = 0;
	char cmd[64];
	int fd, ret;

	if (count >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, count))
		return -EFAULT;
	cmd[count] = '\0';
	ret = sscanf(cmd, "%d %llx", &fd, &limit);
	if (ret < 1)
		return -EINVAL;

	mutex_lock(&hypheap_import_lock);
	ret = hypheap_import(fd, limit);
	mutex_unlock(&hypheap_import_lock);
	return ret ?: count;
}

static ssize_t hypheap_import_read(struct file *file, char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&hypheap_import_lock);
	ret = simple_read_from_buffer(ubuf, count, ppos, hypheap_import_answer,
				      strlen(hypheap_import_answer));
	mutex_unlock(&hypheap_import_lock);
	return ret;
}

static const struct file_operations hypheap_import_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = hypheap_import_read,
	.write = hypheap_import_write,
	.llseek = default_llseek,
};

static int __init hypheap_test_init(void)
{
	int ret;

	hypheap_test_pdev = platform_device_register_simple("hypheap-test",
							    -1, NULL, 0);
	if (IS_ERR(hypheap_test_pdev))
		return PTR_ERR(hypheap_test_pdev);
	ret = dma_set_mask_and_coherent(&hypheap_test_pdev->dev,
					DMA_BIT_MASK(64));
	if (ret) {
		platform_device_unregister(hypheap_test_pdev);
		return ret;
	}
	hypheap_test_dir = debugfs_create_dir("hypheap_test", NULL);
	debugfs_create_file("page", 0600, hypheap_test_dir, NULL,
			    &hypheap_test_fops);
	debugfs_create_file("import", 0600, hypheap_test_dir, NULL,
			    &hypheap_import_fops);
	return 0;
}

static void __exit hypheap_test_exit(void)
{
	debugfs_remove_recursive(hypheap_test_dir);
	mutex_lock(&hypheap_test_lock);
	if (hypheap_test_state == HYPHEAP_TEST_LENT &&
	    hypheap_test_assign(&hypheap_test_host, HYPHEAP_TEST_LENT,
				HYPHEAP_TEST_HOST))
		/* the secure VM keeps it: never reuse the page */
		pr_err("page %pa stays lent, leaked\n",
		       &(phys_addr_t){ page_to_phys(hypheap_test_page) });
	if (hypheap_test_state == HYPHEAP_TEST_HOST)
		hypheap_test_free();
	mutex_unlock(&hypheap_test_lock);
	platform_device_unregister(hypheap_test_pdev);
}

module_init(hypheap_test_init);
module_exit(hypheap_test_exit);

MODULE_DESCRIPTION("hypheap test helper: lend one kernel page, import a dma-buf");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);

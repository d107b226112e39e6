// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap_dmaprobe: test-only module that lets root aim a DMA master the
 * host programs (QEMU's edu in slot 2) at a dma-buf, the way a host driver
 * would program its device with a buffer it imported, so user space (the
 * demo, tests) can see what the hypervisor's SMMU lets through. Never load
 * it on a product.
 *
 * <debugfs>/hypheap_dmaprobe/dma, root only:
 *   write "read <dma-buf fd>"           attach edu's device to the buffer,
 *         map it, have edu copy the first HYPHEAP_EDU_XFER bytes into its
 *         own buffer (filled with 0xee first) and from there into a
 *         host page, unmap, detach
 *   write "write <dma-buf fd> <byte>"   the same mapping; edu copies
 *         HYPHEAP_EDU_XFER bytes of <byte> from a host page into the start
 *         of the buffer
 *   read  the last command's answer: "read bytes=<hex of every byte the
 *         host page received>" or "write byte=0x<byte>"
 * The write fails with -ENODEV without the edu (no PCIe for the host),
 * with the errno of attach or map, or -ETIMEDOUT if edu did not finish.
 * What the SMMU blocked does not fail: edu cannot tell (a blocked read
 * gives it zeros, a blocked write is dropped); the hyp counts it in
 * STATS (DMA_FAULTS).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "hypheap_edu.h"

#define HHP_SENTINEL	0xee

static DEFINE_MUTEX(hhp_lock); /* one command at a time; protects the answer */
static char hhp_answer[16 + 2 * HYPHEAP_EDU_XFER];
static struct dentry *hhp_dir;

/* "read bytes=<hex>": %*ph stops at 64 bytes, bin2hex() does not. */
static void hhp_describe(const u8 *bytes)
{
	static const char prefix[] = "read bytes=";
	char *end;

	memcpy(hhp_answer, prefix, sizeof(prefix) - 1);
	end = bin2hex(hhp_answer + sizeof(prefix) - 1, bytes, HYPHEAP_EDU_XFER);
	end[0] = '\n';
	end[1] = '\0';
}

/* One transfer between @page and the edu buffer, through @dev's DMA API. */
static int hhp_stage(struct hypheap_edu *edu, struct device *dev,
		     struct page *page, bool to_ram)
{
	dma_addr_t addr;
	int ret;

	addr = dma_map_page(dev, page, 0, PAGE_SIZE, DMA_BIDIRECTIONAL);
	if (dma_mapping_error(dev, addr))
		return -ENOMEM;
	ret = hypheap_edu_dma(edu, addr, to_ram);
	dma_unmap_page(dev, addr, PAGE_SIZE, DMA_BIDIRECTIONAL);
	return ret;
}

static int hhp_run(int fd, bool read, u8 byte)
{
	struct dma_buf_attachment *att;
	struct hypheap_edu edu;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct device *dev;
	struct page *page;
	int ret;

	page = alloc_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	ret = hypheap_edu_get(&edu, HYPHEAP_EDU_HOST_SLOT);
	if (ret)
		goto free_page;
	dev = &edu.pdev->dev;
	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto put_edu;
	}
	att = dma_buf_attach(dmabuf, dev);
	if (IS_ERR(att)) {
		ret = PTR_ERR(att);
		goto put_buf;
	}
	sgt = dma_buf_map_attachment(att, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto detach;
	}
	/* first what edu holds before the attempt, so "nothing moved" shows */
	memset(page_address(page), read ? HHP_SENTINEL : byte, PAGE_SIZE);
	ret = hhp_stage(&edu, dev, page, false);
	if (!ret)
		ret = hypheap_edu_dma(&edu, sg_dma_address(sgt->sgl), !read);
	if (!ret && read) {
		memset(page_address(page), 0, PAGE_SIZE);
		ret = hhp_stage(&edu, dev, page, true);
	}
	if (!ret && read)
		hhp_describe(page_address(page));
	else if (!ret)
		scnprintf(hhp_answer, sizeof(hhp_answer), "write byte=%#x\n",
			  byte);
	dma_buf_unmap_attachment(att, sgt, DMA_BIDIRECTIONAL);
detach:
	dma_buf_detach(dmabuf, att);
put_buf:
	dma_buf_put(dmabuf);
put_edu:
	hypheap_edu_put(&edu);
free_page:
	__free_page(page);
	return ret;
}

static ssize_t hhp_write(struct file *file, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	unsigned int byte = 0;
	char cmd[48], op[8];
	int fd, n, ret;

	if (count >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, count))
		return -EFAULT;
	cmd[count] = '\0';
	n = sscanf(cmd, "%7s %d %x", op, &fd, &byte);
	if (n == 2 && !strcmp(op, "read"))
		byte = 0;
	else if (n != 3 || strcmp(op, "write") || byte > 0xff)
		return -EINVAL;

	mutex_lock(&hhp_lock);
	hhp_answer[0] = '\0';
	ret = hhp_run(fd, n == 2, byte);
	mutex_unlock(&hhp_lock);
	return ret ?: count;
}

static ssize_t hhp_read(struct file *file, char __user *ubuf, size_t count,
			loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&hhp_lock);
	ret = simple_read_from_buffer(ubuf, count, ppos, hhp_answer,
				      strlen(hhp_answer));
	mutex_unlock(&hhp_lock);
	return ret;
}

static const struct file_operations hhp_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = hhp_read,
	.write = hhp_write,
	.llseek = default_llseek,
};

static int __init hhp_init(void)
{
	hhp_dir = debugfs_create_dir("hypheap_dmaprobe", NULL);
	debugfs_create_file("dma", 0600, hhp_dir, NULL, &hhp_fops);
	return 0;
}

static void __exit hhp_exit(void)
{
	debugfs_remove_recursive(hhp_dir);
}

module_init(hhp_init);
module_exit(hhp_exit);

MODULE_DESCRIPTION("hypheap test only: aim the host's edu at a dma-buf");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);

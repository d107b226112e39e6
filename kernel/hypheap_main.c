// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap: protected dma-buf heaps whose memory the kernel allocates and a
 * hypervisor assigns to secure VMs.
 *
 * Once a heap is registered with dma-heap the module can no longer be
 * unloaded: Linux 6.1 cannot remove a dma-heap, so the heap code stays.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "hypheap_priv.h"

static int __init hypheap_init(void)
{
	int ret;

	hypheap_debugfs_init();
	ret = hypheap_probe_init();
	if (ret) {
		hypheap_debugfs_exit();
		return ret;
	}
	/* after the heaps: the client shares its argument pages through them */
	hypheap_svm_init();
	return 0;
}

static void __exit hypheap_exit(void)
{
	hypheap_svm_exit();
	hypheap_probe_exit();
	hypheap_debugfs_exit();
}

module_init(hypheap_init);
module_exit(hypheap_exit);

MODULE_DESCRIPTION("Protected dma-buf heaps assigned to VMs by a hypervisor");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
MODULE_IMPORT_NS(DMA_BUF_HEAP);

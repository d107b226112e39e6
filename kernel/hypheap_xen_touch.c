// SPDX-License-Identifier: GPL-2.0
/*
 * What a dom0 kernel read of a lent frame does under Xen 4.17 (scenario
 * xen-kernel-read, docs/xen.md): lend one page through the xen transport,
 * then read it with copy_from_kernel_nofault(). Xen injects a data abort
 * whose fault status is 0 (an address size fault), which Linux's arm64
 * fault handling cannot fix up even in a nofault accessor: the read is an
 * oops, and with panic_on_oops the end of dom0. The module load returning
 * at all is the failure.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "hypheap_priv.h"

static int __init hypheap_xen_touch_init(void)
{
	static const struct hypheap_vmperm to_svm = {
		.vmid = HYPHEAP_VMID_SECURE_0,
		.perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W,
	};
	u64 src = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
	struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	long ret;
	u8 byte;

	if (!page)
		return -ENOMEM;
	ret = hypheap_assign_mem(page_to_phys(page), PAGE_SIZE, &src, &to_svm,
				 1);
	if (ret) {
		pr_err("lend failed: %ld\n", ret);
		__free_page(page);
		return ret;
	}
	pr_info("reading lent pfn %#lx from the kernel with copy_from_kernel_nofault()\n",
		page_to_pfn(page));
	ret = copy_from_kernel_nofault(&byte, page_address(page), 1);
	/* reached only if Xen let the read through or Linux fixed it up */
	pr_err("HYPHEAP-XEN-TOUCH: the read returned %ld: no abort\n", ret);
	/* the page stays lent: never freed while the receiver may map it */
	return -EIO;
}
module_init(hypheap_xen_touch_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("hypheap: a dom0 kernel read of a frame lent through Xen");

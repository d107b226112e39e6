/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hypheap: protected dma-buf heaps whose pages are assigned to other VMs
 * by a hypervisor. Interface for other kernel drivers.
 */
#ifndef _HYPHEAP_H
#define _HYPHEAP_H

#include <linux/types.h>
#include <hypheap/abi.h>

struct dma_buf;

int hypheap_assign_mem(phys_addr_t mem_addr, size_t mem_sz, u64 *srcvm,
		       const struct hypheap_vmperm *newvm,
		       unsigned int dest_cnt);

struct dma_buf *hypheap_alloc_dmabuf(const char *name, size_t len,
				     u32 fd_flags);

#endif /* _HYPHEAP_H */

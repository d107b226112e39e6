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

/**
 * struct hypheap_query - answer of a MEM_QUERY call
 * @owners: bitmap of the VMs owning the first page (HYPHEAP_VMID_BIT())
 * @state: its HYPHEAP_STATE_* word (sharing state and flags)
 * @pages: leading pages, from the first, with that same owners and state
 */
struct hypheap_query {
	u64 owners;
	u64 state;
	u64 pages;
};

int hypheap_assign_mem(phys_addr_t mem_addr, size_t mem_sz, u64 *srcvm,
		       const struct hypheap_vmperm *newvm,
		       unsigned int dest_cnt);

struct dma_buf *hypheap_alloc_dmabuf(const char *name, size_t len,
				     u32 fd_flags);

int hypheap_mem_query(phys_addr_t addr, u64 nr_pages,
		      struct hypheap_query *q, long *status);
int hypheap_hyp_stat(unsigned int index, u64 *value, long *status);

#endif /* _HYPHEAP_H */

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

/*
 * The secure VM's services (include/hypheap/abi.h, "Secure VM"), through
 * Linux's FF-A driver. Buffers are dma-bufs of hypheap's own heaps. Each
 * call sets *@status to the secure VM's raw answer, or to
 * HYPHEAP_SVM_STATUS_NONE when it did not answer (then the return value is
 * the FF-A error: -ECANCELED once the partition has aborted).
 */
struct hypheap_svm;
struct iov_iter;

struct hypheap_svm_info {
	u32 version;
	u32 nr_vcpus;
	u32 features;
	u16 partition_id;
	u64 overlapped; /* calls that entered while another was inside (1.1) */
};

struct hypheap_svm *hypheap_svm_get(void);
void hypheap_svm_put(struct hypheap_svm *svm);
int hypheap_svm_info(struct hypheap_svm *svm, struct hypheap_svm_info *info,
		     long *status);
int hypheap_svm_hash(struct hypheap_svm *svm, struct dma_buf *buf,
		     size_t len, u8 digest[32], long *status);
int hypheap_svm_decrypt(struct hypheap_svm *svm, struct iov_iter *src,
			struct dma_buf *dst, const u8 iv[8], long *status);
int hypheap_svm_pin(struct hypheap_svm *svm, struct dma_buf *buf,
		    long *status);
int hypheap_svm_unpin(struct hypheap_svm *svm, struct dma_buf *buf,
		      long *status);
int hypheap_svm_unpin_all(struct hypheap_svm *svm, struct dma_buf *buf);
int hypheap_svm_fill(struct hypheap_svm *svm, struct dma_buf *buf,
		     u8 pattern, long *status);

#endif /* _HYPHEAP_H */

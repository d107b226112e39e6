// SPDX-License-Identifier: GPL-2.0
/*
 * The secure VM's protected memory, from the host: the dynamic protocol of
 * the upstream TEE heap over FF-A (Linux 6.18's OP-TEE driver), on Linux's
 * own FF-A driver: ask the partition for its config, lend a block with
 * ffa_dev->ops->mem_ops->memory_lend() (tag = use case), tell the partition
 * to take it (it retrieves the handle), and later to release it (it
 * relinquishes), then memory_reclaim() (include/hypheap/abi.h, "Protected
 * memory"). Registers only: no argument block, no slot.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/arm_ffa.h>
#include <linux/bits.h>
#include <linux/sched.h>
#include <linux/scatterlist.h>

#include "hypheap_priv.h"

/* The secure VM's protmem answers as errnos; the raw status stays in *status. */
static int hypheap_protmem_errno(long status, int ret)
{
	switch (status) {
	case HYPHEAP_SVM_ERR_PROTMEM_USE_CASE:
		return -EOPNOTSUPP;
	case HYPHEAP_SVM_ERR_PROTMEM_NOT_LENT:
		return -ENOENT;
	case HYPHEAP_SVM_ERR_PROTMEM_TAKEN:
		return -EALREADY;
	case HYPHEAP_SVM_ERR_PROTMEM_NOT_HELD:
		return -ESRCH;
	case HYPHEAP_SVM_ERR_PROTMEM_HYP:
		return -EPROTO;
	default:
		return ret;
	}
}

static int hypheap_protmem_call(struct hypheap_svm *svm, u64 data[5],
				long *status)
{
	int ret = hypheap_svm_direct(svm, data, status);

	return ret ? hypheap_protmem_errno(*status, ret) : 0;
}

/**
 * hypheap_svm_protmem_config() - what the partition wants lent for a use case
 * @svm: the partition
 * @use_case: HYPHEAP_PROTMEM_USE_*
 * @cfg: its answer
 * @status: the secure VM's answer
 *
 * Return: 0, -EOPNOTSUPP for a use case it keeps no memory for, -EPROTO
 * for an answer that makes no sense, or another errno.
 */
int hypheap_svm_protmem_config(struct hypheap_svm *svm, u32 use_case,
			       struct hypheap_protmem_config *cfg,
			       long *status)
{
	u64 data[5] = { HYPHEAP_SVM_OP_PROTMEM_CONFIG, use_case };
	int ret = hypheap_protmem_call(svm, data, status);

	if (ret)
		return ret;
	/* one receiver, the partition itself, a power-of-two grid of pages */
	if (data[3] != 1 || (u16)data[4] != hypheap_svm_ffa(svm)->vm_id ||
	    !data[1] || !data[2] || !is_power_of_2(data[2]) ||
	    !PAGE_ALIGNED(data[1]) || !PAGE_ALIGNED(data[2]) ||
	    data[1] % data[2])
		return -EPROTO;
	cfg->min_size = data[1];
	cfg->align = data[2];
	cfg->receiver = (u16)data[4];
	cfg->perms = (u8)(data[4] >> 16);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_svm_protmem_config);

/**
 * hypheap_svm_protmem_lend() - lend one block to the partition with FF-A
 * @svm: the partition
 * @cfg: its config (receiver and permissions)
 * @sgt: the block, page-backed and host owned
 * @use_case: the FF-A memory tag
 * @handle: the FF-A memory handle
 *
 * Return: 0 or the errno of memory_lend(): the block is then still the
 * host's (the hyp validates a whole transaction before changing anything).
 */
int hypheap_svm_protmem_lend(struct hypheap_svm *svm,
			     const struct hypheap_protmem_config *cfg,
			     struct sg_table *sgt, u32 use_case, u64 *handle)
{
	struct ffa_device *ffa = hypheap_svm_ffa(svm);
	struct ffa_mem_region_attributes attr = {
		.receiver = cfg->receiver,
		.attrs = FFA_MEM_RW,
	};
	struct ffa_mem_ops_args args = {
		.use_txbuf = true,
		.nattrs = 1,
		.tag = use_case,
		.sg = sgt->sgl,
		.attrs = &attr,
	};
	int ret;

	if (cfg->perms != HYPHEAP_PROTMEM_PERM_RW)
		return -EPROTO;
	ret = ffa->ops->mem_ops->memory_lend(&args);
	if (!ret)
		*handle = args.g_handle;
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_svm_protmem_lend);

/**
 * hypheap_svm_protmem_assign() - tell the partition to take a lent block
 * @svm: the partition
 * @handle: the FF-A memory handle
 * @use_case: what the block is for
 * @status: the secure VM's answer
 *
 * Return: 0 (FFA_MEM_RECLAIM now answers DENIED until the release), or
 * -ENOENT (not lent to it), -EALREADY (taken already), -EOPNOTSUPP (not a
 * use case of its), -EPROTO, or the FF-A call's errno.
 */
int hypheap_svm_protmem_assign(struct hypheap_svm *svm, u64 handle,
			       u32 use_case, long *status)
{
	u64 data[5] = { HYPHEAP_SVM_OP_PROTMEM_ASSIGN, handle, use_case };

	return hypheap_protmem_call(svm, data, status);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_svm_protmem_assign);

/**
 * hypheap_svm_protmem_release() - tell the partition to give a block back
 * @svm: the partition
 * @handle: the FF-A memory handle
 * @status: the secure VM's answer
 *
 * Return: 0, -ESRCH when it does not hold the block, -ENOENT when the
 * handle is no live lend, or another errno.
 */
int hypheap_svm_protmem_release(struct hypheap_svm *svm, u64 handle,
				long *status)
{
	u64 data[5] = { HYPHEAP_SVM_OP_PROTMEM_RELEASE, handle };

	return hypheap_protmem_call(svm, data, status);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_svm_protmem_release);

/*
 * Calls of one reclaim before it gives up with -EAGAIN: 2 MiB each, so 128
 * GiB, past any block; only a hyp short of table pages for a piece (which it
 * answers RETRY without progress) gets that far.
 */
#define HYPHEAP_PROTMEM_RECLAIM_CALLS	BIT(16)

/**
 * hypheap_svm_protmem_reclaim() - take a lent block back with FF-A
 * @svm: the partition
 * @handle: the FF-A memory handle
 *
 * The hyp reclaims a block of more than 2 MiB one 2 MiB piece per call,
 * so that no call holds the CPU longer than one piece's scrub, and answers
 * FFA_ERROR(RETRY), -EAGAIN here, until the last piece: the block stays the
 * reclaim's (MEM_QUERY says pending) and this calls again, letting the
 * scheduler in between.
 *
 * Return: 0, the block is the host's again (zeroed by the hyp); or the
 * errno of memory_reclaim(): -EACCES (DENIED: the partition holds it),
 * -EBUSY (pinned or in use by a call), -EINVAL (no such handle), -ENOMEM
 * (no table pages, or every slot for a long call taken: nothing done),
 * -EAGAIN (still in progress after HYPHEAP_PROTMEM_RECLAIM_CALLS calls;
 * a later call continues it)...
 */
int hypheap_svm_protmem_reclaim(struct hypheap_svm *svm, u64 handle)
{
	const struct ffa_mem_ops *ops = hypheap_svm_ffa(svm)->ops->mem_ops;
	unsigned int calls;
	int ret = -EAGAIN;

	for (calls = 0; calls < HYPHEAP_PROTMEM_RECLAIM_CALLS; calls++) {
		ret = ops->memory_reclaim(handle, 0);
		if (ret != -EAGAIN)
			break;
		cond_resched();
	}
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_svm_protmem_reclaim);

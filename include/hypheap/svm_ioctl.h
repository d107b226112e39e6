/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * User-space interface of hypheap's secure-VM client (kernel/hypheap_svm.c):
 * ioctls on /dev/hypheap-svm, each taking a dma-buf fd of one of hypheap's
 * own heaps. The secure VM's protocol behind it is include/hypheap/abi.h,
 * "Secure VM"; docs/kernel.md describes the device.
 *
 * Every call returns 0 or -1 with errno, and fills @status with the secure
 * VM's raw answer (HYPHEAP_SVM_OK or a HYPHEAP_SVM_ERR_*) when it answered,
 * HYPHEAP_SVM_STATUS_NONE when the call did not reach it.
 */
#ifndef HYPHEAP_SVM_IOCTL_H
#define HYPHEAP_SVM_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define HYPHEAP_SVM_DEVICE "/dev/hypheap-svm"
#define HYPHEAP_SVM_STATUS_NONE 1

struct hypheap_svm_info_arg {
	__s64 status;
	__u32 version;	    /* HYPHEAP_SVM_VERSION */
	__u32 nr_vcpus;
	__u32 features;	    /* HYPHEAP_SVM_F_* */
	__u16 partition_id; /* FF-A id of the partition */
	__u16 reserved;	    /* 0 */
};

/* SHA-256 of the first @len bytes of a protected buffer (0: all of it). */
struct hypheap_svm_hash_arg {
	__s64 status;
	__s32 fd;
	__u32 reserved; /* 0 */
	__u64 len;
	__u8 digest[32];
};

/*
 * AES-128-CTR ('cenc', 8-byte IV) of @len bytes of ciphertext at user
 * address @src into the first @len bytes of the protected buffer @dst_fd.
 * The ciphertext is copied into pages shared with the secure VM for the
 * call; the plaintext only ever exists in the lent buffer.
 */
struct hypheap_svm_decrypt_arg {
	__s64 status;
	__u64 src;
	__u64 len;
	__s32 dst_fd;
	__u32 reserved; /* 0 */
	__u8 iv[8];
};

/* PIN, UNPIN (whole buffer) and FILL (@pattern's low byte, whole buffer). */
struct hypheap_svm_buf_arg {
	__s64 status;
	__s32 fd;
	__u32 reserved; /* 0 */
	__u64 pattern;	/* FILL only, else 0 */
};

#define HYPHEAP_SVM_IOC_MAGIC 'H'
#define HYPHEAP_SVM_IOC_INFO _IOR(HYPHEAP_SVM_IOC_MAGIC, 0x40, struct hypheap_svm_info_arg)
#define HYPHEAP_SVM_IOC_HASH _IOWR(HYPHEAP_SVM_IOC_MAGIC, 0x41, struct hypheap_svm_hash_arg)
#define HYPHEAP_SVM_IOC_DECRYPT _IOWR(HYPHEAP_SVM_IOC_MAGIC, 0x42, struct hypheap_svm_decrypt_arg)
#define HYPHEAP_SVM_IOC_PIN _IOWR(HYPHEAP_SVM_IOC_MAGIC, 0x43, struct hypheap_svm_buf_arg)
#define HYPHEAP_SVM_IOC_UNPIN _IOWR(HYPHEAP_SVM_IOC_MAGIC, 0x44, struct hypheap_svm_buf_arg)
#define HYPHEAP_SVM_IOC_FILL _IOWR(HYPHEAP_SVM_IOC_MAGIC, 0x45, struct hypheap_svm_buf_arg)

#endif /* HYPHEAP_SVM_IOCTL_H */

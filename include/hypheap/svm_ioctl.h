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

/*
 * SHA-256 of the first @len bytes of a protected buffer (0: all of it); a
 * page multiple, since the host cannot read those pages (abi.h, "Whole pages
 * wherever the host cannot read").
 */
struct hypheap_svm_hash_arg {
	__s64 status;
	__s32 fd;
	__u32 reserved; /* 0 */
	__u64 len;
	__u8 digest[32];
};

/*
 * AES-128-CTR ('cenc', 8-byte IV) of @len bytes of ciphertext at user
 * address @src into the first @len bytes of the protected buffer @dst_fd,
 * which must be open for writing. @len is a page multiple: a frame is
 * encrypted padded to whole pages. The ciphertext is copied into pages
 * shared with the secure VM for the call; the plaintext only ever exists in
 * the lent buffer.
 */
struct hypheap_svm_decrypt_arg {
	__s64 status;
	__u64 src;
	__u64 len;
	__s32 dst_fd;
	__u32 reserved; /* 0 */
	__u8 iv[8];
};

/*
 * PIN, UNPIN and FILL (@pattern, 0..0xff; FILL needs the buffer open for
 * writing), each on the whole buffer. A pin belongs to the open file of
 * /dev/hypheap-svm that made it: only that file can UNPIN it, and closing the
 * file undoes its pins (the pin holds a reference to the buffer meanwhile).
 */
struct hypheap_svm_buf_arg {
	__s64 status;
	__s32 fd;
	__u32 reserved; /* 0 */
	__u64 pattern;	/* FILL only, else 0 */
};

/* 0xB2 00-0F: unassigned in Linux 6.1's Documentation/userspace-api/ioctl/ioctl-number.rst */
#define HYPHEAP_SVM_IOC_MAGIC 0xB2
#define HYPHEAP_SVM_IOC_INFO _IOR(HYPHEAP_SVM_IOC_MAGIC, 0x00, struct hypheap_svm_info_arg)
#define HYPHEAP_SVM_IOC_HASH _IOWR(HYPHEAP_SVM_IOC_MAGIC, 0x01, struct hypheap_svm_hash_arg)
#define HYPHEAP_SVM_IOC_DECRYPT _IOWR(HYPHEAP_SVM_IOC_MAGIC, 0x02, struct hypheap_svm_decrypt_arg)
#define HYPHEAP_SVM_IOC_PIN _IOWR(HYPHEAP_SVM_IOC_MAGIC, 0x03, struct hypheap_svm_buf_arg)
#define HYPHEAP_SVM_IOC_UNPIN _IOWR(HYPHEAP_SVM_IOC_MAGIC, 0x04, struct hypheap_svm_buf_arg)
#define HYPHEAP_SVM_IOC_FILL _IOWR(HYPHEAP_SVM_IOC_MAGIC, 0x05, struct hypheap_svm_buf_arg)

#endif /* HYPHEAP_SVM_IOCTL_H */

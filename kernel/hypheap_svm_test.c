// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the secure VM through the real path: Linux's arm_ffa
 * driver, hypheap's client, the hypervisor's FF-A, the partition's
 * services. The kernel's own crypto API (ctr(aes), sha256) is the oracle
 * for DECRYPT and HASH. Needs the hypheap hypervisor with its partition;
 * fails, not skips, without it.
 */

#include <crypto/hash.h>
#include <crypto/skcipher.h>
#include <kunit/test.h>
#include <linux/arm-smccc.h>
#include <linux/completion.h>
#include <linux/dma-buf.h>
#include <linux/file.h>
#include <linux/hrtimer.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>
#include <hypheap/svm_ioctl.h>

#include "hypheap.h"
#include "hypheap_hyp_test_util.h"
#include "hypheap_priv.h"

#define SVM_HEAP "protected,secure-video"
#define OTHER_VM_HEAP "protected,trusted-ui" /* lent to VM 11 */

static const u8 svm_test_key[16] = HYPHEAP_SVM_TEST_KEY;

/* (KUNIT_EXPECT_MEMEQ is 6.2's) */
static void svm_expect_digest(struct kunit *test, const u8 *got,
			      const u8 *want)
{
	KUNIT_EXPECT_EQ_MSG(test, memcmp(got, want, 32), 0,
			    "secure VM %32phN, kernel %32phN", got, want);
}

static struct hypheap_svm *svm_get(struct kunit *test)
{
	struct hypheap_svm *svm = hypheap_svm_get();

	KUNIT_ASSERT_NOT_NULL_MSG(test, svm, "no secure-VM partition bound");
	return svm;
}

static struct dma_buf *svm_alloc(struct kunit *test, const char *heap,
				 size_t len)
{
	struct dma_buf *buf = hypheap_alloc_dmabuf(heap, len, O_RDWR);

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(buf), "alloc %s %zu: %ld", heap,
			       len, PTR_ERR(buf));
	return buf;
}

/* SHA-256 of @len bytes, each @pattern, by the kernel's crypto API. */
static void oracle_sha256_pattern(struct kunit *test, u8 pattern, size_t len,
				  u8 out[32])
{
	struct crypto_shash *tfm = crypto_alloc_shash("sha256", 0, 0);
	u8 *page = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_FALSE(test, IS_ERR(tfm));
	KUNIT_ASSERT_NOT_NULL(test, page);
	memset(page, pattern, PAGE_SIZE);
	{
		SHASH_DESC_ON_STACK(desc, tfm);

		desc->tfm = tfm;
		KUNIT_ASSERT_EQ(test, crypto_shash_init(desc), 0);
		while (len) {
			size_t n = min_t(size_t, len, PAGE_SIZE);

			KUNIT_ASSERT_EQ(test, crypto_shash_update(desc, page, n), 0);
			len -= n;
		}
		KUNIT_ASSERT_EQ(test, crypto_shash_final(desc, out), 0);
	}
	crypto_free_shash(tfm);
}

static void oracle_sha256(struct kunit *test, const void *data, size_t len,
			  u8 out[32])
{
	struct crypto_shash *tfm = crypto_alloc_shash("sha256", 0, 0);

	KUNIT_ASSERT_FALSE(test, IS_ERR(tfm));
	KUNIT_EXPECT_EQ(test, crypto_shash_tfm_digest(tfm, data, len, out), 0);
	crypto_free_shash(tfm);
}

/* AES-128-CTR with the CENC 8-byte IV layout: iv || be64 block number. */
static void oracle_aes_ctr(struct kunit *test, const u8 iv8[8], const u8 *in,
			   u8 *out, size_t len)
{
	struct crypto_skcipher *tfm = crypto_alloc_skcipher("ctr(aes)", 0, 0);
	struct skcipher_request *req;
	struct scatterlist src, dst;
	DECLARE_CRYPTO_WAIT(wait);
	u8 iv[16] = {};

	KUNIT_ASSERT_FALSE(test, IS_ERR(tfm));
	KUNIT_ASSERT_EQ(test, crypto_skcipher_setkey(tfm, svm_test_key,
						     sizeof(svm_test_key)), 0);
	req = skcipher_request_alloc(tfm, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, req);
	memcpy(iv, iv8, 8);
	sg_init_one(&src, in, len);
	sg_init_one(&dst, out, len);
	skcipher_request_set_callback(req, 0, crypto_req_done, &wait);
	skcipher_request_set_crypt(req, &src, &dst, len, iv);
	KUNIT_EXPECT_EQ(test, crypto_wait_req(crypto_skcipher_encrypt(req),
					      &wait), 0);
	skcipher_request_free(req);
	crypto_free_skcipher(tfm);
}

/* As oracle_aes_ctr(), on vmalloc()ed memory (page by page in the sg lists). */
static void oracle_aes_ctr_vmalloc(struct kunit *test, const u8 iv8[8],
				   const u8 *in, u8 *out, size_t len)
{
	struct crypto_skcipher *tfm = crypto_alloc_skcipher("ctr(aes)", 0, 0);
	unsigned int n = DIV_ROUND_UP(len, PAGE_SIZE), i;
	struct skcipher_request *req;
	struct sg_table src, dst;
	DECLARE_CRYPTO_WAIT(wait);
	struct scatterlist *s, *d;
	u8 iv[16] = {};

	KUNIT_ASSERT_FALSE(test, IS_ERR(tfm));
	KUNIT_ASSERT_EQ(test, crypto_skcipher_setkey(tfm, svm_test_key,
						     sizeof(svm_test_key)), 0);
	KUNIT_ASSERT_EQ(test, sg_alloc_table(&src, n, GFP_KERNEL), 0);
	KUNIT_ASSERT_EQ(test, sg_alloc_table(&dst, n, GFP_KERNEL), 0);
	for (i = 0, s = src.sgl, d = dst.sgl; i < n;
	     i++, s = sg_next(s), d = sg_next(d)) {
		size_t off = (size_t)i * PAGE_SIZE;
		size_t piece = min_t(size_t, PAGE_SIZE, len - off);

		sg_set_page(s, vmalloc_to_page(in + off), piece, 0);
		sg_set_page(d, vmalloc_to_page(out + off), piece, 0);
	}
	req = skcipher_request_alloc(tfm, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, req);
	memcpy(iv, iv8, 8);
	skcipher_request_set_callback(req, 0, crypto_req_done, &wait);
	skcipher_request_set_crypt(req, src.sgl, dst.sgl, len, iv);
	KUNIT_EXPECT_EQ(test, crypto_wait_req(crypto_skcipher_encrypt(req),
					      &wait), 0);
	skcipher_request_free(req);
	sg_free_table(&src);
	sg_free_table(&dst);
	crypto_free_skcipher(tfm);
}

static void info_names_the_partition(struct kunit *test)
{
	struct hypheap_svm *svm = svm_get(test);
	struct hypheap_svm_info info;
	long status;

	KUNIT_EXPECT_EQ(test, hypheap_svm_info(svm, &info, &status), 0);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_OK);
	KUNIT_EXPECT_EQ(test, info.version, HYPHEAP_SVM_VERSION);
	KUNIT_EXPECT_EQ(test, info.nr_vcpus, num_possible_cpus());
	KUNIT_EXPECT_EQ(test, info.partition_id, (u16)HYPHEAP_FFA_ID_SVM);
	KUNIT_EXPECT_TRUE(test, info.features & HYPHEAP_SVM_F_FAULT);
	hypheap_svm_put(svm);
}

/* FILL by the secure VM, then HASH by it, against the kernel's SHA-256. */
static void fill_then_hash_matches_kernel_sha256(struct kunit *test)
{
	struct hypheap_svm *svm = svm_get(test);
	size_t len = SZ_2M + SZ_1M + SZ_4K;
	struct dma_buf *buf = svm_alloc(test, SVM_HEAP, len);
	u8 got[32], want[32];
	long status;

	KUNIT_EXPECT_EQ(test, hypheap_svm_fill(svm, buf, 0xa5, &status), 0);
	KUNIT_EXPECT_EQ(test, hypheap_svm_hash(svm, buf, 0, got, &status), 0);
	oracle_sha256_pattern(test, 0xa5, len, want);
	svm_expect_digest(test, got, want);

	/* a prefix of whole pages */
	KUNIT_EXPECT_EQ(test, hypheap_svm_hash(svm, buf, SZ_1M, got, &status),
			0);
	oracle_sha256_pattern(test, 0xa5, SZ_1M, want);
	svm_expect_digest(test, got, want);
	/* a part of a page the host cannot read is never hashed */
	KUNIT_EXPECT_EQ(test, hypheap_svm_hash(svm, buf, SZ_1M + 17, got,
					       &status), -EINVAL);
	dma_buf_put(buf);
	hypheap_svm_put(svm);
}

/*
 * A FILL of a buffer of 2 MiB blocks (what a heap pool asks for every freed
 * buffer) holds whole blocks: the hypervisor changes their hold bit in
 * place and never splits the secure VM's block mapping. With 1 MiB requests
 * every hold split a block and every release merged it back, two
 * break-before-makes and two VMID-wide TLB invalidations per request.
 */
static void fill_of_whole_blocks_splits_nothing(struct kunit *test)
{
	struct hypheap_svm *svm = svm_get(test);
	bool hvc = hypheap_ktest_conduit_hvc(test);
	struct hypheap_buffer *hb;
	struct scatterlist *sg;
	struct dma_buf *buf;
	u64 splits, merges;
	unsigned int i;
	long status;

	/*
	 * The counters are the whole hyp's: the reclaim of an earlier case's
	 * buffer (a kthread's last fput is deferred) must not land in them.
	 */
	flush_delayed_fput();
	buf = svm_alloc(test, SVM_HEAP, 2 * SZ_2M);
	hb = hypheap_buffer_of(buf);
	for_each_sgtable_sg(&hb->mem.sgt, sg, i)
		if (sg->length != SZ_2M || !IS_ALIGNED(sg_phys(sg), SZ_2M)) {
			dma_buf_put(buf);
			hypheap_svm_put(svm);
			kunit_skip(test, "no 2 MiB blocks to be had");
		}
	splits = hypheap_ktest_stat(test, hvc, HYPHEAP_STAT_BLOCK_SPLITS);
	merges = hypheap_ktest_stat(test, hvc, HYPHEAP_STAT_BLOCK_MERGES);
	KUNIT_EXPECT_EQ(test, hypheap_svm_fill(svm, buf, 0, &status), 0);
	KUNIT_EXPECT_EQ(test, hypheap_ktest_stat(test, hvc,
						 HYPHEAP_STAT_BLOCK_SPLITS),
			splits);
	KUNIT_EXPECT_EQ(test, hypheap_ktest_stat(test, hvc,
						 HYPHEAP_STAT_BLOCK_MERGES),
			merges);
	dma_buf_put(buf);
	hypheap_svm_put(svm);
}

/*
 * Ciphertext made by the kernel's ctr(aes) with the test key; the secure VM
 * decrypts it into a lent buffer the host cannot read; its HASH of the
 * plaintext equals the kernel's SHA-256 of the plaintext.
 */
static void decrypt_matches_kernel_aes_ctr(struct kunit *test)
{
	struct hypheap_svm *svm = svm_get(test);
	size_t len = SZ_64K + SZ_8K; /* a frame padded to whole pages */
	struct dma_buf *buf = svm_alloc(test, SVM_HEAP, SZ_64K + SZ_8K);
	u8 *plain = kunit_kmalloc(test, len, GFP_KERNEL);
	u8 *cipher = kunit_kmalloc(test, len, GFP_KERNEL);
	const u8 iv[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	u8 got[32], want[32];
	struct iov_iter iter;
	struct kvec kv;
	long status;

	KUNIT_ASSERT_NOT_NULL(test, plain);
	KUNIT_ASSERT_NOT_NULL(test, cipher);
	get_random_bytes(plain, len);
	oracle_aes_ctr(test, iv, plain, cipher, len);

	kv.iov_base = cipher;
	kv.iov_len = len;
	iov_iter_kvec(&iter, WRITE, &kv, 1, len);
	KUNIT_EXPECT_EQ(test, hypheap_svm_decrypt(svm, &iter, buf, iv, &status),
			0);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_OK);
	KUNIT_EXPECT_EQ(test, hypheap_svm_hash(svm, buf, len, got, &status), 0);
	oracle_sha256(test, plain, len, want);
	svm_expect_digest(test, got, want);
	dma_buf_put(buf);
	hypheap_svm_put(svm);
}

/* A buffer lent to VM 11 is not the partition's to read or write. */
static void buffer_of_another_vm_is_not_owned(struct kunit *test)
{
	struct hypheap_svm *svm = svm_get(test);
	struct dma_buf *buf = svm_alloc(test, OTHER_VM_HEAP, SZ_64K);
	u8 digest[32];
	long status;

	KUNIT_EXPECT_EQ(test, hypheap_svm_hash(svm, buf, 0, digest, &status),
			-EACCES);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_ERR_NOT_OWNED);
	KUNIT_EXPECT_EQ(test, hypheap_svm_fill(svm, buf, 1, &status), -EACCES);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_ERR_NOT_OWNED);
	dma_buf_put(buf);
	hypheap_svm_put(svm);
}

/* ---- raw requests: every rejection the client itself never provokes ---- */

/**
 * struct svm_raw - a page the test shares with the secure VM, holding an
 * argument block it writes as it likes, and one it keeps for itself
 */
struct svm_raw {
	struct hypheap_svm *svm;
	struct page *shared;
	struct page *private;
	struct hypheap_svm_args *args;
	struct hypheap_mem_range *r;
};

/* RW for both: a FILL there is refused for the host's access alone */
static const struct hypheap_vmperm svm_raw_share[] = {
	{ .vmid = HYPHEAP_VMID_HOST, .perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W },
	{ .vmid = HYPHEAP_VMID_SECURE_0,
	  .perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W },
};

static const struct hypheap_vmperm svm_raw_host = {
	.vmid = HYPHEAP_VMID_HOST,
	.perms = HYPHEAP_PERM_RWX,
};

static void svm_raw_exit(struct kunit_resource *res)
{
	struct svm_raw *raw = res->data;
	u64 owners = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST) |
		     HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);

	if (hypheap_assign_mem(page_to_phys(raw->shared), PAGE_SIZE, &owners,
			       &svm_raw_host, 1) == 0)
		__free_page(raw->shared);
	__free_page(raw->private);
	hypheap_svm_put(raw->svm);
}

static int svm_raw_init(struct kunit_resource *res, void *context)
{
	struct svm_raw *raw = context;
	u64 owners = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);

	raw->svm = hypheap_svm_get();
	if (!raw->svm)
		return -ENODEV;
	raw->shared = alloc_page(GFP_KERNEL | __GFP_ZERO);
	raw->private = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!raw->shared || !raw->private ||
	    hypheap_assign_mem(page_to_phys(raw->shared), PAGE_SIZE, &owners,
			       svm_raw_share, ARRAY_SIZE(svm_raw_share))) {
		if (raw->shared)
			__free_page(raw->shared);
		if (raw->private)
			__free_page(raw->private);
		hypheap_svm_put(raw->svm);
		return -ENOMEM;
	}
	raw->args = page_address(raw->shared);
	raw->r = (struct hypheap_mem_range *)(raw->args + 1);
	res->data = raw;
	return 0;
}

static struct svm_raw *svm_raw(struct kunit *test)
{
	struct svm_raw *raw = kunit_kzalloc(test, sizeof(*raw), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, raw);
	KUNIT_ASSERT_NOT_NULL(test, kunit_alloc_resource(test, svm_raw_init,
							 svm_raw_exit,
							 GFP_KERNEL, raw));
	return raw;
}

/* A well-formed block for @op with @nr_src/@nr_dst ranges (zeroed). */
static size_t svm_raw_block(struct svm_raw *raw, u32 op, u16 nr_src,
			    u16 nr_dst)
{
	memset(raw->args, 0, PAGE_SIZE);
	raw->args->version = HYPHEAP_SVM_ARGS_VERSION;
	raw->args->op = op;
	raw->args->nr_src = nr_src;
	raw->args->nr_dst = nr_dst;
	return HYPHEAP_SVM_ARGS_SIZE(nr_src, nr_dst);
}

static long svm_raw_call(struct svm_raw *raw, u32 op, phys_addr_t pa,
			 u64 len, u64 data3, u64 data4)
{
	u64 d[5] = { op, pa, len, data3, data4 };
	long status;

	hypheap_svm_direct(raw->svm, d, &status);
	return status;
}

static long svm_raw_send(struct svm_raw *raw, size_t len)
{
	return svm_raw_call(raw, raw->args->op, page_to_phys(raw->shared), len,
			    0, 0);
}

static void raw_argument_block_rejections(struct kunit *test)
{
	struct svm_raw *raw = svm_raw(test);
	phys_addr_t pa = page_to_phys(raw->shared);
	size_t len;

	KUNIT_EXPECT_EQ(test, svm_raw_call(raw, 99, 0, 0, 0, 0),
			(long)HYPHEAP_SVM_ERR_NOT_SUPPORTED);
	KUNIT_EXPECT_EQ(test, svm_raw_call(raw, HYPHEAP_SVM_OP_INFO, pa, 0, 0, 0),
			(long)HYPHEAP_SVM_ERR_ARGS_RESERVED);

	len = svm_raw_block(raw, HYPHEAP_SVM_OP_HASH, 1, 0);
	raw->r[0].addr = pa;
	raw->r[0].size = 64;
	KUNIT_EXPECT_EQ(test, svm_raw_call(raw, HYPHEAP_SVM_OP_HASH, pa, len, 1, 0),
			(long)HYPHEAP_SVM_ERR_ARGS_RESERVED);
	KUNIT_EXPECT_EQ(test, svm_raw_call(raw, HYPHEAP_SVM_OP_HASH, pa + 4, len,
					   0, 0),
			(long)HYPHEAP_SVM_ERR_ARGS_ADDR);
	KUNIT_EXPECT_EQ(test, svm_raw_call(raw, HYPHEAP_SVM_OP_HASH,
					   pa + PAGE_SIZE - 16, len, 0, 0),
			(long)HYPHEAP_SVM_ERR_ARGS_ADDR);
	KUNIT_EXPECT_EQ(test, svm_raw_call(raw, HYPHEAP_SVM_OP_HASH,
					   page_to_phys(raw->private), len, 0, 0),
			(long)HYPHEAP_SVM_ERR_ARGS_NOT_SHARED);
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len + 16),
			(long)HYPHEAP_SVM_ERR_ARGS_LEN);

	raw->args->version++;
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len),
			(long)HYPHEAP_SVM_ERR_ARGS_VERSION);
	raw->args->version--;
	KUNIT_EXPECT_EQ(test, svm_raw_call(raw, HYPHEAP_SVM_OP_FILL, pa, len, 0, 0),
			(long)HYPHEAP_SVM_ERR_ARGS_OP);
	raw->args->reserved = 1;
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len),
			(long)HYPHEAP_SVM_ERR_ARGS_RESERVED);
	raw->args->reserved = 0;
	raw->args->pattern = 1; /* HASH takes no pattern */
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len),
			(long)HYPHEAP_SVM_ERR_ARGS_RESERVED);
	raw->args->pattern = 0;
	/* and the block itself, well formed, is accepted */
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len), (long)HYPHEAP_SVM_OK);
}

static void raw_range_rejections(struct kunit *test)
{
	struct svm_raw *raw = svm_raw(test);
	phys_addr_t pa = page_to_phys(raw->shared);
	struct resource carve[4];
	size_t len;

	len = svm_raw_block(raw, HYPHEAP_SVM_OP_HASH, 1, 1);
	raw->r[0] = (struct hypheap_mem_range){ pa, 64 };
	raw->r[1] = (struct hypheap_mem_range){ pa, 64 };
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len),
			(long)HYPHEAP_SVM_ERR_RANGE_COUNT);

	len = svm_raw_block(raw, HYPHEAP_SVM_OP_HASH, 1, 0);
	raw->r[0] = (struct hypheap_mem_range){ pa, 0 };
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len),
			(long)HYPHEAP_SVM_ERR_RANGE_SIZE);
	raw->r[0] = (struct hypheap_mem_range){ pa, U64_MAX - pa + 2 };
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len),
			(long)HYPHEAP_SVM_ERR_RANGE_SIZE);

	/* a page the host keeps for itself */
	raw->r[0] = (struct hypheap_mem_range){ page_to_phys(raw->private), 64 };
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len),
			(long)HYPHEAP_SVM_ERR_NOT_OWNED);
	/* the secure VMs' own carve-out is never a service's to name */
	KUNIT_ASSERT_GT(test, hypheap_ktest_carveouts(carve, ARRAY_SIZE(carve)),
			0U);
	raw->r[0] = (struct hypheap_mem_range){ carve[0].start, 64 };
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len),
			(long)HYPHEAP_SVM_ERR_NOT_OWNED);

	len = svm_raw_block(raw, HYPHEAP_SVM_OP_PIN, 1, 0);
	raw->r[0] = (struct hypheap_mem_range){ pa + 8, PAGE_SIZE };
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len),
			(long)HYPHEAP_SVM_ERR_RANGE_UNALIGNED);

	/* the shared page is readable by the host: no FILL, no DECRYPT there */
	len = svm_raw_block(raw, HYPHEAP_SVM_OP_FILL, 0, 1);
	raw->r[0] = (struct hypheap_mem_range){ pa, PAGE_SIZE };
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len),
			(long)HYPHEAP_SVM_ERR_HOST_READABLE);

	len = svm_raw_block(raw, HYPHEAP_SVM_OP_DECRYPT, 1, 1);
	raw->r[0] = (struct hypheap_mem_range){ pa + 2048, PAGE_SIZE };
	raw->r[1] = (struct hypheap_mem_range){ pa, PAGE_SIZE };
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len),
			(long)HYPHEAP_SVM_ERR_OVERLAP);
}

/* A lent buffer's pages, as the hypervisor sees them. */
static void test_expect_owner(struct kunit *test, struct sg_table *sgt,
			      u64 owners)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_sg(sgt, sg, i) {
		struct hypheap_query q;

		KUNIT_ASSERT_EQ(test, hypheap_mem_query(sg_phys(sg),
							sg->length >> PAGE_SHIFT,
							&q, NULL), 0);
		KUNIT_EXPECT_EQ(test, q.owners, owners);
		KUNIT_EXPECT_EQ(test, q.pages, (u64)(sg->length >> PAGE_SHIFT));
	}
}

static void raw_decrypt_length_mismatch_and_pin_state(struct kunit *test)
{
	struct svm_raw *raw = svm_raw(test);
	struct dma_buf *buf = svm_alloc(test, SVM_HEAP, SZ_64K);
	struct hypheap_buffer *hb = hypheap_buffer_of(buf);
	phys_addr_t lent = sg_phys(hb->mem.sgt.sgl);
	long status;
	size_t len;

	len = svm_raw_block(raw, HYPHEAP_SVM_OP_DECRYPT, 1, 1);
	raw->r[0] = (struct hypheap_mem_range){ page_to_phys(raw->shared) + 2048,
						 64 };
	raw->r[1] = (struct hypheap_mem_range){ lent, PAGE_SIZE };
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len),
			(long)HYPHEAP_SVM_ERR_LEN_MISMATCH);

	KUNIT_EXPECT_EQ(test, hypheap_svm_unpin(raw->svm, buf, &status),
			-EALREADY);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_ERR_PIN_STATE);
	KUNIT_EXPECT_EQ(test, hypheap_svm_pin(raw->svm, buf, &status), 0);
	KUNIT_EXPECT_EQ(test, hypheap_svm_pin(raw->svm, buf, &status),
			-EALREADY);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_ERR_PIN_STATE);
	KUNIT_EXPECT_EQ(test, hypheap_svm_unpin(raw->svm, buf, &status), 0);
	dma_buf_put(buf);
}

/*
 * The byte oracle the review found: were a few bytes of a lent page ever
 * hashed, or written next to known bytes, the host could learn plaintext a
 * byte at a time (HASH one byte, compare with the 256 one-byte digests).
 * Every such request names part of a page the host cannot read.
 */
static void raw_partial_pages_of_lent_memory_are_refused(struct kunit *test)
{
	struct svm_raw *raw = svm_raw(test);
	struct dma_buf *buf = svm_alloc(test, SVM_HEAP, SZ_64K);
	phys_addr_t lent = sg_phys(hypheap_buffer_of(buf)->mem.sgt.sgl);
	phys_addr_t shared = page_to_phys(raw->shared);
	size_t len;

	len = svm_raw_block(raw, HYPHEAP_SVM_OP_HASH, 1, 0);
	raw->r[0] = (struct hypheap_mem_range){ lent, 1 };
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len),
			(long)HYPHEAP_SVM_ERR_PARTIAL_PAGE);
	raw->r[0] = (struct hypheap_mem_range){ lent + PAGE_SIZE, PAGE_SIZE + 1 };
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len),
			(long)HYPHEAP_SVM_ERR_PARTIAL_PAGE);
	/* whole pages of it are fine, and so is part of a shared page */
	raw->r[0] = (struct hypheap_mem_range){ lent, 2 * PAGE_SIZE };
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len), (long)HYPHEAP_SVM_OK);
	raw->r[0] = (struct hypheap_mem_range){ shared + 2048, 100 };
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len), (long)HYPHEAP_SVM_OK);

	len = svm_raw_block(raw, HYPHEAP_SVM_OP_FILL, 0, 1);
	raw->args->pattern = 0x42;
	raw->r[0] = (struct hypheap_mem_range){ lent, PAGE_SIZE - 1 };
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len),
			(long)HYPHEAP_SVM_ERR_PARTIAL_PAGE);

	len = svm_raw_block(raw, HYPHEAP_SVM_OP_DECRYPT, 1, 1);
	raw->r[0] = (struct hypheap_mem_range){ shared + 2048, 1 };
	raw->r[1] = (struct hypheap_mem_range){ lent, 1 };
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len),
			(long)HYPHEAP_SVM_ERR_PARTIAL_PAGE);
	dma_buf_put(buf);
}

/* DECRYPT's ciphertext pages are the host's alone again afterwards. */
static void decrypt_leaves_nothing_shared(struct kunit *test)
{
	struct hypheap_svm *svm = svm_get(test);
	struct dma_buf *buf = svm_alloc(test, SVM_HEAP, SZ_1M);
	bool hvc = hypheap_ktest_conduit_hvc(test);
	u8 *cipher = kunit_kzalloc(test, SZ_1M, GFP_KERNEL);
	const u8 iv[8] = {};
	struct iov_iter iter;
	struct kvec kv;
	u64 before;
	long status;

	KUNIT_ASSERT_NOT_NULL(test, cipher);
	before = hypheap_ktest_stat(test, hvc, HYPHEAP_STAT_PAGES_SHARED);
	kv.iov_base = cipher;
	kv.iov_len = SZ_1M;
	iov_iter_kvec(&iter, WRITE, &kv, 1, SZ_1M);
	KUNIT_EXPECT_EQ(test, hypheap_svm_decrypt(svm, &iter, buf, iv, &status),
			0);
	KUNIT_EXPECT_EQ(test, hypheap_ktest_stat(test, hvc,
						 HYPHEAP_STAT_PAGES_SHARED),
			before);
	dma_buf_put(buf);
	hypheap_svm_put(svm);
}

/*
 * "The decoder" holds a buffer while its last fd goes: the reclaim answers
 * BUSY, the buffer waits in quarantine, and once the secure VM lets go the
 * retry brings every page back to the host and frees it.
 */
static void pinned_buffer_is_quarantined_until_unpinned(struct kunit *test)
{
	struct svm_raw *raw = svm_raw(test);
	struct hypheap_heap *heap = hypheap_heap_find(SVM_HEAP);
	struct dma_buf *buf = svm_alloc(test, SVM_HEAP, SZ_2M + SZ_64K);
	struct hypheap_buffer *hb = hypheap_buffer_of(buf);
	u64 host = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
	struct sg_table copy;
	struct scatterlist *sg, *to;
	unsigned int i, n = 0;
	s64 quarantined;
	long status;
	size_t len;

	KUNIT_ASSERT_NOT_NULL(test, heap);
	KUNIT_ASSERT_EQ(test, sg_alloc_table(&copy, hb->mem.sgt.orig_nents,
					     GFP_KERNEL), 0);
	to = copy.sgl;
	for_each_sgtable_sg(&hb->mem.sgt, sg, i) {
		sg_set_page(to, sg_page(sg), sg->length, 0);
		to = sg_next(to);
	}
	KUNIT_ASSERT_EQ(test, hypheap_svm_pin(raw->svm, buf, &status), 0);
	quarantined = hypheap_stat_read(&heap->stats,
					HYPHEAP_STAT_PAGES_QUARANTINED);
	dma_buf_put(buf);
	flush_delayed_fput(); /* a kthread's last fput is deferred */
	KUNIT_EXPECT_EQ(test, hypheap_stat_read(&heap->stats,
						HYPHEAP_STAT_PAGES_QUARANTINED) -
				      quarantined,
			(s64)((SZ_2M + SZ_64K) >> PAGE_SHIFT));
	KUNIT_EXPECT_GT(test, hypheap_stat_read(&heap->stats,
						HYPHEAP_STAT_FAIL_EBUSY), 0);
	KUNIT_EXPECT_EQ(test, hypheap_heap_retry_quarantine(heap), 1U);

	/* the secure VM lets go (the buffer's fd is gone: name its pages) */
	len = svm_raw_block(raw, HYPHEAP_SVM_OP_UNPIN, copy.orig_nents, 0);
	for_each_sgtable_sg(&copy, sg, i)
		raw->r[n++] = (struct hypheap_mem_range){ sg_phys(sg),
							   sg->length };
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len), (long)HYPHEAP_SVM_OK);
	KUNIT_EXPECT_EQ(test, hypheap_heap_retry_quarantine(heap), 0U);
	KUNIT_EXPECT_EQ(test, hypheap_stat_read(&heap->stats,
						HYPHEAP_STAT_PAGES_QUARANTINED),
			quarantined);
	test_expect_owner(test, &copy, host);
	sg_free_table(&copy);
}

/* ---- a buffer in more runs than one argument block holds ---- */

/*
 * A heap of the test's own whose backend gives every buffer order-0 pages,
 * no two of them physically adjacent: memory as fragmented as it gets, so
 * a buffer of n pages is n runs. Its pages are really lent to the secure VM
 * (the default conduit, as the heap's own backend does).
 */
struct frag_heap {
	struct hypheap_backend be;
	struct hypheap_heap *heap;
	struct hypheap_conduit *c;
};

static const struct hypheap_vmperm frag_dst = {
	.vmid = HYPHEAP_VMID_SECURE_0, .perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W,
};

static int frag_alloc(struct hypheap_backend *be, struct hypheap_mem *mem,
		      const struct hypheap_use *use)
{
	unsigned int n = mem->len >> PAGE_SHIFT, i;
	struct page *prev = NULL;
	struct scatterlist *sg;
	LIST_HEAD(spare);
	int ret;

	ret = sg_alloc_table(&mem->sgt, n, GFP_KERNEL);
	if (ret)
		return ret;
	for_each_sgtable_sg(&mem->sgt, sg, i) {
		struct page *page;

		for (;;) {
			page = alloc_page(GFP_KERNEL | __GFP_ZERO);
			if (!page || !prev || page_to_pfn(page) != page_to_pfn(prev) + 1)
				break;
			list_add(&page->lru, &spare); /* would merge with prev */
		}
		if (!page) {
			ret = -ENOMEM;
			sg_mark_end(sg);
			break;
		}
		sg_set_page(sg, page, PAGE_SIZE, 0);
		prev = page;
		cond_resched();
	}
	while (!list_empty(&spare)) {
		struct page *page = list_first_entry(&spare, struct page, lru);

		list_del(&page->lru);
		__free_page(page);
	}
	if (ret) {
		for_each_sgtable_sg(&mem->sgt, sg, i)
			if (sg_page(sg))
				__free_page(sg_page(sg));
		sg_free_table(&mem->sgt);
	}
	return ret;
}

static void frag_free(struct hypheap_backend *be, struct hypheap_mem *mem)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_sg(&mem->sgt, sg, i)
		__free_page(sg_page(sg));
	sg_free_table(&mem->sgt);
}

static int frag_restrict(struct hypheap_backend *be, struct hypheap_mem *mem,
			 const struct hypheap_use *use)
{
	struct frag_heap *fh = be->priv;
	int ret;

	ret = hypheap_lend_table(fh->c, &mem->sgt, &svm_raw_host, &frag_dst, 1,
				 use->stats);
	mem->owners = ret ? 0 : HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);
	return ret;
}

static int frag_unrestrict(struct hypheap_backend *be, struct hypheap_mem *mem,
			   const struct hypheap_use *use)
{
	struct frag_heap *fh = be->priv;

	return hypheap_reclaim_table(fh->c, &mem->sgt, &svm_raw_host,
				     HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0),
				     &mem->owners, use->stats);
}

static void frag_destroy(struct hypheap_backend *be)
{
}

static const struct hypheap_backend_ops frag_ops = {
	.alloc = frag_alloc,
	.free = frag_free,
	.restrict_buf = frag_restrict,
	.unrestrict_buf = frag_unrestrict,
	.destroy = frag_destroy,
};

static void frag_heap_exit(struct kunit_resource *res)
{
	struct frag_heap *fh = res->data;

	/* a buffer the case left (a failed assertion) is retried, then leaked */
	hypheap_heap_retry_quarantine(fh->heap);
	if (hypheap_heap_destroy(fh->heap) == 0)
		hypheap_backend_put(&fh->be);
	hypheap_conduit_put(fh->c);
}

static int frag_heap_init(struct kunit_resource *res, void *context)
{
	struct frag_heap *fh = context;

	fh->c = hypheap_get_default_conduit();
	if (!fh->c)
		return -ENODEV;
	hypheap_backend_init(&fh->be, &frag_ops, "kunit-frag", fh);
	fh->heap = hypheap_heap_create("svm-kunit-frag", &frag_dst, 1,
				       HYPHEAP_VMID_HOST);
	if (IS_ERR(fh->heap)) {
		hypheap_conduit_put(fh->c);
		return PTR_ERR(fh->heap);
	}
	fh->heap->retry_delay = 3600 * HZ; /* retries when the test says */
	hypheap_heap_set_backend(fh->heap, &fh->be);
	res->data = fh;
	return 0;
}

/* A dma-buf of @len bytes in @len / 4 KiB runs, lent to the secure VM. */
static struct dma_buf *frag_buffer(struct kunit *test, size_t len)
{
	struct frag_heap *fh = kunit_kzalloc(test, sizeof(*fh), GFP_KERNEL);
	struct hypheap_buffer *hb;
	struct dma_buf *buf;

	KUNIT_ASSERT_NOT_NULL(test, fh);
	KUNIT_ASSERT_NOT_NULL(test, kunit_alloc_resource(test, frag_heap_init,
							 frag_heap_exit,
							 GFP_KERNEL, fh));
	hb = hypheap_buffer_alloc(fh->heap, len);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(hb), "frag alloc: %ld",
			       PTR_ERR(hb));
	buf = hypheap_buffer_export(hb, O_RDWR);
	if (IS_ERR(buf))
		hypheap_buffer_release(hb);
	KUNIT_ASSERT_FALSE(test, IS_ERR(buf));
	KUNIT_ASSERT_EQ(test, hb->mem.sgt.orig_nents, (unsigned int)(len >> PAGE_SHIFT));
	return buf;
}

/* One raw PIN or UNPIN of the @idx-th page of @hb: the secure VM's answer. */
static long raw_pin_page(struct svm_raw *raw, struct hypheap_buffer *hb,
			 unsigned int idx, u32 op)
{
	struct scatterlist *sg;
	unsigned int i;
	size_t len;

	len = svm_raw_block(raw, op, 1, 0);
	for_each_sgtable_sg(&hb->mem.sgt, sg, i)
		if (i == idx)
			raw->r[0] = (struct hypheap_mem_range){ sg_phys(sg),
								 PAGE_SIZE };
	return svm_raw_send(raw, len);
}

#define FRAG_LEN (SZ_4M + SZ_4K) /* 1025 runs: five blocks' worth */

/*
 * A buffer in 1025 physical runs, four times what one argument block
 * names: FILL, HASH (whole and a prefix ending mid-way), DECRYPT and PIN
 * all work on it, checked against the kernel's sha256 and ctr(aes).
 */
static void scattered_buffer_every_service(struct kunit *test)
{
	struct hypheap_svm *svm = svm_get(test);
	struct dma_buf *buf = frag_buffer(test, FRAG_LEN);
	struct hypheap_buffer *hb = hypheap_buffer_of(buf);
	struct svm_raw *raw = svm_raw(test);
	u8 *plain = vmalloc(FRAG_LEN), *cipher = vmalloc(FRAG_LEN);
	const u8 iv[8] = { 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
	unsigned int last = (FRAG_LEN >> PAGE_SHIFT) - 1;
	u8 got[32], want[32];
	struct iov_iter iter;
	struct kvec kv;
	long status;

	KUNIT_ASSERT_NOT_NULL(test, plain);
	KUNIT_ASSERT_NOT_NULL(test, cipher);
	KUNIT_EXPECT_EQ(test, hypheap_svm_fill(svm, buf, 0x6b, &status), 0);
	KUNIT_EXPECT_EQ(test, hypheap_svm_hash(svm, buf, 0, got, &status), 0);
	oracle_sha256_pattern(test, 0x6b, FRAG_LEN, want);
	svm_expect_digest(test, got, want);

	get_random_bytes(plain, FRAG_LEN);
	oracle_aes_ctr_vmalloc(test, iv, plain, cipher, FRAG_LEN);
	kv.iov_base = cipher;
	kv.iov_len = FRAG_LEN;
	iov_iter_kvec(&iter, WRITE, &kv, 1, FRAG_LEN);
	KUNIT_EXPECT_EQ(test, hypheap_svm_decrypt(svm, &iter, buf, iv, &status),
			0);
	KUNIT_EXPECT_EQ(test, hypheap_svm_hash(svm, buf, 0, got, &status), 0);
	oracle_sha256(test, plain, FRAG_LEN, want);
	svm_expect_digest(test, got, want);
	KUNIT_EXPECT_EQ(test, hypheap_svm_hash(svm, buf, SZ_2M + SZ_8K, got,
					       &status), 0);
	oracle_sha256(test, plain, SZ_2M + SZ_8K, want);
	svm_expect_digest(test, got, want);

	/* pinned: its first and last page alike */
	KUNIT_EXPECT_EQ(test, hypheap_svm_pin(svm, buf, &status), 0);
	KUNIT_EXPECT_EQ(test, raw_pin_page(raw, hb, 0, HYPHEAP_SVM_OP_PIN),
			(long)HYPHEAP_SVM_ERR_PIN_STATE);
	KUNIT_EXPECT_EQ(test, raw_pin_page(raw, hb, last, HYPHEAP_SVM_OP_PIN),
			(long)HYPHEAP_SVM_ERR_PIN_STATE);
	KUNIT_EXPECT_EQ(test, hypheap_svm_unpin(svm, buf, &status), 0);
	KUNIT_EXPECT_EQ(test, raw_pin_page(raw, hb, last, HYPHEAP_SVM_OP_UNPIN),
			(long)HYPHEAP_SVM_ERR_PIN_STATE);
	vfree(plain);
	vfree(cipher);
	dma_buf_put(buf);
	flush_delayed_fput();
	hypheap_svm_put(svm);
}

/*
 * PIN of a buffer one of whose late pages is already pinned fails as a
 * whole: the chunks pinned before it are unpinned again, and UNPIN of a
 * buffer partly unpinned fails and pins back what it had unpinned.
 */
static void scattered_pin_is_all_or_nothing(struct kunit *test)
{
	struct hypheap_svm *svm = svm_get(test);
	struct dma_buf *buf = frag_buffer(test, FRAG_LEN);
	struct hypheap_buffer *hb = hypheap_buffer_of(buf);
	struct svm_raw *raw = svm_raw(test);
	unsigned int late = (FRAG_LEN >> PAGE_SHIFT) - 2;
	long status;

	KUNIT_ASSERT_EQ(test, raw_pin_page(raw, hb, late, HYPHEAP_SVM_OP_PIN),
			(long)HYPHEAP_SVM_OK);
	KUNIT_EXPECT_EQ(test, hypheap_svm_pin(svm, buf, &status), -EALREADY);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_ERR_PIN_STATE);
	KUNIT_EXPECT_EQ(test, raw_pin_page(raw, hb, 0, HYPHEAP_SVM_OP_UNPIN),
			(long)HYPHEAP_SVM_ERR_PIN_STATE);
	KUNIT_EXPECT_EQ(test, raw_pin_page(raw, hb, late + 1,
					   HYPHEAP_SVM_OP_UNPIN),
			(long)HYPHEAP_SVM_ERR_PIN_STATE);

	/* UNPIN: everything pinned but that page */
	KUNIT_ASSERT_EQ(test, raw_pin_page(raw, hb, late, HYPHEAP_SVM_OP_UNPIN),
			(long)HYPHEAP_SVM_OK);
	KUNIT_ASSERT_EQ(test, hypheap_svm_pin(svm, buf, &status), 0);
	KUNIT_ASSERT_EQ(test, raw_pin_page(raw, hb, late, HYPHEAP_SVM_OP_UNPIN),
			(long)HYPHEAP_SVM_OK);
	KUNIT_EXPECT_EQ(test, hypheap_svm_unpin(svm, buf, &status), -EALREADY);
	KUNIT_EXPECT_EQ(test, raw_pin_page(raw, hb, 0, HYPHEAP_SVM_OP_PIN),
			(long)HYPHEAP_SVM_ERR_PIN_STATE);
	/* so it is still pinned as a whole, less that page: pin it, unpin all */
	KUNIT_EXPECT_EQ(test, raw_pin_page(raw, hb, late, HYPHEAP_SVM_OP_PIN),
			(long)HYPHEAP_SVM_OK);
	KUNIT_EXPECT_EQ(test, hypheap_svm_unpin(svm, buf, &status), 0);
	dma_buf_put(buf);
	flush_delayed_fput();
	hypheap_svm_put(svm);
}

static struct svm_raw *svm_hook_raw;
static struct hypheap_buffer *svm_hook_buf;
static long svm_hook_status;

/* after PIN's first chunk: its page 3 unpinned behind the client's back */
static void svm_unpin_behind(unsigned int chunk)
{
	if (chunk == 0)
		svm_hook_status = raw_pin_page(svm_hook_raw, svm_hook_buf, 3,
					       HYPHEAP_SVM_OP_UNPIN);
}

/*
 * PIN's rollback meets a chunk it cannot UNPIN whole (a page of it is no
 * longer pinned): it goes run by run, passes over that page, and leaves
 * nothing pinned.
 */
static void scattered_pin_rollback_passes_over_an_unpinned_page(struct kunit *test)
{
	struct hypheap_svm *svm = svm_get(test);
	struct dma_buf *buf = frag_buffer(test, FRAG_LEN);
	struct hypheap_buffer *hb = hypheap_buffer_of(buf);
	struct svm_raw *raw = svm_raw(test);
	unsigned int late = (FRAG_LEN >> PAGE_SHIFT) - 2, i;
	long status;

	KUNIT_ASSERT_EQ(test, raw_pin_page(raw, hb, late, HYPHEAP_SVM_OP_PIN),
			(long)HYPHEAP_SVM_OK);
	svm_hook_raw = raw;
	svm_hook_buf = hb;
	svm_hook_status = 1;
	hypheap_svm_test_hooks.pin_chunk_done = svm_unpin_behind;
	KUNIT_EXPECT_EQ(test, hypheap_svm_pin(svm, buf, &status), -EALREADY);
	hypheap_svm_test_hooks.pin_chunk_done = NULL;
	KUNIT_EXPECT_EQ(test, svm_hook_status, (long)HYPHEAP_SVM_OK);
	for (i = 0; i < late; i += 97)
		KUNIT_EXPECT_EQ_MSG(test, raw_pin_page(raw, hb, i,
						       HYPHEAP_SVM_OP_UNPIN),
				    (long)HYPHEAP_SVM_ERR_PIN_STATE, "page %u", i);
	KUNIT_EXPECT_EQ(test, raw_pin_page(raw, hb, late, HYPHEAP_SVM_OP_UNPIN),
			(long)HYPHEAP_SVM_OK);
	dma_buf_put(buf);
	flush_delayed_fput();
	hypheap_svm_put(svm);
}

/* ---- the rollback and the bounce, as a hostile reviewer attacked them ---- */

#define SVM_CMA_HEAP "protected,secure-video-record" /* one contiguous run */

/* One raw PIN or UNPIN of the page at byte @off of @hb. */
static long raw_pin_at(struct svm_raw *raw, struct hypheap_buffer *hb,
		       size_t off, u32 op)
{
	struct scatterlist *sg;
	unsigned int i;
	size_t len;

	len = svm_raw_block(raw, op, 1, 0);
	for_each_sgtable_sg(&hb->mem.sgt, sg, i) {
		if (off < sg->length) {
			raw->r[0] = (struct hypheap_mem_range){ sg_phys(sg) + off,
								 PAGE_SIZE };
			break;
		}
		off -= sg->length;
	}
	return svm_raw_send(raw, len);
}

static void svm_unpin_behind_at(unsigned int chunk)
{
	if (chunk == 0)
		svm_hook_status = raw_pin_at(svm_hook_raw, svm_hook_buf,
					     3 * PAGE_SIZE, HYPHEAP_SVM_OP_UNPIN);
}

/*
 * As scattered_pin_rollback_passes_over_an_unpinned_page, on a buffer
 * whose runs are many pages (one contiguous CMA run): the rollback must
 * still leave nothing pinned, page 0 of the first chunk included.
 */
static void rollback_in_multipage_run_leaves_nothing_pinned(struct kunit *test)
{
	struct hypheap_svm *svm = svm_get(test);
	struct dma_buf *buf = svm_alloc(test, SVM_CMA_HEAP, SZ_2M);
	struct hypheap_buffer *hb = hypheap_buffer_of(buf);
	struct svm_raw *raw = svm_raw(test);
	size_t last = SZ_2M - PAGE_SIZE, off;
	long status, page0;

	KUNIT_ASSERT_GE(test, hb->mem.sgt.sgl->length, 4 * PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, raw_pin_at(raw, hb, last, HYPHEAP_SVM_OP_PIN),
			(long)HYPHEAP_SVM_OK);
	svm_hook_raw = raw;
	svm_hook_buf = hb;
	svm_hook_status = 1;
	hypheap_svm_test_hooks.pin_chunk_done = svm_unpin_behind_at;
	KUNIT_EXPECT_EQ(test, hypheap_svm_pin(svm, buf, &status), -EALREADY);
	hypheap_svm_test_hooks.pin_chunk_done = NULL;
	KUNIT_EXPECT_EQ(test, svm_hook_status, (long)HYPHEAP_SVM_OK);
	page0 = raw_pin_at(raw, hb, 0, HYPHEAP_SVM_OP_UNPIN);
	KUNIT_EXPECT_EQ_MSG(test, page0, (long)HYPHEAP_SVM_ERR_PIN_STATE,
			    "page 0 still pinned after a PIN that answered -EALREADY");
	/* clean up whatever stayed pinned, page by page */
	for (off = 0; off < SZ_2M; off += PAGE_SIZE)
		raw_pin_at(raw, hb, off, HYPHEAP_SVM_OP_UNPIN);
	dma_buf_put(buf);
	flush_delayed_fput();
	hypheap_svm_put(svm);
}

static size_t svm_bounce_dirty;

/* What the secure VM can read of the bounce the moment it is shared. */
static void svm_bounce_check_clean(struct sg_table *sgt)
{
	struct scatterlist *sg;
	unsigned int i;
	size_t j;

	for_each_sgtable_sg(sgt, sg, i) {
		const u8 *p = sg_virt(sg);

		for (j = 0; j < sg->length; j++)
			svm_bounce_dirty += p[j] != 0;
	}
}

#define SVM_DIRTY_BLOCKS 64

/*
 * DECRYPT's bounce is shared with the secure VM before the ciphertext is
 * copied in: what the page allocator left there (old kernel memory) must
 * not be readable by the secure VM. Blocks of the bounce's size are first
 * dirtied and freed (each next to a buddy kept allocated, so that they stay
 * at the bounce's order), as freed kernel memory is.
 */
static void decrypt_shares_no_stale_kernel_memory(struct kunit *test)
{
	struct hypheap_svm *svm = svm_get(test);
	struct dma_buf *buf = svm_alloc(test, SVM_HEAP, SZ_1M);
	struct page **blk = kunit_kcalloc(test, SVM_DIRTY_BLOCKS, sizeof(*blk),
					  GFP_KERNEL);
	u8 *cipher = vzalloc(SZ_1M);
	unsigned int order = get_order(SZ_1M), n = 0, i, j, round;
	const u8 iv[8] = { 1 };
	struct iov_iter iter;
	struct kvec kv;
	long status;

	KUNIT_ASSERT_NOT_NULL(test, blk);
	KUNIT_ASSERT_NOT_NULL(test, cipher);
	for (round = 0; round < 4; round++) {
		for (n = 0; n < SVM_DIRTY_BLOCKS; n++) {
			blk[n] = alloc_pages(GFP_KERNEL | __GFP_NOWARN |
					     __GFP_NORETRY, order);
			if (!blk[n])
				break;
			memset(page_address(blk[n]), 0xa5, SZ_1M);
		}
		/* free one of each buddy pair we hold, the others too after */
		for (i = 0; i < n; i++)
			for (j = 0; j < n; j++)
				if (blk[i] && blk[j] && i != j &&
				    (page_to_pfn(blk[i]) ^ (1UL << order)) ==
				    page_to_pfn(blk[j])) {
					__free_pages(blk[i], order);
					blk[i] = NULL;
				}
		svm_bounce_dirty = 0;
		hypheap_svm_test_hooks.bounce_shared = svm_bounce_check_clean;
		kv.iov_base = cipher;
		kv.iov_len = SZ_1M;
		iov_iter_kvec(&iter, WRITE, &kv, 1, SZ_1M);
		KUNIT_EXPECT_EQ(test, hypheap_svm_decrypt(svm, &iter, buf, iv,
							  &status), 0);
		hypheap_svm_test_hooks.bounce_shared = NULL;
		for (i = 0; i < n; i++)
			if (blk[i])
				__free_pages(blk[i], order);
		kunit_info(test, "round %u: %u blocks, %zu non-zero bytes shared",
			   round, n, svm_bounce_dirty);
		KUNIT_EXPECT_EQ_MSG(test, svm_bounce_dirty, (size_t)0,
				    "the secure VM could read %zu stale bytes",
				    svm_bounce_dirty);
		if (svm_bounce_dirty)
			break;
	}
	vfree(cipher);
	dma_buf_put(buf);
	hypheap_svm_put(svm);
}

/* ---- concurrency and preemption ---- */

struct svm_worker {
	struct kunit *test;
	struct hypheap_svm *svm;
	struct dma_buf *buf;
	u8 pattern;
	size_t len;
	unsigned int rounds;
	int failures;
	struct completion done;
	/* preemption */
	struct hrtimer timer;
	atomic_t ticks;
	ktime_t start, end;
	int ticks_during;
};

static int svm_hash_rounds(void *data)
{
	struct svm_worker *w = data;
	u8 want[32], got[32];
	long status;
	unsigned int i;

	oracle_sha256_pattern(w->test, w->pattern, w->len, want);
	for (i = 0; i < w->rounds; i++) {
		if (hypheap_svm_hash(w->svm, w->buf, 0, got, &status) ||
		    memcmp(got, want, sizeof(want)))
			w->failures++;
	}
	complete(&w->done);
	return 0;
}

static u64 svm_overlapped(struct kunit *test, struct hypheap_svm *svm)
{
	struct hypheap_svm_info info;
	long status;

	KUNIT_EXPECT_EQ(test, hypheap_svm_info(svm, &info, &status), 0);
	return info.overlapped;
}

/*
 * Both CPUs in the secure VM at once, each on its own vCPU, every digest
 * right. That the calls really overlapped, the secure VM tells: INFO counts
 * the calls that entered while another was inside. Two loaded TCG vCPUs
 * need not overlap in a given round, so up to 10 rounds are tried, and the
 * case fails only if none overlapped.
 */
static void two_cpus_call_at_once(struct kunit *test)
{
	struct svm_worker *w = kunit_kcalloc(test, 2, sizeof(*w), GFP_KERNEL);
	struct hypheap_svm *svm = svm_get(test);
	unsigned int cpu = 0, i, round;
	u64 overlaps = 0;
	long status;

	KUNIT_ASSERT_NOT_NULL(test, w);
	KUNIT_ASSERT_GE(test, num_online_cpus(), 2U);
	for (i = 0; i < 2; i++) {
		w[i] = (struct svm_worker){ .test = test, .svm = svm,
					    .pattern = 0x11 * (i + 1),
					    .len = SZ_256K, .rounds = 20 };
		w[i].buf = svm_alloc(test, SVM_HEAP, w[i].len);
		KUNIT_ASSERT_EQ(test, hypheap_svm_fill(svm, w[i].buf,
						       w[i].pattern, &status), 0);
	}
	for (round = 0; round < 10 && !overlaps; round++) {
		u64 before = svm_overlapped(test, svm);

		for (i = 0; i < 2; i++) {
			struct task_struct *t;

			init_completion(&w[i].done);
			cpu = cpumask_next(i ? cpu : -1, cpu_online_mask);
			t = kthread_create(svm_hash_rounds, &w[i], "svm-hash/%u",
					   cpu);
			KUNIT_ASSERT_FALSE(test, IS_ERR(t));
			kthread_bind(t, cpu);
			wake_up_process(t);
		}
		for (i = 0; i < 2; i++)
			wait_for_completion(&w[i].done);
		overlaps = svm_overlapped(test, svm) - before;
	}
	kunit_info(test, "%llu overlapping calls in round %u", overlaps, round);
	KUNIT_EXPECT_GT(test, overlaps, 0ULL);
	for (i = 0; i < 2; i++) {
		KUNIT_EXPECT_EQ(test, w[i].failures, 0);
		dma_buf_put(w[i].buf);
	}
	hypheap_svm_put(svm);
}

static enum hrtimer_restart svm_tick(struct hrtimer *t)
{
	struct svm_worker *w = container_of(t, struct svm_worker, timer);

	atomic_inc(&w->ticks);
	hrtimer_forward_now(t, ms_to_ktime(10));
	return HRTIMER_RESTART;
}

static int svm_long_hash(void *data)
{
	struct svm_worker *w = data;
	u8 got[32], want[32];
	long status;
	int before;

	hrtimer_init(&w->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED);
	w->timer.function = svm_tick;
	hrtimer_start(&w->timer, ms_to_ktime(10), HRTIMER_MODE_REL_PINNED);
	before = atomic_read(&w->ticks);
	w->start = ktime_get();
	if (hypheap_svm_hash(w->svm, w->buf, 0, got, &status))
		w->failures++;
	w->end = ktime_get();
	w->ticks_during = atomic_read(&w->ticks) - before;
	hrtimer_cancel(&w->timer);
	oracle_sha256_pattern(w->test, w->pattern, w->len, want);
	if (memcmp(got, want, sizeof(want)))
		w->failures++;
	complete(&w->done);
	return 0;
}

/*
 * A 64 MiB HASH takes seconds under TCG. A 10 ms timer pinned to the
 * calling CPU keeps firing during it: the hypervisor hands the CPU back
 * for each host interrupt (FFA_INTERRUPT) and the driver resumes the call
 * (FFA_RUN). Without that, the timer could only fire after the call.
 */
static void long_hash_lets_host_interrupts_in(struct kunit *test)
{
	struct svm_worker *w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);
	struct hypheap_svm *svm = svm_get(test);
	struct task_struct *t;
	long status;
	s64 ms;

	KUNIT_ASSERT_NOT_NULL(test, w);
	w->test = test;
	w->svm = svm;
	w->pattern = 0x3c;
	w->len = SZ_64M;
	init_completion(&w->done);
	w->buf = svm_alloc(test, SVM_HEAP, w->len);
	KUNIT_ASSERT_EQ(test, hypheap_svm_fill(svm, w->buf, w->pattern,
					       &status), 0);
	t = kthread_create(svm_long_hash, w, "svm-long-hash");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	kthread_bind(t, cpumask_first(cpu_online_mask));
	wake_up_process(t);
	wait_for_completion(&w->done);

	ms = ktime_ms_delta(w->end, w->start);
	kunit_info(test, "64 MiB HASH: %lld ms, %d timer ticks on its CPU during it",
		   ms, w->ticks_during);
	KUNIT_EXPECT_EQ(test, w->failures, 0);
	KUNIT_EXPECT_GT(test, ms, 100LL);
	/* at least a quarter of the 10 ms ticks the call lasted */
	KUNIT_EXPECT_GE(test, (s64)w->ticks_during, ms / 40);
	dma_buf_put(w->buf);
	hypheap_svm_put(svm);
}

struct svm_neighbour {
	atomic_t runs;
	bool stop;
	struct completion done;
};

/* Wakes up every 0.5-1 ms: it runs only when its CPU schedules. */
static int svm_neighbour_fn(void *data)
{
	struct svm_neighbour *n = data;

	while (!READ_ONCE(n->stop)) {
		atomic_inc(&n->runs);
		usleep_range(500, 1000);
	}
	complete(&n->done);
	return 0;
}

struct svm_timed_hash {
	struct hypheap_svm *svm;
	struct dma_buf *buf;
	bool raw_single;	/* one HASH request for the whole buffer */
	struct svm_raw *raw;
	struct svm_neighbour *n;
	int ret;
	int runs;
	s64 ms;
	struct completion done;
};

/* The neighbour's runs during one HASH, on the CPU both are bound to. */
static int svm_timed_hash_fn(void *data)
{
	struct svm_timed_hash *h = data;
	struct hypheap_buffer *hb = hypheap_buffer_of(h->buf);
	ktime_t start;
	u8 digest[32];
	long status;
	int before;

	before = atomic_read(&h->n->runs);
	start = ktime_get();
	if (h->raw_single) {
		struct scatterlist *sg;
		unsigned int i;
		size_t len;

		len = svm_raw_block(h->raw, HYPHEAP_SVM_OP_HASH,
				    hb->mem.sgt.orig_nents, 0);
		for_each_sgtable_sg(&hb->mem.sgt, sg, i)
			h->raw->r[i] = (struct hypheap_mem_range){ sg_phys(sg),
								    sg->length };
		h->ret = svm_raw_send(h->raw, len) == HYPHEAP_SVM_OK ? 0 : -EIO;
	} else {
		h->ret = hypheap_svm_hash(h->svm, h->buf, 0, digest, &status);
	}
	h->ms = ktime_ms_delta(ktime_get(), start);
	h->runs = atomic_read(&h->n->runs) - before;
	complete(&h->done);
	return 0;
}

static void svm_timed_hash_on(struct kunit *test, struct svm_timed_hash *h,
			      unsigned int cpu)
{
	struct task_struct *t;

	init_completion(&h->done);
	t = kthread_create(svm_timed_hash_fn, h, "svm-timed-hash");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	kthread_bind(t, cpu);
	wake_up_process(t);
	wait_for_completion(&h->done);
}

/*
 * On this PREEMPT_NONE kernel a task on the CPU of a long secure-VM call
 * runs only if the caller schedules: Linux 6.1's FFA_RUN loop never does,
 * so a 64 MiB HASH in one request would hold the CPU for seconds. The
 * client splits it into 1 MiB requests and reschedules between them: a
 * kthread bound to the same CPU, waking every millisecond, keeps running
 * during the HASH. (The same buffer HASHed in one raw request is the
 * control: the neighbour barely runs then; logged, not required.)
 */
static void long_hash_lets_another_task_run(struct kunit *test)
{
	struct svm_neighbour *n = kunit_kzalloc(test, sizeof(*n), GFP_KERNEL);
	struct svm_timed_hash *h = kunit_kzalloc(test, sizeof(*h), GFP_KERNEL);
	struct svm_raw *raw = svm_raw(test);
	unsigned int cpu = cpumask_first(cpu_online_mask);
	struct task_struct *t;
	long status;
	int single_runs;
	s64 single_ms;

	KUNIT_ASSERT_NOT_NULL(test, n);
	KUNIT_ASSERT_NOT_NULL(test, h);
	h->svm = raw->svm;
	h->raw = raw;
	h->n = n;
	h->buf = svm_alloc(test, SVM_HEAP, SZ_64M);
	KUNIT_ASSERT_EQ(test, hypheap_svm_fill(raw->svm, h->buf, 0x77, &status),
			0);
	init_completion(&n->done);
	t = kthread_create(svm_neighbour_fn, n, "svm-neighbour");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	kthread_bind(t, cpu);
	wake_up_process(t);
	msleep(20);

	svm_timed_hash_on(test, h, cpu);
	kunit_info(test, "64 MiB HASH in chunks: %lld ms, the neighbour ran %d times",
		   h->ms, h->runs);
	KUNIT_EXPECT_EQ(test, h->ret, 0);
	/* at least once per 4 chunks of ~1 MiB */
	KUNIT_EXPECT_GE(test, h->runs, 16);

	if (hypheap_buffer_of(h->buf)->mem.sgt.orig_nents <= HYPHEAP_SVM_ARGS_MAX_RANGES) {
		h->raw_single = true;
		svm_timed_hash_on(test, h, cpu);
		single_ms = h->ms;
		single_runs = h->runs;
		kunit_info(test, "the same in one request: %lld ms, the neighbour ran %d times",
			   single_ms, single_runs);
	}
	WRITE_ONCE(n->stop, true);
	wait_for_completion(&n->done);
	dma_buf_put(h->buf);
}

/*
 * A caller killed between the chunks of a streaming HASH gives up with
 * -EINTR and ABORTs its context: none stays open, none is lost.
 */
struct svm_killed_hash {
	struct hypheap_svm *svm;
	struct dma_buf *buf;
	int ret;
	struct completion started, done;
};

static int svm_killed_hash_fn(void *data)
{
	struct svm_killed_hash *k = data;
	u8 digest[32];
	long status;

	allow_signal(SIGKILL);
	complete(&k->started);
	k->ret = hypheap_svm_hash(k->svm, k->buf, 0, digest, &status);
	complete(&k->done);
	return 0;
}

static void killed_hash_aborts_its_context(struct kunit *test)
{
	struct svm_killed_hash *k = kunit_kzalloc(test, sizeof(*k), GFP_KERNEL);
	s64 lost = hypheap_svm_stat(3);
	struct task_struct *t;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, k);
	KUNIT_ASSERT_EQ(test, hypheap_svm_stat(2), 0LL);
	k->svm = svm_get(test);
	k->buf = frag_buffer(test, SZ_8M); /* nine requests: time to kill it */
	init_completion(&k->started);
	init_completion(&k->done);
	t = kthread_run(svm_killed_hash_fn, k, "svm-killed-hash");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
	get_task_struct(t);
	wait_for_completion(&k->started);
	for (i = 0; i < 5000 && hypheap_svm_stat(2) == 0; i++)
		usleep_range(100, 200);
	KUNIT_EXPECT_EQ(test, hypheap_svm_stat(2), 1LL);
	send_sig(SIGKILL, t, 1);
	wait_for_completion(&k->done);
	put_task_struct(t);
	KUNIT_EXPECT_EQ(test, k->ret, -EINTR);
	KUNIT_EXPECT_EQ(test, hypheap_svm_stat(2), 0LL);
	KUNIT_EXPECT_EQ(test, hypheap_svm_stat(3), lost);
	dma_buf_put(k->buf);
	flush_delayed_fput();
	hypheap_svm_put(k->svm);
}

/* ---- DECRYPT's bounce: a share that does not come back ---- */

static struct svm_raw *svm_bounce_raw;
static struct hypheap_mem_range svm_bounce_ranges[HYPHEAP_SVM_ARGS_MAX_RANGES];
static unsigned int svm_bounce_nr;
static long svm_bounce_pin_status;

/* The secure VM pins the bounce: its reclaim after the DECRYPT is BUSY. */
static void svm_pin_bounce(struct sg_table *sgt)
{
	struct scatterlist *sg;
	unsigned int i;
	size_t len;

	svm_bounce_nr = 0;
	for_each_sgtable_sg(sgt, sg, i)
		svm_bounce_ranges[svm_bounce_nr++] =
			(struct hypheap_mem_range){ sg_phys(sg), sg->length };
	len = svm_raw_block(svm_bounce_raw, HYPHEAP_SVM_OP_PIN, svm_bounce_nr, 0);
	memcpy(svm_bounce_raw->r, svm_bounce_ranges,
	       svm_bounce_nr * sizeof(svm_bounce_ranges[0]));
	svm_bounce_pin_status = svm_raw_send(svm_bounce_raw, len);
}

/*
 * A DECRYPT whose bounce the secure VM still holds when it is reclaimed:
 * the bounce is quarantined (counted in debugfs hypheap/svm, its pages
 * still shared, never freed), and once the secure VM lets go a retry takes
 * it back and frees it. The plaintext is right all the same.
 */
static void decrypt_bounce_that_does_not_come_back_is_quarantined(struct kunit *test)
{
	struct svm_raw *raw = svm_raw(test);
	struct dma_buf *buf = svm_alloc(test, SVM_HEAP, SZ_64K);
	u8 *plain = kunit_kmalloc(test, SZ_64K, GFP_KERNEL);
	u8 *cipher = kunit_kmalloc(test, SZ_64K, GFP_KERNEL);
	const u8 iv[8] = { 7 };
	s64 quarantined = hypheap_svm_stat(0), failures = hypheap_svm_stat(1);
	u64 shared = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST) |
		     HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0);
	u8 got[32], want[32];
	struct hypheap_query q;
	struct iov_iter iter;
	struct kvec kv;
	unsigned int i;
	long status;
	size_t len;

	KUNIT_ASSERT_NOT_NULL(test, plain);
	KUNIT_ASSERT_NOT_NULL(test, cipher);
	get_random_bytes(plain, SZ_64K);
	oracle_aes_ctr(test, iv, plain, cipher, SZ_64K);
	kv.iov_base = cipher;
	kv.iov_len = SZ_64K;
	iov_iter_kvec(&iter, WRITE, &kv, 1, SZ_64K);
	svm_bounce_raw = raw;
	hypheap_svm_test_hooks.bounce_shared = svm_pin_bounce;
	KUNIT_EXPECT_EQ(test, hypheap_svm_decrypt(raw->svm, &iter, buf, iv,
						  &status), -EBUSY);
	hypheap_svm_test_hooks.bounce_shared = NULL;
	KUNIT_ASSERT_EQ(test, svm_bounce_pin_status, (long)HYPHEAP_SVM_OK);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_OK);
	KUNIT_EXPECT_EQ(test, hypheap_svm_hash(raw->svm, buf, 0, got, &status), 0);
	oracle_sha256(test, plain, SZ_64K, want);
	svm_expect_digest(test, got, want);

	KUNIT_EXPECT_EQ(test, hypheap_svm_stat(0) - quarantined,
			(s64)(SZ_64K >> PAGE_SHIFT));
	KUNIT_EXPECT_EQ(test, hypheap_svm_stat(1) - failures, 1LL);
	for (i = 0; i < svm_bounce_nr; i++) {
		KUNIT_ASSERT_EQ(test, hypheap_mem_query(svm_bounce_ranges[i].addr,
							svm_bounce_ranges[i].size >> PAGE_SHIFT,
							&q, NULL), 0);
		KUNIT_EXPECT_EQ(test, q.owners, shared);
	}
	KUNIT_EXPECT_EQ(test, hypheap_svm_retry_bounces(), 1U); /* still pinned */
	KUNIT_EXPECT_EQ(test, hypheap_svm_stat(1) - failures, 2LL);

	len = svm_raw_block(raw, HYPHEAP_SVM_OP_UNPIN, svm_bounce_nr, 0);
	memcpy(raw->r, svm_bounce_ranges, svm_bounce_nr * sizeof(raw->r[0]));
	KUNIT_EXPECT_EQ(test, svm_raw_send(raw, len), (long)HYPHEAP_SVM_OK);
	KUNIT_EXPECT_EQ(test, hypheap_svm_retry_bounces(), 0U);
	KUNIT_EXPECT_EQ(test, hypheap_svm_stat(0), quarantined);
	dma_buf_put(buf);
}

/*
 * A vCPU preempted on one CPU may be resumed with FFA_RUN by the other as
 * soon as the core marks it PREEMPTED (a DIRECT_RESP makes it WAITING the
 * same way): its registers must be saved by then. Both CPUs spin on FFA_RUN
 * during a long raw HASH, so every preemption is a handover; the digest,
 * whoever receives it, must still be the kernel's, and the partition must
 * not abort on a stale context.
 */
#define RACE_REQ64	0xc400006f
#define RACE_RESP64	0xc4000070
#define RACE_INTERRUPT	0x84000062
#define RACE_ERROR	0x84000060
#define RACE_RUN	0x8400006d

struct ffa_race {
	struct svm_raw *raw;
	size_t len;
	atomic_t done;
	atomic_t handovers;
	int errors, aborted;
	u8 got[32];
	struct completion fin[2];
	unsigned long last[2];
};

static void race_result(struct ffa_race *r, struct arm_smccc_1_2_regs *o)
{
	u64 d[4] = { o->a4, o->a5, o->a6, o->a7 };

	if ((long)o->a3 != HYPHEAP_SVM_OK)
		r->errors++;
	memcpy(r->got, d, 32);
	atomic_set(&r->done, 1);
}

static int race_cpu(struct ffa_race *r, int me)
{
	struct arm_smccc_1_2_regs in, out;
	unsigned long n = 0;

	if (me == 0) {
		in = (struct arm_smccc_1_2_regs){
			.a0 = RACE_REQ64,
			.a1 = (HYPHEAP_FFA_ID_HOST << 16) | HYPHEAP_FFA_ID_SVM,
			.a3 = HYPHEAP_SVM_OP_HASH,
			.a4 = page_to_phys(r->raw->shared),
			.a5 = r->len };
	} else {
		in = (struct arm_smccc_1_2_regs){
			.a0 = RACE_RUN, .a1 = HYPHEAP_FFA_ID_SVM << 16 };
	}
	while (!atomic_read(&r->done)) {
		arm_smccc_1_2_hvc(&in, &out);
		if ((u32)out.a0 == RACE_RESP64) {
			race_result(r, &out);
			break;
		}
		if ((u32)out.a0 == RACE_ERROR && (int)(u32)out.a2 == -8) {
			r->aborted++;
			atomic_set(&r->done, 1);
			break;
		}
		if ((u32)out.a0 == RACE_INTERRUPT)
			atomic_inc(&r->handovers);
		in = (struct arm_smccc_1_2_regs){
			.a0 = RACE_RUN, .a1 = HYPHEAP_FFA_ID_SVM << 16 };
		if ((++n & 0xfff) == 0)
			cond_resched();
	}
	r->last[me] = out.a0;
	complete(&r->fin[me]);
	return 0;
}

static int race_cpu0(void *d)
{
	return race_cpu(d, 0);
}

static int race_cpu1(void *d)
{
	return race_cpu(d, 1);
}

static void ffa_run_from_both_cpus_resumes_the_saved_context(struct kunit *test)
{
	struct svm_raw *raw = svm_raw(test);
	struct ffa_race *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	const size_t len = SZ_16M;
	struct dma_buf *buf = svm_alloc(test, SVM_HEAP, len);
	struct hypheap_buffer *hb = hypheap_buffer_of(buf);
	struct scatterlist *sg;
	unsigned int i, round, bad = 0, aborted = 0, handovers = 0;
	u8 want[32];
	long status;

	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_ASSERT_GE(test, num_online_cpus(), 2U);
	KUNIT_ASSERT_EQ(test, hypheap_svm_fill(raw->svm, buf, 0x5a, &status), 0);
	oracle_sha256_pattern(test, 0x5a, len, want);
	KUNIT_ASSERT_LE(test, hb->mem.sgt.orig_nents, (unsigned int)HYPHEAP_SVM_ARGS_MAX_RANGES);
	for (round = 0; round < 12 && !aborted; round++) {
		struct task_struct *t0, *t1;
		size_t blen = svm_raw_block(raw, HYPHEAP_SVM_OP_HASH, hb->mem.sgt.orig_nents, 0);

		for_each_sgtable_sg(&hb->mem.sgt, sg, i)
			raw->r[i] = (struct hypheap_mem_range){ sg_phys(sg), sg->length };
		memset(r, 0, sizeof(*r));
		r->raw = raw;
		r->len = blen;
		init_completion(&r->fin[0]);
		init_completion(&r->fin[1]);
		t1 = kthread_create(race_cpu1, r, "ffa-run/1");
		t0 = kthread_create(race_cpu0, r, "ffa-req/0");
		KUNIT_ASSERT_FALSE(test, IS_ERR(t0) || IS_ERR(t1));
		kthread_bind(t1, 1);
		kthread_bind(t0, 0);
		wake_up_process(t1);
		wake_up_process(t0);
		wait_for_completion(&r->fin[0]);
		wait_for_completion(&r->fin[1]);
		handovers += atomic_read(&r->handovers);
		aborted += r->aborted;
		if (!r->aborted && (r->errors || memcmp(r->got, want, 32))) {
			bad++;
			kunit_info(test, "round %u: status err %d digest %32phN",
				   round, r->errors, r->got);
		}
	}
	kunit_info(test, "%u rounds, %u FFA_INTERRUPTs, %u wrong, %u aborted",
		   round, handovers, bad, aborted);
	KUNIT_EXPECT_EQ(test, bad, 0U);
	KUNIT_EXPECT_EQ(test, aborted, 0U);
	dma_buf_put(buf);
}

static struct kunit_case hypheap_svm_cases[] = {
	KUNIT_CASE(info_names_the_partition),
	KUNIT_CASE(fill_then_hash_matches_kernel_sha256),
	KUNIT_CASE(fill_of_whole_blocks_splits_nothing),
	KUNIT_CASE(decrypt_matches_kernel_aes_ctr),
	KUNIT_CASE(buffer_of_another_vm_is_not_owned),
	KUNIT_CASE(raw_argument_block_rejections),
	KUNIT_CASE(raw_range_rejections),
	KUNIT_CASE(raw_decrypt_length_mismatch_and_pin_state),
	KUNIT_CASE(raw_partial_pages_of_lent_memory_are_refused),
	KUNIT_CASE(decrypt_leaves_nothing_shared),
	KUNIT_CASE(pinned_buffer_is_quarantined_until_unpinned),
	KUNIT_CASE(scattered_buffer_every_service),
	KUNIT_CASE(scattered_pin_is_all_or_nothing),
	KUNIT_CASE(scattered_pin_rollback_passes_over_an_unpinned_page),
	KUNIT_CASE(decrypt_bounce_that_does_not_come_back_is_quarantined),
	KUNIT_CASE(killed_hash_aborts_its_context),
	KUNIT_CASE(rollback_in_multipage_run_leaves_nothing_pinned),
	KUNIT_CASE(decrypt_shares_no_stale_kernel_memory),
	KUNIT_CASE(two_cpus_call_at_once),
	KUNIT_CASE(long_hash_lets_host_interrupts_in),
	KUNIT_CASE(long_hash_lets_another_task_run),
	KUNIT_CASE(ffa_run_from_both_cpus_resumes_the_saved_context),
	{}
};

static struct kunit_suite hypheap_svm_suite = {
	.name = "hypheap-svm",
	.test_cases = hypheap_svm_cases,
};

kunit_test_suites(&hypheap_svm_suite);

MODULE_DESCRIPTION("KUnit tests of hypheap's secure VM, through FF-A");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);

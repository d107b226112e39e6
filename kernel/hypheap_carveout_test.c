// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the secure VM's carve-out pool through the real path
 * (Linux's FF-A driver, the hyp, the partition's CARVEOUT services) and of
 * the carveout backend on it: the pool is the secure VM's from boot and
 * not Linux's RAM; each refusal of the protocol with its own status; a
 * buffer is one page-less physical range in the pool that the secure VM
 * reads and writes as its own (HASH, DECRYPT, FILL); FREE scrubs before
 * reuse; a buffer freed while pinned is quarantined until a retry gets it
 * back. In hypheap_svm_ktest.ko (scenario svm).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/hash.h>
#include <crypto/skcipher.h>
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/file.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "hypheap.h"
#include "hypheap_priv.h"

static const u8 co_key[16] = HYPHEAP_SVM_TEST_KEY;

static struct hypheap_svm *co_svm(struct kunit *test)
{
	struct hypheap_svm *svm = hypheap_svm_get();

	KUNIT_ASSERT_NOT_NULL_MSG(test, svm, "no secure-VM partition bound");
	return svm;
}

static void co_sha256(struct kunit *test, const void *data, size_t len,
		      u8 out[32])
{
	struct crypto_shash *tfm = crypto_alloc_shash("sha256", 0, 0);

	KUNIT_ASSERT_FALSE(test, IS_ERR(tfm));
	KUNIT_EXPECT_EQ(test, crypto_shash_tfm_digest(tfm, data, len, out), 0);
	crypto_free_shash(tfm);
}

static void co_encrypt(struct kunit *test, const u8 iv8[8], const u8 *in,
		       u8 *out, size_t len)
{
	struct crypto_skcipher *tfm = crypto_alloc_skcipher("ctr(aes)", 0, 0);
	struct skcipher_request *req;
	struct scatterlist src, dst;
	DECLARE_CRYPTO_WAIT(wait);
	u8 iv[16] = {};

	KUNIT_ASSERT_FALSE(test, IS_ERR(tfm));
	KUNIT_ASSERT_EQ(test, crypto_skcipher_setkey(tfm, co_key,
						     sizeof(co_key)), 0);
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

/* The lowest owner bit MEM_QUERY gives for the page at @pa. */
static u64 co_owners(struct kunit *test, phys_addr_t pa)
{
	struct hypheap_query q;
	long status;

	KUNIT_EXPECT_EQ(test, hypheap_mem_query(pa, 1, &q, &status), 0);
	return q.owners;
}

/*
 * INFO names a pool the secure VM owns from boot, outside Linux's RAM (a
 * no-map reserved region, absent from the host stage-2).
 */
static void carveout_pool_is_the_secure_vms(struct kunit *test)
{
	struct hypheap_svm *svm = co_svm(test);
	u64 size, allocated;
	phys_addr_t base;
	long status;

	KUNIT_ASSERT_EQ(test, hypheap_svm_carveout_info(svm, &base, &size,
							&allocated, &status),
			0);
	KUNIT_EXPECT_GE(test, size, (u64)SZ_64M);
	KUNIT_EXPECT_EQ(test, region_intersects(base, size,
						IORESOURCE_SYSTEM_RAM,
						IORES_DESC_NONE),
			REGION_DISJOINT);
	KUNIT_EXPECT_EQ(test, co_owners(test, base),
			HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0));
	KUNIT_EXPECT_EQ(test, co_owners(test, base + size - PAGE_SIZE),
			HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0));
	hypheap_svm_put(svm);
}

/* Every refusal of ALLOC and FREE, each with its own status. */
static void carveout_refusals(struct kunit *test)
{
	const u32 use = HYPHEAP_USE_SECURE_VIDEO;
	struct hypheap_svm *svm = co_svm(test);
	u64 size, allocated, again;
	phys_addr_t base, a;
	long status;

	KUNIT_ASSERT_EQ(test, hypheap_svm_carveout_info(svm, &base, &size,
							&allocated, &status),
			0);
	KUNIT_EXPECT_EQ(test, hypheap_svm_carveout_alloc(svm, PAGE_SIZE + 1,
							 use, &a, &status),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_ERR_CARVEOUT_LEN);
	KUNIT_EXPECT_EQ(test, hypheap_svm_carveout_alloc(svm, size + PAGE_SIZE,
							 use, &a, &status),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, hypheap_svm_carveout_alloc(svm, PAGE_SIZE,
							 HYPHEAP_USE_TRUSTED_UI,
							 &a, &status),
			-EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_ERR_CARVEOUT_USE_CASE);
	KUNIT_EXPECT_EQ(test, hypheap_svm_carveout_free(svm, base - PAGE_SIZE,
							&status),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, status,
			(long)HYPHEAP_SVM_ERR_CARVEOUT_NOT_ALLOCATED);

	KUNIT_ASSERT_EQ(test, hypheap_svm_carveout_alloc(svm, 2 * PAGE_SIZE, use,
							 &a, &status),
			0);
	KUNIT_EXPECT_TRUE(test, a >= base && a + 2 * PAGE_SIZE <= base + size);
	KUNIT_EXPECT_EQ(test, hypheap_svm_carveout_free(svm, a + PAGE_SIZE,
							&status),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_ERR_CARVEOUT_NOT_BASE);
	KUNIT_EXPECT_EQ(test, hypheap_svm_carveout_free(svm, a, &status), 0);
	KUNIT_EXPECT_EQ(test, hypheap_svm_carveout_free(svm, a, &status),
			-EALREADY);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_ERR_CARVEOUT_DOUBLE_FREE);
	KUNIT_EXPECT_EQ(test, hypheap_svm_carveout_info(svm, &base, &size,
							&again, &status),
			0);
	KUNIT_EXPECT_EQ(test, again, allocated);
	hypheap_svm_put(svm);
}

/**
 * struct co_ctx - a carveout backend and an unregistered heap on it
 * @be: the backend (the test's reference)
 * @heap: "protected,secure-video", the partition's
 * @c: the backend's counters
 */
struct co_ctx {
	struct hypheap_backend *be;
	struct hypheap_heap *heap;
	struct hypheap_carveout_counters *c;
};

static const struct hypheap_vmperm co_dst = {
	.vmid = HYPHEAP_VMID_SECURE_0, .perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W,
};

static int co_init(struct kunit *test)
{
	struct co_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	test->priv = ctx;
	if (!strncmp(test->name, "carveout_", 9))
		return 0;
	ctx->be = hypheap_carveout_backend_create();
	if (IS_ERR(ctx->be))
		return PTR_ERR(ctx->be);
	ctx->c = hypheap_carveout_counters(ctx->be);
	ctx->heap = hypheap_heap_create("protected,secure-video", &co_dst, 1,
					HYPHEAP_VMID_HOST);
	if (IS_ERR(ctx->heap))
		return PTR_ERR(ctx->heap);
	hypheap_heap_set_backend(ctx->heap, ctx->be);
	return 0;
}

static void co_exit(struct kunit *test)
{
	struct co_ctx *ctx = test->priv;

	if (!ctx->be)
		return;
	if (!IS_ERR_OR_NULL(ctx->heap))
		KUNIT_EXPECT_EQ(test, hypheap_heap_destroy(ctx->heap), 0);
	if (!IS_ERR_OR_NULL(ctx->c)) {
		KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->quarantined), 0);
		KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->allocs),
				atomic64_read(&ctx->c->frees));
	}
	if (!IS_ERR(ctx->be))
		hypheap_backend_put(ctx->be);
}

static struct dma_buf *co_alloc(struct kunit *test, struct co_ctx *ctx,
				size_t len)
{
	struct hypheap_buffer *buf = hypheap_buffer_alloc(ctx->heap, len);
	struct dma_buf *dmabuf;

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(buf), "alloc %zu: %ld", len,
			       PTR_ERR(buf));
	dmabuf = hypheap_buffer_export(buf, O_RDWR);
	if (IS_ERR(dmabuf))
		hypheap_buffer_release(buf);
	KUNIT_ASSERT_FALSE(test, IS_ERR(dmabuf));
	return dmabuf;
}

static phys_addr_t co_pa(struct dma_buf *dmabuf)
{
	struct hypheap_mem *mem = &hypheap_buffer_of(dmabuf)->mem;

	return hypheap_sg_phys(mem, mem->sgt.sgl);
}

static void co_put(struct dma_buf *dmabuf)
{
	dma_buf_put(dmabuf);
	flush_delayed_fput();
}

/*
 * Buffers are single page-less ranges inside the pool, the secure VM's
 * from the start; HASH of a fresh one is the hash of zeroes, DECRYPT into
 * one hashes as the plaintext; the heap reports the pool as reserved.
 */
static void backend_serves_pageless_ranges_of_the_pool(struct kunit *test)
{
	struct co_ctx *ctx = test->priv;
	struct hypheap_svm *svm = co_svm(test);
	const size_t len = 2 * PAGE_SIZE;
	u8 iv[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	u64 size, allocated, before;
	struct hypheap_mem *mem;
	u8 got[32], want[32];
	struct dma_buf *b[3];
	phys_addr_t base;
	u8 *plain, *cipher;
	struct iov_iter it;
	struct kvec kv;
	long status;
	int i;

	KUNIT_ASSERT_EQ(test, hypheap_svm_carveout_info(svm, &base, &size,
							&before, &status),
			0);
	for (i = 0; i < 3; i++) {
		b[i] = co_alloc(test, ctx, SZ_64K);
		mem = &hypheap_buffer_of(b[i])->mem;
		KUNIT_EXPECT_TRUE(test, mem->pageless);
		KUNIT_EXPECT_EQ(test, mem->sgt.orig_nents, 1U);
		KUNIT_EXPECT_NULL(test, sg_page(mem->sgt.sgl));
		KUNIT_EXPECT_GE(test, co_pa(b[i]), base);
		KUNIT_EXPECT_LE(test, co_pa(b[i]) + SZ_64K, base + size);
		KUNIT_EXPECT_EQ(test, co_owners(test, co_pa(b[i])),
				HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0));
	}
	KUNIT_EXPECT_EQ(test, READ_ONCE(ctx->be->reserved_bytes), size);
	KUNIT_EXPECT_EQ(test, hypheap_svm_carveout_info(svm, &base, &size,
							&allocated, &status),
			0);
	KUNIT_EXPECT_EQ(test, allocated, before + 3 * SZ_64K);

	plain = kunit_kzalloc(test, SZ_64K, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, plain);
	co_sha256(test, plain, SZ_64K, want);
	KUNIT_EXPECT_EQ(test, hypheap_svm_hash(svm, b[1], 0, got, &status), 0);
	KUNIT_EXPECT_EQ(test, memcmp(got, want, 32), 0);

	cipher = kunit_kzalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, cipher);
	get_random_bytes(plain, len);
	co_encrypt(test, iv, plain, cipher, len);
	kv.iov_base = cipher;
	kv.iov_len = len;
	iov_iter_kvec(&it, WRITE, &kv, 1, len);
	KUNIT_EXPECT_EQ(test, hypheap_svm_decrypt(svm, &it, b[2], iv, &status),
			0);
	KUNIT_EXPECT_EQ(test, hypheap_svm_hash(svm, b[2], len, got, &status), 0);
	co_sha256(test, plain, len, want);
	KUNIT_EXPECT_EQ(test, memcmp(got, want, 32), 0);

	for (i = 0; i < 3; i++)
		co_put(b[i]);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->frees), 3);
	KUNIT_EXPECT_EQ(test, hypheap_svm_carveout_info(svm, &base, &size,
							&allocated, &status),
			0);
	KUNIT_EXPECT_EQ(test, allocated, before);
	hypheap_svm_put(svm);
}

/* What FILL wrote is gone when the range is handed out again. */
static void backend_buffers_come_back_scrubbed(struct kunit *test)
{
	struct co_ctx *ctx = test->priv;
	struct hypheap_svm *svm = co_svm(test);
	u8 got[32], want[32], filled[32];
	struct dma_buf *b;
	phys_addr_t pa;
	long status;
	u8 *zero;

	zero = kunit_kzalloc(test, SZ_64K, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, zero);
	co_sha256(test, zero, SZ_64K, want);
	b = co_alloc(test, ctx, SZ_64K);
	pa = co_pa(b);
	KUNIT_ASSERT_EQ(test, hypheap_svm_fill(svm, b, 0xa5, &status), 0);
	KUNIT_ASSERT_EQ(test, hypheap_svm_hash(svm, b, 0, filled, &status), 0);
	KUNIT_EXPECT_NE(test, memcmp(filled, want, 32), 0);
	co_put(b);
	/* first fit: the same range again */
	b = co_alloc(test, ctx, SZ_64K);
	KUNIT_EXPECT_EQ(test, co_pa(b), pa);
	KUNIT_EXPECT_EQ(test, hypheap_svm_hash(svm, b, 0, got, &status), 0);
	KUNIT_EXPECT_EQ(test, memcmp(got, want, 32), 0);
	co_put(b);
	hypheap_svm_put(svm);
}

/* UNPIN of one range, as a raw request from a page shared for it. */
static void co_unpin(struct kunit *test, struct hypheap_svm *svm,
		     phys_addr_t pa, size_t len)
{
	static const struct hypheap_vmperm share[] = {
		{ .vmid = HYPHEAP_VMID_HOST,
		  .perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W },
		{ .vmid = HYPHEAP_VMID_SECURE_0, .perms = HYPHEAP_PERM_R },
	};
	static const struct hypheap_vmperm host = {
		.vmid = HYPHEAP_VMID_HOST, .perms = HYPHEAP_PERM_RWX,
	};
	struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	u64 owners = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
	struct hypheap_svm_args *a;
	struct hypheap_mem_range *r;
	u64 d[5];
	long status;

	KUNIT_ASSERT_NOT_NULL(test, page);
	a = page_address(page);
	r = (struct hypheap_mem_range *)(a + 1);
	a->version = HYPHEAP_SVM_ARGS_VERSION;
	a->op = HYPHEAP_SVM_OP_UNPIN;
	a->nr_src = 1;
	r->addr = pa;
	r->size = len;
	KUNIT_ASSERT_EQ(test, hypheap_assign_mem(page_to_phys(page), PAGE_SIZE,
						 &owners, share,
						 ARRAY_SIZE(share)), 0);
	d[0] = HYPHEAP_SVM_OP_UNPIN;
	d[1] = page_to_phys(page);
	d[2] = HYPHEAP_SVM_ARGS_SIZE(1, 0);
	d[3] = 0;
	d[4] = 0;
	KUNIT_EXPECT_EQ(test, hypheap_svm_direct(svm, d, &status), 0);
	KUNIT_ASSERT_EQ(test, hypheap_assign_mem(page_to_phys(page), PAGE_SIZE,
						 &owners, &host, 1), 0);
	__free_page(page);
}

/*
 * A buffer the secure VM pinned goes while pinned: FREE answers PINNED,
 * so the range is quarantined (the kernel never hands it out again) and
 * retried; once unpinned a retry frees it.
 */
static void backend_quarantines_a_pinned_buffer(struct kunit *test)
{
	struct co_ctx *ctx = test->priv;
	struct hypheap_svm *svm = co_svm(test);
	struct dma_buf *b = co_alloc(test, ctx, SZ_64K);
	phys_addr_t pa = co_pa(b);
	long status;
	int i;

	KUNIT_ASSERT_EQ(test, hypheap_svm_pin(svm, b, &status), 0);
	co_put(b);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->quarantined), 1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->frees), 0);
	KUNIT_EXPECT_GE(test, atomic64_read(&ctx->c->free_failures), 1);
	/* the retry (100 ms, doubling) keeps failing while it is pinned */
	msleep(350);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->quarantined), 1);
	/* the range is not handed out again meanwhile */
	b = co_alloc(test, ctx, SZ_64K);
	KUNIT_EXPECT_NE(test, co_pa(b), pa);
	co_put(b);

	co_unpin(test, svm, pa, SZ_64K);
	for (i = 0; i < 100 && atomic64_read(&ctx->c->quarantined); i++)
		msleep(50);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->quarantined), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->frees), 2);
	hypheap_svm_put(svm);
}

/* A heap for another VM, or without a use case of the partition, is not served. */
static void backend_refuses_other_heaps(struct kunit *test)
{
	static const struct hypheap_vmperm vm1 = {
		.vmid = HYPHEAP_VMID_SECURE_1,
		.perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W,
	};
	struct co_ctx *ctx = test->priv;
	struct hypheap_heap *other;
	struct hypheap_buffer *buf;

	other = hypheap_heap_create("protected,trusted-ui", &vm1, 1,
				    HYPHEAP_VMID_HOST);
	KUNIT_ASSERT_FALSE(test, IS_ERR(other));
	hypheap_heap_set_backend(other, ctx->be);
	buf = hypheap_buffer_alloc(other, SZ_64K);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(buf), -EINVAL);
	KUNIT_EXPECT_EQ(test, hypheap_heap_destroy(other), 0);

	other = hypheap_heap_create("hypheap-kunit", &co_dst, 1,
				    HYPHEAP_VMID_HOST);
	KUNIT_ASSERT_FALSE(test, IS_ERR(other));
	hypheap_heap_set_backend(other, ctx->be);
	buf = hypheap_buffer_alloc(other, SZ_64K);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(buf), -EINVAL);
	KUNIT_EXPECT_EQ(test, hypheap_heap_destroy(other), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->allocs), 0);
}

static struct kunit_case hypheap_carveout_cases[] = {
	KUNIT_CASE(carveout_pool_is_the_secure_vms),
	KUNIT_CASE(carveout_refusals),
	KUNIT_CASE(backend_serves_pageless_ranges_of_the_pool),
	KUNIT_CASE(backend_buffers_come_back_scrubbed),
	KUNIT_CASE(backend_quarantines_a_pinned_buffer),
	KUNIT_CASE(backend_refuses_other_heaps),
	{}
};

static struct kunit_suite hypheap_carveout_suite = {
	.name = "hypheap-carveout",
	.init = co_init,
	.exit = co_exit,
	.test_cases = hypheap_carveout_cases,
};

kunit_test_suite(hypheap_carveout_suite);

// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the secure VM's protected memory through the real path
 * (Linux's FF-A driver, the hyp's FFA_MEM_LEND/RECLAIM, the partition's
 * PROTMEM services) and of the ffa-lend backend on it: every refusal of
 * the protocol with its own status, sub-allocation from one lent block,
 * the secure VM's HASH and DECRYPT on such a buffer, and a block whose
 * reclaim is BUSY kept out of CMA until a retry gets it back. In
 * hypheap_svm_ktest.ko (scenario svm).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/hash.h>
#include <crypto/skcipher.h>
#include <kunit/test.h>
#include <linux/arm_ffa.h>
#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/file.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/platform_device.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "hypheap.h"
#include "hypheap_priv.h"

static const u8 fl_key[16] = HYPHEAP_SVM_TEST_KEY;

static struct hypheap_svm *fl_svm(struct kunit *test)
{
	struct hypheap_svm *svm = hypheap_svm_get();

	KUNIT_ASSERT_NOT_NULL_MSG(test, svm, "no secure-VM partition bound");
	return svm;
}

static void fl_sha256(struct kunit *test, const void *data, size_t len,
		      u8 out[32])
{
	struct crypto_shash *tfm = crypto_alloc_shash("sha256", 0, 0);

	KUNIT_ASSERT_FALSE(test, IS_ERR(tfm));
	KUNIT_EXPECT_EQ(test, crypto_shash_tfm_digest(tfm, data, len, out), 0);
	crypto_free_shash(tfm);
}

static void fl_encrypt(struct kunit *test, const u8 iv8[8], const u8 *in,
		       u8 *out, size_t len)
{
	struct crypto_skcipher *tfm = crypto_alloc_skcipher("ctr(aes)", 0, 0);
	struct skcipher_request *req;
	struct scatterlist src, dst;
	DECLARE_CRYPTO_WAIT(wait);
	u8 iv[16] = {};

	KUNIT_ASSERT_FALSE(test, IS_ERR(tfm));
	KUNIT_ASSERT_EQ(test, crypto_skcipher_setkey(tfm, fl_key,
						     sizeof(fl_key)), 0);
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

/* CONFIG: the block the partition wants, and a use case that is not its. */
static void protmem_config_answers(struct kunit *test)
{
	struct hypheap_svm *svm = fl_svm(test);
	struct hypheap_protmem_config cfg;
	long status;
	int ret;

	ret = hypheap_svm_protmem_config(svm, HYPHEAP_USE_SECURE_VIDEO, &cfg,
					 &status);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, cfg.min_size, (u64)HYPHEAP_PROTMEM_MIN_SIZE);
	KUNIT_EXPECT_EQ(test, cfg.align, (u64)HYPHEAP_PROTMEM_ALIGN);
	KUNIT_EXPECT_EQ(test, cfg.receiver, hypheap_svm_ffa(svm)->vm_id);
	KUNIT_EXPECT_EQ(test, cfg.perms, (u8)HYPHEAP_PROTMEM_PERM_RW);
	ret = hypheap_svm_protmem_config(svm, HYPHEAP_USE_TRUSTED_UI, &cfg,
					 &status);
	KUNIT_EXPECT_EQ(test, ret, -EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_ERR_PROTMEM_USE_CASE);
	hypheap_svm_put(svm);
}

/*
 * The protocol by hand on one block: the partition refuses a handle it was
 * not lent, to take one twice and to release one it does not hold; while
 * it holds the block the reclaim is DENIED; released, the block comes back
 * zeroed.
 */
static void protmem_refusals_and_reclaim(struct kunit *test)
{
	struct hypheap_svm *svm = fl_svm(test);
	struct hypheap_protmem_config cfg;
	const u32 use = HYPHEAP_USE_SECURE_VIDEO;
	unsigned int order = get_order(SZ_4M), i;
	struct sg_table sgt;
	struct page *page;
	long status;
	u64 handle;

	KUNIT_ASSERT_EQ(test, hypheap_svm_protmem_config(svm, use, &cfg,
							 &status), 0);
	page = alloc_pages(GFP_KERNEL, order);
	KUNIT_ASSERT_NOT_NULL(test, page);
	for (i = 0; i < 1U << order; i++)
		memset(page_address(nth_page(page, i)), 0x5a, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, sg_alloc_table(&sgt, 1, GFP_KERNEL), 0);
	sg_set_page(sgt.sgl, page, SZ_4M, 0);
	KUNIT_ASSERT_EQ(test, hypheap_svm_protmem_lend(svm, &cfg, &sgt, use,
						       &handle), 0);

	KUNIT_EXPECT_EQ(test, hypheap_svm_protmem_assign(svm, handle ^ 0x100,
							 use, &status),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_ERR_PROTMEM_NOT_LENT);
	KUNIT_EXPECT_EQ(test, hypheap_svm_protmem_release(svm, handle, &status),
			-ESRCH);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_ERR_PROTMEM_NOT_HELD);
	KUNIT_EXPECT_EQ(test, hypheap_svm_protmem_assign(svm, handle,
							 HYPHEAP_USE_TRUSTED_UI,
							 &status),
			-EOPNOTSUPP);

	KUNIT_EXPECT_EQ(test, hypheap_svm_protmem_assign(svm, handle, use,
							 &status), 0);
	KUNIT_EXPECT_EQ(test, hypheap_svm_protmem_assign(svm, handle, use,
							 &status), -EALREADY);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_ERR_PROTMEM_TAKEN);
	/* FFA_ERROR(DENIED) while the partition holds it */
	KUNIT_EXPECT_EQ(test, hypheap_svm_protmem_reclaim(svm, handle), -EACCES);

	KUNIT_EXPECT_EQ(test, hypheap_svm_protmem_release(svm, handle, &status),
			0);
	KUNIT_EXPECT_EQ(test, hypheap_svm_protmem_release(svm, handle, &status),
			-ESRCH);
	KUNIT_ASSERT_EQ(test, hypheap_svm_protmem_reclaim(svm, handle), 0);
	KUNIT_EXPECT_EQ(test, hypheap_svm_protmem_assign(svm, handle, use,
							 &status), -ENOENT);
	KUNIT_EXPECT_EQ(test, status, (long)HYPHEAP_SVM_ERR_PROTMEM_NOT_LENT);
	KUNIT_EXPECT_EQ(test, hypheap_svm_protmem_release(svm, handle, &status),
			-ENOENT);
	for (i = 0; i < 1U << order; i++)
		if (memchr_inv(page_address(nth_page(page, i)), 0, PAGE_SIZE))
			break;
	KUNIT_EXPECT_EQ_MSG(test, i, 1U << order, "page %u not zeroed", i);
	sg_free_table(&sgt);
	__free_pages(page, order);
	hypheap_svm_put(svm);
}

/* Ticks and times of one PROFILE phase, or zeroes without one. */
static struct hypheap_profile fl_profile(unsigned int phase)
{
	struct hypheap_profile p = {};
	long status;

	if (hypheap_hyp_profile(phase, &p, &status))
		memset(&p, 0, sizeof(p));
	return p;
}

static u64 fl_ticks_us(u64 ticks, u64 hz)
{
	return hz ? div64_u64(ticks * USEC_PER_SEC, hz) : 0;
}

#define FL_BIG_ORDER	10	/* 4 MiB: the largest the buddy allocator gives */
#define FL_BIG_CHUNKS	16	/* 64 MiB, the largest block the backend lends */
#define FL_PIECE	SZ_2M	/* HYPHEAP_PIECE_PAGES pages */

/*
 * A 64 MiB FF-A lend and its reclaim through Linux's own driver, each
 * bounded by the hyp to one 2 MiB piece per hypercall: the lend's clean is
 * timed once per piece (the driver follows FFA_MEM_OP_PAUSE with
 * FFA_MEM_OP_RESUME), the reclaim answers RETRY until its last piece, and
 * then every page is the host's and zeroed. Prints what each took.
 */
static void protmem_lend_and_reclaim_64m_in_pieces(struct kunit *test)
{
	const size_t chunk = PAGE_SIZE << FL_BIG_ORDER;
	const size_t total = chunk * FL_BIG_CHUNKS;
	struct hypheap_svm *svm = fl_svm(test);
	struct hypheap_protmem_config cfg;
	struct hypheap_profile c0, c1, s0, s1;
	struct page *pages[FL_BIG_CHUNKS] = {};
	u64 handle, t, lend_ns, call_ns, max_ns = 0, sum_ns = 0;
	unsigned int calls = 0, i, j;
	struct scatterlist *sg;
	struct sg_table sgt;
	long status;
	int ret;

	ret = hypheap_svm_protmem_config(svm, HYPHEAP_USE_SECURE_VIDEO, &cfg,
					 &status);
	KUNIT_ASSERT_EQ(test, ret, 0);
	for (i = 0; i < FL_BIG_CHUNKS; i++) {
		pages[i] = alloc_pages(GFP_KERNEL | __GFP_NOWARN, FL_BIG_ORDER);
		if (!pages[i])
			break;
		for (j = 0; j < 1U << FL_BIG_ORDER; j++)
			memset(page_address(nth_page(pages[i], j)), 0xa5,
			       PAGE_SIZE);
	}
	if (i < FL_BIG_CHUNKS) {
		while (i--)
			__free_pages(pages[i], FL_BIG_ORDER);
		hypheap_svm_put(svm);
		kunit_skip(test, "no 64 MiB in 4 MiB chunks to lend");
	}
	KUNIT_ASSERT_EQ(test, sg_alloc_table(&sgt, FL_BIG_CHUNKS, GFP_KERNEL),
			0);
	for_each_sgtable_sg(&sgt, sg, i)
		sg_set_page(sg, pages[i], chunk, 0);

	c0 = fl_profile(HYPHEAP_PROFILE_CLEAN);
	t = ktime_get_ns();
	ret = hypheap_svm_protmem_lend(svm, &cfg, &sgt,
				       HYPHEAP_USE_SECURE_VIDEO, &handle);
	lend_ns = ktime_get_ns() - t;
	c1 = fl_profile(HYPHEAP_PROFILE_CLEAN);
	KUNIT_ASSERT_EQ(test, ret, 0);
	if (c0.hz)
		KUNIT_EXPECT_GE(test, c1.times - c0.times,
				(u64)(total / FL_PIECE));

	/* by hand, to time each call: the backend's loop is the same */
	s0 = fl_profile(HYPHEAP_PROFILE_SCRUB);
	do {
		t = ktime_get_ns();
		ret = hypheap_svm_ffa(svm)->ops->mem_ops->memory_reclaim(handle,
									 0);
		call_ns = ktime_get_ns() - t;
		max_ns = max(max_ns, call_ns);
		sum_ns += call_ns;
		calls++;
		cond_resched();
	} while (ret == -EAGAIN && calls <= total / PAGE_SIZE);
	s1 = fl_profile(HYPHEAP_PROFILE_SCRUB);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, calls, (unsigned int)(total / FL_PIECE));

	kunit_info(test,
		   "64 MiB FFA_MEM_LEND: %llu us in memory_lend(), hyp clean %llu us in %llu piece(s); FFA_MEM_RECLAIM: %u call(s), longest %llu us, all %llu us, hyp scrub %llu us in %llu piece(s)\n",
		   div_u64(lend_ns, NSEC_PER_USEC),
		   fl_ticks_us(c1.ticks - c0.ticks, c0.hz), c1.times - c0.times,
		   calls, div_u64(max_ns, NSEC_PER_USEC),
		   div_u64(sum_ns, NSEC_PER_USEC),
		   fl_ticks_us(s1.ticks - s0.ticks, s0.hz), s1.times - s0.times);

	for (i = 0; ret == 0 && i < FL_BIG_CHUNKS; i++)
		for (j = 0; j < 1U << FL_BIG_ORDER; j++)
			if (memchr_inv(page_address(nth_page(pages[i], j)), 0,
				       PAGE_SIZE)) {
				KUNIT_FAIL(test, "chunk %u page %u not zeroed",
					   i, j);
				break;
			}
	sg_free_table(&sgt);
	/* a block not given back stays out of the allocator */
	for (i = 0; ret == 0 && i < FL_BIG_CHUNKS; i++)
		__free_pages(pages[i], FL_BIG_ORDER);
	hypheap_svm_put(svm);
}

/**
 * struct fl_ctx - an ffa-lend backend and an unregistered heap on it
 * @pdev: parent device of the backend
 * @be: the backend (the test's reference)
 * @heap: "protected,secure-video", lent to the partition
 * @c: the backend's counters
 */
struct fl_ctx {
	struct platform_device *pdev;
	struct hypheap_backend *be;
	struct hypheap_heap *heap;
	struct hypheap_ffa_counters *c;
};

static const struct hypheap_vmperm fl_dst = {
	.vmid = HYPHEAP_VMID_SECURE_0, .perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W,
};

static int fl_init(struct kunit *test)
{
	struct fl_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	test->priv = ctx;
	if (!strncmp(test->name, "protmem_", 8))
		return 0;
	ctx->pdev = platform_device_register_simple("hypheap-ffa-lend-kunit",
						    -1, NULL, 0);
	if (IS_ERR(ctx->pdev))
		return PTR_ERR(ctx->pdev);
	ctx->be = hypheap_ffa_lend_backend_create(&ctx->pdev->dev, NULL);
	if (IS_ERR(ctx->be))
		return PTR_ERR(ctx->be);
	ctx->c = hypheap_ffa_lend_counters(ctx->be);
	ctx->heap = hypheap_heap_create("protected,secure-video", &fl_dst, 1,
					HYPHEAP_VMID_HOST);
	if (IS_ERR(ctx->heap))
		return PTR_ERR(ctx->heap);
	hypheap_heap_set_backend(ctx->heap, ctx->be);
	return 0;
}

static void fl_exit(struct kunit *test)
{
	struct fl_ctx *ctx = test->priv;

	if (!ctx->pdev)
		return;
	if (!IS_ERR_OR_NULL(ctx->heap))
		KUNIT_EXPECT_EQ(test, hypheap_heap_destroy(ctx->heap), 0);
	if (!IS_ERR_OR_NULL(ctx->c)) {
		KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->quarantined), 0);
		KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->lends),
				atomic64_read(&ctx->c->reclaims));
	}
	if (!IS_ERR_OR_NULL(ctx->be))
		hypheap_backend_put(ctx->be);
	if (!IS_ERR(ctx->pdev))
		platform_device_unregister(ctx->pdev);
}

static struct dma_buf *fl_alloc(struct kunit *test, struct fl_ctx *ctx,
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

static phys_addr_t fl_pa(struct dma_buf *dmabuf)
{
	return sg_phys(hypheap_buffer_of(dmabuf)->mem.sgt.sgl);
}

static void fl_put(struct dma_buf *dmabuf)
{
	dma_buf_put(dmabuf);
	flush_delayed_fput();
}

/*
 * Three buffers share one lent block (one FF-A lend, one constituent);
 * the secure VM reads and writes them as lent memory (HASH of a fresh
 * buffer is the hash of zeroes, DECRYPT into one hashes as the
 * plaintext); the last one going releases and reclaims the block; a
 * buffer larger than the minimum gets a block of its own size.
 */
static void backend_suballocates_one_block(struct kunit *test)
{
	struct fl_ctx *ctx = test->priv;
	struct hypheap_svm *svm = fl_svm(test);
	const size_t len = 2 * PAGE_SIZE;
	u8 iv[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct dma_buf *b[3], *big;
	u8 got[32], want[32];
	u8 *plain, *cipher;
	struct iov_iter it;
	phys_addr_t lo, hi;
	struct kvec kv;
	long status;
	int i;

	for (i = 0; i < 3; i++)
		b[i] = fl_alloc(test, ctx, SZ_64K);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->lends), 1);
	lo = min3(fl_pa(b[0]), fl_pa(b[1]), fl_pa(b[2]));
	hi = max3(fl_pa(b[0]), fl_pa(b[1]), fl_pa(b[2]));
	KUNIT_EXPECT_LT(test, hi - lo, (phys_addr_t)HYPHEAP_PROTMEM_MIN_SIZE);
	KUNIT_EXPECT_TRUE(test, IS_ALIGNED(lo, PAGE_SIZE));

	plain = kunit_kzalloc(test, SZ_64K, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, plain);
	fl_sha256(test, plain, SZ_64K, want);
	KUNIT_EXPECT_EQ(test, hypheap_svm_hash(svm, b[1], 0, got, &status), 0);
	KUNIT_EXPECT_EQ(test, memcmp(got, want, 32), 0);

	cipher = kunit_kzalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, cipher);
	get_random_bytes(plain, len);
	fl_encrypt(test, iv, plain, cipher, len);
	kv.iov_base = cipher;
	kv.iov_len = len;
	iov_iter_kvec(&it, WRITE, &kv, 1, len);
	KUNIT_EXPECT_EQ(test, hypheap_svm_decrypt(svm, &it, b[2], iv, &status),
			0);
	KUNIT_EXPECT_EQ(test, hypheap_svm_hash(svm, b[2], len, got, &status), 0);
	fl_sha256(test, plain, len, want);
	KUNIT_EXPECT_EQ(test, memcmp(got, want, 32), 0);

	fl_put(b[0]);
	fl_put(b[2]);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->reclaims), 0);
	fl_put(b[1]);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->reclaims), 1);

	big = fl_alloc(test, ctx, HYPHEAP_PROTMEM_MIN_SIZE + SZ_1M);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->lends), 2);
	KUNIT_EXPECT_TRUE(test, IS_ALIGNED(fl_pa(big), HYPHEAP_PROTMEM_ALIGN));
	fl_put(big);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->reclaims), 2);
	hypheap_svm_put(svm);
}

/*
 * A buffer's slice of a block stays lent when the buffer goes: the next
 * buffer given that slice must not hold what the last one did (its owner
 * could not read it, but could have the secure VM hash it and so confirm
 * a guess of the previous frame).
 */
static void backend_zeroes_a_freed_slice_before_reuse(struct kunit *test)
{
	struct fl_ctx *ctx = test->priv;
	struct hypheap_svm *svm = fl_svm(test);
	struct dma_buf *keep, *first, *next;
	u8 got[32], want[32];
	phys_addr_t pa;
	long status;
	u8 *zeros;

	keep = fl_alloc(test, ctx, SZ_64K);	/* holds the block open */
	first = fl_alloc(test, ctx, SZ_64K);
	pa = fl_pa(first);
	KUNIT_ASSERT_EQ(test, hypheap_svm_fill(svm, first, 0x5c, &status), 0);
	fl_put(first);
	next = fl_alloc(test, ctx, SZ_64K);
	KUNIT_ASSERT_EQ_MSG(test, fl_pa(next), pa,
			    "genalloc did not give the freed slice again");
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->lends), 1);

	zeros = kunit_kzalloc(test, SZ_64K, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, zeros);
	fl_sha256(test, zeros, SZ_64K, want);
	KUNIT_EXPECT_EQ(test, hypheap_svm_hash(svm, next, 0, got, &status), 0);
	KUNIT_EXPECT_EQ_MSG(test, memcmp(got, want, 32), 0,
			    "the reused slice still holds the freed buffer's bytes");
	fl_put(next);
	fl_put(keep);
	hypheap_svm_put(svm);
}

static int fl_refuse_fill(struct hypheap_mem *mem)
{
	return -EIO;
}

/*
 * A slice the secure VM did not zero is never given again: its block takes
 * no new buffer, and when the block's last buffer goes it is released,
 * reclaimed and scrubbed by the hypervisor like any other.
 */
static void backend_never_reuses_a_slice_it_could_not_zero(struct kunit *test)
{
	struct fl_ctx *ctx = test->priv;
	struct dma_buf *keep, *first, *next;
	phys_addr_t pa;

	keep = fl_alloc(test, ctx, SZ_64K);
	first = fl_alloc(test, ctx, SZ_64K);
	pa = fl_pa(first);
	hypheap_svm_test_hooks.fill_refused = fl_refuse_fill;
	fl_put(first);
	hypheap_svm_test_hooks.fill_refused = NULL;
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->zero_failures), 1);
	next = fl_alloc(test, ctx, SZ_64K);
	KUNIT_EXPECT_NE(test, fl_pa(next), pa);
	KUNIT_EXPECT_EQ_MSG(test, atomic64_read(&ctx->c->lends), 2,
			    "the block with the dirty slice took a new buffer");
	fl_put(next);
	fl_put(keep);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->reclaims), 2);
}

/* UNPIN of one range, as a raw request from a page shared for it. */
static void fl_unpin(struct kunit *test, struct hypheap_svm *svm,
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
 * A buffer the secure VM pinned goes while pinned: its block is released
 * but the reclaim answers BUSY, so the block is quarantined (never freed
 * to CMA) and retried; once unpinned a retry takes it back.
 */
static void backend_quarantines_a_busy_block(struct kunit *test)
{
	struct fl_ctx *ctx = test->priv;
	struct hypheap_svm *svm = fl_svm(test);
	struct dma_buf *b = fl_alloc(test, ctx, SZ_64K);
	phys_addr_t pa = fl_pa(b);
	long status;
	int i;

	KUNIT_ASSERT_EQ(test, hypheap_svm_pin(svm, b, &status), 0);
	fl_put(b);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->quarantined), 1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->reclaims), 0);
	KUNIT_EXPECT_GE(test, atomic64_read(&ctx->c->reclaim_failures), 1);
	/* the retry (100 ms, doubling) keeps failing while it is pinned */
	msleep(350);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->quarantined), 1);

	fl_unpin(test, svm, pa, SZ_64K);
	for (i = 0; i < 100 && atomic64_read(&ctx->c->quarantined); i++)
		msleep(50);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->quarantined), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->reclaims), 1);
	hypheap_svm_put(svm);
}

/* A heap that lends elsewhere, or without a use case, is not served. */
static void backend_refuses_other_heaps(struct kunit *test)
{
	static const struct hypheap_vmperm vm1 = {
		.vmid = HYPHEAP_VMID_SECURE_1,
		.perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W,
	};
	struct fl_ctx *ctx = test->priv;
	struct hypheap_heap *other;
	struct hypheap_buffer *buf;

	other = hypheap_heap_create("protected,trusted-ui", &vm1, 1,
				    HYPHEAP_VMID_HOST);
	KUNIT_ASSERT_FALSE(test, IS_ERR(other));
	hypheap_heap_set_backend(other, ctx->be);
	buf = hypheap_buffer_alloc(other, SZ_64K);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(buf), -EINVAL);
	KUNIT_EXPECT_EQ(test, hypheap_heap_destroy(other), 0);

	other = hypheap_heap_create("hypheap-kunit", &fl_dst, 1,
				    HYPHEAP_VMID_HOST);
	KUNIT_ASSERT_FALSE(test, IS_ERR(other));
	hypheap_heap_set_backend(other, ctx->be);
	buf = hypheap_buffer_alloc(other, SZ_64K);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(buf), -EINVAL);
	KUNIT_EXPECT_EQ(test, hypheap_heap_destroy(other), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->c->lends), 0);
}

static struct kunit_case hypheap_ffa_lend_cases[] = {
	KUNIT_CASE(protmem_config_answers),
	KUNIT_CASE(protmem_refusals_and_reclaim),
	KUNIT_CASE(protmem_lend_and_reclaim_64m_in_pieces),
	KUNIT_CASE(backend_suballocates_one_block),
	KUNIT_CASE(backend_zeroes_a_freed_slice_before_reuse),
	KUNIT_CASE(backend_never_reuses_a_slice_it_could_not_zero),
	KUNIT_CASE(backend_quarantines_a_busy_block),
	KUNIT_CASE(backend_refuses_other_heaps),
	{}
};

static struct kunit_suite hypheap_ffa_lend_suite = {
	.name = "hypheap-ffa-lend",
	.init = fl_init,
	.exit = fl_exit,
	.test_cases = hypheap_ffa_lend_cases,
};

kunit_test_suite(hypheap_ffa_lend_suite);

// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap SMCCC transport: MEM_ASSIGN calls to the hypheap hypervisor.
 *
 * Each call passes the physical address of a descriptor (header, then the
 * destinations, then the ranges; see <hypheap/abi.h>) that lives in memory
 * the driver allocates once per conduit and uses for nothing else. The
 * bytes a previous, longer descriptor used are cleared after each encode,
 * so the buffer only ever holds the current descriptor and zeroes.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/arm-smccc.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/delay.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/string.h>

#include "hypheap_priv.h"

/*
 * The descriptor as the hypervisor reads it: abi.h's layout, little-endian
 * whatever this kernel's byte order (abi.h's own structs are plain
 * integers for the hypervisor's sake).
 */
struct hypheap_wire_hdr {
	__le32 version;
	__le16 nr_dests;
	__le16 flags;
	__le32 nr_ranges;
	__le32 reserved;
	__le64 srcvm;
};

struct hypheap_wire_vmperm {
	__le32 vmid;
	__le32 perms;
};

struct hypheap_wire_range {
	__le64 addr;
	__le64 size;
};

/* the same layout as abi.h's: offsets here, whole sizes below */
static_assert(offsetof(struct hypheap_wire_hdr, version) ==
	      offsetof(struct hypheap_assign_hdr, version));
static_assert(offsetof(struct hypheap_wire_hdr, nr_dests) ==
	      offsetof(struct hypheap_assign_hdr, nr_dests));
static_assert(offsetof(struct hypheap_wire_hdr, flags) ==
	      offsetof(struct hypheap_assign_hdr, flags));
static_assert(offsetof(struct hypheap_wire_hdr, nr_ranges) ==
	      offsetof(struct hypheap_assign_hdr, nr_ranges));
static_assert(offsetof(struct hypheap_wire_hdr, reserved) ==
	      offsetof(struct hypheap_assign_hdr, reserved));
static_assert(offsetof(struct hypheap_wire_hdr, srcvm) ==
	      offsetof(struct hypheap_assign_hdr, srcvm));
static_assert(offsetof(struct hypheap_wire_vmperm, vmid) ==
	      offsetof(struct hypheap_vmperm, vmid));
static_assert(offsetof(struct hypheap_wire_vmperm, perms) ==
	      offsetof(struct hypheap_vmperm, perms));
static_assert(offsetof(struct hypheap_wire_range, addr) ==
	      offsetof(struct hypheap_mem_range, addr));
static_assert(offsetof(struct hypheap_wire_range, size) ==
	      offsetof(struct hypheap_mem_range, size));
static_assert(sizeof(struct hypheap_wire_hdr) ==
	      sizeof(struct hypheap_assign_hdr));
static_assert(sizeof(struct hypheap_wire_vmperm) ==
	      sizeof(struct hypheap_vmperm));
static_assert(sizeof(struct hypheap_wire_range) ==
	      sizeof(struct hypheap_mem_range));

#define HYPHEAP_DESC_ORDER	get_order(HYPHEAP_DESC_MAX_SIZE)
/*
 * MEM_QUERY counts the ABI's 4 KiB pages whatever this kernel's PAGE_SIZE
 * is; the driver's own interfaces count kernel pages.
 */
#define HYPHEAP_ABI_PAGES	(PAGE_SIZE / HYPHEAP_PAGE_SIZE)
static_assert(PAGE_SIZE % HYPHEAP_PAGE_SIZE == 0);

/* Ranges a descriptor always has room for, whatever its destinations. */
#define HYPHEAP_SMCCC_RANGES	HYPHEAP_DESC_MAX_RANGES(HYPHEAP_DESC_MAX_DESTS)

/*
 * Operations in progress the transport keeps for later: the hypervisor has
 * 4 slots (docs/abi.md), and one conduit has one call in flight at a time.
 */
#define HYPHEAP_SMCCC_STALLED	HYPHEAP_PENDING_MAX

/**
 * struct hypheap_smccc - SMCCC transport data
 * @desc: descriptor buffer, %HYPHEAP_DESC_MAX_SIZE bytes
 * @desc_pa: its physical address
 * @used: bytes of @desc the last descriptor used
 * @hvc: call with HVC (true) or SMC
 * @call: instead of HVC or SMC, a KUnit case's fake hypervisor
 * @call_ctx: for @call
 * @stalled: tokens of operations left in progress (a piece refused
 *	NO_MEMORY for longer than the transport waits), under the conduit lock
 * @nr_stalled: how many
 */
struct hypheap_smccc {
	void *desc;
	phys_addr_t desc_pa;
	size_t used;
	bool hvc;
	hypheap_smccc_call_fn call;
	void *call_ctx;
	unsigned long stalled[HYPHEAP_SMCCC_STALLED];
	unsigned int nr_stalled;
	unsigned long abi_minor;
};

/**
 * hypheap_desc_encode() - write a MEM_ASSIGN descriptor
 * @desc: buffer
 * @cap: bytes available in @desc
 * @req: what to assign
 *
 * Return: the descriptor length, -EINVAL for an empty or oversized request,
 * -E2BIG if it does not fit @cap.
 */
ssize_t hypheap_desc_encode(void *desc, size_t cap,
			    const struct hypheap_assign_req *req)
{
	struct hypheap_wire_hdr *hdr = desc;
	struct hypheap_wire_vmperm *vm;
	struct hypheap_wire_range *r;
	size_t len;
	unsigned int i;

	if (!req->nr_dst || req->nr_dst > HYPHEAP_DESC_MAX_DESTS ||
	    !req->nr_ranges)
		return -EINVAL;
	len = HYPHEAP_DESC_SIZE(req->nr_dst, (size_t)req->nr_ranges);
	if (len > cap || len > HYPHEAP_DESC_MAX_SIZE)
		return -E2BIG;

	memset(hdr, 0, sizeof(*hdr));
	hdr->version = cpu_to_le32(HYPHEAP_DESC_VERSION);
	hdr->nr_dests = cpu_to_le16(req->nr_dst);
	hdr->flags = cpu_to_le16(req->flags);
	hdr->nr_ranges = cpu_to_le32(req->nr_ranges);
	hdr->srcvm = cpu_to_le64(req->srcvm);

	vm = (struct hypheap_wire_vmperm *)(hdr + 1);
	for (i = 0; i < req->nr_dst; i++) {
		vm[i].vmid = cpu_to_le32(req->dst[i].vmid);
		vm[i].perms = cpu_to_le32(req->dst[i].perms);
	}

	r = (struct hypheap_wire_range *)(vm + req->nr_dst);
	for (i = 0; i < req->nr_ranges; i++) {
		r[i].addr = cpu_to_le64(req->ranges[i].base);
		r[i].size = cpu_to_le64(req->ranges[i].size);
	}
	return len;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_desc_encode);

/**
 * hypheap_abi_errno() - translate a hypheap ABI status into an errno
 * @status: x0 of a hypheap call
 *
 * Return: 0 for %HYPHEAP_OK, otherwise a negative errno.
 */
int hypheap_abi_errno(long status)
{
	switch (status) {
	case HYPHEAP_OK:
		return 0;
	case HYPHEAP_ERR_NOT_SUPPORTED:
	case HYPHEAP_ERR_DEST_SET:
		return -EOPNOTSUPP;
	case HYPHEAP_ERR_BAD_VERSION:
		return -EPROTO;
	case HYPHEAP_ERR_DESC_NOT_HOST:
	case HYPHEAP_ERR_OUTSIDE_RAM:
		return -EFAULT;
	case HYPHEAP_ERR_PROTECTED:
	case HYPHEAP_ERR_STATE:
	case HYPHEAP_ERR_MAILBOX:
	case HYPHEAP_ERR_FFA:
	case HYPHEAP_ERR_NOT_MAPPED:
	case HYPHEAP_ERR_HOST_ACCESS:
		return -EPERM;
	case HYPHEAP_ERR_NO_MEMORY:
		return -ENOMEM;
	case HYPHEAP_ERR_BUSY:
	case HYPHEAP_ERR_PENDING:
	case HYPHEAP_ERR_PENDING_LIMIT:
		return -EBUSY;
	case HYPHEAP_ERR_STAT_INDEX:
		return -ERANGE;
	case HYPHEAP_ERR_DESC_ALIGN:
	case HYPHEAP_ERR_DESC_LEN:
	case HYPHEAP_ERR_DESC_RESERVED:
	case HYPHEAP_ERR_RANGE_UNALIGNED:
	case HYPHEAP_ERR_RANGE_SIZE:
	case HYPHEAP_ERR_OVERLAP:
	case HYPHEAP_ERR_UNKNOWN_VMID:
	case HYPHEAP_ERR_PERMS:
		return -EINVAL;
	default:
		return -EIO;
	}
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_abi_errno);

static void hypheap_smccc_call(struct hypheap_smccc *s, unsigned long fn,
			       unsigned long a1, unsigned long a2,
			       struct arm_smccc_res *res)
{
	if (IS_ENABLED(CONFIG_KUNIT) && s->call)
		s->call(s->call_ctx, fn, a1, a2, res);
	else if (s->hvc)
		arm_smccc_1_1_hvc(fn, a1, a2, res);
	else
		arm_smccc_1_1_smc(fn, a1, a2, res);
}

/* How long a MEM_CONTINUE refused for want of table pages is waited for. */
#define HYPHEAP_CONTINUE_TRIES	100
#define HYPHEAP_CONTINUE_PAUSE_MS	10

/*
 * Keep the token of an operation that cannot go on now. Its pages are the
 * operation's until it ends (neither side may use them), so dropping the
 * token would lose them for good: hypheap_smccc_resume() continues it, which
 * every MEM_QUERY resync (the failed call's recovery, the quarantine's
 * retries) and the next call do first. Return: false when there is no room.
 */
static bool hypheap_smccc_stall(struct hypheap_smccc *s, unsigned long token,
				long answer)
{
	/*
	 * Each live operation is kept at most once and leaves when it ends,
	 * and the hypervisor never has more than HYPHEAP_PENDING_MAX live.
	 */
	if (WARN_ON_ONCE(s->nr_stalled == ARRAY_SIZE(s->stalled)))
		return false;
	s->stalled[s->nr_stalled++] = token;
	pr_warn_ratelimited("MEM_CONTINUE answered %ld: operation %#lx kept for later\n",
			    answer, token);
	return true;
}

/*
 * A MEM_ASSIGN of more than HYPHEAP_PIECE_PAGES pages answers PREEMPTED
 * after each piece (ABI 1.6), so that the hypervisor never holds this CPU
 * for more than one piece: continue it to the end, letting the scheduler in
 * between pieces (the caller holds the conduit's mutex, so it may sleep).
 * A piece the hypervisor cannot do yet (its table pool is short) is retried
 * after a pause; past the wait the token is kept (hypheap_smccc_stall()) and
 * the call fails after a piece. Sets *@partial once a piece changed owner.
 */
static void hypheap_smccc_continue(struct hypheap_smccc *s,
				   struct arm_smccc_res *res, bool *partial)
{
	unsigned int tries = 0;
	unsigned long token;

	while ((long)res->a0 == HYPHEAP_PREEMPTED) {
		token = res->a1;
		*partial = true;
		cond_resched();
		hypheap_smccc_call(s, HYPHEAP_FN_MEM_CONTINUE, token, 0, res);
		while ((long)res->a0 == HYPHEAP_ERR_NO_MEMORY &&
		       ++tries < HYPHEAP_CONTINUE_TRIES) {
			msleep(HYPHEAP_CONTINUE_PAUSE_MS);
			hypheap_smccc_call(s, HYPHEAP_FN_MEM_CONTINUE, token, 0,
					   res);
		}
		/*
		 * Any refusal but TOKEN leaves the operation in progress
		 * (docs/abi.md, MEM_CONTINUE): keep its token. Only if there
		 * were no room (never: see hypheap_smccc_stall()) wait and try
		 * again rather than lose its pages.
		 */
		if ((long)res->a0 == HYPHEAP_OK ||
		    (long)res->a0 == HYPHEAP_PREEMPTED ||
		    (long)res->a0 == HYPHEAP_ERR_TOKEN)
			continue;
		if (hypheap_smccc_stall(s, token, (long)res->a0))
			return;
		msleep(HYPHEAP_CONTINUE_PAUSE_MS);
		res->a0 = HYPHEAP_PREEMPTED;
		res->a1 = token;
	}
}

/*
 * Continue every operation hypheap_smccc_continue() kept, without waiting:
 * one the hypervisor still cannot do stays kept. TOKEN means nothing is in
 * progress under that token any more (it ended): forgotten too.
 */
static int hypheap_smccc_resume(struct hypheap_conduit *c)
{
	struct hypheap_smccc *s = c->priv;
	struct arm_smccc_res res;
	unsigned int i = 0;
	int ret = 0;

	lockdep_assert_held(&c->lock);
	while (i < s->nr_stalled) {
		do {
			cond_resched();
			hypheap_smccc_call(s, HYPHEAP_FN_MEM_CONTINUE,
					   s->stalled[i], 0, &res);
		} while ((long)res.a0 == HYPHEAP_PREEMPTED);
		if ((long)res.a0 == HYPHEAP_OK ||
		    (long)res.a0 == HYPHEAP_ERR_TOKEN) {
			s->stalled[i] = s->stalled[--s->nr_stalled];
			continue;
		}
		ret = hypheap_abi_errno(res.a0);
		i++;
	}
	return ret;
}

static int hypheap_smccc_assign(struct hypheap_conduit *c,
				const struct hypheap_assign_req *req,
				long *status)
{
	struct hypheap_smccc *s = c->priv;
	u64 begin = hypheap_phase_begin();
	struct arm_smccc_res res;
	bool partial = false;
	ssize_t len;
	u64 want;

	lockdep_assert_held(&c->lock);
	/* what is left in progress may hold pages this call names */
	if (s->nr_stalled)
		hypheap_smccc_resume(c);
	len = hypheap_desc_encode(s->desc, HYPHEAP_DESC_MAX_SIZE, req);
	if (len < 0) {
		*status = HYPHEAP_STATUS_NOT_SENT;
		return len;
	}
	if (s->used > len)
		memset(s->desc + len, 0, s->used - len);
	s->used = len;
	hypheap_phase_end(HYPHEAP_PHASE_DESC, begin, len);

	begin = hypheap_phase_begin();
	hypheap_smccc_call(s, HYPHEAP_FN_MEM_ASSIGN, s->desc_pa, len, &res);
	hypheap_smccc_continue(s, &res, &partial);
	hypheap_phase_end(HYPHEAP_PHASE_HVC, begin, len);
	*status = res.a0;
	if ((long)res.a0 != HYPHEAP_OK) {
		pr_debug("MEM_ASSIGN of %u ranges failed: %ld\n",
			 req->nr_ranges, (long)res.a0);
		if (partial) {
			pr_err("MEM_ASSIGN of %u ranges stopped after a piece: %ld\n",
			       req->nr_ranges, (long)res.a0);
			*status = HYPHEAP_STATUS_PARTIAL;
			return -EIO;
		}
		return hypheap_abi_errno(res.a0);
	}

	want = hypheap_vmperm_bitmap(req->dst, req->nr_dst);
	if (res.a1 != want)
		pr_warn_ratelimited("MEM_ASSIGN returned owners %#lx, expected %#llx\n",
				    res.a1, want);
	return 0;
}

static int hypheap_smccc_query(struct hypheap_conduit *c, phys_addr_t addr,
			       u64 nr_pages, struct hypheap_query *q,
			       long *status)
{
	struct arm_smccc_res res;

	if (nr_pages > U64_MAX / HYPHEAP_ABI_PAGES)
		return -EINVAL;
	hypheap_smccc_call(c->priv, HYPHEAP_FN_MEM_QUERY, addr,
			   nr_pages * HYPHEAP_ABI_PAGES, &res);
	*status = res.a0;
	if ((long)res.a0 != HYPHEAP_OK)
		return hypheap_abi_errno(res.a0);
	q->owners = res.a1;
	q->state = res.a2;
	/* a kernel page is uniform only if all its 4 KiB pages are */
	q->pages = res.a3 / HYPHEAP_ABI_PAGES;
	return 0;
}

static int hypheap_smccc_stat(struct hypheap_conduit *c, unsigned int index,
			      u64 *value, long *status)
{
	struct arm_smccc_res res;

	hypheap_smccc_call(c->priv, HYPHEAP_FN_STATS, index, 0, &res);
	*status = res.a0;
	if ((long)res.a0 != HYPHEAP_OK)
		return hypheap_abi_errno(res.a0);
	*value = res.a1;
	return 0;
}

static int hypheap_smccc_profile(struct hypheap_conduit *c, unsigned int phase,
				 struct hypheap_profile *p, long *status)
{
	struct arm_smccc_res res;

	hypheap_smccc_call(c->priv, HYPHEAP_FN_PROFILE, phase, 0, &res);
	*status = res.a0;
	if ((long)res.a0 != HYPHEAP_OK)
		return hypheap_abi_errno(res.a0);
	p->ticks = res.a1;
	p->times = res.a2;
	p->hz = res.a3;
	return 0;
}

static void hypheap_smccc_destroy(struct hypheap_conduit *c)
{
	struct hypheap_smccc *s = c->priv;

	if (s->nr_stalled)
		pr_err("%u operations left in progress: their pages stay lost\n",
		       s->nr_stalled);
	free_pages((unsigned long)s->desc, HYPHEAP_DESC_ORDER);
	kfree(s);
}

static const struct hypheap_transport_ops hypheap_smccc_ops = {
	.name = "hypheap-smccc",
	.lends = true,
	.cleans_on_lend = true,
	.assign = hypheap_smccc_assign,
	.resume = hypheap_smccc_resume,
	.query = hypheap_smccc_query,
	.stat = hypheap_smccc_stat,
	.profile = hypheap_smccc_profile,
	.destroy = hypheap_smccc_destroy,
};

/* Is the hypervisor behind this conduit ours, speaking our ABI major? */
static int hypheap_smccc_identify(struct device *dev, struct hypheap_smccc *s)
{
	struct arm_smccc_res res;

	hypheap_smccc_call(s, HYPHEAP_FN_VENDOR_HYP_UID, 0, 0, &res);
	if (lower_32_bits(res.a0) != HYPHEAP_UID_0 ||
	    lower_32_bits(res.a1) != HYPHEAP_UID_1 ||
	    lower_32_bits(res.a2) != HYPHEAP_UID_2 ||
	    lower_32_bits(res.a3) != HYPHEAP_UID_3) {
		dev_err(dev, "vendor hypervisor UID %08lx-%08lx-%08lx-%08lx is not hypheap's\n",
			res.a0, res.a1, res.a2, res.a3);
		return -ENODEV;
	}

	hypheap_smccc_call(s, HYPHEAP_FN_VENDOR_HYP_REVISION, 0, 0, &res);
	if (res.a0 != HYPHEAP_ABI_VERSION_MAJOR) {
		dev_err(dev, "hypervisor ABI %lu.%lu, driver speaks %u.x\n",
			res.a0, res.a1, HYPHEAP_ABI_VERSION_MAJOR);
		return -EPROTONOSUPPORT;
	}
	dev_info(dev, "hypheap hypervisor ABI %lu.%lu over %s\n", res.a0,
		 res.a1, s->hvc ? "hvc" : "smc");
	s->abi_minor = res.a1;
	return 0;
}

static struct hypheap_conduit *
__hypheap_smccc_create(struct device *dev, bool hvc, hypheap_smccc_call_fn call,
		       void *call_ctx)
{
	struct hypheap_conduit *c;
	struct hypheap_smccc *s;
	int ret;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return ERR_PTR(-ENOMEM);
	s->hvc = hvc;
	s->call = call;
	s->call_ctx = call_ctx;

	ret = hypheap_smccc_identify(dev, s);
	if (ret)
		goto err_free;

	s->desc = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO,
					   HYPHEAP_DESC_ORDER);
	if (!s->desc) {
		ret = -ENOMEM;
		goto err_free;
	}
	s->desc_pa = virt_to_phys(s->desc);

	c = hypheap_conduit_create(&hypheap_smccc_ops, s,
				   HYPHEAP_SMCCC_RANGES);
	if (IS_ERR(c)) {
		ret = PTR_ERR(c);
		goto err_pages;
	}
	/* a 1.7 hypervisor answers DEST_SET to it: never asked */
	c->scrubs_in_place = s->abi_minor >= 8;
	return c;

err_pages:
	free_pages((unsigned long)s->desc, HYPHEAP_DESC_ORDER);
err_free:
	kfree(s);
	return ERR_PTR(ret);
}

/**
 * hypheap_smccc_create() - find the hypheap hypervisor and make a conduit
 * @dev: the probing device, for logs
 * @hvc: use HVC (true) or SMC as the SMCCC conduit
 *
 * Checks the SMCCC vendor hypervisor UID and the ABI revision before
 * trusting the conduit.
 *
 * Return: the conduit with one reference, or an ERR_PTR().
 */
struct hypheap_conduit *hypheap_smccc_create(struct device *dev, bool hvc)
{
	return __hypheap_smccc_create(dev, hvc, NULL, NULL);
}

#if IS_ENABLED(CONFIG_KUNIT)
/**
 * hypheap_smccc_create_fake() - the SMCCC transport over a fake hypervisor
 * @dev: for logs
 * @call: answers every call the transport would make with HVC
 * @ctx: for @call
 *
 * For KUnit: the real transport (encoding, MEM_CONTINUE, what it keeps of
 * an operation it could not finish), with @call in place of the CPU's HVC.
 *
 * Return: as hypheap_smccc_create().
 */
struct hypheap_conduit *hypheap_smccc_create_fake(struct device *dev,
						  hypheap_smccc_call_fn call,
						  void *ctx)
{
	return __hypheap_smccc_create(dev, true, call, ctx);
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_smccc_create_fake);
#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * hypheap hypercall ABI, shared by the EL2 hypervisor (hyp/, freestanding C++20) and the
 * Linux driver (kernel/, C). docs/abi.md is the prose version of this header.
 *
 * Everything here is little-endian, fixed width and explicitly padded; the static asserts at
 * the end pin the layout so a change on one side breaks the build of both.
 */
#ifndef HYPHEAP_ABI_H
#define HYPHEAP_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#endif

/* Bumped on any incompatible change; also the DT property hypheap,abi-version. */
#define HYPHEAP_ABI_VERSION_MAJOR 1
#define HYPHEAP_ABI_VERSION_MINOR 8

/*
 * SMCCC function ids. The hypheap calls are SMC64 fast calls in the vendor-specific
 * hypervisor service range (owner 6); the two 0x8600FFxx ids are the standard vendor-hyp
 * queries every SMCCC service answers (SMC32 fast calls).
 *
 * MEM_ASSIGN  in:  x1 = physical address of the descriptor (page aligned),
 *                  x2 = descriptor length in bytes
 *             out: x0 = status, x1 = new source-VM bitmap on success (0 on error)
 * MEM_QUERY   in:  x1 = physical address (page aligned), x2 = number of 4 KiB pages (> 0)
 *             out: x0 = status, x1 = owner bitmap of the first page, x2 = its
 *                  HYPHEAP_STATE_* word, x3 = number of leading pages (<= x2 in) that share
 *                  exactly that owner bitmap and state word
 * STATS       in:  x1 = HYPHEAP_STAT_* index
 *             out: x0 = status, x1 = value
 * PROFILE     (1.4) in:  x1 = HYPHEAP_PROFILE_* phase
 *             out: x0 = status, x1 = counter ticks spent in it since boot, x2 = how many
 *                  times it was timed, x3 = counter ticks per second
 * MEM_CONTINUE (1.6) in:  x1 = the token a PREEMPTED MEM_ASSIGN or MEM_CONTINUE answered,
 *                  x2 = 0 (x3 is not read)
 *             out: as MEM_ASSIGN: x0 = HYPHEAP_OK (x1 = new source-VM bitmap), or
 *                  HYPHEAP_PREEMPTED again (x1 = the same token), or an error (x1 = 0)
 * UID         out: x0..x3 = HYPHEAP_UID_0..3
 * REVISION    out: x0 = HYPHEAP_ABI_VERSION_MAJOR, x1 = HYPHEAP_ABI_VERSION_MINOR
 */
#define HYPHEAP_FN_MEM_ASSIGN 0xC6000001U
#define HYPHEAP_FN_MEM_QUERY 0xC6000002U
#define HYPHEAP_FN_STATS 0xC6000003U
#define HYPHEAP_FN_PROFILE 0xC6000004U
#define HYPHEAP_FN_MEM_CONTINUE 0xC6000005U
#define HYPHEAP_FN_VENDOR_HYP_UID 0x8600FF01U
#define HYPHEAP_FN_VENDOR_HYP_REVISION 0x8600FF03U

/*
 * UUID 63a82090-2c60-47d3-906b-c031a5bd3f95, packed as SMCCC (and Linux's
 * ARM_SMCCC_VENDOR_HYP_UID_*_REG_*) expect: bytes 0..3 of the UUID little-endian in w0, etc.
 */
#define HYPHEAP_UID_0 0x9020a863U
#define HYPHEAP_UID_1 0xd347602cU
#define HYPHEAP_UID_2 0x31c06b90U
#define HYPHEAP_UID_3 0x953fbda5U

/*
 * Status, returned in x0 as a signed 64-bit value. -1 is SMCCC's NOT_SUPPORTED and only
 * ever means "unknown function id"; every other failure cause has its own code so the
 * driver (and a human reading a log) knows exactly what was refused.
 */
#define HYPHEAP_OK 0
#define HYPHEAP_ERR_NOT_SUPPORTED (-1)   /* unknown function id */
#define HYPHEAP_ERR_BAD_VERSION (-2)     /* descriptor version word is not HYPHEAP_DESC_VERSION */
#define HYPHEAP_ERR_DESC_ALIGN (-3)      /* descriptor address not page aligned */
#define HYPHEAP_ERR_DESC_NOT_HOST (-4)   /* descriptor not entirely in host-accessible RAM */
#define HYPHEAP_ERR_DESC_LEN (-5)        /* length too small/large or != size implied by counts */
#define HYPHEAP_ERR_DESC_RESERVED (-6)   /* unknown flags bit or nonzero reserved field */
#define HYPHEAP_ERR_RANGE_UNALIGNED (-7) /* range address or size not 4 KiB aligned */
#define HYPHEAP_ERR_RANGE_SIZE (-8)      /* zero size, or address + size overflows */
#define HYPHEAP_ERR_OUTSIDE_RAM (-9)     /* range (or query) not inside one RAM bank */
#define HYPHEAP_ERR_PROTECTED (-10)      /* range touches hypervisor or secure-VM carve-out */
#define HYPHEAP_ERR_OVERLAP (-11)        /* two ranges of one descriptor overlap/duplicate */
#define HYPHEAP_ERR_STATE (-12)          /* a page is not in the state srcvm claims */
#define HYPHEAP_ERR_UNKNOWN_VMID (-13)   /* vmid (dest or srcvm bit) is not a known VM */
#define HYPHEAP_ERR_PERMS (-14)          /* perms zero, unknown bits, or not allowed here */
#define HYPHEAP_ERR_DEST_SET (-15)       /* dest count/duplicates/transition not supported */
#define HYPHEAP_ERR_NO_MEMORY (-16)      /* hypervisor is out of stage-2 table pages */
#define HYPHEAP_ERR_BUSY (-17)           /* the secure VM pins or holds a page of the range */
#define HYPHEAP_ERR_STAT_INDEX (-18)     /* STATS index out of range */
/* Since ABI 1.2: answers to the secure VM's own calls (HYPHEAP_FN_SVM_*). */
#define HYPHEAP_ERR_NOT_MAPPED (-19)     /* a page is not mapped in the caller as asked */
#define HYPHEAP_ERR_HOST_ACCESS (-20)    /* NEED_EXCLUSIVE, but the host still maps a page */
#define HYPHEAP_ERR_MAILBOX (-21)        /* a page is the host's FF-A RX/TX buffer (mapped) */
/* Since ABI 1.3. */
#define HYPHEAP_ERR_FFA (-22)            /* a page belongs to an FF-A MEM_LEND/SHARE transaction */
/* Since ABI 1.6: operations split into pieces (MEM_ASSIGN answering PREEMPTED). */
#define HYPHEAP_ERR_TOKEN (-23)          /* MEM_CONTINUE: no operation in progress has this token */
#define HYPHEAP_ERR_PENDING (-24)        /* a page belongs to a MEM_ASSIGN still in progress */
#define HYPHEAP_ERR_PENDING_LIMIT (-25)  /* every slot for an operation in progress is taken */

/*
 * Since ABI 1.6, a MEM_ASSIGN whose ranges add up to more than HYPHEAP_PIECE_PAGES pages is
 * done in pieces of at most that many pages, one piece per call: the hypervisor never spends
 * more than one piece's scrub, clean and stage-2 work in a call, whatever the host sends.
 * Validation is whole and first, as before (a refused call changes nothing); then the first
 * piece is done and the call answers HYPHEAP_PREEMPTED (positive: not an error) with a token
 * in x1, to pass to MEM_CONTINUE, from any CPU, until it answers HYPHEAP_OK. Until then every
 * page of the operation is the operation's: MEM_QUERY flags it HYPHEAP_STATE_F_PENDING, any
 * other change of it answers HYPHEAP_ERR_PENDING (secure-VM holds and pins too), and each
 * page is wholly in its old state or wholly in its new one, never between.
 */
#define HYPHEAP_PREEMPTED 1
#define HYPHEAP_PIECE_PAGES 512U /* 2 MiB of 4 KiB pages */
/*
 * Operations in progress at once never exceed this (the hypervisor has 4 slots, and a VM's
 * slot mask is 8 bits), so a caller that keeps every live token has room for all of them.
 */
#define HYPHEAP_PENDING_MAX 8U

/*
 * VM ids. Each fits a bit of the 64-bit srcvm bitmap (HYPHEAP_VMID_BIT). The host (HLOS)
 * keeps Qualcomm's value 3; the secure VMs are 10 and 11. The hypervisor has an owner id
 * too, but it only shows up in MEM_QUERY answers: it is never a valid destination or source.
 */
#define HYPHEAP_VMID_HYP 1U
#define HYPHEAP_VMID_HOST 3U
#define HYPHEAP_VMID_HLOS HYPHEAP_VMID_HOST
#define HYPHEAP_VMID_SECURE_0 10U
#define HYPHEAP_VMID_SECURE_1 11U
#define HYPHEAP_VMID_LIMIT 64U /* every vmid is < this */
#define HYPHEAP_VMID_BIT(vmid) (1ULL << (vmid))

/* Permissions, as qcom_scm_vmperm. A destination's perms must be nonzero. */
#define HYPHEAP_PERM_X 0x1U
#define HYPHEAP_PERM_W 0x2U
#define HYPHEAP_PERM_R 0x4U
#define HYPHEAP_PERM_RWX 0x7U

/* MEM_QUERY state word (x2): low byte is the sharing state, upper bits are flags. */
#define HYPHEAP_STATE_EXCLUSIVE 0x1U /* one owner (the host, a secure VM or the hyp) */
#define HYPHEAP_STATE_SHARED 0x2U    /* the host shares it with the secure VM in the bitmap */
#define HYPHEAP_STATE_MASK 0xffU
#define HYPHEAP_STATE_F_PINNED 0x100U /* the secure VM holds it: reclaim would be BUSY */
#define HYPHEAP_STATE_F_HELD 0x200U   /* held by a secure-VM call in progress (SVM_HOLD): BUSY */
#define HYPHEAP_STATE_F_FFA 0x400U    /* (1.3) lent/shared by FF-A MEM_LEND/SHARE, not MEM_ASSIGN */
#define HYPHEAP_STATE_F_PENDING 0x800U /* (1.6) part of a MEM_ASSIGN still in progress */

/* STATS indices (x1 of HYPHEAP_FN_STATS). Counters are totals since boot unless noted. */
#define HYPHEAP_STAT_ASSIGN_CALLS 0      /* MEM_ASSIGN calls, successful or not */
#define HYPHEAP_STAT_ASSIGN_FAILED 1     /* MEM_ASSIGN calls answered with an error */
#define HYPHEAP_STAT_PAGES_LENT 2        /* now: pages exclusively owned by secure VMs via assign */
#define HYPHEAP_STAT_PAGES_SHARED 3      /* now: pages the host shares with a secure VM */
#define HYPHEAP_STAT_PAGES_RECLAIMED 4   /* pages given back to the host */
#define HYPHEAP_STAT_PAGES_SCRUBBED 5    /* pages zeroed: reclaim, CLEAR lend, scrub in place */
#define HYPHEAP_STAT_BLOCK_SPLITS 6      /* block entries replaced by a table */
#define HYPHEAP_STAT_BLOCK_MERGES 7      /* tables folded back into a block entry */
#define HYPHEAP_STAT_TABLE_PAGES_USED 8  /* now: stage-2 table pages in use */
#define HYPHEAP_STAT_TABLE_PAGES_FREE 9  /* now: stage-2 table pages left in the pool */
/* Since ABI 1.1. Summed over CPUs; see docs/abi.md for how a read relates to "now". */
#define HYPHEAP_STAT_HOST_FAULTS 10      /* host stage-2 aborts on pages it may not access */
#define HYPHEAP_STAT_ABORTS_INJECTED 11  /* aborts injected into the host for those */
#define HYPHEAP_STAT_FAULTS_SPURIOUS 12  /* host stage-2 aborts retried: the access was allowed */
/* Since ABI 1.4: what one buffer costs, whichever path lent it (MEM_ASSIGN or FF-A). */
#define HYPHEAP_STAT_S2_LEAF_WRITES 13   /* leaf entries written into live stage-2 tables, all VMs */
#define HYPHEAP_STAT_HOST_CALLS 14       /* host calls into the core: hypheap and FF-A ids */
/* Since ABI 1.5. */
#define HYPHEAP_STAT_DMA_FAULTS 15       /* device accesses the hyp's SMMU blocked (0: no SMMU) */
/* Since ABI 1.6. */
#define HYPHEAP_STAT_PREEMPTED 16        /* MEM_ASSIGN/MEM_CONTINUE answers PREEMPTED */
#define HYPHEAP_STAT_PENDING 17          /* now: MEM_ASSIGN operations in progress */
#define HYPHEAP_STAT_COUNT 18

/*
 * PROFILE phases (x1 of HYPHEAP_FN_PROFILE, since 1.4): where the ownership changes of
 * MEM_ASSIGN and FF-A MEM_LEND/SHARE/RECLAIM spend their time, summed over every CPU. An
 * index past the last answers HYPHEAP_ERR_STAT_INDEX.
 */
#define HYPHEAP_PROFILE_VALIDATE 0 /* MEM_ASSIGN: copy, parse, check, reserve (refused calls too) */
#define HYPHEAP_PROFILE_STAGE2 1   /* stage-2 leaf and table writes, TLB time excluded */
#define HYPHEAP_PROFILE_TLB 2      /* TLB invalidations of a change, and their waits */
#define HYPHEAP_PROFILE_CLEAN 3    /* clean+invalidate to PoC of what the host lends */
#define HYPHEAP_PROFILE_SCRUB 4    /* zero + clean to PoC of what comes back (or a cleared lend) */
#define HYPHEAP_PROFILE_COUNT 5

/*
 * MEM_ASSIGN descriptor, placed by the host in physically contiguous memory it owns:
 *
 *   struct hypheap_assign_hdr   header
 *   struct hypheap_vmperm       dests[nr_dests]
 *   struct hypheap_mem_range    ranges[nr_ranges]
 *
 * The length passed in x2 must be exactly HYPHEAP_DESC_SIZE(nr_dests, nr_ranges) and at
 * most HYPHEAP_DESC_MAX_SIZE. The hypervisor copies the whole descriptor before reading
 * any of it, so changing it during the call has no effect.
 *
 * srcvm is the bitmap of the current owners of every page of every range (qcom_scm
 * semantics): {host} to lend or share, {secure VM} or {host, secure VM} to reclaim.
 * Destination sets: {secure VM} = lend, {host, secure VM} = share, {host} with perms RWX =
 * reclaim. On success x1 returns the bitmap of the destinations, to pass as srcvm later.
 * Since 1.8, flags HYPHEAP_DESC_F_SCRUB with srcvm {secure VM} and destinations {that secure
 * VM, with the perms it was lent} = scrub in place: the pages stay lent and mapped as they
 * are, and come out zeroed, cleaned and invalidated to PoC (a heap pool's reuse); BUSY if the
 * VM pins or holds one, PERMS if the perms differ from the lend's. The flag with any other
 * srcvm or destinations is DEST_SET; an older hypervisor answers DESC_RESERVED to it.
 */
#define HYPHEAP_DESC_VERSION 0x48480001U /* "HH" magic in the top half, version 1 below */
#define HYPHEAP_DESC_MAX_SIZE 65536U
#define HYPHEAP_DESC_MAX_DESTS 8U
#define HYPHEAP_DESC_F_SCRUB 0x1U /* (1.8) hdr.flags: zero a lend in place, destructively */
#define HYPHEAP_PAGE_SIZE 4096U

struct hypheap_assign_hdr {
	uint32_t version;   /* HYPHEAP_DESC_VERSION */
	uint16_t nr_dests;  /* 1..HYPHEAP_DESC_MAX_DESTS */
	uint16_t flags;     /* HYPHEAP_DESC_F_* (none before 1.8); other bits must be 0 */
	uint32_t nr_ranges; /* >= 1 */
	uint32_t reserved;  /* must be 0 */
	uint64_t srcvm;     /* bitmap of current owners */
};

struct hypheap_vmperm {
	uint32_t vmid;
	uint32_t perms; /* HYPHEAP_PERM_* */
};

struct hypheap_mem_range {
	uint64_t addr; /* physical address, 4 KiB aligned */
	uint64_t size; /* bytes, 4 KiB multiple, nonzero */
};

#define HYPHEAP_DESC_SIZE(nr_dests, nr_ranges)                                       \
	(sizeof(struct hypheap_assign_hdr) + (nr_dests) * sizeof(struct hypheap_vmperm) + \
	 (nr_ranges) * sizeof(struct hypheap_mem_range))

/* With one destination (the common lend), a descriptor carries up to 4094 ranges. */
#define HYPHEAP_DESC_MAX_RANGES(nr_dests)                                                 \
	((HYPHEAP_DESC_MAX_SIZE - sizeof(struct hypheap_assign_hdr) -                     \
	  (nr_dests) * sizeof(struct hypheap_vmperm)) / sizeof(struct hypheap_mem_range))

/*
 * ---------------------------------------------------------------------------------------
 * The secure VM (VM HYPHEAP_VMID_SECURE_0) as an FF-A partition (docs/abi.md, "Secure VM").
 *
 * The host reaches it with FF-A direct requests (Linux's arm_ffa driver); FF-A's own
 * function ids and error codes are the spec's (hyp/core/ffa_abi.h on the hyp side,
 * <linux/arm_ffa.h> on the kernel side) and are not repeated here. What is hypheap's own:
 * endpoint ids, the partition's UUID, and the protocol carried in x3..x7 (data0..data4).
 */
#define HYPHEAP_FFA_ID_HYP 0x0000U  /* FF-A id 0: the hypervisor itself */
#define HYPHEAP_FFA_ID_HOST 0x0001U /* the host (primary VM) */
#define HYPHEAP_FFA_ID_SVM 0x800aU  /* 0x8000 (secure-side id) | HYPHEAP_VMID_SECURE_0 */
/*
 * Since ABI 1.7: the same secure VM's second endpoint, its OP-TEE face (docs/hypervisor.md,
 * "The OP-TEE face"): the one Linux's optee driver binds to. 0x8100 | the VM, so it never
 * reads as the first endpoint of another VM (0x800b would be VM 11's).
 */
#define HYPHEAP_FFA_ID_OPTEE 0x810aU

/*
 * Partition UUID 2e7d6c2a-5f0b-4c1e-9a3d-8b4f61c07e55, as FFA_PARTITION_INFO_GET takes it in
 * w1..w4 (bytes 0..3 of the UUID little-endian in w1, etc.: Linux's export_uuid() order).
 */
#define HYPHEAP_SVM_UUID_STR "2e7d6c2a-5f0b-4c1e-9a3d-8b4f61c07e55"
#define HYPHEAP_SVM_UUID_0 0x2a6c7d2eU
#define HYPHEAP_SVM_UUID_1 0x1e4c0b5fU
#define HYPHEAP_SVM_UUID_2 0x4f8b3d9aU
#define HYPHEAP_SVM_UUID_3 0x557ec061U

/* OP-TEE's UUID 486178e0-e7f8-11e3-bc5e-0002a5d5c51b (HYPHEAP_FFA_ID_OPTEE), packed the same way. */
#define HYPHEAP_OPTEE_UUID_0 0xe0786148U
#define HYPHEAP_OPTEE_UUID_1 0xe311f8e7U
#define HYPHEAP_OPTEE_UUID_2 0x02005ebcU
#define HYPHEAP_OPTEE_UUID_3 0x1bc5d5a5U

/*
 * Direct request (either width):  data0 = HYPHEAP_SVM_OP_*,
 *                                 data1 = physical address of a struct hypheap_svm_args,
 *                                 data2 = its length in bytes, data3 = data4 = 0.
 *   INFO takes no argument block (data1 = data2 = 0).
 * Direct response:                data0 = HYPHEAP_SVM_OK or a HYPHEAP_SVM_ERR_* (signed),
 *                                 data1..data4 = results (below), 0 on error.
 *
 * The argument block lies inside one 4 KiB page that the host shares with the secure VM
 * (MEM_ASSIGN share); the secure VM copies it before reading it. Every page a range touches
 * must be lent to or shared with the secure VM by the host, or lie in one buffer the secure VM
 * allocated from its carve-out pool (CARVEOUT_ALLOC; never the rest of its own memory), and is
 * held (reclaim, or CARVEOUT_FREE, answers BUSY/HELD) for the duration of the call.
 *
 * Whole pages wherever the host cannot read: DECRYPT and FILL destinations and PIN/UNPIN
 * ranges are 4 KiB aligned in address and size; a HASH range that is not may only cover
 * pages the host shares (it can read them anyway), and so may a DECRYPT src range that is
 * not, or that does not start at a page multiple of the stream. Otherwise the host could
 * learn secrets byte by byte: HASH one byte of a decrypted page and compare with the 256
 * digests of one byte; FILL a page, DECRYPT one chosen byte into it and HASH the page; or
 * DECRYPT 4095 known bytes and one lent byte, then the same with a guess, under one IV, and
 * compare the digests of the two pages. With whole pages, every lent page holds either
 * nothing secret (FILL) or 4096 bytes the host cannot predict (DECRYPT), each lent source
 * page feeds exactly one destination page, and a HASH of it is no oracle. Such a violation
 * is PARTIAL_PAGE.
 *
 * INFO     -> data1 = HYPHEAP_SVM_VERSION, data2 = number of vCPUs, data3 = HYPHEAP_SVM_F_*
 * HASH     src = ranges, hashed in order as one message; dst none.
 *          -> data1..data4 = SHA-256 digest, bytes 0..7 little-endian in data1, etc.
 * DECRYPT  src = ciphertext (shared byte ranges, or lent whole pages on the page grid),
 *          dst = plaintext (lent: the host cannot read it, whole pages), equal total
 *          lengths, not overlapping. A frame that is not a page multiple is encrypted
 *          padded to one. AES-128-CTR as the CENC 'cenc' scheme with an 8-byte IV: counter
 *          block = iv[0..7] || big-endian 64-bit block number from 0, running across range
 *          boundaries. The key is HYPHEAP_SVM_TEST_KEY.
 * PIN      src = page ranges to hold while "the decoder" uses them; reclaim answers BUSY.
 * UNPIN    src = page ranges previously pinned.
 * FILL     dst = lent page ranges, each byte set to `pattern` (<= 0xff).
 * FAULT    (HYPHEAP_SVM_F_FAULT builds only) the secure VM reads outside its stage-2, on
 *          purpose: the partition is aborted and every later call answers FFA_ERROR(ABORTED).
 *
 * Since 1.1: requests in chunks, for buffers of more runs than one block holds.
 * INFO     -> data4 = calls that entered a service while another vCPU was inside one (a
 *          monotonic count: two calls in progress at once, proven from the secure VM's side).
 * DECRYPT  data3 = the byte offset of this chunk in the stream (a page multiple; the block
 *          number starts at data3 / 16; data3 + the chunk's length < 2^64).
 * HASH_BEGIN   no block, data1..data4 = 0 -> data1 = handle of a fresh SHA-256 context.
 * HASH_UPDATE  block as HASH; data3 = handle, data4 = bytes the context has hashed so far.
 * HASH_FINAL   data1 = handle, data2 = bytes hashed in all -> data1..data4 = digest as HASH;
 *          the context is freed.
 * HASH_ABORT   data1 = handle: the context is freed.
 * A context is the caller's (its FF-A id) alone; a caller has at most
 * HYPHEAP_SVM_HASH_PER_CLIENT of the HYPHEAP_SVM_HASH_CONTEXTS. Today the hyp admits direct
 * requests from the host alone, so its share is the whole pool; should it admit more
 * endpoints, a share below the pool's size is what keeps one from taking another's. BEGIN when all of the caller's
 * are taken reuses the one it used least recently and is not in a call, whose handle is then
 * stale (so a context a caller lost track of is never lost for good). A handle names one
 * context once: freed or reused, it answers HASH_HANDLE. Handles, byte counts and offsets are
 * 64-bit: use the 64-bit direct request (Linux 6.1 does), a 32-bit one truncates them.
 */
#define HYPHEAP_SVM_VERSION 0x00010001U /* 1.1 */
#define HYPHEAP_SVM_OP_INFO 1U
#define HYPHEAP_SVM_OP_HASH 2U
#define HYPHEAP_SVM_OP_DECRYPT 3U
#define HYPHEAP_SVM_OP_PIN 4U
#define HYPHEAP_SVM_OP_UNPIN 5U
#define HYPHEAP_SVM_OP_FILL 6U
#define HYPHEAP_SVM_OP_FAULT 7U
#define HYPHEAP_SVM_OP_HASH_BEGIN 8U  /* 1.1 */
#define HYPHEAP_SVM_OP_HASH_UPDATE 9U /* 1.1 */
#define HYPHEAP_SVM_OP_HASH_FINAL 10U /* 1.1 */
#define HYPHEAP_SVM_OP_HASH_ABORT 11U /* 1.1 */

#define HYPHEAP_SVM_HASH_CONTEXTS 8U   /* streaming HASH contexts of the secure VM */
#define HYPHEAP_SVM_HASH_PER_CLIENT 8U /* of which one FF-A endpoint may have */

#define HYPHEAP_SVM_F_FAULT 0x1U /* FAULT is built in (test builds) */

/*
 * Protected memory (hyp/svm/protmem.cc), the dynamic protected-memory protocol of the
 * upstream TEE heap over FF-A (Linux 6.18's OP-TEE driver): the host asks for the config,
 * lends one contiguous block with FFA_MEM_LEND (tag = use case), tells the secure VM to take
 * it, sub-allocates buffers from it, and when the last buffer goes asks the secure VM to
 * release it, then FFA_MEM_RECLAIMs it. No argument block: registers only, data3/data4 and
 * every unused data word must be 0 (ARGS_RESERVED). The hyp's record of the lend (its
 * retrieved flag, SVM_FFA_RETRIEVE/RELINQUISH) is the only book: two vCPUs taking one handle
 * at once get one OK and one PROTMEM_TAKEN.
 *
 * PROTMEM_CONFIG  data1 = use case (HYPHEAP_PROTMEM_USE_*)
 *          -> data1 = minimum block size (bytes), data2 = block alignment (bytes),
 *             data3 = number of receivers (1), data4 = receiver 0: FF-A endpoint id in bits
 *             [15:0], FF-A access permissions (HYPHEAP_PROTMEM_PERM_RW) in bits [23:16].
 * PROTMEM_ASSIGN  data1 = FF-A memory handle, data2 = use case: the secure VM retrieves
 *          (SVM_FFA_RETRIEVE) the block; FFA_MEM_RECLAIM answers DENIED until RELEASE.
 * PROTMEM_RELEASE data1 = handle: the secure VM relinquishes (SVM_FFA_RELINQUISH) it.
 */
#define HYPHEAP_SVM_OP_PROTMEM_CONFIG 0x10U
#define HYPHEAP_SVM_OP_PROTMEM_ASSIGN 0x11U
#define HYPHEAP_SVM_OP_PROTMEM_RELEASE 0x12U

/* Use cases, numbered as the upstream TEE heap's (TEE_DMA_HEAP_*); the FF-A tag of a block. */
#define HYPHEAP_PROTMEM_USE_SECURE_VIDEO 1U        /* "protected,secure-video" */
#define HYPHEAP_PROTMEM_USE_TRUSTED_UI 2U          /* "protected,trusted-ui" (not this VM's) */
#define HYPHEAP_PROTMEM_USE_SECURE_VIDEO_RECORD 3U /* "protected,secure-video-record" */
#define HYPHEAP_PROTMEM_PERM_RW 0x2U               /* FF-A data access read-write */
#define HYPHEAP_PROTMEM_MIN_SIZE 0x400000ULL       /* 4 MiB */
#define HYPHEAP_PROTMEM_ALIGN 0x200000ULL          /* 2 MiB: stage-2 block mappings */

/*
 * Carve-out (hyp/svm/carveout.cc), the static protected memory of MediaTek's restricted heap
 * and OP-TEE's static protmem pool: a range of RAM the secure VM owns from boot (the host never
 * owned it: not in its stage-2, a no-map reserved-memory node in its DTB) from which the
 * secure VM allocates buffers on request. The host only ever learns physical addresses.
 * Registers only, every unused data word must be 0 (ARGS_RESERVED).
 *
 * CARVEOUT_INFO   -> data1 = pool base (physical), data2 = pool size (bytes),
 *          data3 = bytes allocated now, data4 = largest free extent (bytes).
 * CARVEOUT_ALLOC  data1 = length (bytes, a non-zero multiple of 4 KiB), data2 = use case
 *          (HYPHEAP_PROTMEM_USE_*, one this VM serves) -> data1 = base of a contiguous,
 *          page-aligned buffer, zeroed. HASH, DECRYPT, FILL, PIN and UNPIN take it as memory
 *          the secure VM holds (a range must lie in one such buffer).
 * CARVEOUT_FREE   data1 = a base ALLOC returned: the buffer is zeroed and cleaned to the
 *          point of coherency before any ALLOC can return its pages again.
 */
#define HYPHEAP_SVM_OP_CARVEOUT_INFO 0x20U
#define HYPHEAP_SVM_OP_CARVEOUT_ALLOC 0x21U
#define HYPHEAP_SVM_OP_CARVEOUT_FREE 0x22U

/* The content key is a test key, built into the secure VM and named as such. */
#define HYPHEAP_SVM_TEST_KEY                                                              \
	{ 0x68, 0x79, 0x70, 0x68, 0x65, 0x61, 0x70, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x2d, 0x6b, \
	  0x65, 0x79 } /* "hypheap-test-key" */

#define HYPHEAP_SVM_OK 0
#define HYPHEAP_SVM_ERR_NOT_SUPPORTED (-1)  /* unknown op (or FAULT in a build without it) */
#define HYPHEAP_SVM_ERR_ARGS_ADDR (-2)      /* block not 8-byte aligned, or crosses a page */
#define HYPHEAP_SVM_ERR_ARGS_NOT_SHARED (-3) /* block's page is not shared by the host */
#define HYPHEAP_SVM_ERR_ARGS_LEN (-4)       /* length != HYPHEAP_SVM_ARGS_SIZE(counts) */
#define HYPHEAP_SVM_ERR_ARGS_VERSION (-5)   /* version word is not HYPHEAP_SVM_ARGS_VERSION */
#define HYPHEAP_SVM_ERR_ARGS_OP (-6)        /* block's op differs from data0 */
#define HYPHEAP_SVM_ERR_ARGS_RESERVED (-7)  /* reserved field, unused field or data3/4 != 0 */
#define HYPHEAP_SVM_ERR_RANGE_COUNT (-8)    /* nr_src/nr_dst wrong for the op */
#define HYPHEAP_SVM_ERR_RANGE_SIZE (-9)     /* zero size, or address + size overflows */
#define HYPHEAP_SVM_ERR_RANGE_UNALIGNED (-10) /* PIN/UNPIN range not 4 KiB aligned */
#define HYPHEAP_SVM_ERR_OVERLAP (-11)       /* ranges overlap (within or across lists) */
#define HYPHEAP_SVM_ERR_NOT_OWNED (-12)     /* a page is neither lent nor shared to the SVM */
#define HYPHEAP_SVM_ERR_HOST_READABLE (-13) /* a destination page the host can still read */
#define HYPHEAP_SVM_ERR_LEN_MISMATCH (-14)  /* DECRYPT: src and dst totals differ */
#define HYPHEAP_SVM_ERR_PIN_STATE (-15)     /* PIN of a pinned page, UNPIN of an unpinned one */
#define HYPHEAP_SVM_ERR_BUSY (-16)          /* a page is held by another call in progress */
#define HYPHEAP_SVM_ERR_NO_MEMORY (-17)     /* the hyp is out of table pages for the change */
#define HYPHEAP_SVM_ERR_PARTIAL_PAGE (-18)  /* part of a page the host cannot read (see above) */
/* Since 1.1. */
#define HYPHEAP_SVM_ERR_HASH_HANDLE (-19)   /* not a live context of the caller (freed, reused) */
#define HYPHEAP_SVM_ERR_HASH_IN_USE (-20)   /* the context is in another call in progress */
#define HYPHEAP_SVM_ERR_HASH_CONTEXTS (-21) /* BEGIN: every context the caller may have is busy */
#define HYPHEAP_SVM_ERR_HASH_OFFSET (-22)   /* data4 (UPDATE), data2 (FINAL) != bytes hashed */
#define HYPHEAP_SVM_ERR_HASH_LENGTH (-23)   /* the stream would pass SHA-256's 2^61 - 1 bytes */
#define HYPHEAP_SVM_ERR_STREAM_OFFSET (-24) /* DECRYPT data3 not a page multiple, or wraps */
/* Protected memory (PROTMEM_*), numbered apart from the block services' statuses. */
#define HYPHEAP_SVM_ERR_PROTMEM_USE_CASE (-32) /* a use case this VM keeps no memory for */
#define HYPHEAP_SVM_ERR_PROTMEM_NOT_LENT (-33) /* no live FF-A lend/share of the handle to it */
#define HYPHEAP_SVM_ERR_PROTMEM_TAKEN (-34)    /* ASSIGN of a handle it holds already */
#define HYPHEAP_SVM_ERR_PROTMEM_NOT_HELD (-35) /* RELEASE of a handle it does not hold */
#define HYPHEAP_SVM_ERR_PROTMEM_HYP (-36)      /* the hyp answered what its ABI does not say */
/* Carve-out (CARVEOUT_*). */
#define HYPHEAP_SVM_ERR_CARVEOUT_NO_POOL (-40)   /* the hyp gave this VM no carve-out pool */
#define HYPHEAP_SVM_ERR_CARVEOUT_LEN (-41)       /* ALLOC length 0, not 4 KiB, or > the pool */
#define HYPHEAP_SVM_ERR_CARVEOUT_USE_CASE (-42)  /* ALLOC for a use case this VM does not serve */
#define HYPHEAP_SVM_ERR_CARVEOUT_NO_SPACE (-43)  /* no free extent that long */
#define HYPHEAP_SVM_ERR_CARVEOUT_TOO_MANY (-44)  /* its table of buffers is full */
#define HYPHEAP_SVM_ERR_CARVEOUT_NOT_ALLOCATED (-45) /* FREE of a base it never allocated */
#define HYPHEAP_SVM_ERR_CARVEOUT_NOT_BASE (-46)  /* FREE inside a buffer, not at its base */
#define HYPHEAP_SVM_ERR_CARVEOUT_DOUBLE_FREE (-47) /* FREE of a buffer freed (or being freed) */
#define HYPHEAP_SVM_ERR_CARVEOUT_PINNED (-48)    /* FREE of a buffer with a page pinned */
#define HYPHEAP_SVM_ERR_CARVEOUT_HELD (-49)      /* FREE of a buffer a call in progress holds */

#define HYPHEAP_SVM_ARGS_VERSION 0x53560001U /* "SV" magic in the top half, version 1 */
#define HYPHEAP_SVM_ARGS_MAX_RANGES 254U     /* so that a block fits one page */

struct hypheap_svm_args {
	uint32_t version;  /* HYPHEAP_SVM_ARGS_VERSION */
	uint32_t op;       /* = data0 */
	uint16_t nr_src;   /* ranges in src[] */
	uint16_t nr_dst;   /* ranges in dst[] */
	uint32_t reserved; /* must be 0 */
	uint8_t iv[8];     /* DECRYPT only, else 0 */
	uint64_t pattern;  /* FILL only (low byte), else 0 */
	/* followed by struct hypheap_mem_range src[nr_src], dst[nr_dst] (byte ranges) */
};

#define HYPHEAP_SVM_ARGS_SIZE(nr_src, nr_dst) \
	(sizeof(struct hypheap_svm_args) + ((nr_src) + (nr_dst)) * sizeof(struct hypheap_mem_range))

/*
 * Calls only the secure VM makes to the hyp (vendor-hyp range; the host gets
 * NOT_SUPPORTED). Status in x0 (HYPHEAP_OK / HYPHEAP_ERR_*).
 *
 * SVM_HOLD     x1 = IPA (page aligned), x2 = pages, x3 = HYPHEAP_SVM_NEED_*: every page is
 *              mapped in the caller's stage-2 with what x3 asks, outside its carve-out and
 *              not held; then all are held (reclaim answers BUSY) until SVM_RELEASE.
 * SVM_RELEASE  x1, x2 as SVM_HOLD: every page is held; then none is.
 * SVM_PIN      x1, x2: as HOLD with need R, but the PIN service's mark (kept across calls).
 * SVM_UNPIN    x1, x2.
 * SVM_ABORT    x1 = ESR_EL1, x2 = FAR_EL1, x3 = ELR_EL1: the secure VM's own vectors took
 *              an exception it cannot handle; the hyp aborts the partition (never returns).
 * Since ABI 1.3:
 * SVM_FFA_RETRIEVE    x1 = FF-A memory handle of a live MEM_LEND to HYPHEAP_FFA_ID_SVM
 *              (a share is never the caller's to hold): the caller holds the region (it
 *              is already mapped); FFA_MEM_RECLAIM answers DENIED until SVM_FFA_RELINQUISH.
 * SVM_FFA_RELINQUISH  x1 = handle: the caller no longer holds the region.
 * Since ABI 1.7:
 * SVM_FFA_REGION      x1 = handle, x2 = the caller's FF-A id the region was given to
 *              (HYPHEAP_FFA_ID_SVM or HYPHEAP_FFA_ID_OPTEE) -> x1 = IPA of the region's first
 *              page (its first constituent, in the sender's order), x2 = the pages of all
 *              its constituents (which need not follow x1). NOT_MAPPED
 *              for a handle that is no live MEM_SHARE/LEND to that id. Marks nothing: a
 *              caller that touches the page holds it first (SVM_HOLD).
 */
#define HYPHEAP_FN_SVM_HOLD 0xC6000010U
#define HYPHEAP_FN_SVM_RELEASE 0xC6000011U
#define HYPHEAP_FN_SVM_PIN 0xC6000012U
#define HYPHEAP_FN_SVM_UNPIN 0xC6000013U
#define HYPHEAP_FN_SVM_ABORT 0xC6000014U
#define HYPHEAP_FN_SVM_FFA_RETRIEVE 0xC6000015U
#define HYPHEAP_FN_SVM_FFA_RELINQUISH 0xC6000016U
#define HYPHEAP_FN_SVM_FFA_REGION 0xC6000017U

#define HYPHEAP_SVM_NEED_R 0x1U         /* readable by the secure VM */
#define HYPHEAP_SVM_NEED_W 0x2U         /* writable by the secure VM */
#define HYPHEAP_SVM_NEED_EXCLUSIVE 0x4U /* lent: the host cannot access it */
#define HYPHEAP_SVM_NEED_SHARED 0x8U    /* shared: the host still maps it */

#ifdef __cplusplus
#define HYPHEAP_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define HYPHEAP_ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

HYPHEAP_ABI_ASSERT(sizeof(struct hypheap_assign_hdr) == 24, "assign header is 24 bytes");
HYPHEAP_ABI_ASSERT(__builtin_offsetof(struct hypheap_assign_hdr, version) == 0, "version @0");
HYPHEAP_ABI_ASSERT(__builtin_offsetof(struct hypheap_assign_hdr, nr_dests) == 4, "nr_dests @4");
HYPHEAP_ABI_ASSERT(__builtin_offsetof(struct hypheap_assign_hdr, flags) == 6, "flags @6");
HYPHEAP_ABI_ASSERT(__builtin_offsetof(struct hypheap_assign_hdr, nr_ranges) == 8, "ranges @8");
HYPHEAP_ABI_ASSERT(__builtin_offsetof(struct hypheap_assign_hdr, reserved) == 12, "rsvd @12");
HYPHEAP_ABI_ASSERT(__builtin_offsetof(struct hypheap_assign_hdr, srcvm) == 16, "srcvm @16");
HYPHEAP_ABI_ASSERT(sizeof(struct hypheap_vmperm) == 8, "vmperm is 8 bytes");
HYPHEAP_ABI_ASSERT(__builtin_offsetof(struct hypheap_vmperm, perms) == 4, "perms @4");
HYPHEAP_ABI_ASSERT(sizeof(struct hypheap_mem_range) == 16, "mem_range is 16 bytes");
HYPHEAP_ABI_ASSERT(__builtin_offsetof(struct hypheap_mem_range, size) == 8, "size @8");
HYPHEAP_ABI_ASSERT(HYPHEAP_DESC_MAX_RANGES(1) == 4094, "one-dest descriptor capacity");
HYPHEAP_ABI_ASSERT(HYPHEAP_VMID_SECURE_1 < HYPHEAP_VMID_LIMIT, "vmids fit the bitmap");
HYPHEAP_ABI_ASSERT(sizeof(struct hypheap_svm_args) == 32, "svm args header is 32 bytes");
HYPHEAP_ABI_ASSERT(__builtin_offsetof(struct hypheap_svm_args, iv) == 16, "iv @16");
HYPHEAP_ABI_ASSERT(__builtin_offsetof(struct hypheap_svm_args, pattern) == 24, "pattern @24");
HYPHEAP_ABI_ASSERT(HYPHEAP_SVM_ARGS_SIZE(HYPHEAP_SVM_ARGS_MAX_RANGES, 0) <= HYPHEAP_PAGE_SIZE,
		   "an argument block fits one page");

#endif /* HYPHEAP_ABI_H */

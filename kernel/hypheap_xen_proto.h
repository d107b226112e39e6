/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The xen transport's mailbox: one 4 KiB page of dom0, granted to the
 * receiver domain under a fixed grant reference, through which dom0 asks
 * the receiver to map, check, fill, scrub and unmap pages it granted.
 * Shared by hypheap_xen.c (dom0) and hypheap_xen_rx.c (the receiver).
 *
 * No xenstore runs on this system (dom0less, no toolstack), so neither
 * side can look the other's reference up: dom0 uses one of the references
 * its grant table reserves and Linux never hands out (below
 * NR_RESERVED_ENTRIES), and the receiver maps that one.
 *
 * Protocol: dom0 writes a request, then releases @req_seq + 1; the
 * receiver acquires it, answers (@status, @sum, @mapped), then releases
 * @ack_seq = @req_seq. One request at a time (dom0's conduit lock). Both
 * sides poll (no event channel: nothing to set one up without xenstore).
 */
#ifndef _HYPHEAP_XEN_PROTO_H
#define _HYPHEAP_XEN_PROTO_H

#include <linux/types.h>

/* dom0's grant reference of the mailbox page: reserved, never allocated */
#define HYPHEAP_XEN_MAILBOX_REF	7U
#define HYPHEAP_XEN_MAGIC	0x68687865U	/* "hhxe" */
#define HYPHEAP_XEN_VERSION	2U

/**
 * enum hypheap_xen_op - what dom0 asks of the receiver
 * @HYPHEAP_XEN_OP_MAP: map every reference of @refs, all or none; with
 *	%HYPHEAP_XEN_F_READONLY read-only (the grants are)
 * @HYPHEAP_XEN_OP_UNMAP: unmap them (all known to be mapped, or none is
 *	touched); with %HYPHEAP_XEN_F_SCRUB zero each writable page first.
 *	@sum: the pages zeroed
 * @HYPHEAP_XEN_OP_SUM: checksum of the mapped pages, in @refs order
 * @HYPHEAP_XEN_OP_FILL: write @arg's low byte over the mapped pages (all
 *	mapped writable, or none is written)
 * @HYPHEAP_XEN_OP_PROBE_WRITE: for the tests: try to write each page
 *	through Xen without the receiver's mapping, once by a second, writable
 *	map and once by GNTTABOP_copy (the same byte back). @sum: the writes
 *	Xen refused, maps in the low 32 bits, copies in the high
 * @HYPHEAP_XEN_OP_KEEP: for the tests: the next @arg UNMAP requests answer
 *	0 but keep the mappings (a receiver that lies); no @refs
 * @HYPHEAP_XEN_OP_LETGO: unmap every mapping KEEP kept; no @refs
 * @HYPHEAP_XEN_OP_DETACH: dom0 retires this mailbox page: the receiver
 *	answers, unmaps it and maps the reference again until a page with
 *	%HYPHEAP_XEN_MAGIC is there; no @refs
 * @HYPHEAP_XEN_OP_HOLD: for the tests: after answering the next DETACH,
 *	keep the mailbox mapped @arg seconds (a receiver slow to let go); no
 *	@refs
 * @HYPHEAP_XEN_OP_REFUSE: for the tests: the next @arg UNMAP requests
 *	answer -EBUSY and touch nothing; no @refs
 */
enum hypheap_xen_op {
	HYPHEAP_XEN_OP_MAP = 1,
	HYPHEAP_XEN_OP_UNMAP = 2,
	HYPHEAP_XEN_OP_SUM = 3,
	HYPHEAP_XEN_OP_FILL = 4,
	HYPHEAP_XEN_OP_PROBE_WRITE = 5,
	HYPHEAP_XEN_OP_KEEP = 6,
	HYPHEAP_XEN_OP_LETGO = 7,
	HYPHEAP_XEN_OP_DETACH = 8,
	HYPHEAP_XEN_OP_HOLD = 9,
	HYPHEAP_XEN_OP_REFUSE = 10,
};

/* the ops that carry no references (@nr is 0) */
static inline bool hypheap_xen_op_has_refs(u32 op)
{
	return op != HYPHEAP_XEN_OP_KEEP && op != HYPHEAP_XEN_OP_LETGO &&
	       op != HYPHEAP_XEN_OP_DETACH && op != HYPHEAP_XEN_OP_HOLD &&
	       op != HYPHEAP_XEN_OP_REFUSE;
}

#define HYPHEAP_XEN_F_SCRUB	0x1U
#define HYPHEAP_XEN_F_READONLY	0x2U

#define HYPHEAP_XEN_HEADER_BYTES	56
#define HYPHEAP_XEN_MAX_REFS	((4096 - HYPHEAP_XEN_HEADER_BYTES) / 4)

/**
 * struct hypheap_xen_mailbox - the shared page (little endian)
 * @magic: %HYPHEAP_XEN_MAGIC, written by dom0 before it grants the page,
 *	cleared before it retires the page (DETACH)
 * @ready: the receiver's %HYPHEAP_XEN_VERSION once it serves requests
 * @req_seq: dom0: bumped after each request is written
 * @ack_seq: receiver: set to @req_seq once the request is answered
 * @op: an &enum hypheap_xen_op
 * @flags: %HYPHEAP_XEN_F_*
 * @nr: entries of @refs used
 * @status: the receiver's answer: 0 or a negative errno
 * @arg: the op's argument (FILL: the byte)
 * @sum: the receiver's answer to SUM: hypheap_xen_sum() of the pages,
 *	chained in @refs order; to UNMAP and PROBE_WRITE: counts (above)
 * @mapped: the receiver's answer: pages it maps now
 * @refs: dom0's grant references, one 4 KiB page each
 */
struct hypheap_xen_mailbox {
	__le32 magic;
	__le32 ready;
	__le32 req_seq;
	__le32 ack_seq;
	__le32 op;
	__le32 flags;
	__le32 nr;
	__le32 status;
	__le32 arg;
	__le32 reserved;
	__le64 sum;
	__le64 mapped;
	__le32 refs[HYPHEAP_XEN_MAX_REFS];
};

/*
 * FNV-1a over one page, chained through @h: what both sides compute to
 * show that the receiver sees the bytes dom0 wrote (not a MAC).
 */
static inline u64 hypheap_xen_sum(u64 h, const void *page)
{
	const u64 *w = page;
	unsigned int i;

	for (i = 0; i < 4096 / sizeof(*w); i++) {
		h ^= w[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define HYPHEAP_XEN_SUM_INIT	0xcbf29ce484222325ULL

#endif /* _HYPHEAP_XEN_PROTO_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The xen transport's interface to its tests (kernel/hypheap_xen_test.c):
 * failures to inject, and its counts.
 */
#ifndef _HYPHEAP_XEN_H
#define _HYPHEAP_XEN_H

#include <linux/types.h>

/**
 * struct hypheap_xen_faults - failures for the next requests to meet
 * @grant_at: granting page k (from 1) of a lend or share fails (-ENOSPC)
 * @map_bad_at: page k's reference reaches the receiver as one dom0 never
 *	granted, so the receiver refuses the MAP
 * @decrease_at: XENMEM_decrease_reservation stops before page k
 * @populate_at: XENMEM_populate_physmap stops before page k
 *
 * Each fires once, then is 0 (off) again.
 */
struct hypheap_xen_faults {
	unsigned long grant_at;
	unsigned long map_bad_at;
	unsigned long decrease_at;
	unsigned long populate_at;
};

/**
 * struct hypheap_xen_counts - the transport's state (debugfs hypheap/transport)
 * @grants: grants dom0 holds for the receiver
 * @pages_lent: pages out of dom0's p2m
 * @pages_shared: pages shared
 * @held: pages whose grant Xen says is still in use after the receiver
 *	answered UNMAP: never freed, never put back in dom0's p2m
 * @unreturned: lent pages whose grant ended but which populate_physmap did
 *	not put back yet
 * @end_refused: grants that could not be ended, since boot
 * @populate_short: frames populate_physmap did not give back, since boot
 * @broken: a request timed out, nothing more is sent
 * @mailboxes_retired: mailbox pages retired and freed, since boot
 * @mailboxes_leaked: mailbox pages never freed (the receiver did not let
 *	go of one it was asked to retire), since boot
 */
struct hypheap_xen_counts {
	u64 grants;
	u64 pages_lent;
	u64 pages_shared;
	u64 held;
	u64 unreturned;
	u64 end_refused;
	u64 populate_short;
	bool broken;
	u64 mailboxes_retired;
	u64 mailboxes_leaked;
};

int hypheap_xen_inject(const struct hypheap_xen_faults *f);
void hypheap_xen_fail_next_create(void);
int hypheap_xen_counts(struct hypheap_xen_counts *n);

#endif /* _HYPHEAP_XEN_H */

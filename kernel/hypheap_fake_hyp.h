/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A fake hypervisor behind a conduit, for the KUnit suites of
 * hypheap_kunit.ko: it keeps who owns each page in its books (it touches
 * the pages only to zero them, for a scrub in place), applies MEM_ASSIGN
 * all or nothing as the ABI says, answers MEM_QUERY from the books, and
 * fails chosen calls on demand, with or without having changed the pages
 * first.
 */
#ifndef HYPHEAP_FAKE_HYP_H
#define HYPHEAP_FAKE_HYP_H

#include <kunit/test.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include "hypheap_priv.h"

/**
 * struct fake_hyp - the books and the failures to inject
 * @owners: pfn -> owners bitmap (xa_mk_value()); absent: the host alone
 * @host: the host's bit
 * @calls: MEM_ASSIGN calls so far
 * @lends: of which calls from the host (lend or share)
 * @reclaims: of which calls back to the host
 * @scrubs: of which scrubs in place (%HYPHEAP_DESC_F_SCRUB, {vm} -> {vm}),
 *	which zero the pages. Looser than the hypervisor: it keeps no perms
 *	(a scrub with other perms than the lend's is not refused) and takes
 *	any owners bitmap without the host as {vm}
 * @queries: MEM_QUERY calls so far
 * @fail_call: first call (1-based, counting @calls) to fail; 0: none
 * @fail_count: calls to fail from @fail_call on (0 counts as 1)
 * @fail_status: the status a failed call answers; %HYPHEAP_OK for a
 *	transport that answers an errno only (@fail_errno)
 * @fail_errno: the errno then returned; 0: hypheap_abi_errno(@fail_status)
 * @fail_applies: the first failing call changes the pages anyway (an
 *	answer the driver cannot trust); the others change nothing
 * @pinned: first page the secure VM pins (MEM_QUERY flags it PINNED, a
 *	reclaim naming it answers BUSY, as the hypervisor does)
 * @pinned_pages: how many from @pinned; 0: none
 * @pinned_flag: what MEM_QUERY says of them: %HYPHEAP_STATE_F_PINNED when 0,
 *	else this (%HYPHEAP_STATE_F_HELD: a service call uses them;
 *	%HYPHEAP_STATE_F_PENDING: an operation in progress changes them); a
 *	reclaim naming them answers BUSY whichever (the hypervisor answers
 *	PENDING for the last, which the driver treats alike: -EBUSY)
 */
struct fake_hyp {
	struct xarray owners;
	u64 host;
	unsigned int calls;
	unsigned int lends;
	unsigned int reclaims;
	unsigned int scrubs;
	unsigned int queries;
	unsigned int fail_call;
	unsigned int fail_count;
	long fail_status;
	int fail_errno;
	bool fail_applies;
	phys_addr_t pinned;
	u64 pinned_pages;
	u32 pinned_flag;
};

struct hypheap_conduit *fake_hyp_conduit(struct kunit *test,
					 struct fake_hyp *fh,
					 unsigned int max_ranges, bool query);
void fake_hyp_fail(struct fake_hyp *fh, unsigned int from, unsigned int count,
		   long status, bool applies);
bool fake_hyp_all_host(struct fake_hyp *fh);
u64 fake_hyp_owner(struct fake_hyp *fh, phys_addr_t pa);

#endif /* HYPHEAP_FAKE_HYP_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * hypheap qcom_scm transport: the same requests, served by Qualcomm's
 * secure monitor through qcom_scm_assign_mem() (one call per range).
 * hypheap VM ids and permissions use Qualcomm's values, so they pass
 * through unchanged. Written against Linux 6.1, whose source bitmap is an
 * unsigned int.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <kunit/visibility.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/qcom_scm.h>

#include "hypheap_priv.h"

#define HYPHEAP_QCOM_RANGES	64

static int hypheap_qcom_range(const struct hypheap_range *r, u64 srcvm,
			      const struct hypheap_vmperm *dst,
			      unsigned int nr_dst, hypheap_qcom_assign_fn fn)
{
	struct qcom_scm_vmperm vm[HYPHEAP_MAX_DEST];
	unsigned int src = srcvm, i;

	for (i = 0; i < nr_dst; i++) {
		vm[i].vmid = dst[i].vmid;
		vm[i].perm = dst[i].perms;
	}
	return fn(r->base, r->size, &src, vm, nr_dst);
}

/**
 * hypheap_qcom_assign_ranges() - one request as qcom_scm calls, one per range
 * @req: the request
 * @status: set to %HYPHEAP_STATUS_NOT_SENT when nothing changed for sure
 * @fn: qcom_scm_assign_mem(), or a KUnit stand-in
 *
 * qcom_scm answers errnos only. In Linux 6.1, qcom_scm_assign_mem() fails
 * with -ENOMEM only before its SCM call (the descriptor allocation), and
 * turns every failure of the call itself into -EINVAL, whatever the secure
 * side did. So -ENOMEM from the first range means nothing changed; any other
 * failure, or one after a range was done, leaves *@status at %HYPHEAP_OK:
 * the outcome is unknown. Ranges done before a failure are not taken back
 * here; the caller decides (a reclaim is never undone).
 *
 * Return: 0 or the errno of the failing range.
 */
int hypheap_qcom_assign_ranges(const struct hypheap_assign_req *req,
			       long *status, hypheap_qcom_assign_fn fn)
{
	u64 now = hypheap_vmperm_bitmap(req->dst, req->nr_dst);
	unsigned int i;
	int ret;

	/* this kernel's qcom_scm_assign_mem() takes a 32-bit source bitmap */
	if (upper_32_bits(req->srcvm) || upper_32_bits(now)) {
		*status = HYPHEAP_STATUS_NOT_SENT;
		return -EINVAL;
	}

	for (i = 0; i < req->nr_ranges; i++) {
		ret = hypheap_qcom_range(&req->ranges[i], req->srcvm,
					 req->dst, req->nr_dst, fn);
		if (ret) {
			if (ret == -ENOMEM && i == 0)
				*status = HYPHEAP_STATUS_NOT_SENT;
			return ret;
		}
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(hypheap_qcom_assign_ranges);

static int hypheap_qcom_assign(struct hypheap_conduit *c,
			       const struct hypheap_assign_req *req,
			       long *status)
{
	return hypheap_qcom_assign_ranges(req, status, qcom_scm_assign_mem);
}

static const struct hypheap_transport_ops hypheap_qcom_ops = {
	.name = "qcom-scm",
	.lends = true,
	/* what the secure world does to the caches is not ours to know */
	.cleans_on_lend = false,
	.assign = hypheap_qcom_assign,
};

/**
 * hypheap_qcom_create() - make a conduit over qcom_scm
 * @dev: the probing device
 *
 * Return: the conduit, -EPROBE_DEFER until qcom_scm is up, or an ERR_PTR().
 */
struct hypheap_conduit *hypheap_qcom_create(struct device *dev)
{
	if (!qcom_scm_is_available())
		return ERR_PTR(-EPROBE_DEFER);
	return hypheap_conduit_create(&hypheap_qcom_ops, NULL,
				      HYPHEAP_QCOM_RANGES);
}

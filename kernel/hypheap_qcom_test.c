// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the qcom_scm transport's outcome rules: which failures of
 * qcom_scm_assign_mem() prove that nothing changed. QEMU has no SCM, so a
 * stand-in with 6.1's failure behaviour takes its place.
 */

#include <kunit/test.h>
#include <linux/qcom_scm.h>

#include "hypheap_priv.h"

static unsigned int qcom_calls, qcom_fail_at;
static int qcom_fail_errno;

static int fake_qcom_assign_mem(phys_addr_t mem_addr, size_t mem_sz,
				unsigned int *srcvm,
				const struct qcom_scm_vmperm *newvm,
				unsigned int dest_cnt)
{
	if (++qcom_calls == qcom_fail_at)
		return qcom_fail_errno;
	return 0;
}

static const struct hypheap_vmperm qcom_test_dst = {
	.vmid = HYPHEAP_VMID_SECURE_0,
	.perms = HYPHEAP_PERM_R | HYPHEAP_PERM_W,
};

static const struct hypheap_range qcom_test_ranges[] = {
	{ .base = SZ_1G, .size = PAGE_SIZE },
	{ .base = SZ_1G + SZ_2M, .size = PAGE_SIZE },
};

static long qcom_run(unsigned int fail_at, int err, int *ret)
{
	const struct hypheap_assign_req req = {
		.srcvm = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST),
		.dst = &qcom_test_dst,
		.nr_dst = 1,
		.ranges = qcom_test_ranges,
		.nr_ranges = ARRAY_SIZE(qcom_test_ranges),
	};
	long status = HYPHEAP_OK;

	qcom_calls = 0;
	qcom_fail_at = fail_at;
	qcom_fail_errno = err;
	*ret = hypheap_qcom_assign_ranges(&req, &status, fake_qcom_assign_mem);
	return status;
}

/* 6.1 fails with -ENOMEM before its SCM call: nothing changed */
static void enomem_on_first_range_changed_nothing(struct kunit *test)
{
	int ret;

	KUNIT_EXPECT_EQ(test, qcom_run(1, -ENOMEM, &ret),
			HYPHEAP_STATUS_NOT_SENT);
	KUNIT_EXPECT_EQ(test, ret, -ENOMEM);
	KUNIT_EXPECT_EQ(test, qcom_calls, 1U);
	KUNIT_EXPECT_TRUE(test, hypheap_status_unchanged(HYPHEAP_STATUS_NOT_SENT));
}

/* after one range was assigned, the request as a whole has changed */
static void enomem_after_a_done_range_is_unknown(struct kunit *test)
{
	int ret;

	KUNIT_EXPECT_EQ(test, qcom_run(2, -ENOMEM, &ret), (long)HYPHEAP_OK);
	KUNIT_EXPECT_EQ(test, ret, -ENOMEM);
}

/* 6.1 turns any failure of the SCM call into -EINVAL: unknown outcome */
static void scm_call_failure_is_unknown(struct kunit *test)
{
	int ret;

	KUNIT_EXPECT_EQ(test, qcom_run(1, -EINVAL, &ret), (long)HYPHEAP_OK);
	KUNIT_EXPECT_EQ(test, ret, -EINVAL);
	KUNIT_EXPECT_FALSE(test, hypheap_status_unchanged(HYPHEAP_OK));
}

static void success_calls_once_per_range(struct kunit *test)
{
	int ret;

	KUNIT_EXPECT_EQ(test, qcom_run(0, 0, &ret), (long)HYPHEAP_OK);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, qcom_calls, 2U);
}

static struct kunit_case hypheap_qcom_cases[] = {
	KUNIT_CASE(enomem_on_first_range_changed_nothing),
	KUNIT_CASE(enomem_after_a_done_range_is_unknown),
	KUNIT_CASE(scm_call_failure_is_unknown),
	KUNIT_CASE(success_calls_once_per_range),
	{}
};

static struct kunit_suite hypheap_qcom_suite = {
	.name = "hypheap-qcom",
	.test_cases = hypheap_qcom_cases,
};

kunit_test_suites(&hypheap_qcom_suite);

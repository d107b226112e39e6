// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suites "hypheap-ffa" and "hypheap-ffa-abort": the hypervisor's FF-A
 * answers, called raw (arm_smccc_1_2_smc/hvc) from the host the way Linux's
 * arm_ffa driver calls them, and the secure VM's partition behind them.
 *
 * VERSION, ID_GET, RXTX_MAP and PARTITION_INFO_GET are what the arm_ffa
 * driver itself does at boot (the ffa scenario checks its log lines); here
 * the partition device it registered is looked up, then everything the
 * driver does not exercise: direct requests of both widths and both
 * conduits reaching the secure VM's INFO service, requests with a wrong
 * sender or receiver, FFA_RUN of a vCPU that was not preempted, and ids of
 * the FF-A range the hypervisor does not implement.
 *
 * "hypheap-ffa-abort" makes the secure VM fault on purpose (its FAULT op,
 * offered only with "hypheap.svm_fault_op" on the command line): the call
 * answers FFA_ERROR(ABORTED), so does every later one, and the hypervisor
 * still answers its own calls. It kills the partition for the rest of the
 * boot, so it runs last, in its own module (hypheap_ffa_test.ko, loaded only
 * by the ffa scenario).
 */

#include <kunit/test.h>
#include <linux/arm-smccc.h>
#include <linux/arm_ffa.h>
#include <linux/cpu.h>
#include <linux/device.h>
#include <linux/uuid.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/path.h>
#include <linux/slab.h>

#include <hypheap/abi.h>

/* FF-A function ids and error codes (DEN0077A v1.0). */
#define HHF_ERROR		0x84000060
#define HHF_SUCCESS		0x84000061
#define HHF_INTERRUPT		0x84000062
#define HHF_ID_GET		0x84000069
#define HHF_MSG_POLL		0x8400006a
#define HHF_RUN			0x8400006d
#define HHF_REQ32		0x8400006f
#define HHF_RESP32		0x84000070
#define HHF_REQ64		0xc400006f
#define HHF_RESP64		0xc4000070
#define HHF_LAST_ID32		0x840000ff
#define HHF_LAST_ID64		0xc40000fe

#define HHF_NOT_SUPPORTED	(-1)
#define HHF_INVALID_PARAMETERS	(-2)
#define HHF_DENIED		(-6)
#define HHF_ABORTED		(-8)

#define HHF_TARGET(src, dst)	(((unsigned long)(src) << 16) | (dst))

static long hhf_w2(const struct arm_smccc_1_2_regs *r)
{
	return (long)(int)(u32)r->a2;
}

/*
 * A direct request as the arm_ffa driver makes it, FFA_RUN included for as
 * long as interrupts preempt the partition. *preempted counts them.
 */
static void hhf_call(bool hvc, const struct arm_smccc_1_2_regs *in,
		     struct arm_smccc_1_2_regs *out, unsigned int *preempted)
{
	struct arm_smccc_1_2_regs run;

	if (hvc)
		arm_smccc_1_2_hvc(in, out);
	else
		arm_smccc_1_2_smc(in, out);
	while ((u32)out->a0 == HHF_INTERRUPT) {
		if (preempted)
			(*preempted)++;
		run = (struct arm_smccc_1_2_regs){ .a0 = HHF_RUN, .a1 = out->a1 };
		if (hvc)
			arm_smccc_1_2_hvc(&run, out);
		else
			arm_smccc_1_2_smc(&run, out);
	}
}

static void hhf_direct(bool hvc, bool wide, unsigned long target, u64 op,
		       struct arm_smccc_1_2_regs *out)
{
	struct arm_smccc_1_2_regs in = {
		.a0 = wide ? HHF_REQ64 : HHF_REQ32,
		.a1 = target,
		.a3 = op,
	};

	hhf_call(hvc, &in, out, NULL);
}

static void hhf_expect_info(struct kunit *test, bool hvc, bool wide)
{
	struct arm_smccc_1_2_regs r;

	hhf_direct(hvc, wide, HHF_TARGET(HYPHEAP_FFA_ID_HOST, HYPHEAP_FFA_ID_SVM),
		   HYPHEAP_SVM_OP_INFO, &r);
	KUNIT_ASSERT_EQ(test, r.a0, wide ? HHF_RESP64 : HHF_RESP32);
	/* The response names the partition as sender and us as receiver. */
	KUNIT_EXPECT_EQ(test, (u32)r.a1,
			(u32)HHF_TARGET(HYPHEAP_FFA_ID_SVM, HYPHEAP_FFA_ID_HOST));
	KUNIT_EXPECT_EQ(test, (long)r.a3, (long)HYPHEAP_SVM_OK);
	KUNIT_EXPECT_EQ(test, r.a4, (unsigned long)HYPHEAP_SVM_VERSION);
	/* One vCPU per CPU the hypervisor runs: every possible CPU here. */
	KUNIT_EXPECT_EQ(test, r.a5, (unsigned long)num_possible_cpus());
}

static struct ffa_device *hhf_probed;

static int hhf_probe(struct ffa_device *ffa)
{
	hhf_probed = ffa;
	return 0;
}

static struct ffa_device_id hhf_ids[2];

static struct ffa_driver hhf_driver = {
	.name = "hypheap_ffa_test",
	.probe = hhf_probe,
	.id_table = hhf_ids,
};

/*
 * Linux's own driver found the partition through PARTITION_INFO_GET with
 * the null UUID; a driver asking for our UUID binds to it, which makes the
 * bus ask PARTITION_INFO_GET again, filtered by that UUID (FF-A v1.0
 * descriptors carry no UUID).
 */
static void hhf_partition_device_registered(struct kunit *test)
{
	struct path path;
	char *name;
	int ret;

	KUNIT_ASSERT_EQ(test, uuid_parse(HYPHEAP_SVM_UUID_STR, &hhf_ids[0].uuid), 0);
	hhf_probed = NULL;
	/*
	 * No owner: KUnit runs this while the module is still loading, before
	 * its sysfs kobject exists for the driver core to link to.
	 */
	KUNIT_ASSERT_EQ(test, ffa_driver_register(&hhf_driver, NULL, NULL), 0);
	KUNIT_EXPECT_NOT_NULL(test, hhf_probed);
	if (hhf_probed) {
		KUNIT_EXPECT_EQ(test, hhf_probed->vm_id, (int)HYPHEAP_FFA_ID_SVM);
		name = kasprintf(GFP_KERNEL, "/sys/bus/arm_ffa/devices/%s",
				 dev_name(&hhf_probed->dev));
		KUNIT_EXPECT_NOT_NULL(test, name);
		if (name) {
			ret = kern_path(name, 0, &path);
			KUNIT_EXPECT_EQ(test, ret, 0);
			if (!ret)
				path_put(&path);
			kunit_info(test, "%s: FF-A id 0x%x\n", name, hhf_probed->vm_id);
			kfree(name);
		}
	}
	ffa_driver_unregister(&hhf_driver);
}

static void hhf_direct_req_info_64(struct kunit *test)
{
	hhf_expect_info(test, false, true);
}

static void hhf_direct_req_info_32(struct kunit *test)
{
	hhf_expect_info(test, false, false);
}

/* The same partition through the other conduit: FF-A ids by HVC too. */
static void hhf_direct_req_info_hvc(struct kunit *test)
{
	hhf_expect_info(test, true, true);
	hhf_expect_info(test, true, false);
}

/* On every CPU, so every vCPU answers (each CPU enters its own). */
static void hhf_direct_req_info_every_cpu(struct kunit *test)
{
	unsigned int cpu;
	int ret;

	for_each_online_cpu(cpu) {
		ret = set_cpus_allowed_ptr(current, cpumask_of(cpu));
		KUNIT_ASSERT_EQ(test, ret, 0);
		KUNIT_EXPECT_EQ(test, raw_smp_processor_id(), cpu);
		hhf_expect_info(test, false, true);
	}
	set_cpus_allowed_ptr(current, cpu_possible_mask);
}

/* The sender must be the caller (the host, id 1). */
static void hhf_bad_sender(struct kunit *test)
{
	static const u16 senders[] = { 0, 2, HYPHEAP_FFA_ID_SVM, 0xffff };
	struct arm_smccc_1_2_regs r;
	int i;

	for (i = 0; i < ARRAY_SIZE(senders); i++) {
		hhf_direct(false, true, HHF_TARGET(senders[i], HYPHEAP_FFA_ID_SVM),
			   HYPHEAP_SVM_OP_INFO, &r);
		KUNIT_EXPECT_EQ_MSG(test, (u32)r.a0, HHF_ERROR, "sender %x", senders[i]);
		KUNIT_EXPECT_EQ_MSG(test, hhf_w2(&r), (long)HHF_INVALID_PARAMETERS,
				    "sender %x", senders[i]);
	}
}

/* The receiver must be the partition: not the hyp, the host, or an unknown id. */
static void hhf_bad_receiver(struct kunit *test)
{
	static const u16 receivers[] = { HYPHEAP_FFA_ID_HYP, HYPHEAP_FFA_ID_HOST, 0x800b,
					 0x000a, 0xffff };
	struct arm_smccc_1_2_regs r;
	int i;

	for (i = 0; i < ARRAY_SIZE(receivers); i++) {
		hhf_direct(false, true, HHF_TARGET(HYPHEAP_FFA_ID_HOST, receivers[i]),
			   HYPHEAP_SVM_OP_INFO, &r);
		KUNIT_EXPECT_EQ_MSG(test, (u32)r.a0, HHF_ERROR, "receiver %x", receivers[i]);
		KUNIT_EXPECT_EQ_MSG(test, hhf_w2(&r), (long)HHF_INVALID_PARAMETERS,
				    "receiver %x", receivers[i]);
	}
	/* Nothing was left half-done: the partition still answers. */
	hhf_expect_info(test, false, true);
}

/* FFA_RUN resumes only a preempted vCPU; a waiting one has nothing to resume. */
static void hhf_run_waiting_vcpu(struct kunit *test)
{
	struct arm_smccc_1_2_regs in = {
		.a0 = HHF_RUN,
		.a1 = HHF_TARGET(HYPHEAP_FFA_ID_SVM, 0),
	};
	struct arm_smccc_1_2_regs r;

	arm_smccc_1_2_smc(&in, &r);
	KUNIT_EXPECT_EQ(test, (u32)r.a0, HHF_ERROR);
	KUNIT_EXPECT_EQ(test, hhf_w2(&r), (long)HHF_DENIED);
	hhf_expect_info(test, false, true);
}

/*
 * Ids of the FF-A range the hypervisor does not implement answer
 * FFA_ERROR(NOT_SUPPORTED) (not SMCCC's bare -1), by both conduits.
 */
static void hhf_unknown_ids_not_supported(struct kunit *test)
{
	static const u32 ids[] = { HHF_MSG_POLL, HHF_LAST_ID32, HHF_LAST_ID64, 0x8400007f,
				   0xc4000060 };
	struct arm_smccc_1_2_regs in = {}, r;
	int i, hvc;

	for (hvc = 0; hvc < 2; hvc++) {
		for (i = 0; i < ARRAY_SIZE(ids); i++) {
			in.a0 = ids[i];
			if (hvc)
				arm_smccc_1_2_hvc(&in, &r);
			else
				arm_smccc_1_2_smc(&in, &r);
			KUNIT_EXPECT_EQ_MSG(test, (u32)r.a0, HHF_ERROR, "id %x hvc %d", ids[i],
					    hvc);
			KUNIT_EXPECT_EQ_MSG(test, hhf_w2(&r), (long)HHF_NOT_SUPPORTED,
					    "id %x hvc %d", ids[i], hvc);
		}
	}
}

/* FFA_ID_GET by HVC answers as by SMC: the host is FF-A id 1. */
static void hhf_id_get_both_conduits(struct kunit *test)
{
	struct arm_smccc_1_2_regs in = { .a0 = HHF_ID_GET }, r;

	arm_smccc_1_2_smc(&in, &r);
	KUNIT_EXPECT_EQ(test, (u32)r.a0, HHF_SUCCESS);
	KUNIT_EXPECT_EQ(test, r.a2 & 0xffff, (unsigned long)HYPHEAP_FFA_ID_HOST);
	arm_smccc_1_2_hvc(&in, &r);
	KUNIT_EXPECT_EQ(test, (u32)r.a0, HHF_SUCCESS);
	KUNIT_EXPECT_EQ(test, r.a2 & 0xffff, (unsigned long)HYPHEAP_FFA_ID_HOST);
}

static struct kunit_case hhf_cases[] = {
	KUNIT_CASE(hhf_partition_device_registered),
	KUNIT_CASE(hhf_direct_req_info_64),
	KUNIT_CASE(hhf_direct_req_info_32),
	KUNIT_CASE(hhf_direct_req_info_hvc),
	KUNIT_CASE(hhf_direct_req_info_every_cpu),
	KUNIT_CASE(hhf_bad_sender),
	KUNIT_CASE(hhf_bad_receiver),
	KUNIT_CASE(hhf_run_waiting_vcpu),
	KUNIT_CASE(hhf_unknown_ids_not_supported),
	KUNIT_CASE(hhf_id_get_both_conduits),
	{}
};

static struct kunit_suite hhf_suite = {
	.name = "hypheap-ffa",
	.test_cases = hhf_cases,
};

/* A hypervisor call of its own (vendor-hyp range): the hyp is alive. */
static void hhf_expect_hyp_alive(struct kunit *test)
{
	struct arm_smccc_res res;

	arm_smccc_1_1_hvc(HYPHEAP_FN_VENDOR_HYP_UID, &res);
	KUNIT_EXPECT_EQ(test, res.a0, (unsigned long)HYPHEAP_UID_0);
}

/*
 * The secure VM reads outside its stage-2 on purpose: the partition is
 * aborted, this call and every later one answer FFA_ERROR(ABORTED), on
 * every CPU, and the hypervisor itself carries on.
 */
static void hhf_fault_aborts_partition(struct kunit *test)
{
	struct arm_smccc_1_2_regs r;
	unsigned int cpu;

	hhf_direct(false, true, HHF_TARGET(HYPHEAP_FFA_ID_HOST, HYPHEAP_FFA_ID_SVM),
		   HYPHEAP_SVM_OP_INFO, &r);
	KUNIT_ASSERT_EQ(test, r.a0, (unsigned long)HHF_RESP64);
	KUNIT_ASSERT_TRUE_MSG(test, r.a6 & HYPHEAP_SVM_F_FAULT,
			      "boot with hypheap.svm_fault_op");

	hhf_direct(false, true, HHF_TARGET(HYPHEAP_FFA_ID_HOST, HYPHEAP_FFA_ID_SVM),
		   HYPHEAP_SVM_OP_FAULT, &r);
	KUNIT_EXPECT_EQ(test, (u32)r.a0, HHF_ERROR);
	KUNIT_EXPECT_EQ(test, hhf_w2(&r), (long)HHF_ABORTED);
	hhf_expect_hyp_alive(test);

	for_each_online_cpu(cpu) {
		KUNIT_ASSERT_EQ(test, set_cpus_allowed_ptr(current, cpumask_of(cpu)), 0);
		hhf_direct(false, true, HHF_TARGET(HYPHEAP_FFA_ID_HOST, HYPHEAP_FFA_ID_SVM),
			   HYPHEAP_SVM_OP_INFO, &r);
		KUNIT_EXPECT_EQ_MSG(test, (u32)r.a0, HHF_ERROR, "cpu %u", cpu);
		KUNIT_EXPECT_EQ_MSG(test, hhf_w2(&r), (long)HHF_ABORTED, "cpu %u", cpu);
		hhf_direct(false, false, HHF_TARGET(HYPHEAP_FFA_ID_HOST, HYPHEAP_FFA_ID_SVM),
			   HYPHEAP_SVM_OP_INFO, &r);
		KUNIT_EXPECT_EQ_MSG(test, (u32)r.a0, HHF_ERROR, "cpu %u", cpu);
		KUNIT_EXPECT_EQ_MSG(test, hhf_w2(&r), (long)HHF_ABORTED, "cpu %u", cpu);
	}
	set_cpus_allowed_ptr(current, cpu_possible_mask);
	hhf_expect_hyp_alive(test);
}

static struct kunit_case hhf_abort_cases[] = {
	KUNIT_CASE(hhf_fault_aborts_partition),
	{}
};

static struct kunit_suite hhf_abort_suite = {
	.name = "hypheap-ffa-abort",
	.test_cases = hhf_abort_cases,
};

kunit_test_suites(&hhf_suite, &hhf_abort_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("hypheap: FF-A answers of the hypervisor and its secure-VM partition");

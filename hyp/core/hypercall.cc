// SMCCC dispatch: decode registers, call the core, encode the answer. No policy here.
#include "hyp.h"

namespace hyp {
namespace {

uint64_t status_reg(Status s) {
  return uint64_t(int64_t(s));
}

}  // namespace

SmcccResult Hyp::handle_smccc(unsigned cpu, const SmcccArgs& args) {
  SmcccResult out{};
  stats_.host_calls.add(1);
  // SMCCC passes the function id in w0; the upper half of x0 is not part of it.
  switch (uint32_t(args.x[0])) {
    case HYPHEAP_FN_MEM_ASSIGN: {
      uint64_t new_srcvm = 0;
      out.x[0] = status_reg(mem_assign(cpu, PhysAddr(args.x[1]), args.x[2], &new_srcvm));
      out.x[1] = new_srcvm;
      break;
    }
    case HYPHEAP_FN_MEM_CONTINUE: {
      uint64_t v = 0;
      out.x[0] = status_reg(mem_continue(args.x[1], args.x[2], &v));
      out.x[1] = v;
      break;
    }
    case HYPHEAP_FN_MEM_QUERY: {
      QueryResult q;
      const Status s = mem_query(PhysAddr(args.x[1]), args.x[2], &q);
      out.x[0] = status_reg(s);
      if (s == Status::kOk)
        out = SmcccResult{{status_reg(s), q.owners, q.state, q.pages}};
      break;
    }
    case HYPHEAP_FN_STATS: {
      uint64_t value = 0;
      out.x[0] = status_reg(stat(args.x[1], &value));
      out.x[1] = value;
      break;
    }
    case HYPHEAP_FN_PROFILE: {
      if (args.x[1] >= HYPHEAP_PROFILE_COUNT) {
        out.x[0] = status_reg(Status::kStatIndex);
        break;
      }
      const auto phase = Phase(args.x[1]);
      out = SmcccResult{{status_reg(Status::kOk), profile_.ticks(phase), profile_.times(phase),
                         arch::counter_frequency()}};
      break;
    }
    case HYPHEAP_FN_VENDOR_HYP_UID:
      out = SmcccResult{{HYPHEAP_UID_0, HYPHEAP_UID_1, HYPHEAP_UID_2, HYPHEAP_UID_3}};
      break;
    case HYPHEAP_FN_VENDOR_HYP_REVISION:
      out = SmcccResult{{HYPHEAP_ABI_VERSION_MAJOR, HYPHEAP_ABI_VERSION_MINOR, 0, 0}};
      break;
    default:
      out.x[0] = status_reg(Status::kNotSupported);
      break;
  }
  return out;
}

SmcccResult Hyp::handle_partition_smccc(VmId caller, unsigned cpu, const SmcccArgs& args) {
  (void)cpu;  // the marks live in the page tables: no per-CPU state
  const Ipa ipa(args.x[1]);
  const uint64_t pages = args.x[2];
  Status s = Status::kNotSupported;
  switch (uint32_t(args.x[0])) {
    case HYPHEAP_FN_SVM_HOLD:
      s = hold(caller, ipa, pages, args.x[3]);
      break;
    case HYPHEAP_FN_SVM_RELEASE:
      s = release(caller, ipa, pages);
      break;
    case HYPHEAP_FN_SVM_PIN:
      s = pin(caller, ipa, pages);
      break;
    case HYPHEAP_FN_SVM_UNPIN:
      s = unpin(caller, ipa, pages);
      break;
    case HYPHEAP_FN_SVM_FFA_RETRIEVE:
      s = ffa_mem_retrieve(caller, args.x[1]);
      break;
    case HYPHEAP_FN_SVM_FFA_RELINQUISH:
      s = ffa_mem_relinquish(caller, args.x[1]);
      break;
    case HYPHEAP_FN_SVM_FFA_REGION: {
      Ipa first;
      uint64_t n = 0;
      s = ffa_mem_region(caller, args.x[1], args.x[2], &first, &n);
      if (s == Status::kOk)
        return SmcccResult{{status_reg(s), first.value(), n, 0}};
      break;
    }
    default:  // SVM_ABORT included: the arch aborts the partition itself
      break;
  }
  return SmcccResult{{status_reg(s), 0, 0, 0}};
}

}  // namespace hyp

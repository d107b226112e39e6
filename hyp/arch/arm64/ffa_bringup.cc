// BRING-UP ONLY, until the core's FF-A dispatcher (hyp/core, "ffa: minimal dispatcher") is in
// the tree: just enough FF-A for Linux's driver to find the partition and for direct requests
// to reach it, with no validation of the RX/TX pages. CMake builds it only while hyp/core/hyp.h
// lacks Hyp::ffa_host_call; it must be gone once the core answers.
#include <hypheap/abi.h>

#include "core_glue.h"
#include "cpu.h"

#if HYPHEAP_EL2_WITH_CORE
namespace hyp::arm64 {

namespace {

constexpr uint32_t kError = 0x84000060, kSuccess = 0x84000061, kInterrupt = 0x84000062,
                   kVersion = 0x84000063, kFeatures = 0x84000064, kRxRelease = 0x84000065,
                   kRxtxMap32 = 0x84000066, kRxtxMap64 = 0xC4000066, kRxtxUnmap = 0x84000067,
                   kPartitionInfoGet = 0x84000068, kIdGet = 0x84000069, kMsgWait = 0x8400006B,
                   kRun = 0x8400006D, kReq32 = 0x8400006F, kResp32 = 0x84000070,
                   kReq64 = 0xC400006F, kResp64 = 0xC4000070;
constexpr int64_t kNotSupported = -1, kInvalid = -2, kBusy = -4, kDenied = -6, kAborted = -8;

enum class State : uint8_t { kOff, kBooting, kWaiting, kRunning, kPreempted };
State g_state[kMaxCpus];
bool g_aborted = false;
uint64_t g_rx = 0;

FfaOutcome answer(FfaRegs& r, uint64_t x0, uint64_t x2 = 0, uint64_t x3 = 0) {
  r = FfaRegs{};
  r.x[0] = x0;
  r.x[2] = x2;
  r.x[3] = x3;
  return {};
}

FfaOutcome error(FfaRegs& r, int64_t code) {
  return answer(r, kError, static_cast<uint64_t>(code));
}

bool our_uuid(const FfaRegs& r) {
  const uint32_t w[4] = {uint32_t(r.x[1]), uint32_t(r.x[2]), uint32_t(r.x[3]), uint32_t(r.x[4])};
  const bool null = (w[0] | w[1] | w[2] | w[3]) == 0;
  return null || (w[0] == HYPHEAP_SVM_UUID_0 && w[1] == HYPHEAP_SVM_UUID_1 &&
                  w[2] == HYPHEAP_SVM_UUID_2 && w[3] == HYPHEAP_SVM_UUID_3);
}

}  // namespace

FfaOutcome core_glue_ffa_host_call(unsigned cpu, FfaRegs& r) {
  const auto fid = static_cast<uint32_t>(r.x[0]);
  switch (fid) {
    case kVersion:
      return answer(r, 0x10001);
    case kIdGet:
      return answer(r, kSuccess, HYPHEAP_FFA_ID_HOST);
    case kRxtxMap32:
    case kRxtxMap64:
      g_rx = r.x[2];
      return answer(r, kSuccess);
    case kRxtxUnmap:
      g_rx = 0;
      return answer(r, kSuccess);
    case kRxRelease:
      return answer(r, kSuccess);
    case kPartitionInfoGet: {
      if (!our_uuid(r)) {
        return error(r, kInvalid);
      }
      const bool count_only = r.x[5] & 1;
      if (!count_only) {
        // Only a page the host still owns and may write; racy against a lend on another
        // CPU (the core's mailbox shares the page with the hyp instead): bring-up only.
        if (g_rx == 0 || (g_rx & (kPageSize - 1)) != 0 ||
            !core_glue_host_access_allowed(Ipa(g_rx), Perms(HYPHEAP_PERM_R | HYPHEAP_PERM_W))) {
          return error(r, kBusy);
        }
        const uint32_t desc[2] = {HYPHEAP_FFA_ID_SVM | (uint32_t(cpu_table().count()) << 16), 1};
        __builtin_memcpy(reinterpret_cast<void*>(g_rx), desc, sizeof(desc));
      }
      return answer(r, kSuccess, 1, 8);
    }
    case kReq32:
    case kReq64: {
      if (g_aborted) {
        return error(r, kAborted);
      }
      if (((r.x[1] >> 16) & 0xffff) != HYPHEAP_FFA_ID_HOST ||
          (r.x[1] & 0xffff) != HYPHEAP_FFA_ID_SVM) {
        return error(r, kInvalid);
      }
      if (cpu >= kMaxCpus || g_state[cpu] != State::kWaiting) {
        return error(r, kBusy);
      }
      g_state[cpu] = State::kRunning;
      for (int i = 8; i < 18; ++i) {
        r.x[i] = 0;
      }
      return {FfaNext::kEnterPartition, static_cast<uint16_t>(cpu)};
    }
    case kRun: {
      const auto vcpu = static_cast<uint16_t>(r.x[1] & 0xffff);
      if (g_aborted) {
        return error(r, kAborted);
      }
      if (((r.x[1] >> 16) & 0xffff) != HYPHEAP_FFA_ID_SVM || vcpu >= kMaxCpus) {
        return error(r, kInvalid);
      }
      if (g_state[vcpu] != State::kPreempted) {
        return error(r, kDenied);
      }
      g_state[vcpu] = State::kRunning;
      return {FfaNext::kResumePartition, vcpu};
    }
    case kFeatures:
    default:
      return error(r, kNotSupported);
  }
}

FfaOutcome core_glue_ffa_partition_call(unsigned, unsigned vcpu, FfaRegs& r) {
  const auto fid = static_cast<uint32_t>(r.x[0]);
  switch (fid) {
    case kIdGet:
      return answer(r, kSuccess, HYPHEAP_FFA_ID_SVM);
    case kMsgWait:
      if (g_state[vcpu] == State::kBooting) {
        g_state[vcpu] = State::kWaiting;
        answer(r, kSuccess);
        return {FfaNext::kReturnToHost, 0};
      }
      if (g_state[vcpu] == State::kRunning) {
        g_state[vcpu] = State::kWaiting;
        error(r, kAborted);
        return {FfaNext::kReturnToHost, 0};
      }
      return error(r, kNotSupported);
    case kResp32:
    case kResp64:
      if (g_state[vcpu] != State::kRunning) {
        return error(r, kNotSupported);
      }
      g_state[vcpu] = State::kWaiting;
      return {FfaNext::kReturnToHost, 0};
    default:
      return error(r, kNotSupported);
  }
}

void core_glue_ffa_vcpu_booting(unsigned vcpu) {
  g_state[vcpu] = State::kBooting;
}

void core_glue_ffa_partition_preempted(unsigned, unsigned vcpu, FfaRegs& host) {
  g_state[vcpu] = State::kPreempted;
  answer(host, kInterrupt);
  host.x[1] = (uint64_t{HYPHEAP_FFA_ID_SVM} << 16) | vcpu;
}

void core_glue_ffa_partition_aborted(unsigned, unsigned, FfaRegs& host) {
  g_aborted = true;
  for (State& s : g_state) {
    s = State::kOff;
  }
  error(host, kAborted);
}

SmcccResult core_glue_partition_call(unsigned, const SmcccArgs&) {
  return {{static_cast<uint64_t>(int64_t{HYPHEAP_ERR_NOT_SUPPORTED}), 0, 0, 0}};
}

}  // namespace hyp::arm64
#endif

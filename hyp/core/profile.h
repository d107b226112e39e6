// Where a hypercall's time goes: counter ticks spent in each phase of the calls that change
// ownership (MEM_ASSIGN and FF-A lend/share/reclaim share the phases after validation),
// summed since boot for the PROFILE call. The benchmark divides the change over a few
// buffers by their number (docs/performance.md, "Where the time goes").
#pragma once

#include <cstdint>

#include <hypheap/abi.h>

#include "arch.h"
#include "stats.h"

namespace hyp {

// The HYPHEAP_PROFILE_* indices of abi.h, in the same order.
enum class Phase : uint8_t {
  kValidate,  // copy and check the request, reserve tables: everything before the commit
  kStage2,    // leaf and table writes into the stage-2s, less the TLB time spent inside
  kTlb,       // TLB invalidations and their waits (the editor's own ones included)
  kClean,     // clean (and invalidate) to PoC of what the host gives up
  kScrub,     // zeroing what a secure VM gives back (and cleaning the zeros to PoC)
  kCount,
};
static_assert(unsigned(Phase::kValidate) == HYPHEAP_PROFILE_VALIDATE &&
              unsigned(Phase::kStage2) == HYPHEAP_PROFILE_STAGE2 &&
              unsigned(Phase::kTlb) == HYPHEAP_PROFILE_TLB &&
              unsigned(Phase::kClean) == HYPHEAP_PROFILE_CLEAN &&
              unsigned(Phase::kScrub) == HYPHEAP_PROFILE_SCRUB &&
              unsigned(Phase::kCount) == HYPHEAP_PROFILE_COUNT);

class Profile {
 public:
  void add(Phase p, uint64_t ticks) {
    ticks_[unsigned(p)].add(int64_t(ticks));
    times_[unsigned(p)].add(1);
  }
  uint64_t ticks(Phase p) const { return ticks_[unsigned(p)].get(); }
  uint64_t times(Phase p) const { return times_[unsigned(p)].get(); }

 private:
  Counter ticks_[unsigned(Phase::kCount)];
  Counter times_[unsigned(Phase::kCount)];
};

// Counts the ticks from its construction to stop(), or to its destruction, as one `phase`.
class PhaseTimer {
 public:
  PhaseTimer(Profile& profile, Phase phase)
      : profile_(profile), phase_(phase), start_(arch::counter_ticks()) {}
  ~PhaseTimer() { stop(); }
  void stop() {
    if (running_)
      profile_.add(phase_, arch::counter_ticks() - start_);
    running_ = false;
  }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  Profile& profile_;
  Phase phase_;
  uint64_t start_;
  bool running_ = true;
};

}  // namespace hyp

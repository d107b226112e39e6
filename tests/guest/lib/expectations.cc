#include "expectations.h"

#include <signal.h>

#include <span>

#include "child_process.h"
#include "heap_names.h"
#include "hypheap_debugfs.h"

namespace hypheap::guest {
namespace {

::testing::AssertionResult Verdict(const OwnerCheck& check) {
  return check.holds ? ::testing::AssertionSuccess() << check.what
                     : ::testing::AssertionFailure() << check.what;
}

::testing::AssertionResult CompareNow(const char* file, const Counters& before, const Counters& now,
                                      std::span<const char* const> keys) {
  for (const char* key : keys) {
    const std::optional<int64_t> old_value = CounterValue(before, key);
    const std::optional<int64_t> new_value = CounterValue(now, key);
    if (!old_value.has_value() || !new_value.has_value()) {
      return ::testing::AssertionFailure() << file << " has no " << key;
    }
    if (*old_value != *new_value) {
      return ::testing::AssertionFailure()
             << file << " " << key << " is " << *new_value << ", was " << *old_value;
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace

::testing::AssertionResult HostOwnsRange(const PhysRange& range) {
  return Verdict(CheckSoleOwner(range, OwnerRule::kHost));
}

::testing::AssertionResult VmOwnsRange(const PhysRange& range, uint32_t vm) {
  return Verdict(CheckSoleOwner(range, OwnerRule::kVm, vm));
}

::testing::AssertionResult LentAway(const PhysRange& range) {
  return Verdict(CheckSoleOwner(range, OwnerRule::kAnyButHost));
}

::testing::AssertionResult BackToBaseline(const std::string& heap, const MemoryOut& baseline) {
  const Outcome<MemoryOut> now = SnapshotMemoryOut(heap);
  if (!now.ok()) {
    return ::testing::AssertionFailure() << "reading hypheap debugfs: " << ErrnoName(now.error);
  }
  ::testing::AssertionResult total =
      CompareNow("hypheap/stats", baseline.total, now.value.total, kDriverNowCounters);
  if (!total) {
    return total;
  }
  ::testing::AssertionResult per_heap =
      CompareNow("heap stats", baseline.heap, now.value.heap, kDriverNowCounters);
  if (!per_heap) {
    return per_heap;
  }
  return CompareNow("hypheap/hyp", baseline.hyp, now.value.hyp, kHypNowCounters);
}

std::string NameAfterHeap::operator()(const ::testing::TestParamInfo<std::string>& info) const {
  return TestNameOfHeap(info.param);
}

::testing::AssertionResult DiedBeforeFirstAccess(const ChildTouch& touch) {
  // xen, by design: Xen 4.17 injects a data abort with fault status 0 (an address size
  // fault), for which Linux's arm64 fault table says SIGKILL.
  const bool killed_by_fault =
      OnXen() ? DiedOfSignal(touch.wait_status, SIGKILL)
              : DiedOfSignal(touch.wait_status, SIGBUS) || DiedOfSignal(touch.wait_status, SIGSEGV);
  if (!killed_by_fault || !touch.leaked.empty()) {
    return ::testing::AssertionFailure()
           << "child ended by " << DescribeWaitStatus(touch.wait_status) << " after "
           << touch.leaked.size() << " accesses got through";
  }
  return ::testing::AssertionSuccess() << "child died by " << DescribeWaitStatus(touch.wait_status);
}

}  // namespace hypheap::guest

// GoogleTest assertions over what the hypervisor and the driver report: a
// failing one prints the QUERY answer or the counter that is off.
#pragma once

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "dev_mem.h"
#include "hypheap_debugfs.h"

namespace hypheap::guest {

// Passes when the hypervisor says the host alone owns every page of range.
::testing::AssertionResult HostOwnsRange(const PhysRange& range);
// Passes when vm alone (a secure VM id) owns every page of range.
::testing::AssertionResult VmOwnsRange(const PhysRange& range, uint32_t vm);
// Passes when some VM other than the host owns every page of range.
::testing::AssertionResult LentAway(const PhysRange& range);

// Passes when every "now" counter is back at its value in baseline.
::testing::AssertionResult BackToBaseline(const std::string& heap, const MemoryOut& baseline);

// Names each instance of a test parameterized by heap after its heap, for
// INSTANTIATE_TEST_SUITE_P.
struct NameAfterHeap {
  std::string operator()(const ::testing::TestParamInfo<std::string>& info) const;
};

// Passes when the child died of SIGBUS or SIGSEGV having leaked nothing.
::testing::AssertionResult DiedBeforeFirstAccess(const ChildTouch& touch);

}  // namespace hypheap::guest

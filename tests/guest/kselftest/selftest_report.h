// What the kernel's dmabuf-heaps selftest (Linux 6.1) printed, and what each
// kind of heap is expected to get from it. The table of by-design failures is
// explained in README.md; keep the two in step.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hypheap::kselftest {

enum class Outcome { kOk, kFail, kUnfinished };

// One "  Testing <description>:  <result>" of the selftest. The result may run
// over several lines: test_alloc_zeroed() prints "FAIL (...)" for a dirty
// buffer and then still "OK" for the same check, and returns success.
struct Check {
  std::string id;           // stable short name; empty when the description is unknown
  std::string description;  // between "Testing " and the colon
  std::string text;         // everything printed for the check after the colon
  Outcome outcome = Outcome::kUnfinished;
  std::string reason;         // inside the first "FAIL (...)"
  bool vgem_skipped = false;  // the import half was skipped: no vgem device
};

struct SelftestOutput {
  std::vector<std::string> heaps;  // "Testing heap: <name>" headers, in order
  std::vector<Check> checks;
  std::vector<std::string> other_lines;  // printed outside any check, e.g. "open ... failed!"
};

SelftestOutput ParseSelftestOutput(std::string_view text);

// Every check id, in the order the selftest's main() runs them.
std::span<const std::string_view> AllCheckIds();

enum class HeapKind { kOrdinary, kProtected };

// Protected heaps are named "protected,<use>" whichever backend serves them;
// user space has nothing else to tell them by, and needs nothing else.
HeapKind KindOfHeap(std::string_view heap_name);
std::string_view KindName(HeapKind kind);

struct Expectation {
  Outcome outcome = Outcome::kOk;
  std::string_view reason;  // the exact FAIL reason when outcome is kFail
};

Expectation Expect(HeapKind kind, std::string_view check_id);

// Empty when the check got what its heap kind expects, else why not.
std::string Judge(const Check& check, HeapKind kind);

// The checks upstream's main() prints for a heap that is alone in
// /dev/dma_heap: all of them up to and including the first one expected to
// fail, where main() stops. Its exit status is then 255 (it returns -1).
std::vector<std::string_view> ExpectedUpstreamRun(HeapKind kind);
int ExpectedUpstreamExit(HeapKind kind);

std::string_view OutcomeName(Outcome outcome);

}  // namespace hypheap::kselftest

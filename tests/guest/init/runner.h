// Runs one test program under a wall-clock timeout, relaying everything it
// writes (stdout and stderr) to the console.
#pragma once

#include <string>

#include "console.h"

namespace hypheap::guest {

struct RunResult {
  enum class Kind { kExited, kSignaled, kTimeout, kSetupError };
  Kind kind = Kind::kSetupError;
  int value = 0;  // exit code, signal number, or errno for kSetupError

  bool Passed() const { return kind == Kind::kExited && value == 0; }
};

// The program runs in its own process group with a clean environment; on
// timeout the whole group is killed. Whatever is left of the group when the
// program itself exits is killed too, so no test outlives its turn.
RunResult RunProgram(const std::string& path, int timeout_seconds, Console& console);

// The marker's verdict: "PASS", "FAIL exit=3", "FAIL signal=SIGSEGV",
// "FAIL timeout" or "FAIL setup ENOMEM (...)".
std::string DescribeResult(const RunResult& result);

}  // namespace hypheap::guest

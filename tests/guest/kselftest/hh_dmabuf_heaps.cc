// hh-dmabuf-heaps: the kernel's dmabuf-heaps selftest against every heap in
// /dev/dma_heap, judged per check. A protected heap must fail exactly the
// checks that need CPU access (README.md has the table) and pass the others;
// every other heap must pass everything. Exit 0 only when every check got
// what its heap kind expects.
//
// Two runs per heap:
//  1. /bin/dmabuf-heap, upstream's program as is, in a private mount
//     namespace whose /dev/dma_heap holds only that heap: main() tests every
//     heap it finds and stops at the first failure, so this is the only way
//     it reaches each heap on its own.
//  2. /bin/dmabuf-heap-case, each of the selftest's test functions alone,
//     so the checks after a by-design failure run too.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "child_process.h"
#include "dma_heap.h"
#include "fd_io.h"
#include "heap_names.h"
#include "selftest_report.h"

namespace {

namespace guest = hypheap::guest;
using guest::kDmaHeapDir;
using hypheap::kselftest::Check;
using hypheap::kselftest::HeapKind;

constexpr const char* kUpstreamProgram = "/bin/dmabuf-heap";
constexpr const char* kCaseProgram = "/bin/dmabuf-heap-case";
constexpr std::string_view kReferenceHeap = guest::kSystemHeap;
// The child could not build its view of /dev/dma_heap; neither selftest
// program exits with this.
constexpr int kSetupFailedExit = 125;

struct RunResult {
  std::string output;  // stdout and stderr together, as the serial log would show them
  int exit_code = -1;  // -1 when it did not exit normally
  std::string error;   // why it could not be run or waited for; empty when it ran
};

std::string ErrnoText(const char* what, int error) {
  return std::string(what) + ": " + std::strerror(error);
}

std::string Errno(const char* what) {
  return ErrnoText(what, errno);
}

// In the child: a private mount namespace where /dev/dma_heap is a fresh
// tmpfs holding a copy of one heap's device node. Empty on success.
std::string ShowOnlyHeap(const std::string& heap) {
  const std::string node = std::string(kDmaHeapDir) + "/" + heap;
  struct stat st {};
  if (stat(node.c_str(), &st) != 0) {
    return Errno(("stat " + node).c_str());
  }
  if (unshare(CLONE_NEWNS) != 0) {
    return Errno("unshare(CLONE_NEWNS)");
  }
  // Without this the tmpfs below would propagate back to init's namespace.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return Errno("mount --make-rprivate /");
  }
  if (mount("tmpfs", kDmaHeapDir, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") != 0) {
    return Errno("mount tmpfs on /dev/dma_heap");
  }
  if (mknod(node.c_str(), S_IFCHR | (st.st_mode & 07777), st.st_rdev) != 0) {
    return Errno(("mknod " + node).c_str());
  }
  return "";
}

[[noreturn]] void ExecChild(const std::vector<std::string>& argv, int out_fd,
                            const std::optional<std::string>& only_heap) {
  if (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0) {
    _exit(kSetupFailedExit);
  }
  if (only_heap) {
    const std::string error = ShowOnlyHeap(*only_heap);
    if (!error.empty()) {
      std::printf("setup failed: %s\n", error.c_str());
      std::fflush(stdout);
      _exit(kSetupFailedExit);
    }
  }
  std::vector<char*> args;
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  execv(args[0], args.data());
  std::printf("exec %s: %s\n", args[0], std::strerror(errno));
  std::fflush(stdout);
  _exit(127);
}

RunResult Run(const std::vector<std::string>& argv,
              const std::optional<std::string>& only_heap = std::nullopt) {
  RunResult result;
  guest::Outcome<guest::Pipe> pipe = guest::MakePipe();
  if (!pipe.ok()) {
    result.error = ErrnoText("pipe2", pipe.error);
    return result;
  }
  std::fflush(stdout);
  guest::Outcome<guest::ChildProcess> child = guest::ChildProcess::Start(
      [&]() -> int { ExecChild(argv, pipe.value.write_end.get(), only_heap); });
  if (!child.ok()) {
    result.error = ErrnoText("fork", child.error);
    return result;
  }
  pipe.value.write_end.Reset();  // so the read sees EOF when the child is gone
  if (const int error = guest::ReadToEnd(pipe.value.read_end.get(), result.output); error != 0) {
    result.error = ErrnoText("read from the child", error);
  }
  const guest::Outcome<int> status = child.value.Wait();
  if (!status.ok()) {
    result.error = ErrnoText("waitpid", status.error);
    return result;
  }
  if (WIFEXITED(status.value)) {
    result.exit_code = WEXITSTATUS(status.value);
  } else if (WIFSIGNALED(status.value)) {
    result.error = std::string("killed by signal ") + strsignal(WTERMSIG(status.value));
  }
  return result;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

void PrintOutput(const RunResult& run) {
  for (const std::string& line : Lines(run.output)) {
    std::printf("      | %s\n", line.c_str());
  }
}

// Counts what one heap's runs got right and wrong, and prints each verdict.
class HeapJudge {
 public:
  HeapJudge(std::string heap, HeapKind kind) : heap_(std::move(heap)), kind_(kind) {}

  void Problem(const std::string& what) {
    ++problems_;
    std::printf("    PROBLEM: %s\n", what.c_str());
  }

  void PrintCheck(const Check& check, const std::string& verdict) {
    const auto want = hypheap::kselftest::Expect(kind_, check.id);
    std::string got(hypheap::kselftest::OutcomeName(check.outcome));
    if (!check.reason.empty()) {
      got += " (" + check.reason + ")";
    }
    std::string expected(hypheap::kselftest::OutcomeName(want.outcome));
    if (want.outcome != hypheap::kselftest::Outcome::kOk) {
      expected += " by design";
    }
    std::printf("    %-14s %-30s expected %-14s %s%s\n", check.id.empty() ? "?" : check.id.c_str(),
                got.c_str(), expected.c_str(), verdict.empty() ? "ok" : "WRONG: ", verdict.c_str());
    if (check.vgem_skipped) {
      std::printf("    %-14s (no vgem device: the import half was skipped)\n", "");
    }
    if (verdict.empty()) {
      ++matched_;
    } else {
      ++problems_;
    }
  }

  bool RanCleanly(const RunResult& run) {
    if (run.error.empty()) {
      return true;
    }
    Problem(run.error);
    PrintOutput(run);
    return false;
  }

  // Upstream's main() with only this heap visible.
  void JudgeUpstream(const RunResult& run) {
    std::printf("  dmabuf-heap (upstream main, only this heap in %s): exit %d\n", kDmaHeapDir,
                run.exit_code);
    if (!RanCleanly(run)) {
      return;
    }
    const auto out = hypheap::kselftest::ParseSelftestOutput(run.output);
    const size_t before = problems_;
    if (out.heaps != std::vector<std::string>{heap_}) {
      Problem("it did not test exactly this heap");
    }
    std::vector<std::string_view> ids;
    for (const Check& check : out.checks) {
      ids.emplace_back(check.id);
      PrintCheck(check, hypheap::kselftest::Judge(check, kind_));
    }
    if (ids != hypheap::kselftest::ExpectedUpstreamRun(kind_)) {
      Problem("it did not stop where expected (after the first by-design failure, or never)");
    }
    if (run.exit_code != hypheap::kselftest::ExpectedUpstreamExit(kind_)) {
      Problem("exit " + std::to_string(run.exit_code) + ", expected " +
              std::to_string(hypheap::kselftest::ExpectedUpstreamExit(kind_)));
    }
    if (problems_ != before) {
      PrintOutput(run);
    }
  }

  // One selftest function run alone through dmabuf-heap-case.
  void JudgeCase(const std::string& name, const RunResult& run) {
    if (!RanCleanly(run)) {
      return;
    }
    const auto out = hypheap::kselftest::ParseSelftestOutput(run.output);
    const size_t before = problems_;
    if (out.checks.empty()) {
      Problem("case " + name + " printed no check");
    }
    bool expect_failure = false;
    for (const Check& check : out.checks) {
      ++seen_[check.id];
      expect_failure |=
          hypheap::kselftest::Expect(kind_, check.id).outcome == hypheap::kselftest::Outcome::kFail;
      PrintCheck(check, hypheap::kselftest::Judge(check, kind_));
    }
    // A dirty buffer prints FAIL yet returns success: the text decides, the
    // exit status must only agree with it.
    if (run.exit_code != (expect_failure ? 1 : 0)) {
      Problem("case " + name + " exited " + std::to_string(run.exit_code));
    }
    if (problems_ != before) {
      PrintOutput(run);
    }
  }

  void RequireEveryCheckOnce() {
    for (std::string_view id : hypheap::kselftest::AllCheckIds()) {
      const int times = seen_[std::string(id)];
      if (times != 1) {
        Problem("check " + std::string(id) + " ran " + std::to_string(times) +
                " times through dmabuf-heap-case, expected once");
      }
    }
  }

  size_t problems() const { return problems_; }
  size_t matched() const { return matched_; }

 private:
  std::string heap_;
  HeapKind kind_;
  size_t problems_ = 0;
  size_t matched_ = 0;
  std::map<std::string, int> seen_;
};

}  // namespace

int main() {
  const std::vector<std::string> heaps = guest::ListDmaHeaps();
  const size_t protected_heaps =
      std::count_if(heaps.begin(), heaps.end(), [](const std::string& heap) {
        return hypheap::kselftest::KindOfHeap(heap) == HeapKind::kProtected;
      });
  std::printf("hh-dmabuf-heaps: kernel dmabuf-heaps selftest on %zu heaps in %s\n", heaps.size(),
              kDmaHeapDir);
  size_t problems = 0;
  if (std::find(heaps.begin(), heaps.end(), kReferenceHeap) == heaps.end()) {
    std::printf("PROBLEM: %s/%s is missing\n", kDmaHeapDir, std::string(kReferenceHeap).c_str());
    ++problems;
  }
  if (protected_heaps == 0) {
    std::printf("PROBLEM: no protected,* heap in %s (is hypheap.ko loaded?)\n", kDmaHeapDir);
    ++problems;
  }

  const RunResult list = Run({kCaseProgram, "--list"});
  const std::vector<std::string> cases = Lines(list.output);
  if (!list.error.empty() || list.exit_code != 0 || cases.empty()) {
    std::printf("PROBLEM: %s --list failed (exit %d) %s\n", kCaseProgram, list.exit_code,
                list.error.c_str());
    std::fflush(stdout);
    return 1;
  }

  size_t matched = 0;
  for (const std::string& heap : heaps) {
    const HeapKind kind = hypheap::kselftest::KindOfHeap(heap);
    std::printf("heap %s (%s)\n", heap.c_str(),
                std::string(hypheap::kselftest::KindName(kind)).c_str());
    HeapJudge judge(heap, kind);
    judge.JudgeUpstream(Run({kUpstreamProgram}, heap));
    std::printf("  dmabuf-heap-case (each selftest function alone):\n");
    for (const std::string& name : cases) {
      judge.JudgeCase(name, Run({kCaseProgram, name, heap}));
    }
    judge.RequireEveryCheckOnce();
    problems += judge.problems();
    matched += judge.matched();
    std::fflush(stdout);
  }
  std::printf("hh-dmabuf-heaps: %zu heaps (%zu protected), %zu checks as expected, %zu problems\n",
              heaps.size(), protected_heaps, matched, problems);
  std::fflush(stdout);
  return problems == 0 ? 0 : 1;
}

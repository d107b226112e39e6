#include "selftest_report.h"

#include <algorithm>
#include <array>
#include <utility>

namespace hypheap::kselftest {
namespace {

constexpr std::string_view kHeapHeader = "Testing heap: ";
constexpr std::string_view kCheckStart = "  Testing ";
constexpr std::string_view kFailStart = "FAIL (";
constexpr std::string_view kVgemSkipped = "(Could not open vgem - skipping)";

// The selftest's printf() texts mapped to our ids, in main()'s order.
constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kChecks = {{
    {"allocation and importing", "alloc-import"},
    {"alloced 4k buffers are zeroed", "zeroed-4k"},
    {"alloced 1024k buffers are zeroed", "zeroed-1024k"},
    {"(theoretical)older alloc compat", "compat-older"},
    {"(theoretical)newer alloc compat", "compat-newer"},
    {"expected error cases", "errors"},
}};

constexpr std::array<std::string_view, kChecks.size()> kCheckIds = [] {
  std::array<std::string_view, kChecks.size()> ids{};
  for (size_t i = 0; i < kChecks.size(); ++i) {
    ids[i] = kChecks[i].second;
  }
  return ids;
}();

// The reasons the selftest prints when mmap() of the dma-buf fails; each is
// the one way a protected heap may fail that check.
constexpr std::string_view kImportMmapFailed = "mmap() failed";
constexpr std::string_view kZeroedMmapFailed = "mmap() failed!";

std::string_view IdOf(std::string_view description) {
  for (const auto& [text, id] : kChecks) {
    if (text == description) {
      return id;
    }
  }
  return {};
}

std::string_view Trim(std::string_view s) {
  const size_t first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return {};
  }
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// The text inside "FAIL (...)", parentheses balanced: the selftest's reasons
// nest them ("Did not see expected error (invalid fd)!").
std::string FailReason(std::string_view text, size_t fail_at) {
  const size_t start = fail_at + kFailStart.size();
  int depth = 1;
  for (size_t i = start; i < text.size(); ++i) {
    if (text[i] == '(') {
      ++depth;
    } else if (text[i] == ')' && --depth == 0) {
      return std::string(text.substr(start, i - start));
    }
  }
  return std::string(text.substr(start));
}

void Classify(Check& check) {
  const std::string_view text = check.text;
  check.vgem_skipped = text.find(kVgemSkipped) != std::string_view::npos;
  const size_t fail_at = text.find(kFailStart);
  if (fail_at != std::string_view::npos) {
    check.outcome = Outcome::kFail;
    check.reason = FailReason(text, fail_at);
  } else if (text.find("FAIL") != std::string_view::npos) {
    check.outcome = Outcome::kFail;
  } else if (Trim(text).ends_with("OK")) {
    check.outcome = Outcome::kOk;
  } else {
    check.outcome = Outcome::kUnfinished;
  }
}

Check StartCheck(std::string_view line) {
  Check check;
  const std::string_view rest = line.substr(kCheckStart.size());
  const size_t colon = rest.find(':');
  check.description = std::string(rest.substr(0, colon));
  check.id = std::string(IdOf(check.description));
  if (colon != std::string_view::npos) {
    check.text = std::string(rest.substr(colon + 1));
  }
  return check;
}

bool IsSeparator(std::string_view line) {
  return !line.empty() && line.find_first_not_of('=') == std::string_view::npos;
}

}  // namespace

SelftestOutput ParseSelftestOutput(std::string_view text) {
  SelftestOutput out;
  bool in_check = false;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (line.ends_with('\r')) {
      line.remove_suffix(1);
    }
    if (line.starts_with(kHeapHeader)) {
      out.heaps.emplace_back(line.substr(kHeapHeader.size()));
      in_check = false;
    } else if (line.starts_with(kCheckStart)) {
      out.checks.push_back(StartCheck(line));
      in_check = true;
    } else if (IsSeparator(line) || Trim(line).empty()) {
      continue;
    } else if (in_check) {
      out.checks.back().text += "\n";
      out.checks.back().text += line;
    } else {
      out.other_lines.emplace_back(line);
    }
  }
  for (Check& check : out.checks) {
    Classify(check);
  }
  return out;
}

std::span<const std::string_view> AllCheckIds() {
  return kCheckIds;
}

HeapKind KindOfHeap(std::string_view heap_name) {
  return heap_name.starts_with("protected,") ? HeapKind::kProtected : HeapKind::kOrdinary;
}

std::string_view KindName(HeapKind kind) {
  return kind == HeapKind::kProtected ? "protected: CPU mmap refused by design"
                                      : "ordinary: every check must pass";
}

Expectation Expect(HeapKind kind, std::string_view check_id) {
  if (kind == HeapKind::kOrdinary) {
    return {};
  }
  if (check_id == "alloc-import") {
    return {Outcome::kFail, kImportMmapFailed};
  }
  if (check_id == "zeroed-4k" || check_id == "zeroed-1024k") {
    return {Outcome::kFail, kZeroedMmapFailed};
  }
  return {};
}

std::string Judge(const Check& check, HeapKind kind) {
  if (check.id.empty()) {
    return "unknown check \"" + check.description +
           "\": the selftest changed, review tests/guest/kselftest/README.md";
  }
  const Expectation want = Expect(kind, check.id);
  if (check.outcome == Outcome::kUnfinished) {
    return "did not finish";
  }
  if (want.outcome == Outcome::kOk) {
    return check.outcome == Outcome::kOk ? "" : "failed: " + check.reason;
  }
  if (check.outcome == Outcome::kOk) {
    return "passed, so the CPU could map a protected buffer";
  }
  if (check.reason != want.reason) {
    return "failed for another reason than the by-design one (\"" + std::string(want.reason) +
           "\")";
  }
  return "";
}

std::vector<std::string_view> ExpectedUpstreamRun(HeapKind kind) {
  std::vector<std::string_view> run;
  for (std::string_view id : kCheckIds) {
    run.push_back(id);
    if (Expect(kind, id).outcome == Outcome::kFail) {
      break;
    }
  }
  return run;
}

int ExpectedUpstreamExit(HeapKind kind) {
  const auto run = ExpectedUpstreamRun(kind);
  const bool fails = std::any_of(run.begin(), run.end(), [kind](std::string_view id) {
    return Expect(kind, id).outcome == Outcome::kFail;
  });
  // main() returns -1, which the exit status truncates to 255.
  return fails ? 255 : 0;
}

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "OK";
    case Outcome::kFail:
      return "FAIL";
    case Outcome::kUnfinished:
      return "unfinished";
  }
  return "?";
}

}  // namespace hypheap::kselftest

// One benchmark result as a machine-readable line of the serial log:
//   hh-bench-json: {"kind":"latency","heap":"system",...}
// tools/bench-report collects these lines from a boot's log and turns them
// into the comparison table and plot (docs/performance.md). Keys are written
// in the order they are added; a value that was not measured is null.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hypheap::guest {

inline constexpr std::string_view kBenchJsonPrefix = "hh-bench-json: ";

class BenchRecord {
 public:
  explicit BenchRecord(std::string_view kind);

  BenchRecord& Text(std::string_view key, std::string_view value);
  BenchRecord& Int(std::string_view key, std::optional<int64_t> value);
  BenchRecord& Real(std::string_view key, std::optional<double> value);
  BenchRecord& Flag(std::string_view key, bool value);

  // The whole line, prefix and newline included.
  std::string Line() const;

 private:
  void Key(std::string_view key);
  std::string body_;
};

// A JSON string literal: quotes, backslashes and control characters escaped.
std::string JsonString(std::string_view text);

}  // namespace hypheap::guest

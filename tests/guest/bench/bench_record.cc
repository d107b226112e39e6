#include "bench_record.h"

#include <cmath>
#include <cstdio>

namespace hypheap::guest {

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

BenchRecord::BenchRecord(std::string_view kind) {
  Text("kind", kind);
}

void BenchRecord::Key(std::string_view key) {
  body_ += body_.empty() ? "" : ",";
  body_ += JsonString(key) + ":";
}

BenchRecord& BenchRecord::Text(std::string_view key, std::string_view value) {
  Key(key);
  body_ += JsonString(value);
  return *this;
}

BenchRecord& BenchRecord::Int(std::string_view key, std::optional<int64_t> value) {
  Key(key);
  body_ += value ? std::to_string(*value) : "null";
  return *this;
}

BenchRecord& BenchRecord::Real(std::string_view key, std::optional<double> value) {
  Key(key);
  // JSON has no NaN or infinity: an undefined ratio is "not measured".
  if (!value || !std::isfinite(*value)) {
    body_ += "null";
    return *this;
  }
  char number[32];
  std::snprintf(number, sizeof(number), "%.6g", *value);
  body_ += number;
  return *this;
}

BenchRecord& BenchRecord::Flag(std::string_view key, bool value) {
  Key(key);
  body_ += value ? "true" : "false";
  return *this;
}

std::string BenchRecord::Line() const {
  return std::string(kBenchJsonPrefix) + "{" + body_ + "}\n";
}

}  // namespace hypheap::guest

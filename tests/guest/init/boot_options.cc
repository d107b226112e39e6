#include "boot_options.h"

#include <charconv>

namespace hypheap::guest {
namespace {

constexpr std::string_view kKeyPrefix = "hypheap_";

std::vector<std::string_view> SplitWords(std::string_view text) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = text.find_first_not_of(" \t\n", pos);
    if (start == std::string_view::npos) {
      break;
    }
    size_t end = text.find_first_of(" \t\n", start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    words.push_back(text.substr(start, end - start));
    pos = end;
  }
  return words;
}

void Append(std::vector<std::string>& to, std::vector<std::string> items) {
  to.insert(to.end(), items.begin(), items.end());
}

bool ParsePositiveInt(std::string_view text, int& value) {
  int parsed = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (error != std::errc() || end != text.data() + text.size() || parsed <= 0) {
    return false;
  }
  value = parsed;
  return true;
}

bool ParseHalt(std::string_view text, Halt& halt) {
  if (text == "off") {
    halt = Halt::kPowerOff;
    return true;
  }
  if (text == "reset") {
    halt = Halt::kReset;
    return true;
  }
  return false;
}

// Returns false when the word is a hypheap_ word this parser does not accept.
bool ApplyKey(std::string_view key, std::string_view value, BootOptions& options) {
  if (key == "hypheap_load") {
    Append(options.load, SplitList(value));
    return true;
  }
  if (key == "hypheap_run") {
    Append(options.run, SplitList(value));
    return true;
  }
  if (key == "hypheap_timeout") {
    return ParsePositiveInt(value, options.program_timeout_seconds);
  }
  if (key == "hypheap_halt") {
    return ParseHalt(value, options.halt);
  }
  if (key == "hypheap_shell") {
    options.shell = value == "1";
    return value == "0" || value == "1";
  }
  return false;
}

}  // namespace

std::vector<std::string> SplitList(std::string_view list) {
  std::vector<std::string> items;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) {
      comma = list.size();
    }
    if (comma > pos) {
      items.emplace_back(list.substr(pos, comma - pos));
    }
    pos = comma + 1;
  }
  return items;
}

BootOptions ParseBootOptions(std::string_view cmdline) {
  BootOptions options;
  for (std::string_view word : SplitWords(cmdline)) {
    if (!word.starts_with(kKeyPrefix)) {
      continue;
    }
    const size_t equals = word.find('=');
    const std::string_view key = word.substr(0, equals);
    const std::string_view value =
        equals == std::string_view::npos ? std::string_view() : word.substr(equals + 1);
    if (!ApplyKey(key, value, options)) {
      options.rejected.emplace_back(word);
    }
  }
  return options;
}

}  // namespace hypheap::guest

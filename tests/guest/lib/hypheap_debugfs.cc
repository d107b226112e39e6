#include "hypheap_debugfs.h"

#include <fcntl.h>
#include <hypheap/abi.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string_view>

namespace hypheap::guest {
namespace {

constexpr const char* kDebugfs = "/sys/kernel/debug/hypheap/";

template <typename T>
bool ParseNumber(std::string_view text, T& out, int base = 10) {
  if (base == 16 && (text.starts_with("0x") || text.starts_with("0X"))) {
    text.remove_prefix(2);
  }
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return error == std::errc() && end == text.data() + text.size() && !text.empty();
}

std::string_view Trim(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\n");
  if (first == std::string_view::npos) {
    return {};
  }
  const size_t last = text.find_last_not_of(" \t\n");
  return text.substr(first, last - first + 1);
}

// "<pa hex>+<bytes hex>[,<pa>+<bytes>...]"
bool ParseRanges(const std::string& text, std::vector<PhysRange>& ranges) {
  std::istringstream list(text);
  std::string item;
  while (std::getline(list, item, ',')) {
    const size_t plus = item.find('+');
    PhysRange range;
    if (plus == std::string::npos ||
        !ParseNumber(std::string_view(item).substr(0, plus), range.pa, 16) ||
        !ParseNumber(std::string_view(item).substr(plus + 1), range.bytes, 16)) {
      return false;
    }
    ranges.push_back(range);
  }
  return !ranges.empty();
}

bool ParseLiveBuffer(const std::string& line, LiveBuffer& buffer) {
  const std::map<std::string, std::string> fields = ParseFields(line);
  const auto ino = fields.find("ino");
  const auto size = fields.find("size");
  const auto ranges = fields.find("ranges");
  return ino != fields.end() && size != fields.end() && ranges != fields.end() &&
         ParseNumber(ino->second, buffer.ino) && ParseNumber(size->second, buffer.size) &&
         ParseRanges(ranges->second, buffer.ranges);
}

bool OwnersFollow(OwnerRule rule, uint64_t owners, uint32_t vm) {
  switch (rule) {
    case OwnerRule::kHost:
      return owners == HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST);
    case OwnerRule::kVm:
      return owners == HYPHEAP_VMID_BIT(vm);
    case OwnerRule::kAnyButHost:
      return owners != 0 && (owners & HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST)) == 0;
  }
  return false;
}

}  // namespace

std::map<std::string, std::string> ParseFields(const std::string& line) {
  std::map<std::string, std::string> fields;
  std::istringstream words(line);
  std::string word;
  while (words >> word) {
    const size_t equals = word.find('=');
    if (equals != std::string::npos) {
      fields[word.substr(0, equals)] = word.substr(equals + 1);
    }
  }
  return fields;
}

std::optional<uint64_t> ParseHex(std::string_view text) {
  uint64_t value = 0;
  if (!ParseNumber(text, value, 16)) {
    return std::nullopt;
  }
  return value;
}

std::optional<int64_t> CounterValue(const Counters& counters, std::string_view key) {
  const auto found = counters.find(std::string(key));
  if (found == counters.end()) {
    return std::nullopt;
  }
  return found->second;
}

Outcome<Counters> ReadCounters(const std::string& path) {
  const Outcome<std::string> text = ReadWholeFile(path);
  if (!text.ok()) {
    return {.error = text.error};
  }
  Counters counters;
  std::istringstream lines(text.value);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t split = line.find_first_of(": \t");
    if (split == std::string::npos) {
      continue;
    }
    int64_t value = 0;
    if (ParseNumber(Trim(std::string_view(line).substr(split + 1)), value)) {
      counters[line.substr(0, split)] = value;
    }
  }
  return {.value = counters};
}

Outcome<Counters> TotalStats() {
  return ReadCounters(std::string(kDebugfs) + "stats");
}

Outcome<Counters> HeapStats(const std::string& heap) {
  return ReadCounters(kDebugfs + heap + "/stats");
}

std::string BackendOf(const std::string& heap) {
  std::ifstream in(std::string(kDebugfs) + heap + "/stats");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("backend: ", 0) == 0) {
      return line.substr(9);
    }
  }
  return "";
}

uint64_t FfaLendBlockBytes(uint64_t len) {
  const uint64_t aligned =
      (len + HYPHEAP_PROTMEM_ALIGN - 1) / HYPHEAP_PROTMEM_ALIGN * HYPHEAP_PROTMEM_ALIGN;
  return aligned > HYPHEAP_PROTMEM_MIN_SIZE ? aligned : HYPHEAP_PROTMEM_MIN_SIZE;
}

Outcome<Counters> HypStats() {
  return ReadCounters(std::string(kDebugfs) + "hyp");
}

std::string TransportName() {
  std::ifstream in(std::string(kDebugfs) + "transport");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("name: ", 0) == 0) {
      return line.substr(6);
    }
  }
  return "";
}

bool OnXen() {
  return TransportName() == "xen";
}

Outcome<Counters> PoolStats(const std::string& heap) {
  return ReadCounters(kDebugfs + heap + "/pool");
}

bool HasPool(const std::string& heap) {
  const Outcome<Counters> pool = PoolStats(heap);
  return pool.ok() && CounterValue(pool.value, "max_bytes").value_or(0) > 0;
}

int DrainPool(const std::string& heap) {
  const Outcome<UniqueFd> fd = OpenFile(kDebugfs + heap + "/pool", O_WRONLY);
  if (!fd.ok()) {
    return fd.error;
  }
  return WriteAll(fd.value.get(), "drain");
}

Outcome<HostFaults> HypHostFaults() {
  const Outcome<Counters> stats = HypStats();
  if (!stats.ok()) {
    return {.error = stats.error};
  }
  const std::optional<int64_t> faults = CounterValue(stats.value, "host_faults");
  const std::optional<int64_t> injected = CounterValue(stats.value, "aborts_injected");
  if (!faults || !injected) {
    return {.error = ENOENT};
  }
  return {.value = {.faults = *faults, .injected = *injected}};
}

Outcome<std::vector<LiveBuffer>> LiveBuffers(const std::string& heap) {
  const Outcome<std::string> text = ReadWholeFile(kDebugfs + heap + "/buffers");
  if (!text.ok()) {
    return {.error = text.error};
  }
  std::vector<LiveBuffer> buffers;
  std::istringstream lines(text.value);
  std::string line;
  while (std::getline(lines, line)) {
    LiveBuffer buffer;
    if (!ParseLiveBuffer(line, buffer)) {
      return {.error = EBADMSG};
    }
    buffers.push_back(buffer);
  }
  return {.value = buffers};
}

Outcome<LiveBuffer> FindLiveBuffer(const std::string& heap, ino_t ino) {
  const Outcome<std::vector<LiveBuffer>> buffers = LiveBuffers(heap);
  if (!buffers.ok()) {
    return {.error = buffers.error};
  }
  for (const LiveBuffer& buffer : buffers.value) {
    if (buffer.ino == ino) {
      return {.value = buffer};
    }
  }
  return {.error = ENOENT};
}

Outcome<Ownership> QueryOwnership(uint64_t pa, uint64_t pages) {
  // One open file for the question and its answer: the driver may keep the
  // question per open file.
  UniqueFd file(open((std::string(kDebugfs) + "query").c_str(), O_RDWR | O_CLOEXEC));
  if (!file.valid()) {
    return {.error = errno};
  }
  char question[64];
  const int length =
      snprintf(question, sizeof(question), "%llx %llu\n", static_cast<unsigned long long>(pa),
               static_cast<unsigned long long>(pages));
  if (write(file.get(), question, static_cast<size_t>(length)) != length) {
    return {.error = errno};
  }
  if (lseek(file.get(), 0, SEEK_SET) < 0) {
    return {.error = errno};
  }
  char answer[128] = {};
  const ssize_t got = read(file.get(), answer, sizeof(answer) - 1);
  if (got <= 0) {
    return {.error = got < 0 ? errno : ENODATA};
  }
  const std::map<std::string, std::string> fields = ParseFields(answer);
  Ownership own;
  if (const auto error = fields.find("error"); error != fields.end()) {
    return ParseNumber(error->second, own.abi_status) ? Outcome<Ownership>{.value = own}
                                                      : Outcome<Ownership>{.error = EBADMSG};
  }
  const auto owners = fields.find("owners");
  const auto state = fields.find("state");
  const auto count = fields.find("pages");
  if (owners == fields.end() || state == fields.end() || count == fields.end() ||
      !ParseNumber(owners->second, own.owners, 16) || !ParseNumber(state->second, own.state, 16) ||
      !ParseNumber(count->second, own.pages)) {
    return {.error = EBADMSG};
  }
  return {.value = own};
}

std::string Describe(const Ownership& own) {
  char text[96];
  snprintf(text, sizeof(text), "owners=%#llx state=%#llx pages=%llu",
           static_cast<unsigned long long>(own.owners), static_cast<unsigned long long>(own.state),
           static_cast<unsigned long long>(own.pages));
  return text;
}

std::string Describe(const PhysRange& range) {
  char text[64];
  snprintf(text, sizeof(text), "%#llx+%#llx", static_cast<unsigned long long>(range.pa),
           static_cast<unsigned long long>(range.bytes));
  return text;
}

OwnerCheck CheckSoleOwner(const PhysRange& range, OwnerRule rule, uint32_t vm) {
  const Outcome<Ownership> own = QueryOwnership(range.pa, range.pages());
  if (!own.ok()) {
    return {.what = "query of " + Describe(range) + " failed: " + ErrnoName(own.error)};
  }
  if (own.value.abi_status != 0) {
    return {.what = "query of " + Describe(range) + " answered hypheap status " +
                    std::to_string(own.value.abi_status)};
  }
  const bool exclusive = (own.value.state & HYPHEAP_STATE_MASK) == HYPHEAP_STATE_EXCLUSIVE;
  return {.holds = OwnersFollow(rule, own.value.owners, vm) && exclusive &&
                   own.value.pages == range.pages(),
          .what = Describe(range) + " is " + Describe(own.value)};
}

Outcome<MemoryOut> SnapshotMemoryOut(const std::string& heap) {
  if (HasPool(heap)) {
    if (const int error = DrainPool(heap); error != 0) {
      return {.error = error};
    }
  }
  Outcome<Counters> total = TotalStats();
  Outcome<Counters> per_heap = HeapStats(heap);
  Outcome<Counters> hyp = OnXen() ? ReadCounters(std::string(kDebugfs) + "transport") : HypStats();
  for (const Outcome<Counters>* read : {&total, &per_heap, &hyp}) {
    if (!read->ok()) {
      return {.error = read->error};
    }
  }
  return {.value = {.total = total.value, .heap = per_heap.value, .hyp = hyp.value}};
}

}  // namespace hypheap::guest

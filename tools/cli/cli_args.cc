#include "cli_args.h"

#include <hypheap/abi.h>

#include <charconv>
#include <cstdio>
#include <limits>
#include <vector>

namespace hypheap::cli {
namespace {

constexpr uint64_t kPageSize = 4096;

struct Unit {
  std::string_view suffix;
  uint64_t bytes;
};
// Longest suffixes first, so "MiB" is not read as "M" followed by garbage.
constexpr Unit kUnits[] = {{"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30},
                           {"K", 1ULL << 10},   {"M", 1ULL << 20},   {"G", 1ULL << 30}};

struct VmName {
  uint32_t vmid;
  const char* name;
};
constexpr VmName kVmNames[] = {{HYPHEAP_VMID_HYP, "hyp"},
                               {HYPHEAP_VMID_HOST, "host"},
                               {HYPHEAP_VMID_SECURE_0, "secure VM 10"},
                               {HYPHEAP_VMID_SECURE_1, "secure VM 11"}};

struct StatusName {
  int64_t status;
  const char* name;
};
constexpr StatusName kStatusNames[] = {
    {HYPHEAP_ERR_NOT_SUPPORTED, "NOT_SUPPORTED"},
    {HYPHEAP_ERR_BAD_VERSION, "BAD_VERSION"},
    {HYPHEAP_ERR_DESC_ALIGN, "DESC_ALIGN"},
    {HYPHEAP_ERR_DESC_NOT_HOST, "DESC_NOT_HOST"},
    {HYPHEAP_ERR_DESC_LEN, "DESC_LEN"},
    {HYPHEAP_ERR_DESC_RESERVED, "DESC_RESERVED"},
    {HYPHEAP_ERR_RANGE_UNALIGNED, "RANGE_UNALIGNED"},
    {HYPHEAP_ERR_RANGE_SIZE, "RANGE_SIZE"},
    {HYPHEAP_ERR_OUTSIDE_RAM, "OUTSIDE_RAM"},
    {HYPHEAP_ERR_PROTECTED, "PROTECTED"},
    {HYPHEAP_ERR_OVERLAP, "OVERLAP"},
    {HYPHEAP_ERR_STATE, "STATE"},
    {HYPHEAP_ERR_UNKNOWN_VMID, "UNKNOWN_VMID"},
    {HYPHEAP_ERR_PERMS, "PERMS"},
    {HYPHEAP_ERR_DEST_SET, "DEST_SET"},
    {HYPHEAP_ERR_NO_MEMORY, "NO_MEMORY"},
    {HYPHEAP_ERR_BUSY, "BUSY"},
    {HYPHEAP_ERR_STAT_INDEX, "STAT_INDEX"},
    {HYPHEAP_ERR_NOT_MAPPED, "NOT_MAPPED"},
    {HYPHEAP_ERR_HOST_ACCESS, "HOST_ACCESS"},
    {HYPHEAP_ERR_MAILBOX, "MAILBOX"},
    {HYPHEAP_ERR_FFA, "FFA"},
};

constexpr StatusName kSvmStatusNames[] = {
    {HYPHEAP_SVM_OK, "OK"},
    {HYPHEAP_SVM_ERR_NOT_SUPPORTED, "NOT_SUPPORTED"},
    {HYPHEAP_SVM_ERR_ARGS_ADDR, "ARGS_ADDR"},
    {HYPHEAP_SVM_ERR_ARGS_NOT_SHARED, "ARGS_NOT_SHARED"},
    {HYPHEAP_SVM_ERR_ARGS_LEN, "ARGS_LEN"},
    {HYPHEAP_SVM_ERR_ARGS_VERSION, "ARGS_VERSION"},
    {HYPHEAP_SVM_ERR_ARGS_OP, "ARGS_OP"},
    {HYPHEAP_SVM_ERR_ARGS_RESERVED, "ARGS_RESERVED"},
    {HYPHEAP_SVM_ERR_RANGE_COUNT, "RANGE_COUNT"},
    {HYPHEAP_SVM_ERR_RANGE_SIZE, "RANGE_SIZE"},
    {HYPHEAP_SVM_ERR_RANGE_UNALIGNED, "RANGE_UNALIGNED"},
    {HYPHEAP_SVM_ERR_OVERLAP, "OVERLAP"},
    {HYPHEAP_SVM_ERR_NOT_OWNED, "NOT_OWNED"},
    {HYPHEAP_SVM_ERR_HOST_READABLE, "HOST_READABLE"},
    {HYPHEAP_SVM_ERR_LEN_MISMATCH, "LEN_MISMATCH"},
    {HYPHEAP_SVM_ERR_PIN_STATE, "PIN_STATE"},
    {HYPHEAP_SVM_ERR_BUSY, "BUSY"},
    {HYPHEAP_SVM_ERR_NO_MEMORY, "NO_MEMORY"},
    {HYPHEAP_SVM_ERR_PARTIAL_PAGE, "PARTIAL_PAGE"},
};

// The whole of text as a number in base; nothing for garbage or overflow.
std::optional<uint64_t> ParseWhole(std::string_view text, int base) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::string_view WithoutHexPrefix(std::string_view text) {
  if (text.starts_with("0x") || text.starts_with("0X")) {
    text.remove_prefix(2);
  }
  return text;
}

std::string VmNameOf(uint32_t vmid) {
  for (const VmName& known : kVmNames) {
    if (known.vmid == vmid) {
      return known.name;
    }
  }
  return "VM " + std::to_string(vmid);
}

ParsedCommand Error(std::string text) {
  return {.error = std::move(text)};
}

ParsedCommand ParseAlloc(std::span<const std::string_view> args) {
  AllocCommand alloc;
  std::vector<std::string_view> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] != "--hold") {
      positional.push_back(args[i]);
      continue;
    }
    if (i + 1 == args.size()) {
      return Error("--hold needs a number of seconds");
    }
    const std::optional<uint64_t> seconds = ParseWhole(args[++i], 10);
    if (!seconds.has_value() || *seconds > std::numeric_limits<unsigned>::max()) {
      return Error("--hold: not a number of seconds: " + std::string(args[i]));
    }
    alloc.hold_seconds = static_cast<unsigned>(*seconds);
  }
  if (positional.size() != 2) {
    return Error("alloc takes HEAP and SIZE");
  }
  alloc.heap = positional[0];
  const std::optional<uint64_t> bytes = ParseSize(positional[1]);
  if (!bytes.has_value()) {
    return Error("not a size: " + std::string(positional[1]) + " (try 4096, 64K, 3M)");
  }
  alloc.bytes = *bytes;
  return {.command = alloc};
}

ParsedCommand ParseQuery(std::span<const std::string_view> args) {
  if (args.empty() || args.size() > 2) {
    return Error("query takes PA and an optional PAGES");
  }
  QueryCommand query;
  const std::optional<uint64_t> pa = ParsePhysAddress(args[0]);
  if (!pa.has_value()) {
    return Error("not a page-aligned hex address: " + std::string(args[0]));
  }
  query.pa = *pa;
  if (args.size() == 2) {
    const std::optional<uint64_t> pages = ParseCount(args[1]);
    if (!pages.has_value()) {
      return Error("not a page count: " + std::string(args[1]));
    }
    query.pages = *pages;
  }
  return {.command = query};
}

ParsedCommand ParseSvm(std::span<const std::string_view> args) {
  using Op = SvmCommand::Op;
  struct Verb {
    std::string_view name;
    Op op;
    size_t positional;  // after the verb
  };
  constexpr Verb kVerbs[] = {{"info", Op::kInfo, 0},
                             {"hash", Op::kHash, 1},
                             {"fill", Op::kFill, 2},
                             {"pin", Op::kPin, 1},
                             {"decrypt", Op::kDecrypt, 2}};
  if (args.empty()) {
    return Error("svm takes info, hash, fill, pin or decrypt");
  }
  const Verb* verb = nullptr;
  for (const Verb& v : kVerbs) {
    verb = v.name == args[0] ? &v : verb;
  }
  if (verb == nullptr) {
    return Error("unknown svm command: " + std::string(args[0]));
  }
  SvmCommand svm{.op = verb->op};
  std::vector<std::string_view> positional;
  bool have_iv = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const bool len_flag = args[i] == "--len" && verb->op == Op::kHash;
    const bool iv_flag = args[i] == "--iv" && verb->op == Op::kDecrypt;
    const bool hold_flag = args[i] == "--hold" && verb->op == Op::kPin;
    if (!len_flag && !iv_flag && !hold_flag) {
      positional.push_back(args[i]);
      continue;
    }
    if (i + 1 == args.size()) {
      return Error(std::string(args[i]) + " needs a value");
    }
    if (hold_flag) {
      const std::optional<uint64_t> seconds = ParseWhole(args[++i], 10);
      if (!seconds.has_value() || *seconds > std::numeric_limits<unsigned>::max()) {
        return Error("--hold: not a number of seconds: " + std::string(args[i]));
      }
      svm.hold_seconds = static_cast<unsigned>(*seconds);
    } else if (len_flag) {
      const std::optional<uint64_t> len = ParseSize(args[++i]);
      if (!len.has_value()) {
        return Error("--len: not a size: " + std::string(args[i]));
      }
      svm.len = *len;
    } else {
      if (!ParseIv(args[++i], svm.iv)) {
        return Error("--iv takes 16 hex digits (CENC 8-byte IV): " + std::string(args[i]));
      }
      have_iv = true;
    }
  }
  if (positional.size() != verb->positional) {
    return Error("svm " + std::string(verb->name) + " takes " +
                 (verb->op == Op::kInfo      ? std::string("no arguments")
                  : verb->op == Op::kFill    ? std::string("PID:FD and a BYTE")
                  : verb->op == Op::kDecrypt ? std::string("PID:FD, a FILE and --iv HEX")
                                             : std::string("PID:FD")));
  }
  if (verb->op == Op::kDecrypt && !have_iv) {
    return Error("svm decrypt needs --iv HEX (16 hex digits)");
  }
  if (verb->positional > 0) {
    const std::optional<BufferRef> ref = ParseBufferRef(positional[0]);
    if (!ref.has_value()) {
      return Error("not PID:FD: " + std::string(positional[0]));
    }
    svm.buffer = *ref;
  }
  if (verb->op == Op::kFill) {
    const bool hex = positional[1].starts_with("0x") || positional[1].starts_with("0X");
    const std::optional<uint64_t> byte = ParseWhole(WithoutHexPrefix(positional[1]), hex ? 16 : 10);
    if (!byte.has_value() || *byte > 0xff) {
      return Error("not a byte (0..255 or 0x00..0xff): " + std::string(positional[1]));
    }
    svm.pattern = static_cast<uint8_t>(*byte);
  }
  if (verb->op == Op::kDecrypt) {
    svm.path = positional[1];
  }
  return {.command = svm};
}

// Commands that take no argument.
ParsedCommand Bare(std::string_view name, std::span<const std::string_view> args, Command command) {
  if (!args.empty()) {
    return Error(std::string(name) + " takes no arguments");
  }
  return {.command = command};
}

}  // namespace

ParsedCommand ParseArguments(std::span<const std::string_view> args) {
  if (args.empty()) {
    return Error("no command");
  }
  const std::string_view name = args[0];
  const std::span<const std::string_view> rest = args.subspan(1);
  if (name == "--help" || name == "-h" || name == "help") {
    return {.command = HelpCommand{}};
  }
  if (name == "heaps") {
    return Bare(name, rest, HeapsCommand{});
  }
  if (name == "stats") {
    return Bare(name, rest, StatsCommand{});
  }
  if (name == "demo") {
    return Bare(name, rest, DemoCommand{});
  }
  if (name == "alloc") {
    return ParseAlloc(rest);
  }
  if (name == "query") {
    return ParseQuery(rest);
  }
  if (name == "svm") {
    return ParseSvm(rest);
  }
  return Error("unknown command: " + std::string(name));
}

std::optional<uint64_t> ParseSize(std::string_view text) {
  uint64_t scale = 1;
  for (const Unit& unit : kUnits) {
    if (text.ends_with(unit.suffix)) {
      text.remove_suffix(unit.suffix.size());
      scale = unit.bytes;
      break;
    }
  }
  const bool hex = text.starts_with("0x") || text.starts_with("0X");
  const std::optional<uint64_t> count = ParseWhole(WithoutHexPrefix(text), hex ? 16 : 10);
  if (!count.has_value() || *count == 0 || *count > std::numeric_limits<uint64_t>::max() / scale) {
    return std::nullopt;
  }
  return *count * scale;
}

std::optional<uint64_t> ParsePhysAddress(std::string_view text) {
  const std::optional<uint64_t> pa = ParseWhole(WithoutHexPrefix(text), 16);
  if (!pa.has_value() || *pa % kPageSize != 0) {
    return std::nullopt;
  }
  return pa;
}

std::optional<uint64_t> ParseCount(std::string_view text) {
  const std::optional<uint64_t> count = ParseWhole(text, 10);
  if (!count.has_value() || *count == 0) {
    return std::nullopt;
  }
  return count;
}

std::string FormatSize(uint64_t bytes) {
  constexpr Unit kLargestFirst[] = {{"GiB", 1ULL << 30}, {"MiB", 1ULL << 20}, {"KiB", 1ULL << 10}};
  for (const Unit& unit : kLargestFirst) {
    if (bytes != 0 && bytes % unit.bytes == 0) {
      return std::to_string(bytes / unit.bytes) + " " + std::string(unit.suffix);
    }
  }
  return std::to_string(bytes) + " bytes";
}

std::string FormatOwners(uint64_t owners) {
  std::string text;
  for (uint32_t vmid = 0; vmid < HYPHEAP_VMID_LIMIT; ++vmid) {
    if ((owners & HYPHEAP_VMID_BIT(vmid)) != 0) {
      text += (text.empty() ? "" : " + ") + VmNameOf(vmid);
    }
  }
  return text.empty() ? "nobody" : text;
}

std::string FormatState(uint64_t state) {
  std::string text;
  switch (state & HYPHEAP_STATE_MASK) {
    case HYPHEAP_STATE_EXCLUSIVE:
      text = "exclusive";
      break;
    case HYPHEAP_STATE_SHARED:
      text = "shared";
      break;
    default:
      char raw[32];
      std::snprintf(raw, sizeof(raw), "state %#llx", static_cast<unsigned long long>(state));
      return raw;
  }
  const uint64_t flags = state & ~static_cast<uint64_t>(HYPHEAP_STATE_MASK);
  if ((flags & HYPHEAP_STATE_F_PINNED) != 0) {
    text += ", pinned";
  }
  if ((flags & HYPHEAP_STATE_F_HELD) != 0) {
    text += ", held";
  }
  if ((flags & HYPHEAP_STATE_F_FFA) != 0) {
    text += ", FF-A";
  }
  constexpr uint64_t kKnown = HYPHEAP_STATE_F_PINNED | HYPHEAP_STATE_F_HELD | HYPHEAP_STATE_F_FFA;
  if ((flags & ~kKnown) != 0) {
    char raw[48];
    std::snprintf(raw, sizeof(raw), ", flags %#llx",
                  static_cast<unsigned long long>(flags & ~kKnown));
    text += raw;
  }
  return text;
}

std::string FormatAbiStatus(int64_t status) {
  for (const StatusName& known : kStatusNames) {
    if (known.status == status) {
      return std::string(known.name) + " (" + std::to_string(status) + ")";
    }
  }
  return std::to_string(status);
}

std::string FormatSvmStatus(int64_t status) {
  for (const StatusName& known : kSvmStatusNames) {
    if (known.status == status) {
      return std::string(known.name) + " (" + std::to_string(status) + ")";
    }
  }
  return std::to_string(status);
}

std::optional<BufferRef> ParseBufferRef(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  const std::optional<uint64_t> pid = ParseWhole(text.substr(0, colon), 10);
  const std::optional<uint64_t> fd = ParseWhole(text.substr(colon + 1), 10);
  constexpr uint64_t kMax = std::numeric_limits<int>::max();
  if (!pid.has_value() || !fd.has_value() || *pid == 0 || *pid > kMax || *fd > kMax) {
    return std::nullopt;
  }
  return BufferRef{.pid = static_cast<int>(*pid), .fd = static_cast<int>(*fd)};
}

bool ParseIv(std::string_view text, uint8_t iv[8]) {
  if (text.size() != 16) {
    return false;
  }
  for (size_t i = 0; i < 8; ++i) {
    const std::optional<uint64_t> byte = ParseWhole(text.substr(2 * i, 2), 16);
    if (!byte.has_value()) {
      return false;
    }
    iv[i] = static_cast<uint8_t>(*byte);
  }
  return true;
}

std::string FormatDigest(const uint8_t digest[32]) {
  std::string text;
  for (size_t i = 0; i < 32; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof(byte), "%02x", digest[i]);
    text += byte;
  }
  return text;
}

std::string FormatCounters(const std::string& title,
                           const std::map<std::string, int64_t>& counters) {
  std::string text = title + "\n";
  int quiet_errors = 0;
  for (const auto& [name, value] : counters) {
    const bool error_counter = name.starts_with("failures_") || name.starts_with("hyp_error_");
    if (error_counter && value == 0) {
      ++quiet_errors;
      continue;
    }
    char line[96];
    std::snprintf(line, sizeof(line), "  %-26s %lld\n", name.c_str(),
                  static_cast<long long>(value));
    text += line;
  }
  if (quiet_errors > 0) {
    text += "  (" + std::to_string(quiet_errors) + " more error counters, all 0)\n";
  }
  return text;
}

std::string Usage() {
  return R"(usage: hypheap COMMAND [ARGS]

Protected dma-buf heaps, and who owns their memory according to the hypervisor.
Run as root: the ownership and counters come from hypheap's debugfs.

commands:
  heaps                        the heaps in /dev/dma_heap, and which are protected
  alloc HEAP SIZE [--hold S]   allocate SIZE bytes (4096, 64K, 3M ...) from HEAP, print the
                               buffer's physical ranges and their owner (MEM_QUERY), keep it
                               S seconds, free it
  stats                        the driver's counters and the hypervisor's STATS
  query PA [PAGES]             owner and state of PAGES pages (default 1) from hex address PA
  demo                         a protected buffer's life, step by step, each step checked
  svm info                     the secure VM's partition: FF-A id, services version, vCPUs
  svm hash PID:FD [--len N]    SHA-256, computed by the secure VM, of the protected buffer that
                               process PID holds as fd FD (from: alloc HEAP SIZE --hold S)
  svm fill PID:FD BYTE         the secure VM sets every byte of the buffer
  svm pin PID:FD [--hold S]    the secure VM holds the buffer for S seconds (a reclaim would
                               answer BUSY), then lets go; a pin lives as long as the command
  svm decrypt PID:FD FILE --iv HEX
                               AES-128-CTR ('cenc', test key) of FILE into the buffer, by the
                               secure VM; the plaintext never exists in host-readable memory
  --help                       this text

exit status: 0 ok; 1 the system did not behave as hypheap promises; 2 bad command line;
3 heap or debugfs missing (hypheap.ko not loaded? not root?); 4 a system call failed.
)";
}

}  // namespace hypheap::cli

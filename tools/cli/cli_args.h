// The hypheap command line: what each command takes, how sizes, addresses
// and ownership are written and read. No I/O here, so all of it is testable.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace hypheap::cli {

// Distinct so a script (or the guest's /init marker) tells why it failed.
enum ExitCode : int {
  kExitOk = 0,
  kExitNotAsDescribed = 1,  // the system answered, but not what hypheap promises
  kExitUsage = 2,           // the command line is wrong
  kExitUnavailable = 3,     // no such heap, or no hypheap debugfs (module not loaded? not root?)
  kExitSystemError = 4,     // a call failed with an errno
};

struct HelpCommand {};
struct HeapsCommand {};
struct AllocCommand {
  std::string heap;
  uint64_t bytes = 0;
  unsigned hold_seconds = 0;
};
struct StatsCommand {};
struct QueryCommand {
  uint64_t pa = 0;
  uint64_t pages = 1;
};
struct DemoCommand {};

// A dma-buf held by a process: "PID:FD" (hypheap alloc --hold prints it).
struct BufferRef {
  int pid = 0;
  int fd = -1;
};
// hypheap svm ...: the secure VM's services on a buffer of one of hypheap's heaps.
struct SvmCommand {
  enum class Op { kInfo, kHash, kFill, kPin, kDecrypt };
  Op op = Op::kInfo;
  BufferRef buffer;
  uint64_t len = 0;           // hash: bytes from the start (whole pages), 0 = all
  unsigned hold_seconds = 0;  // pin: how long the secure VM holds the buffer
  uint8_t pattern = 0;        // fill
  std::string path;           // decrypt: the ciphertext file
  uint8_t iv[8] = {};         // decrypt: CENC 8-byte IV
};

using Command = std::variant<HelpCommand, HeapsCommand, AllocCommand, StatsCommand, QueryCommand,
                             DemoCommand, SvmCommand>;

// A command, or why the words are not one.
struct ParsedCommand {
  std::optional<Command> command;
  std::string error;
};

// args: the words after the program name.
ParsedCommand ParseArguments(std::span<const std::string_view> args);

// "4096", "0x1000", "64K", "3M", "3MiB", "1G": bytes; nothing for zero,
// garbage or overflow.
std::optional<uint64_t> ParseSize(std::string_view text);
// A page-aligned physical address in hex, "0x" optional.
std::optional<uint64_t> ParsePhysAddress(std::string_view text);
// A decimal count above zero.
std::optional<uint64_t> ParseCount(std::string_view text);

// "4 KiB", "3 MiB", "3040 KiB", "3110400 bytes": exact, in the largest unit
// that divides it.
std::string FormatSize(uint64_t bytes);
// An owner bitmap in words: "host", "secure VM 10", "hyp", "VM 5",
// "host + secure VM 10", "nobody".
std::string FormatOwners(uint64_t owners);
// A QUERY state word: "exclusive", "shared", "exclusive, pinned", "state 0x7".
std::string FormatState(uint64_t state);
// An abi.h status: "OUTSIDE_RAM (-9)", or the number alone.
std::string FormatAbiStatus(int64_t status);
// A secure-VM service status: "NOT_OWNED (-12)", "OK (0)", or the number alone.
std::string FormatSvmStatus(int64_t status);
// "PID:FD", both decimal, PID > 0, FD >= 0.
std::optional<BufferRef> ParseBufferRef(std::string_view text);
// Exactly 16 hex digits.
bool ParseIv(std::string_view text, uint8_t iv[8]);
// 32 bytes as 64 lowercase hex digits.
std::string FormatDigest(const uint8_t digest[32]);

// "name value" lines under a title; error counters (failures_*, hyp_error_*)
// that are 0 fold into one line, so the ones that count stand out.
std::string FormatCounters(const std::string& title,
                           const std::map<std::string, int64_t>& counters);

std::string Usage();

}  // namespace hypheap::cli

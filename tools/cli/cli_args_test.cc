// The hypheap command line: every command's words, every rejection, and the
// words ownership is printed in.
#include "cli_args.h"

#include <hypheap/abi.h>

#include <optional>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace hypheap::cli {
namespace {

ParsedCommand Parse(std::vector<std::string_view> words) {
  return ParseArguments(words);
}

// The command as T, by value: a pointer into a temporary ParsedCommand would
// dangle.
template <typename T>
std::optional<T> As(const ParsedCommand& parsed) {
  if (!parsed.command.has_value() || !std::holds_alternative<T>(*parsed.command)) {
    return std::nullopt;
  }
  return std::get<T>(*parsed.command);
}

// As<T>, failing the test (and giving a default T) when it is not one.
template <typename T>
T Expect(const ParsedCommand& parsed) {
  const std::optional<T> command = As<T>(parsed);
  EXPECT_TRUE(command.has_value()) << parsed.error;
  return command.value_or(T{});
}

TEST(ParseArguments, RejectsNoCommand) {
  const ParsedCommand parsed = Parse({});
  EXPECT_FALSE(parsed.command.has_value());
  EXPECT_EQ(parsed.error, "no command");
}

TEST(ParseArguments, RejectsUnknownCommand) {
  EXPECT_EQ(Parse({"allocate"}).error, "unknown command: allocate");
}

TEST(ParseArguments, ReadsHelpInEverySpelling) {
  for (std::string_view help : {"--help", "-h", "help"}) {
    EXPECT_TRUE(As<HelpCommand>(Parse({help})).has_value()) << help;
  }
}

TEST(ParseArguments, ReadsBareCommands) {
  EXPECT_TRUE(As<HeapsCommand>(Parse({"heaps"})).has_value());
  EXPECT_TRUE(As<StatsCommand>(Parse({"stats"})).has_value());
  EXPECT_TRUE(As<DemoCommand>(Parse({"demo"})).has_value());
}

TEST(ParseArguments, RejectsArgumentsToBareCommand) {
  EXPECT_EQ(Parse({"stats", "now"}).error, "stats takes no arguments");
}

TEST(ParseArguments, ReadsAllocHeapAndSize) {
  const ParsedCommand parsed = Parse({"alloc", "protected,secure-video", "3M"});
  const std::optional<AllocCommand> alloc = As<AllocCommand>(parsed);
  ASSERT_TRUE(alloc.has_value()) << parsed.error;
  EXPECT_EQ(alloc->heap, "protected,secure-video");
  EXPECT_EQ(alloc->bytes, 3u << 20);
  EXPECT_EQ(alloc->hold_seconds, 0u);
}

TEST(ParseArguments, ReadsHoldBeforeOrAfterPositionals) {
  const std::optional<AllocCommand> after =
      As<AllocCommand>(Parse({"alloc", "system", "4096", "--hold", "5"}));
  const std::optional<AllocCommand> before =
      As<AllocCommand>(Parse({"alloc", "--hold", "7", "system", "4K"}));
  ASSERT_TRUE(after.has_value());
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(after->hold_seconds, 5u);
  EXPECT_EQ(before->hold_seconds, 7u);
  EXPECT_EQ(before->bytes, 4096u);
}

TEST(ParseArguments, RejectsHoldWithoutSeconds) {
  EXPECT_EQ(Parse({"alloc", "system", "4096", "--hold"}).error, "--hold needs a number of seconds");
}

TEST(ParseArguments, RejectsHoldThatIsNotANumber) {
  EXPECT_EQ(Parse({"alloc", "system", "4096", "--hold", "5s"}).error,
            "--hold: not a number of seconds: 5s");
}

TEST(ParseArguments, RejectsAllocWithoutSize) {
  EXPECT_EQ(Parse({"alloc", "system"}).error, "alloc takes HEAP and SIZE");
}

TEST(ParseArguments, RejectsAllocOfBadSize) {
  EXPECT_EQ(Parse({"alloc", "system", "lots"}).error, "not a size: lots (try 4096, 64K, 3M)");
}

TEST(ParseArguments, ReadsQueryWithDefaultOnePage) {
  const std::optional<QueryCommand> query = As<QueryCommand>(Parse({"query", "0x80000000"}));
  ASSERT_TRUE(query.has_value());
  EXPECT_EQ(query->pa, 0x80000000u);
  EXPECT_EQ(query->pages, 1u);
}

TEST(ParseArguments, ReadsQueryPages) {
  const std::optional<QueryCommand> query = As<QueryCommand>(Parse({"query", "80200000", "760"}));
  ASSERT_TRUE(query.has_value());
  EXPECT_EQ(query->pa, 0x80200000u);
  EXPECT_EQ(query->pages, 760u);
}

TEST(ParseArguments, RejectsUnalignedQueryAddress) {
  EXPECT_EQ(Parse({"query", "0x80000010"}).error, "not a page-aligned hex address: 0x80000010");
}

TEST(ParseArguments, RejectsZeroQueryPages) {
  EXPECT_EQ(Parse({"query", "0x80000000", "0"}).error, "not a page count: 0");
}

TEST(ParseArguments, RejectsQueryWithoutAddress) {
  EXPECT_EQ(Parse({"query"}).error, "query takes PA and an optional PAGES");
}

TEST(ParseSize, ReadsPlainHexAndUnits) {
  EXPECT_EQ(ParseSize("4096"), 4096u);
  EXPECT_EQ(ParseSize("0x1000"), 4096u);
  EXPECT_EQ(ParseSize("64K"), 64u << 10);
  EXPECT_EQ(ParseSize("64KiB"), 64u << 10);
  EXPECT_EQ(ParseSize("3MiB"), 3u << 20);
  EXPECT_EQ(ParseSize("1G"), 1u << 30);
}

TEST(ParseSize, RejectsZeroGarbageAndOverflow) {
  EXPECT_EQ(ParseSize("0"), std::nullopt);
  EXPECT_EQ(ParseSize(""), std::nullopt);
  EXPECT_EQ(ParseSize("M"), std::nullopt);
  EXPECT_EQ(ParseSize("3 M"), std::nullopt);
  EXPECT_EQ(ParseSize("-1"), std::nullopt);
  EXPECT_EQ(ParseSize("3T"), std::nullopt);
  EXPECT_EQ(ParseSize("17179869184G"), std::nullopt);
}

TEST(FormatSize, UsesLargestExactUnit) {
  EXPECT_EQ(FormatSize(4096), "4 KiB");
  EXPECT_EQ(FormatSize(3u << 20), "3 MiB");
  EXPECT_EQ(FormatSize(3112960), "3040 KiB");
  EXPECT_EQ(FormatSize(3110400), "3110400 bytes");
  EXPECT_EQ(FormatSize(2ULL << 30), "2 GiB");
}

TEST(FormatOwners, NamesKnownVms) {
  EXPECT_EQ(FormatOwners(HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST)), "host");
  EXPECT_EQ(FormatOwners(HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_0)), "secure VM 10");
  EXPECT_EQ(FormatOwners(HYPHEAP_VMID_BIT(HYPHEAP_VMID_HYP)), "hyp");
}

TEST(FormatOwners, JoinsSharersAndNumbersUnknownVms) {
  EXPECT_EQ(
      FormatOwners(HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST) | HYPHEAP_VMID_BIT(HYPHEAP_VMID_SECURE_1)),
      "host + secure VM 11");
  EXPECT_EQ(FormatOwners(HYPHEAP_VMID_BIT(5)), "VM 5");
  EXPECT_EQ(FormatOwners(0), "nobody");
}

TEST(FormatState, NamesStatesAndFlags) {
  EXPECT_EQ(FormatState(HYPHEAP_STATE_EXCLUSIVE), "exclusive");
  EXPECT_EQ(FormatState(HYPHEAP_STATE_SHARED), "shared");
  EXPECT_EQ(FormatState(HYPHEAP_STATE_EXCLUSIVE | HYPHEAP_STATE_F_PINNED), "exclusive, pinned");
  EXPECT_EQ(FormatState(HYPHEAP_STATE_EXCLUSIVE | HYPHEAP_STATE_F_HELD), "exclusive, held");
  EXPECT_EQ(FormatState(HYPHEAP_STATE_EXCLUSIVE | HYPHEAP_STATE_F_FFA), "exclusive, FF-A");
  EXPECT_EQ(FormatState(HYPHEAP_STATE_EXCLUSIVE | 0x800), "exclusive, flags 0x800");
  EXPECT_EQ(FormatState(0x7), "state 0x7");
}

TEST(FormatAbiStatus, NamesAbiCodes) {
  EXPECT_EQ(FormatAbiStatus(HYPHEAP_ERR_OUTSIDE_RAM), "OUTSIDE_RAM (-9)");
  EXPECT_EQ(FormatAbiStatus(HYPHEAP_ERR_STAT_INDEX), "STAT_INDEX (-18)");
  EXPECT_EQ(FormatAbiStatus(-99), "-99");
}

TEST(FormatCounters, ListsCountersUnderTitle) {
  EXPECT_EQ(FormatCounters("hyp:", {{"pages_lent", 760}, {"assign_calls", 2}}),
            "hyp:\n  assign_calls               2\n  pages_lent                 760\n");
}

TEST(FormatCounters, FoldsZeroErrorCountersIntoOneLine) {
  EXPECT_EQ(
      FormatCounters(
          "driver:",
          {{"failures_EIO", 0}, {"failures_EPERM", 3}, {"hyp_error_STATE", 0}, {"hypercalls", 2}}),
      "driver:\n  failures_EPERM             3\n  hypercalls                 2\n"
      "  (2 more error counters, all 0)\n");
}

TEST(ParseArguments, ReadsSvmCommands) {
  EXPECT_EQ(Expect<SvmCommand>(Parse({"svm", "info"})).op, SvmCommand::Op::kInfo);
  const SvmCommand hash = Expect<SvmCommand>(Parse({"svm", "hash", "42:7", "--len", "3M"}));
  EXPECT_EQ(hash.op, SvmCommand::Op::kHash);
  EXPECT_EQ(hash.buffer.pid, 42);
  EXPECT_EQ(hash.buffer.fd, 7);
  EXPECT_EQ(hash.len, 3u << 20);
  EXPECT_EQ(Expect<SvmCommand>(Parse({"svm", "fill", "1:0", "0xa5"})).pattern, 0xa5);
  const SvmCommand pin = Expect<SvmCommand>(Parse({"svm", "pin", "1:3", "--hold", "5"}));
  EXPECT_EQ(pin.op, SvmCommand::Op::kPin);
  EXPECT_EQ(pin.hold_seconds, 5u);
  const SvmCommand decrypt =
      Expect<SvmCommand>(Parse({"svm", "decrypt", "9:4", "frame.enc", "--iv", "0123456789abcdef"}));
  EXPECT_EQ(decrypt.path, "frame.enc");
  EXPECT_EQ(decrypt.iv[0], 0x01);
  EXPECT_EQ(decrypt.iv[7], 0xef);
}

TEST(ParseArguments, RejectsBadSvmCommands) {
  EXPECT_EQ(Parse({"svm"}).error, "svm takes info, hash, fill, pin or decrypt");
  EXPECT_EQ(Parse({"svm", "unpin", "1:2"}).error, "unknown svm command: unpin");
  EXPECT_EQ(Parse({"svm", "zap"}).error, "unknown svm command: zap");
  EXPECT_EQ(Parse({"svm", "info", "1:2"}).error, "svm info takes no arguments");
  EXPECT_EQ(Parse({"svm", "hash", "7"}).error, "not PID:FD: 7");
  EXPECT_EQ(Parse({"svm", "hash", "0:7"}).error, "not PID:FD: 0:7");
  EXPECT_EQ(Parse({"svm", "fill", "1:2", "256"}).error, "not a byte (0..255 or 0x00..0xff): 256");
  EXPECT_EQ(Parse({"svm", "decrypt", "1:2", "f"}).error,
            "svm decrypt needs --iv HEX (16 hex digits)");
  EXPECT_EQ(Parse({"svm", "decrypt", "1:2", "f", "--iv", "12"}).error,
            "--iv takes 16 hex digits (CENC 8-byte IV): 12");
  EXPECT_EQ(Parse({"svm", "pin", "1:2", "--len", "4K"}).error, "svm pin takes PID:FD");
}

TEST(FormatSvmStatus, NamesServiceCodes) {
  EXPECT_EQ(FormatSvmStatus(HYPHEAP_SVM_OK), "OK (0)");
  EXPECT_EQ(FormatSvmStatus(HYPHEAP_SVM_ERR_NOT_OWNED), "NOT_OWNED (-12)");
  EXPECT_EQ(FormatSvmStatus(-99), "-99");
}

TEST(FormatDigest, WritesLowercaseHex) {
  uint8_t digest[32] = {0xde, 0xad};
  EXPECT_EQ(FormatDigest(digest), "dead" + std::string(60, '0'));
}

TEST(Usage, ListsEveryCommand) {
  for (const char* command : {"heaps", "alloc HEAP SIZE", "stats", "query PA", "demo", "svm info",
                              "svm decrypt", "--help"}) {
    EXPECT_NE(Usage().find(command), std::string::npos) << command;
  }
}

}  // namespace
}  // namespace hypheap::cli

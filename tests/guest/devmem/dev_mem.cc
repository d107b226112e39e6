#include "dev_mem.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>

#include "child_process.h"

namespace hypheap::guest {
namespace {

constexpr const char* kDevMem = "/dev/mem";

// Exit codes of a touching child that did not die: the step that failed.
enum TouchExit : int {
  kTouchedAll = 0,
  kPipeBroken = 10,
  kMapFailed,
};

Outcome<UniqueFd> OpenDevMem(int flags) {
  UniqueFd fd(open(kDevMem, flags | O_CLOEXEC));
  if (!fd.valid()) {
    return {.error = errno};
  }
  return {.value = std::move(fd)};
}

int SendEachByteRead(std::span<volatile uint8_t> bytes, int pipe) {
  for (volatile uint8_t& byte : bytes) {
    const uint8_t value = byte;
    if (write(pipe, &value, 1) != 1) {
      return kPipeBroken;
    }
  }
  return kTouchedAll;
}

int ReportEachByteWritten(std::span<volatile uint8_t> bytes, uint8_t value, int pipe) {
  for (volatile uint8_t& byte : bytes) {
    byte = value;
    if (write(pipe, &value, 1) != 1) {
      return kPipeBroken;
    }
  }
  return kTouchedAll;
}

// Runs body(pipe) in a child and collects what it sent until it ended.
Outcome<ChildTouch> TouchInChild(const std::function<int(int pipe)>& body) {
  int ends[2];
  if (pipe2(ends, O_CLOEXEC) != 0) {
    return {.error = errno};
  }
  UniqueFd read_end(ends[0]);
  UniqueFd write_end(ends[1]);
  Outcome<ChildProcess> child = ChildProcess::Start([&] {
    read_end.Reset();
    return body(write_end.get());
  });
  if (!child.ok()) {
    return {.error = child.error};
  }
  write_end.Reset();

  ChildTouch touch;
  uint8_t chunk[256];
  ssize_t got;
  while ((got = read(read_end.get(), chunk, sizeof(chunk))) != 0) {
    if (got < 0 && errno != EINTR) {
      return {.error = errno};
    }
    if (got > 0) {
      touch.leaked.insert(touch.leaked.end(), chunk, chunk + got);
    }
  }
  const Outcome<int> status = child.value.Wait();
  if (!status.ok()) {
    return {.error = status.error};
  }
  touch.wait_status = status.value;
  return {.value = std::move(touch)};
}

}  // namespace

Outcome<Mapping> MapPhysical(uint64_t pa, size_t length, int prot) {
  const Outcome<UniqueFd> mem = OpenDevMem((prot & PROT_WRITE) != 0 ? O_RDWR : O_RDONLY);
  if (!mem.ok()) {
    return {.error = mem.error};
  }
  // The mapping keeps its own reference to /dev/mem: the fd may go.
  return Mapping::Create(mem.value.get(), length, prot, static_cast<off_t>(pa));
}

Outcome<std::vector<uint8_t>> ReadPhysical(uint64_t pa, size_t length) {
  const Outcome<UniqueFd> mem = OpenDevMem(O_RDONLY);
  if (!mem.ok()) {
    return {.error = mem.error};
  }
  std::vector<uint8_t> bytes(length);
  const ssize_t got = pread(mem.value.get(), bytes.data(), length, static_cast<off_t>(pa));
  if (got < 0) {
    return {.error = errno};
  }
  bytes.resize(static_cast<size_t>(got));
  return {.value = std::move(bytes)};
}

Outcome<ChildTouch> ReadInChild(std::span<volatile uint8_t> bytes) {
  return TouchInChild([bytes](int pipe) { return SendEachByteRead(bytes, pipe); });
}

Outcome<ChildTouch> MapAndReadInChild(uint64_t pa, size_t length) {
  return TouchInChild([pa, length](int pipe) {
    const Outcome<Mapping> mapping = MapPhysical(pa, length, PROT_READ);
    if (!mapping.ok()) {
      return static_cast<int>(kMapFailed);
    }
    return SendEachByteRead(mapping.value.bytes(), pipe);
  });
}

Outcome<ChildTouch> WriteInChild(std::span<volatile uint8_t> bytes, uint8_t value) {
  return TouchInChild(
      [bytes, value](int pipe) { return ReportEachByteWritten(bytes, value, pipe); });
}

::testing::AssertionResult DiedBeforeFirstAccess(const ChildTouch& touch) {
  const bool killed_by_fault =
      DiedOfSignal(touch.wait_status, SIGBUS) || DiedOfSignal(touch.wait_status, SIGSEGV);
  if (!killed_by_fault || !touch.leaked.empty()) {
    return ::testing::AssertionFailure()
           << "child ended by " << DescribeWaitStatus(touch.wait_status) << " after "
           << touch.leaked.size() << " accesses got through";
  }
  return ::testing::AssertionSuccess() << "child died by " << DescribeWaitStatus(touch.wait_status);
}

bool AllBytesAre(std::span<const volatile uint8_t> bytes, uint8_t value) {
  return std::all_of(bytes.begin(), bytes.end(), [value](uint8_t byte) { return byte == value; });
}

}  // namespace hypheap::guest

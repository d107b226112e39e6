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
  return OpenFile(kDevMem, flags);
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
  Outcome<Pipe> pipe = MakePipe();
  if (!pipe.ok()) {
    return {.error = pipe.error};
  }
  UniqueFd& read_end = pipe.value.read_end;
  UniqueFd& write_end = pipe.value.write_end;
  Outcome<ChildProcess> child = ChildProcess::Start([&] {
    read_end.Reset();
    return body(write_end.get());
  });
  if (!child.ok()) {
    return {.error = child.error};
  }
  write_end.Reset();

  std::string leaked;
  if (const int error = ReadToEnd(read_end.get(), leaked); error != 0) {
    return {.error = error};
  }
  ChildTouch touch{.leaked = std::vector<uint8_t>(leaked.begin(), leaked.end())};
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

bool AllBytesAre(std::span<const volatile uint8_t> bytes, uint8_t value) {
  return std::all_of(bytes.begin(), bytes.end(), [value](uint8_t byte) { return byte == value; });
}

}  // namespace hypheap::guest

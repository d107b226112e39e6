#include "dma_probe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "fd_io.h"

namespace hypheap::guest {
namespace {

constexpr const char* kProbeFile = "/sys/kernel/debug/hypheap_dmaprobe/dma";

// One open and write per command, as `echo read 3 > dma` does.
int Command(const std::string& command) {
  UniqueFd file(open(kProbeFile, O_WRONLY | O_CLOEXEC));
  if (!file.valid()) {
    return errno;
  }
  if (const int error = WriteAll(file.get(), command); error != 0) {
    return error;
  }
  return file.Close();
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

}  // namespace

bool DmaProbeLoaded() {
  return access(kProbeFile, F_OK) == 0;
}

Outcome<std::vector<uint8_t>> DmaProbeRead(int dmabuf_fd) {
  if (const int error = Command("read " + std::to_string(dmabuf_fd)); error != 0) {
    return {.error = error};
  }
  const Outcome<std::string> answer = ReadWholeFile(kProbeFile);
  if (!answer.ok()) {
    return {.error = answer.error};
  }
  constexpr std::string_view kPrefix = "read bytes=";
  const std::string& text = answer.value;
  if (text.compare(0, kPrefix.size(), kPrefix) != 0 ||
      text.size() < kPrefix.size() + 2 * kDmaProbeBytes) {
    return {.error = EBADMSG};
  }
  std::vector<uint8_t> bytes(kDmaProbeBytes);
  for (size_t i = 0; i < kDmaProbeBytes; ++i) {
    const int hi = HexDigit(text[kPrefix.size() + 2 * i]);
    const int lo = HexDigit(text[kPrefix.size() + 2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return {.error = EBADMSG};
    }
    bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return {.value = std::move(bytes)};
}

int DmaProbeWrite(int dmabuf_fd, uint8_t byte) {
  char command[48];
  std::snprintf(command, sizeof(command), "write %d %#x", dmabuf_fd, byte);
  return Command(command);
}

}  // namespace hypheap::guest

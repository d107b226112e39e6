#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>

namespace hypheap::guest {

int Console::Attach() {
  const int fd = open("/dev/console", O_RDWR | O_NOCTTY);
  if (fd < 0) {
    return errno;
  }
  for (int std_fd = 0; std_fd <= 2; ++std_fd) {
    if (fd != std_fd && dup2(fd, std_fd) < 0) {
      return errno;
    }
  }
  if (fd > 2) {
    close(fd);
  }
  fd_ = 1;
  return 0;
}

void Console::WriteAll(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = write(fd_, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) {
      continue;
    }
    if (written <= 0) {
      return;  // Nowhere left to report a console failure.
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
}

void Console::Write(std::string_view bytes) {
  if (bytes.empty()) {
    return;
  }
  WriteAll(bytes);
  at_line_start_ = bytes.back() == '\n';
}

void Console::Line(std::string_view line) {
  std::string whole;
  if (!at_line_start_) {
    whole += '\n';
  }
  whole += line;
  whole += '\n';
  // One write per line, so the kernel's own console output can only land
  // between lines, not inside one.
  WriteAll(whole);
  at_line_start_ = true;
}

}  // namespace hypheap::guest

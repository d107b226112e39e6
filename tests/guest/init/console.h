// /init's only way to the serial console. Every byte user space puts on the
// console goes through one Console (test programs' output is relayed), which
// is how result markers are guaranteed to start at column 0 and never to be
// interleaved with a test's own output.
#pragma once

#include <string_view>

namespace hypheap::guest {

class Console {
 public:
  // Writes to |fd| until Attach() makes the console fd 1 (tests pass a pipe).
  explicit Console(int fd = 1) : fd_(fd) {}

  // Opens /dev/console (devtmpfs must be mounted) and makes it fds 0, 1, 2:
  // the kernel gives init no console when the initramfs has no /dev/console.
  // Returns 0 or an errno.
  [[nodiscard]] int Attach();

  // Raw bytes, e.g. relayed from a test program.
  void Write(std::string_view bytes);

  // One whole line: a newline is inserted first if the previous output did
  // not end one. |line| has no trailing newline.
  void Line(std::string_view line);

 private:
  void WriteAll(std::string_view bytes);

  int fd_;
  bool at_line_start_ = true;
};

}  // namespace hypheap::guest

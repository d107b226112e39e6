// Owned file descriptors and errno-reporting I/O: every guest program's first
// layer, so a failure says "EPERM" and no fd outlives the code that opened it.
#pragma once

#include <fcntl.h>

#include <string>
#include <string_view>
#include <utility>

namespace hypheap::guest {

// "EINVAL", or "E<n>" for a number glibc has no name for; callers compare and
// print errnos by name so a failure reads "EPERM vs EINVAL", not "1 vs 22".
std::string ErrnoName(int error);

// A successful call gives a value and error 0; a failed one the errno.
template <typename T>
struct Outcome {
  T value{};
  int error = 0;
  bool ok() const { return error == 0; }
};

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() { return std::exchange(fd_, -1); }
  // Closes now and reports close()'s errno (0 on success), for callers where
  // the moment the last reference goes matters.
  int Close();
  void Reset() { static_cast<void>(Close()); }

 private:
  int fd_ = -1;
};

// open() with O_CLOEXEC added; the error is open()'s errno.
Outcome<UniqueFd> OpenFile(const std::string& path, int flags);

// Both ends of a pipe2(O_CLOEXEC).
struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};
Outcome<Pipe> MakePipe();

// Reads until EOF, retrying EINTR; 0 or read()'s errno (out then holds what
// came before the error).
int ReadToEnd(int fd, std::string& out);
Outcome<std::string> ReadWholeFile(const std::string& path);
// Writes all of text, retrying short writes and EINTR; 0 or the errno.
int WriteAll(int fd, std::string_view text);

}  // namespace hypheap::guest

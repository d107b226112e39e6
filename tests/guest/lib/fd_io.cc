#include "fd_io.h"

#include <string.h>
#include <unistd.h>

#include <cerrno>

namespace hypheap::guest {

std::string ErrnoName(int error) {
  if (error == 0) {
    return "success";
  }
  const char* name = strerrorname_np(error);
  return name != nullptr ? name : "E" + std::to_string(error);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = other.Release();
  }
  return *this;
}

int UniqueFd::Close() {
  if (fd_ < 0) {
    return 0;
  }
  // Linux releases the descriptor even when close() fails: never retry.
  const int result = close(std::exchange(fd_, -1));
  return result == 0 ? 0 : errno;
}

Outcome<UniqueFd> OpenFile(const std::string& path, int flags) {
  UniqueFd fd(open(path.c_str(), flags | O_CLOEXEC));
  if (!fd.valid()) {
    return {.error = errno};
  }
  return {.value = std::move(fd)};
}

Outcome<Pipe> MakePipe() {
  int ends[2];
  if (pipe2(ends, O_CLOEXEC) != 0) {
    return {.error = errno};
  }
  return {.value = {.read_end = UniqueFd(ends[0]), .write_end = UniqueFd(ends[1])}};
}

int ReadToEnd(int fd, std::string& out) {
  char chunk[4096];
  for (;;) {
    const ssize_t got = read(fd, chunk, sizeof(chunk));
    if (got > 0) {
      out.append(chunk, static_cast<size_t>(got));
    } else if (got == 0) {
      return 0;
    } else if (errno != EINTR) {
      return errno;
    }
  }
}

Outcome<std::string> ReadWholeFile(const std::string& path) {
  const Outcome<UniqueFd> file = OpenFile(path, O_RDONLY);
  if (!file.ok()) {
    return {.error = file.error};
  }
  std::string text;
  if (const int error = ReadToEnd(file.value.get(), text); error != 0) {
    return {.error = error};
  }
  return {.value = std::move(text)};
}

int WriteAll(int fd, std::string_view text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t wrote = write(fd, text.data() + done, text.size() - done);
    if (wrote < 0 && errno == EINTR) {
      continue;
    }
    if (wrote <= 0) {
      return wrote < 0 ? errno : EIO;
    }
    done += static_cast<size_t>(wrote);
  }
  return 0;
}

}  // namespace hypheap::guest

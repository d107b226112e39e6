#include "child_process.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace hypheap::guest {

Outcome<ChildProcess> ChildProcess::Start(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid < 0) {
    return {.error = errno};
  }
  if (pid == 0) {
    _exit(body());
  }
  return {.value = ChildProcess(pid)};
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  std::swap(pid_, other.pid_);
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    static_cast<void>(Wait());
  }
}

Outcome<int> ChildProcess::Wait() {
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) {
      return {.error = errno};
    }
  }
  pid_ = -1;
  return {.value = status};
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) {
    return "exit " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return std::string("signal SIG") + (name != nullptr ? name : std::to_string(WTERMSIG(status)));
  }
  return "status " + std::to_string(status);
}

bool DiedOfSignal(int status, int signal) {
  return WIFSIGNALED(status) && WTERMSIG(status) == signal;
}

int SendByte(int fd, char byte) {
  ssize_t sent;
  do {
    sent = write(fd, &byte, 1);
  } while (sent < 0 && errno == EINTR);
  return sent == 1 ? 0 : errno;
}

Outcome<char> ReceiveByte(int fd) {
  char byte = 0;
  ssize_t got;
  do {
    got = read(fd, &byte, 1);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    return {.error = errno};
  }
  if (got == 0) {
    return {.error = ENODATA};
  }
  return {.value = byte};
}

}  // namespace hypheap::guest

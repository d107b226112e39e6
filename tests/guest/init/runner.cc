#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errno_text.h"

namespace hypheap::guest {
namespace {

int64_t NowMs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

[[noreturn]] void ExecChild(const std::string& path, int output_fd) {
  setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  const int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) {
    dup2(null_fd, 0);
  }
  dup2(output_fd, 1);
  dup2(output_fd, 2);
  const std::string name = path.substr(path.rfind('/') + 1);
  char* argv[] = {const_cast<char*>(name.c_str()), nullptr};
  char* envp[] = {const_cast<char*>("PATH=/bin"), const_cast<char*>("HOME=/tmp"),
                  const_cast<char*>("TERM=dumb"), nullptr};
  execve(path.c_str(), argv, envp);
  const std::string message = "hypheap-init: exec " + path + ": " + ErrnoText(errno) + "\n";
  (void)!write(2, message.data(), message.size());
  _exit(127);
}

enum class RelayState { kMore, kWouldBlock, kEnd };

// Copies what is readable now to the console.
RelayState Relay(int fd, Console& console) {
  char buffer[4096];
  const ssize_t got = read(fd, buffer, sizeof(buffer));
  if (got > 0) {
    console.Write(std::string_view(buffer, static_cast<size_t>(got)));
    return RelayState::kMore;
  }
  if (got < 0 && errno == EINTR) {
    return RelayState::kMore;
  }
  return got < 0 && errno == EAGAIN ? RelayState::kWouldBlock : RelayState::kEnd;
}

// Relays output until the process exits or the deadline passes. Returns true
// when the process exited in time.
bool RelayUntilExit(int pid_fd, int output_fd, int64_t deadline_ms, Console& console) {
  bool output_open = true;
  for (;;) {
    const int64_t left = deadline_ms - NowMs();
    if (left <= 0) {
      return false;
    }
    pollfd fds[2] = {{pid_fd, POLLIN, 0}, {output_open ? output_fd : -1, POLLIN, 0}};
    const int ready = poll(fds, 2, static_cast<int>(left));
    if (ready < 0 && errno != EINTR) {
      return false;
    }
    if (fds[1].revents != 0) {
      output_open = Relay(output_fd, console) == RelayState::kMore;
    }
    if (fds[0].revents != 0) {
      return true;
    }
  }
}

void DrainOutput(int output_fd, Console& console) {
  fcntl(output_fd, F_SETFL, O_NONBLOCK);
  while (Relay(output_fd, console) == RelayState::kMore) {
  }
}

RunResult Classify(int status) {
  if (WIFEXITED(status)) {
    return {RunResult::Kind::kExited, WEXITSTATUS(status)};
  }
  return {RunResult::Kind::kSignaled, WTERMSIG(status)};
}

}  // namespace

RunResult RunProgram(const std::string& path, int timeout_seconds, Console& console) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return {RunResult::Kind::kSetupError, errno};
  }
  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return {RunResult::Kind::kSetupError, error};
  }
  if (pid == 0) {
    ExecChild(path, pipe_fds[1]);
  }
  close(pipe_fds[1]);
  // Also set here: the group must exist before a timeout can kill it.
  setpgid(pid, pid);
  const int pid_fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  const int pid_fd_error = errno;
  bool in_time = false;
  if (pid_fd >= 0) {
    in_time = RelayUntilExit(pid_fd, pipe_fds[0], NowMs() + timeout_seconds * 1000LL, console);
    close(pid_fd);
  }
  kill(-pid, SIGKILL);  // the timed-out program, or what it left behind
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  DrainOutput(pipe_fds[0], console);
  close(pipe_fds[0]);
  if (pid_fd < 0) {
    return {RunResult::Kind::kSetupError, pid_fd_error};
  }
  if (!in_time) {
    return {RunResult::Kind::kTimeout, timeout_seconds};
  }
  return Classify(status);
}

std::string DescribeResult(const RunResult& result) {
  switch (result.kind) {
    case RunResult::Kind::kExited:
      return result.value == 0 ? "PASS" : "FAIL exit=" + std::to_string(result.value);
    case RunResult::Kind::kSignaled: {
      const char* abbrev = sigabbrev_np(result.value);
      return "FAIL signal=" +
             (abbrev != nullptr ? "SIG" + std::string(abbrev) : std::to_string(result.value));
    }
    case RunResult::Kind::kTimeout:
      return "FAIL timeout";
    case RunResult::Kind::kSetupError:
      return "FAIL setup " + ErrnoText(result.value);
  }
  return "FAIL unknown";
}

}  // namespace hypheap::guest

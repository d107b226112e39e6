// Forked helper processes for tests that need a second owner of an fd or a
// process that is allowed to die: RAII, so a failing test never leaves one.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "dma_heap.h"

namespace hypheap::guest {

class ChildProcess {
 public:
  // Forks; the child runs body and _exit()s with what it returns, so nothing
  // of the test framework runs twice. The error is fork()'s errno.
  static Outcome<ChildProcess> Start(const std::function<int()>& body);

  ChildProcess() = default;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills and reaps a child nobody waited for.
  ~ChildProcess();

  // The wait status once the child has ended, or waitpid()'s errno.
  Outcome<int> Wait();

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

// "exit 0", "signal SIGBUS" ...: wait statuses as a failure message shows them.
std::string DescribeWaitStatus(int status);
bool DiedOfSignal(int status, int signal);

// One byte over a pipe or socket, the handshake between a test and its child;
// 0 or the errno; the peer closing its end reads as ENODATA.
int SendByte(int fd, char byte);
Outcome<char> ReceiveByte(int fd);

}  // namespace hypheap::guest

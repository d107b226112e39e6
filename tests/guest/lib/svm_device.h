// /dev/hypheap-svm (include/hypheap/svm_ioctl.h): the secure VM's services on
// dma-bufs of hypheap's heaps, for the CLI, the demo and the guest tests.
#pragma once

#include <hypheap/svm_ioctl.h>

#include <array>
#include <cstdint>
#include <span>

#include "fd_io.h"

namespace hypheap::guest {

// One call's answer: errno (0 on success) and the secure VM's raw status
// (HYPHEAP_SVM_STATUS_NONE when it did not answer).
struct SvmAnswer {
  int error = 0;
  int64_t status = HYPHEAP_SVM_STATUS_NONE;
  bool ok() const { return error == 0; }
};

struct SvmInfo {
  SvmAnswer answer;
  uint32_t version = 0;
  uint32_t nr_vcpus = 0;
  uint32_t features = 0;
  uint16_t partition_id = 0;
};

struct SvmDigest {
  SvmAnswer answer;
  std::array<uint8_t, 32> digest{};
};

class SvmDevice {
 public:
  // Error ENOENT when the module registered no device (no FF-A partition).
  static Outcome<SvmDevice> Open();

  SvmInfo Info() const;
  SvmDigest Hash(int dmabuf, uint64_t len = 0) const;
  SvmAnswer Fill(int dmabuf, uint8_t pattern) const;
  SvmAnswer Pin(int dmabuf) const;
  SvmAnswer Unpin(int dmabuf) const;
  SvmAnswer Decrypt(std::span<const uint8_t> ciphertext, int dmabuf, const uint8_t iv[8]) const;

 private:
  UniqueFd fd_;
};

// The fd `fd` of process `pid`, as a new fd of this one (pidfd_getfd(2): root,
// or a tracer of pid). This process's own fds are duplicated.
Outcome<UniqueFd> BorrowFd(int pid, int fd);

}  // namespace hypheap::guest

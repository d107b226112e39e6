#include "svm_device.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hypheap::guest {
namespace {

template <typename Arg>
SvmAnswer Call(int fd, unsigned long request, Arg* arg) {
  arg->status = HYPHEAP_SVM_STATUS_NONE;
  const int rc = ioctl(fd, request, arg);
  return {.error = rc == 0 ? 0 : errno, .status = arg->status};
}

SvmAnswer BufferCall(int fd, unsigned long request, int dmabuf, uint64_t pattern) {
  hypheap_svm_buf_arg arg{};
  arg.fd = dmabuf;
  arg.pattern = pattern;
  return Call(fd, request, &arg);
}

}  // namespace

Outcome<SvmDevice> SvmDevice::Open() {
  const int fd = open(HYPHEAP_SVM_DEVICE, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return {.error = errno};
  }
  Outcome<SvmDevice> device;
  device.value.fd_ = UniqueFd(fd);
  return device;
}

SvmInfo SvmDevice::Info() const {
  hypheap_svm_info_arg arg{};
  SvmInfo info{.answer = Call(fd_.get(), HYPHEAP_SVM_IOC_INFO, &arg)};
  info.version = arg.version;
  info.nr_vcpus = arg.nr_vcpus;
  info.features = arg.features;
  info.partition_id = arg.partition_id;
  return info;
}

SvmDigest SvmDevice::Hash(int dmabuf, uint64_t len) const {
  hypheap_svm_hash_arg arg{};
  arg.fd = dmabuf;
  arg.len = len;
  SvmDigest out{.answer = Call(fd_.get(), HYPHEAP_SVM_IOC_HASH, &arg)};
  std::memcpy(out.digest.data(), arg.digest, sizeof(arg.digest));
  return out;
}

SvmAnswer SvmDevice::Fill(int dmabuf, uint8_t pattern) const {
  return BufferCall(fd_.get(), HYPHEAP_SVM_IOC_FILL, dmabuf, pattern);
}

SvmAnswer SvmDevice::Pin(int dmabuf) const {
  return BufferCall(fd_.get(), HYPHEAP_SVM_IOC_PIN, dmabuf, 0);
}

SvmAnswer SvmDevice::Unpin(int dmabuf) const {
  return BufferCall(fd_.get(), HYPHEAP_SVM_IOC_UNPIN, dmabuf, 0);
}

SvmAnswer SvmDevice::Decrypt(std::span<const uint8_t> ciphertext, int dmabuf,
                             const uint8_t iv[8]) const {
  hypheap_svm_decrypt_arg arg{};
  arg.src = reinterpret_cast<uintptr_t>(ciphertext.data());
  arg.len = ciphertext.size();
  arg.dst_fd = dmabuf;
  std::memcpy(arg.iv, iv, sizeof(arg.iv));
  return Call(fd_.get(), HYPHEAP_SVM_IOC_DECRYPT, &arg);
}

Outcome<UniqueFd> BorrowFd(int pid, int fd) {
  if (pid == getpid()) {
    const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    return copy < 0 ? Outcome<UniqueFd>{.error = errno}
                    : Outcome<UniqueFd>{.value = UniqueFd(copy)};
  }
  const long pidfd = syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    return {.error = errno};
  }
  UniqueFd owner(static_cast<int>(pidfd));
  const long copy = syscall(SYS_pidfd_getfd, owner.get(), fd, 0);
  if (copy < 0) {
    return {.error = errno};
  }
  return {.value = UniqueFd(static_cast<int>(copy))};
}

}  // namespace hypheap::guest

// hypheap svm ...: the secure VM's services on a buffer another process holds
// (hypheap alloc HEAP SIZE --hold S prints it as PID:FD).
#include <hypheap/abi.h>

#include <unistd.h>
#include <cerrno>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "commands.h"
#include "svm_device.h"

namespace hypheap::cli {
namespace {

using guest::Outcome;
using Op = SvmCommand::Op;

// "NOT_OWNED (-12)" from the secure VM, or the errno when it did not answer.
int ReportSvm(const std::string& what, const guest::SvmAnswer& answer) {
  if (answer.status == HYPHEAP_SVM_STATUS_NONE) {
    return ReportErrno(what + " (the secure VM did not answer)", answer.error);
  }
  std::printf("hypheap: %s: the secure VM refused: %s\n", what.c_str(),
              FormatSvmStatus(answer.status).c_str());
  return kExitSystemError;
}

std::string RefName(const BufferRef& ref) {
  return std::to_string(ref.pid) + ":" + std::to_string(ref.fd);
}

int RunInfo(const guest::SvmDevice& svm) {
  const guest::SvmInfo info = svm.Info();
  if (!info.answer.ok()) {
    return ReportSvm("INFO", info.answer);
  }
  std::printf("secure VM partition %#06x: services %u.%u, %u vCPU(s)%s\n", info.partition_id,
              info.version >> 16, info.version & 0xffff, info.nr_vcpus,
              (info.features & HYPHEAP_SVM_F_FAULT) != 0 ? ", test build (FAULT built in)" : "");
  return kExitOk;
}

Outcome<std::vector<uint8_t>> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return {.error = errno != 0 ? errno : ENOENT};
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  return {.value = std::move(bytes)};
}

int RunOnBuffer(const guest::SvmDevice& svm, const SvmCommand& command) {
  const std::string name = RefName(command.buffer);
  Outcome<guest::UniqueFd> buffer = guest::BorrowFd(command.buffer.pid, command.buffer.fd);
  if (!buffer.ok()) {
    return ReportErrno("take fd " + name + " (pidfd_getfd)", buffer.error);
  }
  const int fd = buffer.value.get();
  switch (command.op) {
    case Op::kHash: {
      const guest::SvmDigest hash = svm.Hash(fd, command.len);
      if (!hash.answer.ok()) {
        return ReportSvm("HASH of " + name, hash.answer);
      }
      std::printf("%s  %s%s\n", FormatDigest(hash.digest.data()).c_str(), name.c_str(),
                  command.len != 0 ? (" (first " + FormatSize(command.len) + ")").c_str() : "");
      return kExitOk;
    }
    case Op::kFill:
      if (const guest::SvmAnswer a = svm.Fill(fd, command.pattern); !a.ok()) {
        return ReportSvm("FILL of " + name, a);
      }
      std::printf("%s: every byte is now %#04x (written by the secure VM)\n", name.c_str(),
                  command.pattern);
      return kExitOk;
    case Op::kPin:
      // A pin belongs to this process's open /dev/hypheap-svm: it ends with the command
      // at the latest, so no buffer is ever left pinned by a process that is gone.
      if (const guest::SvmAnswer a = svm.Pin(fd); !a.ok()) {
        return ReportSvm("PIN of " + name, a);
      }
      std::printf("%s: pinned by the secure VM (a reclaim now answers BUSY)", name.c_str());
      if (command.hold_seconds > 0) {
        std::printf(", for %u s", command.hold_seconds);
        std::fflush(stdout);
        sleep(command.hold_seconds);
      }
      std::printf("\n");
      if (const guest::SvmAnswer a = svm.Unpin(fd); !a.ok()) {
        return ReportSvm("UNPIN of " + name, a);
      }
      std::printf("%s: unpinned\n", name.c_str());
      return kExitOk;
    case Op::kDecrypt: {
      const Outcome<std::vector<uint8_t>> ciphertext = ReadFile(command.path);
      if (!ciphertext.ok()) {
        return ReportErrno("read " + command.path, ciphertext.error);
      }
      if (const guest::SvmAnswer a = svm.Decrypt(ciphertext.value, fd, command.iv); !a.ok()) {
        return ReportSvm("DECRYPT into " + name, a);
      }
      const guest::SvmDigest hash = svm.Hash(fd, ciphertext.value.size());
      if (!hash.answer.ok()) {
        return ReportSvm("HASH of the plaintext in " + name, hash.answer);
      }
      std::printf("decrypted %s into %s; SHA-256 of the plaintext (by the secure VM): %s\n",
                  FormatSize(ciphertext.value.size()).c_str(), name.c_str(),
                  FormatDigest(hash.digest.data()).c_str());
      return kExitOk;
    }
    case Op::kInfo:
      break;
  }
  return kExitUsage;
}

}  // namespace

int RunSvm(const SvmCommand& command) {
  const Outcome<guest::SvmDevice> svm = guest::SvmDevice::Open();
  if (!svm.ok()) {
    return ReportErrno(std::string("open ") + HYPHEAP_SVM_DEVICE +
                           " (no secure-VM partition? hypheap.ko not loaded?)",
                       svm.error);
  }
  return command.op == Op::kInfo ? RunInfo(svm.value) : RunOnBuffer(svm.value, command);
}

}  // namespace hypheap::cli

// The secure VM's services as user space reaches them: ioctls on
// /dev/hypheap-svm with dma-buf fds, and the `hypheap svm` CLI on a buffer
// another process holds (PID:FD). Expected values are computed here, before
// the secure VM is asked, with the AES-CTR and SHA-256 sources it runs (the
// kernel's crypto API is their oracle in the KUnit suite hypheap-svm).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hypheap/abi.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "aes.h"
#include "child_process.h"
#include "dma_heap.h"
#include "heap_names.h"
#include "hypheap_debugfs.h"
#include "sha256.h"
#include "svm_device.h"

namespace hypheap::guest {
namespace {

constexpr uint8_t kKey[16] = HYPHEAP_SVM_TEST_KEY;
constexpr uint8_t kIv[8] = {1, 2, 3, 4, 5, 6, 7, 8};
constexpr const char* kOtherVmHeap = "protected,trusted-ui";  // lent to VM 11

std::array<uint8_t, 32> Sha256Of(const std::vector<uint8_t>& bytes) {
  hyp::svm::Sha256 sha;
  sha.update(bytes.data(), bytes.size());
  std::array<uint8_t, 32> digest{};
  sha.finish(digest.data());
  return digest;
}

class SvmDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Outcome<SvmDevice> svm = SvmDevice::Open();
    if (OnXen()) {
      // xen, by design: the secure VM's services are our FF-A partition, which Xen 4.17
      // has no mediator for; the receiver domain maps and scrubs only. The device must
      // then not exist.
      ASSERT_EQ(ErrnoName(svm.error), "ENOENT") << HYPHEAP_SVM_DEVICE;
      GTEST_SKIP() << "xen, by design: no secure-VM services (" << HYPHEAP_SVM_DEVICE
                   << " absent, asserted)";
    }
    ASSERT_EQ(ErrnoName(svm.error), "success") << HYPHEAP_SVM_DEVICE;
    svm_ = std::move(svm.value);
  }

  UniqueFd Buffer(const std::string& heap, uint64_t len) {
    Outcome<UniqueFd> buffer = AllocateFromHeap(heap, len);
    EXPECT_EQ(ErrnoName(buffer.error), "success");
    return std::move(buffer.value);
  }

  SvmDevice svm_;
};

TEST_F(SvmDeviceTest, InfoNamesThePartition) {
  const SvmInfo info = svm_.Info();
  ASSERT_EQ(ErrnoName(info.answer.error), "success");
  EXPECT_EQ(info.answer.status, HYPHEAP_SVM_OK);
  EXPECT_EQ(info.partition_id, HYPHEAP_FFA_ID_SVM);
  EXPECT_EQ(info.version, HYPHEAP_SVM_VERSION);
  EXPECT_EQ(info.nr_vcpus, static_cast<uint32_t>(sysconf(_SC_NPROCESSORS_CONF)));
}

TEST_F(SvmDeviceTest, DecryptThenHashGivesThePlaintextsHash) {
  std::vector<uint8_t> data(100 * kKiB);  // a frame padded to whole pages
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<uint8_t>(i * 7 + (i >> 8));
  }
  const std::array<uint8_t, 32> want = Sha256Of(data);
  {
    const hyp::svm::Aes128 aes(kKey);
    hyp::svm::AesCtr ctr(aes, kIv);
    ctr.apply(data.data(), data.data(), data.size());
  }
  const UniqueFd buffer = Buffer(kSecureVideoHeap, 128 * kKiB);
  ASSERT_TRUE(buffer.valid());
  const SvmAnswer decrypt = svm_.Decrypt(data, buffer.get(), kIv);
  ASSERT_EQ(ErrnoName(decrypt.error), "success");
  const SvmDigest hash = svm_.Hash(buffer.get(), data.size());
  ASSERT_EQ(ErrnoName(hash.answer.error), "success");
  EXPECT_EQ(hash.digest, want);
}

TEST_F(SvmDeviceTest, FillThenHashWholeBuffer) {
  const UniqueFd buffer = Buffer(kSecureVideoHeap, 64 * kKiB);
  ASSERT_TRUE(buffer.valid());
  ASSERT_EQ(ErrnoName(svm_.Fill(buffer.get(), 0x5a).error), "success");
  const SvmDigest hash = svm_.Hash(buffer.get());
  ASSERT_EQ(ErrnoName(hash.answer.error), "success");
  EXPECT_EQ(hash.digest, Sha256Of(std::vector<uint8_t>(64 * kKiB, 0x5a)));
}

// carveout, by design (docs/kernel.md): a carve-out buffer's pin is the secure VM's own
// record, kept by its pool, not the hyp's: MEM_QUERY never shows it. What shows it is the
// secure VM refusing a second PIN (PIN_STATE) from a file of our own.
bool Carveout() {
  return BackendOf(kSecureVideoHeap) == "carveout";
}

bool PinnedInPool(int buffer) {
  Outcome<SvmDevice> probe = SvmDevice::Open();
  if (!probe.ok()) {
    ADD_FAILURE() << "cannot open " << HYPHEAP_SVM_DEVICE;
    return false;
  }
  const SvmAnswer pin = probe.value.Pin(buffer);
  if (pin.ok()) {
    EXPECT_EQ(ErrnoName(probe.value.Unpin(buffer).error), "success");
    return false;
  }
  EXPECT_EQ(pin.status, HYPHEAP_SVM_ERR_PIN_STATE) << ErrnoName(pin.error);
  return pin.status == HYPHEAP_SVM_ERR_PIN_STATE;
}

TEST_F(SvmDeviceTest, PinShowsInQueryAndUnpinClearsIt) {
  const UniqueFd buffer = Buffer(kSecureVideoHeap, 64 * kKiB);
  ASSERT_TRUE(buffer.valid());
  const Outcome<ino_t> ino = InodeOf(buffer.get());
  ASSERT_TRUE(ino.ok());
  const Outcome<LiveBuffer> live = FindLiveBuffer(kSecureVideoHeap, ino.value);
  ASSERT_TRUE(live.ok());
  const PhysRange first = live.value.ranges.front();

  ASSERT_EQ(ErrnoName(svm_.Pin(buffer.get()).error), "success");
  Outcome<Ownership> own = QueryOwnership(first.pa, first.pages());
  ASSERT_TRUE(own.ok());
  if (Carveout()) {
    EXPECT_EQ(own.value.state & HYPHEAP_STATE_F_PINNED, 0u) << "carveout: the pool's pin";
    EXPECT_TRUE(PinnedInPool(buffer.get()));
  } else {
    EXPECT_NE(own.value.state & HYPHEAP_STATE_F_PINNED, 0u);
  }
  // this file holds that pin already: refused before the secure VM is asked
  const SvmAnswer again = svm_.Pin(buffer.get());
  EXPECT_EQ(ErrnoName(again.error), ErrnoName(EALREADY));
  EXPECT_EQ(again.status, HYPHEAP_SVM_STATUS_NONE);

  ASSERT_EQ(ErrnoName(svm_.Unpin(buffer.get()).error), "success");
  own = QueryOwnership(first.pa, first.pages());
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own.value.state & HYPHEAP_STATE_F_PINNED, 0u);
  if (Carveout()) {
    EXPECT_FALSE(PinnedInPool(buffer.get()));
  }
}

TEST_F(SvmDeviceTest, RefusesWhatIsNotAProtectedBufferOfTheSecureVm) {
  // another VM's buffer: the secure VM refuses it
  const UniqueFd other = Buffer(kOtherVmHeap, 64 * kKiB);
  ASSERT_TRUE(other.valid());
  SvmDigest hash = svm_.Hash(other.get());
  EXPECT_EQ(ErrnoName(hash.answer.error), ErrnoName(EACCES));
  EXPECT_EQ(hash.answer.status, HYPHEAP_SVM_ERR_NOT_OWNED);

  // a system-heap buffer: the driver refuses another exporter's dma-buf
  const UniqueFd system = Buffer(kSystemHeap, 64 * kKiB);
  ASSERT_TRUE(system.valid());
  hash = svm_.Hash(system.get());
  EXPECT_EQ(ErrnoName(hash.answer.error), ErrnoName(EINVAL));
  EXPECT_EQ(hash.answer.status, HYPHEAP_SVM_STATUS_NONE);

  // not a dma-buf at all
  hash = svm_.Hash(STDIN_FILENO);
  EXPECT_EQ(ErrnoName(hash.answer.error), ErrnoName(EINVAL));

  // longer than the buffer
  const UniqueFd mine = Buffer(kSecureVideoHeap, 64 * kKiB);
  ASSERT_TRUE(mine.valid());
  hash = svm_.Hash(mine.get(), 64 * kKiB + 1);
  EXPECT_EQ(ErrnoName(hash.answer.error), ErrnoName(EINVAL));
  std::vector<uint8_t> ciphertext(64 * kKiB + 1);
  EXPECT_EQ(ErrnoName(svm_.Decrypt(ciphertext, mine.get(), kIv).error), ErrnoName(EINVAL));
}

// `hypheap svm ...` from another process, on a buffer this process holds.
int RunCli(const std::vector<std::string>& words, std::string* out) {
  int pipefd[2];
  if (pipe(pipefd) != 0) {
    return -1;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], STDOUT_FILENO);
    std::vector<char*> argv;
    for (const std::string& w : words) {
      argv.push_back(const_cast<char*>(w.c_str()));
    }
    argv.push_back(nullptr);
    execv("/bin/hypheap", argv.data());
    _exit(127);
  }
  close(pipefd[1]);
  char chunk[256];
  ssize_t n;
  while ((n = read(pipefd[0], chunk, sizeof(chunk))) > 0) {
    out->append(chunk, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(SvmDeviceTest, CliWorksOnAnotherProcesssBuffer) {
  const UniqueFd buffer = Buffer(kSecureVideoHeap, 64 * kKiB);
  ASSERT_TRUE(buffer.valid());
  const std::string ref = std::to_string(getpid()) + ":" + std::to_string(buffer.get());
  std::string out;
  EXPECT_EQ(RunCli({"hypheap", "svm", "info"}, &out), 0) << out;
  EXPECT_NE(out.find("secure VM partition 0x800a"), std::string::npos) << out;
  EXPECT_EQ(RunCli({"hypheap", "svm", "fill", ref, "0x11"}, &out), 0) << out;
  out.clear();
  EXPECT_EQ(RunCli({"hypheap", "svm", "pin", ref, "--hold", "1"}, &out), 0) << out;
  EXPECT_NE(out.find("unpinned"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(RunCli({"hypheap", "svm", "hash", ref}, &out), 0) << out;
  const std::array<uint8_t, 32> want = Sha256Of(std::vector<uint8_t>(64 * kKiB, 0x11));
  char hex[65];
  for (size_t i = 0; i < 32; ++i) {
    std::snprintf(hex + 2 * i, 3, "%02x", want[i]);
  }
  EXPECT_EQ(out.rfind(hex, 0), 0u) << out;
  out.clear();
  EXPECT_EQ(RunCli({"hypheap", "svm", "hash", ref, "--len", "100"}, &out), 4) << out;
  EXPECT_NE(out.find("EINVAL"), std::string::npos) << out;
}

bool PinnedNow(int buffer) {
  if (Carveout()) {
    return PinnedInPool(buffer);
  }
  const Outcome<ino_t> ino = InodeOf(buffer);
  const Outcome<LiveBuffer> live = FindLiveBuffer(kSecureVideoHeap, ino.value);
  if (!ino.ok() || !live.ok()) {
    ADD_FAILURE() << "buffer not listed";
    return false;
  }
  const PhysRange first = live.value.ranges.front();
  const Outcome<Ownership> own = QueryOwnership(first.pa, first.pages());
  EXPECT_TRUE(own.ok());
  return (own.value.state & HYPHEAP_STATE_F_PINNED) != 0;
}

// A pin is the open file's that made it: another file cannot undo it, and
// closing the file does, so a dead process cannot strand a buffer pinned.
TEST_F(SvmDeviceTest, PinsBelongToTheOpenFileThatMadeThem) {
  const UniqueFd buffer = Buffer(kSecureVideoHeap, 64 * kKiB);
  ASSERT_TRUE(buffer.valid());
  Outcome<SvmDevice> other = SvmDevice::Open();
  ASSERT_TRUE(other.ok());
  {
    Outcome<SvmDevice> owner = SvmDevice::Open();
    ASSERT_TRUE(owner.ok());
    ASSERT_EQ(ErrnoName(owner.value.Pin(buffer.get()).error), "success");
    EXPECT_TRUE(PinnedNow(buffer.get()));
    EXPECT_EQ(ErrnoName(other.value.Unpin(buffer.get()).error), ErrnoName(EPERM));
    const SvmAnswer twice = other.value.Pin(buffer.get());
    EXPECT_EQ(ErrnoName(twice.error), ErrnoName(EALREADY));
    EXPECT_EQ(twice.status, HYPHEAP_SVM_ERR_PIN_STATE);
    EXPECT_TRUE(PinnedNow(buffer.get()));
  }  // the owner's file closes
  EXPECT_FALSE(PinnedNow(buffer.get()));
  EXPECT_EQ(ErrnoName(other.value.Pin(buffer.get()).error), "success");
  EXPECT_EQ(ErrnoName(other.value.Unpin(buffer.get()).error), "success");
}

// A process killed while it holds a pin: its files close in do_exit(), with SIGKILL pending,
// and the pin must still be undone there.
TEST_F(SvmDeviceTest, AKilledPinnerLeavesNoPinBehind) {
  const UniqueFd buffer = Buffer(kSecureVideoHeap, 64 * kKiB);
  ASSERT_TRUE(buffer.valid());
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  if (child == 0) {
    Outcome<SvmDevice> svm = SvmDevice::Open();
    const bool pinned = svm.ok() && svm.value.Pin(buffer.get()).ok();
    const char byte = pinned ? 'p' : 'x';
    (void)!write(ready[1], &byte, 1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  close(ready[0]);
  ASSERT_EQ(byte, 'p');
  EXPECT_TRUE(PinnedNow(buffer.get()));
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_FALSE(PinnedNow(buffer.get()));
}

TEST_F(SvmDeviceTest, WritesNeedABufferOpenForWriting) {
  const Outcome<UniqueFd> heap = OpenHeap(kSecureVideoHeap);
  ASSERT_TRUE(heap.ok());
  const Outcome<UniqueFd> readonly =
      Allocate(heap.value.get(), {.len = 64 * kKiB, .fd_flags = O_RDONLY | O_CLOEXEC});
  ASSERT_EQ(ErrnoName(readonly.error), "success");
  EXPECT_EQ(ErrnoName(svm_.Fill(readonly.value.get(), 1).error), ErrnoName(EBADF));
  std::vector<uint8_t> ciphertext(4 * kKiB);
  EXPECT_EQ(ErrnoName(svm_.Decrypt(ciphertext, readonly.value.get(), kIv).error), ErrnoName(EBADF));
  // reading is allowed
  EXPECT_EQ(ErrnoName(svm_.Hash(readonly.value.get()).answer.error), "success");
}

// What the ioctl layer itself refuses, before the secure VM is asked.
TEST(SvmIoctlTest, RefusesMalformedArguments) {
  const int dev = open(HYPHEAP_SVM_DEVICE, O_RDWR | O_CLOEXEC);
  if (OnXen()) {
    ASSERT_EQ(ErrnoName(dev < 0 ? errno : 0), "ENOENT") << HYPHEAP_SVM_DEVICE;
    GTEST_SKIP() << "xen, by design: no secure-VM services (" << HYPHEAP_SVM_DEVICE
                 << " absent, asserted)";
  }
  ASSERT_GE(dev, 0);
  const UniqueFd device(dev);
  Outcome<UniqueFd> buffer = AllocateFromHeap(kSecureVideoHeap, 64 * kKiB);
  ASSERT_TRUE(buffer.ok());

  hypheap_svm_buf_arg buf{};
  buf.fd = buffer.value.get();
  buf.reserved = 1;
  EXPECT_EQ(ErrnoName(IoctlError(dev, HYPHEAP_SVM_IOC_FILL, &buf)), ErrnoName(EINVAL));
  buf.reserved = 0;
  buf.pattern = 0x100;
  EXPECT_EQ(ErrnoName(IoctlError(dev, HYPHEAP_SVM_IOC_FILL, &buf)), ErrnoName(EINVAL));
  buf.pattern = 1;  // PIN takes no pattern
  EXPECT_EQ(ErrnoName(IoctlError(dev, HYPHEAP_SVM_IOC_PIN, &buf)), ErrnoName(EINVAL));

  hypheap_svm_hash_arg hash{};
  hash.fd = buffer.value.get();
  hash.reserved = 1;
  EXPECT_EQ(ErrnoName(IoctlError(dev, HYPHEAP_SVM_IOC_HASH, &hash)), ErrnoName(EINVAL));

  hypheap_svm_decrypt_arg decrypt{};
  decrypt.dst_fd = buffer.value.get();
  EXPECT_EQ(ErrnoName(IoctlError(dev, HYPHEAP_SVM_IOC_DECRYPT, &decrypt)), ErrnoName(EINVAL));
  decrypt.len = 4 * kKiB;
  decrypt.src = 0x10;  // not mapped
  EXPECT_EQ(ErrnoName(IoctlError(dev, HYPHEAP_SVM_IOC_DECRYPT, &decrypt)), ErrnoName(EFAULT));

  EXPECT_EQ(ErrnoName(IoctlError(dev, _IO(HYPHEAP_SVM_IOC_MAGIC, 0x0f), nullptr)),
            ErrnoName(ENOTTY));
}

}  // namespace
}  // namespace hypheap::guest

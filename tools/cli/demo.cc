// hypheap demo: the life of one protected video frame, told by what the
// system answers at each step, never by what it is supposed to answer. Each
// step says what it proves and stops the demo (exit 1) when the answer is
// not that. The frame arrives encrypted (AES-128-CTR, CENC 'cenc', the
// secure VM's test key), is decrypted by the secure VM straight into the
// protected buffer, is checked by its hash, is pinned while "displayed", and
// comes back to the host scrubbed.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <hypheap/abi.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "aes.h"
#include "child_process.h"
#include "commands.h"
#include "dev_mem.h"
#include "dma_heap.h"
#include "dma_probe.h"
#include "heap_names.h"
#include "hypheap_debugfs.h"
#include "sha256.h"
#include "svm_device.h"

namespace hypheap::cli {
namespace {

using guest::Outcome;

// One 1080p NV12 frame (Y plane plus half-size interleaved CbCr): about
// 3 MiB, what a secure video decoder writes into.
constexpr uint64_t kFrameBytes = 1920 * 1080 * 3 / 2;
constexpr int kSteps = 11;
constexpr uint8_t kTestKey[16] = HYPHEAP_SVM_TEST_KEY;
constexpr uint8_t kIv[8] = {0x68, 0x68, 0x2d, 0x66, 0x72, 0x61, 0x6d, 0x65};  // "hh-frame"
constexpr const char* kScrubbedCounter = "pages_scrubbed";

class Demo {
 public:
  int Run();

 private:
  void Begin(const char* title) {
    std::printf("\n[%d/%d] %s\n", ++step_, kSteps, title);
    std::fflush(stdout);
  }
  static void Proves(const char* what) { std::printf("  => %s\n", what); }
  int NotAsDescribed(const std::string& what) {
    std::printf("  NOT AS DESCRIBED: %s\n", what.c_str());
    return kExitNotAsDescribed;
  }
  // Checks rule on every range; prints one line per range.
  bool AllRanges(guest::OwnerRule rule, uint32_t vm);

  int ListHeaps();
  int AllocateFrame();
  int ShowOwners();
  int DecryptFrame();
  int RefuseMmap();
  int KillDevMemReader();
  int DeviceDmaBlocked();
  // STATS DMA_FAULTS through hypheap/hyp, or nullopt (printed) if unreadable.
  std::optional<int64_t> DmaFaults();
  int HashMatches();
  int PinWhileDisplayed();
  // The state word of every range, as MEM_QUERY answers; false if a query failed.
  bool RangeStates(std::vector<uint64_t>* states);
  int FreeAndReclaim();
  int FinalStats();

  int step_ = 0;
  const std::string heap_ = guest::kSecureVideoHeap;
  uint32_t borrower_ = HYPHEAP_VMID_SECURE_0;
  guest::UniqueFd buffer_;
  guest::LiveBuffer listed_;
  guest::SvmDevice svm_;
  std::array<uint8_t, 32> plaintext_hash_{};
  // The frame's first bytes before encryption: what a leak would show.
  std::vector<uint8_t> plaintext_head_;
};

bool Demo::AllRanges(guest::OwnerRule rule, uint32_t vm) {
  bool all = true;
  for (const guest::PhysRange& range : listed_.ranges) {
    const guest::OwnerCheck check = guest::CheckSoleOwner(range, rule, vm);
    std::printf("  %s (%s)  %s\n", check.what.c_str(), FormatSize(range.bytes).c_str(),
                check.holds ? "ok" : "WRONG");
    all &= check.holds;
  }
  return all;
}

int Demo::ListHeaps() {
  Begin("the heaps user space can open (/dev/dma_heap)");
  if (const int result = RunHeaps(); result != kExitOk) {
    return result;
  }
  const std::vector<std::string> heaps = guest::ListDmaHeaps();
  if (std::find(heaps.begin(), heaps.end(), heap_) == heaps.end()) {
    std::printf("hypheap: %s/%s is missing: is hypheap.ko loaded?\n", guest::kDmaHeapDir,
                heap_.c_str());
    return kExitUnavailable;
  }
  borrower_ = guest::BorrowerOf(heap_).value_or(borrower_);
  Proves("a protected heap is an ordinary dma-buf heap to user space: same device, same ioctl");
  return kExitOk;
}

int Demo::AllocateFrame() {
  Begin("allocate one 1080p NV12 frame from protected,secure-video");
  Outcome<guest::UniqueFd> buffer = guest::AllocateFromHeap(heap_, kFrameBytes);
  if (!buffer.ok()) {
    return ReportErrno("DMA_HEAP_IOCTL_ALLOC of " + FormatSize(kFrameBytes), buffer.error);
  }
  buffer_ = std::move(buffer.value);
  const Outcome<ino_t> ino = guest::InodeOf(buffer_.get());
  if (!ino.ok()) {
    return ReportErrno("fstat of the dma-buf", ino.error);
  }
  const Outcome<guest::LiveBuffer> listed = guest::FindLiveBuffer(heap_, ino.value);
  if (!listed.ok()) {
    return ReportErrno("find the buffer in hypheap/" + heap_ + "/buffers", listed.error);
  }
  listed_ = listed.value;
  std::printf("  asked %s, got dma-buf fd %d of %s in %zu physical range(s)\n",
              FormatSize(kFrameBytes).c_str(), buffer_.get(), FormatSize(listed_.size).c_str(),
              listed_.ranges.size());
  Proves("the kernel allocated the pages; the decoder would get this fd like any other");
  return kExitOk;
}

int Demo::ShowOwners() {
  Begin("who owns those pages now (MEM_QUERY to the hypervisor)");
  if (!AllRanges(guest::OwnerRule::kVm, borrower_)) {
    return NotAsDescribed("a range is not owned by " + FormatOwners(HYPHEAP_VMID_BIT(borrower_)) +
                          " alone");
  }
  std::printf("  (owners is a bitmap of VM ids: %#llx = %s, %#llx = %s; state 0x1 = exclusive)\n",
              static_cast<unsigned long long>(HYPHEAP_VMID_BIT(borrower_)),
              FormatOwners(HYPHEAP_VMID_BIT(borrower_)).c_str(),
              static_cast<unsigned long long>(HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST)),
              FormatOwners(HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST)).c_str());
  Proves(("every page belongs to " + FormatOwners(HYPHEAP_VMID_BIT(borrower_)) +
          " alone: the host's stage-2 map no longer has it")
             .c_str());
  return kExitOk;
}

int Demo::DecryptFrame() {
  Begin("an encrypted frame arrives; the secure VM decrypts it into the buffer");
  Outcome<guest::SvmDevice> svm = guest::SvmDevice::Open();
  if (!svm.ok()) {
    return ReportErrno(std::string("open ") + HYPHEAP_SVM_DEVICE, svm.error);
  }
  svm_ = std::move(svm.value);
  const guest::SvmInfo info = svm_.Info();
  if (!info.answer.ok()) {
    return ReportErrno("INFO to the secure VM", info.answer.error);
  }
  std::printf("  secure VM partition %#06x, services %u.%u, %u vCPU(s), over Linux's FF-A driver\n",
              info.partition_id, info.version >> 16, info.version & 0xffff, info.nr_vcpus);
  // What a content server sends: a synthetic frame (a luma ramp and flat chroma), its
  // SHA-256 computed before encryption, then AES-128-CTR with the test key.
  // Whole pages, since the host cannot read them (abi.h): the frame is padded with zeros to
  // a page multiple before encryption, and the hash covers the padded frame.
  std::vector<uint8_t> frame(guest::PageRound(kFrameBytes));
  for (size_t i = 0; i < kFrameBytes; ++i) {
    frame[i] = i < 1920 * 1080 ? static_cast<uint8_t>((i % 1920) * 255 / 1919) : 0x80;
  }
  plaintext_head_.assign(frame.begin(), frame.begin() + guest::kDmaProbeBytes);
  hyp::svm::Sha256 sha;
  sha.update(frame.data(), frame.size());
  sha.finish(plaintext_hash_.data());
  {
    const hyp::svm::Aes128 aes(kTestKey);
    hyp::svm::AesCtr ctr(aes, kIv);
    ctr.apply(frame.data(), frame.data(), frame.size());
  }
  std::printf("  a %s frame, padded to %s; plaintext SHA-256 (before encryption): %s\n",
              FormatSize(kFrameBytes).c_str(), FormatSize(frame.size()).c_str(),
              FormatDigest(plaintext_hash_.data()).c_str());
  const guest::SvmAnswer answer = svm_.Decrypt(frame, buffer_.get(), kIv);
  if (!answer.ok()) {
    std::printf("  DECRYPT: %s, secure VM status %s\n", guest::ErrnoName(answer.error).c_str(),
                FormatSvmStatus(answer.status).c_str());
    return NotAsDescribed("the secure VM must decrypt into a buffer lent to it");
  }
  std::printf("  DECRYPT of %s: %s\n", FormatSize(frame.size()).c_str(),
              FormatSvmStatus(answer.status).c_str());
  Proves("the plaintext was written by the secure VM into pages only it can reach");
  return kExitOk;
}

std::optional<int64_t> Demo::DmaFaults() {
  const Outcome<guest::Counters> stats = guest::HypStats();
  const std::optional<int64_t> faults =
      stats.ok() ? guest::CounterValue(stats.value, "dma_faults") : std::nullopt;
  if (!faults.has_value()) {
    std::printf("  hypheap/hyp has no dma_faults (%s)\n", guest::ErrnoName(stats.error).c_str());
  }
  return faults;
}

std::string HexHead(const std::vector<uint8_t>& bytes, size_t offset) {
  std::string text;
  for (size_t i = offset; i < offset + 12 && i < bytes.size(); ++i) {
    char byte[4];
    std::snprintf(byte, sizeof(byte), "%02x ", bytes[i]);
    text += byte;
  }
  return text + "...";
}

int Demo::DeviceDmaBlocked() {
  Begin("root aims a PCIe device at the buffer (QEMU's edu: DMA read, then DMA write)");
  if (!guest::DmaProbeLoaded()) {
    std::printf("  not tried: hypheap_dmaprobe.ko is not loaded (make run loads it)\n");
    return kExitOk;
  }
  // First the same device on an ordinary buffer, so a refusal below is the SMMU's doing.
  constexpr uint8_t kHostBytes = 0x3c;
  Outcome<guest::UniqueFd> plain = guest::AllocateFromHeap(guest::kSystemHeap, guest::kPageSize);
  if (!plain.ok()) {
    return ReportErrno("allocate a system heap page", plain.error);
  }
  {
    const Outcome<guest::Mapping> map =
        guest::Mapping::Create(plain.value.get(), guest::kPageSize, PROT_READ | PROT_WRITE);
    if (!map.ok()) {
      return ReportErrno("mmap the system heap page", map.error);
    }
    for (volatile uint8_t& b : map.value.bytes()) {
      b = kHostBytes;
    }
  }
  const Outcome<std::vector<uint8_t>> control = guest::DmaProbeRead(plain.value.get());
  if (control.error == ENODEV) {
    std::printf(
        "  not tried: the host has no PCIe (no SMMU for the hypervisor to own, so it keeps "
        "every DMA master from the host)\n");
    return kExitOk;
  }
  if (!control.ok()) {
    return ReportErrno("edu DMA read of a system heap page", control.error);
  }
  const size_t copied = size_t(std::count(control.value.begin(), control.value.end(), kHostBytes));
  std::printf("  edu read of a system heap page:   %s (%zu of %zu bytes as written)\n",
              HexHead(control.value, 0).c_str(), copied, control.value.size());
  if (copied != control.value.size()) {
    return NotAsDescribed("the device must copy ordinary host memory");
  }
  const std::optional<int64_t> before = DmaFaults();
  if (!before.has_value()) {
    return NotAsDescribed("the SMMU's fault counter must be readable");
  }
  const Outcome<std::vector<uint8_t>> seen = guest::DmaProbeRead(buffer_.get());
  if (!seen.ok()) {
    return ReportErrno("edu DMA read of the protected buffer", seen.error);
  }
  size_t leaked = 0;
  for (size_t i = 0; i < seen.value.size(); ++i) {
    leaked += plaintext_head_[i] != 0 && seen.value[i] == plaintext_head_[i];
  }
  std::printf("  edu read of the protected buffer: %s\n", HexHead(seen.value, 1024).c_str());
  std::printf("  the frame there (plaintext):      %s\n", HexHead(plaintext_head_, 1024).c_str());
  if (const int error = guest::DmaProbeWrite(buffer_.get(), 0xbd); error != 0) {
    return ReportErrno("edu DMA write into the protected buffer", error);
  }
  const std::optional<int64_t> after = DmaFaults();
  if (!after.has_value()) {
    return NotAsDescribed("the SMMU's fault counter must be readable");
  }
  std::printf("  plaintext bytes the host received: %zu of %zu; SMMU faults: %lld -> %lld\n",
              leaked, seen.value.size(), static_cast<long long>(*before),
              static_cast<long long>(*after));
  if (leaked != 0) {
    return NotAsDescribed("the device must not read the frame out of the protected buffer");
  }
  if (*after - *before != 2) {
    return NotAsDescribed("the SMMU must block both transfers (two faults)");
  }
  Proves(
      "the hypervisor owns the SMMU: the host's devices reach only host memory, so "
      "DMA cannot read or write the frame (the next step's hash shows the write was dropped)");
  return kExitOk;
}

int Demo::HashMatches() {
  Begin("the secure VM hashes the decrypted frame (the host cannot read it to check)");
  const guest::SvmDigest hash = svm_.Hash(buffer_.get(), guest::PageRound(kFrameBytes));
  if (!hash.answer.ok()) {
    return ReportErrno("HASH by the secure VM", hash.answer.error);
  }
  std::printf("  secure VM's SHA-256 of the buffer:   %s\n",
              FormatDigest(hash.digest.data()).c_str());
  std::printf("  host's SHA-256 before encryption:    %s\n",
              FormatDigest(plaintext_hash_.data()).c_str());
  if (hash.digest != plaintext_hash_) {
    return NotAsDescribed(
        "the hashes differ: the frame was not decrypted as sent, or a device wrote into it");
  }
  Proves("the protected buffer holds exactly the frame that was encrypted");
  return kExitOk;
}

bool Demo::RangeStates(std::vector<uint64_t>* states) {
  states->clear();
  for (const guest::PhysRange& range : listed_.ranges) {
    const Outcome<guest::Ownership> own = guest::QueryOwnership(range.pa, range.pages());
    if (!own.ok() || own.value.abi_status != 0) {
      return false;
    }
    states->push_back(own.value.state);
  }
  return true;
}

int Demo::PinWhileDisplayed() {
  Begin("\"display\" the frame: the secure VM pins it, then lets go");
  if (const guest::SvmAnswer a = svm_.Pin(buffer_.get()); !a.ok()) {
    return ReportErrno("PIN by the secure VM", a.error);
  }
  std::vector<uint64_t> states;
  if (!RangeStates(&states)) {
    return NotAsDescribed("MEM_QUERY failed on a range");
  }
  for (size_t i = 0; i < states.size(); ++i) {
    const uint64_t state = states[i];
    std::printf("  while displayed: %s  %s\n", guest::Describe(listed_.ranges[i]).c_str(),
                FormatState(state).c_str());
    if ((state & HYPHEAP_STATE_F_PINNED) == 0) {
      return NotAsDescribed("a pinned range must say so");
    }
  }
  if (const guest::SvmAnswer a = svm_.Unpin(buffer_.get()); !a.ok()) {
    return ReportErrno("UNPIN by the secure VM", a.error);
  }
  if (!RangeStates(&states)) {
    return NotAsDescribed("MEM_QUERY failed on a range");
  }
  for (size_t i = 0; i < states.size(); ++i) {
    const uint64_t state = states[i];
    std::printf("  after display:   %s  %s\n", guest::Describe(listed_.ranges[i]).c_str(),
                FormatState(state).c_str());
    if ((state & HYPHEAP_STATE_F_PINNED) != 0) {
      return NotAsDescribed("an unpinned range is still pinned");
    }
  }
  Proves("while pinned a reclaim would answer BUSY (the heap would quarantine and retry)");
  return kExitOk;
}

int Demo::RefuseMmap() {
  Begin("map the buffer into this process (mmap PROT_READ)");
  const Outcome<guest::Mapping> mapping =
      guest::Mapping::Create(buffer_.get(), listed_.size, PROT_READ);
  std::printf("  mmap: %s\n", guest::ErrnoName(mapping.error).c_str());
  if (mapping.error != EPERM) {
    return NotAsDescribed("mmap of a protected buffer must fail with EPERM");
  }
  Proves("the driver refuses CPU mappings before the hypervisor has to step in");
  return kExitOk;
}

int Demo::KillDevMemReader() {
  const uint64_t pa = listed_.ranges.front().pa;
  Begin("root reads the first page through /dev/mem, in a child process");
  const Outcome<guest::ChildTouch> touch = guest::MapAndReadInChild(pa, guest::kPageSize);
  if (!touch.ok()) {
    return ReportErrno("fork a /dev/mem reader", touch.error);
  }
  std::printf("  reader of %#llx ended by %s after reading %zu bytes\n",
              static_cast<unsigned long long>(pa),
              guest::DescribeWaitStatus(touch.value.wait_status).c_str(),
              touch.value.leaked.size());
  if (!guest::DiedOfSignal(touch.value.wait_status, SIGBUS) || !touch.value.leaked.empty()) {
    return NotAsDescribed("the reader must die of SIGBUS before its first byte");
  }
  Proves("the hypervisor injected an abort: not even root on the host reads lent memory");
  return kExitOk;
}

int Demo::FreeAndReclaim() {
  Begin("close the fd: the heap frees the buffer and takes the pages back");
  const Outcome<guest::Counters> before = guest::HypStats();
  if (!before.ok()) {
    return ReportErrno("read hypheap/hyp", before.error);
  }
  if (const int error = buffer_.Close(); error != 0) {
    return ReportErrno("close the dma-buf", error);
  }
  if (guest::FindLiveBuffer(heap_, listed_.ino).error != ENOENT) {
    return NotAsDescribed("the buffer is still listed in hypheap/" + heap_ + "/buffers");
  }
  if (!AllRanges(guest::OwnerRule::kHost, 0)) {
    return NotAsDescribed("a range did not come back to the host alone");
  }
  const Outcome<guest::Counters> after = guest::HypStats();
  if (!after.ok()) {
    return ReportErrno("read hypheap/hyp", after.error);
  }
  const std::optional<int64_t> old_count = guest::CounterValue(before.value, kScrubbedCounter);
  const std::optional<int64_t> new_count = guest::CounterValue(after.value, kScrubbedCounter);
  if (!old_count.has_value() || !new_count.has_value()) {
    return NotAsDescribed(std::string("hypheap/hyp has no ") + kScrubbedCounter);
  }
  const int64_t pages = static_cast<int64_t>(listed_.size / guest::kPageSize);
  std::printf("  hypervisor %s: %lld -> %lld (+%lld; the buffer had %lld pages)\n",
              kScrubbedCounter, static_cast<long long>(*old_count),
              static_cast<long long>(*new_count), static_cast<long long>(*new_count - *old_count),
              static_cast<long long>(pages));
  if (*new_count - *old_count < pages) {
    return NotAsDescribed("fewer pages scrubbed than the buffer had");
  }
  Proves(
      "the host owns every page again, and the hypervisor zeroed each one before giving it "
      "back: nothing the secure VM wrote reaches the host");
  return kExitOk;
}

int Demo::FinalStats() {
  Begin("the totals");
  return RunStats();
}

int Demo::Run() {
  std::printf("hypheap demo: a protected video buffer's life, each step checked\n");
  for (int (Demo::*step)() :
       {&Demo::ListHeaps, &Demo::AllocateFrame, &Demo::ShowOwners, &Demo::DecryptFrame,
        &Demo::RefuseMmap, &Demo::KillDevMemReader, &Demo::DeviceDmaBlocked, &Demo::HashMatches,
        &Demo::PinWhileDisplayed, &Demo::FreeAndReclaim, &Demo::FinalStats}) {
    if (const int result = (this->*step)(); result != kExitOk) {
      std::printf("\nhypheap demo: FAILED at step %d of %d\n", step_, kSteps);
      return result;
    }
  }
  std::printf("\nhypheap demo: all %d steps behaved as described\n", kSteps);
  return kExitOk;
}

}  // namespace

int RunDemo() {
  Demo demo;
  return demo.Run();
}

}  // namespace hypheap::cli

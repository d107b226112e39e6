// The system heap as the control for the protected heaps' refusals: the same
// calls that a protected heap refuses work here, so a refusal there is the
// driver's doing and not the test's. (The 1 TiB request is not repeated here:
// the system heap takes pages until the OOM killer intervenes, by design.)
#include <sys/mman.h>
#include <sys/socket.h>

#include <algorithm>
#include <string>

#include <gtest/gtest.h>
#include <linux/dma-buf.h>

#include "child_process.h"
#include "dma_heap.h"
#include "heap_names.h"

namespace hypheap::guest {
namespace {

constexpr uint64_t kLength = 4 * kPageSize;
constexpr uint8_t kPattern = 0x5a;

bool AllBytesAre(std::span<volatile uint8_t> bytes, uint8_t value) {
  return std::all_of(bytes.begin(), bytes.end(), [value](uint8_t byte) { return byte == value; });
}

void Fill(std::span<volatile uint8_t> bytes, uint8_t value) {
  for (volatile uint8_t& byte : bytes) {
    byte = value;
  }
}

// The receiving side of the fd passing test: checks the pattern through its
// own mapping after the sender has dropped every reference of its own.
enum ReaderExit : int {
  kReaderSawPattern = 0,
  kReaderNoFd = 10,
  kReaderNoGo,
  kReaderMmapFailed,
  kReaderWrongData,
};

int ReadPassedBuffer(int socket) {
  const Outcome<UniqueFd> received = ReceiveFd(socket);
  if (!received.ok()) {
    return kReaderNoFd;
  }
  const Outcome<char> go = ReceiveByte(socket);
  if (!go.ok() || go.value != 'G') {
    return kReaderNoGo;
  }
  const Outcome<Mapping> mapping = Mapping::Create(received.value.get(), kLength, PROT_READ);
  if (!mapping.ok()) {
    return kReaderMmapFailed;
  }
  return AllBytesAre(mapping.value.bytes(), kPattern) ? kReaderSawPattern : kReaderWrongData;
}

class SystemHeapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Outcome<UniqueFd> buffer = AllocateFromHeap(kSystemHeap, kLength);
    ASSERT_EQ(ErrnoName(buffer.error), "success");
    buffer_ = std::move(buffer.value);
  }

  UniqueFd buffer_;
};

TEST_F(SystemHeapTest, MapsReadWriteAndReadsBackWhatWasWritten) {
  const Outcome<Mapping> mapping = Mapping::Create(buffer_.get(), kLength, PROT_READ | PROT_WRITE);
  ASSERT_EQ(ErrnoName(mapping.error), "success");

  EXPECT_TRUE(AllBytesAre(mapping.value.bytes(), 0)) << "a new system heap buffer is zeroed";
  Fill(mapping.value.bytes(), kPattern);
  EXPECT_TRUE(AllBytesAre(mapping.value.bytes(), kPattern));
}

TEST_F(SystemHeapTest, AcceptsSyncStartAndEnd) {
  EXPECT_EQ(ErrnoName(SyncError(buffer_.get(), DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW)), "success");
  EXPECT_EQ(ErrnoName(SyncError(buffer_.get(), DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW)), "success");
}

TEST_F(SystemHeapTest, PassedFdKeepsContentsAfterSenderCloses) {
  int sockets[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets), 0) << ErrnoName(errno);
  UniqueFd parent_end(sockets[0]);
  UniqueFd child_end(sockets[1]);
  buffer_.Reset();  // the child must not inherit a reference through fork()
  Outcome<ChildProcess> child = ChildProcess::Start([&] {
    parent_end.Reset();
    return ReadPassedBuffer(child_end.get());
  });
  ASSERT_EQ(ErrnoName(child.error), "success");
  child_end.Reset();

  Outcome<UniqueFd> buffer = AllocateFromHeap(kSystemHeap, kLength);
  ASSERT_EQ(ErrnoName(buffer.error), "success");
  {
    const Outcome<Mapping> mapping =
        Mapping::Create(buffer.value.get(), kLength, PROT_READ | PROT_WRITE);
    ASSERT_EQ(ErrnoName(mapping.error), "success");
    Fill(mapping.value.bytes(), kPattern);
  }
  ASSERT_EQ(ErrnoName(SendFd(parent_end.get(), buffer.value.get())), "success");
  ASSERT_EQ(ErrnoName(buffer.value.Close()), "success");
  ASSERT_EQ(ErrnoName(SendByte(parent_end.get(), 'G')), "success");

  const Outcome<int> status = child.value.Wait();
  ASSERT_EQ(ErrnoName(status.error), "success");
  EXPECT_EQ(DescribeWaitStatus(status.value), "exit 0");
}

}  // namespace
}  // namespace hypheap::guest

// The host's FF-A mailbox (hyp/core/ffa_mailbox.cc): RXTX_MAP/UNMAP, RX_RELEASE and
// PARTITION_INFO_GET, and what a mapped mailbox means to MEM_ASSIGN and MEM_QUERY.
#include <cstring>

#include "ffa_fixture.h"

namespace hyp::testing {
namespace {

constexpr uint64_t kTx = kData + 32 * k4K, kRx = kData + 33 * k4K;
constexpr uint32_t kUuid[4] = {HYPHEAP_SVM_UUID_0, HYPHEAP_SVM_UUID_1, HYPHEAP_SVM_UUID_2,
                               HYPHEAP_SVM_UUID_3};
// OP-TEE's 486178e0-e7f8-11e3-bc5e-0002a5d5c51b: the secure VM's second endpoint.
constexpr uint32_t kOpteeUuid[4] = {HYPHEAP_OPTEE_UUID_0, HYPHEAP_OPTEE_UUID_1,
                                    HYPHEAP_OPTEE_UUID_2, HYPHEAP_OPTEE_UUID_3};

class FfaMailboxTest : public FfaFixture {
 protected:
  void map(uint64_t fid = ffa::kRxtxMap64) {
    const FfaRegs r = host(0, fid, kTx, kRx, 1);
    ASSERT_EQ(r.x[0], ffa::kSuccess32);
  }
  // A host call rejected with `code` that changed no stage-2 and no RX byte.
  void expect_rejected(FfaRegs r, int32_t code) {
    const Snapshot before = snapshot();
    std::vector<uint8_t> rx(mem(kRx), mem(kRx) + k4K);
    EXPECT_EQ(hyp_->ffa_host_call(0, r).next, FfaNext::kReturn);
    expect_error(r, code);
    EXPECT_TRUE(snapshot() == before);
    EXPECT_EQ(std::memcmp(rx.data(), mem(kRx), k4K), 0);
    expect_invariants();
  }
  FfaRegs info(uint32_t flags = 0, const uint32_t* uuid = nullptr) {
    static constexpr uint32_t kNull[4] = {};
    const uint32_t* u = uuid ? uuid : kNull;
    return host(0, ffa::kPartitionInfoGet, u[0], u[1], u[2], u[3], flags);
  }
};

TEST_F(FfaMailboxTest, MapSharesBothPagesWithTheHypUntilUnmap) {
  const size_t pool_before = hyp_->pool().used_pages();
  map();
  for (const uint64_t pa : {kTx, kRx}) {
    const Leaf h = host_leaf(pa);
    EXPECT_TRUE(h.valid());
    EXPECT_EQ(h.state(), PageState::kSharedHyp);
    EXPECT_EQ(h.perms(), kPermsRwx);
    const QueryResult q = query(pa, 1);
    EXPECT_EQ(q.owners, kVmidHost.bit() | kVmidHyp.bit());
    EXPECT_EQ(q.state, uint64_t(HYPHEAP_STATE_SHARED));
  }
  EXPECT_EQ(host_leaf(kTx - k4K).state(), PageState::kOwned);
  EXPECT_EQ(host(0, ffa::kRxtxUnmap, uint64_t(HYPHEAP_FFA_ID_HOST) << 16).x[0], ffa::kSuccess32);
  EXPECT_EQ(host_leaf(kTx).state(), PageState::kOwned);
  EXPECT_EQ(hyp_->pool().used_pages(), pool_before);  // merged back into the host's block
  EXPECT_EQ(assign(lend(kTx, 2 * k4K)), Status::kOk);
}

TEST_F(FfaMailboxTest, MemAssignCannotLendOrShareAMappedMailbox) {
  map();
  HypTest::expect_rejected(lend(kTx, k4K), Status::kMailbox);
  HypTest::expect_rejected(share(kRx, k4K), Status::kMailbox);
  HypTest::expect_rejected(lend(kTx - k4K, 3 * k4K), Status::kMailbox);
  // Whatever the transition, the page is the mailbox first.
  HypTest::expect_rejected(reclaim(kSvm0.bit(), kTx, k4K), Status::kMailbox);
  // A descriptor may still sit in TX: the host can read it.
  std::vector<uint8_t> d = lend(kData, k4K).bytes();
  EXPECT_EQ(Status(int64_t(call(d, kTx).x[0])), Status::kOk);
}

TEST_F(FfaMailboxTest, ThirtyTwoBitMapIgnoresTheUpperHalves) {
  const FfaRegs r = host(0, ffa::kRxtxMap32, (1ULL << 40) | kTx, (1ULL << 40) | kRx, 1);
  EXPECT_EQ(r.x[0], ffa::kSuccess32);
  EXPECT_EQ(host_leaf(kRx).state(), PageState::kSharedHyp);
}

TEST_F(FfaMailboxTest, MapRejectsBadBuffersWithInvalidParameters) {
  const uint64_t fid = ffa::kRxtxMap64;
  expect_rejected(regs(fid, kTx + 8, kRx, 1), ffa::kInvalidParameters);
  expect_rejected(regs(fid, kTx, kRx + 0x800, 1), ffa::kInvalidParameters);
  expect_rejected(regs(fid, kTx, kTx, 1), ffa::kInvalidParameters);
  expect_rejected(regs(fid, kTx, kRx, 0), ffa::kInvalidParameters);
  expect_rejected(regs(fid, kTx, kRx, 2), ffa::kInvalidParameters);
  expect_rejected(regs(fid, kTx, kRx, 1 | 1 << 6), ffa::kInvalidParameters);
  expect_rejected(regs(fid, 0x0900'0000, kRx, 1), ffa::kInvalidParameters);  // MMIO
  expect_rejected(regs(fid, kTx, ~0ULL - k4K + 1, 1), ffa::kInvalidParameters);
  expect_rejected(regs(fid, kTx, kRamBase + fake::kRamSize, 1), ffa::kInvalidParameters);
}

TEST_F(FfaMailboxTest, MapRejectsPagesTheHostDoesNotOwnExclusivelyWithDenied) {
  ASSERT_EQ(assign(lend(kRx, k4K)), Status::kOk);
  expect_rejected(regs(ffa::kRxtxMap64, kTx, kRx, 1), ffa::kDenied);
  ASSERT_EQ(assign(share(kTx, k4K)), Status::kOk);
  expect_rejected(regs(ffa::kRxtxMap64, kTx, kRx + k4K, 1), ffa::kDenied);
  expect_rejected(regs(ffa::kRxtxMap64, kSvmCarveout, kRx + k4K, 1), ffa::kDenied);
  expect_rejected(regs(ffa::kRxtxMap64, kHypBase, kRx + k4K, 1), ffa::kDenied);
}

TEST_F(FfaMailboxTest, SecondMapIsDeniedAndUnmapRules) {
  expect_rejected(regs(ffa::kRxtxUnmap), ffa::kInvalidParameters);  // nothing mapped
  map();
  expect_rejected(regs(ffa::kRxtxMap64, kTx + 2 * k4K, kRx + 2 * k4K, 1), ffa::kDenied);
  expect_rejected(regs(ffa::kRxtxUnmap, uint64_t(0x800a) << 16), ffa::kInvalidParameters);
  expect_rejected(regs(ffa::kRxtxUnmap, 1), ffa::kInvalidParameters);
  EXPECT_EQ(host(0, ffa::kRxtxUnmap).x[0], ffa::kSuccess32);  // id 0: the caller
}

TEST_F(FfaMailboxTest, MapNeedsTablePagesAndSaysNoMemoryWithoutThem) {
  boot(8);  // init takes 7 pages: one is left, a split of the 1 GiB block needs more
  expect_rejected(regs(ffa::kRxtxMap64, kGigBlock, kGigBlock + k2M, 1), ffa::kNoMemory);
}

TEST_F(FfaMailboxTest, InfoCountOnlyAtV10LeavesRxAlone) {
  EXPECT_EQ(host(0, ffa::kVersion, ffa::kVersion10).x[0], ffa::kVersion11);
  // A count-only call needs no mailbox, and the release Linux sends after it is spurious.
  FfaRegs r = info(ffa::kInfoCountOnly);
  EXPECT_EQ(r.x[0], ffa::kSuccess32);
  EXPECT_EQ(r.x[2], 2u);  // both endpoints of the secure VM
  EXPECT_EQ(r.x[3], 0u);
  map();
  std::memset(mem(kRx), 0xee, k4K);
  r = info(ffa::kInfoCountOnly, kUuid);
  EXPECT_EQ(r.x[2], 1u);
  EXPECT_EQ(mem(kRx)[0], 0xee);
  expect_rejected(regs(ffa::kRxRelease), ffa::kDenied);  // spurious: tolerated, no change
}

TEST_F(FfaMailboxTest, InfoAtV10WritesEightByteDescriptorsAndHoldsRxUntilRelease) {
  EXPECT_EQ(host(0, ffa::kVersion, ffa::kVersion10).x[0], ffa::kVersion11);
  map();
  std::memset(mem(kRx), 0xee, k4K);
  FfaRegs r = info();
  EXPECT_EQ(r.x[0], ffa::kSuccess32);
  EXPECT_EQ(r.x[2], 2u);
  EXPECT_EQ(r.x[3], 0u);
  // 0x800a, then the OP-TEE face 0x810a: both take direct requests on every vCPU.
  const uint8_t want[16] = {0x0a, 0x80, uint8_t(Hyp::kMaxCpus), 0, 1, 0, 0, 0,
                            0x0a, 0x81, uint8_t(Hyp::kMaxCpus), 0, 1, 0, 0, 0};
  EXPECT_EQ(std::memcmp(mem(kRx), want, 16), 0);
  for (uint64_t i = 16; i < k4K; i++)
    ASSERT_EQ(mem(kRx)[i], 0) << i;
  // The host owns RX now: another call waits for the release.
  const FfaRegs busy = regs(ffa::kPartitionInfoGet);
  expect_rejected(busy, ffa::kBusy);
  EXPECT_EQ(host(0, ffa::kRxRelease).x[0], ffa::kSuccess32);
  EXPECT_EQ(info(0, kUuid).x[2], 1u);
  EXPECT_EQ(host(0, ffa::kRxRelease).x[0], ffa::kSuccess32);
}

TEST_F(FfaMailboxTest, InfoAtV11AddsTheUuidAndTheSize) {
  EXPECT_EQ(host(0, ffa::kVersion, ffa::kVersion11).x[0], ffa::kVersion11);
  map();
  const FfaRegs r = info(0, kUuid);
  EXPECT_EQ(r.x[2], 1u);
  EXPECT_EQ(r.x[3], 24u);
  uint16_t id = 0, count = 0;
  uint32_t props = 0, uuid[4] = {};
  std::memcpy(&id, mem(kRx), 2);
  std::memcpy(&count, mem(kRx) + 2, 2);
  std::memcpy(&props, mem(kRx) + 4, 4);
  std::memcpy(uuid, mem(kRx) + 8, 16);
  EXPECT_EQ(id, HYPHEAP_FFA_ID_SVM);
  EXPECT_EQ(count, Hyp::kMaxCpus);
  EXPECT_EQ(props, ffa::kPropDirectReqRecv | ffa::kPropAarch64);
  EXPECT_EQ(std::memcmp(uuid, kUuid, 16), 0);
  // The UUID bytes are the partition's, in the order the string spells them.
  EXPECT_EQ(mem(kRx)[8], 0x2e);
  EXPECT_EQ(mem(kRx)[9], 0x7d);
  EXPECT_EQ(mem(kRx)[23], 0x55);
}

TEST_F(FfaMailboxTest, InfoByUuidNamesOneEndpointEach) {
  EXPECT_EQ(host(0, ffa::kVersion, ffa::kVersion10).x[0], ffa::kVersion11);
  map();
  // What Linux's bus asks for each driver's UUID: the OP-TEE one names 0x810a alone, so the
  // optee driver binds to that device and hypheap's to 0x800a.
  FfaRegs r = info(0, kOpteeUuid);
  EXPECT_EQ(r.x[2], 1u);
  const uint8_t optee[8] = {0x0a, 0x81, uint8_t(Hyp::kMaxCpus), 0, 1, 0, 0, 0};
  EXPECT_EQ(std::memcmp(mem(kRx), optee, 8), 0);
  for (uint64_t i = 8; i < k4K; i++)
    ASSERT_EQ(mem(kRx)[i], 0) << i;
  EXPECT_EQ(host(0, ffa::kRxRelease).x[0], ffa::kSuccess32);
  r = info(0, kUuid);
  EXPECT_EQ(r.x[2], 1u);
  uint16_t id = 0;
  std::memcpy(&id, mem(kRx), 2);
  EXPECT_EQ(id, HYPHEAP_FFA_ID_SVM);
  EXPECT_EQ(host(0, ffa::kRxRelease).x[0], ffa::kSuccess32);
  EXPECT_EQ(info(ffa::kInfoCountOnly, kOpteeUuid).x[2], 1u);
  // v1.1: the descriptor carries the UUID asked for.
  EXPECT_EQ(host(0, ffa::kVersion, ffa::kVersion11).x[0], ffa::kVersion11);
  r = info(0, kOpteeUuid);
  EXPECT_EQ(r.x[3], 24u);
  EXPECT_EQ(std::memcmp(mem(kRx) + 8, kOpteeUuid, 16), 0);
  EXPECT_EQ(mem(kRx)[8], 0x48);  // 48 61 78 e0 ...: the bytes as the string spells them
  EXPECT_EQ(mem(kRx)[23], 0x1b);
  EXPECT_EQ(host(0, ffa::kRxRelease).x[0], ffa::kSuccess32);
  r = info();
  EXPECT_EQ(r.x[2], 2u);
  EXPECT_EQ(std::memcmp(mem(kRx) + 8, kUuid, 16), 0);
  EXPECT_EQ(std::memcmp(mem(kRx) + 24 + 8, kOpteeUuid, 16), 0);
}

TEST_F(FfaMailboxTest, InfoRejectsANearMissOfTheOpteeUuid) {
  map();
  uint32_t near[4] = {kOpteeUuid[0], kOpteeUuid[1], kOpteeUuid[2], kOpteeUuid[3] ^ 1};
  expect_rejected(regs(ffa::kPartitionInfoGet, near[0], near[1], near[2], near[3]),
                  ffa::kInvalidParameters);
  expect_rejected(regs(ffa::kPartitionInfoGet, near[0], near[1], near[2], near[3], 1),
                  ffa::kInvalidParameters);
}

TEST_F(FfaMailboxTest, InfoRejectsOtherUuidsFlagsAndAMissingMailbox) {
  const uint32_t other[4] = {HYPHEAP_SVM_UUID_0, HYPHEAP_SVM_UUID_1, HYPHEAP_SVM_UUID_2, 0};
  expect_rejected(regs(ffa::kPartitionInfoGet, other[0], other[1], other[2], other[3]),
                  ffa::kInvalidParameters);
  expect_rejected(regs(ffa::kPartitionInfoGet, 0, 0, 0, 0, 2), ffa::kInvalidParameters);
  expect_rejected(regs(ffa::kPartitionInfoGet), ffa::kDenied);  // no RX buffer to fill
  map();
  expect_rejected(regs(ffa::kPartitionInfoGet, other[0], other[1], other[2], other[3], 1),
                  ffa::kInvalidParameters);
}

TEST_F(FfaMailboxTest, UnmapReleasesAFullRx) {
  map();
  (void)info();
  EXPECT_EQ(host(0, ffa::kRxtxUnmap).x[0], ffa::kSuccess32);
  map();
  EXPECT_EQ(info().x[0], ffa::kSuccess32);  // not BUSY: the old fill went with the old map
}

// What Linux 6.1's ffa_init() does, in order (docs: ../shared/reference/ffa.md, 1.2).
TEST_F(FfaMailboxTest, Linux61ProbeSequence) {
  EXPECT_EQ(host(0, ffa::kVersion, ffa::kVersion10).x[0], ffa::kVersion11);
  EXPECT_EQ(host(0, ffa::kIdGet).x[2], HYPHEAP_FFA_ID_HOST);
  EXPECT_EQ(host(0, ffa::kRxtxMap64, kTx, kRx, 1).x[0], ffa::kSuccess32);
  EXPECT_EQ(info(ffa::kInfoCountOnly).x[2], 2u);
  (void)host(0, ffa::kRxRelease);
  EXPECT_EQ(info().x[2], 2u);
  EXPECT_EQ(host(0, ffa::kRxRelease).x[0], ffa::kSuccess32);
  // Both succeed, so the driver sets mem_ops_native and uses the SMC64 ids.
  EXPECT_EQ(host(0, ffa::kFeatures, ffa::kMemLend64).x[0], ffa::kSuccess32);
  EXPECT_EQ(host(0, ffa::kFeatures, ffa::kMemShare64).x[0], ffa::kSuccess32);
  // The bus matches each driver's UUID (hypheap's, the optee driver's), then each driver
  // talks to its endpoint.
  EXPECT_EQ(info(0, kUuid).x[2], 1u);
  EXPECT_EQ(host(0, ffa::kRxRelease).x[0], ffa::kSuccess32);
  EXPECT_EQ(info(0, kOpteeUuid).x[2], 1u);
  EXPECT_EQ(host(0, ffa::kRxRelease).x[0], ffa::kSuccess32);
  EXPECT_EQ(host(0, ffa::kRxtxUnmap, uint64_t(HYPHEAP_FFA_ID_HOST) << 16).x[0], ffa::kSuccess32);
}

}  // namespace
}  // namespace hyp::testing

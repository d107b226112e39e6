// FF-A memory management (hyp/core/ffa_memory.cc): MEM_SHARE/LEND in one fragment and in
// several, FRAG_TX, RECLAIM, the partition's retrieve/relinquish, and where FF-A meets
// MEM_ASSIGN. Descriptors are built byte by byte as Linux 6.1's ffa_setup_and_transmit()
// writes them (../shared/reference/ffa.md 1.6), garbage in the fields 6.1.0 leaves unwritten.
#include <atomic>
#include <cstring>
#include <thread>

#include "ffa_fixture.h"

namespace hyp::testing {
namespace {

constexpr uint64_t kTx = kDescPa + 8 * k4K, kRx = kDescPa + 9 * k4K;
constexpr uint64_t kPages = kData + 64 * k4K;  // what the tests share and lend
constexpr uint16_t kHost = HYPHEAP_FFA_ID_HOST, kPart = HYPHEAP_FFA_ID_SVM;
constexpr uint8_t kRo = 1, kRwAccess = 2;

struct Constituent {
  uint64_t addr;
  uint32_t pages;
};

// A MEM_SHARE/LEND descriptor, one receiver. Fields Linux 6.1.0 does not write default to
// a recognisable garbage pattern, as its non-zeroed TX page would hold.
struct FfaDesc {
  bool v11 = false;
  uint16_t sender = kHost;
  uint16_t attrs = ffa::kMemAttrNormalWbInner;
  uint32_t flags = 0;
  uint64_t tag = 0;
  uint32_t ep_count = 1;
  uint16_t receiver = kPart;
  uint8_t access = kRwAccess;
  uint32_t composite = 0;    // 0: right after the access descriptor
  int64_t total_pages = -1;  // -1: the sum of the constituents
  int64_t range_count = -1;  // -1: the number of constituents
  std::vector<Constituent> cons;
  // The unwritten fields (v1.0): reserved_0, handle, reserved_1, EMAD flag and reserved,
  // composite reserved, constituent reserved.
  uint8_t garbage = 0xa5;
  // v1.1 only: the 12 reserved header bytes and the handle.
  uint8_t v11_reserved = 0;

  FfaDesc& con(uint64_t addr, uint32_t pages = 1) {
    cons.push_back({addr, pages});
    return *this;
  }

  std::vector<uint8_t> bytes() const {
    const uint32_t hdr = v11 ? ffa::kMemHeaderSize11 : ffa::kMemHeaderSize10;
    const uint32_t comp = composite != 0 ? composite : hdr + ffa::kMemAccessSize;
    const size_t len = std::max<size_t>(comp + 16, hdr + 16) + cons.size() * 16;
    std::vector<uint8_t> b(len, garbage);
    auto put = [&](size_t off, auto v) { std::memcpy(b.data() + off, &v, sizeof(v)); };
    put(0, sender);
    if (v11) {
      put(2, attrs);
      put(8, uint64_t(v11_reserved));
      put(24, uint32_t(ffa::kMemAccessSize));
      put(32, uint32_t(hdr));
      std::memset(b.data() + 36, v11_reserved, 12);
    } else {
      put(2, uint8_t(attrs));
    }
    put(4, flags);
    put(16, tag);
    put(28, ep_count);
    put(hdr, receiver);
    put(hdr + 2, access);
    put(hdr + 4, comp);
    uint64_t sum = 0;
    for (const Constituent& c : cons)
      sum += c.pages;
    put(comp, uint32_t(total_pages < 0 ? sum : uint64_t(total_pages)));
    put(comp + 4, uint32_t(range_count < 0 ? cons.size() : uint64_t(range_count)));
    for (size_t i = 0; i < cons.size(); i++) {
      put(comp + 16 + i * 16, cons[i].addr);
      put(comp + 16 + i * 16 + 8, cons[i].pages);
    }
    return b;
  }
};

uint64_t success_handle(const FfaRegs& r) {
  return r.x[2] | r.x[3] << 32;
}
uint64_t frag_handle(const FfaRegs& r) {
  return r.x[1] | r.x[2] << 32;
}

class FfaMemoryTest : public FfaFixture {
 protected:
  void SetUp() override {
    FfaFixture::SetUp();
    map_mailbox();
  }
  void map_mailbox() { ASSERT_EQ(host(0, ffa::kRxtxMap64, kTx, kRx, 1).x[0], ffa::kSuccess32); }

  // Writes `n` bytes of `d` from `off` into TX.
  void to_tx(const std::vector<uint8_t>& d, size_t off, size_t n) {
    std::memset(mem(kTx), 0x5a, k4K);
    std::memcpy(mem(kTx), d.data() + off, n);
  }
  // The first fragment (all of it if it fits a page), as MEM_SHARE/LEND `fid`.
  FfaRegs send(uint32_t fid, const std::vector<uint8_t>& d, uint64_t x1 = ~0ULL,
               uint64_t x2 = ~0ULL, uint64_t x3 = 0, uint64_t x4 = 0, unsigned cpu = 0) {
    const size_t frag = std::min<size_t>(d.size(), k4K);
    to_tx(d, 0, std::min<size_t>(frag, x2 == ~0ULL ? frag : std::min<uint64_t>(x2, k4K)));
    return host(cpu, fid, x1 == ~0ULL ? d.size() : x1, x2 == ~0ULL ? frag : x2, x3, x4);
  }
  FfaRegs frag_tx(uint64_t handle, const std::vector<uint8_t>& d, size_t off, size_t n,
                  uint64_t w3 = ~0ULL) {
    to_tx(d, off, std::min<size_t>(n, k4K));
    return host(0, ffa::kMemFragTx, uint32_t(handle), handle >> 32, w3 == ~0ULL ? n : w3);
  }
  // Sends all of `d`, one page-sized fragment at a time, and resumes it while it is paused
  // (as Linux 6.1's ffa_mem_first_frag()/ffa_mem_next_frag() do); returns the last answer.
  FfaRegs send_all(uint32_t fid, const std::vector<uint8_t>& d) {
    FfaRegs r = send(fid, d);
    size_t off = std::min<size_t>(d.size(), k4K);
    while (r.x[0] == ffa::kMemFragRx) {
      EXPECT_EQ(r.x[3], off);
      const size_t n = std::min<size_t>(d.size() - off, k4K);
      r = frag_tx(frag_handle(r), d, off, n);
      off += n;
    }
    return resume_all(r);
  }
  FfaRegs resume(uint64_t handle, unsigned cpu = 0) {
    return host(cpu, ffa::kMemOpResume, uint32_t(handle), handle >> 32);
  }
  FfaRegs resume_all(FfaRegs r) {
    while (r.x[0] == ffa::kMemOpPause)
      r = resume(frag_handle(r));
    return r;
  }
  // RECLAIM until it is no longer RETRY (as the ffa-lend backend does).
  FfaRegs reclaim_all(uint64_t handle) {
    FfaRegs r = ffa_reclaim(handle);
    while (r.x[0] == ffa::kError && int32_t(r.x[2]) == ffa::kRetry)
      r = ffa_reclaim(handle);
    return r;
  }
  uint64_t ok(const FfaRegs& r) {
    EXPECT_EQ(r.x[0], ffa::kSuccess32) << "code " << int32_t(uint32_t(r.x[2]));
    const uint64_t h = success_handle(r);
    EXPECT_NE(h, 0u);
    EXPECT_NE(h, ~0ULL);
    EXPECT_EQ(h >> 63, 1u);
    return h;
  }
  FfaRegs ffa_reclaim(uint64_t handle, uint32_t flags = 0) {
    return host(0, ffa::kMemReclaim, uint32_t(handle), handle >> 32, flags);
  }

  // The call is answered `code` and nothing changed: no stage-2 entry, no table page, no
  // record, no counter.
  void expect_refused(FfaRegs r, int32_t code, unsigned cpu = 0) {
    const Snapshot before = snapshot();
    const size_t live = hyp_->ffa_mem_records(FfaTxnState::kLive);
    const size_t assembling = hyp_->ffa_mem_records(FfaTxnState::kAssembling);
    uint64_t lent = 0, shared = 0;
    ASSERT_EQ(hyp_->stat(HYPHEAP_STAT_PAGES_LENT, &lent), Status::kOk);
    ASSERT_EQ(hyp_->stat(HYPHEAP_STAT_PAGES_SHARED, &shared), Status::kOk);
    EXPECT_EQ(hyp_->ffa_host_call(cpu, r).next, FfaNext::kReturn);
    expect_error(r, code);
    EXPECT_TRUE(snapshot() == before) << "a refused call changed a stage-2";
    EXPECT_EQ(hyp_->ffa_mem_records(FfaTxnState::kLive), live);
    EXPECT_EQ(hyp_->ffa_mem_records(FfaTxnState::kAssembling), assembling);
    uint64_t v = 0;
    ASSERT_EQ(hyp_->stat(HYPHEAP_STAT_PAGES_LENT, &v), Status::kOk);
    EXPECT_EQ(v, lent);
    ASSERT_EQ(hyp_->stat(HYPHEAP_STAT_PAGES_SHARED, &v), Status::kOk);
    EXPECT_EQ(v, shared);
    expect_invariants();
  }
  // The same for a descriptor sent in one fragment as `fid`.
  void expect_desc_refused(uint32_t fid, const FfaDesc& d, int32_t code) {
    const std::vector<uint8_t> b = d.bytes();
    to_tx(b, 0, std::min<size_t>(b.size(), k4K));
    expect_refused(regs(fid, b.size(), std::min<size_t>(b.size(), k4K)), code);
  }

  static FfaDesc one(uint64_t pa = kPages, uint32_t pages = 1) { return FfaDesc().con(pa, pages); }
};

// --- the calls, as Linux 6.1 makes them ----------------------------------------------------

// OP-TEE's argument page: memory_share with use_txbuf, attrs 0x2F, RW, flags 0, tag 0, one
// constituent; 6.1.0 leaves every reserved field (and the handle) as garbage.
TEST_F(FfaMemoryTest, ShareAsLinux61SendsItMapsThePageSharedAndReclaimKeepsIt) {
  std::memset(mem(kPages), 0x77, k4K);
  const std::vector<uint8_t> d = one().bytes();
  ASSERT_EQ(d.size(), 80u);  // 32 + 16 + 16 + 16: composite at 48, constituents at 64
  const FfaRegs r = send(ffa::kMemShare64, d);
  const uint64_t h = ok(r);
  for (unsigned i = 4; i < 18; i++)
    EXPECT_EQ(r.x[i], 0u) << i;
  EXPECT_EQ(r.x[2] >> 32, 0u);
  const Leaf hl = host_leaf(kPages), sl = svm_leaf(kPages);
  EXPECT_EQ(hl.state(), PageState::kSharedOwned);
  EXPECT_EQ(hl.perms(), kPermsRwx);
  EXPECT_EQ(sl.state(), PageState::kSharedBorrowed);
  EXPECT_EQ(sl.perms(), Perms(kRw));
  EXPECT_TRUE(sl.ffa());
  const QueryResult q = query(kPages, 1);
  EXPECT_EQ(q.owners, kVmidHost.bit() | kSvm0.bit());
  EXPECT_EQ(q.state, uint64_t(HYPHEAP_STATE_SHARED | HYPHEAP_STATE_F_FFA));
  const FfaMemInfo info = hyp_->ffa_mem_info(h);
  EXPECT_EQ(info.state, FfaTxnState::kLive);
  EXPECT_FALSE(info.lend);
  EXPECT_EQ(info.pages, 1u);

  EXPECT_EQ(ffa_reclaim(h).x[0], ffa::kSuccess32);
  EXPECT_EQ(host_leaf(kPages).state(), PageState::kOwned);
  EXPECT_EQ(svm_leaf(kPages).raw, 0u);
  EXPECT_EQ(mem(kPages)[100], 0x77);  // a share is not scrubbed
  EXPECT_EQ(hyp_->ffa_mem_info(h).state, FfaTxnState::kFree);
}

// The TEE protmem path: one contiguous block, tag = use case; 6.1.0 sends attrs 0x2F,
// later 6.1.y 0.
TEST_F(FfaMemoryTest, LendUnmapsFromTheHostAndReclaimScrubs) {
  for (const uint16_t attrs : {uint16_t(ffa::kMemAttrNormalWbInner), uint16_t(0)}) {
    std::memset(mem(kPages), 0x42, 16 * k4K);
    FfaDesc d = one(kPages, 16);
    d.attrs = attrs;
    d.tag = 1;  // TEE_DMA_HEAP_SECURE_VIDEO_PLAY
    uint64_t scrubbed = 0, lent = 0;
    ASSERT_EQ(hyp_->stat(HYPHEAP_STAT_PAGES_SCRUBBED, &scrubbed), Status::kOk);
    const uint64_t h = ok(send(ffa::kMemLend64, d.bytes()));
    const Leaf hl = host_leaf(kPages + 15 * k4K);
    EXPECT_FALSE(hl.valid());
    EXPECT_EQ(hl.owner(), kSvm0);
    EXPECT_EQ(svm_leaf(kPages).state(), PageState::kOwned);
    EXPECT_TRUE(svm_leaf(kPages).ffa());
    EXPECT_EQ(query(kPages, 16).pages, 16u);
    EXPECT_EQ(query(kPages, 1).state, uint64_t(HYPHEAP_STATE_EXCLUSIVE | HYPHEAP_STATE_F_FFA));
    ASSERT_EQ(hyp_->stat(HYPHEAP_STAT_PAGES_LENT, &lent), Status::kOk);
    EXPECT_EQ(lent, 16u);
    EXPECT_EQ(hyp_->ffa_mem_info(h).tag, 1u);
    EXPECT_GE(fake::counters().clean_inval_bytes, 16 * k4K);
    // The partition writes its secret; reclaim must not hand it to the host.
    std::memset(mem(kPages), 0x99, 16 * k4K);
    EXPECT_EQ(ffa_reclaim(h).x[0], ffa::kSuccess32);
    EXPECT_EQ(host_leaf(kPages).state(), PageState::kOwned);
    for (uint64_t i = 0; i < 16 * k4K; i += 512)
      ASSERT_EQ(mem(kPages)[i], 0) << i;
    uint64_t after = 0;
    ASSERT_EQ(hyp_->stat(HYPHEAP_STAT_PAGES_SCRUBBED, &after), Status::kOk);
    EXPECT_EQ(after - scrubbed, 16u);
    EXPECT_EQ(ffa_reclaim(h).x[0], ffa::kError);  // twice
  }
}

TEST_F(FfaMemoryTest, ThirtyTwoBitIdsReadOnlyTheWRegisters) {
  const std::vector<uint8_t> d = one().bytes();
  to_tx(d, 0, d.size());
  // Upper halves of x1..x4 are not part of the SMC32 call.
  FfaRegs r = host(0, ffa::kMemShare32, (7ULL << 32) | d.size(), (9ULL << 32) | d.size(),
                   1ULL << 40, 1ULL << 33);
  const uint64_t h = ok(r);
  EXPECT_EQ(ffa_reclaim(h).x[0], ffa::kSuccess32);
  to_tx(d, 0, d.size());
  ok(host(0, ffa::kMemLend32, d.size(), d.size()));
  // SMC64: x3 is the whole buffer address.
  to_tx(one(kPages + k4K).bytes(), 0, d.size());
  expect_refused(regs(ffa::kMemLend64, d.size(), d.size(), 1ULL << 40), ffa::kInvalidParameters);
}

TEST_F(FfaMemoryTest, ReadOnlyShareMapsReadOnly) {
  FfaDesc d = one();
  d.access = kRo;
  const uint64_t h = ok(send(ffa::kMemShare64, d.bytes()));
  EXPECT_EQ(svm_leaf(kPages).perms(), Perms(HYPHEAP_PERM_R));
  EXPECT_EQ(hyp_->ffa_mem_info(h).perms, Perms(HYPHEAP_PERM_R));
}

TEST_F(FfaMemoryTest, ClearFlagZeroesALendBeforeThePartitionMapsIt) {
  std::memset(mem(kPages), 0x33, 2 * k4K);
  FfaDesc d = one(kPages, 2);
  d.flags = ffa::kMemFlagClear;
  ok(send(ffa::kMemLend64, d.bytes()));
  EXPECT_EQ(mem(kPages)[0], 0);
  EXPECT_EQ(mem(kPages)[2 * k4K - 1], 0);
}

TEST_F(FfaMemoryTest, V11CallerUsesTheV11Layout) {
  EXPECT_EQ(host(0, ffa::kVersion, ffa::kVersion11).x[0], ffa::kVersion11);
  FfaDesc d = one();
  d.v11 = true;
  d.garbage = 0;  // a v1.1 sender zeroes its descriptor
  const std::vector<uint8_t> b = d.bytes();
  ASSERT_EQ(b.size(), 96u);
  const uint64_t h = ok(send(ffa::kMemShare64, b));
  EXPECT_EQ(ffa_reclaim(h).x[0], ffa::kSuccess32);
  FfaDesc bad = d;
  bad.v11_reserved = 1;
  expect_desc_refused(ffa::kMemShare64, bad, ffa::kInvalidParameters);
  // The v1.0 layout from a v1.1 caller does not parse (access descriptor offset 0).
  expect_desc_refused(ffa::kMemShare64, one(), ffa::kInvalidParameters);
}

// --- every refusal of a send, each with its code and nothing changed -----------------------

TEST_F(FfaMemoryTest, RegisterRefusals) {
  const std::vector<uint8_t> d = one().bytes();
  to_tx(d, 0, d.size());
  const uint64_t n = d.size();
  for (const uint32_t fid : {ffa::kMemShare64, ffa::kMemLend32}) {
    expect_refused(regs(fid, n, n, k4K), ffa::kInvalidParameters);          // a buffer not TX
    expect_refused(regs(fid, n, n, 0, 1), ffa::kInvalidParameters);         // its page count
    expect_refused(regs(fid, n, n + 16), ffa::kInvalidParameters);          // fragment > total
    expect_refused(regs(fid, n, 0), ffa::kInvalidParameters);               // empty fragment
    expect_refused(regs(fid, n + 8, n + 8), ffa::kInvalidParameters);       // not 16-byte multiples
    expect_refused(regs(fid, 2 * k4K, k4K + 16), ffa::kInvalidParameters);  // fragment > TX
    expect_refused(regs(fid, kFfaMemMaxDescBytes + 16, k4K), ffa::kNoMemory);
    expect_refused(regs(fid, 16, 16), ffa::kInvalidParameters);  // shorter than a header
  }
}

TEST_F(FfaMemoryTest, NoMailboxIsDenied) {
  ASSERT_EQ(host(0, ffa::kRxtxUnmap).x[0], ffa::kSuccess32);
  expect_refused(regs(ffa::kMemShare64, 80, 80), ffa::kDenied);
}

TEST_F(FfaMemoryTest, HeaderRefusals) {
  const uint32_t share = ffa::kMemShare64, lend = ffa::kMemLend64;
  auto with = [](auto f) {
    FfaDesc d = one();
    f(d);
    return d;
  };
  expect_desc_refused(share, with([](FfaDesc& d) { d.ep_count = 0; }), ffa::kInvalidParameters);
  expect_desc_refused(share, with([](FfaDesc& d) { d.ep_count = 2; }), ffa::kInvalidParameters);
  expect_desc_refused(share, with([](FfaDesc& d) { d.sender = 0; }), ffa::kDenied);
  expect_desc_refused(share, with([](FfaDesc& d) { d.sender = kPart; }), ffa::kDenied);
  expect_desc_refused(share, with([](FfaDesc& d) { d.receiver = kHost; }), ffa::kInvalidParameters);
  expect_desc_refused(share, with([](FfaDesc& d) { d.receiver = 0x800b; }), ffa::kDenied);
  // Permissions: RO or RW, and nothing about execution.
  expect_desc_refused(share, with([](FfaDesc& d) { d.access = 0; }), ffa::kDenied);
  expect_desc_refused(share, with([](FfaDesc& d) { d.access = 3; }), ffa::kInvalidParameters);
  expect_desc_refused(share, with([](FfaDesc& d) { d.access = 2 | 1 << 2; }), ffa::kDenied);
  expect_desc_refused(lend, with([](FfaDesc& d) { d.access = 2 | 2 << 2; }), ffa::kDenied);
  expect_desc_refused(lend, with([](FfaDesc& d) { d.access = 2 | 3 << 2; }),
                      ffa::kInvalidParameters);
  expect_desc_refused(lend, with([](FfaDesc& d) { d.access = 0x12; }), ffa::kInvalidParameters);
  // Attributes: a share is normal WB inner-shareable; a lend that or "not specified".
  expect_desc_refused(share, with([](FfaDesc& d) { d.attrs = 0; }), ffa::kDenied);
  expect_desc_refused(share, with([](FfaDesc& d) { d.attrs = 0x2e; }), ffa::kDenied);
  expect_desc_refused(lend, with([](FfaDesc& d) { d.attrs = 0x10; }), ffa::kDenied);
  expect_desc_refused(lend, with([](FfaDesc& d) { d.attrs = 0x6f; }), ffa::kInvalidParameters);
  expect_desc_refused(lend, with([](FfaDesc& d) { d.attrs = 0xaf; }), ffa::kInvalidParameters);
  // Flags: CLEAR for a lend only; time slicing and the retrieve fields never.
  expect_desc_refused(share, with([](FfaDesc& d) { d.flags = 1; }), ffa::kInvalidParameters);
  expect_desc_refused(lend, with([](FfaDesc& d) { d.flags = 2; }), ffa::kInvalidParameters);
  expect_desc_refused(lend, with([](FfaDesc& d) { d.flags = 1 << 3; }), ffa::kInvalidParameters);
  // Composite offset: after the access descriptor, 16-byte aligned, in the first fragment.
  expect_desc_refused(share, with([](FfaDesc& d) { d.composite = 32; }), ffa::kInvalidParameters);
  expect_desc_refused(share, with([](FfaDesc& d) { d.composite = 56; }), ffa::kInvalidParameters);
  FfaDesc far = one();
  std::vector<uint8_t> b = far.bytes();
  const uint32_t beyond = 4096;
  std::memcpy(b.data() + 36, &beyond, 4);
  to_tx(b, 0, b.size());
  expect_refused(regs(share, b.size(), b.size()), ffa::kInvalidParameters);
}

TEST_F(FfaMemoryTest, ConstituentRefusals) {
  const uint32_t share = ffa::kMemShare64, lend = ffa::kMemLend64;
  FfaDesc d = one();
  d.range_count = 0;
  expect_desc_refused(share, d, ffa::kInvalidParameters);
  d = one().con(kPages + k4K);
  d.range_count = 1;  // the total length says two: a length that lies
  expect_desc_refused(share, d, ffa::kInvalidParameters);
  d = one();
  d.total_pages = 2;
  expect_desc_refused(share, d, ffa::kInvalidParameters);
  expect_desc_refused(share, one(kPages + 8), ffa::kInvalidParameters);
  expect_desc_refused(share, one(kPages, 0), ffa::kInvalidParameters);
  expect_desc_refused(lend, one(0 - 2 * k4K, 3), ffa::kInvalidParameters);  // wraps
  expect_desc_refused(lend, one(0 - 2 * k4K, 2), ffa::kInvalidParameters);  // ends at 2^64
  expect_desc_refused(lend, one(kPages, 2).con(kPages + k4K), ffa::kInvalidParameters);
  expect_desc_refused(lend, one(kPages).con(kPages), ffa::kInvalidParameters);
  // Not the host's alone: outside RAM, MMIO, a carve-out, hyp memory.
  expect_desc_refused(lend, one(0x1000), ffa::kDenied);
  expect_desc_refused(lend, one(0x0900'0000), ffa::kDenied);
  expect_desc_refused(share, one(kSvmCarveout), ffa::kDenied);
  expect_desc_refused(share, one(kHypBase + k4K), ffa::kDenied);
  expect_desc_refused(lend, one(kRamBase + fake::kRamSize - k4K, 2), ffa::kDenied);
  // The mailbox itself.
  expect_desc_refused(lend, one(kTx), ffa::kDenied);
  expect_desc_refused(share, one(kRx - k4K, 2), ffa::kDenied);
  // The last page bad, the first fine: all or nothing.
  expect_desc_refused(lend, one(kPages).con(kSvmCarveout), ffa::kDenied);
}

TEST_F(FfaMemoryTest, AbortedPartitionTakesNoMemory) {
  ASSERT_TRUE(hyp_->ffa_vcpu_booting(0));
  FfaRegs h{};
  hyp_->ffa_partition_aborted(0, 0, h);
  expect_desc_refused(ffa::kMemLend64, one(), ffa::kAborted);
}

TEST_F(FfaMemoryTest, PoolTooSmallIsNoMemoryAndChangesNothing) {
  // Scattered pages in a fresh 1 GiB block need a table per level the pool cannot give.
  boot(40);
  map_mailbox();
  FfaDesc d;
  for (int i = 0; i < 64; i++)
    d.con(kGigBlock + uint64_t(i) * k2M + k4K);
  expect_desc_refused(ffa::kMemLend64, d, ffa::kNoMemory);
}

// --- MEM_ASSIGN and FF-A never move each other's pages --------------------------------------

TEST_F(FfaMemoryTest, MemAssignRefusesFfaPagesWithItsOwnStatus) {
  const uint64_t lent = ok(send(ffa::kMemLend64, one(kPages, 2).bytes()));
  const uint64_t shared = ok(send(ffa::kMemShare64, one(kPages + 4 * k4K).bytes()));
  HypTest::expect_rejected(lend(kPages, k4K), Status::kFfa);
  HypTest::expect_rejected(share(kPages + k4K, k4K), Status::kFfa);
  HypTest::expect_rejected(lend(kPages + 4 * k4K, k4K), Status::kFfa);
  HypTest::expect_rejected(reclaim(kSvm0.bit(), kPages, 2 * k4K), Status::kFfa);
  HypTest::expect_rejected(scrub(kPages, 2 * k4K), Status::kFfa);
  HypTest::expect_rejected(reclaim(kVmidHost.bit() | kSvm0.bit(), kPages + 4 * k4K, k4K),
                           Status::kFfa);
  // Secure VM 11 never had them: a plain state mismatch, as before.
  HypTest::expect_rejected(reclaim(kSvm1.bit(), kPages, k4K), Status::kState);
  EXPECT_EQ(ffa_reclaim(lent).x[0], ffa::kSuccess32);
  EXPECT_EQ(ffa_reclaim(shared).x[0], ffa::kSuccess32);
  EXPECT_EQ(assign(lend(kPages, k4K)), Status::kOk);
}

TEST_F(FfaMemoryTest, FfaRefusesMemAssignPages) {
  ASSERT_EQ(assign(lend(kPages, k4K)), Status::kOk);
  ASSERT_EQ(assign(share(kPages + k4K, k4K)), Status::kOk);
  ASSERT_EQ(assign(share(kPages + 2 * k4K, k4K, kSvm1)), Status::kOk);
  for (const uint32_t fid : {ffa::kMemLend64, ffa::kMemShare64}) {
    expect_desc_refused(fid, one(kPages), ffa::kDenied);
    expect_desc_refused(fid, one(kPages + k4K), ffa::kDenied);
    expect_desc_refused(fid, one(kPages + 2 * k4K), ffa::kDenied);
  }
  // And FF-A's own pages a second time.
  ok(send(ffa::kMemShare64, one(kPages + 3 * k4K).bytes()));
  expect_desc_refused(ffa::kMemLend64, one(kPages + 3 * k4K), ffa::kDenied);
}

// --- fragments -------------------------------------------------------------------------------

// One page every other page, so nothing merges: `n` constituents.
FfaDesc scattered(size_t n, uint64_t base = kData + 2048 * k4K) {
  FfaDesc d;
  for (size_t i = 0; i < n; i++)
    d.con(base + 2 * i * k4K);
  return d;
}

TEST_F(FfaMemoryTest, LinuxFragments252Then256Constituents) {
  const std::vector<uint8_t> d = scattered(252 + 256).bytes();
  ASSERT_EQ(d.size(), 64 + 508 * 16u);
  FfaRegs r = send(ffa::kMemLend64, d);
  ASSERT_EQ(r.x[0], ffa::kMemFragRx);
  const uint64_t h = frag_handle(r);
  EXPECT_EQ(h >> 63, 1u);
  EXPECT_EQ(r.x[3], k4K);
  for (unsigned i = 4; i < 18; i++)
    EXPECT_EQ(r.x[i], 0u) << i;
  // Nothing moved yet.
  EXPECT_TRUE(host_leaf(kData + 2048 * k4K).valid());
  EXPECT_EQ(hyp_->ffa_mem_info(h).state, FfaTxnState::kAssembling);
  r = frag_tx(h, d, k4K, 256 * 16);
  EXPECT_EQ(ok(r), h);
  EXPECT_FALSE(host_leaf(kData + 2048 * k4K + 507 * 2 * k4K).valid());
  EXPECT_TRUE(host_leaf(kData + 2048 * k4K + 507 * 2 * k4K + k4K).valid());
  const FfaMemInfo info = hyp_->ffa_mem_info(h);
  EXPECT_EQ(info.pages, 508u);
  EXPECT_EQ(info.nr_ranges, 508u);
  EXPECT_EQ(ffa_reclaim(h).x[0], ffa::kSuccess32);
  EXPECT_EQ(hyp_->ffa_mem_records(FfaTxnState::kLive), 0u);
}

TEST_F(FfaMemoryTest, TheLargestDescriptorIsFourFragments) {
  ASSERT_EQ(kFfaMemMaxConstituents, 1020u);
  const FfaRegs r = send_all(ffa::kMemShare64, scattered(1020).bytes());
  const uint64_t h = ok(r);
  EXPECT_EQ(hyp_->ffa_mem_info(h).pages, 1020u);
  expect_desc_refused(ffa::kMemShare64, scattered(1021, kData + 4096 * k4K), ffa::kNoMemory);
  EXPECT_EQ(reclaim_all(h).x[0], ffa::kSuccess32);
}

TEST_F(FfaMemoryTest, AdjacentConstituentsAreStoredAsOneRange) {
  FfaDesc d;
  for (int i = 0; i < 300; i++)
    d.con(kPages + uint64_t(299 - i) * k4K);  // descending: the hyp sorts them
  const uint64_t h = ok(send_all(ffa::kMemLend64, d.bytes()));
  EXPECT_EQ(hyp_->ffa_mem_info(h).nr_ranges, 1u);
  EXPECT_EQ(hyp_->ffa_mem_info(h).pages, 300u);
}

TEST_F(FfaMemoryTest, BadFragmentsDropTheTransaction) {
  const std::vector<uint8_t> d = scattered(300).bytes();
  const size_t rest = d.size() - k4K;
  auto start = [&] {
    const FfaRegs r = send(ffa::kMemShare64, d);
    EXPECT_EQ(r.x[0], ffa::kMemFragRx);
    return frag_handle(r);
  };
  auto dropped = [&](uint64_t h) {
    EXPECT_EQ(hyp_->ffa_mem_info(h).state, FfaTxnState::kFree);
    EXPECT_EQ(hyp_->ffa_mem_records(FfaTxnState::kAssembling), 0u);
    expect_invariants();
  };
  // More bytes than announced.
  uint64_t h = start();
  to_tx(d, k4K, rest);
  expect_error(host(0, ffa::kMemFragTx, uint32_t(h), h >> 32, rest + 16), ffa::kInvalidParameters);
  dropped(h);
  // Continuing a dropped transaction: nothing to continue.
  expect_refused(regs(ffa::kMemFragTx, uint32_t(h), h >> 32, rest), ffa::kInvalidParameters);
  // An empty fragment, one not a multiple of 16, one larger than TX, a bad sender word.
  for (const auto& [len, w4] :
       {std::pair<uint64_t, uint64_t>{0, 0}, {24, 0}, {k4K + 16, 0}, {rest, 1}, {rest, 7u << 16}}) {
    h = start();
    expect_error(host(0, ffa::kMemFragTx, uint32_t(h), h >> 32, len, w4), ffa::kInvalidParameters);
    dropped(h);
  }
  // The total length lied (16 bytes short of the constituents): refused once complete.
  {
    const FfaRegs r = send(ffa::kMemShare64, d, d.size() - 16);
    ASSERT_EQ(r.x[0], ffa::kMemFragRx);
    h = frag_handle(r);
    const Snapshot before = snapshot();
    expect_error(frag_tx(h, d, k4K, rest - 16), ffa::kInvalidParameters);
    EXPECT_TRUE(snapshot() == before);
    dropped(h);
  }
  // A fragment whose constituents are bad: refused once complete, nothing moved.
  {
    std::vector<uint8_t> bad = d;
    const uint64_t mmio = 0x0900'0000;
    std::memcpy(bad.data() + bad.size() - 16, &mmio, 8);
    const FfaRegs r = send(ffa::kMemShare64, bad);
    h = frag_handle(r);
    const Snapshot before = snapshot();
    expect_error(frag_tx(h, bad, k4K, rest), ffa::kDenied);
    EXPECT_TRUE(snapshot() == before);
    dropped(h);
  }
  // TX unmapped between fragments.
  h = start();
  ASSERT_EQ(host(0, ffa::kRxtxUnmap).x[0], ffa::kSuccess32);
  expect_error(host(0, ffa::kMemFragTx, uint32_t(h), h >> 32, rest), ffa::kDenied);
  dropped(h);
  map_mailbox();
  // A wrong handle drops nothing: the right one still completes.
  h = start();
  expect_refused(regs(ffa::kMemFragTx, uint32_t(h) ^ 0x100, h >> 32, rest),
                 ffa::kInvalidParameters);
  expect_refused(regs(ffa::kMemFragTx, uint32_t(h), 0, rest), ffa::kInvalidParameters);
  EXPECT_EQ(ok(frag_tx(h, d, k4K, rest)), h);
  // FRAG_TX for a live transaction: out of order, and the transaction stays.
  expect_refused(regs(ffa::kMemFragTx, uint32_t(h), h >> 32, 16), ffa::kInvalidParameters);
  EXPECT_EQ(hyp_->ffa_mem_info(h).state, FfaTxnState::kLive);
}

TEST_F(FfaMemoryTest, AssemblyLimitsAndAbandon) {
  const std::vector<uint8_t> a = scattered(300).bytes();
  const std::vector<uint8_t> b = scattered(300, kData + 4096 * k4K).bytes();
  const uint64_t ha = frag_handle(send(ffa::kMemShare64, a));
  const uint64_t hb = frag_handle(send(ffa::kMemShare64, b));
  EXPECT_NE(ha, hb);
  to_tx(a, 0, k4K);
  expect_refused(regs(ffa::kMemShare64, a.size(), k4K), ffa::kNoMemory);  // third in flight
  // RECLAIM abandons one being assembled; nothing was committed.
  const Snapshot before = snapshot();
  EXPECT_EQ(ffa_reclaim(ha).x[0], ffa::kSuccess32);
  EXPECT_TRUE(snapshot() == before);
  EXPECT_EQ(ffa_reclaim(ha).x[0], ffa::kError);
  EXPECT_EQ(ok(frag_tx(hb, b, k4K, b.size() - k4K)), hb);
}

// The host rewrites TX right after the hyp copied it: the copy is what counts.
TEST_F(FfaMemoryTest, TxIsReadOnceAndTheCopyIsWhatCounts) {
  struct Ctx {
    uint8_t* tx;
  } ctx{mem(kTx)};
  fake::set_copy_hook(
      [](void* c) {
        const uint64_t other = kSvmCarveout;
        std::memcpy(static_cast<Ctx*>(c)->tx + 64, &other, 8);
      },
      &ctx);
  const uint64_t h = ok(send(ffa::kMemLend64, one().bytes()));
  fake::set_copy_hook(nullptr, nullptr);
  EXPECT_FALSE(host_leaf(kPages).valid());
  EXPECT_EQ(ffa_reclaim(h).x[0], ffa::kSuccess32);
}

// --- reclaim -----------------------------------------------------------------------------

TEST_F(FfaMemoryTest, ReclaimRefusals) {
  const uint64_t lent = ok(send(ffa::kMemLend64, one().bytes()));
  const uint64_t shared = ok(send(ffa::kMemShare64, one(kPages + k4K).bytes()));
  for (const uint64_t bad :
       {uint64_t(0), uint64_t(~0ULL), uint64_t(lent + 0x100), uint64_t(lent ^ (1ULL << 63)),
        uint64_t(lent + 1), uint64_t(lent | (1ULL << 40))})
    expect_refused(regs(ffa::kMemReclaim, uint32_t(bad), bad >> 32), ffa::kInvalidParameters);
  expect_refused(regs(ffa::kMemReclaim, uint32_t(lent), lent >> 32, 2), ffa::kInvalidParameters);
  expect_refused(regs(ffa::kMemReclaim, uint32_t(shared), shared >> 32, ffa::kMemFlagClear),
                 ffa::kInvalidParameters);
  EXPECT_EQ(ffa_reclaim(lent, ffa::kMemFlagClear).x[0], ffa::kSuccess32);
  expect_refused(regs(ffa::kMemReclaim, uint32_t(lent), lent >> 32), ffa::kInvalidParameters);
  // A fresh transaction in the same record gets a fresh handle; the old one stays dead.
  const uint64_t again = ok(send(ffa::kMemLend64, one().bytes()));
  EXPECT_NE(again, lent);
  expect_refused(regs(ffa::kMemReclaim, uint32_t(lent), lent >> 32), ffa::kInvalidParameters);
}

TEST_F(FfaMemoryTest, ReclaimIsBusyWhileThePartitionPinsOrHolds) {
  const uint64_t h = ok(send(ffa::kMemLend64, one(kPages, 4).bytes()));
  ASSERT_EQ(hyp_->pin(kSvm0, Ipa(kPages + 2 * k4K), 1), Status::kOk);
  EXPECT_TRUE(svm_leaf(kPages + 2 * k4K).ffa());  // the pin keeps the FF-A mark
  expect_refused(regs(ffa::kMemReclaim, uint32_t(h), h >> 32), ffa::kBusy);
  ASSERT_EQ(hyp_->unpin(kSvm0, Ipa(kPages + 2 * k4K), 1), Status::kOk);
  ASSERT_EQ(hyp_->hold(kSvm0, Ipa(kPages), 4, HYPHEAP_SVM_NEED_R | HYPHEAP_SVM_NEED_EXCLUSIVE),
            Status::kOk);
  expect_refused(regs(ffa::kMemReclaim, uint32_t(h), h >> 32), ffa::kBusy);
  ASSERT_EQ(hyp_->release(kSvm0, Ipa(kPages), 4), Status::kOk);
  EXPECT_EQ(ffa_reclaim(h).x[0], ffa::kSuccess32);
}

TEST_F(FfaMemoryTest, ReclaimIsDeniedUntilThePartitionRelinquishes) {
  const uint64_t h = ok(send(ffa::kMemLend64, one().bytes()));
  auto svm = [&](uint32_t fid, uint64_t handle, VmId caller = kSvm0) {
    return Status(int64_t(hyp_->handle_partition_smccc(caller, 0, {{fid, handle, 0, 0}}).x[0]));
  };
  EXPECT_EQ(svm(HYPHEAP_FN_SVM_FFA_RETRIEVE, h, kSvm1), Status::kNotMapped);
  EXPECT_EQ(svm(HYPHEAP_FN_SVM_FFA_RETRIEVE, h + 0x100), Status::kNotMapped);
  EXPECT_EQ(svm(HYPHEAP_FN_SVM_FFA_RELINQUISH, h), Status::kState);
  EXPECT_EQ(svm(HYPHEAP_FN_SVM_FFA_RETRIEVE, h), Status::kOk);
  EXPECT_EQ(svm(HYPHEAP_FN_SVM_FFA_RETRIEVE, h), Status::kState);
  EXPECT_TRUE(hyp_->ffa_mem_info(h).retrieved);
  expect_refused(regs(ffa::kMemReclaim, uint32_t(h), h >> 32), ffa::kDenied);
  EXPECT_EQ(svm(HYPHEAP_FN_SVM_FFA_RELINQUISH, h), Status::kOk);
  EXPECT_EQ(ffa_reclaim(h).x[0], ffa::kSuccess32);
  EXPECT_EQ(svm(HYPHEAP_FN_SVM_FFA_RELINQUISH, h), Status::kNotMapped);
}

// --- the OP-TEE endpoint (HYPHEAP_FFA_ID_OPTEE): Linux's optee driver shares its argument
// pages with it, and the secure VM finds them by handle (SVM_FFA_REGION) -------------------

SmcccResult region(Hyp& hyp, uint64_t handle, uint64_t receiver, VmId caller = kSvm0) {
  return hyp.handle_partition_smccc(caller, 0, {{HYPHEAP_FN_SVM_FFA_REGION, handle, receiver, 0}});
}

TEST_F(FfaMemoryTest, ShareToTheOpteeEndpointIsTheSecureVmsAndRegionNamesIt) {
  FfaDesc d = one();
  d.receiver = HYPHEAP_FFA_ID_OPTEE;
  const uint64_t h = ok(send(ffa::kMemShare64, d.bytes()));
  EXPECT_EQ(host_leaf(kPages).state(), PageState::kSharedOwned);
  EXPECT_EQ(svm_leaf(kPages).state(), PageState::kSharedBorrowed);
  EXPECT_EQ(svm_leaf(kPages).perms(), Perms(kRw));
  SmcccResult r = region(*hyp_, h, HYPHEAP_FFA_ID_OPTEE);
  EXPECT_EQ(int64_t(r.x[0]), HYPHEAP_OK);
  EXPECT_EQ(r.x[1], kPages);
  EXPECT_EQ(r.x[2], 1u);
  // Only for the endpoint it went to, only to the secure VM, only a handle issued.
  for (const SmcccResult& bad :
       {region(*hyp_, h, HYPHEAP_FFA_ID_SVM), region(*hyp_, h, 0x800b),
        region(*hyp_, h, HYPHEAP_FFA_ID_OPTEE, kSvm1),
        region(*hyp_, h + 0x100, HYPHEAP_FFA_ID_OPTEE),
        region(*hyp_, h ^ (1ULL << 63), HYPHEAP_FFA_ID_OPTEE),
        region(*hyp_, h | (uint64_t(HYPHEAP_FFA_ID_OPTEE) << 32), HYPHEAP_FFA_ID_OPTEE)}) {
    EXPECT_EQ(int64_t(bad.x[0]), HYPHEAP_ERR_NOT_MAPPED);
    EXPECT_EQ(bad.x[1], 0u);
    EXPECT_EQ(bad.x[2], 0u);
  }
  // The face holds the page while it writes the answer: a reclaim meanwhile is BUSY.
  ASSERT_EQ(hyp_->hold(kSvm0, Ipa(kPages), 1, HYPHEAP_SVM_NEED_W | HYPHEAP_SVM_NEED_SHARED),
            Status::kOk);
  expect_refused(regs(ffa::kMemReclaim, uint32_t(h), h >> 32), ffa::kBusy);
  ASSERT_EQ(hyp_->release(kSvm0, Ipa(kPages), 1), Status::kOk);
  EXPECT_EQ(ffa_reclaim(h).x[0], ffa::kSuccess32);
  EXPECT_EQ(int64_t(region(*hyp_, h, HYPHEAP_FFA_ID_OPTEE).x[0]), HYPHEAP_ERR_NOT_MAPPED);
  EXPECT_EQ(svm_leaf(kPages).raw, 0u);
}

// The argument sits at offset 0 of the region, which is its first constituent as the sender
// listed them, not its lowest address. x2 counts the whole transaction, not the run from x1:
// here one page follows x1 and the other two lie below it.
TEST_F(FfaMemoryTest, RegionStartsAtTheFirstConstituentInTheSendersOrder) {
  FfaDesc d = FfaDesc().con(kPages + 5 * k4K).con(kPages, 2);
  d.receiver = HYPHEAP_FFA_ID_OPTEE;
  const uint64_t h = ok(send(ffa::kMemShare64, d.bytes()));
  const SmcccResult r = region(*hyp_, h, HYPHEAP_FFA_ID_OPTEE);
  EXPECT_EQ(int64_t(r.x[0]), HYPHEAP_OK);
  EXPECT_EQ(r.x[1], kPages + 5 * k4K);
  EXPECT_EQ(r.x[2], 3u);  // 1 + 2, over two constituents that do not touch
  EXPECT_EQ(ffa_reclaim(h).x[0], ffa::kSuccess32);
}

TEST_F(FfaMemoryTest, TheOpteeEndpointTakesSharesFromTheHostOnly) {
  FfaDesc d = one();
  d.receiver = HYPHEAP_FFA_ID_OPTEE;
  // No lend: the face has no use for memory the host cannot read.
  expect_desc_refused(ffa::kMemLend64, d, ffa::kDenied);
  expect_desc_refused(ffa::kMemLend32, d, ffa::kDenied);
  d.sender = HYPHEAP_FFA_ID_OPTEE;
  expect_desc_refused(ffa::kMemShare64, d, ffa::kDenied);
  d.sender = kPart;
  expect_desc_refused(ffa::kMemShare64, d, ffa::kDenied);
  d.sender = 0;
  expect_desc_refused(ffa::kMemShare64, d, ffa::kDenied);
  // A lend to the services' endpoint is no share of the OP-TEE one.
  const uint64_t h = ok(send(ffa::kMemLend64, one().bytes()));
  EXPECT_EQ(int64_t(region(*hyp_, h, HYPHEAP_FFA_ID_OPTEE).x[0]), HYPHEAP_ERR_NOT_MAPPED);
  const SmcccResult r = region(*hyp_, h, HYPHEAP_FFA_ID_SVM);
  EXPECT_EQ(int64_t(r.x[0]), HYPHEAP_OK);
  EXPECT_EQ(r.x[1], kPages);
  EXPECT_EQ(ffa_reclaim(h).x[0], ffa::kSuccess32);
}

TEST_F(FfaMemoryTest, AnAbortedPartitionHoldsNothing) {
  ASSERT_TRUE(hyp_->ffa_vcpu_booting(0));
  const uint64_t h = ok(send(ffa::kMemLend64, one(kPages, 2).bytes()));
  ASSERT_EQ(hyp_->ffa_mem_retrieve(kSvm0, h), Status::kOk);
  ASSERT_EQ(hyp_->pin(kSvm0, Ipa(kPages), 1), Status::kOk);
  FfaRegs r{};
  hyp_->ffa_partition_aborted(0, 0, r);
  // Still marked retrieved, but nothing of the partition can hold memory any more.
  EXPECT_TRUE(hyp_->ffa_mem_info(h).retrieved);
  EXPECT_EQ(hyp_->ffa_mem_retrieve(kSvm0, h), Status::kState);
  EXPECT_EQ(ffa_reclaim(h).x[0], ffa::kSuccess32);
  EXPECT_EQ(mem(kPages)[0], 0);
}

TEST_F(FfaMemoryTest, RecordAndRangeLimitsAreNoMemory) {
  std::vector<uint64_t> handles;
  for (size_t i = 0; i < kFfaMemMaxTransactions; i++)
    handles.push_back(ok(send(ffa::kMemShare64, one(kData + i * 2 * k4K).bytes())));
  expect_desc_refused(ffa::kMemShare64, one(kData + 1024 * k4K), ffa::kNoMemory);
  for (const uint64_t h : handles)
    ASSERT_EQ(ffa_reclaim(h).x[0], ffa::kSuccess32);
  // 4 * 1020 scattered pages fit the range store (4096); a fifth transaction does not.
  handles.clear();
  for (uint64_t i = 0; i < 4; i++)
    handles.push_back(
        ok(send_all(ffa::kMemShare64, scattered(1020, kGigBlock + i * 8 * k2M).bytes())));
  const std::vector<uint8_t> d = scattered(100, kGigBlock + 32 * k2M).bytes();
  to_tx(d, 0, d.size());
  expect_refused(regs(ffa::kMemShare64, d.size(), d.size()), ffa::kNoMemory);
  // Freeing the first compacts the store; the others keep their pages.
  ASSERT_EQ(reclaim_all(handles[0]).x[0], ffa::kSuccess32);
  ok(send(ffa::kMemShare64, d));
  for (size_t i = 1; i < 4; i++)
    EXPECT_EQ(hyp_->ffa_mem_info(handles[i]).pages, 1020u);
}

// CPU 0 lends and reclaims through FF-A while CPU 1 does MEM_ASSIGN on pages next to them
// and on the same ones: the host lock keeps the two engines apart, and each refuses the
// other's pages.
TEST_F(FfaMemoryTest, TwoCpusFfaAndMemAssignConcurrently) {
  const std::vector<uint8_t> d = one(kPages, 4).bytes();
  std::memcpy(mem(kTx), d.data(), d.size());
  std::atomic<int> failures{0}, ffa_wins{0}, assign_wins{0};
  std::thread a([&] {
    for (int i = 0; i < 300; i++) {
      FfaRegs r = regs(i % 2 ? ffa::kMemLend64 : ffa::kMemShare32, d.size(), d.size());
      (void)hyp_->ffa_host_call(0, r);
      if (r.x[0] != ffa::kSuccess32) {
        if (r.x[0] != ffa::kError || int32_t(r.x[2]) != ffa::kDenied)
          failures++;
        continue;
      }
      ffa_wins++;
      const uint64_t h = success_handle(r);
      r = regs(ffa::kMemReclaim, uint32_t(h), h >> 32);
      (void)hyp_->ffa_host_call(0, r);
      if (r.x[0] != ffa::kSuccess32)
        failures++;
    }
  });
  std::thread b([&] {
    const std::vector<uint8_t> mine = lend(kPages + 4 * k4K, 4 * k4K).bytes();
    const std::vector<uint8_t> mine_back = reclaim(kSvm0.bit(), kPages + 4 * k4K, 4 * k4K).bytes();
    const std::vector<uint8_t> theirs = lend(kPages + 2 * k4K, k4K).bytes();
    const std::vector<uint8_t> theirs_back = reclaim(kSvm0.bit(), kPages + 2 * k4K, k4K).bytes();
    auto run = [&](const std::vector<uint8_t>& desc, uint64_t pa) {
      std::memcpy(mem(pa), desc.data(), desc.size());
      return int64_t(hyp_->handle_smccc(1, {{HYPHEAP_FN_MEM_ASSIGN, pa, desc.size(), 0}}).x[0]);
    };
    for (int i = 0; i < 300; i++) {
      if (run(mine, kDescPa) != HYPHEAP_OK || run(mine_back, kDescPa) != HYPHEAP_OK)
        failures++;
      const int64_t s = run(theirs, kDescPa + k4K);
      if (s == HYPHEAP_OK) {
        assign_wins++;
        if (run(theirs_back, kDescPa + k4K) != HYPHEAP_OK)
          failures++;
      } else if (s != HYPHEAP_ERR_FFA) {
        failures++;
      }
    }
  });
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(ffa_wins.load(), 0);
  EXPECT_EQ(hyp_->ffa_mem_records(FfaTxnState::kLive), 0u);
  expect_invariants();
}

// --- transactions of more than one piece (operations in progress, pending.h) ---------------

constexpr uint64_t k64M = 32 * k2M;
constexpr uint64_t kPiece = kPiecePages * k4K;

// Page by page with memcmp (a byte loop over 64 MiB at every boundary is slow under ASan).
bool all_bytes(const uint8_t* p, uint64_t size, uint8_t value) {
  uint8_t page[k4K];
  std::memset(page, value, sizeof(page));
  for (uint64_t off = 0; off < size; off += k4K) {
    if (std::memcmp(p + off, page, size - off < k4K ? size - off : k4K) != 0)
      return false;
  }
  return true;
}

class FfaPiecesTest : public FfaMemoryTest {
 protected:
  // The operation in progress that moves FF-A transaction `h`, with its slot.
  const PendingOp* op_of(uint64_t h, size_t* slot = nullptr) const {
    for (size_t i = 0; i < kMaxPending; i++) {
      const PendingOp* op = hyp_->pending_op(i);
      if (op != nullptr && op->ffa_handle == h) {
        if (slot != nullptr)
          *slot = i;
        return op;
      }
    }
    return nullptr;
  }
  uint64_t stat(unsigned index) const {
    uint64_t v = 0;
    EXPECT_EQ(hyp_->stat(index, &v), Status::kOk);
    return v;
  }
  // A partition call to retrieve or relinquish `h`.
  Status svm_mark(uint32_t fid, uint64_t h) {
    return Status(int64_t(hyp_->handle_partition_smccc(kSvm0, 0, {{fid, h, 0, 0}}).x[0]));
  }
  // Everything else the host or the partition may try on the pages or the handle of the
  // operation in progress that moves `h`, at a piece boundary: each refused with its own
  // code, nothing changed. `tail` is a page the operation has not reached.
  void expect_others_refused(uint64_t h, uint64_t tail, bool sending) {
    const Snapshot before = snapshot();
    size_t slot = 0;
    const PendingOp* op = op_of(h, &slot);
    ASSERT_NE(op, nullptr);
    const uint64_t token = op->token(slot);
    // MEM_CONTINUE does not continue FF-A's operations, even with the slot's own token.
    EXPECT_EQ(int64_t(hyp_->handle_smccc(1, {{HYPHEAP_FN_MEM_CONTINUE, token, 0, 0}}).x[0]),
              int64_t(Status::kToken));
    // MEM_ASSIGN of a page not reached yet, either way.
    expect_rejected(lend(tail, k4K), Status::kPending);
    expect_rejected(reclaim(kSvm0.bit(), tail, k4K), Status::kPending);
    // The partition can neither take the transaction nor pin or hold its pages.
    EXPECT_EQ(svm_mark(HYPHEAP_FN_SVM_FFA_RETRIEVE, h), Status::kPending);
    EXPECT_EQ(svm_mark(HYPHEAP_FN_SVM_FFA_RELINQUISH, h), Status::kPending);
    EXPECT_EQ(hyp_->pin(kSvm0, Ipa(tail), 1), Status::kPending);
    // The wrong continuation of each: a RESUME of a reclaim, a RECLAIM of a send, FRAG_TX.
    if (sending)
      expect_refused(regs(ffa::kMemReclaim, uint32_t(h), h >> 32), ffa::kDenied, 1);
    else
      expect_refused(regs(ffa::kMemOpResume, uint32_t(h), h >> 32), ffa::kInvalidParameters, 1);
    expect_refused(regs(ffa::kMemFragTx, uint32_t(h), h >> 32, 16), ffa::kInvalidParameters, 1);
    // A LEND of a page of it through FF-A is RETRY (the operation owns it until its end).
    const std::vector<uint8_t> d = one(tail).bytes();
    to_tx(d, 0, d.size());
    expect_refused(regs(ffa::kMemLend64, d.size(), d.size()), ffa::kRetry, 1);
    EXPECT_TRUE(snapshot() == before);
    EXPECT_EQ(op_of(h), op);
  }
};

// The attack: one LEND of 64 MiB, which before the split cleaned 64 MiB to PoC in one call
// with the host's interrupts masked at EL2. Now every call does one piece at most and
// answers FFA_MEM_OP_PAUSE with the handle in w1/w2; Linux's driver resumes it (on either
// CPU), and between two calls each page is still the host's or already the partition's,
// all flagged as the operation's, none of them usable by anything else.
TEST_F(FfaPiecesTest, LendOfSixtyFourMegabytesPausesAfterEveryPiece) {
  std::memset(mem(kGigBlock), 0x11, k64M);
  fake::reset_counters();
  FfaRegs r = send(ffa::kMemLend64, one(kGigBlock, k64M / k4K).bytes());
  ASSERT_EQ(r.x[0], ffa::kMemOpPause);
  const uint64_t h = frag_handle(r);
  EXPECT_EQ(h >> 63, 1u);
  unsigned calls = 1;
  uint64_t done = 0;
  while (true) {
    const fake::Counters c = fake::counters();
    EXPECT_LE(c.clean_bytes + c.clean_inval_bytes, kPiece) << "call " << calls;
    EXPECT_EQ(c.scrub_bytes, 0u);
    EXPECT_LE(c.pte_writes, 8u) << "call " << calls;
    done += c.clean_inval_bytes;
    if (r.x[0] != ffa::kMemOpPause)
      break;
    EXPECT_EQ(frag_handle(r), h);
    for (unsigned i = 3; i < 18; i++)
      EXPECT_EQ(r.x[i], 0u) << i;
    EXPECT_EQ(hyp_->ffa_mem_info(h).state, FfaTxnState::kSending);
    EXPECT_EQ(stat(HYPHEAP_STAT_PENDING), 1u);
    const QueryResult head = query(kGigBlock, k64M / k4K);
    EXPECT_EQ(head.owners, kSvm0.bit());
    EXPECT_EQ(head.state,
              uint64_t(HYPHEAP_STATE_EXCLUSIVE | HYPHEAP_STATE_F_FFA | HYPHEAP_STATE_F_PENDING));
    EXPECT_EQ(head.pages * k4K, done);
    const QueryResult tail = query(kGigBlock + done, (k64M - done) / k4K);
    EXPECT_EQ(tail.owners, kVmidHost.bit());
    EXPECT_EQ(tail.state, uint64_t(HYPHEAP_STATE_EXCLUSIVE | HYPHEAP_STATE_F_PENDING));
    EXPECT_EQ(tail.pages * k4K, k64M - done);
    expect_others_refused(h, kGigBlock + done, true);
    fake::reset_counters();
    r = resume(h, calls % 2);
    calls++;
  }
  EXPECT_EQ(ok(r), h);
  EXPECT_EQ(calls, k64M / kPiece);
  EXPECT_EQ(done, k64M);
  EXPECT_EQ(stat(HYPHEAP_STAT_PENDING), 0u);
  EXPECT_EQ(stat(HYPHEAP_STAT_PAGES_LENT), k64M / k4K);
  const FfaMemInfo info = hyp_->ffa_mem_info(h);
  EXPECT_EQ(info.state, FfaTxnState::kLive);
  EXPECT_EQ(info.pages, k64M / k4K);
  const QueryResult q = query(kGigBlock, k64M / k4K);
  EXPECT_EQ(q.owners, kSvm0.bit());
  EXPECT_EQ(q.state, uint64_t(HYPHEAP_STATE_EXCLUSIVE | HYPHEAP_STATE_F_FFA));
  EXPECT_EQ(q.pages, k64M / k4K);
  // A live transaction is not paused any more.
  expect_refused(regs(ffa::kMemOpResume, uint32_t(h), h >> 32), ffa::kInvalidParameters);
}

// Its reclaim: FFA_ERROR(RETRY) after each piece, SUCCESS after the last. At every
// boundary what is done is the host's and zero, the rest still the partition's with its
// bytes, and every other call (another transaction's reclaim included) behaves.
TEST_F(FfaPiecesTest, ReclaimOfSixtyFourMegabytesRetriesUntilEveryPageIsTheHostsAndZero) {
  const uint64_t h = ok(send_all(ffa::kMemLend64, one(kGigBlock, k64M / k4K).bytes()));
  std::memset(mem(kGigBlock), 0xC3, k64M);
  const uint64_t small = ok(send(ffa::kMemLend64, one(kPages, 4).bytes()));
  const uint64_t scrubbed = stat(HYPHEAP_STAT_PAGES_SCRUBBED);
  fake::reset_counters();
  FfaRegs r = ffa_reclaim(h);
  unsigned calls = 1;
  uint64_t done = 0;
  while (true) {
    const fake::Counters c = fake::counters();
    EXPECT_LE(c.scrub_bytes, kPiece) << "call " << calls;
    EXPECT_LE(c.clean_bytes + c.clean_inval_bytes, kPiece) << "call " << calls;
    EXPECT_LE(c.pte_writes, 8u) << "call " << calls;
    done += c.scrub_bytes;
    if (r.x[0] != ffa::kError || int32_t(r.x[2]) != ffa::kRetry)
      break;
    expect_error(r, ffa::kRetry);
    EXPECT_EQ(hyp_->ffa_mem_info(h).state, FfaTxnState::kReclaiming);
    const QueryResult head = query(kGigBlock, k64M / k4K);
    EXPECT_EQ(head.owners, kVmidHost.bit());
    EXPECT_EQ(head.state, uint64_t(HYPHEAP_STATE_EXCLUSIVE | HYPHEAP_STATE_F_PENDING));
    EXPECT_EQ(head.pages * k4K, done);
    EXPECT_TRUE(all_bytes(mem(kGigBlock), done, 0));
    const QueryResult tail = query(kGigBlock + done, (k64M - done) / k4K);
    EXPECT_EQ(tail.owners, kSvm0.bit());
    EXPECT_EQ(tail.state,
              uint64_t(HYPHEAP_STATE_EXCLUSIVE | HYPHEAP_STATE_F_FFA | HYPHEAP_STATE_F_PENDING));
    EXPECT_TRUE(all_bytes(mem(kGigBlock + done), k64M - done, 0xC3));
    EXPECT_FALSE(host_leaf(kGigBlock + done).valid());
    expect_others_refused(h, kGigBlock + done, false);
    if (calls == 3) {
      // Another transaction comes and goes in between, untouched by this one.
      EXPECT_EQ(ffa_reclaim(small).x[0], ffa::kSuccess32);
      ok(send(ffa::kMemShare64, one(kPages, 4).bytes()));
    }
    fake::reset_counters();
    r = host(calls % 2, ffa::kMemReclaim, uint32_t(h), h >> 32);
    calls++;
  }
  EXPECT_EQ(r.x[0], ffa::kSuccess32);
  EXPECT_EQ(calls, k64M / kPiece);
  EXPECT_EQ(done, k64M);
  EXPECT_EQ(stat(HYPHEAP_STAT_PAGES_SCRUBBED) - scrubbed, k64M / k4K + 4);  // and `small`
  EXPECT_EQ(stat(HYPHEAP_STAT_PENDING), 0u);
  EXPECT_EQ(hyp_->ffa_mem_info(h).state, FfaTxnState::kFree);
  const QueryResult q = query(kGigBlock, k64M / k4K);
  EXPECT_EQ(q.owners, kVmidHost.bit());
  EXPECT_EQ(q.state, uint64_t(HYPHEAP_STATE_EXCLUSIVE));
  EXPECT_EQ(q.pages, k64M / k4K);
  EXPECT_TRUE(all_bytes(mem(kGigBlock), k64M, 0));
  EXPECT_EQ(host_leaf(kGigBlock).level, 1u) << "the host's 1 GiB block came back whole";
  expect_refused(regs(ffa::kMemReclaim, uint32_t(h), h >> 32), ffa::kInvalidParameters);
}

// A share and a fragmented lend of scattered pages take the same path, as does a
// lend with CLEAR (zeroed piece by piece before the partition maps it).
TEST_F(FfaPiecesTest, ShareFragmentedAndClearingSendsAreSplitToo) {
  const uint64_t shared = ok(send_all(ffa::kMemShare64, one(kGigBlock, 4 * kPiecePages).bytes()));
  EXPECT_EQ(query(kGigBlock, 1).state, uint64_t(HYPHEAP_STATE_SHARED | HYPHEAP_STATE_F_FFA));
  FfaRegs r = ffa_reclaim(shared);
  expect_error(r, ffa::kRetry);
  EXPECT_EQ(reclaim_all(shared).x[0], ffa::kSuccess32);

  FfaDesc d = scattered(1020, kGigBlock);
  FfaRegs f = send(ffa::kMemLend64, d.bytes());
  ASSERT_EQ(f.x[0], ffa::kMemFragRx);
  const uint64_t h = frag_handle(f);
  const std::vector<uint8_t> b = d.bytes();
  for (size_t off = k4K; off < b.size(); off += k4K) {
    f = frag_tx(h, b, off, std::min<size_t>(b.size() - off, k4K));
    if (f.x[0] != ffa::kMemFragRx)
      break;
  }
  ASSERT_EQ(f.x[0], ffa::kMemOpPause);  // the last FRAG_TX is answered PAUSE, as the first
  EXPECT_EQ(frag_handle(f), h);
  EXPECT_EQ(ok(resume_all(f)), h);
  EXPECT_EQ(reclaim_all(h).x[0], ffa::kSuccess32);

  std::memset(mem(kGigBlock), 0x33, k64M);
  FfaDesc c = one(kGigBlock, k64M / k4K);
  c.flags = ffa::kMemFlagClear;
  r = send(ffa::kMemLend64, c.bytes());
  ASSERT_EQ(r.x[0], ffa::kMemOpPause);
  EXPECT_TRUE(all_bytes(mem(kGigBlock), kPiece, 0));
  EXPECT_TRUE(all_bytes(mem(kGigBlock + kPiece), k64M - kPiece, 0x33));
  const uint64_t cleared = ok(resume_all(r));
  EXPECT_TRUE(all_bytes(mem(kGigBlock), k64M, 0));
  EXPECT_EQ(reclaim_all(cleared).x[0], ffa::kSuccess32);
}

// Bad continuations, each answered with its own code, changing nothing: a RESUME of a handle
// never issued, of another record, of a stale generation, of a live transaction; a RESUME
// from the partition (not one of its calls); and nothing is left half done.
TEST_F(FfaPiecesTest, BadResumesAreRefusedAndChangeNothing) {
  const uint64_t live = ok(send(ffa::kMemLend64, one(kPages).bytes()));
  const FfaRegs r = send(ffa::kMemShare64, one(kGigBlock, k64M / k4K).bytes());
  ASSERT_EQ(r.x[0], ffa::kMemOpPause);
  const uint64_t h = frag_handle(r);
  for (const uint64_t bad : {uint64_t(0), uint64_t(~0ULL), uint64_t(h + 1), uint64_t(h + 0x100),
                             uint64_t(h ^ (1ULL << 63)), uint64_t(h | (1ULL << 40)), live})
    expect_refused(regs(ffa::kMemOpResume, uint32_t(bad), bad >> 32), ffa::kInvalidParameters);
  // From the partition (booting, then running a request): not a call it may make.
  ASSERT_TRUE(hyp_->ffa_vcpu_booting(0));
  const Snapshot before = snapshot();
  FfaRegs p = regs(ffa::kMemOpResume, uint32_t(h), h >> 32);
  EXPECT_EQ(hyp_->ffa_partition_call(0, 0, p).next, FfaNext::kReturn);
  expect_error(p, ffa::kNotSupported);
  p = regs(ffa::kMsgWait);
  ASSERT_EQ(hyp_->ffa_partition_call(0, 0, p).next, FfaNext::kReturnToHost);
  FfaRegs req = regs(ffa::kDirectReq32, ffa::pack_ids(kHost, kPart));
  ASSERT_EQ(hyp_->ffa_host_call(0, req).next, FfaNext::kEnterPartition);
  p = regs(ffa::kMemOpResume, uint32_t(h), h >> 32);
  EXPECT_EQ(hyp_->ffa_partition_call(0, 0, p).next, FfaNext::kReturn);
  expect_error(p, ffa::kNotSupported);
  p = regs(ffa::kMemReclaim, uint32_t(h), h >> 32);
  EXPECT_EQ(hyp_->ffa_partition_call(0, 0, p).next, FfaNext::kReturn);
  expect_error(p, ffa::kNotSupported);
  EXPECT_TRUE(snapshot() == before);
  EXPECT_EQ(hyp_->ffa_mem_info(h).state, FfaTxnState::kSending);
  expect_invariants();
  EXPECT_EQ(ok(resume_all(resume(h, 1))), h);
  EXPECT_EQ(reclaim_all(h).x[0], ffa::kSuccess32);
  EXPECT_EQ(ffa_reclaim(live).x[0], ffa::kSuccess32);
}

// With every slot for an operation in progress taken (MEM_ASSIGN's here), a send or reclaim
// that needs more than one piece is NO_MEMORY and changes nothing; one piece still works.
TEST_F(FfaPiecesTest, NoFreeSlotIsNoMemoryAndChangesNothing) {
  const uint64_t big = ok(send_all(ffa::kMemLend64, one(kGigBlock + k64M, 1024).bytes()));
  std::vector<uint64_t> tokens;
  for (size_t i = 0; i < kMaxPending; i++) {
    const SmcccResult s = call(lend(kGigBlock + i * 4 * k2M, 4 * k2M).bytes());
    ASSERT_EQ(int64_t(s.x[0]), HYPHEAP_PREEMPTED);
    tokens.push_back(s.x[1]);
  }
  expect_desc_refused(ffa::kMemLend64, one(kGigBlock + 2 * k64M, 1024), ffa::kNoMemory);
  expect_refused(regs(ffa::kMemReclaim, uint32_t(big), big >> 32), ffa::kNoMemory);
  const uint64_t small = ok(send(ffa::kMemLend64, one(kPages, kPiecePages).bytes()));
  EXPECT_EQ(ffa_reclaim(small).x[0], ffa::kSuccess32);
  for (const uint64_t t : tokens) {
    SmcccResult s = continue_call(t);
    while (int64_t(s.x[0]) == HYPHEAP_PREEMPTED)
      s = continue_call(t);
    EXPECT_EQ(int64_t(s.x[0]), HYPHEAP_OK);
  }
  EXPECT_EQ(reclaim_all(big).x[0], ffa::kSuccess32);
}

// Two CPUs drive the same operation with real threads (both resume one paused send, then
// both reclaim the transaction), a third runs the whole invariant checker all along: the
// host lock orders their pieces, exactly one of them sees the end, the other is told the
// handle is not (or no longer) in progress, and no moment shows a half state.
TEST_F(FfaPiecesTest, TwoCpusOnTheSameHandleCannotInterleaveIntoAHalfState) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> checks{0};
  std::thread checker([&] {
    while (!stop.load()) {
      uint64_t where = 0;
      const char* err = hyp_->check_invariants(&where);
      ASSERT_EQ(err, nullptr) << err << " at 0x" << std::hex << where;
      checks++;
    }
  });
  // RESUME while it answers PAUSE, RECLAIM while it answers RETRY.
  auto drive = [&](unsigned cpu, uint32_t fid, uint64_t h) {
    while (true) {
      FfaRegs r = regs(fid, uint32_t(h), h >> 32);
      (void)hyp_->ffa_host_call(cpu, r);
      const bool more = fid == ffa::kMemOpResume
                            ? r.x[0] == ffa::kMemOpPause
                            : r.x[0] == ffa::kError && int32_t(r.x[2]) == ffa::kRetry;
      if (!more)
        return r;
      std::this_thread::yield();
    }
  };
  for (int round = 0; round < 3; round++) {
    const FfaRegs first = send(ffa::kMemLend64, one(kGigBlock, 8 * kPiecePages).bytes());
    ASSERT_EQ(first.x[0], ffa::kMemOpPause);
    const uint64_t h = frag_handle(first);
    FfaRegs got[2];
    std::thread a([&] { got[0] = drive(0, ffa::kMemOpResume, h); });
    std::thread b([&] { got[1] = drive(1, ffa::kMemOpResume, h); });
    a.join();
    b.join();
    const int winner = got[0].x[0] == ffa::kSuccess32 ? 0 : 1;
    ASSERT_EQ(got[winner].x[0], ffa::kSuccess32) << round;
    expect_error(got[1 - winner], ffa::kInvalidParameters);
    std::memset(mem(kGigBlock), 0xC3, 8 * kPiece);
    std::thread c([&] { got[0] = drive(0, ffa::kMemReclaim, h); });
    std::thread d([&] { got[1] = drive(1, ffa::kMemReclaim, h); });
    c.join();
    d.join();
    const int reclaimer = got[0].x[0] == ffa::kSuccess32 ? 0 : 1;
    ASSERT_EQ(got[reclaimer].x[0], ffa::kSuccess32) << round;
    expect_error(got[1 - reclaimer], ffa::kInvalidParameters);
    EXPECT_TRUE(all_bytes(mem(kGigBlock), 8 * kPiece, 0));
    EXPECT_EQ(query(kGigBlock, 8 * kPiecePages).owners, kVmidHost.bit());
  }
  stop = true;
  checker.join();
  EXPECT_GT(checks.load(), 0u);
  EXPECT_EQ(stat(HYPHEAP_STAT_PENDING), 0u);
  expect_invariants();
}

// --- what the partition may take, and REGION's edges ---------------------------------------

Status svm_mark(Hyp& hyp, uint32_t fid, uint64_t handle) {
  return Status(int64_t(hyp.handle_partition_smccc(kSvm0, 0, {{fid, handle, 0, 0}}).x[0]));
}

// The host names a share to the OP-TEE face in a PROTMEM_ASSIGN: were it marked retrieved,
// the optee driver's reclaim would be DENIED, and Linux 6.1 frees the page anyway while VM 10
// still maps it. Only a lend to the services' endpoint is the partition's to take (PROTMEM
// lends its blocks), so a share to either endpoint is no transaction it can retrieve.
TEST_F(FfaMemoryTest, OnlyALendToTheServicesEndpointIsRetrieved) {
  FfaDesc d = one();
  d.receiver = HYPHEAP_FFA_ID_OPTEE;
  const uint64_t optee = ok(send(ffa::kMemShare64, d.bytes()));
  const uint64_t shared = ok(send(ffa::kMemShare64, one(kPages + k4K).bytes()));
  const Snapshot before = snapshot();
  for (const uint64_t h : {optee, shared}) {
    EXPECT_EQ(svm_mark(*hyp_, HYPHEAP_FN_SVM_FFA_RELINQUISH, h), Status::kNotMapped);
    EXPECT_EQ(svm_mark(*hyp_, HYPHEAP_FN_SVM_FFA_RETRIEVE, h), Status::kNotMapped);
    EXPECT_FALSE(hyp_->ffa_mem_info(h).retrieved);
  }
  EXPECT_TRUE(snapshot() == before);
  expect_invariants();
  EXPECT_EQ(ffa_reclaim(optee).x[0], ffa::kSuccess32);
  EXPECT_EQ(ffa_reclaim(shared).x[0], ffa::kSuccess32);
  EXPECT_EQ(svm_leaf(kPages).raw, 0u);
}

// A transaction still being assembled has no region yet: its constituents are unchecked
// bytes in a buffer. Once complete, a fragmented share to the face is found like any other.
TEST_F(FfaMemoryTest, AFragmentedShareToTheOpteeEndpointHasARegionOnlyOnceComplete) {
  FfaDesc d = scattered(300);
  d.receiver = HYPHEAP_FFA_ID_OPTEE;
  const std::vector<uint8_t> b = d.bytes();
  const FfaRegs r = send(ffa::kMemShare64, b);
  ASSERT_EQ(r.x[0], ffa::kMemFragRx);
  const uint64_t h = frag_handle(r);
  for (const uint64_t receiver : {HYPHEAP_FFA_ID_OPTEE, HYPHEAP_FFA_ID_SVM}) {
    const SmcccResult bad = region(*hyp_, h, receiver);
    EXPECT_EQ(int64_t(bad.x[0]), HYPHEAP_ERR_NOT_MAPPED);
    EXPECT_EQ(bad.x[1], 0u);
    EXPECT_EQ(bad.x[2], 0u);
  }
  EXPECT_EQ(svm_mark(*hyp_, HYPHEAP_FN_SVM_FFA_RETRIEVE, h), Status::kNotMapped);
  EXPECT_EQ(ok(frag_tx(h, b, k4K, b.size() - k4K)), h);
  EXPECT_EQ(svm_leaf(kData + 2048 * k4K).state(), PageState::kSharedBorrowed);
  const SmcccResult good = region(*hyp_, h, HYPHEAP_FFA_ID_OPTEE);
  EXPECT_EQ(int64_t(good.x[0]), HYPHEAP_OK);
  EXPECT_EQ(good.x[1], kData + 2048 * k4K);
  EXPECT_EQ(good.x[2], 300u);
  EXPECT_EQ(int64_t(region(*hyp_, h, HYPHEAP_FFA_ID_SVM).x[0]), HYPHEAP_ERR_NOT_MAPPED);
  EXPECT_EQ(svm_mark(*hyp_, HYPHEAP_FN_SVM_FFA_RETRIEVE, h), Status::kNotMapped);
  EXPECT_EQ(ffa_reclaim(h).x[0], ffa::kSuccess32);
  EXPECT_EQ(svm_leaf(kData + 2048 * k4K).raw, 0u);
}

// REGION marks nothing, so after an abort it still names a live share; what keeps the dead
// partition off the page is SVM_HOLD's refusal, and the host reclaims it as usual.
TEST_F(FfaMemoryTest, RegionAfterTheAbortNamesThePageButNothingCanHoldIt) {
  ASSERT_TRUE(hyp_->ffa_vcpu_booting(0));
  FfaDesc d = one();
  d.receiver = HYPHEAP_FFA_ID_OPTEE;
  const uint64_t h = ok(send(ffa::kMemShare64, d.bytes()));
  FfaRegs r{};
  hyp_->ffa_partition_aborted(0, 0, r);
  ASSERT_TRUE(hyp_->ffa_aborted());
  const SmcccResult got = region(*hyp_, h, HYPHEAP_FFA_ID_OPTEE);
  EXPECT_EQ(int64_t(got.x[0]), HYPHEAP_OK);
  EXPECT_EQ(got.x[1], kPages);
  EXPECT_EQ(hyp_->hold(kSvm0, Ipa(kPages), 1, HYPHEAP_SVM_NEED_W | HYPHEAP_SVM_NEED_SHARED),
            Status::kState);
  EXPECT_EQ(ffa_reclaim(h).x[0], ffa::kSuccess32);
  EXPECT_EQ(int64_t(region(*hyp_, h, HYPHEAP_FFA_ID_OPTEE).x[0]), HYPHEAP_ERR_NOT_MAPPED);
  expect_invariants();
}

}  // namespace
}  // namespace hyp::testing

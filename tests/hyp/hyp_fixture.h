// Shared fixture: a Hyp over fake RAM shaped like QEMU virt (RAM at 1 GiB), with a hyp
// carve-out holding the table pool, a private carve-out for secure VM 10, secure VMs 10
// and 11, and a host helper that writes descriptors into its own RAM and issues hypercalls.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "arch/fake/fake_arch.h"
#include "core/hyp.h"

namespace hyp::testing {

inline constexpr uint64_t k4K = 4096, k2M = 2ULL << 20, k1G = 1ULL << 30;
inline constexpr uint64_t kRamBase = fake::kRamBase;  // 0x4000'0000, 2 GiB
inline constexpr uint64_t kHypBase = kRamBase;        // 8 MiB hyp carve-out
inline constexpr uint64_t kSvmCarveout = kRamBase + 16 * k2M;
inline constexpr uint64_t kDescPa = kRamBase + 64 * k2M;  // host RAM used for descriptors
inline constexpr uint64_t kData = kRamBase + 128 * k2M;   // host RAM tests assign
inline constexpr uint64_t kGigBlock = kRamBase + k1G;     // starts as one 1 GiB host block
inline constexpr VmId kSvm0{HYPHEAP_VMID_SECURE_0};
inline constexpr VmId kSvm1{HYPHEAP_VMID_SECURE_1};
inline constexpr uint32_t kRw = HYPHEAP_PERM_R | HYPHEAP_PERM_W;

struct DescBuilder {
  hypheap_assign_hdr hdr{HYPHEAP_DESC_VERSION, 0, 0, 0, 0, 0};
  std::vector<hypheap_vmperm> dests;
  std::vector<hypheap_mem_range> ranges;

  DescBuilder& src(uint64_t srcvm) {
    hdr.srcvm = srcvm;
    return *this;
  }
  DescBuilder& dest(VmId vm, uint32_t perms) {
    dests.push_back({vm.value(), perms});
    return *this;
  }
  DescBuilder& flags(uint16_t f) {
    hdr.flags = f;
    return *this;
  }
  DescBuilder& range(uint64_t addr, uint64_t size) {
    ranges.push_back({addr, size});
    return *this;
  }
  std::vector<uint8_t> bytes() const {
    hypheap_assign_hdr h = hdr;
    h.nr_dests = uint16_t(dests.size());
    h.nr_ranges = uint32_t(ranges.size());
    std::vector<uint8_t> out(sizeof(h) + dests.size() * sizeof(hypheap_vmperm) +
                             ranges.size() * sizeof(hypheap_mem_range));
    std::memcpy(out.data(), &h, sizeof(h));
    if (!dests.empty())
      std::memcpy(out.data() + sizeof(h), dests.data(), dests.size() * sizeof(hypheap_vmperm));
    if (!ranges.empty())
      std::memcpy(out.data() + sizeof(h) + dests.size() * sizeof(hypheap_vmperm), ranges.data(),
                  ranges.size() * sizeof(hypheap_mem_range));
    return out;
  }
};

inline DescBuilder lend(uint64_t addr, uint64_t size, VmId to = kSvm0) {
  return DescBuilder().src(kVmidHost.bit()).dest(to, kRw).range(addr, size);
}
inline DescBuilder share(uint64_t addr, uint64_t size, VmId with = kSvm0) {
  return DescBuilder()
      .src(kVmidHost.bit())
      .dest(kVmidHost, HYPHEAP_PERM_RWX)
      .dest(with, HYPHEAP_PERM_R)
      .range(addr, size);
}
inline DescBuilder reclaim(uint64_t srcvm, uint64_t addr, uint64_t size) {
  return DescBuilder().src(srcvm).dest(kVmidHost, HYPHEAP_PERM_RWX).range(addr, size);
}

// The scrub of a lend in place: HYPHEAP_DESC_F_SCRUB, srcvm and destination the same secure
// VM, perms as lent.
inline DescBuilder scrub(uint64_t addr, uint64_t size, VmId vm = kSvm0, uint32_t perms = kRw) {
  return DescBuilder().flags(HYPHEAP_DESC_F_SCRUB).src(vm.bit()).dest(vm, perms).range(addr, size);
}

// Every one of `size` bytes at `p` is `value`.
inline bool all_bytes(const uint8_t* p, uint64_t size, uint8_t value) {
  for (uint64_t i = 0; i < size; i++) {
    if (p[i] != value)
      return false;
  }
  return true;
}

// A register-level SMCCC call on CPU 0.
inline SmcccResult smc(Hyp& h, uint64_t x0, uint64_t x1 = 0, uint64_t x2 = 0) {
  return h.handle_smccc(0, SmcccArgs{{x0, x1, x2, 0}});
}

// Every leaf of every stage-2 plus the pool usage: equal snapshots mean nothing changed.
struct Snapshot {
  std::vector<std::pair<uint64_t, uint64_t>> leaves;
  size_t pool_used = 0;
  bool operator==(const Snapshot&) const = default;
};

class HypTest : public ::testing::Test {
 protected:
  void SetUp() override { boot(1024); }
  void TearDown() override {
    fake::set_copy_hook(nullptr, nullptr);
    fake::set_pte_hook(nullptr, nullptr);
    expect_invariants();
  }

  void boot(size_t pool_pages) {
    fake::reset_memory();
    fake::reset();
    ram_ = {MemRange{PhysAddr(kRamBase), fake::kRamSize}};
    carveouts_ = {Carveout{MemRange{PhysAddr(kHypBase), 4 * k2M}, kVmidHyp},
                  Carveout{MemRange{PhysAddr(kSvmCarveout), k2M}, kSvm0}};
    mmio_ = {MemRange{PhysAddr(0x0900'0000), k4K}};
    svms_ = {kSvm1, kSvm0};  // out of order on purpose: the core sorts them
    hyp_ = std::make_unique<Hyp>();
    const PlatformDesc desc{
        ram_, carveouts_, mmio_, svms_, MemRange{PhysAddr(kHypBase), pool_pages * k4K}, 39, iommu_};
    ASSERT_EQ(hyp_->init(desc), Status::kOk);
    fake::vms_running();
    expect_invariants();
  }

  // The ownership record is coherent, and the TLBs and caches agree with it: no call may
  // return with an invalidation still owed, having made an entry before its break was
  // invalidated, or having done anything in an order the fake arch's ordering checker
  // rejects (its report shows the operations that led there).
  void expect_invariants() {
    uint64_t where = 0;
    const char* err = hyp_->check_invariants(&where);
    EXPECT_EQ(err, nullptr) << err << " at 0x" << std::hex << where;
    EXPECT_EQ(fake::pending_invalidations(), 0u);
    EXPECT_EQ(fake::counters().bbm_violations, 0u);
    EXPECT_EQ(fake::verify_tables(), 0u);
    EXPECT_EQ(fake::counters().ordering_violations, 0u) << fake::ordering_report();
  }

  // Writes the descriptor at `pa` in host RAM and issues MEM_ASSIGN on `cpu`.
  SmcccResult call(const std::vector<uint8_t>& desc, uint64_t pa = kDescPa, unsigned cpu = 0,
                   uint64_t len = ~0ULL) {
    std::memcpy(arch::phys_to_virt(PhysAddr(pa)), desc.data(), desc.size());
    const uint64_t l = len == ~0ULL ? desc.size() : len;
    SmcccResult r = hyp_->handle_smccc(cpu, SmcccArgs{{HYPHEAP_FN_MEM_ASSIGN, pa, l, 0}});
    expect_invariants();
    return r;
  }
  // MEM_CONTINUE of `token` on `cpu`, checked like every call.
  SmcccResult continue_call(uint64_t token, unsigned cpu = 0) {
    SmcccResult r = hyp_->handle_smccc(cpu, SmcccArgs{{HYPHEAP_FN_MEM_CONTINUE, token, 0, 0}});
    expect_invariants();
    return r;
  }
  // MEM_ASSIGN to the end, as the kernel's wrapper does it: MEM_CONTINUE while PREEMPTED.
  SmcccResult call_to_end(const std::vector<uint8_t>& desc, uint64_t pa = kDescPa,
                          unsigned cpu = 0) {
    SmcccResult r = call(desc, pa, cpu);
    while (int64_t(r.x[0]) == HYPHEAP_PREEMPTED)
      r = continue_call(r.x[1], cpu);
    return r;
  }
  Status assign(const DescBuilder& d, uint64_t pa = kDescPa, unsigned cpu = 0) {
    return Status(int64_t(call_to_end(d.bytes(), pa, cpu).x[0]));
  }

  // Asserts the call fails with `want` and leaves every stage-2 untouched.
  void expect_rejected(const DescBuilder& d, Status want) {
    const Snapshot before = snapshot();
    const SmcccResult r = call(d.bytes());
    EXPECT_EQ(int64_t(r.x[0]), int64_t(want));
    EXPECT_EQ(r.x[1], 0u);
    EXPECT_TRUE(snapshot() == before) << "a rejected call changed a stage-2";
  }

  Snapshot snapshot() const {
    Snapshot s;
    auto add = [&](const Vm& vm) {
      vm.s2.for_each_leaf([&](const Leaf& l) {
        if (l.raw != 0)
          s.leaves.emplace_back(l.base.value() | l.level, l.raw);
      });
      if (vm.has_dma)
        vm.dma.for_each_leaf([&](const Leaf& l) {
          if (l.raw != 0)
            s.leaves.emplace_back(l.base.value() | l.level | 0x800, l.raw);
        });
    };
    add(hyp_->host());
    add(*hyp_->secure_vm(kSvm0));
    add(*hyp_->secure_vm(kSvm1));
    s.pool_used = hyp_->pool().used_pages();
    return s;
  }

  QueryResult query(uint64_t pa, uint64_t pages) {
    QueryResult q;
    EXPECT_EQ(hyp_->mem_query(PhysAddr(pa), pages, &q), Status::kOk);
    return q;
  }
  Leaf host_leaf(uint64_t pa) const { return hyp_->host().s2.lookup(Ipa(pa)); }
  Leaf svm_leaf(uint64_t pa, VmId vm = kSvm0) const {
    return hyp_->secure_vm(vm)->s2.lookup(Ipa(pa));
  }
  uint8_t* mem(uint64_t pa) { return static_cast<uint8_t*>(arch::phys_to_virt(PhysAddr(pa))); }

  std::vector<MemRange> ram_, mmio_;
  std::vector<Carveout> carveouts_;
  std::vector<VmId> svms_;
  bool iommu_ = false;  // boot() gives every VM a DMA table (dma_test.cc)
  std::unique_ptr<Hyp> hyp_;
};

}  // namespace hyp::testing

// Cost of MEM_ASSIGN lend + reclaim per MiB, through the SMCCC entry, for the two layouts
// the heap produces: 2 MiB-aligned chunks (the best case, one block per chunk) and fully
// scattered 4 KiB pages (the worst case, no two pages adjacent). Counters:
//   ns_per_page        lend + reclaim time per 4 KiB page
//   pte_writes_per_MiB descriptors written, both stage-2s, lend + reclaim
//   tlbi_per_MiB       TLB invalidation instructions issued (by IPA, plus one VMALLE1 per
//                      batch, plus VMID-wide ones)
//   scrub_vs_memset    the scrub's share of a reclaim (reclaim of lent pages minus reclaim
//                      of shared pages, which differ only by it) over a plain memset of
//                      the same bytes, measured in the same run
// The *_SmmuCost benchmarks time the same lend + reclaim on a core without DMA tables and on
// one with them (PlatformDesc::iommu: the host's and the secure VM's DMA tables updated and
// invalidated in the same calls), alternately in the same run:
//   smmu_ratio         time with DMA tables / time without
//   smmu_syncs_per_MiB DMA-table invalidations (each one CMD_TLBI_NH_ASID + CMD_SYNC at EL2)
// The fake arch's invalidation is a counter, so the ratio is the core's table work; the
// SMMU's own command latency at EL2 comes on top.
// Built without sanitizers, over a fake arch that only counts (tests/bench/CMakeLists.txt).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "arch/fake/fake_arch.h"
#include "core/hyp.h"

namespace hyp {
namespace {

constexpr uint64_t k4K = 4096, k2M = 2ULL << 20, k1G = 1ULL << 30, k1M = 1ULL << 20;
constexpr uint64_t kRam = fake::kRamBase;
constexpr uint64_t kDescPa = kRam + 64 * k2M;
constexpr uint64_t kBlock = kRam + k1G;  // a 1 GiB host block at boot
constexpr VmId kSvm{HYPHEAP_VMID_SECURE_0};

using Clock = std::chrono::steady_clock;

class Machine {
 public:
  explicit Machine(bool iommu = false) {
    fake::reset_memory();
    fake::reset();
    const MemRange ram[] = {{PhysAddr(kRam), fake::kRamSize}};
    const Carveout carveouts[] = {{{PhysAddr(kRam), 8 * k2M}, kVmidHyp}};
    const VmId svms[] = {kSvm};
    hyp_ = std::make_unique<Hyp>();
    const PlatformDesc d{ram, carveouts, {}, svms, {PhysAddr(kRam), 2048 * k4K}, 39, iommu};
    if (hyp_->init(d) != Status::kOk)
      std::abort();
  }

  // One MEM_ASSIGN of `ranges` from `srcvm` to `dests`, timed; aborts on failure (a
  // benchmark of a failing call would measure the wrong thing).
  double assign(uint64_t srcvm, const std::vector<hypheap_vmperm>& dests,
                const std::vector<hypheap_mem_range>& ranges) {
    const hypheap_assign_hdr hdr{
        HYPHEAP_DESC_VERSION, uint16_t(dests.size()), 0, uint32_t(ranges.size()), 0, srcvm};
    auto* p = static_cast<uint8_t*>(arch::phys_to_virt(PhysAddr(kDescPa)));
    size_t len = 0;
    std::memcpy(p, &hdr, sizeof(hdr));
    len += sizeof(hdr);
    std::memcpy(p + len, dests.data(), dests.size() * sizeof(hypheap_vmperm));
    len += dests.size() * sizeof(hypheap_vmperm);
    std::memcpy(p + len, ranges.data(), ranges.size() * sizeof(hypheap_mem_range));
    len += ranges.size() * sizeof(hypheap_mem_range);
    // The whole change, as the kernel's wrapper pays it: MEM_CONTINUE while PREEMPTED (ABI 1.6,
    // one 2 MiB piece per call).
    const auto t0 = Clock::now();
    SmcccResult r = hyp_->handle_smccc(0, {{HYPHEAP_FN_MEM_ASSIGN, kDescPa, len, 0}});
    while (int64_t(r.x[0]) == HYPHEAP_PREEMPTED)
      r = hyp_->handle_smccc(0, {{HYPHEAP_FN_MEM_CONTINUE, r.x[1], 0, 0}});
    const auto t1 = Clock::now();
    if (r.x[0] != 0) {
      std::fprintf(stderr, "MEM_ASSIGN failed: %lld\n", (long long)int64_t(r.x[0]));
      std::abort();
    }
    return std::chrono::duration<double>(t1 - t0).count();
  }

 private:
  std::unique_ptr<Hyp> hyp_;
};

uint64_t tlbi_count(const fake::Counters& c) {
  return c.tlb_ipa + c.tlb_ipa_batches + c.tlb_vm;
}

void run(benchmark::State& state, const std::vector<hypheap_mem_range>& ranges) {
  Machine m;
  uint64_t bytes = 0;
  for (const auto& r : ranges)
    bytes += r.size;
  const uint64_t host = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST), svm = kSvm.bit();
  const std::vector<hypheap_vmperm> to_svm{{kSvm.value(), HYPHEAP_PERM_R | HYPHEAP_PERM_W}};
  const std::vector<hypheap_vmperm> share{{HYPHEAP_VMID_HOST, HYPHEAP_PERM_RWX},
                                          {kSvm.value(), HYPHEAP_PERM_R}};
  const std::vector<hypheap_vmperm> to_host{{HYPHEAP_VMID_HOST, HYPHEAP_PERM_RWX}};
  double t_cycle = 0, t_reclaim = 0, t_unshare = 0, t_memset = 0;
  uint64_t pte_writes = 0, tlbis = 0;
  for (auto _ : state) {
    fake::reset_counters();
    const double lend = m.assign(host, to_svm, ranges);
    const double reclaim = m.assign(svm, to_host, ranges);
    const fake::Counters c = fake::counters();
    pte_writes += c.pte_writes;
    tlbis += tlbi_count(c);
    t_cycle += lend + reclaim;
    t_reclaim += reclaim;
    state.SetIterationTime(lend + reclaim);

    (void)m.assign(host, share, ranges);
    t_unshare += m.assign(host | svm, to_host, ranges);

    const auto t0 = Clock::now();
    for (const auto& r : ranges)
      std::memset(arch::phys_to_virt(PhysAddr(r.addr)), 0, r.size);
    benchmark::ClobberMemory();
    t_memset += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  const double n = double(state.iterations()), mib = double(bytes) / k1M;
  state.counters["ns_per_page"] = t_cycle * 1e9 / n / double(bytes / k4K);
  state.counters["pte_writes_per_MiB"] = double(pte_writes) / n / mib;
  state.counters["tlbi_per_MiB"] = double(tlbis) / n / mib;
  state.counters["scrub_vs_memset"] = (t_reclaim - t_unshare) / t_memset;
  state.SetBytesProcessed(int64_t(bytes) * state.iterations());
}

// 32 MiB in 16 chunks of 2 MiB, every other 2 MiB slot of a 1 GiB host block.
void BM_LendReclaim32MiB_2MiBChunks(benchmark::State& state) {
  std::vector<hypheap_mem_range> ranges;
  for (uint64_t i = 0; i < 16; i++)
    ranges.push_back({kBlock + 2 * i * k2M, k2M});
  run(state, ranges);
}

// 4093 pages (about 16 MiB: the most a descriptor with two destinations holds, which the
// share of the scrub measurement needs), every other 4 KiB page.
void BM_LendReclaim16MiB_Scattered4KiB(benchmark::State& state) {
  std::vector<hypheap_mem_range> ranges;
  for (uint64_t i = 0; i < HYPHEAP_DESC_MAX_RANGES(2); i++)
    ranges.push_back({kBlock + 2 * i * k4K, k4K});
  run(state, ranges);
}

// Lend + reclaim of `ranges` `cycles` times on `m`; returns the time the calls took.
double cycles(Machine& m, const std::vector<hypheap_mem_range>& ranges, int n) {
  const uint64_t host = HYPHEAP_VMID_BIT(HYPHEAP_VMID_HOST), svm = kSvm.bit();
  const std::vector<hypheap_vmperm> to_svm{{kSvm.value(), HYPHEAP_PERM_R | HYPHEAP_PERM_W}};
  const std::vector<hypheap_vmperm> to_host{{HYPHEAP_VMID_HOST, HYPHEAP_PERM_RWX}};
  double t = 0;
  for (int i = 0; i < n; i++)
    t += m.assign(host, to_svm, ranges) + m.assign(svm, to_host, ranges);
  return t;
}

void run_smmu_cost(benchmark::State& state, const std::vector<hypheap_mem_range>& ranges) {
  constexpr int kCycles = 8;
  uint64_t bytes = 0;
  for (const auto& r : ranges)
    bytes += r.size;
  double t_plain = 0, t_iommu = 0;
  uint64_t syncs = 0;
  for (auto _ : state) {
    {
      Machine plain(false);
      t_plain += cycles(plain, ranges, kCycles);
    }
    Machine iommu(true);
    fake::reset_counters();
    const double t = cycles(iommu, ranges, kCycles);
    syncs += fake::counters().smmu_syncs;
    t_iommu += t;
    state.SetIterationTime(t);
  }
  const double n = double(state.iterations()) * kCycles, mib = double(bytes) / k1M;
  state.counters["smmu_ratio"] = t_iommu / t_plain;
  state.counters["smmu_syncs_per_MiB"] = double(syncs) / n / mib;
  state.counters["ns_per_page"] = t_iommu * 1e9 / n / double(bytes / k4K);
}

void BM_SmmuCost32MiB_2MiBChunks(benchmark::State& state) {
  std::vector<hypheap_mem_range> ranges;
  for (uint64_t i = 0; i < 16; i++)
    ranges.push_back({kBlock + 2 * i * k2M, k2M});
  run_smmu_cost(state, ranges);
}

void BM_SmmuCost16MiB_Scattered4KiB(benchmark::State& state) {
  std::vector<hypheap_mem_range> ranges;
  for (uint64_t i = 0; i < HYPHEAP_DESC_MAX_RANGES(2); i++)
    ranges.push_back({kBlock + 2 * i * k4K, k4K});
  run_smmu_cost(state, ranges);
}

BENCHMARK(BM_LendReclaim32MiB_2MiBChunks)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LendReclaim16MiB_Scattered4KiB)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SmmuCost32MiB_2MiBChunks)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SmmuCost16MiB_Scattered4KiB)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hyp

BENCHMARK_MAIN();

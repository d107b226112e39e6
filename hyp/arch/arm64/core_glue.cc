#include "core_glue.h"

#if HYPHEAP_EL2_WITH_CORE

#include <new>

#include "core/hyp.h"
#include "core/lock.h"
#include "core/pgtable.h"
#include "cpu.h"
#include "log.h"
#include "sysreg.h"

namespace hyp::arm64 {

// The arch hands the core CPU indices 0..HYP_MAX_CPUS-1 (the platform config) as FF-A CPU and
// vCPU numbers; the core's tables (FfaState, descriptor buffers) have HYPHEAP_MAX_CPUS slots
// and fatal()s on an index past them, so a config with more CPUs must not build.
static_assert(kMaxCpus <= Hyp::kMaxCpus,
              "HYP_MAX_CPUS (platform config) exceeds the core's HYPHEAP_MAX_CPUS");

namespace {

// The core object is large (per-CPU descriptor buffers), so it lives in the
// hyp carve-out, constructed in place at boot, not in the image's bss.
Hyp* g_core = nullptr;

constexpr unsigned kIpaBits = kHostIpaBits;

// ID_AA64MMFR0_EL1.PARange (Arm ARM D17.2.64) as a number of bits.
unsigned pa_bits() {
  static constexpr unsigned kBits[] = {32, 36, 40, 42, 44, 48, 52};
  const uint64_t parange = read_id_aa64mmfr0_el1() & 0xf;
  return parange < 7 ? kBits[parange] : 48;
}

}  // namespace

boot::BootStatus core_glue_init(const boot::Layout& layout, const boot::PlatformInfo& info,
                                std::span<const MemRange> mmio, MemRange pool, bool iommu,
                                HostStage2* out) {
  // Hyp object first, page-aligned, then the table pool.
  const uint64_t object_size = boot::align_up(sizeof(Hyp), kPageSize);
  if (object_size >= pool.size) {
    return boot::BootStatus::kNoSpace;
  }
  g_core = new (reinterpret_cast<void*>(pool.base.value())) Hyp();
  const MemRange tables =
      boot::make_range(pool.base.value() + object_size, pool.size - object_size);

  static constexpr VmId kSecureVms[] = {VmId(HYPHEAP_VMID_SECURE_0), VmId(HYPHEAP_VMID_SECURE_1)};
  // The secure-VM carve-out is split evenly between the secure VMs.
  const uint64_t share = boot::align_down(layout.secure_vm.size / 2, 2ull << 20);
  const Carveout carveouts[] = {
      {layout.hyp_image, kVmidHyp},
      {layout.hyp_carveout, kVmidHyp},
      {boot::make_range(layout.secure_vm.base.value(), share), kSecureVms[0]},
      {boot::make_range(layout.secure_vm.base.value() + share, layout.secure_vm.size - share),
       kSecureVms[1]},
      // VM 10's carve-out pool: its own from boot, mapped in its stage-2 (the carveout backend).
      {layout.secure_vm_pool, kSecureVms[0]},
  };
  const size_t nr_carveouts =
      sizeof(carveouts) / sizeof(carveouts[0]) - (boot::is_empty(layout.secure_vm_pool) ? 1 : 0);
  const PlatformDesc desc{
      .ram = {info.ram, info.ram_count},
      .carveouts = {carveouts, nr_carveouts},
      // Outside RAM only what boot.cc judged safe to give (deny by default); every other
      // IPA, up to the limit, stays unmapped.
      .mmio = mmio,
      .secure_vms = kSecureVms,
      .table_pool = tables,
      .ipa_bits = kIpaBits,
      .iommu = iommu,
  };
  if (Status s = g_core->init(desc); s != Status::kOk) {
    log("core init failed: status %ld", static_cast<int64_t>(s));
    return boot::BootStatus::kBadDtb;
  }
  out->vttbr = g_core->host().s2.vttbr();
  out->vtcr = vtcr_for(kIpaBits, pa_bits());
  log("core: host stage-2 root %lx (VTTBR %lx), %zu of %zu table pages used",
      g_core->host().s2.hw().root.value(), out->vttbr, g_core->pool().used_pages(),
      g_core->pool().total_pages());
  return boot::BootStatus::kOk;
}

bool core_glue_hypercall(GuestRegs& regs, Conduit) {
  const SmcccArgs args{{regs.x[0], regs.x[1], regs.x[2], regs.x[3]}};
  const SmcccResult r = g_core->handle_smccc(this_cpu().index, args);
  if (static_cast<int64_t>(r.x[0]) == HYPHEAP_ERR_NOT_SUPPORTED) {
    return false;
  }
  for (int i = 0; i < 4; ++i) {
    regs.x[i] = r.x[i];
  }
  return true;
}

bool core_glue_host_access_allowed(Ipa ipa, Perms need) {
  const Vm& host = g_core->host();
  // The stage-2 translates nothing at or above its input size; a lookup there would
  // alias a lower IPA.
  if (ipa.value() >= host.s2.ipa_limit()) {
    return false;
  }
  LockGuard guard(host.lock);
  const Leaf leaf = host.s2.lookup(ipa);
  return leaf.valid() && (leaf.perms().bits() & need.bits()) == need.bits();
}

uint64_t core_glue_scrub_secure_pages() {
  return g_core->scrub_secure_pages();
}

VmId core_glue_page_owner(Ipa ipa) {
  QueryResult q;
  const PhysAddr pa = pa_identity(Ipa(ipa.value() & ~(kPageSize - 1)));
  if (g_core->mem_query(pa, 1, &q) != Status::kOk || q.owners == 0) {
    return VmId(0);
  }
  // Lowest owner bit: the page's owner (or one of the sharers).
  return VmId(static_cast<uint32_t>(__builtin_ctzll(q.owners)));
}

void core_glue_for_each_lent(void (*fn)(MemRange range, void* ctx), void* ctx) {
  const Vm& host = g_core->host();
  LockGuard guard(host.lock);
  host.s2.for_each_leaf([&](const Leaf& leaf) {
    const MemRange r{pa_identity(leaf.base), leaf.size};
    if (!leaf.valid() && g_core->platform().is_secure_vm(leaf.owner()) &&
        !g_core->platform().touches_carveout(r)) {
      fn(r, ctx);
    }
  });
}

uint64_t core_glue_secure_vttbr() {
  const Vm* vm = g_core->secure_vm(VmId(HYPHEAP_VMID_SECURE_0));
  return vm ? vm->s2.vttbr() : 0;
}

DmaRoot core_glue_host_dma() {
  const Vm& host = g_core->host();
  return host.has_dma ? DmaRoot{host.dma.hw().root, host.dma.hw().vmid} : DmaRoot{};
}

DmaRoot core_glue_secure_dma() {
  const Vm* vm = g_core->secure_vm(VmId(HYPHEAP_VMID_SECURE_0));
  return vm && vm->has_dma ? DmaRoot{vm->dma.hw().root, vm->dma.hw().vmid} : DmaRoot{};
}

FfaOutcome core_glue_ffa_host_call(unsigned cpu, FfaRegs& regs) {
  return g_core->ffa_host_call(cpu, regs);
}

FfaOutcome core_glue_ffa_partition_call(unsigned cpu, unsigned vcpu, FfaRegs& regs) {
  return g_core->ffa_partition_call(cpu, vcpu, regs);
}

bool core_glue_ffa_vcpu_booting(unsigned vcpu) {
  return g_core->ffa_vcpu_booting(vcpu);
}

void core_glue_ffa_partition_preempted(unsigned cpu, unsigned vcpu, FfaRegs& host_regs) {
  g_core->ffa_partition_preempted(cpu, vcpu, host_regs);
}

void core_glue_ffa_partition_aborted(unsigned cpu, unsigned vcpu, FfaRegs& host_regs) {
  g_core->ffa_partition_aborted(cpu, vcpu, host_regs);
}

SmcccResult core_glue_partition_call(unsigned cpu, const SmcccArgs& args) {
  return g_core->handle_partition_smccc(VmId(HYPHEAP_VMID_SECURE_0), cpu, args);
}

}  // namespace hyp::arm64

#else
// Built before hyp/core links at EL2 (HYPHEAP_EL2_WITH_CORE=0): the host
// runs without a stage-2 (HCR_EL2.VM clear) and no vendor-hyp call exists.
// This is a boot-path bring-up state, not a security boundary.
namespace hyp::arm64 {

boot::BootStatus core_glue_init(const boot::Layout&, const boot::PlatformInfo&,
                                std::span<const MemRange>, MemRange, bool, HostStage2* out) {
  *out = HostStage2{};
  return boot::BootStatus::kOk;
}

DmaRoot core_glue_host_dma() {
  return {};
}

DmaRoot core_glue_secure_dma() {
  return {};
}

bool core_glue_hypercall(GuestRegs&, Conduit) {
  return false;
}

uint64_t core_glue_scrub_secure_pages() {
  return 0;
}

VmId core_glue_page_owner(Ipa) {
  return VmId(0);
}

void core_glue_for_each_lent(void (*)(MemRange, void*), void*) {}

uint64_t core_glue_secure_vttbr() {
  return 0;
}

// Without a core there is no partition: every FF-A call is unknown (FFA_ERROR NOT_SUPPORTED).
FfaOutcome core_glue_ffa_host_call(unsigned, FfaRegs& regs) {
  regs = FfaRegs{};
  regs.x[0] = 0x84000060;
  regs.x[2] = static_cast<uint64_t>(-1);
  return {};
}

FfaOutcome core_glue_ffa_partition_call(unsigned cpu, unsigned, FfaRegs& regs) {
  return core_glue_ffa_host_call(cpu, regs);
}

bool core_glue_ffa_vcpu_booting(unsigned) {
  return false;
}
void core_glue_ffa_partition_preempted(unsigned, unsigned, FfaRegs&) {}
void core_glue_ffa_partition_aborted(unsigned, unsigned, FfaRegs&) {}

SmcccResult core_glue_partition_call(unsigned, const SmcccArgs&) {
  return {{static_cast<uint64_t>(int64_t{HYPHEAP_ERR_NOT_SUPPORTED}), 0, 0, 0}};
}

}  // namespace hyp::arm64
#endif

// Boot of the primary CPU (from QEMU) and of secondary CPUs (from PSCI
// CPU_ON), up to the first entry into the host.
#include <libfdt.h>

#include "../../boot/devices.h"
#include "../../boot/host_dtb.h"
#include "../../boot/layout.h"
#include "../../boot/platform.h"
#include "attest.h"
#include "boot_params.h"
#include "cache.h"
#include "core/platform.h"
#include "core_glue.h"
#include "cpu.h"
#include "fatal.h"
#include "gic.h"
#include "host_el2.h"
#include "log.h"
#include "mmu.h"
#include "pcie_scan.h"
#include "platform_config.h"
#include "psci.h"
#include "smmu.h"
#include "stack.h"
#include "sysreg.h"
#include "vcpu.h"

extern "C" char __hyp_image_start[], __hyp_text_end[], __hyp_rodata_end[], __hyp_image_end[];

namespace hyp::arm64 {

namespace {

using boot::BootStatus;
using boot::make_range;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kStage1PoolSize = 16 * kPage;

// How the hyp carve-out is cut up.
struct HypCarveout {
  MemRange stage1;  // EL2 stage-1 tables
  MemRange smmu;    // the SMMU's stream table, queues and contexts (smmu.h)
  MemRange percpu;  // PerCpu[kMaxCpus]
  MemRange stacks;  // kMaxCpus EL2 stacks, each above its guard page (stack.h)
  MemRange pool;    // the rest: the core's page pool
};

boot::PlatformInfo g_platform;
boot::Layout g_layout;
boot::DevicePlan g_devices;
// What the host stage-2 maps outside RAM (build_host_mmio), and the redistributors behind it.
constexpr size_t kMaxHostMmio = Platform::kMaxMmio;  // what the core accepts
MemRange g_host_mmio[kMaxHostMmio];
size_t g_host_mmio_count = 0;
RedistributorProbe g_redist;
HostStage2 g_host_stage2;
// The requester ID that gets the secure VM's SMMU context, once checked (pcie_scan.h).
uint32_t g_secure_stream = kNoSecureStream;

void check(BootStatus status, const char* step) {
  if (status != BootStatus::kOk) {
    panic("boot: %s failed: %s", step, boot::status_name(status));
  }
}

HypCarveout split_carveout(const MemRange& carveout) {
  const uint64_t percpu_size = boot::align_up(sizeof(PerCpu) * kMaxCpus, kPage);
  const uint64_t stacks_size = StackLayout::size_for(kMaxCpus);
  const uint64_t base = carveout.base.value();
  HypCarveout c;
  c.stage1 = make_range(base, kStage1PoolSize);
  // 64 KiB into the 2 MiB-aligned carve-out: aligned as the SMMU's event queue must be.
  static_assert((kStage1PoolSize % kSmmuMemAlign) == 0);
  c.smmu = make_range(c.stage1.end().value(), kSmmuMemSize);
  c.percpu = make_range(c.smmu.end().value(), percpu_size);
  c.stacks = make_range(c.percpu.end().value(), stacks_size);
  const uint64_t used = kStage1PoolSize + kSmmuMemSize + percpu_size + stacks_size;
  if (used >= carveout.size) {
    panic("boot: hyp carve-out of %lx bytes is too small (need > %lx)", carveout.size, used);
  }
  c.pool = make_range(c.stacks.end().value(), carveout.size - used);
  return c;
}

void log_platform(const boot::PlatformInfo& p) {
  for (size_t i = 0; i < p.ram_count; ++i) {
    log("RAM bank %zu: %lx-%lx", i, p.ram[i].base.value(), p.ram[i].end().value());
  }
  log("DTB %lx (%lu bytes), initrd %lx-%lx, console PL011 %lx, GICD %lx GICR %lx, %zu CPUs",
      p.dtb.base.value(), p.dtb.size, p.initrd.base.value(), p.initrd.end().value(),
      p.uart.base.value(), p.gic_dist.base.value(), p.gic_redist.base.value(), p.cpu_count);
}

const char* node_name(int node) {
  const char* name =
      fdt_get_name(reinterpret_cast<const void*>(g_platform.dtb.base.value()), node, nullptr);
  return name ? name : "?";
}

// The host gets the redistributors' SGI_base frames; their RD_base frames, which hold the LPI
// table registers, stay the hyp's and are emulated (gic.h).
void trap_redistributor_frames(const boot::HostWindow& w) {
  if (g_redist.frames != 0) {
    panic("boot: %s has a second redistributor region at %lx: not supported", node_name(w.node),
          w.range.base.value());
  }
  g_redist = probe_redistributors(w.range, kMaxCpus);
  if (g_redist.frames == 0) {
    panic("boot: no GICv3 redistributor in %s %lx-%lx", node_name(w.node), w.range.base.value(),
          w.range.end().value());
  }
  trap_redistributors(g_redist);
  log("GICv3: %u redistributors at %lx (stride %lx), LPIs %s; RD_base frames emulated, "
      "LPI registers hidden",
      g_redist.frames, g_redist.base, g_redist.stride, g_redist.lpis ? "implemented" : "absent");
}

// The MMIO the host stage-2 maps: every window of the plan, the redistributor region replaced
// by its SGI_base frames.
void build_host_mmio() {
  auto add = [](const MemRange& r) {
    if (g_host_mmio_count == kMaxHostMmio) {
      panic("boot: more than %zu host MMIO windows", kMaxHostMmio);
    }
    g_host_mmio[g_host_mmio_count++] = r;
  };
  for (size_t i = 0; i < g_devices.window_count; ++i) {
    const boot::HostWindow& w = g_devices.windows[i];
    if (w.kind != boot::WindowKind::kGicRedistributors) {
      add(w.range);
      log("given to the host: %s %lx-%lx", node_name(w.node), w.range.base.value(),
          w.range.end().value());
      continue;
    }
    trap_redistributor_frames(w);
    for (uint32_t f = 0; f < g_redist.frames; ++f) {
      add(g_redist.sgi_base(f));
    }
    log("given to the host: %s %lx-%lx, SGI_base frames only", node_name(w.node), g_redist.base,
        g_redist.base + g_redist.used_size());
  }
}

// Deny by default (hyp/boot/devices.h): only allowlisted devices that master no DMA are
// mapped for the host; every other one is named here and disabled in the host DTB.
void plan_devices() {
  const void* dtb = reinterpret_cast<const void*>(g_platform.dtb.base.value());
  const boot::DevicePolicy policy{.allowed = PLATFORM_HOST_DEVICES,
                                  .ipa_limit = 1ull << kHostIpaBits,
                                  .smmu_node = smmu_find(dtb, PLATFORM_SMMU_COMPATIBLE)};
  const BootStatus status = boot::plan_host_devices(dtb, g_platform, policy, &g_devices);
  if (status == BootStatus::kOverlap) {
    panic("boot: device %s overlaps RAM: the DTB cannot be trusted",
          node_name(g_devices.overlap_node));
  }
  check(status, "device plan");
  if (g_devices.pci_host_node >= 0) {
    g_secure_stream = pcie_check_secure_stream(dtb, g_devices.pci_host_node, PLATFORM_SECURE_STREAM,
                                               PLATFORM_SECURE_STREAM_ID);
  }
  build_host_mmio();
  for (size_t i = 0; i < g_devices.denied_count; ++i) {
    const boot::DeniedDevice& d = g_devices.denied[i];
    log("not given to the host: %s (%s)", node_name(d.node), boot::denial_name(d.why));
  }
}

void log_layout(const boot::Layout& l) {
  auto line = [](const char* what, const MemRange& r) {
    log("  %-14s %lx-%lx", what, r.base.value(), r.end().value());
  };
  log("memory layout:");
  line("hyp image", l.hyp_image);
  line("hyp carve-out", l.hyp_carveout);
  line("secure VM", l.secure_vm);
  line("host DTB", l.host_dtb);
  line("host CMA", l.host_cma);
  line("secure VM pool", l.secure_vm_pool);
  line("host kernel", l.host_kernel);
}

// What the EL2 stage-1 leaves out of RAM, in ascending address order: the
// image window (mapped per section instead) and every stack guard page.
struct Holes {
  static constexpr size_t kMax = 1 + kMaxCpus;
  MemRange range[kMax];
  size_t count = 0;
};

Holes stage1_holes(const MemRange& image_window, const StackLayout& stacks) {
  Holes h;
  // The image window lies below the carve-out that holds the stacks.
  h.range[h.count++] = image_window;
  for (size_t i = 0; i < stacks.cpus(); ++i) {
    h.range[h.count++] = stacks.guard(i);
  }
  return h;
}

// Maps [r.base, r.end()) minus the holes.
BootStatus map_ram_except(El2PageTables& pt, const MemRange& r, const Holes& holes) {
  uint64_t cursor = r.base.value();
  for (size_t i = 0; i < holes.count; ++i) {
    const MemRange& hole = holes.range[i];
    if (!boot::intersects(r, hole)) {
      continue;
    }
    if (cursor < hole.base.value()) {
      if (BootStatus s = pt.map(make_range(cursor, hole.base.value() - cursor), MemKind::kNormalRw);
          s != BootStatus::kOk) {
        return s;
      }
    }
    cursor = hole.end().value();
  }
  if (cursor < r.end().value()) {
    return pt.map(make_range(cursor, r.end().value() - cursor), MemKind::kNormalRw);
  }
  return BootStatus::kOk;
}

MemRange span(const char* from, const char* to) {
  return make_range(reinterpret_cast<uintptr_t>(from), static_cast<uint64_t>(to - from));
}

// All RAM read-write and never executable, except the stack guard pages; the
// image with W^X per section; and only the devices the hyp itself drives.
MmuRegs build_stage1(const HypCarveout& carve) {
  El2PageTables pt(carve.stage1);
  const Holes holes = stage1_holes(g_layout.hyp_image, stack_layout());
  for (size_t i = 0; i < g_platform.ram_count; ++i) {
    check(map_ram_except(pt, g_platform.ram[i], holes), "stage-1 map of RAM");
  }
  check(pt.map(span(__hyp_image_start, __hyp_text_end), MemKind::kNormalCode), "map text");
  check(pt.map(span(__hyp_text_end, __hyp_rodata_end), MemKind::kNormalReadOnly), "map rodata");
  check(pt.map(span(__hyp_rodata_end, __hyp_image_end), MemKind::kNormalRw), "map data");
  check(pt.map(g_platform.uart, MemKind::kDevice), "map UART");
  for (uint32_t f = 0; f < g_redist.frames; ++f) {
    check(pt.map(g_redist.rd_base(f), MemKind::kDevice), "map GICR RD_base");
  }
  if (g_devices.pci_host_node >= 0) {
    check(pt.map(smmu_registers(), MemKind::kDevice), "map SMMU");
  }
  invalidate_dcache_to_poc(reinterpret_cast<void*>(carve.stage1.base.value()), carve.stage1.size);
  log("EL2 stage-1: %lu table pages", pt.pool_used().size / kPage);
  return pt.registers();
}

PerCpu& setup_cpus(const HypCarveout& carve) {
  auto* percpu = reinterpret_cast<PerCpu*>(carve.percpu.base.value());
  const size_t count = g_platform.cpu_count < kMaxCpus ? g_platform.cpu_count : kMaxCpus;
  if (g_platform.cpu_count > kMaxCpus) {
    log("DTB lists %zu CPUs, the hyp supports %zu: the rest stay off", g_platform.cpu_count,
        kMaxCpus);
  }
  CpuTable& cpus = cpu_table();
  cpus.init(percpu, g_platform.cpu_mpidr, count);
  for (size_t i = 0; i < count; ++i) {
    PerCpu& cpu = cpus.cpu(i);
    cpu.stack_top = stack_layout().top(i);
    hyp_boot_params.stack_top[i] = cpu.stack_top;
    hyp_boot_params.percpu[i] = reinterpret_cast<uint64_t>(&cpu);
  }
  PerCpu* self = cpus.find(read_mpidr_el1());
  if (!self) {
    panic("boot CPU MPIDR %lx is not in the DTB", read_mpidr_el1());
  }
  write_tpidr_el2(reinterpret_cast<uint64_t>(self));
  return *self;
}

// The production heaps, then (boot option hypheap.bench_heaps=) one heap per backend for the
// comparison benchmark, which needs every backend lending to VM 10 in one boot
// (docs/dt-binding.md, "Benchmark heaps").
void build_host_dtb() {
  constexpr size_t kNrProductionHeaps = 3;
  boot::HeapDesc heaps[kNrProductionHeaps + boot::kMaxBenchHeaps] = {
      {"heap-secure-video",
       "protected,secure-video",
       {{HYPHEAP_VMID_SECURE_0, 0x6}},
       1,
       false,
       "hyp"},
      {"heap-trusted-ui", "protected,trusted-ui", {{HYPHEAP_VMID_SECURE_1, 0x6}}, 1, false, "hyp"},
      {"heap-secure-video-record",
       "protected,secure-video-record",
       {{HYPHEAP_VMID_SECURE_0, 0x6}},
       1,
       /*from_host_cma=*/true,
       "cma"},
  };
  size_t nr_heaps = kNrProductionHeaps;
  for (size_t i = 0; i < g_platform.overlong_count; ++i) {
    log("%s: value too long; ignored", g_platform.overlong_options[i]);
  }
  // The boot options change the production heaps only: a benchmark heap's name says its
  // backend, so no option may give it another.
  const char* spec = g_platform.heap_backends;
  if (spec[0] != '\0') {
    if (boot::apply_heap_backends(spec, strlen(spec), heaps, kNrProductionHeaps) ==
        BootStatus::kOk) {
      log("heap backends: %s", spec);
    } else {
      log("hypheap.heap_backends=%s: not <heap>:<backend>[,...] of known ones; ignored", spec);
    }
  }
  const char* pools = g_platform.heap_pools;
  if (pools[0] != '\0') {
    if (boot::apply_heap_pools(pools, strlen(pools), heaps, kNrProductionHeaps) ==
        BootStatus::kOk) {
      log("heap pools: %s", pools);
    } else {
      log("hypheap.heap_pools=%s: not <heap>:<bytes>[K|M|G][,...] of known heaps; ignored", pools);
    }
  }
  const char* bench = g_platform.bench_heaps;
  if (bench[0] != '\0') {
    if (boot::add_bench_heaps(bench, strlen(bench), {HYPHEAP_VMID_SECURE_0, 0x6}, heaps, &nr_heaps,
                              sizeof(heaps) / sizeof(heaps[0])) == BootStatus::kOk) {
      log("bench heaps: %s", bench);
    } else {
      log("hypheap.bench_heaps=%s: not distinct backends <backend>[,...]; ignored", bench);
    }
  }
  const boot::ServiceDesc service{
      .conduit = "hvc",
      .host_vmid = HYPHEAP_VMID_HOST,
      .abi_version = HYPHEAP_ABI_VERSION_MAJOR,
      .heaps = heaps,
      .heap_count = nr_heaps,
      .host_cma = g_layout.host_cma,
  };
  // The secure VM's carve-out pool is hidden like its carve-out: the host never owned it.
  const boot::NoMapRegion hidden[] = {
      {"hypheap-hyp-image", g_layout.hyp_image},
      {"hypheap-hyp", g_layout.hyp_carveout},
      {"hypheap-secure-vm", g_layout.secure_vm},
      {"hypheap-secure-vm-pool", g_layout.secure_vm_pool},
  };
  const size_t nr_hidden =
      sizeof(hidden) / sizeof(hidden[0]) - (boot::is_empty(g_layout.secure_vm_pool) ? 1 : 0);
  void* buf = reinterpret_cast<void*>(g_layout.host_dtb.base.value());
  const auto* orig = reinterpret_cast<const void*>(g_platform.dtb.base.value());
  const BootStatus status = boot::build_host_dtb(orig, buf, g_layout.host_dtb.size, hidden,
                                                 nr_hidden, g_devices, service);
  if (status != BootStatus::kOk) {
    panic("boot: host DTB failed: %s (libfdt: %s)", boot::status_name(status),
          boot::host_dtb_last_error());
  }
  log("host DTB at %lx: %u bytes", g_layout.host_dtb.base.value(), fdt_totalsize(buf));
  // Linux reads it with its MMU and caches off.
  clean_dcache_to_poc(buf, fdt_totalsize(buf));
}

// A load from an address the EL2 stage-1 leaves unmapped: takes the
// "EL2h sync" vector, which must print FATAL and power QEMU off.
void crash_on_purpose() {
  log("hypheap.el2_crash_test: faulting at EL2 on purpose");
  const uint64_t unmapped = 1ull << 38;
  (void)*reinterpret_cast<volatile uint64_t*>(unmapped);
}

// Frames of at least 512 bytes (the array), twice a stack slot's worth of
// them: returning means nothing stopped the overflow.
constexpr uint64_t kOverflowDepth = 2 * StackLayout::kSlotSize / 512;

[[gnu::noinline]] uint64_t recurse(uint64_t depth) {
  volatile uint64_t frame[64];
  frame[0] = depth;
  frame[63] = depth;
  if (depth >= kOverflowDepth) {
    return frame[0];
  }
  return recurse(depth + 1) + frame[63];
}

// "hypheap.el2_stack_overflow_test": overflows this CPU's EL2 stack on
// purpose; the guard page below it must make the fatal path report it.
[[noreturn]] void overflow_stack_on_purpose() {
  log("hypheap.el2_stack_overflow_test: recursing on cpu%u's EL2 stack", this_cpu().index);
  const uint64_t sum = recurse(0);
  panic("el2_stack_overflow_test: %lu levels of recursion returned (sum %lu): no guard page",
        kOverflowDepth, sum);
}

// The secure VM (VM 10): its payload into the first half of the secure-VM carve-out (the
// half core_glue.cc gives VM 10), with a boot-info block naming RAM and the carve-out.
void start_partition() {
  const uint64_t share = boot::align_down(g_layout.secure_vm.size / 2, 2ull << 20);
  const PartitionBoot boot{.carveout_base = g_layout.secure_vm.base.value(),
                           .carveout_size = share,
                           .pool = g_layout.secure_vm_pool,
                           // The hyp image is never in a secure VM's stage-2.
                           .fault_ipa = g_layout.hyp_image.base.value(),
                           .fault_op = g_platform.svm_fault_op,
                           .fault_at_boot = g_platform.svm_boot_fault_test,
                           .host_vttbr = g_host_stage2.vttbr,
                           .ram = {g_platform.ram, g_platform.ram_count}};
  partition_init(boot);
}

}  // namespace

extern "C" [[noreturn]] void hyp_primary_main(uint64_t dtb) {
  const boot::DtbCompatibles compat{.uart = PLATFORM_UART_COMPATIBLE,
                                    .gic = PLATFORM_GIC_COMPATIBLE};
  if (boot::read_platform(reinterpret_cast<const void*>(dtb), compat, &g_platform) !=
      BootStatus::kOk) {
    psci_system_off();  // no console without a DTB: nothing to print on
  }
  console_init(g_platform.uart.base.value());
  log("hypheap EL2 hypervisor, boot CPU MPIDR %lx, EL%lu", read_mpidr_el1() & kMpidrAffinityMask,
      read_current_el());
  log_platform(g_platform);
  plan_devices();

  MemRange kernel;
  check(boot::host_kernel_range(HOST_KERNEL_ADDR, reinterpret_cast<const void*>(HOST_KERNEL_ADDR),
                                &kernel),
        "host kernel header");
  const boot::LayoutPolicy policy{.hyp_image_window = HYP_IMAGE_WINDOW,
                                  .hyp_carveout_size = HYP_CARVEOUT_SIZE,
                                  .secure_vm_size = SECURE_VM_CARVEOUT_SIZE,
                                  .host_dtb_region_size = HOST_DTB_REGION_SIZE,
                                  .align = CARVEOUT_ALIGN,
                                  .host_cma_size = HOST_CMA_SIZE,
                                  .host_cma_align = HOST_CMA_ALIGN,
                                  .secure_vm_pool_size = SECURE_VM_POOL_SIZE};
  check(boot::plan_layout(g_platform, policy, make_range(HYP_LOAD_ADDR, HYP_IMAGE_WINDOW), kernel,
                          &g_layout),
        "memory layout");
  log_layout(g_layout);

  const HypCarveout carve = split_carveout(g_layout.hyp_carveout);
  set_stack_layout(StackLayout(carve.stacks.base.value(), kMaxCpus));
  __builtin_memset(reinterpret_cast<void*>(carve.stage1.base.value()), 0,
                   carve.pool.base.value() - carve.stage1.base.value());
  hyp_boot_params.mmu = build_stage1(carve);
  hyp_mmu_enable(&hyp_boot_params.mmu);
  console_enable_locking();
  if (g_platform.el2_crash_test) {
    crash_on_purpose();
  }

  PerCpu& self = setup_cpus(carve);
  if (g_platform.el2_stack_overflow_test) {
    hyp_run_on_stack(overflow_stack_on_purpose, self.stack_top);
  }
  // The SMMU comes up before the host runs, or the host is given nothing behind it.
  const bool iommu = g_devices.pci_host_node >= 0;
  check(core_glue_init(g_layout, g_platform, {g_host_mmio, g_host_mmio_count}, carve.pool, iommu,
                       &g_host_stage2),
        "core init");
  if (iommu) {
    const DmaRoot host = core_glue_host_dma(), secure = core_glue_secure_dma();
    smmu_init(carve.smmu, {host.root, host.asid}, {secure.root, secure.asid}, g_secure_stream);
  }
  // Secondaries read these with their MMU off.
  clean_dcache_to_poc(&hyp_boot_params, sizeof(hyp_boot_params));

  build_host_dtb();
  configure_el2_for_host(g_host_stage2);
  start_partition();
  // vCPU 0 runs to its FFA_MSG_WAIT before Linux, so the host's first call finds it ready.
  // Its exits use this CPU's own stack; the boot path stays on the boot stack.
  partition_boot_vcpu(self.stack_top);
  // After vCPU 0 relocated its image: from here on only its writable part changes.
  if (g_platform.attest) {
    attest_enable(g_layout.secure_vm, partition_writable());
    attest("at boot");
  }
  cpu_table().set_power(self, CpuPower::kOn);
  log("entering host at %lx (EL1, DTB %lx, stage-2 %s)", uint64_t{HOST_KERNEL_ADDR},
      g_layout.host_dtb.base.value(), g_host_stage2.vttbr ? "on" : "off");
  hyp_enter_host(HOST_KERNEL_ADDR, g_layout.host_dtb.base.value(), self.stack_top);
}

extern "C" [[noreturn]] void hyp_secondary_main(uint64_t index) {
  PerCpu& cpu = this_cpu();
  if (cpu.index != index || cpu_table().power(cpu) != CpuPower::kOnPending) {
    panic("cpu%lu started without a pending CPU_ON", index);
  }
  configure_el2_for_host(g_host_stage2);
  // This CPU's vCPU, the first time the host starts it; its exits run below this frame.
  partition_boot_vcpu(0);
  cpu_table().set_power(cpu, CpuPower::kOn);
  log("cpu%u (MPIDR %lx) up, entering host at %lx", cpu.index, cpu.mpidr, cpu.host_entry);
  hyp_enter_host(cpu.host_entry, cpu.host_context, cpu.stack_top);
}

}  // namespace hyp::arm64

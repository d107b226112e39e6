#include "devices.h"

#include <libfdt.h>

#include "fdt_util.h"

namespace hyp::boot {

namespace {

constexpr uint64_t kPage = 4096;

// Devices that write memory on their own, at addresses the host would program. None is given
// to the host while the hyp has no IOMMU in front of it, whatever the allowlist says; a PCIe
// host behind the SMMU the hyp owns is (behind_smmu()).
constexpr const char* kDmaMasters[] = {
    "qemu,fw-cfg-mmio",       // DMA interface: QEMU writes wherever the host's descriptor says
    "arm,gic-v3-its",         // device, collection and command tables at host-chosen addresses
    "virtio,mmio",            // virtqueues and buffers at host-chosen addresses
    "pci-host-ecam-generic",  // every endpoint behind the root complex
    "pci-host-cam-generic",
    "qemu,platform",  // dynamic sysbus devices (vfio-platform, ...)
    "arm,smmu-v3",    // its queues and stream tables live in memory it writes
    "arm,mmu-500",
};

// Top-level nodes that hold no devices, or hold addresses that are not MMIO.
constexpr const char* kNotDevices[] = {
    "chosen", "aliases", "cpus", "reserved-memory", "__symbols__", "__fixups__", "__local_fixups__",
};

// True if the space-separated `list` holds `word` as a whole word.
bool in_word_list(const char* list, const char* word, size_t word_len) {
  for (const char* p = list; *p;) {
    while (*p == ' ') {
      ++p;
    }
    const char* start = p;
    while (*p && *p != ' ') {
      ++p;
    }
    if (static_cast<size_t>(p - start) == word_len && word_len != 0 &&
        memcmp(start, word, word_len) == 0) {
      return true;
    }
  }
  return false;
}

// True if the node's first compatible string is in the space-separated list: Linux binds the
// most specific driver it has, so "vendor,dma-uart", "arm,pl011" is a vendor's device that
// merely resembles a PL011.
bool first_compatible_in_words(const void* fdt, int node, const char* list) {
  int len = 0;
  const char* compat = static_cast<const char*>(fdt_getprop(fdt, node, "compatible", &len));
  return compat && len > 0 && in_word_list(list, compat, strnlen(compat, static_cast<size_t>(len)));
}

bool is_dma_master(const void* fdt, int node) {
  for (const char* compat : kDmaMasters) {
    if (fdt::is_compatible(fdt, node, compat)) {
      return true;
    }
  }
  return false;
}

bool name_is(const void* fdt, int node, const char* want) {
  int len = 0;
  const char* name = fdt_get_name(fdt, node, &len);
  if (!name) {
    return false;
  }
  int base_len = 0;
  while (base_len < len && name[base_len] != '@') {
    ++base_len;
  }
  return static_cast<size_t>(base_len) == strlen(want) && memcmp(name, want, base_len) == 0;
}

bool is_not_device(const void* fdt, int node, int depth) {
  if (fdt::prop_is(fdt, node, "device_type", "memory")) {
    return true;
  }
  if (depth == 1) {
    for (const char* name : kNotDevices) {
      if (name_is(fdt, node, name)) {
        return true;
      }
    }
  }
  // Under a parent with #size-cells = 0, "reg" is an id (a CPU's MPIDR, a bus address), not MMIO.
  const int parent = fdt_parent_offset(fdt, node);
  return parent >= 0 && fdt_size_cells(fdt, parent) == 0;
}

enum class Ranges { kNone, kIdentity, kTranslating };

Ranges ranges_of(const void* fdt, int node) {
  int len = 0;
  if (!fdt_getprop(fdt, node, "ranges", &len)) {
    return Ranges::kNone;
  }
  return len == 0 ? Ranges::kIdentity : Ranges::kTranslating;
}

MemRange page_window(const MemRange& reg) {
  const uint64_t base = align_down(reg.base.value(), kPage);
  const uint64_t end = align_up(reg.base.value() + reg.size, kPage);
  return make_range(base, end - base);
}

// The reg entries of an allowed device that the host gets. For a GICv3 that is the
// distributor and the redistributor regions, not the GICC/GICH/GICV frames that follow them
// (the host runs the GIC through its system registers; the virtualization interface is the
// hyp's).
int given_reg_count(const void* fdt, int node) {
  const int count = fdt::reg_count(fdt, node);
  if (!fdt::is_compatible(fdt, node, "arm,gic-v3")) {
    return count;
  }
  int len = 0;
  const auto* prop =
      static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "#redistributor-regions", &len));
  const int redist = prop && len == 4 ? static_cast<int>(fdt32_to_cpu(*prop)) : 1;
  return 1 + redist < count ? 1 + redist : count;
}

// Entry `index` of a device's reg, as Linux would decode it: the parent must state its cell
// sizes (libfdt would assume 2/1, Linux inherits them from an ancestor) and the range must
// not run past 2^64.
BootStatus device_reg(const void* fdt, int node, int index, MemRange* out) {
  const int parent = fdt_parent_offset(fdt, node);
  if (parent < 0 || !fdt_getprop(fdt, parent, "#address-cells", nullptr) ||
      !fdt_getprop(fdt, parent, "#size-cells", nullptr) || !fdt::read_reg(fdt, node, index, out) ||
      out->size > ~0ull - out->base.value()) {
    return BootStatus::kBadDtb;
  }
  return BootStatus::kOk;
}

// Visits every node below the root, depth first. visit(node, depth, &descend) may clear
// descend to skip the node's subtree; the first status other than kOk ends the walk.
template <typename F>
BootStatus walk_tree(const void* fdt, F&& visit) {
  int depth = 0;
  int skip_deeper_than = INT_MAX;
  for (int node = fdt_next_node(fdt, 0, &depth); node >= 0 && depth > 0;
       node = fdt_next_node(fdt, node, &depth)) {
    if (depth > skip_deeper_than) {
      continue;
    }
    skip_deeper_than = INT_MAX;
    bool descend = true;
    if (BootStatus s = visit(node, depth, &descend); s != BootStatus::kOk) {
      return s;
    }
    if (!descend) {
      skip_deeper_than = depth;
    }
  }
  return BootStatus::kOk;
}

class Planner {
 public:
  Planner(const void* fdt, const PlatformInfo& info, const DevicePolicy& policy, DevicePlan* out)
      : fdt_(fdt), info_(info), policy_(policy), out_(out) {}

  BootStatus run();

 private:
  // What to do with the node's children.
  enum class Next { kDescend, kSkip };

  BootStatus visit(int node, int depth, Next* next);
  BootStatus check_ram(int node);
  BootStatus deny(int node, Denial why);
  BootStatus give(int node);
  bool behind_smmu(int node) const;
  BootStatus give_pci_host(int node);
  BootStatus add_window(const HostWindow& w);
  void remove_windows_of(int node);
  bool has_window(int node) const;
  BootStatus deny_page_sharers();

  const void* fdt_;
  const PlatformInfo& info_;
  const DevicePolicy& policy_;
  DevicePlan* out_;
};

BootStatus Planner::run() {
  for (const char* compat : kDmaMasters) {
    if (in_word_list(policy_.allowed, compat, strlen(compat))) {
      return BootStatus::kBadPolicy;
    }
  }
  if (BootStatus s = walk_tree(fdt_,
                               [&](int node, int depth, bool* descend) {
                                 Next next = Next::kSkip;
                                 const BootStatus st = visit(node, depth, &next);
                                 *descend = next == Next::kDescend;
                                 return st;
                               });
      s != BootStatus::kOk) {
    return s;
  }
  return deny_page_sharers();
}

BootStatus Planner::visit(int node, int depth, Next* next) {
  *next = Next::kSkip;
  if (!fdt::is_enabled(fdt_, node) || is_not_device(fdt_, node, depth)) {
    return BootStatus::kOk;
  }
  const bool has_reg = fdt::reg_count(fdt_, node) > 0;
  const Ranges ranges = ranges_of(fdt_, node);
  if (!has_reg && ranges == Ranges::kNone) {
    return BootStatus::kOk;  // no MMIO of its own, and children are not in the CPU's space
  }
  if (BootStatus s = check_ram(node); s != BootStatus::kOk) {
    return s;
  }
  const bool allowed = first_compatible_in_words(fdt_, node, policy_.allowed);
  const bool plain_bus = !has_reg && ranges == Ranges::kIdentity &&
                         (fdt::is_compatible(fdt_, node, "simple-bus") ||
                          !fdt_getprop(fdt_, node, "compatible", nullptr));
  if (plain_bus) {
    *next = Next::kDescend;  // a bus that adds no translation: judge its devices one by one
    return BootStatus::kOk;
  }
  if (is_dma_master(fdt_, node)) {
    if (behind_smmu(node)) {
      return give_pci_host(node);
    }
    return deny(node, Denial::kDmaMaster);
  }
  if (!allowed) {
    return deny(node, Denial::kNotAllowed);
  }
  if (ranges == Ranges::kTranslating) {
    return deny(node, Denial::kUntranslatable);
  }
  if (BootStatus s = give(node); s != BootStatus::kOk) {
    return s;
  }
  // An allowed device's children (the GIC's ITS) are judged on their own.
  if (ranges == Ranges::kIdentity) {
    *next = Next::kDescend;
  }
  return BootStatus::kOk;
}

// A device described inside RAM means the DTB cannot be trusted for either.
BootStatus Planner::check_ram(int node) {
  const int count = fdt::reg_count(fdt_, node);
  for (int i = 0; i < count; ++i) {
    MemRange reg;
    if (BootStatus s = device_reg(fdt_, node, i, &reg); s != BootStatus::kOk) {
      return s;
    }
    for (size_t b = 0; b < info_.ram_count; ++b) {
      if (intersects(reg, info_.ram[b])) {
        out_->overlap_node = node;
        return BootStatus::kOverlap;
      }
    }
  }
  return BootStatus::kOk;
}

BootStatus Planner::deny(int node, Denial why) {
  if (out_->denied_count == kMaxDeniedDevices) {
    return BootStatus::kNoSpace;
  }
  out_->denied[out_->denied_count++] = {node, why};
  return BootStatus::kOk;
}

BootStatus Planner::give(int node) {
  const int count = given_reg_count(fdt_, node);
  const bool gic = fdt::is_compatible(fdt_, node, "arm,gic-v3");
  HostWindow windows[kMaxHostWindows];
  int n = 0;
  for (int i = 0; i < count; ++i) {
    MemRange reg;
    if (BootStatus s = device_reg(fdt_, node, i, &reg); s != BootStatus::kOk) {
      return s;
    }
    if (is_empty(reg)) {
      continue;
    }
    const MemRange w = page_window(reg);
    if (w.base.value() >= policy_.ipa_limit || policy_.ipa_limit - w.base.value() < w.size) {
      return deny(node, Denial::kBeyondIpa);
    }
    if (n == static_cast<int>(kMaxHostWindows)) {
      return BootStatus::kNoSpace;
    }
    windows[n++] = {w, node, gic && i > 0 ? WindowKind::kGicRedistributors : WindowKind::kPlain};
  }
  for (int i = 0; i < n; ++i) {
    if (BootStatus s = add_window(windows[i]); s != BootStatus::kOk) {
      return s;
    }
  }
  return BootStatus::kOk;
}

// A PCIe root complex whose every requester ID the iommu-map sends to the SMMU the hyp owns
// (one entry, RID 0 up, of the whole 16-bit space): each endpoint's DMA is then a stream the
// hyp translates. Only one such host: its node is what the host DTB editor patches.
bool Planner::behind_smmu(int node) const {
  if (policy_.smmu_node < 0 || out_->pci_host_node >= 0 ||
      !fdt::is_compatible(fdt_, node, "pci-host-ecam-generic")) {
    return false;
  }
  const uint32_t smmu = fdt_get_phandle(fdt_, policy_.smmu_node);
  int len = 0;
  const auto* map = static_cast<const fdt32_t*>(fdt_getprop(fdt_, node, "iommu-map", &len));
  if (smmu == 0 || !map || len != 16 || fdt_getprop(fdt_, node, "iommu-map-mask", nullptr)) {
    return false;
  }
  return fdt32_to_cpu(map[0]) == 0 && fdt32_to_cpu(map[1]) == smmu && fdt32_to_cpu(map[2]) == 0 &&
         fdt32_to_cpu(map[3]) >= 0x10000;
}

// Config space (reg) and every CPU window of its ranges (PCI address: 3 cells, CPU address:
// the parent's, size: 2) that lies inside the host's IPA space; the others are dropped from
// the host DTB, so Linux puts no BAR there.
BootStatus Planner::give_pci_host(int node) {
  const int parent = fdt_parent_offset(fdt_, node);
  const int parent_addr = parent >= 0 ? fdt_address_cells(fdt_, parent) : -1;
  int len = 0;
  const auto* ranges = static_cast<const fdt32_t*>(fdt_getprop(fdt_, node, "ranges", &len));
  if (parent_addr < 1 || parent_addr > 2 || fdt_address_cells(fdt_, node) != 3 ||
      fdt_size_cells(fdt_, node) != 2 || !ranges || len <= 0) {
    return deny(node, Denial::kUntranslatable);
  }
  const int stride = 3 + parent_addr + 2;
  if (len % (stride * 4) != 0) {
    return BootStatus::kBadDtb;
  }
  HostWindow windows[kMaxHostWindows];
  size_t n = 0;
  auto add = [&](const MemRange& r) {
    if (is_empty(r) || r.size > ~0ull - r.base.value()) {
      return BootStatus::kOk;
    }
    const MemRange w = page_window(r);
    if (w.base.value() >= policy_.ipa_limit || policy_.ipa_limit - w.base.value() < w.size) {
      return BootStatus::kOk;  // left out of the host DTB's ranges too (host_dtb.cc)
    }
    if (n == kMaxHostWindows) {
      return BootStatus::kNoSpace;
    }
    windows[n++] = {w, node, WindowKind::kPlain};
    return BootStatus::kOk;
  };
  for (int i = 0; i < fdt::reg_count(fdt_, node); ++i) {
    MemRange reg;
    if (BootStatus s = device_reg(fdt_, node, i, &reg); s != BootStatus::kOk) {
      return s;
    }
    if (BootStatus s = add(reg); s != BootStatus::kOk) {
      return s;
    }
  }
  for (int i = 0; i < len / (stride * 4); ++i) {
    const fdt32_t* e = ranges + i * stride;
    if (BootStatus s = add(make_range(fdt::read_cells(e + 3, parent_addr),
                                      fdt::read_cells(e + 3 + parent_addr, 2)));
        s != BootStatus::kOk) {
      return s;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (BootStatus s = add_window(windows[i]); s != BootStatus::kOk) {
      return s;
    }
  }
  out_->pci_host_node = node;
  return BootStatus::kOk;
}

// Kept sorted and disjoint. Allowed devices whose windows overlap share one window, grown
// until it overlaps nothing else; a redistributor region must stand alone, since the arch
// keeps part of it (gic.h) and a plain window over it would hand the host those frames.
BootStatus Planner::add_window(const HostWindow& w) {
  HostWindow merged = w;
  for (size_t i = 0; i < out_->window_count;) {
    const HostWindow have = out_->windows[i];
    if (!intersects(have.range, merged.range)) {
      ++i;
      continue;
    }
    if (have.kind != WindowKind::kPlain || merged.kind != WindowKind::kPlain) {
      return BootStatus::kBadDtb;
    }
    const uint64_t base = have.range.base.value() < merged.range.base.value()
                              ? have.range.base.value()
                              : merged.range.base.value();
    const uint64_t end = have.range.end().value() > merged.range.end().value()
                             ? have.range.end().value()
                             : merged.range.end().value();
    merged.range = make_range(base, end - base);
    for (size_t j = i + 1; j < out_->window_count; ++j) {
      out_->windows[j - 1] = out_->windows[j];
    }
    --out_->window_count;
    i = 0;  // the grown window may now reach one already passed
  }
  if (out_->window_count == kMaxHostWindows) {
    return BootStatus::kNoSpace;
  }
  size_t i = out_->window_count++;
  for (; i > 0 && out_->windows[i - 1].range.base.value() > merged.range.base.value(); --i) {
    out_->windows[i] = out_->windows[i - 1];
  }
  out_->windows[i] = merged;
  return BootStatus::kOk;
}

void Planner::remove_windows_of(int node) {
  size_t kept = 0;
  for (size_t i = 0; i < out_->window_count; ++i) {
    if (out_->windows[i].node != node) {
      out_->windows[kept++] = out_->windows[i];
    }
  }
  out_->window_count = kept;
}

bool Planner::has_window(int node) const {
  for (size_t i = 0; i < out_->window_count; ++i) {
    if (out_->windows[i].node == node) {
      return true;
    }
  }
  return false;
}

// Stage-2 maps whole pages: a window that reaches into the registers of a device the host is
// not given would give it that device too, so the allowed device loses its window instead.
// Every register block in the CPU's address space counts, including those of nodes the walk
// did not judge (disabled ones, children of denied ones): the hardware answers there whatever
// the DTB says about it.
BootStatus Planner::deny_page_sharers() {
  constexpr int kMaxDepth = 32;
  bool translatable[kMaxDepth] = {true};  // per depth: addresses there are CPU addresses
  BootStatus status = walk_tree(fdt_, [&](int node, int depth, bool* descend) {
    if (depth >= kMaxDepth || !translatable[depth - 1] || is_not_device(fdt_, node, depth)) {
      *descend = false;
      return BootStatus::kOk;
    }
    translatable[depth] = ranges_of(fdt_, node) == Ranges::kIdentity;
    if (has_window(node)) {
      return BootStatus::kOk;
    }
    const int count = fdt::reg_count(fdt_, node);
    for (int r = 0; r < count; ++r) {
      MemRange reg;
      if (device_reg(fdt_, node, r, &reg) != BootStatus::kOk) {
        break;  // not decodable as Linux would: nothing to compare
      }
      for (size_t w = 0; w < out_->window_count;) {
        if (!intersects(out_->windows[w].range, reg)) {
          ++w;
          continue;
        }
        const int sharer = out_->windows[w].node;
        remove_windows_of(sharer);
        if (BootStatus s = deny(sharer, Denial::kSharesPage); s != BootStatus::kOk) {
          return s;
        }
        w = 0;
      }
    }
    return BootStatus::kOk;
  });
  if (status != BootStatus::kOk) {
    return status;
  }
  // Back to DTB order, which the host DTB editor relies on.
  for (size_t i = 1; i < out_->denied_count; ++i) {
    const DeniedDevice d = out_->denied[i];
    size_t j = i;
    for (; j > 0 && out_->denied[j - 1].node > d.node; --j) {
      out_->denied[j] = out_->denied[j - 1];
    }
    out_->denied[j] = d;
  }
  return BootStatus::kOk;
}

}  // namespace

BootStatus plan_host_devices(const void* fdt, const PlatformInfo& info, const DevicePolicy& policy,
                             DevicePlan* out) {
  *out = DevicePlan{};
  out->ipa_limit = policy.ipa_limit;
  if (fdt_check_header(fdt) != 0 || !policy.allowed) {
    return BootStatus::kBadDtb;
  }
  return Planner(fdt, info, policy, out).run();
}

const char* denial_name(Denial why) {
  switch (why) {
    case Denial::kDmaMaster:
      return "DMA master";
    case Denial::kNotAllowed:
      return "not on the allowlist";
    case Denial::kUntranslatable:
      return "behind a translating bus";
    case Denial::kSharesPage:
      return "shares a page with a device the host is not given";
    case Denial::kBeyondIpa:
      return "beyond the host's IPA space";
  }
  return "denied";
}

}  // namespace hyp::boot

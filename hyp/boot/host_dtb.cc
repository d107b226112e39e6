#include "host_dtb.h"

#include <libfdt.h>

#include "fdt_util.h"

namespace hyp::boot {

namespace {

int g_last_fdt_error = 0;

// Every libfdt failure is kept for the log; only running out of room is
// kNoSpace, the rest means the blob was not what we expected.
BootStatus check(int fdt_err) {
  if (fdt_err >= 0) {
    return BootStatus::kOk;
  }
  g_last_fdt_error = fdt_err;
  return fdt_err == -FDT_ERR_NOSPACE ? BootStatus::kNoSpace : BootStatus::kBadDtb;
}

// "<name>@<hex base>" as DT unit names want it.
void unit_name(char* out, size_t size, const char* name, uint64_t base) {
  size_t n = 0;
  for (; *name && n + 1 < size; ++name) {
    out[n++] = *name;
  }
  char hex[17];
  int digits = 0;
  do {
    hex[digits++] = "0123456789abcdef"[base & 0xf];
    base >>= 4;
  } while (base);
  if (n + 1 < size) {
    out[n++] = '@';
  }
  while (digits && n + 1 < size) {
    out[n++] = hex[--digits];
  }
  out[n] = '\0';
}

// Runs a sequence of libfdt edits, keeping the first error: later steps
// after a failure are skipped, so one check at the end is enough.
class FdtEdit {
 public:
  explicit FdtEdit(void* fdt) : fdt_(fdt) {}

  template <typename F>
  int operator()(F&& step) {
    if (error_ < 0) {
      return error_;
    }
    const int r = step(fdt_);
    if (r < 0) {
      error_ = r;
    }
    return r;
  }
  BootStatus status() const { return check(error_ < 0 ? error_ : 0); }
  // The first libfdt error, else `result` (an offset the caller wants back).
  int result_or_error(int result) const { return error_ < 0 ? error_ : result; }

 private:
  void* fdt_;
  int error_ = 0;
};

int append_cells(void* fdt, int node, const char* prop, uint64_t value, int cells) {
  if (cells == 2) {
    return fdt_appendprop_u64(fdt, node, prop, value);
  }
  if (value >> 32) {
    return -FDT_ERR_BADVALUE;
  }
  return fdt_appendprop_u32(fdt, node, prop, static_cast<uint32_t>(value));
}

int find_or_add(void* fdt, int parent, const char* name) {
  const int node = fdt_subnode_offset(fdt, parent, name);
  return node >= 0 ? node : fdt_add_subnode(fdt, parent, name);
}

int reserved_memory_parent(void* fdt) {
  const int found = fdt_path_offset(fdt, "/reserved-memory");
  if (found >= 0) {
    return found;
  }
  FdtEdit edit(fdt);
  const int parent = edit([](void* f) { return fdt_add_subnode(f, 0, "reserved-memory"); });
  edit([&](void* f) { return fdt_setprop_u32(f, parent, "#address-cells", 2); });
  edit([&](void* f) { return fdt_setprop_u32(f, parent, "#size-cells", 2); });
  edit([&](void* f) { return fdt_setprop_empty(f, parent, "ranges"); });
  return edit.result_or_error(parent);
}

// A /reserved-memory child "<name>@<base>" with its reg; returns its offset.
int add_region(void* fdt, int parent, const char* name, MemRange range) {
  const int addr_cells = fdt_address_cells(fdt, parent);
  const int size_cells = fdt_size_cells(fdt, parent);
  if (addr_cells < 1 || addr_cells > 2 || size_cells < 1 || size_cells > 2) {
    return -FDT_ERR_BADNCELLS;
  }
  char unit[64];
  unit_name(unit, sizeof(unit), name, range.base.value());
  FdtEdit edit(fdt);
  const int node = edit([&](void* f) { return fdt_add_subnode(f, parent, unit); });
  edit([&](void* f) { return append_cells(f, node, "reg", range.base.value(), addr_cells); });
  edit([&](void* f) { return append_cells(f, node, "reg", range.size, size_cells); });
  return edit.result_or_error(node);
}

BootStatus add_reserved_memory(void* fdt, const NoMapRegion* regions, size_t count) {
  const int parent = reserved_memory_parent(fdt);
  if (parent < 0) {
    return check(parent);
  }
  FdtEdit edit(fdt);
  for (size_t i = 0; i < count; ++i) {
    const int node =
        edit([&](void* f) { return add_region(f, parent, regions[i].name, regions[i].range); });
    // no-map: Linux must neither allocate it nor put it in its linear map,
    // since any access, even speculative, would take a stage-2 fault.
    edit([&](void* f) { return fdt_setprop_empty(f, node, "no-map"); });
  }
  return edit.status();
}

// The host CMA pool: host RAM Linux uses for movable pages until a heap
// needs it, so "reusable" and never no-map. Returns its phandle in *phandle.
BootStatus add_host_cma(void* fdt, MemRange range, uint32_t* phandle) {
  const int parent = reserved_memory_parent(fdt);
  if (parent < 0) {
    return check(parent);
  }
  FdtEdit edit(fdt);
  const int node = edit([&](void* f) { return add_region(f, parent, "hypheap-cma", range); });
  edit([&](void* f) { return fdt_setprop_string(f, node, "compatible", "shared-dma-pool"); });
  edit([&](void* f) { return fdt_setprop_empty(f, node, "reusable"); });
  edit([&](void* f) { return fdt_generate_phandle(f, phandle); });
  edit([&](void* f) { return fdt_setprop_u32(f, node, "phandle", *phandle); });
  return edit.status();
}

// The backends the driver has, whether each is served from the host CMA pool, and the
// node and heap name of its benchmark heap (add_bench_heaps()).
struct BackendName {
  const char* name;
  bool from_host_cma;
  const char* bench_node;
  const char* bench_heap;
};
constexpr BackendName kBackends[] = {
    {"hyp", false, "heap-bench-hyp", "protected,bench-hyp"},
    {"cma", true, "heap-bench-cma", "protected,bench-cma"},
    {"ffa-lend", true, "heap-bench-ffa-lend", "protected,bench-ffa-lend"},
    {"carveout", false, "heap-bench-carveout", "protected,bench-carveout"},
};
static_assert(sizeof(kBackends) / sizeof(kBackends[0]) == kMaxBenchHeaps);

// A benchmark heap stands in for this use case's heap (docs/dt-binding.md).
constexpr const char* kBenchUseCase = "secure-video";

bool same(const char* s, size_t len, const char* word) {
  return strlen(word) == len && memcmp(s, word, len) == 0;
}

const BackendName* find_backend(const char* name, size_t len) {
  for (const BackendName& b : kBackends) {
    if (same(name, len, b.name))
      return &b;
  }
  return nullptr;
}

BootStatus add_service(void* fdt, const ServiceDesc& service, uint32_t cma_phandle) {
  FdtEdit edit(fdt);
  const int firmware = edit([](void* f) { return find_or_add(f, 0, "firmware"); });
  const int node = edit([&](void* f) { return fdt_add_subnode(f, firmware, "hypheap"); });
  edit([&](void* f) { return fdt_setprop_string(f, node, "compatible", "hypheap,hypervisor"); });
  edit([&](void* f) { return fdt_setprop_string(f, node, "method", service.conduit); });
  edit([&](void* f) { return fdt_setprop_u32(f, node, "hypheap,host-vmid", service.host_vmid); });
  edit([&](void* f) {
    return fdt_setprop_u32(f, node, "hypheap,abi-version", service.abi_version);
  });
  for (size_t i = 0; i < service.heap_count; ++i) {
    const HeapDesc& heap = service.heaps[i];
    const int sub = edit([&](void* f) { return fdt_add_subnode(f, node, heap.node); });
    edit([&](void* f) { return fdt_setprop_string(f, sub, "hypheap,heap-name", heap.heap_name); });
    for (size_t j = 0; j < heap.vmperm_count; ++j) {
      edit([&](void* f) {
        return fdt_appendprop_u32(f, sub, "hypheap,vmperms", heap.vmperms[j].vmid);
      });
      edit([&](void* f) {
        return fdt_appendprop_u32(f, sub, "hypheap,vmperms", heap.vmperms[j].perms);
      });
    }
    if (heap.from_host_cma && cma_phandle) {
      edit([&](void* f) { return fdt_setprop_u32(f, sub, "memory-region", cma_phandle); });
    }
    if (heap.backend != nullptr) {
      edit([&](void* f) { return fdt_setprop_string(f, sub, "hypheap,backend", heap.backend); });
    }
    if (heap.pool_bytes != 0) {
      edit([&](void* f) { return fdt_setprop_u64(f, sub, "hypheap,pool-bytes", heap.pool_bytes); });
    }
    if (heap.use_case != nullptr) {
      edit([&](void* f) { return fdt_setprop_string(f, sub, "hypheap,use-case", heap.use_case); });
    }
  }
  return edit.status();
}

// The PCIe host given behind the hyp's SMMU (devices.h): Linux must not look for the SMMU or
// the ITS (iommu-map, msi-map), nor place BARs in a window the host stage-2 does not map.
int patch_pci_host(void* fdt, int node, uint64_t ipa_limit) {
  constexpr int kMaxCells = 8 * 7;
  const int parent = fdt_parent_offset(fdt, node);
  const int parent_addr = parent >= 0 ? fdt_address_cells(fdt, parent) : -1;
  const int stride = 3 + parent_addr + 2;
  int len = 0;
  const auto* ranges = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "ranges", &len));
  if (parent_addr < 1 || parent_addr > 2 || !ranges || len % (stride * 4) != 0 ||
      len / 4 > kMaxCells) {
    return -FDT_ERR_BADVALUE;
  }
  fdt32_t kept[kMaxCells];
  int n = 0;
  for (int i = 0; i < len / 4; i += stride) {
    const uint64_t base = fdt::read_cells(ranges + i + 3, parent_addr);
    const uint64_t size = fdt::read_cells(ranges + i + 3 + parent_addr, 2);
    if (base < ipa_limit && size <= ipa_limit - base) {
      for (int c = 0; c < stride; ++c) {
        kept[n++] = ranges[i + c];
      }
    }
  }
  if (int err = fdt_setprop(fdt, node, "ranges", kept, n * 4); err < 0) {
    return err;
  }
  static constexpr const char* kDropped[] = {"iommu-map", "iommu-map-mask", "msi-map",
                                             "msi-map-mask"};
  for (const char* prop : kDropped) {
    if (int err = fdt_delprop(fdt, node, prop); err < 0 && err != -FDT_ERR_NOTFOUND) {
      return err;
    }
  }
  return 0;
}

// Offsets in `buf` are still the original's until the first edit; each edit shifts only the
// nodes after it, so editing from the last node back keeps the rest valid.
BootStatus disable_devices(void* fdt, const DevicePlan& plan) {
  FdtEdit edit(fdt);
  bool pci_done = plan.pci_host_node < 0;
  for (size_t i = plan.denied_count; i-- > 0;) {
    const int node = plan.denied[i].node;
    if (!pci_done && node < plan.pci_host_node) {
      edit([&](void* f) { return patch_pci_host(f, plan.pci_host_node, plan.ipa_limit); });
      pci_done = true;
    }
    edit([&](void* f) { return fdt_setprop_string(f, node, "status", "disabled"); });
  }
  if (!pci_done) {
    edit([&](void* f) { return patch_pci_host(f, plan.pci_host_node, plan.ipa_limit); });
  }
  return edit.status();
}

}  // namespace

const char* host_dtb_last_error() {
  return fdt_strerror(g_last_fdt_error);
}

BootStatus build_host_dtb(const void* orig, void* buf, size_t size, const NoMapRegion* regions,
                          size_t region_count, const DevicePlan& devices,
                          const ServiceDesc& service) {
  if (fdt_check_header(orig) != 0) {
    return BootStatus::kBadDtb;
  }
  if (BootStatus s = check(fdt_open_into(orig, buf, static_cast<int>(size)));
      s != BootStatus::kOk) {
    return s;
  }
  if (BootStatus s = disable_devices(buf, devices); s != BootStatus::kOk) {
    return s;
  }
  if (BootStatus s = add_reserved_memory(buf, regions, region_count); s != BootStatus::kOk) {
    return s;
  }
  uint32_t cma_phandle = 0;  // 0 is never a valid phandle
  if (!is_empty(service.host_cma)) {
    if (BootStatus s = add_host_cma(buf, service.host_cma, &cma_phandle); s != BootStatus::kOk) {
      return s;
    }
  }
  if (BootStatus s = add_service(buf, service, cma_phandle); s != BootStatus::kOk) {
    return s;
  }
  return check(fdt_pack(buf));
}

// Splits `spec` into <heap>:<value> pairs, <heap> a node name of `heaps` without "heap-";
// `value` turns each value into a change (false: refused). Nothing is applied unless every
// pair is good: then `apply` runs for each, in order.
template <typename Change, typename Value, typename Apply>
BootStatus for_each_heap_pair(const char* spec, size_t len, HeapDesc* heaps, size_t count,
                              Value value, Apply apply) {
  constexpr size_t kMaxPairs = 8;
  struct Pair {
    size_t heap;
    Change change;
  } pairs[kMaxPairs];
  size_t nr = 0;
  if (len > 0 && spec[len - 1] == ',')
    return BootStatus::kBadPolicy;  // an empty last pair
  for (size_t at = 0; at < len;) {
    size_t end = at;
    while (end < len && spec[end] != ',')
      ++end;
    size_t colon = at;
    while (colon < end && spec[colon] != ':')
      ++colon;
    if (colon == end || nr == kMaxPairs)
      return BootStatus::kBadPolicy;
    const char* heap = spec + at;
    const size_t heap_len = colon - at;
    Pair p{count, {}};
    for (size_t i = 0; i < count; ++i) {
      const char* node = heaps[i].node;
      // A bench heap (the one kind with a use case apart from its name) keeps its name's
      // backend and no pool, whichever heaps `count` takes in.
      if (heaps[i].use_case == nullptr && strlen(node) > 5 && memcmp(node, "heap-", 5) == 0 &&
          same(heap, heap_len, node + 5))
        p.heap = i;
    }
    if (p.heap == count || !value(spec + colon + 1, end - colon - 1, &p.change))
      return BootStatus::kBadPolicy;
    for (size_t i = 0; i < nr; ++i) {
      if (pairs[i].heap == p.heap)
        return BootStatus::kBadPolicy;  // which one was meant?
    }
    pairs[nr++] = p;
    at = end + 1;
  }
  for (size_t i = 0; i < nr; ++i)
    apply(heaps[pairs[i].heap], pairs[i].change);
  return BootStatus::kOk;
}

BootStatus apply_heap_backends(const char* spec, size_t len, HeapDesc* heaps, size_t count) {
  return for_each_heap_pair<const BackendName*>(
      spec, len, heaps, count,
      [](const char* v, size_t n, const BackendName** out) {
        *out = find_backend(v, n);
        return *out != nullptr;
      },
      [](HeapDesc& heap, const BackendName* b) {
        heap.backend = b->name;
        heap.from_host_cma = b->from_host_cma;
      });
}

BootStatus apply_heap_pools(const char* spec, size_t len, HeapDesc* heaps, size_t count) {
  return for_each_heap_pair<uint64_t>(
      spec, len, heaps, count,
      [](const char* v, size_t n, uint64_t* out) {
        constexpr uint64_t kPage = 4096;
        constexpr uint64_t kMax = uint64_t{1} << 40;  // far past any RAM we boot with
        size_t digits = 0;
        uint64_t bytes = 0;
        for (; digits < n && v[digits] >= '0' && v[digits] <= '9'; ++digits) {
          bytes = bytes * 10 + static_cast<uint64_t>(v[digits] - '0');
          if (bytes > kMax)
            return false;
        }
        if (digits == 0 || n - digits > 1)
          return false;
        if (digits < n) {
          const char suffix = v[digits];
          const unsigned shift = suffix == 'K' ? 10 : suffix == 'M' ? 20 : suffix == 'G' ? 30 : 0;
          if (shift == 0)
            return false;
          bytes <<= shift;
        }
        if (bytes > kMax || bytes % kPage != 0)
          return false;
        *out = bytes;
        return true;
      },
      [](HeapDesc& heap, uint64_t bytes) { heap.pool_bytes = bytes; });
}

BootStatus add_bench_heaps(const char* spec, size_t len, VmPerm dest, HeapDesc* heaps,
                           size_t* count, size_t capacity) {
  const BackendName* chosen[kMaxBenchHeaps];
  size_t nr = 0;
  for (size_t at = 0, end = 0; len > 0; at = end + 1) {
    for (end = at; end < len && spec[end] != ',';)
      ++end;
    const BackendName* b = find_backend(spec + at, end - at);
    if (b == nullptr)
      return BootStatus::kBadPolicy;  // unknown, or empty (",", a trailing comma)
    for (size_t i = 0; i < nr; ++i) {
      if (chosen[i] == b)
        return BootStatus::kBadPolicy;  // one heap per backend: its node name is the backend's
    }
    if (nr == kMaxBenchHeaps)
      return BootStatus::kBadPolicy;
    chosen[nr++] = b;
    if (end == len)
      break;
  }
  if (*count > capacity || nr > capacity - *count)
    return BootStatus::kBadPolicy;
  for (size_t i = 0; i < nr; ++i) {
    heaps[(*count)++] = HeapDesc{.node = chosen[i]->bench_node,
                                 .heap_name = chosen[i]->bench_heap,
                                 .vmperms = {dest},
                                 .vmperm_count = 1,
                                 .from_host_cma = chosen[i]->from_host_cma,
                                 .backend = chosen[i]->name,
                                 .use_case = kBenchUseCase};
  }
  return BootStatus::kOk;
}

}  // namespace hyp::boot

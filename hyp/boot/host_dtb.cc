#include "host_dtb.h"

#include <libfdt.h>

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

BootStatus add_reserved_memory(void* fdt, const NoMapRegion* regions, size_t count) {
  FdtEdit edit(fdt);
  int parent = fdt_path_offset(fdt, "/reserved-memory");
  if (parent < 0) {
    parent = edit([](void* f) { return fdt_add_subnode(f, 0, "reserved-memory"); });
    edit([&](void* f) { return fdt_setprop_u32(f, parent, "#address-cells", 2); });
    edit([&](void* f) { return fdt_setprop_u32(f, parent, "#size-cells", 2); });
    edit([&](void* f) { return fdt_setprop_empty(f, parent, "ranges"); });
    if (edit.status() != BootStatus::kOk) {
      return edit.status();
    }
  }
  const int addr_cells = fdt_address_cells(fdt, parent);
  const int size_cells = fdt_size_cells(fdt, parent);
  if (addr_cells < 1 || addr_cells > 2 || size_cells < 1 || size_cells > 2) {
    return BootStatus::kBadDtb;
  }
  for (size_t i = 0; i < count; ++i) {
    const NoMapRegion& region = regions[i];
    char name[64];
    unit_name(name, sizeof(name), region.name, region.range.base.value());
    const int node = edit([&](void* f) { return fdt_add_subnode(f, parent, name); });
    edit([&](void* f) {
      return append_cells(f, node, "reg", region.range.base.value(), addr_cells);
    });
    edit([&](void* f) { return append_cells(f, node, "reg", region.range.size, size_cells); });
    // no-map: Linux must neither allocate it nor put it in its linear map,
    // since any access, even speculative, would take a stage-2 fault.
    edit([&](void* f) { return fdt_setprop_empty(f, node, "no-map"); });
  }
  return edit.status();
}

BootStatus add_service(void* fdt, const ServiceDesc& service) {
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
  }
  return edit.status();
}

}  // namespace

const char* host_dtb_last_error() {
  return fdt_strerror(g_last_fdt_error);
}

BootStatus build_host_dtb(const void* orig, void* buf, size_t size, const NoMapRegion* regions,
                          size_t region_count, const ServiceDesc& service) {
  if (fdt_check_header(orig) != 0) {
    return BootStatus::kBadDtb;
  }
  if (BootStatus s = check(fdt_open_into(orig, buf, static_cast<int>(size)));
      s != BootStatus::kOk) {
    return s;
  }
  if (BootStatus s = add_reserved_memory(buf, regions, region_count); s != BootStatus::kOk) {
    return s;
  }
  if (BootStatus s = add_service(buf, service); s != BootStatus::kOk) {
    return s;
  }
  return check(fdt_pack(buf));
}

}  // namespace hyp::boot

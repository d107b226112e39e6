// Reading the platform description out of the DTB with libfdt.
#include <libfdt.h>

#include "fdt_util.h"
#include "platform.h"

namespace hyp::boot {

namespace {

using fdt::prop_is;
using fdt::read_cells;
using fdt::read_reg;
using fdt::reg_count;

uint64_t read_u32_or_u64(const void* fdt, int node, const char* name, bool* found) {
  int len = 0;
  const auto* prop = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, name, &len));
  *found = prop && (len == 4 || len == 8);
  return *found ? read_cells(prop, len / 4) : 0;
}

BootStatus read_memory(const void* fdt, PlatformInfo* out) {
  for (int node = fdt_node_offset_by_prop_value(fdt, -1, "device_type", "memory", 7); node >= 0;
       node = fdt_node_offset_by_prop_value(fdt, node, "device_type", "memory", 7)) {
    const int n = reg_count(fdt, node);
    for (int i = 0; i < n; ++i) {
      MemRange bank;
      if (!read_reg(fdt, node, i, &bank)) {
        return BootStatus::kBadDtb;
      }
      if (is_empty(bank)) {
        continue;
      }
      if (out->ram_count == kMaxRamBanks) {
        return BootStatus::kNoSpace;
      }
      out->ram[out->ram_count++] = bank;
    }
  }
  return out->ram_count ? BootStatus::kOk : BootStatus::kBadDtb;
}

bool contains_word(const char* s, int len, const char* word) {
  const int n = static_cast<int>(strlen(word));
  for (int i = 0; i + n <= len; ++i) {
    const bool starts = i == 0 || s[i - 1] == ' ';
    const bool ends = i + n == len || s[i + n] == ' ' || s[i + n] == '\0';
    if (starts && ends && memcmp(s + i, word, n) == 0) {
      return true;
    }
  }
  return false;
}

// The value of the word starting with `key` ("name=") into out (NUL-terminated); out stays
// empty when there is no such word. False, and out empty, when the value does not fit: a
// value cut short could still parse, as something other than what was asked for.
bool copy_option_value(const char* s, int len, const char* key, char* out, size_t cap) {
  const int n = static_cast<int>(strlen(key));
  for (int i = 0; i + n <= len; ++i) {
    if ((i != 0 && s[i - 1] != ' ') || memcmp(s + i, key, n) != 0)
      continue;
    size_t j = 0;
    for (int k = i + n; k < len && s[k] != ' ' && s[k] != '\0'; ++k) {
      if (j + 1 == cap) {
        out[0] = '\0';
        return false;
      }
      out[j++] = s[k];
    }
    out[j] = '\0';
    return true;
  }
  return true;
}

BootStatus read_chosen(const void* fdt, PlatformInfo* out) {
  const int chosen = fdt_path_offset(fdt, "/chosen");
  if (chosen < 0) {
    return BootStatus::kOk;
  }
  int len = 0;
  const char* bootargs = static_cast<const char*>(fdt_getprop(fdt, chosen, "bootargs", &len));
  out->el2_crash_test = bootargs && contains_word(bootargs, len, "hypheap.el2_crash_test");
  out->el2_stack_overflow_test =
      bootargs && contains_word(bootargs, len, "hypheap.el2_stack_overflow_test");
  out->attest = bootargs && contains_word(bootargs, len, "hypheap.attest");
  out->svm_fault_op = bootargs && contains_word(bootargs, len, "hypheap.svm_fault_op");
  out->svm_boot_fault_test =
      bootargs && contains_word(bootargs, len, "hypheap.svm_boot_fault_test");
  if (bootargs) {
    struct {
      const char* key;
      char* value;
      size_t cap;
    } const options[] = {
        {"hypheap.heap_backends=", out->heap_backends, sizeof(out->heap_backends)},
        {"hypheap.heap_pools=", out->heap_pools, sizeof(out->heap_pools)},
        {"hypheap.bench_heaps=", out->bench_heaps, sizeof(out->bench_heaps)},
    };
    static_assert(sizeof(options) / sizeof(options[0]) <= PlatformInfo::kMaxOverlong);
    out->overlong_count = 0;
    for (const auto& o : options) {
      if (!copy_option_value(bootargs, len, o.key, o.value, o.cap))
        out->overlong_options[out->overlong_count++] = o.key;
    }
  }
  bool has_start = false;
  bool has_end = false;
  const uint64_t start = read_u32_or_u64(fdt, chosen, "linux,initrd-start", &has_start);
  const uint64_t end = read_u32_or_u64(fdt, chosen, "linux,initrd-end", &has_end);
  if (has_start && has_end) {
    if (end < start) {
      return BootStatus::kBadDtb;
    }
    out->initrd = make_range(start, end - start);
  }
  return BootStatus::kOk;
}

// The console is the PL011 /chosen/stdout-path names; failing that, the first.
int find_console_uart(const void* fdt, const char* compatible) {
  const int chosen = fdt_path_offset(fdt, "/chosen");
  int len = 0;
  const char* path = chosen >= 0
                         ? static_cast<const char*>(fdt_getprop(fdt, chosen, "stdout-path", &len))
                         : nullptr;
  if (path && len > 0) {
    int n = 0;
    while (n < len && path[n] && path[n] != ':') {
      ++n;
    }
    const int node = fdt_path_offset_namelen(fdt, path, n);
    if (node >= 0 && fdt_node_check_compatible(fdt, node, compatible) == 0) {
      return node;
    }
  }
  return fdt_node_offset_by_compatible(fdt, -1, compatible);
}

BootStatus read_devices(const void* fdt, const DtbCompatibles& compat, PlatformInfo* out) {
  const int uart = find_console_uart(fdt, compat.uart);
  if (uart < 0 || !read_reg(fdt, uart, 0, &out->uart)) {
    return BootStatus::kBadDtb;
  }
  const int gic = fdt_node_offset_by_compatible(fdt, -1, compat.gic);
  if (gic >= 0) {
    if (!read_reg(fdt, gic, 0, &out->gic_dist) || !read_reg(fdt, gic, 1, &out->gic_redist)) {
      return BootStatus::kBadDtb;
    }
  }
  static const char* const kPsci[] = {"arm,psci-1.0", "arm,psci-0.2"};
  for (const char* psci : kPsci) {
    const int node = fdt_node_offset_by_compatible(fdt, -1, psci);
    if (node < 0) {
      continue;
    }
    out->psci = prop_is(fdt, node, "method", "smc")   ? PsciConduit::kSmc
                : prop_is(fdt, node, "method", "hvc") ? PsciConduit::kHvc
                                                      : PsciConduit::kNone;
    break;
  }
  return BootStatus::kOk;
}

BootStatus read_cpus(const void* fdt, PlatformInfo* out) {
  const int cpus = fdt_path_offset(fdt, "/cpus");
  if (cpus < 0) {
    return BootStatus::kBadDtb;
  }
  const int addr_cells = fdt_address_cells(fdt, cpus);
  int node;
  fdt_for_each_subnode(node, fdt, cpus) {
    if (!prop_is(fdt, node, "device_type", "cpu")) {
      continue;
    }
    int len = 0;
    const auto* reg = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "reg", &len));
    if (!reg || addr_cells < 1 || addr_cells > 2 || len < addr_cells * 4) {
      return BootStatus::kBadDtb;
    }
    if (out->cpu_count == kMaxDtbCpus) {
      return BootStatus::kNoSpace;
    }
    out->cpu_mpidr[out->cpu_count++] = read_cells(reg, addr_cells);
  }
  return out->cpu_count ? BootStatus::kOk : BootStatus::kBadDtb;
}

BootStatus add_reserved(PlatformInfo* out, MemRange range) {
  if (is_empty(range)) {
    return BootStatus::kOk;
  }
  if (out->reserved_count == kMaxReserved) {
    return BootStatus::kNoSpace;
  }
  out->reserved[out->reserved_count++] = range;
  return BootStatus::kOk;
}

BootStatus read_reserved(const void* fdt, PlatformInfo* out) {
  const int n = fdt_num_mem_rsv(fdt);
  for (int i = 0; i < n; ++i) {
    uint64_t base = 0;
    uint64_t size = 0;
    if (fdt_get_mem_rsv(fdt, i, &base, &size) < 0) {
      return BootStatus::kBadDtb;
    }
    const MemRange range = make_range(base, size);
    if (BootStatus s = add_reserved(out, range); s != BootStatus::kOk) {
      return s;
    }
  }
  const int parent = fdt_path_offset(fdt, "/reserved-memory");
  if (parent < 0) {
    return BootStatus::kOk;
  }
  int node;
  fdt_for_each_subnode(node, fdt, parent) {
    const int count = reg_count(fdt, node);
    for (int i = 0; i < count; ++i) {
      MemRange range;
      if (!read_reg(fdt, node, i, &range)) {
        return BootStatus::kBadDtb;
      }
      if (BootStatus s = add_reserved(out, range); s != BootStatus::kOk) {
        return s;
      }
    }
  }
  return BootStatus::kOk;
}

}  // namespace

const char* status_name(BootStatus status) {
  switch (status) {
    case BootStatus::kOk:
      return "ok";
    case BootStatus::kBadDtb:
      return "bad or incomplete DTB";
    case BootStatus::kNoSpace:
      return "fixed table or buffer too small";
    case BootStatus::kOverlap:
      return "carve-out overlaps memory in use";
    case BootStatus::kOutOfRange:
      return "address out of the mappable range";
    case BootStatus::kNoHostKernel:
      return "no arm64 Image at the host kernel address";
    case BootStatus::kBadPolicy:
      return "inconsistent platform policy";
  }
  return "unknown status";
}

BootStatus read_platform(const void* dtb, const DtbCompatibles& compat, PlatformInfo* out) {
  if (fdt_check_header(dtb) != 0) {
    return BootStatus::kBadDtb;
  }
  *out = PlatformInfo{};
  out->dtb = make_range(reinterpret_cast<uintptr_t>(dtb), fdt_totalsize(dtb));
  if (BootStatus s = read_memory(dtb, out); s != BootStatus::kOk) {
    return s;
  }
  if (BootStatus s = read_chosen(dtb, out); s != BootStatus::kOk) {
    return s;
  }
  if (BootStatus s = read_devices(dtb, compat, out); s != BootStatus::kOk) {
    return s;
  }
  if (BootStatus s = read_cpus(dtb, out); s != BootStatus::kOk) {
    return s;
  }
  return read_reserved(dtb, out);
}

}  // namespace hyp::boot

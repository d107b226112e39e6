#include "fdt_util.h"

#include <libfdt.h>

namespace hyp::boot::fdt {

uint64_t read_cells(const void* cells, int count) {
  const auto* c = static_cast<const fdt32_t*>(cells);
  uint64_t value = 0;
  for (int i = 0; i < count; ++i) {
    value = (value << 32) | fdt32_to_cpu(c[i]);
  }
  return value;
}

bool read_reg(const void* fdt, int node, int index, MemRange* out) {
  const int parent = fdt_parent_offset(fdt, node);
  if (parent < 0) {
    return false;
  }
  const int addr_cells = fdt_address_cells(fdt, parent);
  const int size_cells = fdt_size_cells(fdt, parent);
  if (addr_cells < 1 || addr_cells > 2 || size_cells < 0 || size_cells > 2) {
    return false;
  }
  int len = 0;
  const auto* reg = static_cast<const fdt32_t*>(fdt_getprop(fdt, node, "reg", &len));
  const int stride = addr_cells + size_cells;
  if (!reg || len < 0 || index < 0 || (index + 1) * stride * 4 > len) {
    return false;
  }
  const fdt32_t* entry = reg + index * stride;
  *out = make_range(read_cells(entry, addr_cells), read_cells(entry + addr_cells, size_cells));
  return true;
}

int reg_count(const void* fdt, int node) {
  const int parent = fdt_parent_offset(fdt, node);
  int len = 0;
  if (parent < 0 || !fdt_getprop(fdt, node, "reg", &len) || len <= 0) {
    return 0;
  }
  const int stride = fdt_address_cells(fdt, parent) + fdt_size_cells(fdt, parent);
  return stride > 0 ? len / (stride * 4) : 0;
}

bool prop_is(const void* fdt, int node, const char* name, const char* value) {
  int len = 0;
  const char* prop = static_cast<const char*>(fdt_getprop(fdt, node, name, &len));
  return prop && len > 0 && strnlen(prop, len) == strlen(value) &&
         memcmp(prop, value, strlen(value)) == 0;
}

bool is_compatible(const void* fdt, int node, const char* compatible) {
  return fdt_node_check_compatible(fdt, node, compatible) == 0;
}

bool is_enabled(const void* fdt, int node) {
  int len = 0;
  if (!fdt_getprop(fdt, node, "status", &len)) {
    return true;
  }
  return prop_is(fdt, node, "status", "okay") || prop_is(fdt, node, "status", "ok");
}

}  // namespace hyp::boot::fdt

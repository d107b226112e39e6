// Small readers over libfdt shared by the boot code that walks the DTB.
#pragma once

#include <stdint.h>

#include "range.h"

namespace hyp::boot::fdt {

// A big-endian cell array as one number (1 or 2 cells in practice).
uint64_t read_cells(const void* cells, int count);

// Entry `index` of a node's "reg", decoded with its parent's #address-cells
// and #size-cells. False if the node has no such entry or the cell sizes are
// not 1-2 (address) and 0-2 (size).
bool read_reg(const void* fdt, int node, int index, MemRange* out);

// How many entries a node's "reg" holds (0 if none or malformed).
int reg_count(const void* fdt, int node);

// True if the string property `name` is exactly `value`.
bool prop_is(const void* fdt, int node, const char* name, const char* value);

// True if the node's "compatible" list holds `compatible`.
bool is_compatible(const void* fdt, int node, const char* compatible);

// A node is enabled unless its "status" says otherwise ("okay"/"ok" or absent).
bool is_enabled(const void* fdt, int node);

}  // namespace hyp::boot::fdt

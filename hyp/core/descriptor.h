// Parsing of the MEM_ASSIGN descriptor (include/hypheap/abi.h) out of the hyp's private copy.
// Nothing here reads host memory: the hypercall layer has copied it already.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "types.h"

namespace hyp {

struct Dest {
  VmId vmid;
  Perms perms;
};

struct Descriptor {
  uint64_t srcvm = 0;
  Dest dests[HYPHEAP_DESC_MAX_DESTS];
  size_t nr_dests = 0;
  std::span<MemRange> ranges;  // in the caller's scratch array, in descriptor order
  bool scrub = false;          // HYPHEAP_DESC_F_SCRUB
};

// Checks the framing (version, reserved fields, counts against `bytes.size()`) and decodes
// it; ranges go to `scratch`, which must hold HYPHEAP_DESC_MAX_RANGES(1) entries.
[[nodiscard]] Status parse_descriptor(std::span<const uint8_t> bytes, std::span<MemRange> scratch,
                                      Descriptor* out);

}  // namespace hyp

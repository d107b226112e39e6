#include "descriptor.h"

namespace hyp {
namespace {

template <typename T>
T read_at(std::span<const uint8_t> bytes, size_t offset) {
  T value;
  __builtin_memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

Status check_header(const hypheap_assign_hdr& hdr, size_t len) {
  if (hdr.version != HYPHEAP_DESC_VERSION)
    return Status::kBadVersion;
  if ((hdr.flags & ~HYPHEAP_DESC_F_SCRUB) != 0 || hdr.reserved != 0)
    return Status::kDescReserved;
  if (hdr.nr_dests == 0 || hdr.nr_dests > HYPHEAP_DESC_MAX_DESTS)
    return Status::kDestSet;
  // nr_ranges is 32-bit, so the size computation cannot overflow 64 bits.
  if (hdr.nr_ranges == 0 ||
      HYPHEAP_DESC_SIZE(uint64_t(hdr.nr_dests), uint64_t(hdr.nr_ranges)) != len)
    return Status::kDescLen;
  return Status::kOk;
}

}  // namespace

Status parse_descriptor(std::span<const uint8_t> bytes, std::span<MemRange> scratch,
                        Descriptor* out) {
  if (bytes.size() < sizeof(hypheap_assign_hdr) || bytes.size() > HYPHEAP_DESC_MAX_SIZE)
    return Status::kDescLen;
  const auto hdr = read_at<hypheap_assign_hdr>(bytes, 0);
  HYP_TRY(check_header(hdr, bytes.size()));
  if (hdr.nr_ranges > scratch.size())
    return Status::kDescLen;

  out->srcvm = hdr.srcvm;
  out->scrub = (hdr.flags & HYPHEAP_DESC_F_SCRUB) != 0;
  out->nr_dests = hdr.nr_dests;
  size_t offset = sizeof(hypheap_assign_hdr);
  for (size_t i = 0; i < out->nr_dests; i++, offset += sizeof(hypheap_vmperm)) {
    const auto d = read_at<hypheap_vmperm>(bytes, offset);
    out->dests[i] = Dest{VmId(d.vmid), Perms(d.perms)};
  }
  for (size_t i = 0; i < hdr.nr_ranges; i++, offset += sizeof(hypheap_mem_range)) {
    const auto r = read_at<hypheap_mem_range>(bytes, offset);
    scratch[i] = MemRange{PhysAddr(r.addr), r.size};
  }
  out->ranges = scratch.first(hdr.nr_ranges);
  return Status::kOk;
}

}  // namespace hyp

// Strong types shared by every core module: addresses, VM ids, permissions, status.
#pragma once

#include <hypheap/abi.h>

#include <compare>
#include <cstddef>
#include <cstdint>

namespace hyp {

inline constexpr uint64_t kPageShift = 12;
inline constexpr uint64_t kPageSize = 1ULL << kPageShift;
static_assert(kPageSize == HYPHEAP_PAGE_SIZE);

constexpr bool is_page_aligned(uint64_t v) {
  return (v & (kPageSize - 1)) == 0;
}

// A physical address. Deliberately not convertible to Ipa or to integers implicitly: the
// hypervisor's worst bugs are address-space mix-ups.
class PhysAddr {
 public:
  constexpr PhysAddr() = default;
  constexpr explicit PhysAddr(uint64_t value) : value_(value) {}
  constexpr uint64_t value() const { return value_; }
  constexpr PhysAddr operator+(uint64_t offset) const { return PhysAddr(value_ + offset); }
  friend constexpr auto operator<=>(PhysAddr, PhysAddr) = default;

 private:
  uint64_t value_ = 0;
};

// An intermediate physical address: what a VM believes is physical.
class Ipa {
 public:
  constexpr Ipa() = default;
  constexpr explicit Ipa(uint64_t value) : value_(value) {}
  constexpr uint64_t value() const { return value_; }
  constexpr Ipa operator+(uint64_t offset) const { return Ipa(value_ + offset); }
  friend constexpr auto operator<=>(Ipa, Ipa) = default;

 private:
  uint64_t value_ = 0;
};

// Every VM hypheap manages (host and secure VMs) sees RAM at IPA == PA (docs/hyp-core.md);
// these are the only two places where that decision is encoded.
constexpr Ipa ipa_identity(PhysAddr pa) {
  return Ipa(pa.value());
}
constexpr PhysAddr pa_identity(Ipa ipa) {
  return PhysAddr(ipa.value());
}

class VmId {
 public:
  constexpr VmId() = default;
  constexpr explicit VmId(uint32_t value) : value_(value) {}
  constexpr uint32_t value() const { return value_; }
  constexpr bool fits_bitmap() const { return value_ < HYPHEAP_VMID_LIMIT; }
  constexpr uint64_t bit() const { return HYPHEAP_VMID_BIT(value_); }
  friend constexpr auto operator<=>(VmId, VmId) = default;

 private:
  uint32_t value_ = 0;
};

inline constexpr VmId kVmidHyp{HYPHEAP_VMID_HYP};
inline constexpr VmId kVmidHost{HYPHEAP_VMID_HOST};

// Access rights a VM gets on a page, with the qcom_scm_vmperm encoding of the ABI.
class Perms {
 public:
  constexpr Perms() = default;
  constexpr explicit Perms(uint32_t bits) : bits_(bits) {}
  constexpr uint32_t bits() const { return bits_; }
  constexpr bool valid() const { return bits_ != 0 && (bits_ & ~HYPHEAP_PERM_RWX) == 0; }
  constexpr bool r() const { return bits_ & HYPHEAP_PERM_R; }
  constexpr bool w() const { return bits_ & HYPHEAP_PERM_W; }
  constexpr bool x() const { return bits_ & HYPHEAP_PERM_X; }
  friend constexpr bool operator==(Perms, Perms) = default;

 private:
  uint32_t bits_ = 0;
};

inline constexpr Perms kPermsRwx{HYPHEAP_PERM_RWX};

// One status type for the whole core; its values are the ABI's so the hypercall layer
// returns them unchanged.
enum class [[nodiscard]] Status : int64_t{
    kOk = HYPHEAP_OK,
    kNotSupported = HYPHEAP_ERR_NOT_SUPPORTED,
    kBadVersion = HYPHEAP_ERR_BAD_VERSION,
    kDescAlign = HYPHEAP_ERR_DESC_ALIGN,
    kDescNotHost = HYPHEAP_ERR_DESC_NOT_HOST,
    kDescLen = HYPHEAP_ERR_DESC_LEN,
    kDescReserved = HYPHEAP_ERR_DESC_RESERVED,
    kRangeUnaligned = HYPHEAP_ERR_RANGE_UNALIGNED,
    kRangeSize = HYPHEAP_ERR_RANGE_SIZE,
    kOutsideRam = HYPHEAP_ERR_OUTSIDE_RAM,
    kProtected = HYPHEAP_ERR_PROTECTED,
    kOverlap = HYPHEAP_ERR_OVERLAP,
    kState = HYPHEAP_ERR_STATE,
    kUnknownVmid = HYPHEAP_ERR_UNKNOWN_VMID,
    kPerms = HYPHEAP_ERR_PERMS,
    kDestSet = HYPHEAP_ERR_DEST_SET,
    kNoMemory = HYPHEAP_ERR_NO_MEMORY,
    kBusy = HYPHEAP_ERR_BUSY,
    kStatIndex = HYPHEAP_ERR_STAT_INDEX,
    kNotMapped = HYPHEAP_ERR_NOT_MAPPED,
    kHostAccess = HYPHEAP_ERR_HOST_ACCESS,
    kMailbox = HYPHEAP_ERR_MAILBOX,
    kFfa = HYPHEAP_ERR_FFA,
    kToken = HYPHEAP_ERR_TOKEN,
    kPending = HYPHEAP_ERR_PENDING,
    kPendingLimit = HYPHEAP_ERR_PENDING_LIMIT,
    // Not an error: the operation is in progress (MEM_CONTINUE takes it on). HYP_TRY passes it
    // up like any status that is not kOk.
    kPreempted = HYPHEAP_PREEMPTED,
};

#define HYP_TRY(expr)                                        \
  do {                                                       \
    if (::hyp::Status s_ = (expr); s_ != ::hyp::Status::kOk) \
      return s_;                                             \
  } while (0)

// A page-aligned physical range [base, base + size).
struct MemRange {
  PhysAddr base;
  uint64_t size = 0;

  // end() wraps for a range reaching past 2^64, which only a hostile descriptor builds; so
  // contains() and overlaps() never compute an end, they compare offsets that cannot wrap.
  constexpr PhysAddr end() const { return base + size; }
  constexpr bool contains(const MemRange& o) const {
    return o.base >= base && o.size <= size && o.base.value() - base.value() <= size - o.size;
  }
  constexpr bool overlaps(const MemRange& o) const {
    if (size == 0 || o.size == 0)
      return false;
    return o.base >= base ? o.base.value() - base.value() < size
                          : base.value() - o.base.value() < o.size;
  }
};

}  // namespace hyp

#include "platform.h"

namespace hyp {
namespace {

bool well_formed(const MemRange& r) {
  return r.size != 0 && is_page_aligned(r.base.value()) && is_page_aligned(r.size) &&
         r.base.value() + r.size > r.base.value();
}

template <typename T>
bool all_well_formed(std::span<const T> items, const MemRange& (*range_of)(const T&)) {
  for (const T& item : items) {
    if (!well_formed(range_of(item)))
      return false;
  }
  return true;
}

const MemRange& self(const MemRange& r) {
  return r;
}
const MemRange& of_carveout(const Carveout& c) {
  return c.range;
}

}  // namespace

Status Platform::check_ranges(const PlatformDesc& d) const {
  if (d.ram.empty() || d.ram.size() > kMaxRam || d.carveouts.size() > kMaxCarveouts ||
      d.mmio.size() > kMaxMmio)
    return Status::kRangeSize;
  if (!all_well_formed(d.ram, self) || !all_well_formed(d.mmio, self) ||
      !all_well_formed(d.carveouts, of_carveout) || !well_formed(d.table_pool))
    return Status::kRangeUnaligned;
  if (d.ipa_bits < 39 || d.ipa_bits > 48)
    return Status::kRangeSize;
  // RAM and MMIO are mapped at IPA == PA: both must end inside the IPA space.
  for (const MemRange& r : d.ram) {
    if (r.end().value() > (1ULL << d.ipa_bits))
      return Status::kOutsideRam;
  }
  for (const MemRange& r : d.mmio) {
    if (r.end().value() > (1ULL << d.ipa_bits))
      return Status::kOutsideRam;
  }
  return Status::kOk;
}

Status Platform::check_vms(const PlatformDesc& d) const {
  if (d.secure_vms.size() > kMaxSecureVms)
    return Status::kUnknownVmid;
  for (size_t i = 0; i < d.secure_vms.size(); i++) {
    const VmId id = d.secure_vms[i];
    if (!id.fits_bitmap() || id == kVmidHost || id == kVmidHyp || id == VmId(0))
      return Status::kUnknownVmid;
    for (size_t j = 0; j < i; j++) {
      if (d.secure_vms[j] == id)
        return Status::kUnknownVmid;
    }
  }
  return Status::kOk;
}

Status Platform::init(const PlatformDesc& d) {
  HYP_TRY(check_ranges(d));
  HYP_TRY(check_vms(d));
  nr_ram_ = nr_carveouts_ = nr_mmio_ = nr_secure_vms_ = 0;
  for (const MemRange& r : d.ram)
    ram_[nr_ram_++] = r;
  // Kept sorted: the lock order walks secure VMs by ascending id.
  for (const VmId id : d.secure_vms) {
    size_t i = nr_secure_vms_++;
    for (; i > 0 && secure_vms_[i - 1] > id; i--)
      secure_vms_[i] = secure_vms_[i - 1];
    secure_vms_[i] = id;
  }
  for (const Carveout& c : d.carveouts) {
    if (!in_ram(c.range))
      return Status::kOutsideRam;
    if (c.owner != kVmidHyp && !is_secure_vm(c.owner))
      return Status::kUnknownVmid;
    carveouts_[nr_carveouts_++] = c;
  }
  for (const MemRange& r : d.mmio) {
    for (const MemRange& bank : ram()) {
      if (bank.overlaps(r))
        return Status::kProtected;
    }
    mmio_[nr_mmio_++] = r;
  }
  if (!in_hyp_carveout(d.table_pool))
    return Status::kProtected;
  table_pool_ = d.table_pool;
  ipa_bits_ = d.ipa_bits;
  iommu_ = d.iommu;
  return Status::kOk;
}

bool Platform::in_ram(const MemRange& r) const {
  for (const MemRange& bank : ram()) {
    if (bank.contains(r))
      return true;
  }
  return false;
}

bool Platform::touches_carveout(const MemRange& r) const {
  for (const Carveout& c : carveouts()) {
    if (c.range.overlaps(r))
      return true;
  }
  return false;
}

bool Platform::in_hyp_carveout(const MemRange& r) const {
  for (const Carveout& c : carveouts()) {
    if (c.owner == kVmidHyp && c.range.contains(r))
      return true;
  }
  return false;
}

bool Platform::is_secure_vm(VmId id) const {
  for (const VmId s : secure_vms()) {
    if (s == id)
      return true;
  }
  return false;
}

}  // namespace hyp

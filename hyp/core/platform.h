// What the machine looks like, handed to the core at init as data (the EL2 side fills it
// from the DTB, tests from arrays): RAM, carve-outs nobody may assign, device regions the
// host keeps, the secure VMs that exist, and where the table pool lives.
#pragma once

#include <cstddef>
#include <span>

#include "types.h"

namespace hyp {

// Memory reserved for one owner at boot: the hypervisor's own, or a secure VM's private RAM.
struct Carveout {
  MemRange range;
  VmId owner;
};

struct PlatformDesc {
  std::span<const MemRange> ram;
  std::span<const Carveout> carveouts;
  std::span<const MemRange> mmio;  // mapped identity, device memory, into the host stage-2
  std::span<const VmId> secure_vms;
  MemRange table_pool;  // must lie inside a hypervisor carve-out
  unsigned ipa_bits = 39;
  // An SMMU the hyp owns stands in front of the host's DMA masters: every VM gets a DMA table.
  bool iommu = false;
};

// The validated copy the core keeps (the descriptor's arrays may live on a boot stack).
class Platform {
 public:
  static constexpr size_t kMaxRam = 8;
  static constexpr size_t kMaxCarveouts = 8;
  static constexpr size_t kMaxMmio = 16;
  static constexpr size_t kMaxSecureVms = 4;

  constexpr Platform() = default;
  [[nodiscard]] Status init(const PlatformDesc& desc);

  // True if `r` lies entirely inside one RAM bank.
  bool in_ram(const MemRange& r) const;
  bool touches_carveout(const MemRange& r) const;
  bool in_hyp_carveout(const MemRange& r) const;
  bool is_secure_vm(VmId id) const;

  std::span<const MemRange> ram() const { return {ram_, nr_ram_}; }
  std::span<const Carveout> carveouts() const { return {carveouts_, nr_carveouts_}; }
  std::span<const MemRange> mmio() const { return {mmio_, nr_mmio_}; }
  std::span<const VmId> secure_vms() const { return {secure_vms_, nr_secure_vms_}; }
  MemRange table_pool() const { return table_pool_; }
  unsigned ipa_bits() const { return ipa_bits_; }
  bool iommu() const { return iommu_; }

 private:
  [[nodiscard]] Status check_ranges(const PlatformDesc& desc) const;
  [[nodiscard]] Status check_vms(const PlatformDesc& desc) const;

  MemRange ram_[kMaxRam];
  Carveout carveouts_[kMaxCarveouts];
  MemRange mmio_[kMaxMmio];
  VmId secure_vms_[kMaxSecureVms];
  size_t nr_ram_ = 0, nr_carveouts_ = 0, nr_mmio_ = 0, nr_secure_vms_ = 0;
  MemRange table_pool_;
  unsigned ipa_bits_ = 0;
  bool iommu_ = false;
};

}  // namespace hyp

#include "pcie_scan.h"

#include <libfdt.h>

#include "../../boot/fdt_util.h"
#include "log.h"

namespace hyp::arm64 {
namespace {

constexpr uint32_t kBusFunctions = 32 * 8;
constexpr uint32_t kHeaderType = 0x0c;  // dword holding the header type in bits 23:16
constexpr uint32_t kStatusCommand = 0x04;
constexpr uint32_t kCapPointer = 0x34;
constexpr uint32_t kStatusCapList = 1u << 20;
constexpr uint32_t kCapIdPcie = 0x10;
constexpr uint32_t kExtCapBase = 0x100;
constexpr uint16_t kExtCapAri = 0x000e, kExtCapSriov = 0x0010;
constexpr unsigned kCapLimit = 48;  // a looping list ends the scan

struct Ecam {
  uint64_t base;
  uint32_t read(uint32_t rid, uint32_t off) const {
    return *reinterpret_cast<volatile const uint32_t*>(base + (uint64_t(rid) << 12) + off);
  }
};

constexpr uint16_t kLoopingList = 0xffff;  // a list that does not end: refused like an alias

// Whether `rid` has the PCI Express capability (then it has extended capabilities); a
// list that does not end within kCapLimit entries counts as one, so it is looked at.
bool is_pcie(const Ecam& ecam, uint32_t rid) {
  if (!(ecam.read(rid, kStatusCommand) & kStatusCapList)) {
    return false;
  }
  uint32_t at = ecam.read(rid, kCapPointer) & 0xfc;
  for (unsigned i = 0; i < kCapLimit; ++i) {
    if (at < 0x40) {
      return false;
    }
    const uint32_t cap = ecam.read(rid, at);
    if ((cap & 0xff) == kCapIdPcie) {
      return true;
    }
    at = (cap >> 8) & 0xfc;
  }
  return true;
}

// The first extended capability of `rid` that is ARI or SR-IOV, kLoopingList, or 0.
uint16_t aliasing_ext_cap(const Ecam& ecam, uint32_t rid) {
  if (!is_pcie(ecam, rid)) {
    return 0;
  }
  uint32_t at = kExtCapBase;
  for (unsigned i = 0; i < kCapLimit; ++i) {
    const uint32_t hdr = ecam.read(rid, at);
    const uint16_t id = hdr & 0xffff;
    if (hdr == 0 || hdr == ~0u) {
      return 0;
    }
    if (id == kExtCapAri || id == kExtCapSriov) {
      return id;
    }
    at = (hdr >> 20) & 0xffc;
    if (at < kExtCapBase) {
      return 0;
    }
  }
  return kLoopingList;
}

const char* name_of(uint16_t cap) {
  return cap == kExtCapAri ? "ARI" : cap == kExtCapSriov ? "SR-IOV" : "a looping capability list";
}

}  // namespace

uint32_t pcie_check_secure_stream(const void* fdt, int pci_node, uint32_t sid, uint32_t want_id) {
  MemRange reg;
  if (sid >= kBusFunctions || pci_node < 0 || !boot::fdt::read_reg(fdt, pci_node, 0, &reg) ||
      reg.size < uint64_t(kBusFunctions) << 12) {
    log("secure stream %x: not a function of bus 0 of the root complex: none", sid);
    return kNoSecureStream;
  }
  // reg[0] is bus-range's first bus: the scan is of bus 0 only if that is 0.
  int len = 0;
  const auto* range = static_cast<const fdt32_t*>(fdt_getprop(fdt, pci_node, "bus-range", &len));
  if (range && (len < 4 || fdt32_to_cpu(range[0]) != 0)) {
    log("secure stream %x: the root complex's buses do not start at 0: none", sid);
    return kNoSecureStream;
  }
  const Ecam ecam{reg.base.value()};
  for (uint32_t rid = 0; rid < kBusFunctions; ++rid) {
    const uint32_t id = ecam.read(rid, 0);
    if ((id & 0xffff) == 0xffff) {
      continue;
    }
    const uint32_t type = (ecam.read(rid, kHeaderType) >> 16) & 0x7f;
    if (type != 0) {
      log("secure stream %x: a bridge at 00:%02x.%u could alias it: none", sid, rid >> 3, rid & 7);
      return kNoSecureStream;
    }
    if (const uint16_t cap = aliasing_ext_cap(ecam, rid)) {
      log("secure stream %x: %s at 00:%02x.%u could alias it: none", sid, name_of(cap), rid >> 3,
          rid & 7);
      return kNoSecureStream;
    }
  }
  const uint32_t found = ecam.read(sid, 0);
  if (found != want_id) {
    log("secure stream %x: 00:%02x.%u is %04x:%04x, not the platform's %04x:%04x: none", sid,
        sid >> 3, sid & 7, found & 0xffff, found >> 16, want_id & 0xffff, want_id >> 16);
    return kNoSecureStream;
  }
  log("secure stream %x: 00:%02x.%u is %04x:%04x, nothing on bus 0 can alias it", sid, sid >> 3,
      sid & 7, found & 0xffff, found >> 16);
  return sid;
}

}  // namespace hyp::arm64

#include "stage1.h"

#include <stddef.h>

#include "layout.h"

extern "C" char _svm_head[], __svm_text_end[], __svm_rodata_end[], __svm_end[];
// One stack slot per vCPU (layout.h), in the carve-out like the rest of the image.
extern "C"
    [[gnu::section(".bss.stacks")]] alignas(4096) char svm_stacks[SVM_MAX_VCPUS][SVM_STACK_SLOT];
char svm_stacks[SVM_MAX_VCPUS][SVM_STACK_SLOT];

hyp::svm::MmuRegs g_svm_mmu;

namespace hyp::svm {

namespace {

constexpr uint64_t kPage = 4096;
constexpr unsigned kEntries = 512;
constexpr unsigned kVaBits = 39;

// VMSAv8-64 stage-1 descriptors, EL1&0 regime (Arm ARM D8.3).
constexpr uint64_t kValid = 1ull << 0;
constexpr uint64_t kTableOrPage = 1ull << 1;
constexpr uint64_t kApReadOnly = 1ull << 7;  // AP[2]; AP[1] clear: no EL0 access
constexpr uint64_t kShInner = 3ull << 8;
constexpr uint64_t kAf = 1ull << 10;
constexpr uint64_t kPxn = 1ull << 53;
constexpr uint64_t kUxn = 1ull << 54;
// AttrIndx 0 = MAIR attribute 0, the only one: Normal, inner/outer write-back RW-allocate.
constexpr uint64_t kMair = 0xff;
constexpr uint64_t kNormal = kAf | kShInner | kUxn;
constexpr uint64_t kRw = kNormal | kPxn;
constexpr uint64_t kRo = kNormal | kPxn | kApReadOnly;
constexpr uint64_t kRx = kNormal | kApReadOnly;

// TCR_EL1 (Arm ARM D17.2.131): T0SZ = 64 - 39, walks cacheable write-back inner shareable,
// 4 KiB granule, no TTBR1 walks (EPD1).
constexpr uint64_t kTcrBase =
    (64 - kVaBits) | (1ull << 8) | (1ull << 10) | (3ull << 12) | (1ull << 23);
constexpr unsigned kTcrIpsShift = 32;

// SCTLR_EL1: RES1 bits, M, C, SA, I, WXN (Arm ARM D17.2.118).
constexpr uint64_t kSctlr =
    0x30d00800 | (1ull << 0) | (1ull << 2) | (1ull << 3) | (1ull << 12) | (1ull << 19);

[[gnu::section(".bss.tables")]] alignas(4096) uint64_t g_tables[SVM_TABLE_PAGES][kEntries];

class Stage1 {
 public:
  uint64_t* root() { return g_tables[0]; }

  // Identity-maps [base, end) with `attrs`, blocks where alignment allows. Ranges must not
  // overlap what is already mapped.
  bool map(uint64_t base, uint64_t end, uint64_t attrs) {
    if (base >= end) {
      return true;
    }
    if ((base | end) & (kPage - 1) || end > (1ull << kVaBits)) {
      return false;
    }
    return map_level(root(), 1, base, end, attrs);
  }

 private:
  static constexpr unsigned shift(unsigned level) { return 12 + 9 * (3 - level); }

  uint64_t* alloc() {
    if (used_ == SVM_TABLE_PAGES) {
      return nullptr;
    }
    return g_tables[used_++];  // bss: already zero
  }

  bool map_level(uint64_t* table, unsigned level, uint64_t base, uint64_t end, uint64_t attrs) {
    const uint64_t size = 1ull << shift(level);
    for (uint64_t va = base; va < end;) {
      const uint64_t slot_end = (va & ~(size - 1)) + size;
      const uint64_t piece_end = end < slot_end ? end : slot_end;
      uint64_t& e = table[(va >> shift(level)) & (kEntries - 1)];
      if (level == 3) {
        if (e & kValid) {
          return false;
        }
        e = va | attrs | kValid | kTableOrPage;
      } else if ((va & (size - 1)) == 0 && piece_end == slot_end && level >= 1 && !(e & kValid)) {
        e = va | attrs | kValid;  // block (levels 1 and 2 with a 4 KiB granule)
      } else {
        if ((e & kValid) && !(e & kTableOrPage)) {
          return false;  // a block already covers it
        }
        if (!(e & kValid)) {
          uint64_t* next = alloc();
          if (!next) {
            return false;
          }
          e = reinterpret_cast<uint64_t>(next) | kValid | kTableOrPage;
        }
        auto* next = reinterpret_cast<uint64_t*>(e & 0x0000fffffffff000ull);
        if (!map_level(next, level + 1, va, piece_end, attrs)) {
          return false;
        }
      }
      va = piece_end;
    }
    return true;
  }

  unsigned used_ = 1;  // the root
};

uint64_t addr(const char* p) {
  return reinterpret_cast<uint64_t>(p);
}

// RAM outside the image: read-write, never executable (the services' view of IPA space).
bool map_ram(Stage1& s1, const BootInfo& info, uint64_t image_base, uint64_t image_end) {
  for (uint32_t i = 0; i < info.ram_count; ++i) {
    const uint64_t base = info.ram[i].base;
    const uint64_t end = base + info.ram[i].size;
    if (end < base) {
      return false;
    }
    if (image_end <= base || image_base >= end) {
      if (!s1.map(base, end, kRw)) {
        return false;
      }
      continue;
    }
    if (!s1.map(base, image_base, kRw) || !s1.map(image_end, end, kRw)) {
      return false;
    }
  }
  return true;
}

// The image: text RX, rodata (relocated already) RO, data and bss RW, each stack's guard
// page absent so an overflow faults (and the vectors report it) instead of running into the
// next vCPU's stack.
bool map_image(Stage1& s1) {
  if (!s1.map(addr(_svm_head), addr(__svm_text_end), kRx) ||
      !s1.map(addr(__svm_text_end), addr(__svm_rodata_end), kRo)) {
    return false;
  }
  uint64_t cursor = addr(__svm_rodata_end);
  for (unsigned v = 0; v < SVM_MAX_VCPUS; ++v) {
    const uint64_t guard = addr(svm_stacks[v]);
    if (!s1.map(cursor, guard, kRw)) {
      return false;
    }
    cursor = guard + SVM_STACK_GUARD;
  }
  return s1.map(cursor, addr(__svm_end), kRw);
}

uint64_t ips() {
  uint64_t mmfr0;
  asm volatile("mrs %0, id_aa64mmfr0_el1" : "=r"(mmfr0));
  const uint64_t parange = mmfr0 & 0xf;
  return parange > 5 ? 5 : parange;
}

}  // namespace

}  // namespace hyp::svm

extern "C" hyp::svm::MmuRegs* svm_build_stage1(const hyp::svm::BootInfo* info) {
  using namespace hyp::svm;
  if (info->magic != kBootInfoMagic || info->version != kBootInfoVersion || info->ram_count == 0 ||
      info->ram_count > kBootInfoMaxRam || info->nr_vcpus == 0 || info->nr_vcpus > SVM_MAX_VCPUS) {
    return nullptr;
  }
  // The image must be where the boot info says, inside the carve-out.
  const uint64_t image_base = addr(_svm_head);
  const uint64_t image_end = addr(__svm_end);
  if (info->image.base != image_base || info->image.size < image_end - image_base ||
      image_base < info->carveout.base || image_end > info->carveout.base + info->carveout.size) {
    return nullptr;
  }
  Stage1 s1;
  if (!map_ram(s1, *info, image_base, image_end) || !map_image(s1)) {
    return nullptr;
  }
  g_svm_mmu = {.mair = kMair,
               .tcr = kTcrBase | (ips() << kTcrIpsShift),
               .ttbr0 = reinterpret_cast<uint64_t>(s1.root()),
               .sctlr = kSctlr};
  return &g_svm_mmu;
}

#include "gic.h"

#include "sysreg.h"

namespace hyp::arm64 {

namespace {

constexpr uint64_t kFrame = 64 * 1024;

// RD_base registers (GICv3 spec 12.11).
constexpr uint64_t kGicrCtlr = 0x0000;
constexpr uint64_t kGicrIidr = 0x0004;
constexpr uint64_t kGicrTyper = 0x0008;
constexpr uint64_t kGicrStatusr = 0x0010;
constexpr uint64_t kGicrWaker = 0x0014;
constexpr uint64_t kGicrIdStart = 0xffd0;  // PIDR4..CIDR3: Linux checks PIDR2.ArchRev

constexpr uint32_t kCtlrEnableLpis = 1u << 0;
constexpr uint32_t kCtlrCes = 1u << 1;  // GICv4.1: CommonLPIAff and friends
constexpr uint32_t kCtlrIr = 1u << 2;   // invalidate registers (another form of DirectLPI)
constexpr uint64_t kTyperPlpis = 1ull << 0;
constexpr uint64_t kTyperVlpis = 1ull << 1;
constexpr uint64_t kTyperDirectLpi = 1ull << 3;
constexpr uint64_t kTyperLast = 1ull << 4;
constexpr uint64_t kTyperRvpeid = 1ull << 7;  // GICv4.1: Linux then reads VPENDBASER
// What the host may see of GICR_TYPER and GICR_CTLR: every LPI capability hidden. VLPIS stays,
// since Linux steps through the frames by it; the VLPI frames are RAZ/WI below.
constexpr uint64_t kTyperHidden = kTyperPlpis | kTyperDirectLpi | kTyperRvpeid;
constexpr uint32_t kCtlrHidden = kCtlrEnableLpis | kCtlrCes | kCtlrIr;

uint32_t read32(uint64_t addr) {
  return *reinterpret_cast<volatile uint32_t*>(addr);
}
uint64_t read64(uint64_t addr) {
  return *reinterpret_cast<volatile uint64_t*>(addr);
}
void write32(uint64_t addr, uint32_t value) {
  *reinterpret_cast<volatile uint32_t*>(addr) = value;
}

RedistributorProbe g_trapped;

// SCTLR_EL1.EE: the host's EL1 data accesses are big-endian.
constexpr uint64_t kSctlrEe = 1ull << 25;

// The value the host reads at `offset` of RD_base `rd` (`size` bytes, naturally aligned).
// Only the registers Linux needs to find and wake its redistributor pass through; LPI state
// reads as absent and everything else (PROPBASER, PENDBASER, SETLPIR, INVLPIR, ...) as zero.
uint64_t host_read(uint64_t rd, uint64_t offset, unsigned size) {
  if (offset == kGicrTyper || offset == kGicrTyper + 4) {
    const uint64_t typer = read64(rd + kGicrTyper) & ~kTyperHidden;
    return size == 8 ? typer : offset == kGicrTyper ? typer & 0xffffffff : typer >> 32;
  }
  if (size != 4) {
    return 0;
  }
  switch (offset) {
    case kGicrCtlr:
      return read32(rd + kGicrCtlr) & ~kCtlrHidden;
    case kGicrIidr:
    case kGicrStatusr:
    case kGicrWaker:
      return read32(rd + offset);
    default:
      return offset >= kGicrIdStart ? read32(rd + offset) : 0;
  }
}

void host_write(uint64_t rd, uint64_t offset, unsigned size, uint64_t value) {
  if (size != 4) {
    return;
  }
  switch (offset) {
    case kGicrCtlr:
      write32(rd + kGicrCtlr, static_cast<uint32_t>(value) & ~kCtlrHidden);
      return;
    case kGicrStatusr:
    case kGicrWaker:
      write32(rd + offset, static_cast<uint32_t>(value));
      return;
    default:
      return;  // read-only, or LPI state the host does not get
  }
}

uint64_t extend(uint64_t value, unsigned size, bool sign, bool sixty_four) {
  if (sign && size < 8) {
    const unsigned shift = 64 - 8 * size;
    value = static_cast<uint64_t>(static_cast<int64_t>(value << shift) >> shift);
  }
  return sixty_four ? value : value & 0xffffffff;
}

}  // namespace

MemRange RedistributorProbe::rd_base(uint32_t i) const {
  return MemRange{PhysAddr(base + i * stride), kFrame};
}

MemRange RedistributorProbe::sgi_base(uint32_t i) const {
  return MemRange{PhysAddr(base + i * stride + kFrame), kFrame};
}

RedistributorProbe probe_redistributors(MemRange region, uint32_t max_frames) {
  RedistributorProbe p;
  p.base = region.base.value();
  p.stride = 2 * kFrame;
  uint64_t offset = 0;
  while (p.frames < max_frames && region.size - offset >= 2 * kFrame) {
    const uint64_t typer = read64(region.base.value() + offset + kGicrTyper);
    // Every redistributor of one GIC has the same frame count (GICv3 spec 9.1).
    const uint64_t stride = (typer & kTyperVlpis) ? 4 * kFrame : 2 * kFrame;
    if (region.size - offset < stride) {
      break;
    }
    p.stride = stride;
    p.lpis |= (typer & kTyperPlpis) != 0;
    ++p.frames;
    offset += stride;
    if (typer & kTyperLast) {
      break;
    }
  }
  return p;
}

void trap_redistributors(const RedistributorProbe& probe) {
  g_trapped = probe;
}

bool emulate_redistributor_access(GuestRegs& regs, Esr esr, Ipa ipa) {
  const RedistributorProbe& p = g_trapped;
  const uint64_t addr = ipa.value();
  if (p.frames == 0 || addr < p.base || addr - p.base >= p.used_size()) {
    return false;
  }
  const uint64_t in_stride = (addr - p.base) % p.stride;
  if (in_stride >= kFrame && in_stride < 2 * kFrame) {
    return false;  // SGI_base: the host's own, mapped; a fault there is not ours to emulate
  }
  // Only what Linux does: a single aligned 32/64-bit load or store from AArch64 EL1, little
  // endian, with a syndrome to perform it from (no ISV for pairs, writebacks or a stage-1 walk).
  const DataAccess access(esr.iss());
  const uint64_t spsr = read_spsr_el2();
  const bool el1_aarch64 =
      !(spsr & spsr::kModeAArch32) &&
      ((spsr & spsr::kModeMask) == spsr::kModeEl1t || (spsr & spsr::kModeMask) == spsr::kModeEl1h);
  if (!access.valid() || !esr.il() || !el1_aarch64 || (read_sctlr_el1() & kSctlrEe) ||
      AbortIss(esr.iss()).stage1_walk() || (access.size() != 4 && access.size() != 8) ||
      (addr & (access.size() - 1)) != 0) {
    return false;
  }
  const uint64_t frame = addr - in_stride;
  const uint64_t offset = in_stride;
  const bool vlpi_frame = offset >= 2 * kFrame;  // VPROPBASER, VPENDBASER: LPI tables too
  const unsigned srt = access.reg();
  if (access.write()) {
    if (!vlpi_frame) {
      host_write(frame, offset, access.size(), srt == 31 ? 0 : regs.x[srt]);
    }
  } else if (srt != 31) {
    const uint64_t value = vlpi_frame ? 0 : host_read(frame, offset, access.size());
    regs.x[srt] = extend(value, access.size(), access.sign_extend(), access.sixty_four());
  }
  write_elr_el2(read_elr_el2() + 4);
  return true;
}

}  // namespace hyp::arm64

#include "attest.h"

#include <stddef.h>
#include <stdint.h>

#include "core_glue.h"
#include "log.h"

extern "C" char __hyp_image_start[], __hyp_rodata_end[];

namespace hyp::arm64 {

namespace {

bool g_enabled = false;
MemRange g_secure_vm;
MemRange g_excluded;

// CRC-32 as zlib and Linux's crc32_le(~0, ...) ^ ~0 compute it (reflected, 0xEDB88320), so
// a kernel test can print the same value for a page it filled before lending it.
struct Crc32Table {
  uint32_t entry[256];
  constexpr Crc32Table() : entry() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) {
        c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      }
      entry[i] = c;
    }
  }
};
constexpr Crc32Table kCrc32;

// Running CRC without the final inversion, so ranges can be chained.
uint32_t crc32_update(uint32_t crc, const uint8_t* p, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    crc = kCrc32.entry[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  }
  return crc;
}

struct LentSum {
  uint32_t crc = ~0u;
  uint64_t pages = 0;
};

}  // namespace

void attest_enable(MemRange secure_vm_carveout, MemRange partition_writable) {
  g_enabled = true;
  g_secure_vm = secure_vm_carveout;
  g_excluded = partition_writable;
}

void attest(const char* when) {
  if (!g_enabled) {
    return;
  }
  const auto* image = reinterpret_cast<const uint8_t*>(__hyp_image_start);
  const uint32_t image_crc =
      ~crc32_update(~0u, image, static_cast<size_t>(__hyp_rodata_end - __hyp_image_start));
  // EL2's stage-1 maps all RAM at VA == PA.
  const auto* secure = reinterpret_cast<const uint8_t*>(g_secure_vm.base.value());
  uint32_t secure_crc = ~0u;
  if (g_excluded.size != 0) {
    const uint64_t before = g_excluded.base.value() - g_secure_vm.base.value();
    const uint64_t after = before + g_excluded.size;
    secure_crc = crc32_update(secure_crc, secure, before);
    secure_crc = crc32_update(secure_crc, secure + after, g_secure_vm.size - after);
  } else {
    secure_crc = crc32_update(secure_crc, secure, g_secure_vm.size);
  }
  secure_crc = ~secure_crc;
  LentSum lent;
  core_glue_for_each_lent(
      [](MemRange r, void* ctx) {
        auto* sum = static_cast<LentSum*>(ctx);
        sum->crc = crc32_update(sum->crc, reinterpret_cast<const uint8_t*>(r.base.value()), r.size);
        sum->pages += r.size / kPageSize;
      },
      &lent);
  log("attest %s: image-ro crc32 %08x, secure-vm crc32 %08x, lent %lu pages crc32 %08x", when,
      image_crc, secure_crc, lent.pages, ~lent.crc);
}

}  // namespace hyp::arm64

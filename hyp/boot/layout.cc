#include "layout.h"

namespace hyp::boot {

namespace {

const MemRange* highest_bank(const PlatformInfo& info) {
  const MemRange* top = nullptr;
  for (size_t i = 0; i < info.ram_count; ++i) {
    if (!top || info.ram[i].end() > top->end()) {
      top = &info.ram[i];
    }
  }
  return top;
}

bool clashes_with_boot_payload(const PlatformInfo& info, const MemRange& kernel,
                               const MemRange& r) {
  if (intersects(r, kernel) || intersects(r, info.initrd) || intersects(r, info.dtb)) {
    return true;
  }
  for (size_t i = 0; i < info.reserved_count; ++i) {
    if (intersects(r, info.reserved[i])) {
      return true;
    }
  }
  return false;
}

}  // namespace

BootStatus host_kernel_range(uint64_t load_addr, const void* header, MemRange* out) {
  // Image header: text_offset at 8, image_size at 16, magic "ARM\x64" at 0x38.
  const auto* bytes = static_cast<const uint8_t*>(header);
  auto le64 = [&](size_t off) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) {
      v = (v << 8) | bytes[off + i];
    }
    return v;
  };
  if (bytes[0x38] != 'A' || bytes[0x39] != 'R' || bytes[0x3a] != 'M' || bytes[0x3b] != 0x64) {
    return BootStatus::kNoHostKernel;
  }
  const uint64_t image_size = le64(16);
  if (image_size == 0) {
    return BootStatus::kNoHostKernel;
  }
  *out = make_range(load_addr, image_size);
  return BootStatus::kOk;
}

BootStatus plan_layout(const PlatformInfo& info, const LayoutPolicy& policy, MemRange hyp_image,
                       MemRange host_kernel, Layout* out) {
  const MemRange* bank = highest_bank(info);
  if (policy.host_cma_size &&
      (policy.host_cma_align < policy.align || policy.host_cma_align % policy.align ||
       policy.host_cma_size % policy.host_cma_align)) {
    return BootStatus::kBadPolicy;
  }
  if (policy.secure_vm_pool_size % policy.align) {
    return BootStatus::kBadPolicy;
  }
  const uint64_t total = policy.hyp_carveout_size + policy.secure_vm_size +
                         policy.host_dtb_region_size + policy.host_cma_size +
                         policy.secure_vm_pool_size;
  if (!bank || total > bank->size) {
    return BootStatus::kOutOfRange;
  }
  Layout layout;
  layout.hyp_image = hyp_image;
  layout.host_kernel = host_kernel;
  uint64_t top = align_down(bank->end().value(), policy.align);
  bool fits = true;
  auto take = [&](uint64_t size, uint64_t align) {
    fits = fits && size <= top - bank->base.value();
    top = fits ? align_down(top - size, align) : bank->base.value();
    return make_range(top, size);
  };
  layout.hyp_carveout = take(policy.hyp_carveout_size, policy.align);
  layout.secure_vm = take(policy.secure_vm_size, policy.align);
  layout.host_dtb = take(policy.host_dtb_region_size, policy.align);
  if (policy.host_cma_size) {
    layout.host_cma = take(policy.host_cma_size, policy.host_cma_align);
  }
  if (policy.secure_vm_pool_size) {
    layout.secure_vm_pool = take(policy.secure_vm_pool_size, policy.align);
  }
  if (!fits || top < bank->base.value()) {
    return BootStatus::kOutOfRange;
  }
  if (intersects(hyp_image, host_kernel)) {
    return BootStatus::kOverlap;
  }
  const MemRange placed[] = {layout.hyp_carveout, layout.secure_vm,      layout.host_dtb,
                             layout.host_cma,     layout.secure_vm_pool, layout.hyp_image};
  for (const MemRange& r : placed) {
    // The hyp image window itself holds the original DTB only if QEMU put it
    // there, which would be a clash like any other.
    if (clashes_with_boot_payload(info, host_kernel, r)) {
      return BootStatus::kOverlap;
    }
    if (r.base != hyp_image.base && intersects(r, hyp_image)) {
      return BootStatus::kOverlap;
    }
  }
  *out = layout;
  return BootStatus::kOk;
}

}  // namespace hyp::boot

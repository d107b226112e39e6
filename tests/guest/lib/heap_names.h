// The heaps the tests know by name, and who borrows their memory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hypheap::guest {

inline constexpr const char* kSystemHeap = "system";
// The heap video user space opens; hypheap must keep serving this name.
inline constexpr const char* kSecureVideoHeap = "protected,secure-video";

// The secure VM a heap lends its memory to, read from the device tree the
// hypervisor handed Linux (/firmware/hypheap, docs/dt-binding.md): the
// first VM of the heap's hypheap,vmperms that is not hypheap,host-vmid.
// Nothing for a heap the tree does not have, or without the hypervisor.
std::optional<uint32_t> BorrowerOf(const std::string& heap);

// "protected,secure-video" -> "protected_secure_video": gtest names allow
// letters, digits and '_' only.
std::string TestNameOfHeap(const std::string& heap);

}  // namespace hypheap::guest

// The heaps the tests know by name, and who borrows their memory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hypheap::guest {

inline constexpr const char* kSystemHeap = "system";
// The heap video user space opens; hypheap must keep serving this name.
inline constexpr const char* kSecureVideoHeap = "protected,secure-video";

// The secure VM each heap of the device tree (docs/dt-binding.md) lends its
// memory to; nothing for a protected heap this table does not know.
std::optional<uint32_t> BorrowerOf(const std::string& heap);

// "protected,secure-video" -> "protected_secure_video": gtest names allow
// letters, digits and '_' only.
std::string TestNameOfHeap(const std::string& heap);

}  // namespace hypheap::guest

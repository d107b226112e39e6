#include "heap_names.h"

#include <hypheap/abi.h>

#include <cctype>
#include <map>

namespace hypheap::guest {

std::optional<uint32_t> BorrowerOf(const std::string& heap) {
  static const std::map<std::string, uint32_t> kBorrowers = {
      {"protected,secure-video", HYPHEAP_VMID_SECURE_0},
      {"protected,trusted-ui", HYPHEAP_VMID_SECURE_1},
      {"protected,secure-video-record", HYPHEAP_VMID_SECURE_0},
  };
  const auto found = kBorrowers.find(heap);
  if (found == kBorrowers.end()) {
    return std::nullopt;
  }
  return found->second;
}

std::string TestNameOfHeap(const std::string& heap) {
  std::string name = heap;
  for (char& c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0) {
      c = '_';
    }
  }
  return name;
}

}  // namespace hypheap::guest

#include "heap_names.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace hypheap::guest {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHypheapNode = "/sys/firmware/devicetree/base/firmware/hypheap";

// A property's raw bytes; empty when the node has no such property.
std::string ReadProperty(const fs::path& node, const char* name) {
  std::ifstream in(node / name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The big-endian u32 cells of a property.
std::vector<uint32_t> ReadCells(const fs::path& node, const char* name) {
  const std::string bytes = ReadProperty(node, name);
  std::vector<uint32_t> cells(bytes.size() / sizeof(uint32_t));
  for (size_t i = 0; i < cells.size(); ++i) {
    uint32_t cell = 0;
    std::memcpy(&cell, bytes.data() + i * sizeof(cell), sizeof(cell));
    cells[i] = ntohl(cell);
  }
  return cells;
}

}  // namespace

std::optional<uint32_t> BorrowerOf(const std::string& heap) {
  std::error_code error;
  const std::vector<uint32_t> host = ReadCells(kHypheapNode, "hypheap,host-vmid");
  if (host.size() != 1) {
    return std::nullopt;
  }
  for (const fs::directory_entry& child : fs::directory_iterator(kHypheapNode, error)) {
    const std::string name = ReadProperty(child.path(), "hypheap,heap-name");
    // A DT string property ends with its NUL.
    if (name.empty() || std::string(name.c_str()) != heap) {
      continue;
    }
    const std::vector<uint32_t> vmperms = ReadCells(child.path(), "hypheap,vmperms");
    for (size_t i = 0; i + 1 < vmperms.size(); i += 2) {
      if (vmperms[i] != host[0]) {
        return vmperms[i];
      }
    }
    return std::nullopt;
  }
  return std::nullopt;
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

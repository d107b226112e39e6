// Module loading for /init: the hypheap_load list expanded against the module
// directory, then each file loaded with finit_module.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hypheap::guest {

inline constexpr std::string_view kModuleDir = "/lib/modules/hypheap";

struct ModuleFile {
  std::string name;  // what the marker prints: a file name, or the entry itself
  std::string path;  // empty when |error| is set
  int error = 0;     // errno explaining why there is nothing to load
};

// Plain entries map to <dir>/<entry>; an entry with * ? or [ expands to the
// matching files in byte order, and to an ENOENT item when nothing matches, so
// a missing test module is a failure, not a silent skip.
std::vector<ModuleFile> ExpandModuleList(std::string_view dir,
                                         const std::vector<std::string>& entries);

// Returns 0 or the errno of open/finit_module.
[[nodiscard]] int LoadModule(const std::string& path);

}  // namespace hypheap::guest

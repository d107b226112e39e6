#include "modules.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace hypheap::guest {
namespace {

bool IsPattern(std::string_view entry) {
  return entry.find_first_of("*?[") != std::string_view::npos;
}

std::string BaseName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

void ExpandPattern(std::string_view dir, const std::string& entry, std::vector<ModuleFile>& files) {
  const std::string pattern = std::string(dir) + "/" + entry;
  glob_t matches{};
  // glob sorts with strcoll; /init never calls setlocale, so that is byte order.
  const int status = glob(pattern.c_str(), 0, nullptr, &matches);
  if (status != 0) {
    files.push_back({entry, "", status == GLOB_NOMATCH ? ENOENT : EIO});
    globfree(&matches);
    return;
  }
  for (size_t i = 0; i < matches.gl_pathc; ++i) {
    files.push_back({BaseName(matches.gl_pathv[i]), matches.gl_pathv[i], 0});
  }
  globfree(&matches);
}

}  // namespace

std::vector<ModuleFile> ExpandModuleList(std::string_view dir,
                                         const std::vector<std::string>& entries) {
  std::vector<ModuleFile> files;
  for (const std::string& entry : entries) {
    if (entry.find('/') != std::string::npos) {
      files.push_back({entry, "", EINVAL});  // names only: modules live in |dir|
    } else if (IsPattern(entry)) {
      ExpandPattern(dir, entry, files);
    } else {
      files.push_back({entry, std::string(dir) + "/" + entry, 0});
    }
  }
  return files;
}

int LoadModule(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno;
  }
  const long status = syscall(SYS_finit_module, fd, "", 0);
  const int error = status == 0 ? 0 : errno;
  close(fd);
  return error;
}

}  // namespace hypheap::guest

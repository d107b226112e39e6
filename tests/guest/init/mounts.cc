#include "mounts.h"

#include <errno.h>
#include <sys/mount.h>

namespace hypheap::guest {

int Mount(const MountPoint& point) {
  if (mount(point.type, point.target, point.type, MS_NOSUID, nullptr) != 0) {
    return errno;
  }
  return 0;
}

}  // namespace hypheap::guest

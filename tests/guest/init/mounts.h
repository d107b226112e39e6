// The file systems the guest's tests expect, mounted by /init because the
// kernel mounts nothing for an initramfs (CONFIG_DEVTMPFS_MOUNT only applies
// to a real root file system).
#pragma once

#include <string>
#include <vector>

namespace hypheap::guest {

struct MountPoint {
  const char* type;
  const char* target;
};

// devtmpfs first: the console lives there.
inline constexpr MountPoint kDevMount = {"devtmpfs", "/dev"};
// In order: debugfs's mount point only exists once sysfs is mounted.
inline constexpr MountPoint kLaterMounts[] = {
    {"proc", "/proc"},
    {"sysfs", "/sys"},
    {"debugfs", "/sys/kernel/debug"},
    {"tmpfs", "/tmp"},
};

// Returns 0 or an errno.
[[nodiscard]] int Mount(const MountPoint& point);

}  // namespace hypheap::guest

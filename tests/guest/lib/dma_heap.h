// The dma-heap and dma-buf user API as guest programs use it: owned mappings,
// allocation that reports the errno instead of hiding it, and what a dma-buf
// fd says about itself.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fd_io.h"

namespace hypheap::guest {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * kKiB;
inline constexpr uint64_t kGiB = 1024 * kMiB;
inline constexpr uint64_t kTiB = 1024 * kGiB;

// What every heap user passes: anything else in fd_flags is refused.
inline constexpr uint32_t kDefaultFdFlags = O_RDWR | O_CLOEXEC;

constexpr uint64_t PageRound(uint64_t bytes) {
  return (bytes + kPageSize - 1) & ~(kPageSize - 1);
}

class Mapping {
 public:
  static Outcome<Mapping> Create(int fd, size_t length, int prot, off_t offset = 0);
  Mapping() = default;
  Mapping(Mapping&& other) noexcept;
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();

  std::span<volatile uint8_t> bytes() const {
    return {static_cast<volatile uint8_t*>(address_), length_};
  }

 private:
  Mapping(void* address, size_t length) : address_(address), length_(length) {}
  void* address_ = nullptr;
  size_t length_ = 0;
};

inline constexpr const char* kDmaHeapDir = "/dev/dma_heap";

// Every entry of /dev/dma_heap, sorted.
std::vector<std::string> ListDmaHeaps();
// The heaps hypheap serves ("protected,<use>"): the ones whose memory is lent.
bool IsProtectedHeap(const std::string& name);
std::vector<std::string> ProtectedHeaps();

Outcome<UniqueFd> OpenHeap(const std::string& name);

// DMA_HEAP_IOCTL_ALLOC's argument, with every field a test may get wrong.
struct AllocRequest {
  uint64_t len = 0;
  uint32_t fd_flags = kDefaultFdFlags;
  uint64_t heap_flags = 0;
  uint32_t fd = 0;  // output only: the kernel refuses a caller-filled value
};

Outcome<UniqueFd> Allocate(int heap_fd, const AllocRequest& request);
// Opens the heap and allocates len bytes with the default flags.
Outcome<UniqueFd> AllocateFromHeap(const std::string& heap, uint64_t len);

// ioctl() reduced to its errno (0 on success).
int IoctlError(int fd, unsigned long request, void* argument);
// DMA_BUF_IOCTL_SYNC with these flags, as an errno.
int SyncError(int dmabuf_fd, uint64_t flags);

bool IsDmaBuf(int fd);
// The dma-buf's size as lseek(SEEK_END) reports it.
Outcome<off_t> DmaBufSize(int fd);
// /proc/self/fdinfo/<fd> as key -> value ("exp_name" -> "system").
std::map<std::string, std::string> FdInfo(int fd);
Outcome<ino_t> InodeOf(int fd);

// Sends fd over a unix socket as SCM_RIGHTS; 0 or the errno.
int SendFd(int socket, int fd);
Outcome<UniqueFd> ReceiveFd(int socket);

}  // namespace hypheap::guest

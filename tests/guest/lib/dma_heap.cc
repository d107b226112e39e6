#include "dma_heap.h"

#include <dirent.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <utility>

namespace hypheap::guest {
namespace {

constexpr std::string_view kProtectedPrefix = "protected,";
// f_type of every dma-buf file (include/uapi/linux/magic.h DMA_BUF_MAGIC); the
// uapi header is not in every sysroot, the value is ABI.
constexpr long kDmaBufMagic = 0x444d4142;

// One byte of data carrying room for one SCM_RIGHTS fd: a stream socket
// drops ancillary data sent without any payload.
struct FdMessage {
  explicit FdMessage(char payload) : byte(payload) {
    header.msg_iov = &iov;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof(control);
  }
  FdMessage(const FdMessage&) = delete;
  FdMessage& operator=(const FdMessage&) = delete;

  char byte;
  iovec iov = {.iov_base = &byte, .iov_len = 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr header = {};
};

}  // namespace

Outcome<Mapping> Mapping::Create(int fd, size_t length, int prot, off_t offset) {
  void* address = mmap(nullptr, length, prot, MAP_SHARED, fd, offset);
  if (address == MAP_FAILED) {
    return {.error = errno};
  }
  return {.value = Mapping(address, length)};
}

Mapping::Mapping(Mapping&& other) noexcept
    : address_(std::exchange(other.address_, nullptr)), length_(std::exchange(other.length_, 0)) {}

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    std::swap(address_, other.address_);
    std::swap(length_, other.length_);
  }
  return *this;
}

Mapping::~Mapping() {
  if (address_ != nullptr) {
    munmap(address_, length_);
  }
}

std::vector<std::string> ListDmaHeaps() {
  std::vector<std::string> heaps;
  DIR* dir = opendir(kDmaHeapDir);
  if (dir == nullptr) {
    return heaps;
  }
  while (const dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") {
      heaps.push_back(name);
    }
  }
  closedir(dir);
  std::sort(heaps.begin(), heaps.end());
  return heaps;
}

bool IsProtectedHeap(const std::string& name) {
  return name.starts_with(kProtectedPrefix);
}

std::vector<std::string> ProtectedHeaps() {
  std::vector<std::string> heaps = ListDmaHeaps();
  std::erase_if(heaps, [](const std::string& name) { return !IsProtectedHeap(name); });
  return heaps;
}

Outcome<UniqueFd> OpenHeap(const std::string& name) {
  return OpenFile(std::string(kDmaHeapDir) + "/" + name, O_RDONLY);
}

Outcome<UniqueFd> Allocate(int heap_fd, const AllocRequest& request) {
  dma_heap_allocation_data data = {
      .len = request.len,
      .fd = request.fd,
      .fd_flags = request.fd_flags,
      .heap_flags = request.heap_flags,
  };
  if (ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &data) != 0) {
    return {.error = errno};
  }
  return {.value = UniqueFd(static_cast<int>(data.fd))};
}

Outcome<UniqueFd> AllocateFromHeap(const std::string& heap, uint64_t len) {
  Outcome<UniqueFd> heap_fd = OpenHeap(heap);
  if (!heap_fd.ok()) {
    return heap_fd;
  }
  return Allocate(heap_fd.value.get(), {.len = len});
}

int IoctlError(int fd, unsigned long request, void* argument) {
  return ioctl(fd, request, argument) == 0 ? 0 : errno;
}

int SyncError(int dmabuf_fd, uint64_t flags) {
  dma_buf_sync sync = {.flags = flags};
  return IoctlError(dmabuf_fd, DMA_BUF_IOCTL_SYNC, &sync);
}

bool IsDmaBuf(int fd) {
  struct statfs fs = {};
  return fstatfs(fd, &fs) == 0 && fs.f_type == kDmaBufMagic;
}

Outcome<off_t> DmaBufSize(int fd) {
  const off_t end = lseek(fd, 0, SEEK_END);
  if (end < 0) {
    return {.error = errno};
  }
  // Later readers (and mmap) do not care, but leave the file as found.
  if (lseek(fd, 0, SEEK_SET) < 0) {
    return {.error = errno};
  }
  return {.value = end};
}

std::map<std::string, std::string> FdInfo(int fd) {
  std::map<std::string, std::string> info;
  std::ifstream file("/proc/self/fdinfo/" + std::to_string(fd));
  std::string line;
  while (std::getline(file, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    const size_t value = line.find_first_not_of(" \t", colon + 1);
    info[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
  }
  return info;
}

Outcome<ino_t> InodeOf(int fd) {
  struct stat st = {};
  if (fstat(fd, &st) != 0) {
    return {.error = errno};
  }
  return {.value = st.st_ino};
}

int SendFd(int socket, int fd) {
  FdMessage message('F');
  cmsghdr* header = CMSG_FIRSTHDR(&message.header);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(header), &fd, sizeof(int));
  return sendmsg(socket, &message.header, 0) == 1 ? 0 : errno;
}

Outcome<UniqueFd> ReceiveFd(int socket) {
  FdMessage message(0);
  const ssize_t got = recvmsg(socket, &message.header, MSG_CMSG_CLOEXEC);
  if (got < 0) {
    return {.error = errno};
  }
  const cmsghdr* header = CMSG_FIRSTHDR(&message.header);
  if (got == 0 || header == nullptr || header->cmsg_type != SCM_RIGHTS) {
    return {.error = EBADMSG};
  }
  int fd = -1;
  memcpy(&fd, CMSG_DATA(header), sizeof(int));
  return {.value = UniqueFd(fd)};
}

}  // namespace hypheap::guest

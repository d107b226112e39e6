// /dev/tee0 from user space, served by Linux 6.1's optee driver over FF-A and answered by
// the secure VM's OP-TEE face (docs/hypervisor.md, "The OP-TEE face"): the driver's version
// as an OP-TEE over FF-A reports it, a session to any TA "not found" from the TEE, and
// shared memory that really goes to the secure VM (the hyp's PAGES_SHARED grows) and really
// comes back when the client lets go (UNREGISTER_SHM, then MEM_RECLAIM).
#include <linux/tee.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "fd_io.h"
#include "hypheap_debugfs.h"

namespace hypheap::guest {
namespace {

// GlobalPlatform TEE Client API values the driver passes through.
constexpr uint32_t kTeecErrorItemNotFound = 0xFFFF0008u;
constexpr uint32_t kTeecOriginTee = 3;

UniqueFd OpenTee() {
  Outcome<UniqueFd> fd = OpenFile("/dev/tee0", O_RDWR);
  EXPECT_TRUE(fd.ok()) << "/dev/tee0: " << ErrnoName(fd.error);
  return std::move(fd.value);
}

int64_t PagesShared() {
  const Outcome<Counters> stats = HypStats();
  EXPECT_TRUE(stats.ok()) << ErrnoName(stats.error);
  const std::optional<int64_t> v = CounterValue(stats.value, "pages_shared");
  EXPECT_TRUE(v.has_value());
  return v.value_or(-1);
}

TEST(OpteeTest, BothDevicesExist) {
  struct stat st {};
  EXPECT_EQ(stat("/dev/tee0", &st), 0) << ErrnoName(errno);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(stat("/dev/teepriv0", &st), 0) << ErrnoName(errno);  // the supplicant's
}

TEST(OpteeTest, VersionIsOpteeOverFfa) {
  UniqueFd fd = OpenTee();
  ASSERT_TRUE(fd.valid());
  tee_ioctl_version_data v{};
  ASSERT_EQ(ioctl(fd.get(), TEE_IOC_VERSION, &v), 0) << ErrnoName(errno);
  EXPECT_EQ(v.impl_id, uint32_t(TEE_IMPL_ID_OPTEE));
  EXPECT_EQ(v.impl_caps, uint32_t(TEE_OPTEE_CAP_TZ));
  // What the FF-A ABI of the driver offers (the SMC ABI's REG_MEM depends on the firmware).
  EXPECT_EQ(v.gen_caps, uint32_t(TEE_GEN_CAP_GP | TEE_GEN_CAP_REG_MEM | TEE_GEN_CAP_MEMREF_NULL));
}

// No TA exists: the open reaches the secure VM (through the argument page it shares) and
// comes back "not found", from the TEE.
TEST(OpteeTest, OpenSessionIsItemNotFoundFromTheTee) {
  UniqueFd fd = OpenTee();
  ASSERT_TRUE(fd.valid());
  tee_ioctl_open_session_arg arg{};
  const uint8_t uuid[16] = {0x8a, 0xaa, 0xf2, 0x00, 0x24, 0x50, 0x11, 0xe4,
                            0xab, 0xe2, 0x00, 0x02, 0xa5, 0xd5, 0xc5, 0x1b};
  std::memcpy(arg.uuid, uuid, sizeof(uuid));
  arg.clnt_login = TEE_IOCTL_LOGIN_PUBLIC;
  arg.ret = 0x12345678;
  tee_ioctl_buf_data buf{reinterpret_cast<uintptr_t>(&arg), sizeof(arg)};
  ASSERT_EQ(ioctl(fd.get(), TEE_IOC_OPEN_SESSION, &buf), 0) << ErrnoName(errno);
  EXPECT_EQ(arg.ret, kTeecErrorItemNotFound) << std::hex << arg.ret;
  EXPECT_EQ(arg.ret_origin, kTeecOriginTee);
}

// TEE_IOC_SHM_ALLOC: the driver shares the pages with the OP-TEE endpoint (MEM_SHARE), and
// on the last close tells it (UNREGISTER_SHM) and takes them back (MEM_RECLAIM).
TEST(OpteeTest, AllocatedSharedMemoryGoesToTheSecureVmAndComesBack) {
  UniqueFd fd = OpenTee();
  ASSERT_TRUE(fd.valid());
  const int64_t before = PagesShared();
  tee_ioctl_shm_alloc_data alloc{};
  // A power of two: the driver's pool allocates by page order (3 pages would share 4).
  alloc.size = 4 * 4096;
  const int shm = ioctl(fd.get(), TEE_IOC_SHM_ALLOC, &alloc);
  ASSERT_GE(shm, 0) << ErrnoName(errno);
  UniqueFd shm_fd(shm);
  EXPECT_EQ(PagesShared(), before + 4);
  void* p = mmap(nullptr, alloc.size, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd.get(), 0);
  ASSERT_NE(p, MAP_FAILED) << ErrnoName(errno);
  std::memset(p, 0x5a, alloc.size);  // shared, not lent: the host keeps its access
  EXPECT_EQ(static_cast<uint8_t*>(p)[alloc.size - 1], 0x5a);
  ASSERT_EQ(munmap(p, alloc.size), 0);
  EXPECT_EQ(shm_fd.Close(), 0);
  EXPECT_EQ(PagesShared(), before);
}

// TEE_IOC_SHM_REGISTER of the caller's own pages: the same path with user memory.
TEST(OpteeTest, RegisteredUserMemoryGoesToTheSecureVmAndComesBack) {
  UniqueFd fd = OpenTee();
  ASSERT_TRUE(fd.valid());
  const size_t len = 2 * 4096;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  std::memset(p, 1, len);  // populated: the driver pins what is there
  const int64_t before = PagesShared();
  tee_ioctl_shm_register_data reg{};
  reg.addr = reinterpret_cast<uintptr_t>(p);
  reg.length = len;
  const int shm = ioctl(fd.get(), TEE_IOC_SHM_REGISTER, &reg);
  ASSERT_GE(shm, 0) << ErrnoName(errno);
  UniqueFd shm_fd(shm);
  EXPECT_EQ(PagesShared(), before + 2);
  EXPECT_EQ(shm_fd.Close(), 0);
  EXPECT_EQ(PagesShared(), before);
  ASSERT_EQ(munmap(p, len), 0);
}

}  // namespace
}  // namespace hypheap::guest

// PSCI from the host, seen from user space: CPU 1 goes offline and online
// several times, each time through the hypervisor (Linux's CPU_OFF on the
// dying CPU, AFFINITY_INFO polled from CPU 0 to know it is dead, CPU_ON to
// start it again), and afterwards the hypervisor still answers hypercalls
// made from each CPU.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/klog.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <hypheap/abi.h>

namespace hypheap::guest {
namespace {

constexpr const char* kCpu1Online = "/sys/devices/system/cpu/cpu1/online";
constexpr const char* kCpusOnline = "/sys/devices/system/cpu/online";
// Each read makes one STATS hypercall per counter (kernel/hypheap_debugfs.c)
// from the CPU the reader runs on.
constexpr const char* kHypStats = "/sys/kernel/debug/hypheap/hyp";
constexpr int kCycles = 5;
constexpr int kHypStatCount = HYPHEAP_STAT_COUNT;

// Kernel log lines that prove each step (arch/arm64/kernel/psci.c, smp.c).
constexpr std::string_view kKilled = "CPU1 killed (polled";  // AFFINITY_INFO said OFF
constexpr std::string_view kBooted = "CPU1: Booted secondary processor";
constexpr std::string_view kProblems[] = {
    "may not have shut down cleanly",  // AFFINITY_INFO never said OFF
    "cpu didn't die",                  // CPU_OFF never reached
    "failed to come online",           // CPU_ON failed or the CPU never arrived
    "failed to boot",
};

struct FileText {
  int error = 0;
  std::string text;
};

FileText ReadFile(const char* path) {
  FileText out;
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    out.error = errno;
    return out;
  }
  char buffer[4096];
  ssize_t got;
  while ((got = read(fd, buffer, sizeof(buffer))) > 0) {
    out.text.append(buffer, static_cast<size_t>(got));
  }
  if (got < 0) {
    out.error = errno;
  }
  close(fd);
  return out;
}

// The errno of the write, 0 on success: the hotplug itself happens inside it.
int WriteFile(const char* path, std::string_view text) {
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno;
  }
  const ssize_t put = write(fd, text.data(), text.size());
  const int error = put < 0 ? errno : 0;
  close(fd);
  return error;
}

std::string Trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

std::string OnlineCpus() {
  const FileText online = ReadFile(kCpusOnline);
  return online.error != 0 ? std::string("error: ") + strerror(online.error) : Trimmed(online.text);
}

// The whole kernel ring buffer (128 KiB: this scenario logs far less, so
// nothing counted here wraps away between two reads).
std::string KernelLog() {
  const int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, nullptr, 0);
  if (size <= 0) {
    return {};
  }
  std::string log(static_cast<size_t>(size), '\0');
  const int got = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log.data(), size);
  log.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return log;
}

int Count(const std::string& text, std::string_view what) {
  int count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

int PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : errno;
}

int UnpinAll() {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  CPU_SET(1, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : errno;
}

// "name value" lines of the hyp's STATS file.
std::map<std::string, unsigned long long> ParseStats(const std::string& text) {
  std::map<std::string, unsigned long long> stats;
  size_t line_start = 0;
  while (line_start < text.size()) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string::npos) {
      line_end = text.size();
    }
    const std::string line = text.substr(line_start, line_end - line_start);
    const size_t space = line.find(' ');
    if (space != std::string::npos) {
      stats[line.substr(0, space)] = std::strtoull(line.c_str() + space + 1, nullptr, 10);
    }
    line_start = line_end + 1;
  }
  return stats;
}

class CpuHotplugTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kCpu1Online, W_OK), 0)
        << kCpu1Online << ": " << strerror(errno) << " (2 CPUs and CONFIG_HOTPLUG_CPU?)";
    ASSERT_EQ(OnlineCpus(), "0-1");
  }

  // Whatever a test did, CPU 1 comes back for the next one.
  void TearDown() override {
    EXPECT_EQ(UnpinAll(), 0);
    if (OnlineCpus() != "0-1") {
      EXPECT_EQ(WriteFile(kCpu1Online, "1"), 0);
    }
  }

  // One offline/online of CPU 1, each step proven by its kernel log line.
  void Cycle(int round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string before = KernelLog();
    const int off_error = WriteFile(kCpu1Online, "0");
    ASSERT_EQ(off_error, 0) << strerror(off_error);
    EXPECT_EQ(OnlineCpus(), "0");
    const std::string offline = KernelLog();
    EXPECT_EQ(Count(offline, kKilled), Count(before, kKilled) + 1);

    const int on_error = WriteFile(kCpu1Online, "1");
    ASSERT_EQ(on_error, 0) << strerror(on_error);
    EXPECT_EQ(OnlineCpus(), "0-1");
    const std::string online = KernelLog();
    EXPECT_EQ(Count(online, kBooted), Count(offline, kBooted) + 1);
    for (std::string_view problem : kProblems) {
      EXPECT_EQ(Count(online, problem), 0) << problem;
    }
  }

  // A read of the hyp's STATS made from `cpu`, checked for every counter.
  void ExpectHypAnswersOn(int cpu) {
    SCOPED_TRACE("cpu " + std::to_string(cpu));
    ASSERT_EQ(PinTo(cpu), 0);
    const FileText stats = ReadFile(kHypStats);
    EXPECT_EQ(sched_getcpu(), cpu);
    ASSERT_EQ(stats.error, 0) << kHypStats << ": " << strerror(stats.error)
                              << " (hypheap.ko loaded?)";
    const auto parsed = ParseStats(stats.text);
    EXPECT_EQ(parsed.size(), static_cast<size_t>(kHypStatCount)) << stats.text;
    EXPECT_EQ(parsed.count("assign_calls"), 1u) << stats.text;
    ASSERT_EQ(parsed.count("table_pages_free"), 1u) << stats.text;
    EXPECT_GT(parsed.at("table_pages_free"), 0u) << stats.text;
  }
};

TEST_F(CpuHotplugTest, Cpu1GoesOfflineAndOnlineRepeatedly) {
  for (int round = 0; round < kCycles; ++round) {
    Cycle(round);
    if (HasFatalFailure()) {
      return;
    }
  }
}

TEST_F(CpuHotplugTest, HypAnswersOnBothCpusBeforeAndAfterHotplug) {
  ExpectHypAnswersOn(0);
  ExpectHypAnswersOn(1);
  Cycle(0);
  ExpectHypAnswersOn(1);
  ExpectHypAnswersOn(0);
}

TEST_F(CpuHotplugTest, TaskPinnedToCpu1RunsThereAfterOnline) {
  Cycle(0);
  ASSERT_EQ(PinTo(1), 0);
  // Some scheduling points: the task must stay where it is pinned.
  for (int i = 0; i < 100; ++i) {
    sched_yield();
    ASSERT_EQ(sched_getcpu(), 1);
  }
}

TEST_F(CpuHotplugTest, PinningToAnOfflineCpuIsRefused) {
  ASSERT_EQ(WriteFile(kCpu1Online, "0"), 0);
  EXPECT_EQ(PinTo(1), EINVAL);
  ASSERT_EQ(WriteFile(kCpu1Online, "1"), 0);
  EXPECT_EQ(PinTo(1), 0);
}

}  // namespace
}  // namespace hypheap::guest

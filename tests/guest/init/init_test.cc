// Tests of /init's parts, run inside the guest (hypheap_run=hh-init-test)
// where finit_module, pidfd and tmpfs are the real ones. The program doubles
// as its own test helpers: copied under another name, it behaves as that
// helper (see RunHelper), so no shell is needed in the initramfs.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "boot_options.h"
#include "console.h"
#include "errno_text.h"
#include "modules.h"
#include "runner.h"

namespace hypheap::guest {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

constexpr const char* kScratch = "/tmp/hh-init-test";
constexpr const char* kOrphanPidFile = "/tmp/hh-init-test/orphan.pid";

// ---- helpers: what this program does when started under another name ----

int RunHelper(const std::string& name) {
  if (name == "hh-helper-ok") {
    std::printf("helper says hello\n");
    return 0;
  }
  if (name == "hh-helper-exit3") {
    std::printf("partial line");
    std::fflush(stdout);
    return 3;
  }
  if (name == "hh-helper-segv") {
    raise(SIGSEGV);
    return 0;
  }
  if (name == "hh-helper-sleep") {
    pause();
    return 0;
  }
  if (name == "hh-helper-orphan") {
    const pid_t child = fork();
    if (child == 0) {
      pause();
      _exit(0);
    }
    FILE* file = std::fopen(kOrphanPidFile, "w");
    std::fprintf(file, "%d\n", child);
    std::fclose(file);
    return 0;
  }
  return -1;
}

bool CopyFile(const char* from, const std::string& to) {
  const int in = open(from, O_RDONLY | O_CLOEXEC);
  const int out = open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  bool ok = in >= 0 && out >= 0;
  char buffer[65536];
  ssize_t got = 0;
  while (ok && (got = read(in, buffer, sizeof(buffer))) > 0) {
    ok = write(out, buffer, static_cast<size_t>(got)) == got;
  }
  ok = ok && got == 0;
  if (in >= 0) {
    close(in);
  }
  if (out >= 0) {
    close(out);
  }
  return ok;
}

std::string Helper(const std::string& name) {
  const std::string path = std::string(kScratch) + "/" + name;
  EXPECT_TRUE(CopyFile("/proc/self/exe", path)) << path;
  return path;
}

void Touch(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path << ": " << ErrnoText(errno);
  ASSERT_EQ(write(fd, "not an ELF file\n", 16), 16);
  close(fd);
}

class ScratchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mkdir(kScratch, 0755) == 0 || errno == EEXIST) << ErrnoText(errno);
  }
};

// ---- boot options ----

TEST(BootOptionsTest, ListsKeepTheirOrder) {
  const BootOptions options = ParseBootOptions(
      "console=ttyAMA0 hypheap_load=b.ko,a.ko,*_kunit.ko hypheap_run=hh-sysinfo,x\n");
  EXPECT_THAT(options.load, ElementsAre("b.ko", "a.ko", "*_kunit.ko"));
  EXPECT_THAT(options.run, ElementsAre("hh-sysinfo", "x"));
  EXPECT_THAT(options.rejected, IsEmpty());
}

TEST(BootOptionsTest, RepeatedKeyAppends) {
  const BootOptions options = ParseBootOptions("hypheap_run=a hypheap_run=b,c");
  EXPECT_THAT(options.run, ElementsAre("a", "b", "c"));
}

TEST(BootOptionsTest, OtherWordsAreIgnored) {
  const BootOptions options =
      ParseBootOptions("console=ttyAMA0 quiet rdinit=/init x.hypheap_run=a");
  EXPECT_THAT(options.run, IsEmpty());
  EXPECT_THAT(options.rejected, IsEmpty());
}

TEST(BootOptionsTest, MisspelledKeyIsRejected) {
  const BootOptions options = ParseBootOptions("hypheap_rnu=hh-sysinfo");
  EXPECT_THAT(options.rejected, ElementsAre("hypheap_rnu=hh-sysinfo"));
}

TEST(BootOptionsTest, TimeoutDefaultsAndParses) {
  EXPECT_EQ(ParseBootOptions("").program_timeout_seconds, kDefaultProgramTimeoutSeconds);
  EXPECT_EQ(ParseBootOptions("hypheap_timeout=7").program_timeout_seconds, 7);
}

TEST(BootOptionsTest, BadTimeoutIsRejected) {
  for (const char* word : {"hypheap_timeout=0", "hypheap_timeout=5s", "hypheap_timeout="}) {
    EXPECT_THAT(ParseBootOptions(word).rejected, ElementsAre(word));
  }
}

TEST(BootOptionsTest, HaltDefaultsToPowerOff) {
  EXPECT_EQ(ParseBootOptions("hypheap_run=a").halt, Halt::kPowerOff);
  EXPECT_EQ(ParseBootOptions("hypheap_halt=off").halt, Halt::kPowerOff);
}

TEST(BootOptionsTest, HaltResetParses) {
  const BootOptions options = ParseBootOptions("hypheap_halt=reset");
  EXPECT_EQ(options.halt, Halt::kReset);
  EXPECT_THAT(options.rejected, IsEmpty());
}

TEST(BootOptionsTest, BadHaltIsRejected) {
  for (const char* word : {"hypheap_halt=reboot", "hypheap_halt=", "hypheap_halt"}) {
    const BootOptions options = ParseBootOptions(word);
    EXPECT_THAT(options.rejected, ElementsAre(word));
    EXPECT_EQ(options.halt, Halt::kPowerOff);
  }
}

TEST(BootOptionsTest, SplitListDropsEmptyItems) {
  EXPECT_THAT(SplitList(",a,,b,"), ElementsAre("a", "b"));
  EXPECT_THAT(SplitList(""), IsEmpty());
}

// ---- module list and loading ----

TEST(ErrnoTextTest, NamesTheErrno) {
  EXPECT_EQ(ErrnoText(ENOENT), "ENOENT (No such file or directory)");
}

TEST_F(ScratchTest, GlobExpandsSortedBetweenPlainEntries) {
  const std::string dir = std::string(kScratch) + "/modules";
  ASSERT_TRUE(mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST);
  for (const char* name : {"b_kunit.ko", "a_kunit.ko", "c.ko"}) {
    Touch(dir + "/" + name);
  }
  const auto files = ExpandModuleList(dir, {"c.ko", "*_kunit.ko", "z.ko"});
  EXPECT_THAT(files, ElementsAre(Field(&ModuleFile::path, dir + "/c.ko"),
                                 Field(&ModuleFile::path, dir + "/a_kunit.ko"),
                                 Field(&ModuleFile::path, dir + "/b_kunit.ko"),
                                 Field(&ModuleFile::path, dir + "/z.ko")));
  EXPECT_THAT(
      files, ElementsAre(Field(&ModuleFile::name, "c.ko"), Field(&ModuleFile::name, "a_kunit.ko"),
                         Field(&ModuleFile::name, "b_kunit.ko"), Field(&ModuleFile::name, "z.ko")));
}

TEST_F(ScratchTest, GlobWithoutMatchIsENOENT) {
  const auto files = ExpandModuleList(kScratch, {"*_nothing.ko"});
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].name, "*_nothing.ko");
  EXPECT_EQ(files[0].error, ENOENT);
}

TEST(ModulesTest, EntryWithSlashIsEINVAL) {
  const auto files = ExpandModuleList(kModuleDir, {"../x.ko"});
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].error, EINVAL);
}

TEST(ModulesTest, MissingFileIsENOENT) {
  EXPECT_EQ(LoadModule("/lib/modules/hypheap/does-not-exist.ko"), ENOENT);
}

TEST_F(ScratchTest, KernelRefusesANonElfFile) {
  const std::string path = std::string(kScratch) + "/garbage.ko";
  Touch(path);
  EXPECT_EQ(LoadModule(path), ENOEXEC);
}

// ---- running programs ----

TEST_F(ScratchTest, ZeroExitPasses) {
  Console console(1);
  const RunResult result = RunProgram(Helper("hh-helper-ok"), 30, console);
  EXPECT_TRUE(result.Passed());
  EXPECT_EQ(DescribeResult(result), "PASS");
}

TEST_F(ScratchTest, ExitCodeIsReported) {
  Console console(1);
  const RunResult result = RunProgram(Helper("hh-helper-exit3"), 30, console);
  console.Write("\n");
  EXPECT_EQ(DescribeResult(result), "FAIL exit=3");
}

TEST_F(ScratchTest, SignalIsReportedByName) {
  Console console(1);
  const RunResult result = RunProgram(Helper("hh-helper-segv"), 30, console);
  EXPECT_EQ(DescribeResult(result), "FAIL signal=SIGSEGV");
}

TEST_F(ScratchTest, MissingProgramExits127) {
  Console console(1);
  const RunResult result = RunProgram(std::string(kScratch) + "/nothing-here", 30, console);
  EXPECT_EQ(DescribeResult(result), "FAIL exit=127");
}

TEST_F(ScratchTest, TimeoutKillsTheProgram) {
  Console console(1);
  const RunResult result = RunProgram(Helper("hh-helper-sleep"), 1, console);
  EXPECT_EQ(DescribeResult(result), "FAIL timeout");
}

TEST_F(ScratchTest, LeftoverProcessesAreKilled) {
  // Orphans come back to this process, not to /init, so they can be reaped here.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  Console console(1);
  ASSERT_TRUE(RunProgram(Helper("hh-helper-orphan"), 30, console).Passed());
  FILE* file = std::fopen(kOrphanPidFile, "r");
  ASSERT_NE(file, nullptr);
  int orphan = 0;
  ASSERT_EQ(std::fscanf(file, "%d", &orphan), 1);
  std::fclose(file);
  int status = 0;
  ASSERT_EQ(waitpid(orphan, &status, 0), orphan) << ErrnoText(errno);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST_F(ScratchTest, MarkerAfterPartialOutputStartsAtColumnZero) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  Console console(fds[1]);
  (void)RunProgram(Helper("hh-helper-exit3"), 30, console);
  console.Line("MARK");
  close(fds[1]);
  char buffer[256] = {};
  const ssize_t got = read(fds[0], buffer, sizeof(buffer) - 1);
  close(fds[0]);
  EXPECT_EQ(std::string(buffer, got > 0 ? static_cast<size_t>(got) : 0), "partial line\nMARK\n");
}

}  // namespace
}  // namespace hypheap::guest

int main(int argc, char** argv) {
  const char* slash = std::strrchr(argv[0], '/');
  const int helper_status = hypheap::guest::RunHelper(slash != nullptr ? slash + 1 : argv[0]);
  if (helper_status >= 0) {
    return helper_status;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

// The guest's /init: mounts, loads the modules named by hypheap_load, runs the
// programs named by hypheap_run, prints one result marker per step and powers
// the VM off (or resets it, hypheap_halt=reset). The marker grammar is the contract with
// tools/qemu-run; see docs/testing.md.
#include <fcntl.h>
#include <sys/reboot.h>
#include <unistd.h>

#include <string>

#include "boot_options.h"
#include "console.h"
#include "errno_text.h"
#include "modules.h"
#include "mounts.h"
#include "runner.h"

namespace hypheap::guest {
namespace {

struct Tally {
  int passed = 0;
  int failed = 0;
};

std::string ReadCmdline() {
  std::string text;
  const int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return text;
  }
  char buffer[4096];
  ssize_t got;
  while ((got = read(fd, buffer, sizeof(buffer))) > 0) {
    text.append(buffer, static_cast<size_t>(got));
  }
  close(fd);
  return text;
}

void MountAll(Console& console, Tally& tally) {
  for (const MountPoint& point : kLaterMounts) {
    const int error = Mount(point);
    if (error != 0) {
      console.Line(std::string("HYPHEAP-INIT: mount ") + point.type + " on " + point.target +
                   " FAIL " + ErrnoText(error));
      ++tally.failed;
    }
  }
}

void RejectUnknownKeys(const BootOptions& options, Console& console, Tally& tally) {
  for (const std::string& word : options.rejected) {
    console.Line("HYPHEAP-INIT: bad command line word " + word + " FAIL");
    ++tally.failed;
  }
  if (options.shell) {
    console.Line("HYPHEAP-INIT: hypheap_shell=1 is not implemented; ignored");
  }
}

void LoadModules(const BootOptions& options, Console& console, Tally& tally) {
  for (const ModuleFile& file : ExpandModuleList(kModuleDir, options.load)) {
    // Nothing is printed before the load: a KUnit module writes KTAP to the
    // console while it loads, and that must stay unbroken.
    const int error = file.error != 0 ? file.error : LoadModule(file.path);
    if (error == 0) {
      console.Line("HYPHEAP-LOAD: " + file.name + " ok");
      ++tally.passed;
    } else {
      console.Line("HYPHEAP-LOAD: " + file.name + " FAIL " + ErrnoText(error));
      ++tally.failed;
    }
  }
}

void RunPrograms(const BootOptions& options, Console& console, Tally& tally) {
  for (const std::string& program : options.run) {
    const RunResult result =
        RunProgram("/bin/" + program, options.program_timeout_seconds, console);
    console.Line("HYPHEAP-TEST: " + program + " " + DescribeResult(result));
    if (result.Passed()) {
      ++tally.passed;
    } else {
      ++tally.failed;
    }
  }
}

int Main() {
  Console console;
  Tally tally;
  const int dev_error = Mount(kDevMount);
  const int console_error = console.Attach();
  console.Line("HYPHEAP-INIT: start");
  if (dev_error != 0 || console_error != 0) {
    console.Line("HYPHEAP-INIT: console on devtmpfs FAIL " +
                 ErrnoText(dev_error != 0 ? dev_error : console_error));
    ++tally.failed;
  }
  MountAll(console, tally);
  const BootOptions options = ParseBootOptions(ReadCmdline());
  RejectUnknownKeys(options, console, tally);
  LoadModules(options, console, tally);
  RunPrograms(options, console, tally);
  console.Line("HYPHEAP-DONE: " + std::to_string(tally.passed) + " passed, " +
               std::to_string(tally.failed) + " failed");
  sync();
  // A reset is how a scenario exercises PSCI SYSTEM_RESET; QEMU runs with
  // -no-reboot, so it exits on either.
  const bool reset = options.halt == Halt::kReset;
  reboot(reset ? RB_AUTOBOOT : RB_POWER_OFF);
  // Returning makes the kernel panic ("Attempted to kill init"), which the
  // launcher reports; better than hanging until its timeout.
  console.Line(std::string("HYPHEAP-INIT: ") + (reset ? "reset" : "power off") + " FAIL " +
               ErrnoText(errno));
  return 1;
}

}  // namespace
}  // namespace hypheap::guest

int main() {
  return hypheap::guest::Main();
}

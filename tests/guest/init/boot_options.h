// The hypheap_* keys /init reads from the kernel command line. The keys have
// no dots, so the kernel passes them on to user space without complaint.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hypheap::guest {

inline constexpr int kDefaultProgramTimeoutSeconds = 120;

// How /init ends the run once every step is done.
enum class Halt {
  kPowerOff,  // reboot(RB_POWER_OFF): PSCI SYSTEM_OFF
  kReset,     // reboot(RB_AUTOBOOT): PSCI SYSTEM_RESET; QEMU -no-reboot exits on it
};

struct BootOptions {
  std::vector<std::string> load;  // hypheap_load: module files or globs, in order
  std::vector<std::string> run;   // hypheap_run: programs in /bin, in order
  int program_timeout_seconds = kDefaultProgramTimeoutSeconds;  // hypheap_timeout
  bool shell = false;                                           // hypheap_shell=1
  Halt halt = Halt::kPowerOff;                                  // hypheap_halt=off|reset
  // hypheap_* words that are not a key above, or carry a bad value: a typo
  // must fail the run rather than silently skip tests.
  std::vector<std::string> rejected;
};

// Comma-separated list; empty items are dropped.
std::vector<std::string> SplitList(std::string_view list);

// A repeated list key appends, so an extra --append can add to a scenario.
BootOptions ParseBootOptions(std::string_view cmdline);

}  // namespace hypheap::guest

// hypheap-demo: `hypheap demo` under a name of its own, because the guest's
// /init runs programs without arguments (make run).
#include <cstdio>

#include "commands.h"

int main() {
  const int exit_code = hypheap::cli::RunDemo();
  std::fflush(stdout);
  return exit_code;
}

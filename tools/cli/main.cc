// hypheap: the user's view of the protected heaps (hypheap --help).
#include <cstdio>
#include <string_view>
#include <vector>

#include "cli_args.h"
#include "commands.h"

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  const hypheap::cli::ParsedCommand parsed = hypheap::cli::ParseArguments(args);
  if (!parsed.command.has_value()) {
    std::fprintf(stderr, "hypheap: %s\n\n%s", parsed.error.c_str(), hypheap::cli::Usage().c_str());
    return hypheap::cli::kExitUsage;
  }
  const int exit_code = hypheap::cli::RunCommand(*parsed.command);
  std::fflush(stdout);
  return exit_code;
}

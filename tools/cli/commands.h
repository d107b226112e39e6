// What each hypheap command does, printing to stdout; each returns an
// ExitCode.
#pragma once

#include <string>
#include <vector>

#include "cli_args.h"
#include "hypheap_debugfs.h"

namespace hypheap::cli {

int RunCommand(const Command& command);

int RunHeaps();
int RunAlloc(const AllocCommand& alloc);
int RunStats();
int RunQuery(const QueryCommand& query);
// demo.cc
int RunDemo();
// svm.cc
int RunSvm(const SvmCommand& svm);

// Shared by the commands and the demo.

// Prints "hypheap: <what>: EACCES (Permission denied)" and picks the exit
// code: a missing heap or debugfs file, or one only root may read, is
// kExitUnavailable; anything else kExitSystemError.
int ReportErrno(const std::string& what, int error);
// One line per range: where it is, its size, and who QUERY says owns it.
// False when a query failed (the line says why).
bool PrintRangeOwners(const std::vector<guest::PhysRange>& ranges, const char* indent);
// "name value" lines of one counters file, under a title.
void PrintCounters(const std::string& title, const guest::Counters& counters);

}  // namespace hypheap::cli

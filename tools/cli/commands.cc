#include "commands.h"

#include <hypheap/abi.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "dma_heap.h"
#include "fd_io.h"
#include "heap_names.h"

namespace hypheap::cli {
namespace {

using guest::Outcome;

std::string Hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "%#llx", static_cast<unsigned long long>(value));
  return text;
}

std::string DescribeOwnership(const guest::Ownership& own) {
  if (own.abi_status != 0) {
    return "hypervisor refused the query: " + FormatAbiStatus(own.abi_status);
  }
  return FormatOwners(own.owners) + " (" + Hex(own.owners) + "), " + FormatState(own.state);
}

// The buffer behind a dma-buf fd, as hypheap/<heap>/buffers lists it.
Outcome<guest::LiveBuffer> ListedBuffer(const std::string& heap, int fd) {
  const Outcome<ino_t> ino = guest::InodeOf(fd);
  if (!ino.ok()) {
    return {.error = ino.error};
  }
  return guest::FindLiveBuffer(heap, ino.value);
}

}  // namespace

int ReportErrno(const std::string& what, int error) {
  std::printf("hypheap: %s: %s (%s)\n", what.c_str(), guest::ErrnoName(error).c_str(),
              std::strerror(error));
  const bool unavailable = error == ENOENT || error == EACCES || error == EPERM;
  return unavailable ? kExitUnavailable : kExitSystemError;
}

bool PrintRangeOwners(const std::vector<guest::PhysRange>& ranges, const char* indent) {
  bool all_answered = true;
  for (const guest::PhysRange& range : ranges) {
    const Outcome<guest::Ownership> own = guest::QueryOwnership(range.pa, range.pages());
    std::string owner;
    if (!own.ok()) {
      owner = "query failed: " + guest::ErrnoName(own.error);
      all_answered = false;
    } else {
      owner = DescribeOwnership(own.value);
      all_answered &= own.value.abi_status == 0;
    }
    std::printf("%s%s  %8s  %s\n", indent, guest::Describe(range).c_str(),
                FormatSize(range.bytes).c_str(), owner.c_str());
  }
  return all_answered;
}

void PrintCounters(const std::string& title, const guest::Counters& counters) {
  std::fputs(FormatCounters(title, counters).c_str(), stdout);
}

int RunHeaps() {
  const std::vector<std::string> heaps = guest::ListDmaHeaps();
  if (heaps.empty()) {
    std::printf("hypheap: no heap in %s\n", guest::kDmaHeapDir);
    return kExitUnavailable;
  }
  for (const std::string& heap : heaps) {
    if (!guest::IsProtectedHeap(heap)) {
      std::printf("  %-32s ordinary: the host CPU may map it\n", heap.c_str());
      continue;
    }
    const std::optional<uint32_t> vm = guest::BorrowerOf(heap);
    std::printf("  %-32s protected: memory lent to %s\n", heap.c_str(),
                vm.has_value() ? FormatOwners(HYPHEAP_VMID_BIT(*vm)).c_str() : "a secure VM");
  }
  return kExitOk;
}

int RunAlloc(const AllocCommand& alloc) {
  Outcome<guest::UniqueFd> buffer = guest::AllocateFromHeap(alloc.heap, alloc.bytes);
  if (!buffer.ok()) {
    return ReportErrno("allocate " + FormatSize(alloc.bytes) + " from " + alloc.heap, buffer.error);
  }
  std::printf("allocated %s from %s: dma-buf fd %d of process %d (hypheap svm ... %d:%d)\n",
              FormatSize(alloc.bytes).c_str(), alloc.heap.c_str(), buffer.value.get(), getpid(),
              getpid(), buffer.value.get());
  if (!guest::IsProtectedHeap(alloc.heap)) {
    std::printf("(%s is not a hypheap heap: hypheap lists no ranges for it)\n", alloc.heap.c_str());
  } else {
    const Outcome<guest::LiveBuffer> listed = ListedBuffer(alloc.heap, buffer.value.get());
    if (!listed.ok()) {
      return ReportErrno("find the buffer in hypheap/" + alloc.heap + "/buffers", listed.error);
    }
    std::printf("physical ranges and owners:\n");
    if (!PrintRangeOwners(listed.value.ranges, "  ")) {
      return kExitNotAsDescribed;
    }
  }
  if (alloc.hold_seconds > 0) {
    std::printf("holding it for %u s\n", alloc.hold_seconds);
    std::fflush(stdout);
    sleep(alloc.hold_seconds);
  }
  if (const int error = buffer.value.Close(); error != 0) {
    return ReportErrno("close the buffer", error);
  }
  std::printf("freed\n");
  return kExitOk;
}

int RunStats() {
  const Outcome<guest::Counters> total = guest::TotalStats();
  if (!total.ok()) {
    return ReportErrno("read hypheap/stats", total.error);
  }
  PrintCounters("driver, all heaps (hypheap/stats):", total.value);
  // Which transport hypheap_assign_mem() uses and whether it lends (or only shares).
  std::ifstream transport("/sys/kernel/debug/hypheap/transport");
  std::printf("transport (hypheap/transport):\n");
  for (std::string line; std::getline(transport, line);) {
    std::printf("  %s\n", line.c_str());
  }
  if (guest::OnXen()) {
    std::printf("hypervisor STATS: none (Xen 4.17 keeps no counters dom0 can read)\n");
    return kExitOk;
  }
  const Outcome<guest::Counters> hyp = guest::HypStats();
  if (!hyp.ok()) {
    return ReportErrno("read hypheap/hyp", hyp.error);
  }
  PrintCounters("hypervisor STATS (hypheap/hyp):", hyp.value);
  return kExitOk;
}

int RunQuery(const QueryCommand& query) {
  const Outcome<guest::Ownership> own = guest::QueryOwnership(query.pa, query.pages);
  if (!own.ok()) {
    return ReportErrno("query " + Hex(query.pa), own.error);
  }
  std::printf("%s, %llu pages: %s\n", Hex(query.pa).c_str(),
              static_cast<unsigned long long>(query.pages), DescribeOwnership(own.value).c_str());
  if (own.value.abi_status != 0) {
    return kExitNotAsDescribed;
  }
  if (own.value.pages < query.pages) {
    std::printf("only the first %llu pages share this answer: query from %s for the rest\n",
                static_cast<unsigned long long>(own.value.pages),
                Hex(query.pa + own.value.pages * guest::kPageSize).c_str());
  }
  return kExitOk;
}

int RunCommand(const Command& command) {
  struct Dispatch {
    int operator()(const HelpCommand&) const {
      std::fputs(Usage().c_str(), stdout);
      return kExitOk;
    }
    int operator()(const HeapsCommand&) const { return RunHeaps(); }
    int operator()(const AllocCommand& alloc) const { return RunAlloc(alloc); }
    int operator()(const StatsCommand&) const { return RunStats(); }
    int operator()(const QueryCommand& query) const { return RunQuery(query); }
    int operator()(const DemoCommand&) const { return RunDemo(); }
    int operator()(const SvmCommand& svm) const { return RunSvm(svm); }
  };
  return std::visit(Dispatch{}, command);
}

}  // namespace hypheap::cli

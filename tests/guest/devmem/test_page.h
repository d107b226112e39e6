// One kernel page from hypheap_testmod.ko (/sys/kernel/debug/hypheap_test/page):
// filled with kTestPagePattern and cleaned to PoC on alloc, then lent to the
// first secure VM and reclaimed on request. RAII: a test that fails midway
// still gives the page back and frees it, so the next test can allocate.
#pragma once

#include <cstdint>
#include <string>

#include "dma_heap.h"

namespace hypheap::guest {

inline constexpr uint8_t kTestPagePattern = 0xA5;

class TestPage {
 public:
  // Writes "alloc"; the error is the write's errno.
  static Outcome<TestPage> Allocate();

  TestPage() = default;
  TestPage(TestPage&& other) noexcept;
  TestPage& operator=(TestPage&& other) noexcept;
  TestPage(const TestPage&) = delete;
  TestPage& operator=(const TestPage&) = delete;
  ~TestPage();

  uint64_t pa() const { return pa_; }
  // 0 or the errno of the command's write.
  int Lend();
  int Reclaim();
  // "free", "host" or "lent", as the module reports it.
  Outcome<std::string> State() const;

 private:
  void Release();

  bool allocated_ = false;
  bool lent_ = false;
  uint64_t pa_ = 0;
};

}  // namespace hypheap::guest

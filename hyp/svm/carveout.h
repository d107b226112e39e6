// The secure VM's carve-out pool (include/hypheap/abi.h, "Carve-out"): static protected memory
// it owns from boot, from which it allocates buffers on the host's request (CARVEOUT_INFO,
// CARVEOUT_ALLOC, CARVEOUT_FREE), and which its other services then take as memory it holds.
#pragma once

#include <cstddef>
#include <cstdint>

#include "services.h"

namespace hyp::svm {

// A ticket lock on plain atomics: the secure VM has no lock of its own elsewhere, and the
// host tests run the same code on threads.
class TicketLock {
 public:
  void lock() {
    const uint32_t ticket = __atomic_fetch_add(&next_, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&owner_, __ATOMIC_ACQUIRE) != ticket) {
    }
  }
  void unlock() { __atomic_store_n(&owner_, owner_ + 1, __ATOMIC_RELEASE); }

 private:
  uint32_t next_ = 0;
  uint32_t owner_ = 0;
};

// The pool and its buffers. Fixed tables (no heap): at most kMaxBuffers live buffers in a pool
// of at most kMaxPages pages. Every method may be called by several vCPUs at once.
class Carveout {
 public:
  static constexpr size_t kMaxBuffers = 256;
  static constexpr uint64_t kMaxPages = 32768;  // 128 MiB
  // Writes back a range of the pool to the point of coherency (dc cvac at EL1).
  using CleanFn = void (*)(uint8_t* p, uint64_t len);
  // Zeroes whole pages; without one, memset (the host tests'). The secure VM's is DC ZVA: its
  // freestanding memset stores a byte at a time.
  using ZeroFn = void (*)(uint8_t* p, uint64_t len);

  constexpr Carveout() = default;
  Carveout(const Carveout&) = delete;
  Carveout& operator=(const Carveout&) = delete;

  // Adopts [base, base + size), reached at `mem`. Nothing is zeroed here (96 MiB take most of
  // two seconds under TCG, on every boot): ALLOC zeroes what no buffer has covered since, so
  // nothing of a previous boot survives into a buffer. False, and no pool, if the range is
  // empty, not whole pages or larger than kMaxPages.
  [[nodiscard]] bool init(Ipa base, uint64_t size, uint8_t* mem, CleanFn clean,
                          ZeroFn zero = nullptr);
  bool present() const { return pages_ != 0; }

  // CARVEOUT_INFO / ALLOC / FREE, validated in full before anything changes.
  Message dispatch(const Message& req);

  // The hook of the services' memory checks (CarveoutEnv): whether [ipa, +pages) touches the
  // pool at all, and the hyp's SVM_HOLD/RELEASE/PIN/UNPIN semantics for spans that lie in one
  // live buffer (HYPHEAP_ERR_PROTECTED for any other span touching the pool).
  bool touches(Ipa ipa, uint64_t pages) const;
  [[nodiscard]] int64_t hold(Ipa ipa, uint64_t pages, uint32_t need);
  [[nodiscard]] int64_t release(Ipa ipa, uint64_t pages);
  [[nodiscard]] int64_t pin(Ipa ipa, uint64_t pages, bool on);
  // A page of the pool, for the services' accesses. One not held is the services' bug: it
  // is counted (violations()), and the page is still returned.
  uint8_t* map(Ipa ipa);
  // Whether map() gave [p, p + n) (the pool's memory); if so, cleaned to PoC with init's clean.
  bool clean_mine(uint8_t* p, uint64_t n) const;

  // For tests and the fuzzer.
  size_t nr_buffers() const { return nr_; }
  uint64_t allocated_bytes() const;
  uint64_t nr_held() const { return count(held_); }
  uint64_t nr_pinned() const { return count(pinned_); }
  uint64_t violations() const { return __atomic_load_n(&violations_, __ATOMIC_RELAXED); }
  Ipa base() const { return base_; }
  uint64_t size() const { return pages_ << kPageShift; }

 private:
  // kZeroing: ALLOC is zeroing pages of it no buffer covered since boot; kScrubbing: FREE is.
  enum class State : uint8_t { kLive, kZeroing, kScrubbing };
  struct Buffer {
    uint64_t first = 0;  // page index in the pool
    uint64_t pages = 0;
    uint32_t use_case = 0;
    State state = State::kLive;
  };
  using Bitmap = uint64_t[kMaxPages / 64];

  Message info();
  Message alloc(uint64_t len, uint64_t use_case);
  Message free(uint64_t base);
  // Under lock_: the live buffer [ipa, +pages) lies in, or nullptr.
  Buffer* live_containing(Ipa ipa, uint64_t pages);
  uint64_t largest_free() const;
  static bool test(const Bitmap& b, uint64_t i) { return (b[i / 64] >> (i % 64)) & 1; }
  static void set(Bitmap& b, uint64_t i, bool v) {
    b[i / 64] = v ? b[i / 64] | (uint64_t{1} << (i % 64)) : b[i / 64] & ~(uint64_t{1} << (i % 64));
  }
  bool any(const Bitmap& b, uint64_t first, uint64_t n) const;
  uint64_t count(const Bitmap& b) const;
  void scrub(uint64_t first, uint64_t pages);
  // Under lock_: the buffer whose first page is `first`.
  Buffer* at_(uint64_t first);

  mutable TicketLock lock_;
  Ipa base_;
  uint64_t pages_ = 0;
  uint8_t* mem_ = nullptr;
  CleanFn clean_ = nullptr;
  ZeroFn zero_ = nullptr;
  Buffer buffers_[kMaxBuffers] = {};  // sorted by first page; [0, nr_) used
  size_t nr_ = 0;
  Bitmap held_ = {};
  Bitmap pinned_ = {};
  // The first page of a buffer freed since no buffer has covered that page: tells a double
  // free from a base never allocated.
  Bitmap freed_base_ = {};
  // Pages no buffer has covered since boot: whatever was in RAM is still there.
  Bitmap fresh_ = {};
  uint64_t violations_ = 0;
};

bool is_carveout_op(uint64_t op);

// The services' view of memory: the pool's live buffers as memory the secure VM holds,
// everything else as the hyp answers it. With no pool, a plain pass-through.
class CarveoutEnv final : public Env {
 public:
  CarveoutEnv(Env& hyp, Carveout* pool) : hyp_(hyp), pool_(pool) {}

  int64_t hold(Ipa ipa, uint64_t pages, uint32_t need) override;
  int64_t release(Ipa ipa, uint64_t pages) override;
  int64_t pin(Ipa ipa, uint64_t pages) override;
  int64_t unpin(Ipa ipa, uint64_t pages) override;
  int64_t ffa_retrieve(uint64_t handle) override { return hyp_.ffa_retrieve(handle); }
  int64_t ffa_relinquish(uint64_t handle) override { return hyp_.ffa_relinquish(handle); }
  int64_t ffa_region(uint64_t handle, uint16_t receiver, Ipa* first, uint64_t* pages) override {
    return hyp_.ffa_region(handle, receiver, first, pages);
  }
  uint8_t* map(Ipa ipa) override;
  void zero(uint8_t* p, uint64_t n) override { hyp_.zero(p, n); }
  void clean_to_poc(uint8_t* p, uint64_t n) override;
  void fault() override { hyp_.fault(); }

 private:
  bool ours(Ipa ipa, uint64_t pages) const { return pool_ && pool_->touches(ipa, pages); }

  Env& hyp_;
  Carveout* pool_;
};

}  // namespace hyp::svm

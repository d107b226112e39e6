// Fixed pool of stage-2 table pages carved out of hypervisor memory.
//
// Allocation is two-phase so that a transaction's commit cannot fail: validation reserves
// the worst case, the commit takes pages only from its reservation, and the caller gives
// back what it did not use. Each page carries a refcount: 1 for the parent entry that links
// the table plus 1 per nonzero entry inside it, so "refcount == 1" means "empty table".
#pragma once

#include <cstddef>
#include <cstdint>

#include "arch.h"
#include "types.h"

namespace hyp {

class PagePool {
 public:
  static constexpr size_t kMaxPages = 16384;  // 64 MiB of tables

  // Pages set aside for one caller; whatever it did not take goes back when it dies.
  class Reservation {
   public:
    constexpr Reservation() = default;
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;
    ~Reservation() { reset(); }
    size_t remaining() const { return pages_; }
    void reset();

   private:
    friend class PagePool;
    PagePool* pool_ = nullptr;
    size_t pages_ = 0;
  };

  constexpr PagePool() = default;

  // Takes ownership of [base, base + nr_pages * 4 KiB), which must be hyp-private.
  [[nodiscard]] Status init(PhysAddr base, size_t nr_pages);

  // Adds n pages to `res` (empty or from this pool); kNoMemory if fewer are left.
  [[nodiscard]] Status reserve(size_t n, Reservation& res);
  // A zeroed page with refcount 1, taken from `res` (fatal if it is empty).
  PhysAddr alloc(Reservation& res);

  // Adds `n` references (a table gains n nonzero entries).
  void get(PhysAddr page, uint32_t n = 1);
  // Drops one reference; the page goes back to the pool when none are left.
  void put(PhysAddr page);
  // Returns a table page whatever its count (its whole subtree is being discarded).
  void release(PhysAddr page);
  uint32_t refcount(PhysAddr page) const;

  bool owns(PhysAddr page) const;
  size_t total_pages() const { return nr_pages_; }
  size_t free_pages() const;
  size_t used_pages() const { return nr_pages_ - free_pages(); }

 private:
  void unreserve(size_t n);
  size_t index_of(PhysAddr page) const;
  void push_free_locked(PhysAddr page);

  mutable arch::SpinLock lock_;
  PhysAddr base_;
  size_t nr_pages_ = 0;
  size_t nr_free_ = 0;
  size_t nr_reserved_ = 0;
  uint64_t free_head_ = 0;  // PA of the first free page, 0 = none; links live in the pages
  uint16_t refcount_[kMaxPages] = {};
};

}  // namespace hyp

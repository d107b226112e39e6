#include "page_pool.h"

#include "lock.h"

namespace hyp {

Status PagePool::init(PhysAddr base, size_t nr_pages) {
  if (!is_page_aligned(base.value()) || base.value() == 0)
    return Status::kRangeUnaligned;
  if (nr_pages == 0 || nr_pages > kMaxPages)
    return Status::kRangeSize;
  LockGuard guard(lock_);
  base_ = base;
  nr_pages_ = nr_pages;
  nr_free_ = 0;
  nr_reserved_ = 0;
  free_head_ = 0;
  // Pushed in reverse so allocation hands out ascending addresses (easier to read in dumps).
  for (size_t i = nr_pages; i > 0; i--) {
    refcount_[i - 1] = 0;
    push_free_locked(base + (i - 1) * kPageSize);
  }
  return Status::kOk;
}

void PagePool::push_free_locked(PhysAddr page) {
  *static_cast<uint64_t*>(arch::phys_to_virt(page)) = free_head_;
  free_head_ = page.value();
  nr_free_++;
}

void PagePool::Reservation::reset() {
  if (pool_ != nullptr && pages_ != 0)
    pool_->unreserve(pages_);
  pages_ = 0;
}

Status PagePool::reserve(size_t n, Reservation& res) {
  if (res.pool_ != nullptr && res.pool_ != this)
    arch::fatal("page pool: reservation from another pool");
  LockGuard guard(lock_);
  if (nr_free_ - nr_reserved_ < n)
    return Status::kNoMemory;
  nr_reserved_ += n;
  res.pool_ = this;
  res.pages_ += n;
  return Status::kOk;
}

void PagePool::unreserve(size_t n) {
  LockGuard guard(lock_);
  if (n > nr_reserved_)
    arch::fatal("page pool: unreserve more than reserved");
  nr_reserved_ -= n;
}

PhysAddr PagePool::alloc(Reservation& res) {
  PhysAddr page;
  {
    LockGuard guard(lock_);
    if (res.pool_ != this || res.pages_ == 0 || nr_reserved_ == 0 || free_head_ == 0)
      arch::fatal("page pool: allocation without reservation");
    res.pages_--;
    page = PhysAddr(free_head_);
    free_head_ = *static_cast<uint64_t*>(arch::phys_to_virt(page));
    nr_free_--;
    nr_reserved_--;
    refcount_[index_of(page)] = 1;
  }
  __builtin_memset(arch::phys_to_virt(page), 0, kPageSize);
  return page;
}

void PagePool::get(PhysAddr page, uint32_t n) {
  LockGuard guard(lock_);
  uint16_t& rc = refcount_[index_of(page)];
  // At most 1 (the parent link) + one per entry.
  if (rc == 0 || rc + n > kPageSize / sizeof(uint64_t) + 1)
    arch::fatal("page pool: get on a free or saturated page");
  rc = uint16_t(rc + n);
}

void PagePool::put(PhysAddr page) {
  LockGuard guard(lock_);
  uint16_t& rc = refcount_[index_of(page)];
  if (rc == 0)
    arch::fatal("page pool: put on a free page");
  if (--rc == 0) {
    arch::table_page_freed(page);
    push_free_locked(page);
  }
}

void PagePool::release(PhysAddr page) {
  LockGuard guard(lock_);
  uint16_t& rc = refcount_[index_of(page)];
  if (rc == 0)
    arch::fatal("page pool: release of a free page");
  rc = 0;
  arch::table_page_freed(page);
  push_free_locked(page);
}

uint32_t PagePool::refcount(PhysAddr page) const {
  LockGuard guard(lock_);
  return refcount_[index_of(page)];
}

bool PagePool::owns(PhysAddr page) const {
  return page >= base_ && page < base_ + nr_pages_ * kPageSize && is_page_aligned(page.value());
}

size_t PagePool::free_pages() const {
  LockGuard guard(lock_);
  return nr_free_;
}

size_t PagePool::index_of(PhysAddr page) const {
  if (!owns(page))
    arch::fatal("page pool: page not from this pool");
  return (page.value() - base_.value()) / kPageSize;
}

}  // namespace hyp

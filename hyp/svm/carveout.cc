// The carve-out pool: a first-fit allocator over a fixed, sorted table of buffers, with the
// hold and pin marks of its pages in bitmaps, all under one lock.
//
// A buffer leaves the table only after FREE has zeroed it and cleaned it to the point of
// coherency; until then it stays in the table as kScrubbing, so no ALLOC can hand out its
// pages and no call can hold or pin them, while the scrub itself runs without the lock (a
// 64 MiB scrub would otherwise stall every other vCPU's carve-out calls). ALLOC does the same
// (kZeroing) for the pages of a new buffer that no buffer covered since boot.
#include "carveout.h"

namespace hyp::svm {
namespace {

class Guard {
 public:
  explicit Guard(TicketLock& lock) : lock_(lock) { lock_.lock(); }
  ~Guard() { lock_.unlock(); }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

 private:
  TicketLock& lock_;
};

Message refuse(int64_t status) {
  return Message{{uint64_t(status), 0, 0, 0, 0}};
}

Message ok(uint64_t d1 = 0, uint64_t d2 = 0, uint64_t d3 = 0, uint64_t d4 = 0) {
  return Message{{uint64_t(int64_t(HYPHEAP_SVM_OK)), d1, d2, d3, d4}};
}

// The use cases whose heaps this VM keeps memory for (as PROTMEM: trusted UI is VM 11's).
bool serves(uint64_t use_case) {
  return use_case == HYPHEAP_PROTMEM_USE_SECURE_VIDEO ||
         use_case == HYPHEAP_PROTMEM_USE_SECURE_VIDEO_RECORD;
}

}  // namespace

bool Carveout::init(Ipa base, uint64_t size, uint8_t* mem, CleanFn clean, ZeroFn zero) {
  if (size == 0 || !is_page_aligned(base.value()) || !is_page_aligned(size) ||
      size > (kMaxPages << kPageShift) || size > ~uint64_t(0) - base.value() || !mem)
    return false;
  base_ = base;
  mem_ = mem;
  clean_ = clean;
  zero_ = zero;
  for (uint64_t& w : fresh_)
    w = ~uint64_t(0);
  // Last: vCPU 0 sets it up before any other vCPU runs; present() from here on.
  pages_ = size >> kPageShift;
  return true;
}

bool is_carveout_op(uint64_t op) {
  return op == HYPHEAP_SVM_OP_CARVEOUT_INFO || op == HYPHEAP_SVM_OP_CARVEOUT_ALLOC ||
         op == HYPHEAP_SVM_OP_CARVEOUT_FREE;
}

Message Carveout::dispatch(const Message& req) {
  const uint64_t* d = req.data;
  switch (d[0]) {
    case HYPHEAP_SVM_OP_CARVEOUT_INFO:
      if ((d[1] | d[2] | d[3] | d[4]) != 0)
        return refuse(HYPHEAP_SVM_ERR_ARGS_RESERVED);
      return present() ? info() : refuse(HYPHEAP_SVM_ERR_CARVEOUT_NO_POOL);
    case HYPHEAP_SVM_OP_CARVEOUT_ALLOC:
      if ((d[3] | d[4]) != 0)
        return refuse(HYPHEAP_SVM_ERR_ARGS_RESERVED);
      return present() ? alloc(d[1], d[2]) : refuse(HYPHEAP_SVM_ERR_CARVEOUT_NO_POOL);
    case HYPHEAP_SVM_OP_CARVEOUT_FREE:
      if ((d[2] | d[3] | d[4]) != 0)
        return refuse(HYPHEAP_SVM_ERR_ARGS_RESERVED);
      return present() ? free(d[1]) : refuse(HYPHEAP_SVM_ERR_CARVEOUT_NO_POOL);
    default:
      return refuse(HYPHEAP_SVM_ERR_NOT_SUPPORTED);
  }
}

uint64_t Carveout::largest_free() const {
  uint64_t at = 0, best = 0;
  for (size_t i = 0; i < nr_; i++) {
    const uint64_t gap = buffers_[i].first - at;
    best = gap > best ? gap : best;
    at = buffers_[i].first + buffers_[i].pages;
  }
  const uint64_t tail = pages_ - at;
  return (tail > best ? tail : best) << kPageShift;
}

uint64_t Carveout::allocated_bytes() const {
  Guard g(lock_);
  uint64_t pages = 0;
  for (size_t i = 0; i < nr_; i++)
    pages += buffers_[i].pages;
  return pages << kPageShift;
}

Message Carveout::info() {
  const uint64_t allocated = allocated_bytes();
  Guard g(lock_);
  return ok(base_.value(), size(), allocated, largest_free());
}

Message Carveout::alloc(uint64_t len, uint64_t use_case) {
  if (len == 0 || !is_page_aligned(len) || len > size())
    return refuse(HYPHEAP_SVM_ERR_CARVEOUT_LEN);
  if (!serves(use_case))
    return refuse(HYPHEAP_SVM_ERR_CARVEOUT_USE_CASE);
  const uint64_t n = len >> kPageShift;
  Guard g(lock_);
  if (nr_ == kMaxBuffers)
    return refuse(HYPHEAP_SVM_ERR_CARVEOUT_TOO_MANY);
  uint64_t at = 0;
  size_t i = 0;
  for (; i < nr_ && buffers_[i].first - at < n; i++)
    at = buffers_[i].first + buffers_[i].pages;
  if (i == nr_ && pages_ - at < n)
    return refuse(HYPHEAP_SVM_ERR_CARVEOUT_NO_SPACE);
  for (size_t j = nr_; j > i; j--)
    buffers_[j] = buffers_[j - 1];
  // The span of its pages never zeroed since boot, taken now: they are this buffer's.
  uint64_t lo = at + n, hi = at;
  for (uint64_t p = at; p < at + n; p++) {
    set(freed_base_, p, false);
    if (test(fresh_, p)) {
      set(fresh_, p, false);
      lo = p < lo ? p : lo;
      hi = p + 1;
    }
  }
  buffers_[i] = Buffer{at, n, uint32_t(use_case), lo < hi ? State::kZeroing : State::kLive};
  nr_++;
  if (lo < hi) {
    lock_.unlock();
    scrub(lo, hi - lo);
    lock_.lock();
    at_(at)->state = State::kLive;
  }
  return ok(base_.value() + (at << kPageShift));
}

Carveout::Buffer* Carveout::at_(uint64_t first) {
  // Other buffers may have come and gone while the lock was dropped: found again by its first
  // page, which no other buffer can have meanwhile.
  size_t i = 0;
  while (buffers_[i].first != first)
    i++;
  return &buffers_[i];
}

Message Carveout::free(uint64_t base) {
  if (!is_page_aligned(base) || base < base_.value() || base - base_.value() >= size())
    return refuse(HYPHEAP_SVM_ERR_CARVEOUT_NOT_ALLOCATED);
  const uint64_t page = (base - base_.value()) >> kPageShift;
  uint64_t first = 0, pages = 0;
  {
    Guard g(lock_);
    Buffer* b = nullptr;
    for (size_t i = 0; i < nr_ && !b; i++) {
      if (buffers_[i].first <= page && page - buffers_[i].first < buffers_[i].pages)
        b = &buffers_[i];
    }
    if (!b)
      return refuse(test(freed_base_, page) ? HYPHEAP_SVM_ERR_CARVEOUT_DOUBLE_FREE
                                            : HYPHEAP_SVM_ERR_CARVEOUT_NOT_ALLOCATED);
    if (b->first != page)
      return refuse(HYPHEAP_SVM_ERR_CARVEOUT_NOT_BASE);
    if (b->state == State::kScrubbing)
      return refuse(HYPHEAP_SVM_ERR_CARVEOUT_DOUBLE_FREE);
    if (b->state == State::kZeroing)
      return refuse(HYPHEAP_SVM_ERR_CARVEOUT_HELD);  // its ALLOC has not answered yet
    if (any(pinned_, b->first, b->pages))
      return refuse(HYPHEAP_SVM_ERR_CARVEOUT_PINNED);
    if (any(held_, b->first, b->pages))
      return refuse(HYPHEAP_SVM_ERR_CARVEOUT_HELD);
    b->state = State::kScrubbing;
    set(freed_base_, page, true);
    first = b->first;
    pages = b->pages;
  }
  scrub(first, pages);
  Guard g(lock_);
  for (size_t i = size_t(at_(first) - buffers_); i + 1 < nr_; i++)
    buffers_[i] = buffers_[i + 1];
  nr_--;
  return ok();
}

void Carveout::scrub(uint64_t first, uint64_t pages) {
  uint8_t* p = mem_ + (first << kPageShift);
  if (zero_)
    zero_(p, pages << kPageShift);
  else
    __builtin_memset(p, 0, pages << kPageShift);
  if (clean_)
    clean_(p, pages << kPageShift);
}

bool Carveout::any(const Bitmap& b, uint64_t first, uint64_t n) const {
  for (uint64_t i = first; i < first + n; i++) {
    if (test(b, i))
      return true;
  }
  return false;
}

uint64_t Carveout::count(const Bitmap& b) const {
  Guard g(lock_);
  uint64_t n = 0;
  // No __builtin_popcountll: without FP/SIMD registers it is a libgcc call.
  for (uint64_t w : b) {
    for (; w; w &= w - 1)
      n++;
  }
  return n;
}

bool Carveout::touches(Ipa ipa, uint64_t pages) const {
  if (pages_ == 0 || pages == 0)
    return false;
  const uint64_t first = ipa.value() >> kPageShift, pool = base_.value() >> kPageShift;
  return first >= pool ? first - pool < pages_ : pool - first < pages;
}

Carveout::Buffer* Carveout::live_containing(Ipa ipa, uint64_t pages) {
  if (!is_page_aligned(ipa.value()) || ipa.value() < base_.value())
    return nullptr;
  const uint64_t first = (ipa.value() - base_.value()) >> kPageShift;
  for (size_t i = 0; i < nr_; i++) {
    Buffer& b = buffers_[i];
    if (b.first <= first && first - b.first < b.pages)
      return b.state == State::kLive && pages <= b.pages - (first - b.first) ? &b : nullptr;
  }
  return nullptr;
}

int64_t Carveout::hold(Ipa ipa, uint64_t pages, uint32_t need) {
  Guard g(lock_);
  const Buffer* b = live_containing(ipa, pages);
  if (!b)
    return HYPHEAP_ERR_PROTECTED;
  // The host never maps a page of the pool: never shared, always exclusive.
  if (need & HYPHEAP_SVM_NEED_SHARED)
    return HYPHEAP_ERR_NOT_MAPPED;
  const uint64_t first = (ipa.value() - base_.value()) >> kPageShift;
  if (any(held_, first, pages))
    return HYPHEAP_ERR_BUSY;
  for (uint64_t i = first; i < first + pages; i++)
    set(held_, i, true);
  return HYPHEAP_OK;
}

int64_t Carveout::release(Ipa ipa, uint64_t pages) {
  Guard g(lock_);
  if (!live_containing(ipa, pages))
    return HYPHEAP_ERR_PROTECTED;
  const uint64_t first = (ipa.value() - base_.value()) >> kPageShift;
  for (uint64_t i = first; i < first + pages; i++) {
    if (!test(held_, i))
      return HYPHEAP_ERR_STATE;
  }
  for (uint64_t i = first; i < first + pages; i++)
    set(held_, i, false);
  return HYPHEAP_OK;
}

int64_t Carveout::pin(Ipa ipa, uint64_t pages, bool on) {
  Guard g(lock_);
  if (!live_containing(ipa, pages))
    return HYPHEAP_ERR_PROTECTED;
  const uint64_t first = (ipa.value() - base_.value()) >> kPageShift;
  for (uint64_t i = first; i < first + pages; i++) {
    if (test(pinned_, i) == on)
      return HYPHEAP_ERR_STATE;
  }
  for (uint64_t i = first; i < first + pages; i++)
    set(pinned_, i, on);
  return HYPHEAP_OK;
}

uint8_t* Carveout::map(Ipa ipa) {
  const uint64_t offset = ipa.value() - base_.value();
  Guard g(lock_);
  if (!test(held_, offset >> kPageShift))
    __atomic_fetch_add(&violations_, 1, __ATOMIC_RELAXED);
  return mem_ + offset;
}

bool Carveout::clean_mine(uint8_t* p, uint64_t n) const {
  const auto a = reinterpret_cast<uintptr_t>(p), m = reinterpret_cast<uintptr_t>(mem_);
  if (mem_ == nullptr || a < m || a - m >= (pages_ << kPageShift))
    return false;
  if (clean_)
    clean_(p, n);
  return true;
}

int64_t CarveoutEnv::hold(Ipa ipa, uint64_t pages, uint32_t need) {
  return ours(ipa, pages) ? pool_->hold(ipa, pages, need) : hyp_.hold(ipa, pages, need);
}

int64_t CarveoutEnv::release(Ipa ipa, uint64_t pages) {
  return ours(ipa, pages) ? pool_->release(ipa, pages) : hyp_.release(ipa, pages);
}

int64_t CarveoutEnv::pin(Ipa ipa, uint64_t pages) {
  return ours(ipa, pages) ? pool_->pin(ipa, pages, true) : hyp_.pin(ipa, pages);
}

int64_t CarveoutEnv::unpin(Ipa ipa, uint64_t pages) {
  return ours(ipa, pages) ? pool_->pin(ipa, pages, false) : hyp_.unpin(ipa, pages);
}

uint8_t* CarveoutEnv::map(Ipa ipa) {
  return ours(ipa, 1) ? pool_->map(ipa) : hyp_.map(ipa);
}

void CarveoutEnv::clean_to_poc(uint8_t* p, uint64_t n) {
  if (pool_ == nullptr || !pool_->clean_mine(p, n))
    hyp_.clean_to_poc(p, n);
}

}  // namespace hyp::svm

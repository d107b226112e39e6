// The secure VM's argument block (include/hypheap/abi.h, struct hypheap_svm_args): the
// service statuses, and the parsing and range checks of the block once it has been copied
// into the secure VM's private memory. Nothing here reads host memory or calls the hyp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "../core/types.h"

namespace hyp::svm {

// The answers of the services, with the ABI's values (data0 of the direct response).
enum class [[nodiscard]] SvmStatus : int64_t{
    kOk = HYPHEAP_SVM_OK,
    kNotSupported = HYPHEAP_SVM_ERR_NOT_SUPPORTED,
    kArgsAddr = HYPHEAP_SVM_ERR_ARGS_ADDR,
    kArgsNotShared = HYPHEAP_SVM_ERR_ARGS_NOT_SHARED,
    kArgsLen = HYPHEAP_SVM_ERR_ARGS_LEN,
    kArgsVersion = HYPHEAP_SVM_ERR_ARGS_VERSION,
    kArgsOp = HYPHEAP_SVM_ERR_ARGS_OP,
    kArgsReserved = HYPHEAP_SVM_ERR_ARGS_RESERVED,
    kRangeCount = HYPHEAP_SVM_ERR_RANGE_COUNT,
    kRangeSize = HYPHEAP_SVM_ERR_RANGE_SIZE,
    kRangeUnaligned = HYPHEAP_SVM_ERR_RANGE_UNALIGNED,
    kOverlap = HYPHEAP_SVM_ERR_OVERLAP,
    kNotOwned = HYPHEAP_SVM_ERR_NOT_OWNED,
    kHostReadable = HYPHEAP_SVM_ERR_HOST_READABLE,
    kLenMismatch = HYPHEAP_SVM_ERR_LEN_MISMATCH,
    kPinState = HYPHEAP_SVM_ERR_PIN_STATE,
    kBusy = HYPHEAP_SVM_ERR_BUSY,
    kNoMemory = HYPHEAP_SVM_ERR_NO_MEMORY,
    kPartialPage = HYPHEAP_SVM_ERR_PARTIAL_PAGE,
    kHashHandle = HYPHEAP_SVM_ERR_HASH_HANDLE,
    kHashInUse = HYPHEAP_SVM_ERR_HASH_IN_USE,
    kHashContexts = HYPHEAP_SVM_ERR_HASH_CONTEXTS,
    kHashOffset = HYPHEAP_SVM_ERR_HASH_OFFSET,
    kHashLength = HYPHEAP_SVM_ERR_HASH_LENGTH,
    kStreamOffset = HYPHEAP_SVM_ERR_STREAM_OFFSET,
};

#define SVM_TRY(expr)                                                        \
  do {                                                                       \
    if (::hyp::svm::SvmStatus s_ = (expr); s_ != ::hyp::svm::SvmStatus::kOk) \
      return s_;                                                             \
  } while (0)

// A byte range the block names, already checked: size > 0 and base + size <= 2^64 - 1.
struct ByteRange {
  Ipa base;
  uint64_t size = 0;
};

// The pages a byte range touches: holds, pins and overlap checks work on these.
struct PageSpan {
  Ipa first;           // page aligned
  uint64_t pages = 0;  // >= 1
};

constexpr bool is_whole_pages(ByteRange r) {
  return is_page_aligned(r.base.value()) && is_page_aligned(r.size);
}

constexpr PageSpan pages_of(ByteRange r) {
  const uint64_t first = r.base.value() >> kPageShift;
  const uint64_t last = (r.base.value() + (r.size - 1)) >> kPageShift;
  return PageSpan{Ipa(first << kPageShift), last - first + 1};
}

// The private copy of an argument block: what dispatch() copied out of the shared page.
struct ArgsCopy {
  alignas(8) uint8_t bytes[HYPHEAP_PAGE_SIZE];
  size_t len = 0;
};

// A parsed and fully checked argument block. Ranges are read from the copy on demand.
class Args {
 public:
  uint32_t op() const { return op_; }
  const uint8_t* iv() const { return iv_; }
  uint8_t pattern() const { return pattern_; }
  size_t nr_src() const { return nr_src_; }
  size_t nr_dst() const { return nr_dst_; }
  ByteRange src(size_t i) const { return range(i); }
  ByteRange dst(size_t i) const { return range(nr_src_ + i); }

 private:
  friend SvmStatus parse_args(const ArgsCopy& copy, uint32_t op, Args* out);
  ByteRange range(size_t i) const;

  const ArgsCopy* copy_ = nullptr;
  uint32_t op_ = 0;
  uint8_t iv_[8] = {};
  uint8_t pattern_ = 0;
  size_t nr_src_ = 0, nr_dst_ = 0;
};

// Checks the block for service `op` (a HYPHEAP_SVM_OP_* that takes a block), in this order,
// answering the first failure: version; op; length against the counts; reserved and unused
// fields (iv outside DECRYPT, pattern outside FILL or above its low byte); the range counts
// of the op; each range in list order (size, then page alignment: RANGE_UNALIGNED for
// PIN/UNPIN, PARTIAL_PAGE for the dst of DECRYPT and FILL); overlap of the pages of any two
// ranges; for DECRYPT, equal totals. Whether a src range off the page grid lies only in
// pages the host shares, only the hyp knows: the holds check that (services.cc). `copy.len`
// must be within [sizeof(hypheap_svm_args), HYPHEAP_PAGE_SIZE] (dispatch checks that before
// copying).
SvmStatus parse_args(const ArgsCopy& copy, uint32_t op, Args* out);

// What a failed SVM_HOLD (of a range the block names) means to the caller.
SvmStatus from_hold_status(int64_t hyp_status);
// What a failed SVM_PIN or SVM_UNPIN means to the caller.
SvmStatus from_pin_status(int64_t hyp_status);

}  // namespace hyp::svm

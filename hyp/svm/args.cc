#include "args.h"

namespace hyp::svm {
namespace {

template <typename T>
T read_at(const ArgsCopy& copy, size_t offset) {
  T value;
  __builtin_memcpy(&value, copy.bytes + offset, sizeof(T));
  return value;
}

struct Counts {
  uint16_t min_src, max_src, min_dst, max_dst;
};

constexpr uint16_t kMax = HYPHEAP_SVM_ARGS_MAX_RANGES;

Counts counts_of(uint32_t op) {
  switch (op) {
    case HYPHEAP_SVM_OP_HASH:
    case HYPHEAP_SVM_OP_HASH_UPDATE:
    case HYPHEAP_SVM_OP_PIN:
    case HYPHEAP_SVM_OP_UNPIN:
      return {1, kMax, 0, 0};
    case HYPHEAP_SVM_OP_DECRYPT:
      return {1, kMax, 1, kMax};
    case HYPHEAP_SVM_OP_FILL:
      return {0, 0, 1, kMax};
    default:
      return {1, 0, 1, 0};  // no count fits
  }
}

// Page spans never wrap (a range ends at or below 2^64 - 1), so comparing first pages and
// counts cannot overflow.
bool spans_overlap(PageSpan a, PageSpan b) {
  const uint64_t pa = a.first.value() >> kPageShift, pb = b.first.value() >> kPageShift;
  return pa <= pb ? pb - pa < a.pages : pa - pb < b.pages;
}

}  // namespace

ByteRange Args::range(size_t i) const {
  const auto r =
      read_at<hypheap_mem_range>(*copy_, sizeof(hypheap_svm_args) + i * sizeof(hypheap_mem_range));
  return ByteRange{Ipa(r.addr), r.size};
}

SvmStatus parse_args(const ArgsCopy& copy, uint32_t op, Args* out) {
  if (copy.len < sizeof(hypheap_svm_args) || copy.len > sizeof(copy.bytes))
    return SvmStatus::kArgsLen;
  const auto hdr = read_at<hypheap_svm_args>(copy, 0);
  if (hdr.version != HYPHEAP_SVM_ARGS_VERSION)
    return SvmStatus::kArgsVersion;
  if (hdr.op != op)
    return SvmStatus::kArgsOp;
  // 16-bit counts: the size cannot overflow.
  if (HYPHEAP_SVM_ARGS_SIZE(uint64_t(hdr.nr_src), uint64_t(hdr.nr_dst)) != copy.len)
    return SvmStatus::kArgsLen;
  uint8_t iv_bits = 0;
  for (uint8_t b : hdr.iv)
    iv_bits |= b;
  if (hdr.reserved != 0 || (op != HYPHEAP_SVM_OP_DECRYPT && iv_bits != 0) ||
      (op != HYPHEAP_SVM_OP_FILL && hdr.pattern != 0) || hdr.pattern > 0xff)
    return SvmStatus::kArgsReserved;
  const Counts c = counts_of(op);
  if (hdr.nr_src < c.min_src || hdr.nr_src > c.max_src || hdr.nr_dst < c.min_dst ||
      hdr.nr_dst > c.max_dst)
    return SvmStatus::kRangeCount;

  out->copy_ = &copy;
  out->op_ = op;
  for (size_t i = 0; i < sizeof(hdr.iv); i++)
    out->iv_[i] = hdr.iv[i];
  out->pattern_ = uint8_t(hdr.pattern);
  out->nr_src_ = hdr.nr_src;
  out->nr_dst_ = hdr.nr_dst;

  const size_t n = out->nr_src_ + out->nr_dst_;
  const bool pages_only = op == HYPHEAP_SVM_OP_PIN || op == HYPHEAP_SVM_OP_UNPIN;
  for (size_t i = 0; i < n; i++) {
    const ByteRange r = out->range(i);
    // base + size == 2^64 counts as overflow: then every range's last byte has an address
    // and pages_of() cannot wrap.
    if (r.size == 0 || r.size > ~uint64_t(0) - r.base.value())
      return SvmStatus::kRangeSize;
    if (pages_only && !is_whole_pages(r))
      return SvmStatus::kRangeUnaligned;
    // A destination is lent, so the host cannot read it: part of a page written next to
    // bytes the host knows (a FILL before, or the rest of the page left as it was) would
    // make a whole-page HASH of it an oracle for the bytes written.
    if (i >= out->nr_src_ && !is_whole_pages(r))
      return SvmStatus::kPartialPage;
  }
  // Holds are per page, so two byte ranges sharing a page overlap even if their bytes do not
  // (the second hold of that page would fail). At most 254 ranges: the quadratic scan is a
  // few tens of thousands of comparisons and needs no scratch memory.
  for (size_t i = 0; i < n; i++) {
    const PageSpan a = pages_of(out->range(i));
    for (size_t j = i + 1; j < n; j++) {
      if (spans_overlap(a, pages_of(out->range(j))))
        return SvmStatus::kOverlap;
    }
  }
  if (op == HYPHEAP_SVM_OP_DECRYPT) {
    // Disjoint ranges below 2^64 - 1 cannot sum past it: no overflow.
    uint64_t src_total = 0, dst_total = 0;
    for (size_t i = 0; i < out->nr_src_; i++)
      src_total += out->src(i).size;
    for (size_t i = 0; i < out->nr_dst_; i++)
      dst_total += out->dst(i).size;
    if (src_total != dst_total)
      return SvmStatus::kLenMismatch;
  }
  return SvmStatus::kOk;
}

SvmStatus from_hold_status(int64_t hyp_status) {
  switch (hyp_status) {
    case HYPHEAP_OK:
      return SvmStatus::kOk;
    case HYPHEAP_ERR_HOST_ACCESS:
      return SvmStatus::kHostReadable;
    case HYPHEAP_ERR_BUSY:
      return SvmStatus::kBusy;
    case HYPHEAP_ERR_NO_MEMORY:
      return SvmStatus::kNoMemory;
    default:
      // NOT_MAPPED, PROTECTED, and anything else the hyp refuses a range for (outside the
      // IPA space, not RAM): the range is not the secure VM's to use.
      return SvmStatus::kNotOwned;
  }
}

SvmStatus from_pin_status(int64_t hyp_status) {
  switch (hyp_status) {
    case HYPHEAP_OK:
      return SvmStatus::kOk;
    case HYPHEAP_ERR_STATE:
      return SvmStatus::kPinState;
    case HYPHEAP_ERR_BUSY:
      return SvmStatus::kBusy;
    case HYPHEAP_ERR_NO_MEMORY:
      return SvmStatus::kNoMemory;
    default:
      return SvmStatus::kNotOwned;
  }
}

}  // namespace hyp::svm

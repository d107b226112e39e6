// FF-A memory management from the host to the partition: FFA_MEM_SHARE and FFA_MEM_LEND
// (either width, descriptor in the host's TX buffer only), FFA_MEM_FRAG_TX for the later
// fragments of a long descriptor, FFA_MEM_RECLAIM; and the partition's retrieve/relinquish
// marks that gate RECLAIM. The checks follow Hafnium's and pKVM's (docs/abi.md, "FF-A
// memory"), lenient only where Linux 6.1.0 leaves must-be-zero fields unwritten. The pages
// move through the ownership engine (ownership.cc), the one MEM_ASSIGN uses, with the FF-A
// mark in the partition's entries so neither path can move the other's pages.
//
// Every call runs under the host lock, which orders it against MEM_ASSIGN and the mailbox
// calls and protects the records; the state checks and the commit also hold the
// partition's VM lock. Nothing is read from TX after the one copy each fragment gets.
//
// A transaction of more than one piece (kPiecePages) is an operation in progress
// (pending.cc), one piece per call, so that no call holds its CPU longer than MEM_ASSIGN's
// may: a LEND/SHARE answers FFA_MEM_OP_PAUSE (w1/w2 = the handle) until its last piece,
// which FFA_MEM_OP_RESUME answers with SUCCESS; a RECLAIM answers FFA_ERROR(RETRY) until
// its last piece, which the same RECLAIM answers with SUCCESS. Meanwhile the record
// (kSending, kReclaiming) and the operation own the pages (docs/hyp-core.md).
#include <cstring>

#include "ffa_abi.h"
#include "ffa_regs.h"
#include "hyp.h"
#include "lock.h"
#include "ownership.h"

namespace hyp {
namespace {

using ffa::set_error;
using ffa::set_success;

constexpr VmId kPartitionVm{HYPHEAP_VMID_SECURE_0};

template <typename T>
T read_at(const uint8_t* bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes + offset, sizeof(T));
  return value;
}

// The fields of a descriptor the core acts on, once the part in the first fragment is
// checked (parse_header).
struct Header {
  uint16_t sender = 0;
  uint32_t attrs = 0;
  uint32_t flags = 0;
  uint64_t tag = 0;
  uint16_t receiver = 0;
  uint32_t access = 0;
  uint32_t composite = 0;  // offset of the composite descriptor
};

// FF-A codes are negative; 0 means "passed".
using Code = int32_t;
constexpr Code kPass = 0;

// What a change's refusal by the ownership engine means to the sender.
Code code_of(Status s) {
  switch (s) {
    case Status::kOk:
      return kPass;
    case Status::kNoMemory:
      return ffa::kNoMemory;
    case Status::kBusy:
      return ffa::kBusy;
    case Status::kPending:
      return ffa::kRetry;  // an operation in progress owns a page until it finishes
    case Status::kPendingLimit:
      return ffa::kNoMemory;  // every slot for an operation in progress is taken
    case Status::kRangeUnaligned:
    case Status::kRangeSize:
    case Status::kOverlap:
      return ffa::kInvalidParameters;
    default:
      // Outside RAM, a carve-out, the mailbox, MEM_ASSIGN's pages, anything not the host's
      // alone: the sender does not own the memory exclusively (Hafnium: DENIED).
      return ffa::kDenied;
  }
}

// Checks everything that must lie in the first fragment: the header, the one access
// descriptor and the composite's own header. `len` is what this fragment holds.
Code parse_header(const uint8_t* d, uint32_t len, bool v11, bool lend, Header* h) {
  const uint32_t hdr_size = v11 ? ffa::kMemHeaderSize11 : ffa::kMemHeaderSize10;
  if (len < hdr_size + ffa::kMemAccessSize)
    return ffa::kInvalidParameters;
  h->sender = read_at<uint16_t>(d, 0);
  h->flags = read_at<uint32_t>(d, 4);
  h->tag = read_at<uint64_t>(d, 16);
  uint32_t count = read_at<uint32_t>(d, 28);
  uint32_t access_off = ffa::kMemHeaderSize10;
  if (v11) {
    // A v1.1 sender writes what it means: its reserved fields and handle are checked.
    h->attrs = read_at<uint16_t>(d, 2);
    const uint32_t access_size = read_at<uint32_t>(d, 24);
    access_off = read_at<uint32_t>(d, 32);
    uint8_t reserved[12];
    std::memcpy(reserved, d + 36, sizeof(reserved));
    bool zero = read_at<uint64_t>(d, 8) == 0;
    for (const uint8_t b : reserved)
      zero = zero && b == 0;
    if (!zero || access_size != ffa::kMemAccessSize || access_off < hdr_size ||
        access_off % 16 != 0 || access_off > len - ffa::kMemAccessSize)
      return ffa::kInvalidParameters;
  } else {
    // v1.0: Linux 6.1.0 leaves reserved_0 (@3), the handle (@8) and reserved_1 (@24)
    // unwritten, so they are not read.
    h->attrs = read_at<uint8_t>(d, 2);
  }
  if (count != 1)
    return ffa::kInvalidParameters;  // one receiver: the partition
  if ((h->attrs & ~ffa::kMemAttrMask) != 0)
    return ffa::kInvalidParameters;  // bits 7:6 (v1.1: NS and up) MBZ
  // Bit 0 (CLEAR) is a LEND's only flag; time slicing and the retrieve-only fields are
  // refused, as Hafnium does.
  if ((h->flags & ~ffa::kMemFlagClear) != 0 || (!lend && (h->flags & ffa::kMemFlagClear)))
    return ffa::kInvalidParameters;

  const uint8_t* a = d + access_off;
  h->receiver = read_at<uint16_t>(a, 0);
  h->access = read_at<uint8_t>(a, 2);
  // a[3] (flags) and a[8..15] (reserved) are also left unwritten by Linux 6.1.0.
  h->composite = read_at<uint32_t>(a, 4);
  const uint32_t data = h->access & 3, instr = (h->access >> 2) & 3;
  if ((h->access & ~0xfu) != 0 || data == ffa::kMemDataReserved || instr == ffa::kMemInstrReserved)
    return ffa::kInvalidParameters;
  const uint32_t access_end = access_off + ffa::kMemAccessSize;
  if (h->composite < access_end || h->composite % 16 != 0 ||
      h->composite > len - ffa::kMemCompositeSize)
    return ffa::kInvalidParameters;
  if (h->sender != HYPHEAP_FFA_ID_HOST)
    return ffa::kDenied;
  if (h->receiver == h->sender)
    return ffa::kInvalidParameters;
  // Either endpoint of the secure VM; its OP-TEE face takes shares only (argument pages).
  if (h->receiver != HYPHEAP_FFA_ID_SVM && (h->receiver != HYPHEAP_FFA_ID_OPTEE || lend))
    return ffa::kDenied;
  // The sender must say RO or RW, and nothing about execution: the partition never
  // executes what the host gives it.
  if (data == 0 || instr != 0)
    return ffa::kDenied;
  // Normal write-back inner-shareable for a share; for a lend to one borrower "not
  // specified" (what Linux sends since 6.1.y) or the same (what 6.1.0 sends for both).
  const bool attrs_ok = h->attrs == ffa::kMemAttrNormalWbInner || (lend && h->attrs == 0);
  return attrs_ok ? kPass : ffa::kDenied;
}

}  // namespace

class FfaMemory {
 public:
  FfaMemory(Hyp& hyp, unsigned cpu) : hyp_(hyp), st_(hyp.ffa_mem_), cpu_(cpu) {}

  // FFA_MEM_SHARE / FFA_MEM_LEND: w1 total length, w2 fragment length, x3 buffer address
  // and w4 its pages (both 0: TX only).
  void send(FfaRegs& r, uint32_t fid) {
    const bool smc64 = (fid & ffa::kSmc64Bit) != 0;
    const bool lend = (fid & ~ffa::kSmc64Bit) == ffa::kMemLend32;
    const auto total = uint32_t(r.x[1]), frag = uint32_t(r.x[2]);
    const uint64_t buffer = smc64 ? r.x[3] : uint32_t(r.x[3]);
    const auto buffer_pages = uint32_t(r.x[4]);
    if (buffer != 0 || buffer_pages != 0 || frag == 0 || frag > total ||
        frag > kFfaMemMaxFragment || frag % 16 != 0 || total % 16 != 0) {
      set_error(r, ffa::kInvalidParameters);
      return;
    }
    if (total > kFfaMemMaxDescBytes) {
      set_error(r, ffa::kNoMemory);
      return;
    }
    const bool v11 = __atomic_load_n(&hyp_.ffa_.host_version, __ATOMIC_RELAXED) >= ffa::kVersion11;
    LockGuard guard(hyp_.host_.lock);
    if (!hyp_.ffa_.mailbox_mapped) {
      set_error(r, ffa::kDenied);
      return;
    }
    // The one read of TX for this fragment: everything below works on the copy.
    uint8_t* copy = hyp_.desc_buf_[cpu_];
    arch::copy_from_phys(copy, hyp_.ffa_.tx, frag);
    Header h;
    if (const Code c = parse_header(copy, frag, v11, lend, &h); c != kPass) {
      set_error(r, c);
      return;
    }
    if (frag == total) {
      uint64_t handle = 0;
      bool paused = false;
      const Code c = complete(copy, total, v11, lend, nullptr, &handle, &paused);
      answer_sent(r, c, handle, paused);
      return;
    }
    // The first of several fragments: keep it until the rest has arrived.
    size_t buf = 0;
    while (buf < kFfaMemMaxInFlight && st_.buf_used[buf])
      buf++;
    FfaTxn* t = free_record();
    if (buf == kFfaMemMaxInFlight || t == nullptr) {
      set_error(r, ffa::kNoMemory);
      return;
    }
    st_.buf_used[buf] = true;
    std::memcpy(st_.bufs[buf], copy, frag);
    *t = FfaTxn{};
    t->state = FfaTxnState::kAssembling;
    t->lend = lend;
    t->v11 = v11;
    t->buf = uint8_t(buf);
    t->generation = take_generation();
    t->total_len = total;
    t->received = frag;
    set_frag_rx(r, handle_of(*t), frag);
  }

  // FFA_MEM_FRAG_TX: w1/w2 handle, w3 this fragment's length, w4 sender (0 or the host in
  // bits 31:16). A fragment that does not fit the transaction it names drops it.
  void frag_tx(FfaRegs& r) {
    const uint64_t handle = uint32_t(r.x[1]) | uint64_t(uint32_t(r.x[2])) << 32;
    const auto frag = uint32_t(r.x[3]), w4 = uint32_t(r.x[4]);
    LockGuard guard(hyp_.host_.lock);
    FfaTxn* t = find(handle);
    if (t == nullptr || t->state != FfaTxnState::kAssembling) {
      // Nothing being assembled under that handle (never issued, reclaimed, or already
      // complete): there is nothing to drop.
      set_error(r, ffa::kInvalidParameters);
      return;
    }
    Code c = kPass;
    if ((w4 & 0xffff) != 0 || (w4 >> 16 != 0 && w4 >> 16 != HYPHEAP_FFA_ID_HOST) || frag == 0 ||
        frag > kFfaMemMaxFragment || frag % 16 != 0 || frag > t->total_len - t->received)
      c = ffa::kInvalidParameters;  // more bytes than announced, or a length that lies
    else if (!hyp_.ffa_.mailbox_mapped)
      c = ffa::kDenied;  // TX unmapped between fragments
    if (c != kPass) {
      drop(*t);
      set_error(r, c);
      return;
    }
    uint8_t* buf = st_.bufs[t->buf];
    arch::copy_from_phys(buf + t->received, hyp_.ffa_.tx, frag);
    t->received += frag;
    if (t->received < t->total_len) {
      set_frag_rx(r, handle, t->received);
      return;
    }
    // Complete: from here on it is a single-fragment send of the assembled bytes, and the
    // record it already has becomes the live one (or is dropped).
    uint64_t out = 0;
    bool paused = false;
    c = complete(buf, t->total_len, t->v11, t->lend, t, &out, &paused);
    if (c != kPass)
      drop(*t);
    answer_sent(r, c, out, paused);
  }

  // FFA_MEM_OP_RESUME: w1/w2 the handle a PAUSE answer gave. The next piece of that
  // LEND/SHARE; SUCCESS (w2/w3 the handle) after its last, else PAUSE again.
  void resume(FfaRegs& r) {
    const uint64_t handle = uint32_t(r.x[1]) | uint64_t(uint32_t(r.x[2])) << 32;
    LockGuard guard(hyp_.host_.lock);
    FfaTxn* t = find(handle);
    if (t == nullptr || t->state != FfaTxnState::kSending) {
      // Nothing paused under that handle: never issued, done, reclaimed, or not paused.
      set_error(r, ffa::kInvalidParameters);
      return;
    }
    LockGuard svm_guard(partition()->lock);
    uint64_t out = 0;
    const Status s = hyp_.advance_pending(t->slot, &out);
    if (s == Status::kOk) {
      t->state = FfaTxnState::kLive;
      set_success(r, uint32_t(handle), uint32_t(handle >> 32));
    } else if (s == Status::kPreempted || s == Status::kNoMemory) {
      // NO_MEMORY: a change in between merged a table this piece must split again and the
      // pool has none now. The piece did nothing; an error would leave Linux with a lend it
      // believes failed and pages it would free while they are half lent, so ask again.
      set_pause(r, handle);
    } else {
      set_error(r, code_of(s));  // a core bug (the pages changed under the operation)
    }
  }

  // FFA_MEM_RECLAIM: w1/w2 handle, w3 flags (bit 0: clear).
  void reclaim(FfaRegs& r) {
    const uint64_t handle = uint32_t(r.x[1]) | uint64_t(uint32_t(r.x[2])) << 32;
    const auto flags = uint32_t(r.x[3]);
    LockGuard guard(hyp_.host_.lock);
    FfaTxn* t = find(handle);
    if (t == nullptr || (flags & ~ffa::kMemFlagClear) != 0) {
      set_error(r, ffa::kInvalidParameters);
      return;
    }
    if (t->state == FfaTxnState::kAssembling) {
      // The sender abandons a transmission it has not finished: nothing was committed.
      drop(*t);
      set_success(r);
      return;
    }
    // A lend is always zeroed before the host gets it back; a share never held anything
    // the host could not read, and clearing it is refused as Hafnium refuses it.
    if (!t->lend && (flags & ffa::kMemFlagClear)) {
      set_error(r, ffa::kInvalidParameters);
      return;
    }
    if (t->state == FfaTxnState::kSending) {
      // Its LEND/SHARE has not finished: the sender resumes it first (it has no handle
      // until then but the PAUSE answer's).
      set_error(r, ffa::kDenied);
      return;
    }
    Vm* svm = partition();
    LockGuard svm_guard(svm->lock);
    if (t->state == FfaTxnState::kReclaiming) {
      continue_reclaim(r, *t);
      return;
    }
    // An aborted partition holds nothing any more (its marks are gone too).
    if (t->retrieved && !hyp_.ffa_.aborted) {
      set_error(r, ffa::kDenied);
      return;
    }
    OwnershipChange c = change_of(*t, svm);
    OwnershipEngine engine(hyp_);
    PagePool::Reservation res;
    const bool pieces = c.pages > kPiecePages;
    size_t slot = 0;
    Status s = engine.check_states(c);
    if (s == Status::kOk && pieces)
      s = hyp_.free_pending_slot(&slot);
    if (s == Status::kOk)
      s = engine.reserve_tables(c, pieces ? hyp_.pending_[slot].res : res);
    if (s != Status::kOk) {
      // BUSY (pinned or held), NO_MEMORY and (as NO_MEMORY) no free slot are the only
      // refusals of a coherent record.
      set_error(r, s == Status::kBusy                                     ? ffa::kBusy
                   : s == Status::kNoMemory || s == Status::kPendingLimit ? ffa::kNoMemory
                                                                          : ffa::kDenied);
      return;
    }
    if (!pieces) {
      engine.commit(c, res);
      free_live(*t);
      set_success(r);
      return;
    }
    hyp_.start_pending(slot, c, 0, handle);
    uint64_t out = 0;
    s = hyp_.advance_pending(slot, &out);
    if (s != Status::kPreempted) {
      // The first piece can need tables the whole reclaim did not: nothing was done.
      hyp_.cancel_pending(slot);
      set_error(r, s == Status::kNoMemory ? ffa::kNoMemory : ffa::kDenied);
      return;
    }
    t->state = FfaTxnState::kReclaiming;
    t->slot = uint8_t(slot);
    set_error(r, ffa::kRetry);
  }

  Status mark(VmId caller, uint64_t handle, bool retrieve) {
    if (caller != kPartitionVm)
      return Status::kNotMapped;  // only the partition borrows FF-A memory
    Vm* svm = hyp_.find_secure_vm(kPartitionVm);
    if (svm == nullptr)
      return Status::kNotMapped;
    LockGuard guard(hyp_.host_.lock);
    LockGuard svm_guard(svm->lock);
    FfaTxn* t = find(handle);
    // Only a lend to the services' endpoint is the partition's to take (PROTMEM lends its
    // blocks). A share, above all one to the OP-TEE face, is its sender's: marking it would
    // make that sender's reclaim DENIED, and Linux 6.1's optee frees the page regardless.
    if (t == nullptr || t->receiver != HYPHEAP_FFA_ID_SVM || !t->lend)
      return Status::kNotMapped;
    // The pages are on their way in or out: nothing to take or give back until they are.
    if (t->state == FfaTxnState::kSending || t->state == FfaTxnState::kReclaiming)
      return Status::kPending;
    if (t->state != FfaTxnState::kLive)
      return Status::kNotMapped;
    if (retrieve && hyp_.ffa_.aborted)
      return Status::kState;
    if (t->retrieved == retrieve)
      return Status::kState;
    t->retrieved = retrieve;
    return Status::kOk;
  }

  // SVM_FFA_REGION: where a live transaction to the partition's endpoint `receiver` starts.
  Status region(VmId caller, uint64_t handle, uint64_t receiver, Ipa* first, uint64_t* pages) {
    if (caller != kPartitionVm ||
        (receiver != HYPHEAP_FFA_ID_SVM && receiver != HYPHEAP_FFA_ID_OPTEE))
      return Status::kNotMapped;
    LockGuard guard(hyp_.host_.lock);
    const FfaTxn* t = find(handle);
    if (t == nullptr || t->state != FfaTxnState::kLive || t->receiver != receiver)
      return Status::kNotMapped;
    *first = ipa_identity(t->first_page);
    *pages = t->pages;
    return Status::kOk;
  }

  FfaMemInfo info(uint64_t handle) {
    LockGuard guard(hyp_.host_.lock);
    const FfaTxn* t = find(handle);
    if (t == nullptr)
      return {};
    return FfaMemInfo{t->state, t->lend, t->retrieved, t->pages, t->tag, t->perms, t->nr_ranges};
  }

 private:
  // The whole descriptor is in `d` (`total` bytes, the first fragment's part already
  // passed parse_header): check the rest, then commit. `t` is the record of a fragmented
  // send (the caller drops it on failure), nullptr for a single fragment.
  Code complete(const uint8_t* d, uint32_t total, bool v11, bool lend, FfaTxn* t, uint64_t* handle,
                bool* paused) {
    Header h;
    if (const Code c = parse_header(d, total, v11, lend, &h); c != kPass)
      return c;
    const uint32_t total_pages = read_at<uint32_t>(d, h.composite);
    const uint32_t count = read_at<uint32_t>(d, h.composite + 4);
    const uint32_t first = h.composite + ffa::kMemCompositeSize;
    // The constituents fill the descriptor exactly: a total length that lies either way
    // is refused.
    if (count == 0 || uint64_t(first) + uint64_t(count) * ffa::kMemConstituentSize != total)
      return ffa::kInvalidParameters;
    MemRange* ranges = hyp_.ranges_[cpu_];
    uint64_t sum = 0;
    for (uint32_t i = 0; i < count; i++) {
      const uint8_t* c = d + first + i * ffa::kMemConstituentSize;
      const auto addr = read_at<uint64_t>(c, 0);
      const auto pages = read_at<uint32_t>(c, 8);
      // c[12..15] reserved: unwritten by Linux 6.1.0.
      // A range reaching past 2^64 wraps; one ending at exactly 2^64 check_ranges refuses.
      if (!is_page_aligned(addr) || pages == 0 ||
          (addr != 0 && uint64_t(pages) * kPageSize > 0 - addr))
        return ffa::kInvalidParameters;
      ranges[i] = MemRange{PhysAddr(addr), uint64_t(pages) * kPageSize};
      sum += pages;
    }
    if (sum != total_pages)
      return ffa::kInvalidParameters;
    const PhysAddr first_page = ranges[0].base;  // before check_ranges sorts them
    const std::span<MemRange> span(ranges, count);
    uint64_t pages = 0;
    if (const Code c = code_of(OwnershipEngine::check_ranges(hyp_.platform_, span, &pages));
        c != kPass)
      return c;
    const uint32_t n = coalesce(span);
    if (st_.nr_ranges + n > kFfaMemMaxRanges)
      return ffa::kNoMemory;
    FfaTxn* rec = t != nullptr ? t : free_record();
    if (rec == nullptr)
      return ffa::kNoMemory;

    Vm* svm = hyp_.find_secure_vm(kPartitionVm);
    if (svm == nullptr)
      return ffa::kDenied;  // parse_header already named it: not reachable
    LockGuard svm_guard(svm->lock);
    if (hyp_.ffa_.aborted)
      return ffa::kAborted;
    const Perms perms((h.access & 3) == ffa::kMemDataRw ? HYPHEAP_PERM_R | HYPHEAP_PERM_W
                                                        : HYPHEAP_PERM_R);
    OwnershipChange c;
    c.kind = lend ? Transition::kLend : Transition::kShare;
    c.svm = svm;
    c.host_perms = kPermsRwx;
    c.svm_perms = perms;
    c.ffa = true;
    c.clear = lend && (h.flags & ffa::kMemFlagClear);
    c.ranges = span.first(n);
    c.pages = pages;
    OwnershipEngine engine(hyp_);
    PagePool::Reservation res;
    if (const Code code = code_of(engine.check_states(c)); code != kPass)
      return code;
    const bool pieces = pages > kPiecePages;
    size_t slot = 0;
    if (pieces) {
      if (const Code code = code_of(hyp_.free_pending_slot(&slot)); code != kPass)
        return code;
    }
    if (const Code code = code_of(engine.reserve_tables(c, pieces ? hyp_.pending_[slot].res : res));
        code != kPass)
      return code;
    const uint32_t generation = t != nullptr ? t->generation : take_generation();
    if (pieces) {
      hyp_.start_pending(slot, c, 0, ffa_mem_handle(generation, rec - st_.txns));
      uint64_t out = 0;
      if (const Status s = hyp_.advance_pending(slot, &out); s != Status::kPreempted) {
        // The first piece can need tables the whole change did not: nothing was done.
        hyp_.cancel_pending(slot);
        return code_of(s);
      }
    } else {
      engine.commit(c, res);
    }

    if (rec->state == FfaTxnState::kAssembling)
      st_.buf_used[rec->buf] = false;
    *rec = FfaTxn{};
    rec->state = pieces ? FfaTxnState::kSending : FfaTxnState::kLive;
    rec->slot = uint8_t(slot);
    rec->lend = lend;
    rec->clear = c.clear;
    rec->generation = generation;
    rec->first = st_.nr_ranges;
    rec->nr_ranges = n;
    rec->pages = pages;
    rec->tag = h.tag;
    rec->perms = perms;
    rec->receiver = h.receiver;
    rec->first_page = first_page;
    std::memcpy(&st_.ranges[st_.nr_ranges], ranges, n * sizeof(MemRange));
    st_.nr_ranges += n;
    *handle = handle_of(*rec);
    *paused = pieces;
    return kPass;
  }

  // The answer to a LEND/SHARE whose descriptor is complete (complete() said `c`).
  static void answer_sent(FfaRegs& r, Code c, uint64_t handle, bool paused) {
    if (c != kPass)
      set_error(r, c);
    else if (paused)
      set_pause(r, handle);
    else
      set_success(r, uint32_t(handle), uint32_t(handle >> 32));
  }

  // The next piece of a RECLAIM in progress (under both locks): RETRY until its last,
  // then the record goes and SUCCESS.
  void continue_reclaim(FfaRegs& r, FfaTxn& t) {
    uint64_t out = 0;
    const Status s = hyp_.advance_pending(t.slot, &out);
    if (s == Status::kOk) {
      free_live(t);
      set_success(r);
    } else if (s == Status::kPreempted || s == Status::kNoMemory) {
      // NO_MEMORY: this piece must split a table a change in between merged, and the pool
      // has none now; nothing was done, and the sender retries either way.
      set_error(r, ffa::kRetry);
    } else {
      set_error(r, code_of(s));  // a core bug (the pages changed under the operation)
    }
  }

  // The partition of a transaction that has a record past assembly (so it exists).
  Vm* partition() {
    Vm* svm = hyp_.find_secure_vm(kPartitionVm);
    if (svm == nullptr)
      arch::fatal("ffa: a live memory transaction without its partition");
    return svm;
  }

  // Merges sorted, disjoint ranges that touch; returns how many are left.
  static uint32_t coalesce(std::span<MemRange> sorted) {
    uint32_t n = 0;
    for (const MemRange& r : sorted) {
      if (n != 0 && sorted[n - 1].end() == r.base)
        sorted[n - 1].size += r.size;
      else
        sorted[n++] = r;
    }
    return n;
  }

  OwnershipChange change_of(const FfaTxn& t, Vm* svm) const {
    OwnershipChange c;
    c.kind = t.lend ? Transition::kReclaimLent : Transition::kReclaimShared;
    c.svm = svm;
    c.host_perms = kPermsRwx;
    c.ffa = true;
    c.ranges = std::span<const MemRange>(&st_.ranges[t.first], t.nr_ranges);
    c.pages = t.pages;
    return c;
  }

  FfaTxn* free_record() {
    for (FfaTxn& t : st_.txns) {
      if (t.state == FfaTxnState::kFree)
        return &t;
    }
    return nullptr;
  }

  uint32_t take_generation() {
    const uint32_t g = st_.next_generation++;
    if (st_.next_generation == 0)
      st_.next_generation = 1;
    return g;
  }

  uint64_t handle_of(const FfaTxn& t) const { return ffa_mem_handle(t.generation, &t - st_.txns); }

  FfaTxn* find(uint64_t handle) {
    const size_t index = handle & 0xff;
    if (index >= kFfaMemMaxTransactions)
      return nullptr;
    FfaTxn& t = st_.txns[index];
    if (t.state == FfaTxnState::kFree || handle_of(t) != handle)
      return nullptr;
    return &t;
  }

  void drop(FfaTxn& t) {
    st_.buf_used[t.buf] = false;
    t = FfaTxn{};
  }

  // Gives back a live record's ranges, keeping the others packed at the front.
  void free_live(FfaTxn& t) {
    const uint32_t first = t.first, n = t.nr_ranges;
    std::memmove(&st_.ranges[first], &st_.ranges[first + n],
                 (st_.nr_ranges - first - n) * sizeof(MemRange));
    st_.nr_ranges -= n;
    for (FfaTxn& o : st_.txns) {
      if (ffa_txn_holds_pages(o.state) && o.first > first)
        o.first -= n;
    }
    t = FfaTxn{};
  }

  static void set_pause(FfaRegs& r, uint64_t handle) {
    ffa::clear(r);
    r.x[0] = ffa::kMemOpPause;
    r.x[1] = uint32_t(handle);
    r.x[2] = uint32_t(handle >> 32);
  }

  static void set_frag_rx(FfaRegs& r, uint64_t handle, uint32_t offset) {
    ffa::clear(r);
    r.x[0] = ffa::kMemFragRx;
    r.x[1] = uint32_t(handle);
    r.x[2] = uint32_t(handle >> 32);
    r.x[3] = offset;
  }

  Hyp& hyp_;
  FfaMemState& st_;
  unsigned cpu_;
};

void Hyp::ffa_mem_send(unsigned cpu, FfaRegs& regs, uint32_t fid) {
  FfaMemory(*this, cpu).send(regs, fid);
}

void Hyp::ffa_mem_frag_tx(unsigned cpu, FfaRegs& regs) {
  FfaMemory(*this, cpu).frag_tx(regs);
}

void Hyp::ffa_mem_resume(unsigned cpu, FfaRegs& regs) {
  FfaMemory(*this, cpu).resume(regs);
}

void Hyp::ffa_mem_reclaim(unsigned cpu, FfaRegs& regs) {
  FfaMemory(*this, cpu).reclaim(regs);
}

Status Hyp::ffa_mem_retrieve(VmId caller, uint64_t handle) {
  return FfaMemory(*this, 0).mark(caller, handle, true);
}

Status Hyp::ffa_mem_relinquish(VmId caller, uint64_t handle) {
  return FfaMemory(*this, 0).mark(caller, handle, false);
}

Status Hyp::ffa_mem_region(VmId caller, uint64_t handle, uint64_t receiver, Ipa* first,
                           uint64_t* pages) {
  return FfaMemory(*this, 0).region(caller, handle, receiver, first, pages);
}

FfaMemInfo Hyp::ffa_mem_info(uint64_t handle) const {
  return FfaMemory(const_cast<Hyp&>(*this), 0).info(handle);
}

size_t Hyp::ffa_mem_records(FfaTxnState state) const {
  LockGuard guard(host_.lock);
  size_t n = 0;
  for (const FfaTxn& t : ffa_mem_.txns)
    n += t.state == state ? 1 : 0;
  return n;
}

}  // namespace hyp

// dispatch(): one direct request of the host, validated in full before the secure VM holds
// anything it names (docs/abi.md, "Secure VM services").
//
// Memory is only touched through Env::map(), one page at a time: the pointer it returns is
// used up to the end of that page and no further, so nothing here assumes that consecutive
// IPAs are consecutive in the secure VM's address space, and a test Env can check that every
// access lands in a page held for it.
#include "services.h"

#include "aes.h"
#include "args.h"
#include "carveout.h"
#include "protmem.h"
#include "sha256.h"

namespace hyp::svm {
namespace {

constexpr uint32_t kNeedSrc = HYPHEAP_SVM_NEED_R;
constexpr uint32_t kNeedSrcShared = HYPHEAP_SVM_NEED_R | HYPHEAP_SVM_NEED_SHARED;
constexpr uint32_t kNeedDst = HYPHEAP_SVM_NEED_W | HYPHEAP_SVM_NEED_EXCLUSIVE;
constexpr uint32_t kNeedArgs = HYPHEAP_SVM_NEED_R | HYPHEAP_SVM_NEED_SHARED;

Message answer(SvmStatus status, uint64_t d1 = 0, uint64_t d2 = 0, uint64_t d3 = 0,
               uint64_t d4 = 0) {
  if (status != SvmStatus::kOk)
    return Message{{uint64_t(int64_t(status)), 0, 0, 0, 0}};
  return Message{{uint64_t(int64_t(HYPHEAP_SVM_OK)), d1, d2, d3, d4}};
}

uint64_t page_left(Ipa ipa) {
  return kPageSize - (ipa.value() & (kPageSize - 1));
}

// Walks a list of byte ranges in order, handing out pieces that never cross a page.
class Cursor {
 public:
  Cursor(const Args& args, bool dst) : args_(args), dst_(dst) {}

  bool done() const { return index_ == count(); }
  // Bytes available from here without crossing a page or the end of the range.
  uint64_t chunk() const {
    const ByteRange r = current();
    const uint64_t left = r.size - offset_;
    const uint64_t in_page = page_left(r.base + offset_);
    return left < in_page ? left : in_page;
  }
  Ipa where() const { return current().base + offset_; }
  void advance(uint64_t n) {
    offset_ += n;
    if (offset_ == current().size) {
      index_++;
      offset_ = 0;
    }
  }

 private:
  size_t count() const { return dst_ ? args_.nr_dst() : args_.nr_src(); }
  ByteRange current() const { return dst_ ? args_.dst(index_) : args_.src(index_); }

  const Args& args_;
  bool dst_;
  size_t index_ = 0;
  uint64_t offset_ = 0;
};

// The holds of one call: the ranges of the block in list order (src, then dst), of which the
// first `nr_` are held. Recomputed from the block rather than stored: no second page of
// stack.
class Holds {
 public:
  Holds(Env& env, const Args& args) : env_(env), args_(args) {}
  Holds(const Holds&) = delete;
  Holds& operator=(const Holds&) = delete;
  ~Holds() {
    // Every path that answers has called release_all(); this is only a backstop.
    static_cast<void>(release_all());
  }

  // Destinations are whole pages (parse_args checked). A src range may cover lent pages only
  // on the page grid: whole pages, and for DECRYPT at a page multiple of the stream, so that
  // each lent page feeds exactly one destination page. Anything else would put a few bytes
  // the host cannot read next to bytes it chose, in one digest (HASH) or in one destination
  // page (DECRYPT: CTR is byte by byte, so two DECRYPTs with one IV and a whole-page HASH of
  // each compare a lent byte with a guess); such a range may only read shared pages.
  SvmStatus hold_all() {
    uint64_t offset = 0;  // of src range nr_ in the DECRYPT stream
    for (; nr_ < args_.nr_src() + args_.nr_dst(); nr_++) {
      const PageSpan s = span(nr_);
      if (nr_ >= args_.nr_src()) {
        SVM_TRY(from_hold_status(env_.hold(s.first, s.pages, kNeedDst)));
        continue;
      }
      const ByteRange r = args_.src(nr_);
      const bool on_grid =
          is_whole_pages(r) && (args_.op() != HYPHEAP_SVM_OP_DECRYPT || is_page_aligned(offset));
      offset += r.size;
      SVM_TRY(on_grid ? from_hold_status(env_.hold(s.first, s.pages, kNeedSrc)) : hold_shared(s));
    }
    return SvmStatus::kOk;
  }

  // Releases in reverse order. Releasing a page this call holds cannot fail unless the hyp
  // is broken; if it does, the first failure is the answer (never a success).
  SvmStatus release_all() {
    SvmStatus first = SvmStatus::kOk;
    while (nr_ > 0) {
      const PageSpan s = span(--nr_);
      const SvmStatus r = from_hold_status(env_.release(s.first, s.pages));
      if (first == SvmStatus::kOk)
        first = r;
    }
    return first;
  }

 private:
  PageSpan span(size_t i) const {
    return pages_of(i < args_.nr_src() ? args_.src(i) : args_.dst(i - args_.nr_src()));
  }

  // The hyp answers NOT_MAPPED to a hold with need SHARED both for a page that is lent and
  // for one that is not the secure VM's at all. Asking again with need R alone (what every
  // src range was held with before the rule) tells them apart: granted, the pages are the
  // secure VM's but not all shared, so PARTIAL_PAGE (and the hold is dropped at once);
  // refused, that refusal is the answer, as it was before.
  SvmStatus hold_shared(PageSpan s) {
    const int64_t shared = env_.hold(s.first, s.pages, kNeedSrcShared);
    if (shared != HYPHEAP_ERR_NOT_MAPPED)
      return from_hold_status(shared);
    SVM_TRY(from_hold_status(env_.hold(s.first, s.pages, kNeedSrc)));
    SVM_TRY(from_hold_status(env_.release(s.first, s.pages)));
    return SvmStatus::kPartialPage;
  }

  Env& env_;
  const Args& args_;
  size_t nr_ = 0;
};

// Copies the block out of its shared page into `copy` (the only read of host memory a call
// makes), holding the page for the duration of the copy so it cannot be reclaimed under it.
SvmStatus copy_block(Env& env, Ipa addr, uint64_t len, ArgsCopy* copy) {
  if (addr.value() % 8 != 0)
    return SvmStatus::kArgsAddr;
  if (len < sizeof(hypheap_svm_args) || len > HYPHEAP_PAGE_SIZE)
    return SvmStatus::kArgsLen;
  if (len > page_left(addr))
    return SvmStatus::kArgsAddr;
  const Ipa page(addr.value() & ~(kPageSize - 1));
  const int64_t held = env.hold(page, 1, kNeedArgs);
  if (held == HYPHEAP_ERR_BUSY)
    return SvmStatus::kBusy;  // another call of this VM is reading the same page
  if (held == HYPHEAP_ERR_NO_MEMORY)
    return SvmStatus::kNoMemory;
  if (held != HYPHEAP_OK)
    return SvmStatus::kArgsNotShared;
  const uint8_t* p = env.map(addr);
  for (size_t i = 0; i < len; i++)
    copy->bytes[i] = p[i];
  copy->len = len;
  return from_hold_status(env.release(page, 1));
}

void hash_into(Env& env, const Args& args, Sha256& sha) {
  for (Cursor c(args, false); !c.done();) {
    const uint64_t n = c.chunk();
    sha.update(env.map(c.where()), n);
    c.advance(n);
  }
}

// Disjoint ranges below 2^64 - 1 cannot sum past it: no overflow.
uint64_t src_total(const Args& args) {
  uint64_t total = 0;
  for (size_t i = 0; i < args.nr_src(); i++)
    total += args.src(i).size;
  return total;
}

// `offset`: of this chunk in the stream, a page multiple (checked), so block numbers start
// at offset / 16 and never wrap (offset + length < 2^64 is checked too).
void decrypt(Env& env, const Args& args, uint64_t offset) {
  static constexpr uint8_t kKey[] = HYPHEAP_SVM_TEST_KEY;
  const Aes128 aes(kKey);
  AesCtr ctr(aes, args.iv(), offset / Aes128::kBlockSize);
  Cursor src(args, false), dst(args, true);
  // Equal totals (checked): both cursors end together.
  while (!src.done()) {
    const uint64_t a = src.chunk(), b = dst.chunk();
    const uint64_t n = a < b ? a : b;
    uint8_t* out = env.map(dst.where());
    ctr.apply(env.map(src.where()), out, n);
    env.clean_to_poc(out, n);  // a secure decoder may read it without snooping
    src.advance(n);
    dst.advance(n);
  }
}

// Eight bytes a store where the range allows: under TCG each store is an emulated
// instruction, and a heap pool zeroes every freed buffer with FILL.
void set_bytes(uint8_t* p, uint64_t n, uint8_t byte) {
  const uint64_t word = uint64_t{byte} * 0x0101010101010101ULL;
  uint64_t i = 0;
  for (; i < n && reinterpret_cast<uintptr_t>(p + i) % sizeof(word) != 0; i++)
    p[i] = byte;
  for (; i + 4 * sizeof(word) <= n; i += 4 * sizeof(word)) {
    auto* w = reinterpret_cast<uint64_t*>(p + i);
    w[0] = word;
    w[1] = word;
    w[2] = word;
    w[3] = word;
  }
  for (; i < n; i++)
    p[i] = byte;
}

void fill(Env& env, const Args& args) {
  for (Cursor c(args, true); !c.done();) {
    const uint64_t n = c.chunk();
    uint8_t* p = env.map(c.where());
    if (args.pattern() == 0)
      env.zero(p, n);
    else
      set_bytes(p, n, args.pattern());
    // A pooled buffer's next user may hand it to a device that does not snoop: the zeros must
    // be in memory, not only in this CPU's cache (Env::clean_to_poc).
    env.clean_to_poc(p, n);
    c.advance(n);
  }
}

// PIN and UNPIN: one hyp call per range; a failure undoes the ranges already done, so the
// call is all or nothing. The undo cannot fail unless another vCPU raced for the same pages
// between the two calls, and then the first failure is still the answer.
SvmStatus pin_or_unpin(Env& env, const Args& args, bool pin) {
  auto call = [&](PageSpan s, bool do_pin) {
    return from_pin_status(do_pin ? env.pin(s.first, s.pages) : env.unpin(s.first, s.pages));
  };
  for (size_t i = 0; i < args.nr_src(); i++) {
    const SvmStatus s = call(pages_of(args.src(i)), pin);
    if (s == SvmStatus::kOk)
      continue;
    while (i-- > 0)
      static_cast<void>(call(pages_of(args.src(i)), !pin));
    return s;
  }
  return SvmStatus::kOk;
}

uint64_t le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

bool takes_block(uint64_t op) {
  return op == HYPHEAP_SVM_OP_HASH || op == HYPHEAP_SVM_OP_DECRYPT || op == HYPHEAP_SVM_OP_PIN ||
         op == HYPHEAP_SVM_OP_UNPIN || op == HYPHEAP_SVM_OP_FILL ||
         op == HYPHEAP_SVM_OP_HASH_UPDATE;
}

Message digest_answer(const uint8_t digest[Sha256::kDigestSize]) {
  return answer(SvmStatus::kOk, le64(digest), le64(digest + 8), le64(digest + 16),
                le64(digest + 24));
}

// SHA-256 counts the message in bits in 64 bits.
constexpr uint64_t kHashMaxBytes = (uint64_t(1) << 61) - 1;

// HASH_BEGIN, HASH_FINAL, HASH_ABORT: no block.
Message hash_stream_op(HashPool& pool, uint16_t caller, const Message& req) {
  const uint64_t op = req.data[0];
  const uint64_t extra = op == HYPHEAP_SVM_OP_HASH_BEGIN   ? req.data[1] | req.data[2]
                         : op == HYPHEAP_SVM_OP_HASH_ABORT ? req.data[2]
                                                           : 0;
  if ((extra | req.data[3] | req.data[4]) != 0)
    return answer(SvmStatus::kArgsReserved);
  if (op == HYPHEAP_SVM_OP_HASH_BEGIN) {
    uint64_t handle = 0;
    SvmStatus s = pool.begin(caller, &handle);
    return s == SvmStatus::kOk ? answer(s, handle) : answer(s);
  }
  const uint64_t handle = req.data[1];
  HashStream* stream = nullptr;
  if (const SvmStatus s = pool.claim(caller, handle, &stream); s != SvmStatus::kOk)
    return answer(s);
  if (op == HYPHEAP_SVM_OP_HASH_ABORT) {
    pool.end(handle);
    return answer(SvmStatus::kOk);
  }
  if (req.data[2] != stream->bytes) {
    pool.put(handle, false);
    return answer(SvmStatus::kHashOffset);
  }
  uint8_t digest[Sha256::kDigestSize];
  stream->sha.finish(digest);
  pool.end(handle);
  return digest_answer(digest);
}

Message serve(Env& hyp_env, const Config& config, Shared& shared, uint16_t caller,
              const Message& req) {
  const uint64_t op = req.data[0];
  if (is_carveout_op(op))
    return config.carveout ? config.carveout->dispatch(req)
                           : answer(SvmStatus(HYPHEAP_SVM_ERR_CARVEOUT_NO_POOL));
  // The range checks: buffers it allocated from its carve-out are memory it holds.
  CarveoutEnv env(hyp_env, config.carveout);
  if (is_protmem_op(op))
    return protmem_dispatch(env, req);
  if (op == HYPHEAP_SVM_OP_HASH_BEGIN || op == HYPHEAP_SVM_OP_HASH_FINAL ||
      op == HYPHEAP_SVM_OP_HASH_ABORT)
    return hash_stream_op(shared.hashes, caller, req);
  if (op == HYPHEAP_SVM_OP_INFO || op == HYPHEAP_SVM_OP_FAULT) {
    if (op == HYPHEAP_SVM_OP_FAULT && !config.fault_op)
      return answer(SvmStatus::kNotSupported);
    if ((req.data[1] | req.data[2] | req.data[3] | req.data[4]) != 0)
      return answer(SvmStatus::kArgsReserved);
    if (op == HYPHEAP_SVM_OP_FAULT) {
      env.fault();
      // Only a test Env returns: the call then answers as if the fault had not happened.
      return answer(SvmStatus::kOk);
    }
    return answer(SvmStatus::kOk, HYPHEAP_SVM_VERSION, config.nr_vcpus,
                  config.fault_op ? HYPHEAP_SVM_F_FAULT : 0,
                  __atomic_load_n(&shared.overlapped, __ATOMIC_RELAXED));
  }
  if (!takes_block(op))
    return answer(SvmStatus::kNotSupported);
  // data3: DECRYPT's stream offset, HASH_UPDATE's handle; data4: HASH_UPDATE's offset.
  const uint64_t unused = op == HYPHEAP_SVM_OP_HASH_UPDATE ? 0
                          : op == HYPHEAP_SVM_OP_DECRYPT   ? req.data[4]
                                                           : req.data[3] | req.data[4];
  if (unused != 0)
    return answer(SvmStatus::kArgsReserved);

  ArgsCopy copy;
  if (const SvmStatus s = copy_block(env, Ipa(req.data[1]), req.data[2], &copy);
      s != SvmStatus::kOk)
    return answer(s);
  Args args;
  if (const SvmStatus s = parse_args(copy, uint32_t(op), &args); s != SvmStatus::kOk)
    return answer(s);

  if (op == HYPHEAP_SVM_OP_PIN || op == HYPHEAP_SVM_OP_UNPIN)
    return answer(pin_or_unpin(env, args, op == HYPHEAP_SVM_OP_PIN));

  if (op == HYPHEAP_SVM_OP_DECRYPT) {
    const uint64_t offset = req.data[3];
    if (!is_page_aligned(offset) || src_total(args) > ~uint64_t(0) - offset)
      return answer(SvmStatus::kStreamOffset);
  }
  // HASH_UPDATE works on a copy of its context, committed only once everything succeeded.
  const uint64_t handle = req.data[3];
  HashStream* stream = nullptr;
  HashStream next;
  if (op == HYPHEAP_SVM_OP_HASH_UPDATE) {
    if (const SvmStatus s = shared.hashes.claim(caller, handle, &stream); s != SvmStatus::kOk)
      return answer(s);
    SvmStatus s = SvmStatus::kOk;
    if (req.data[4] != stream->bytes)
      s = SvmStatus::kHashOffset;
    else if (src_total(args) > kHashMaxBytes - stream->bytes)
      s = SvmStatus::kHashLength;
    if (s != SvmStatus::kOk) {
      shared.hashes.put(handle, false);
      return answer(s);
    }
    next = *stream;
  }

  Holds holds(env, args);
  SvmStatus s = holds.hold_all();
  uint8_t digest[Sha256::kDigestSize] = {};
  if (s == SvmStatus::kOk) {
    switch (op) {
      case HYPHEAP_SVM_OP_HASH: {
        Sha256 sha;
        hash_into(env, args, sha);
        sha.finish(digest);
        break;
      }
      case HYPHEAP_SVM_OP_HASH_UPDATE:
        hash_into(env, args, next.sha);
        next.bytes += src_total(args);
        break;
      case HYPHEAP_SVM_OP_DECRYPT:
        decrypt(env, args, req.data[3]);
        break;
      case HYPHEAP_SVM_OP_FILL:
        fill(env, args);
        break;
    }
  }
  // A refused hold is the answer (the ones before it are released); else the release's.
  if (const SvmStatus r = holds.release_all(); s == SvmStatus::kOk)
    s = r;
  if (stream != nullptr) {
    if (s == SvmStatus::kOk)
      *stream = next;
    secure_zero(&next, sizeof(next));
    shared.hashes.put(handle, s == SvmStatus::kOk);
  }
  if (s != SvmStatus::kOk || op != HYPHEAP_SVM_OP_HASH)
    return answer(s);
  return digest_answer(digest);
}

}  // namespace

// Counts the calls inside at once (INFO data4): the proof that two vCPUs served two calls
// at the same time, whichever CPUs the host ran them on.
Message dispatch(Env& env, const Config& config, Shared& shared, uint16_t caller,
                 const Message& req) {
  if (__atomic_fetch_add(&shared.inside, 1, __ATOMIC_ACQ_REL) != 0)
    __atomic_fetch_add(&shared.overlapped, 1, __ATOMIC_RELAXED);
  const Message m = serve(env, config, shared, caller, req);
  __atomic_fetch_sub(&shared.inside, 1, __ATOMIC_ACQ_REL);
  return m;
}

}  // namespace hyp::svm

// libFuzzer harness for the secure VM's services: each input sets up a FakeEnv (fuzz_input.h)
// and sends it a sequence of requests through dispatch(). After every request, or the
// process aborts:
//   - nothing is held (unless an injected status refused a release, which leaves the fake
//     holding what the services asked to release), and the FakeEnv saw no violation: no
//     map() of a page not held, no release of a page not held, no unaligned hyp call;
//   - no byte changed outside the pages held with NEED_W during the call, and none at all
//     when the answer is an error;
//   - the answer is HYPHEAP_SVM_OK or one of the HYPHEAP_SVM_ERR_*, with data1..4 zero on
//     error;
//   - protected memory: a successful PROTMEM_ASSIGN leaves its handle held that was not, a
//     successful PROTMEM_RELEASE leaves it not held that was, and no other call changes
//     whether any handle is held;
//   - carve-out: against a model of the live buffers, an ALLOC answer lies in the pool, page
//     aligned, overlapping no live buffer; a FREE succeeds only for a live buffer's base and
//     leaves it zeroed; its NOT_ALLOCATED/NOT_BASE/DOUBLE_FREE only for a base that is none,
//     its PINNED/HELD only for one that is; the pool's table matches the model; no pool page
//     is held after a call or was mapped without a hold; a new buffer reads all zero
//     (the pool starts full of a boot's leftovers); the pool's bytes change only by a
//     successful FILL, DECRYPT, ALLOC or FREE;
//   - whole pages wherever the host cannot read: no HASH answer over a partial page the host
//     cannot read (a src range that is not whole pages touches only shared pages), and no
//     successful DECRYPT or FILL with a destination off the page grid or a DECRYPT whose
//     source reads a lent page off the grid (not whole pages, or not at a page multiple of
//     the stream).
// And every input runs twice from the same start: the answers, the hyp calls made and the
// final memory must be identical (determinism).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <map>
#include <memory>

#include "fake_env.h"
#include "fuzz_input.h"
#include "svm/carveout.h"
#include "svm/sha256.h"

namespace hyp::svm::fuzz {
namespace {

using testing::FakeEnv;
using testing::k4K;
using testing::kBase;
using testing::Kind;

void fail(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "svm fuzz: %s %s\n", what, detail.c_str());
  std::abort();
}

void put_range(std::vector<uint8_t>& block, uint64_t addr, uint64_t size) {
  const hypheap_mem_range r{addr, size};
  const auto* p = reinterpret_cast<const uint8_t*>(&r);
  block.insert(block.end(), p, p + sizeof(r));
}

struct Request {
  Message msg;
  std::vector<uint8_t> block;  // written at msg.data[1] if that is in page 0
};

Request built(Reader& in) {
  const uint8_t op = in.get<uint8_t>();
  const uint8_t corrupt = in.get<uint8_t>();
  const uint8_t nr_src = in.get<uint8_t>() % 9, nr_dst = in.get<uint8_t>() % 9;
  hypheap_svm_args hdr{HYPHEAP_SVM_ARGS_VERSION, op, nr_src, nr_dst, 0, {}, 0};
  for (auto& b : hdr.iv)
    b = in.get<uint8_t>();
  hdr.pattern = in.get<uint8_t>();
  const uint16_t offset = in.get<uint16_t>() % k4K;
  if (corrupt & kBadVersion)
    hdr.version ^= 1u << (op % 32);
  if (corrupt & kWrongOp)
    hdr.op ^= 1;
  if (corrupt & kReserved)
    hdr.reserved = 1u << (op % 32);
  if (corrupt & kHighPattern)
    hdr.pattern |= 0x100;
  Request r;
  r.block.resize(sizeof(hdr));
  std::memcpy(r.block.data(), &hdr, sizeof(hdr));
  for (int i = 0; i < nr_src + nr_dst; i++) {
    const uint8_t page = in.get<uint8_t>();
    const uint16_t off = in.get<uint16_t>() % k4K;
    const uint16_t size = in.get<uint16_t>();
    const uint8_t edge = in.get<uint8_t>();
    put_range(r.block, kBase + page * k4K + off, edge ? kEdges[edge % kNrEdges] : size);
  }
  uint64_t len = r.block.size();
  if (corrupt & kLenPlus8)
    len += 8;
  if (corrupt & kLenMinus8)
    len -= 8;
  const uint64_t addr = kBase + (offset & ~uint64_t(corrupt & kUnaligned ? 0 : 7));
  r.msg = Message{{op, addr, len, corrupt & kData3 ? uint64_t(op) << 8 : 0, 0}};
  return r;
}

Request raw(Reader& in) {
  Request r;
  for (auto& d : r.msg.data)
    d = in.get<uint64_t>();
  size_t len = in.get<uint16_t>() % (k4K + 1);
  const uint8_t* p = in.bytes(&len);
  r.block.assign(p, p + len);
  return r;
}

bool is_svm_status(int64_t s) {
  return s == HYPHEAP_SVM_OK ||
         (s <= HYPHEAP_SVM_ERR_NOT_SUPPORTED && s >= HYPHEAP_SVM_ERR_STREAM_OFFSET) ||
         (s <= HYPHEAP_SVM_ERR_PROTMEM_USE_CASE && s >= HYPHEAP_SVM_ERR_PROTMEM_HYP) ||
         (s <= HYPHEAP_SVM_ERR_CARVEOUT_NO_POOL && s >= HYPHEAP_SVM_ERR_CARVEOUT_HELD);
}

constexpr uint64_t kPool = kBase + kPages * k4K;

// The model of the pool's live buffers: base -> length.
using Live = std::map<uint64_t, uint64_t>;

void check_carveout(Live& live, const Carveout* pool, const std::vector<uint8_t>& mem,
                    const std::vector<uint8_t>& before, const Message& msg, int64_t status,
                    bool release_injected) {
  if (!pool)
    return;
  if (pool->violations() != 0)
    fail("a pool page was mapped without a hold");
  if (pool->nr_held() != 0)
    fail("a pool page is still held after the call");
  const uint64_t op = msg.data[0], base = msg.data[1];
  if (op == HYPHEAP_SVM_OP_CARVEOUT_FREE) {
    const bool is_base = live.count(base) != 0;
    switch (status) {
      case HYPHEAP_SVM_OK: {
        if (!is_base)
          fail("FREE of no live buffer's base succeeded");
        for (uint64_t i = base - kPool; i < base - kPool + live[base]; i++) {
          if (mem[i] != 0)
            fail("FREE left a byte of the buffer unscrubbed");
        }
        live.erase(base);
        break;
      }
      case HYPHEAP_SVM_ERR_CARVEOUT_NOT_ALLOCATED:
      case HYPHEAP_SVM_ERR_CARVEOUT_NOT_BASE:
      case HYPHEAP_SVM_ERR_CARVEOUT_DOUBLE_FREE:
        if (is_base)
          fail("FREE of a live buffer's base refused as none");
        break;
      case HYPHEAP_SVM_ERR_CARVEOUT_PINNED:
      case HYPHEAP_SVM_ERR_CARVEOUT_HELD:
        if (!is_base)
          fail("FREE of no live buffer refused as pinned/held");
        break;
      default:
        break;
    }
  }
  if (pool->nr_buffers() != live.size())
    fail("the pool's table and the model differ");
  const bool may_write = status == HYPHEAP_SVM_OK
                             ? op == HYPHEAP_SVM_OP_FILL || op == HYPHEAP_SVM_OP_DECRYPT ||
                                   op == HYPHEAP_SVM_OP_CARVEOUT_FREE ||
                                   op == HYPHEAP_SVM_OP_CARVEOUT_ALLOC
                             : release_injected;
  if (!may_write && mem != before)
    fail("a pool byte changed", std::to_string(op));
}

void model_alloc(Live& live, const std::vector<uint8_t>& mem, const Message& req,
                 const Message& answer) {
  const uint64_t len = req.data[1], b = answer.data[1];
  if (b < kPool || b % k4K || len > kPoolPages * k4K || b - kPool > kPoolPages * k4K - len)
    fail("ALLOC answered a buffer outside the pool or unaligned");
  for (uint64_t i = b - kPool; i < b - kPool + len; i++) {
    if (mem[i] != 0)
      fail("ALLOC answered a buffer that is not zeroed");
  }
  for (const auto& [base, size] : live) {
    if (b < base + size && base < b + len)
      fail("ALLOC answered a buffer overlapping a live one");
  }
  live[b] = len;
}

// Which of kHandles the secure VM holds, one bit each.
unsigned held_handles(const FakeEnv& env) {
  unsigned bits = 0;
  for (size_t i = 0; i < sizeof(kHandles) / sizeof(kHandles[0]); i++)
    bits |= unsigned(env.ffa_held(kHandles[i])) << i;
  return bits;
}

void check_protmem(unsigned before, unsigned after, const Message& msg, int64_t status) {
  unsigned bit = 0;
  for (size_t i = 0; i < sizeof(kHandles) / sizeof(kHandles[0]); i++)
    if (msg.data[1] == kHandles[i])
      bit = 1u << i;
  const uint64_t op = msg.data[0];
  if (status == HYPHEAP_SVM_OK && op == HYPHEAP_SVM_OP_PROTMEM_ASSIGN) {
    if (!bit || (before & bit) || after != (before | bit))
      fail("ASSIGN succeeded without taking exactly its handle");
  } else if (status == HYPHEAP_SVM_OK && op == HYPHEAP_SVM_OP_PROTMEM_RELEASE) {
    if (!bit || !(before & bit) || after != (before & ~bit))
      fail("RELEASE succeeded without giving back exactly its handle");
  } else if (after != before) {
    fail("a call other than a successful ASSIGN/RELEASE changed the handles held");
  }
}

bool whole_pages(const hypheap_mem_range& r) {
  return r.addr % k4K == 0 && r.size % k4K == 0;
}

bool all_shared(const FakeEnv& env, const hypheap_mem_range& r) {
  for (uint64_t page = r.addr / k4K; page <= (r.addr + r.size - 1) / k4K; page++) {
    if (page * k4K < kBase || page * k4K >= env.end() ||
        env.state(page * k4K).kind != Kind::kShared)
      return false;
  }
  return true;
}

// A successful HASH, DECRYPT or FILL, read back from the block the services copied (`ram`
// is the memory before the call): every range the host cannot read is whole pages on the
// page grid. Computed here from the ABI, not with the services' own helpers.
void check_whole_pages(const FakeEnv& env, const std::vector<uint8_t>& ram, const Message& msg) {
  const uint64_t op = msg.data[0];
  if (op != HYPHEAP_SVM_OP_HASH && op != HYPHEAP_SVM_OP_DECRYPT && op != HYPHEAP_SVM_OP_FILL &&
      op != HYPHEAP_SVM_OP_HASH_UPDATE)
    return;
  hypheap_svm_args hdr;
  std::memcpy(&hdr, ram.data() + (msg.data[1] - kBase), sizeof(hdr));
  const uint8_t* ranges = ram.data() + (msg.data[1] - kBase) + sizeof(hdr);
  uint64_t offset = 0;
  for (size_t i = 0; i < size_t(hdr.nr_src) + hdr.nr_dst; i++) {
    hypheap_mem_range r;
    std::memcpy(&r, ranges + i * sizeof(r), sizeof(r));
    if (i >= hdr.nr_src) {
      if (!whole_pages(r))
        fail("a destination off the page grid was written");
      continue;
    }
    const bool on_grid = whole_pages(r) && (op != HYPHEAP_SVM_OP_DECRYPT || offset % k4K == 0);
    offset += r.size;
    if (!on_grid && !all_shared(env, r))
      fail(op != HYPHEAP_SVM_OP_DECRYPT ? "a HASH over a partial page the host cannot read"
                                        : "a DECRYPT read a lent page off the page grid");
  }
}

// The bytes a block names, in list order, from `ram` (the memory before the call).
std::vector<uint8_t> src_bytes(const std::vector<uint8_t>& ram, const Message& msg) {
  hypheap_svm_args hdr;
  std::memcpy(&hdr, ram.data() + (msg.data[1] - kBase), sizeof(hdr));
  const uint8_t* ranges = ram.data() + (msg.data[1] - kBase) + sizeof(hdr);
  std::vector<uint8_t> out;
  for (size_t i = 0; i < hdr.nr_src; i++) {
    hypheap_mem_range r;
    std::memcpy(&r, ranges + i * sizeof(r), sizeof(r));
    const uint8_t* p = ram.data() + (r.addr - kBase);
    out.insert(out.end(), p, p + r.size);
  }
  return out;
}

// A context the input began, and what the harness expects of it: the bytes its accepted
// UPDATEs named, hashed by the harness's own SHA-256 object.
struct Tracked {
  uint64_t handle;
  uint16_t owner;
  uint64_t bytes = 0;
  Sha256 sha;
};

// A streaming HASH call: a stale or foreign handle, or an offset one off, is never
// accepted; a FINAL's digest is the SHA-256 of exactly what the accepted UPDATEs named.
void check_stream(std::vector<Tracked>& tracked, uint8_t kind, size_t which, uint8_t tweak,
                  uint16_t caller, const std::vector<uint8_t>& before, const Message& req,
                  const Message& m) {
  if (int64_t(m.data[0]) != HYPHEAP_SVM_OK)
    return;
  if (kind == 0) {
    for (const Tracked& t : tracked) {
      if (t.handle == m.data[1])
        fail("BEGIN gave a live handle again");
    }
    // A reused context (the caller's least recently used) leaves its handle stale: the
    // harness keeps it, and its later calls must then be refused.
    tracked.push_back(Tracked{m.data[1], caller, 0, Sha256()});
    return;
  }
  if (tracked.empty() || (tweak & kStaleHandle))
    fail("a stale handle was accepted");
  if (tracked[which % tracked.size()].owner != caller)
    fail("another caller's handle was accepted");
  if ((kind == 1 || kind == 2) && (tweak & kOffsetOff))
    fail("an offset one off was accepted");
  Tracked& t = tracked[which % tracked.size()];
  if (kind == 1) {
    const auto data = src_bytes(before, req);
    t.sha.update(data.data(), data.size());
    t.bytes += data.size();
    return;
  }
  if (kind == 2) {
    uint8_t want[Sha256::kDigestSize];
    t.sha.finish(want);
    for (int w = 0; w < 4; w++) {
      for (int i = 0; i < 8; i++) {
        if (uint8_t(m.data[1 + w] >> (8 * i)) != want[8 * w + i])
          fail("FINAL's digest is not that of the accepted chunks");
      }
    }
  }
  tracked.erase(tracked.begin() + std::ptrdiff_t(which % tracked.size()));
}

// Runs one input from scratch; returns what determinism compares.
std::string run(const uint8_t* data, size_t size) {
  Reader in(data, size);
  const uint8_t flags = in.get<uint8_t>();
  std::vector<uint8_t> pool_mem(kPoolPages * k4K, 0xa5);  // what a previous boot left
  std::unique_ptr<Carveout> pool;
  if ((flags & 2) == 0) {
    pool = std::make_unique<Carveout>();
    if (!pool->init(Ipa(kPool), pool_mem.size(), pool_mem.data(), nullptr))
      fail("pool init");
  }
  const Config config{2, (flags & 1) != 0, pool.get()};
  Shared shared;
  Live live;
  FakeEnv env(kPages);
  for (size_t g = 0; g < kGroups; g++) {
    const uint8_t l = in.get<uint8_t>();
    for (size_t i = 0; i < 4; i++) {
      const uint64_t ipa = kBase + (4 * g + i) * k4K;
      env.set(ipa, 1, Kind(l & 3), (l & 4) == 0);
      env.set_pinned(ipa, (l & 8) != 0);
    }
  }
  env.set(kBase, 1, Kind::kShared);
  for (uint64_t handle : kHandles)
    env.ffa_lend(handle);
  static const std::vector<uint8_t> pattern = [] {
    std::vector<uint8_t> p(kPages * k4K);
    for (size_t i = 0; i < p.size(); i++)
      p[i] = uint8_t(i * 131 + i / 4096);
    return p;
  }();
  std::memcpy(env.at(kBase), pattern.data(), pattern.size());

  std::string trace;
  bool injected = false;
  std::vector<Tracked> tracked;
  while (!in.done()) {
    const uint8_t mode = in.get<uint8_t>() % kNrModes;
    if (mode == uint8_t(Mode::kInject)) {
      const uint8_t n = in.get<uint8_t>() % 16;
      env.inject(n, kStatuses[in.get<uint8_t>() % kNrStatuses]);
      injected = true;
      continue;
    }
    uint8_t kind = 0, tweak = 0;
    size_t which = 0;
    uint16_t caller = HYPHEAP_FFA_ID_HOST;
    Request r;
    if (mode == uint8_t(Mode::kStream)) {
      kind = in.get<uint8_t>() % 4;
      which = in.get<uint8_t>();
      tweak = in.get<uint8_t>();
      static constexpr uint64_t kOps[] = {HYPHEAP_SVM_OP_HASH_BEGIN, HYPHEAP_SVM_OP_HASH_UPDATE,
                                          HYPHEAP_SVM_OP_HASH_FINAL, HYPHEAP_SVM_OP_HASH_ABORT};
      if (kind == 1) {
        r = built(in);
        if (r.block.size() >= sizeof(hypheap_svm_args)) {
          const uint32_t op = HYPHEAP_SVM_OP_HASH_UPDATE;
          std::memcpy(r.block.data() + offsetof(hypheap_svm_args, op), &op, sizeof(op));
        }
      }
      const Tracked* t = tracked.empty() ? nullptr : &tracked[which % tracked.size()];
      const uint64_t handle = (t ? t->handle : 0) - (tweak & kStaleHandle ? 0x100 : 0);
      const uint64_t bytes = (t ? t->bytes : 0) + (tweak & kOffsetOff ? 1 : 0);
      r.msg.data[0] = kOps[kind];
      if (kind == 1) {
        r.msg.data[3] = handle;
        r.msg.data[4] = bytes;
      } else if (kind != 0) {
        r.msg = Message{{kOps[kind], handle, kind == 2 ? bytes : 0, 0, 0}};
      } else {
        r.msg = Message{{kOps[0], 0, 0, 0, 0}};
      }
      if (tweak & kOtherCaller)
        caller = 0x0002;
    } else {
      r = mode == uint8_t(Mode::kBuilt) ? built(in) : raw(in);
    }
    // The block goes where the request says if that is in page 0, else at its start.
    uint64_t at = r.msg.data[1];
    if (at < kBase || at >= kBase + k4K || r.block.size() > kBase + k4K - at)
      at = kBase;
    if (!r.block.empty())
      std::memcpy(env.at(at), r.block.data(), r.block.size() > k4K ? k4K : r.block.size());

    const std::vector<uint8_t> before = env.ram();
    const std::vector<uint8_t> pool_before = pool_mem;
    const unsigned held_before = held_handles(env);
    const Message m = dispatch(env, config, shared, caller, r.msg);
    const int64_t status = int64_t(m.data[0]);
    check_protmem(held_before, held_handles(env), r.msg, status);
    if (mode == uint8_t(Mode::kStream))
      check_stream(tracked, kind, which, tweak, caller, before, r.msg, m);
    if (pool && r.msg.data[0] == HYPHEAP_SVM_OP_CARVEOUT_ALLOC && status == HYPHEAP_SVM_OK)
      model_alloc(live, pool_mem, r.msg, m);
    check_carveout(live, pool.get(), pool_mem, pool_before, r.msg, status,
                   env.release_was_injected());
    if (!is_svm_status(status))
      fail("answer is no service status", std::to_string(status));
    if (status != HYPHEAP_SVM_OK && (m.data[1] | m.data[2] | m.data[3] | m.data[4]) != 0)
      fail("an error answer carries results");
    if (!env.violations().empty())
      fail("violation:", env.violations().front());
    if (status == HYPHEAP_SVM_OK)
      check_whole_pages(env, before, r.msg);
    if (env.nr_held() != 0 && !env.release_was_injected())
      fail("pages still held after the call", env.log());
    // Page by page: a changed page must have been held for writing, and only a success
    // (or a call whose release was refused after the work) may change anything.
    const std::vector<uint8_t>& after = env.ram();
    for (size_t page = 0; page < kPages; page++) {
      if (std::memcmp(after.data() + page * k4K, before.data() + page * k4K, k4K) == 0)
        continue;
      if (status != HYPHEAP_SVM_OK && !env.release_was_injected())
        fail("a failed call changed memory", std::to_string(page));
      if (!env.was_held_for_write(kBase + page * k4K))
        fail("write outside the pages held for writing", std::to_string(page));
    }
    char buf[160];
    std::snprintf(buf, sizeof(buf), "%lld %llx %llx %llx %llx|", (long long)status,
                  (unsigned long long)m.data[1], (unsigned long long)m.data[2],
                  (unsigned long long)m.data[3], (unsigned long long)m.data[4]);
    trace += buf;
    trace += env.log();
    env.reset_call_state();
    if (injected) {
      env.clear_injected();
      injected = false;
    }
  }
  // The final memory and pin marks, folded.
  uint64_t h = 1469598103934665603ULL;
  for (uint8_t b : env.ram())
    h = (h ^ b) * 1099511628211ULL;
  for (size_t i = 0; i < kPages; i++)
    h = (h ^ env.state(kBase + i * k4K).pinned) * 1099511628211ULL;
  h = (h ^ held_handles(env)) * 1099511628211ULL;
  for (uint8_t b : pool_mem)
    h = (h ^ b) * 1099511628211ULL;
  return trace + std::to_string(h);
}

}  // namespace
}  // namespace hyp::svm::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string first = hyp::svm::fuzz::run(data, size);
  if (hyp::svm::fuzz::run(data, size) != first)
    hyp::svm::fuzz::fail("two runs of one input differ");
  if (std::getenv("SVM_FUZZ_TRACE"))
    std::fprintf(stderr, "%s\n", first.c_str());
  return 0;
}

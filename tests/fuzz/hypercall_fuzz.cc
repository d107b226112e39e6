// libFuzzer harness for the hypercall entry: every input starts from a hypervisor core as
// Hyp::init leaves it over the fake arch (booted once per pool size, then restored), then runs a
// sequence of calls (fuzz_input.h) through Hyp::handle_smccc and the pin API. After each call the
// machine must still be coherent, or the process aborts:
//   - the invariant checker finds nothing in what the call wrote (every page of every
//     stage-2 entry it stored, the tables on the way), and nothing anywhere (totals
//     included: counters, table pages against the pool) at the end of the input;
//   - the fake arch saw no break-before-make or ordering violation (TLB and cache
//     maintenance, scrub, table frees) and no TLB invalidation is owed;
//   - a call that failed, or that only reads, stored no stage-2 entry and took no table page;
//   - every answer is a status the ABI defines.
// HYP_FUZZ_TRACE=1 in the environment prints each call and its status (to check seeds).
// At exit the harness prints how many hypercalls it issued ("hyp_fuzz: N hypercalls in M
// inputs"): a campaign is sized in calls, and an input holds any number of them.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "arch/fake/fake_arch.h"
#include "core/ffa_abi.h"
#include "core/hyp.h"
#include "fuzz_input.h"

namespace hyp::fuzz {
namespace {

constexpr VmId kSvm0{HYPHEAP_VMID_SECURE_0}, kSvm1{HYPHEAP_VMID_SECURE_1};
constexpr size_t kMaxRanges = 64;  // per kAssign: keeps an input's calls cheap
constexpr size_t kHistory = 16;

bool g_trace = false;
uint64_t g_calls = 0, g_inputs = 0;

void fail(const char* what, uint64_t where = 0) {
  std::fprintf(stderr, "hypercall fuzz: %s (at 0x%llx)\n", what, (unsigned long long)where);
  std::abort();
}

// A successful assign, as the host would keep it to undo it later.
struct Record {
  uint64_t srcvm = 0;  // what the call returned in x1
  hypheap_mem_range ranges[kMaxRanges];
  size_t nr_ranges = 0;
  bool scrub = false;  // HYPHEAP_DESC_F_SCRUB: no piece of it may move a page
};

// Fake RAM is only ever written by the core (table pages, which init and alloc rewrite, and
// scrubs, which write zeros) and by the harness (descriptors). So zeroing the harness's
// pages makes every input start from the same memory without returning all of it to the
// kernel each time (faulting it back in was most of the cost of an execution); a full reset
// now and then bounds what stays resident.
class Memory {
 public:
  void begin_input() {
    if (++inputs_ % 256 == 0) {
      fake::reset_memory();
    } else {
      for (size_t i = 0; i < nr_dirty_; i++)
        std::memset(arch::phys_to_virt(PhysAddr(dirty_[i])), 0, k4K);
    }
    nr_dirty_ = 0;
  }
  void write(uint64_t pa, const uint8_t* src, size_t n) {
    const uint64_t page = pa & ~(k4K - 1);
    if (nr_dirty_ == 0 || dirty_[nr_dirty_ - 1] != page) {
      if (nr_dirty_ == kMaxDirty)
        fail("harness wrote more pages than it tracks");
      dirty_[nr_dirty_++] = page;
    }
    std::memcpy(arch::phys_to_virt(PhysAddr(pa)), src, n);
  }
  // A page the core wrote for the host (the FF-A RX buffer): zeroed with the harness's own.
  void touch(uint64_t pa) {
    const uint64_t page = pa & ~(k4K - 1);
    for (size_t i = 0; i < nr_dirty_; i++) {
      if (dirty_[i] == page)
        return;
    }
    if (nr_dirty_ == kMaxDirty)
      fail("harness wrote more pages than it tracks");
    dirty_[nr_dirty_++] = page;
  }

 private:
  static constexpr size_t kMaxDirty = 4096;
  uint64_t dirty_[kMaxDirty];
  size_t nr_dirty_ = 0;
  uint64_t inputs_ = 0;
};

Memory g_memory;

class Session {
 public:
  explicit Session(size_t pool_pages) : pool_pages_(pool_pages) {
    g_memory.begin_input();
    g_inputs++;
    hyp_ = std::launder(reinterpret_cast<Hyp*>(storage_));
    Booted*& booted = booted_[pool_pages_ % kPoolSizes];
    if (booted == nullptr) {
      booted = boot();
    } else {
      restore(*booted);
      if (!(state() == booted->after_init))
        fail("a restored core differs from the one booted");
    }
    after_init_ = booted->after_init;
  }
  ~Session() {
    // The invariant checker's verdict depends only on the live tables, the pool and the
    // PAGES_LENT/SHARED counters. An input that stored no entry, took no table page and
    // moved no counter ends in the state init left (the core is deterministic, and
    // verify_tables() proved after every call that no store bypassed write_pte), which an
    // earlier input with this pool size was fully checked in: only a changed state needs
    // the whole walk again.
    const bool unchanged = state() == after_init_;
    if (!unchanged || !init_checked_[pool_pages_ % kPoolSizes]) {
      check_all("at the end of the input");
      init_checked_[pool_pages_ % kPoolSizes] |= unchanged;
    }
    hyp_->~Hyp();
    // Frees what the fake's model allocated during the input, so libFuzzer's malloc/free
    // balance holds and it does not run the input again to look for a leak.
    fake::reset();
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void run(Reader& in) {
    while (!in.done()) {
      switch (Op(in.get<uint8_t>() % kNrOps)) {
        case Op::kAssign:
          assign(in);
          break;
        case Op::kReclaimPrevious:
          reclaim_previous(in);
          break;
        case Op::kSmc:
          smc(in);
          break;
        case Op::kPin:
          pin(in);
          break;
        case Op::kRawDescriptor:
          raw_descriptor(in);
          break;
        case Op::kQueryEdge:
          query_edge(in);
          break;
        case Op::kFfaHost:
          ffa_host(in);
          break;
        case Op::kFfaPartition:
          ffa_partition(in);
          break;
        case Op::kFfaEvent:
          ffa_event(in);
          break;
        case Op::kSvmCall:
          svm_call(in);
          break;
        case Op::kFfaMem:
          ffa_mem(in);
          break;
        case Op::kFfaMemCall:
          ffa_mem_call(in);
          break;
        case Op::kContinue:
          continue_op(in);
          break;
      }
    }
  }

 private:
  void assign(Reader& in) {
    const auto place = Place(in.get<uint8_t>() % kNrPlaces);
    const uint64_t pa = place == Place::kEdge ? edge_of(in, k4K) : place_of(place);
    const uint8_t corrupt = in.get<uint8_t>();
    const uint64_t edge_len = (corrupt & kLengthEdge) ? edge_of(in, 1) : 0;
    hypheap_assign_hdr hdr{HYPHEAP_DESC_VERSION, 0, 0, 0, 0, in.get<uint64_t>()};
    hypheap_vmperm dests[HYPHEAP_DESC_MAX_DESTS + 1];
    hdr.nr_dests = uint16_t(in.get<uint8_t>() % (HYPHEAP_DESC_MAX_DESTS + 2));
    for (size_t i = 0; i < hdr.nr_dests; i++)
      dests[i] = hypheap_vmperm{in.get<uint32_t>(), in.get<uint32_t>()};
    Record rec;
    rec.nr_ranges = in.get<uint8_t>() % (kMaxRanges + 1);
    for (size_t i = 0; i < rec.nr_ranges; i++)
      rec.ranges[i] = decode_range(in);
    hdr.nr_ranges = uint32_t(rec.nr_ranges);
    hdr.version ^= (corrupt & kBadVersion) ? 0x100 : 0;
    hdr.flags = uint16_t(((corrupt & kNonzeroFlags) ? 0x8000 : 0) |
                         ((corrupt & kScrubFlag) ? HYPHEAP_DESC_F_SCRUB : 0));
    hdr.reserved = (corrupt & kNonzeroReserved) ? 1 : 0;

    uint8_t buf[HYPHEAP_DESC_SIZE(HYPHEAP_DESC_MAX_DESTS + 1, kMaxRanges)];
    size_t len = 0;
    append(buf, &len, &hdr, sizeof(hdr));
    append(buf, &len, dests, hdr.nr_dests * sizeof(hypheap_vmperm));
    append(buf, &len, rec.ranges, rec.nr_ranges * sizeof(hypheap_mem_range));
    uint64_t x2 = len;
    x2 += (corrupt & kLengthLong) ? 16 : 0;
    x2 -= (corrupt & kLengthShort) ? 16 : 0;
    x2 = (corrupt & kLengthEdge) ? edge_len : x2;
    const Footprint before = footprint();
    const SmcccResult r = mem_assign(pa, buf, len, x2);
    // The scrub in place moves nothing, in any piece: not one stage-2 entry, not one table
    // page.
    rec.scrub = (hdr.flags & HYPHEAP_DESC_F_SCRUB) != 0;
    if (rec.scrub)
      check_moved_nothing(before, "a scrub in place");
    if (int64_t(r.x[0]) == HYPHEAP_OK)
      remember(r.x[1], rec);
    if (int64_t(r.x[0]) == HYPHEAP_PREEMPTED)
      remember_token(r.x[1], rec);
  }

  // MEM_CONTINUE of a token the hyp gave (or a raw one). A continuation that finishes is
  // remembered like a successful assign, so kReclaimPrevious can undo it.
  void continue_op(Reader& in) {
    const uint8_t index = in.get<uint8_t>(), flags = in.get<uint8_t>();
    const uint64_t raw = in.get<uint64_t>();
    const bool known = (index & 0x80) == 0 && nr_tokens_ != 0;
    const uint64_t token = known ? tokens_[index % nr_tokens_].token : raw;
    const unsigned cpu = (flags & kContinueCpu1) ? 1 : 0;
    SmcccResult r{};
    do {
      const Footprint before = footprint();
      g_calls++;
      r = hyp_->handle_smccc(
          cpu, SmcccArgs{{HYPHEAP_FN_MEM_CONTINUE, token, (flags & kContinueX2) ? 1u : 0u, raw}});
      trace("continue", token, r.x[0]);
      check_status(r.x[0]);
      const auto st = int64_t(r.x[0]);
      if (st != HYPHEAP_OK && st != HYPHEAP_PREEMPTED && (r.x[1] != 0 || !(footprint() == before)))
        fail("a refused MEM_CONTINUE changed something");
      if (known && tokens_[index % nr_tokens_].rec.scrub)
        check_moved_nothing(before, "a piece of a scrub in place");
      if (st == HYPHEAP_PREEMPTED && r.x[1] != token)
        fail("MEM_CONTINUE answered another token");
      check("after MEM_CONTINUE");
    } while ((flags & kContinueToEnd) && int64_t(r.x[0]) == HYPHEAP_PREEMPTED);
    if (int64_t(r.x[0]) != HYPHEAP_OK)
      return;
    // A raw value may be a token the harness has (or one of a raw MEM_ASSIGN, not recorded).
    for (size_t i = 0; i < nr_tokens_; i++) {
      if (tokens_[i].token == token) {
        remember(r.x[1], tokens_[i].rec);
        tokens_[i] = tokens_[--nr_tokens_];
        return;
      }
    }
  }

  void remember_token(uint64_t token, const Record& rec) {
    if (nr_tokens_ == kMaxTokens)
      fail("more operations in progress than the hyp has slots");
    tokens_[nr_tokens_++] = Token{token, rec};
  }

  void reclaim_previous(Reader& in) {
    const uint8_t index = in.get<uint8_t>(), variant = in.get<uint8_t>();
    if (nr_history_ == 0)
      return;
    const Record& rec = history_[index % nr_history_];
    // srcvm as qcom_scm callers keep it: the bitmap the assign returned.
    uint64_t srcvm = rec.srcvm;
    if (variant & kWrongOwner)
      srcvm ^= kSvm0.bit() | kSvm1.bit();
    const uint32_t perms = (variant & kReducedPerms) ? HYPHEAP_PERM_R : HYPHEAP_PERM_RWX;
    const size_t n = (variant & kFirstHalf) ? (rec.nr_ranges + 1) / 2 : rec.nr_ranges;
    const hypheap_assign_hdr hdr{HYPHEAP_DESC_VERSION, 1, 0, uint32_t(n), 0, srcvm};
    const hypheap_vmperm dest{HYPHEAP_VMID_HOST, perms};
    uint8_t buf[HYPHEAP_DESC_SIZE(1, kMaxRanges)];
    size_t len = 0;
    append(buf, &len, &hdr, sizeof(hdr));
    append(buf, &len, &dest, sizeof(dest));
    append(buf, &len, rec.ranges, n * sizeof(hypheap_mem_range));
    const SmcccResult r = mem_assign(kDescPage, buf, len, len);
    if (int64_t(r.x[0]) == HYPHEAP_PREEMPTED)
      remember_token(r.x[1], rec);
  }

  void smc(Reader& in) {
    SmcccArgs a;
    for (uint64_t& x : a.x)
      x = in.get<uint64_t>();
    run_smc(a);
  }

  void run_smc(const SmcccArgs& a) {
    const Footprint before = footprint();
    g_calls++;
    const SmcccResult r = hyp_->handle_smccc(0, a);
    trace("smc", a.x[0], r.x[0]);
    check_status(r.x[0]);
    // Only MEM_ASSIGN and MEM_CONTINUE may change a stage-2, and only when they succeed (or
    // did a piece). A raw one that did is an operation the harness has no record of, which
    // is fine: its token is not one the harness continues.
    const uint32_t fid = uint32_t(a.x[0]);
    const bool changes = fid == HYPHEAP_FN_MEM_ASSIGN || fid == HYPHEAP_FN_MEM_CONTINUE;
    const bool done = int64_t(r.x[0]) == HYPHEAP_OK || int64_t(r.x[0]) == HYPHEAP_PREEMPTED;
    if (!(changes && done) && !(footprint() == before))
      fail("a call that changes nothing changed a stage-2");
    check("after smc");
  }

  void pin(Reader& in) {
    const uint8_t sel = in.get<uint8_t>();
    const VmId vm = sel == 0 ? kSvm0 : sel == 1 ? kSvm1 : sel == 2 ? kVmidHost : VmId(sel);
    const uint64_t page = in.get<uint64_t>();
    const uint64_t pages = in.get<uint16_t>();
    const bool unpin = in.get<uint8_t>() & 1;
    const Ipa ipa(kArena + (page % kArenaPages) * k4K);
    g_calls++;
    const Status s = unpin ? hyp_->unpin(vm, ipa, pages) : hyp_->pin(vm, ipa, pages);
    trace(unpin ? "unpin" : "pin", ipa.value(), uint64_t(s));
    check_status(uint64_t(s));
    check("after pin");
  }

  void raw_descriptor(Reader& in) {
    size_t len = in.get<uint16_t>() % (HYPHEAP_DESC_MAX_SIZE + 1);
    const uint8_t* bytes = in.bytes(&len);
    const uint64_t x2 = in.get<uint64_t>();
    (void)mem_assign(kDescPage, bytes, len, x2);
  }

  void query_edge(Reader& in) {
    const uint64_t pa = edge_of(in, k4K);
    const uint8_t pages_sel = in.get<uint8_t>();
    const auto pages_nudge = in.get<int8_t>();
    const uint8_t flags = in.get<uint8_t>();
    const uint64_t base =
        (flags & kPagesToTop) ? (0 - pa) >> 12 : kEdges[pages_sel % kNrEdges] >> 12;
    const uint64_t pages = base + uint64_t(int64_t(pages_nudge));
    run_smc(SmcccArgs{{HYPHEAP_FN_MEM_QUERY, pa, pages, 0}});
  }

  // --- FF-A -----------------------------------------------------------------------------
  // The harness plays the arch: it knows what each CPU runs and which vCPU boots, issues a
  // call only from where the arch could (a host call from a CPU that runs the host, a
  // partition call from the CPU its vCPU runs on), follows each FfaOutcome, and fails if
  // the core's answer contradicts that model or the FF-A register conventions.

  // For the trace: an FFA_ERROR's code (negative), else x0.
  static uint64_t answer_of(const FfaRegs& r) {
    return r.x[0] == ffa::kError ? uint64_t(int64_t(int32_t(uint32_t(r.x[2])))) : r.x[0];
  }

  static uint32_t raw_ffa_fid(uint8_t sel) {
    return ((sel & 0x40) ? 0xC4000060u : 0x84000060u) + (sel & 0x3f);
  }

  void ffa_host(Reader& in) {
    const unsigned cpu = in.get<uint8_t>() % Hyp::kMaxCpus;
    const uint8_t sel = in.get<uint8_t>(), shape = in.get<uint8_t>();
    FfaRegs r{};
    for (unsigned i = 1; i <= 5; i++)
      r.x[i] = in.get<uint64_t>();
    const uint32_t fid = sel < kNrFfaHostFids ? kFfaHostFids[sel] : raw_ffa_fid(sel);
    r.x[0] = fid;
    if (shape & kArenaX1)
      r.x[1] = kArena + (r.x[1] % kArenaPages) * k4K;
    if (shape & kArenaX2)
      r.x[2] = kArena + (r.x[2] % kArenaPages) * k4K;
    if (shape & kIdsX1)
      r.x[1] = fid == ffa::kRun ? ffa::pack_ids(HYPHEAP_FFA_ID_SVM, uint16_t(r.x[1] & 1))
                                : ffa::pack_ids(HYPHEAP_FFA_ID_HOST, HYPHEAP_FFA_ID_SVM);
    if (shape & kOurUuid) {
      r.x[1] = HYPHEAP_SVM_UUID_0;
      r.x[2] = HYPHEAP_SVM_UUID_1;
      r.x[3] = HYPHEAP_SVM_UUID_2;
      r.x[4] = HYPHEAP_SVM_UUID_3;
    }
    if (shape & kZeroX2)
      r.x[2] = 0;
    if (cpus_[cpu].in_partition)
      return;
    (void)call_host(cpu, r);
  }

  static bool is_mem_call(uint32_t fid) {
    return fid == ffa::kMemShare32 || fid == ffa::kMemShare64 || fid == ffa::kMemLend32 ||
           fid == ffa::kMemLend64 || fid == ffa::kMemFragTx || fid == ffa::kMemReclaim ||
           fid == ffa::kMemOpResume;
  }
  static bool is_retry(const FfaRegs& r) {
    return r.x[0] == ffa::kError && int32_t(uint32_t(r.x[2])) == ffa::kRetry;
  }

  // An FF-A call from the host on `cpu` (which runs the host), followed as the arch would.
  FfaRegs call_host(unsigned cpu, FfaRegs r) {
    const auto fid = uint32_t(r.x[0]);
    VcpuState before[Hyp::kMaxCpus];
    for (unsigned v = 0; v < Hyp::kMaxCpus; v++)
      before[v] = hyp_->ffa_vcpu_state(v);
    const FfaRegs args = r;
    const Footprint fp = footprint();
    g_calls++;
    const FfaOutcome o = hyp_->ffa_host_call(cpu, r);
    trace("ffa", fid, answer_of(r));
    switch (o.next) {
      case FfaNext::kReturn:
        check_ffa_answer(r);
        break;
      case FfaNext::kEnterPartition:
        if ((fid & ~ffa::kSmc64Bit) != ffa::kDirectReq32 || o.vcpu != cpu ||
            before[cpu] != VcpuState::kWaiting || r.x[0] != fid)
          fail("a direct request entered the wrong vCPU", o.vcpu);
        cpus_[cpu] = {true, o.vcpu};
        break;
      case FfaNext::kResumePartition:
        if (fid != ffa::kRun || o.vcpu >= Hyp::kMaxCpus || before[o.vcpu] != VcpuState::kPreempted)
          fail("FFA_RUN resumed a vCPU that was not preempted", o.vcpu);
        cpus_[cpu] = {true, o.vcpu};
        break;
      case FfaNext::kReturnToHost:
        fail("a host call returned to the host as if from the partition");
    }
    const bool ok = r.x[0] == ffa::kSuccess32;
    const bool paused = r.x[0] == ffa::kMemOpPause;
    const bool maps = fid == ffa::kRxtxMap32 || fid == ffa::kRxtxMap64 || fid == ffa::kRxtxUnmap;
    // A piece of a long transaction changes the stage-2s too: PAUSE after a send's piece,
    // RETRY after a reclaim's.
    const bool piece = is_mem_call(fid) && (paused || (fid == ffa::kMemReclaim && is_retry(r)));
    if (!(footprint() == fp) && !((maps || is_mem_call(fid)) && ok) && !piece)
      fail("an FF-A call other than a successful RXTX_MAP/UNMAP or memory call changed a stage-2");
    if (paused && (!is_mem_call(fid) || fid == ffa::kMemReclaim))
      fail("FFA_MEM_OP_PAUSE from a call that is not a send or a resume");
    if ((fid == ffa::kRxtxMap32 || fid == ffa::kRxtxMap64) && ok) {
      rx_ = fid == ffa::kRxtxMap32 ? uint32_t(args.x[2]) : args.x[2];
      tx_ = fid == ffa::kRxtxMap32 ? uint32_t(args.x[1]) : args.x[1];
      mapped_ = true;
    }
    if (fid == ffa::kRxtxUnmap && ok)
      mapped_ = false;
    if (fid == ffa::kPartitionInfoGet && ok && (args.x[5] & 1) == 0)
      g_memory.touch(rx_);
    // A handle the hyp gave out, for later calls on it.
    if (is_mem_call(fid) && fid != ffa::kMemReclaim && (ok || r.x[0] == ffa::kMemFragRx || paused))
      remember_handle(ok ? (r.x[2] | r.x[3] << 32) : (r.x[1] | r.x[2] << 32));
    check("after an FF-A host call");
    check_ffa();
    return r;
  }

  void remember_handle(uint64_t h) {
    for (size_t i = 0; i < nr_handles_; i++) {
      if (handles_[i] == h)
        return;
    }
    handles_[next_handle_++ % kHandles] = h;
    if (nr_handles_ < kHandles)
      nr_handles_++;
  }

  // --- FF-A memory ----------------------------------------------------------------------

  void ffa_mem(Reader& in) {
    const unsigned cpu = in.get<uint8_t>() % Hyp::kMaxCpus;
    const uint8_t kind = in.get<uint8_t>(), access = in.get<uint8_t>();
    const uint8_t attrs_sel = in.get<uint8_t>(), flags = in.get<uint8_t>();
    const auto corrupt = in.get<uint16_t>();
    const uint8_t frag_sel = in.get<uint8_t>();
    const size_t nr = in.get<uint8_t>() % 9;
    struct Con {
      uint64_t addr;
      uint32_t pages;
    };
    std::vector<Con> cons;
    for (size_t i = 0; i < nr; i++) {
      const hypheap_mem_range r = decode_range(in);
      cons.push_back({r.addr, uint32_t(r.size >> 12)});
    }
    const size_t scattered = in.get<uint16_t>() % 1100;
    const uint64_t base = kArena + (in.get<uint64_t>() % kArenaPages) * k4K;
    for (size_t i = 0; i < scattered; i++)
      cons.push_back({base + 2 * i * k4K, 1});
    if (cpus_[cpu].in_partition)
      return;
    if (!mapped_ && !(corrupt & kFcNoAutoMap)) {
      FfaRegs m{};
      m.x[0] = ffa::kRxtxMap64;
      m.x[1] = kDescPage + 32 * k4K;
      m.x[2] = kDescPage + 33 * k4K;
      m.x[3] = 1;
      (void)call_host(cpu, m);
    }

    const bool v11 = corrupt & kFcV11;
    const uint32_t hdr = v11 ? ffa::kMemHeaderSize11 : ffa::kMemHeaderSize10;
    const uint32_t comp = hdr + ffa::kMemAccessSize + ((corrupt & kFcComposite) ? 8 : 0);
    const size_t len = comp + ffa::kMemCompositeSize + cons.size() * ffa::kMemConstituentSize;
    std::vector<uint8_t>& d = desc_;
    d.assign(len, (corrupt & kFcZeroMbz) ? 0 : 0xa5);
    auto put = [&](size_t off, auto v) {
      if (off + sizeof(v) <= d.size())
        std::memcpy(d.data() + off, &v, sizeof(v));
    };
    put(0, uint16_t((corrupt & kFcSender) ? 2 : HYPHEAP_FFA_ID_HOST));
    const uint16_t attrs = attrs_sel == 0   ? ffa::kMemAttrNormalWbInner
                           : attrs_sel == 1 ? 0
                                            : attrs_sel;
    if (v11) {
      put(2, attrs);
      put(8, uint64_t(0));
      put(24, uint32_t(ffa::kMemAccessSize));
      put(32, hdr);
      std::memset(d.data() + 36, 0, 12);
    } else {
      put(2, uint8_t(attrs));
    }
    put(4, uint32_t(flags));
    put(16, uint64_t(kind));
    put(28, uint32_t((corrupt & kFcTwoReceivers) ? 2 : 1));
    put(hdr, uint16_t((corrupt & kFcReceiver) ? 0x800b : HYPHEAP_FFA_ID_SVM));
    put(hdr + 2, access);
    put(hdr + 4, comp);
    uint64_t sum = 0;
    for (const Con& c : cons)
      sum += c.pages;
    put(comp, uint32_t(sum + ((corrupt & kFcTotalPages) ? 1 : 0)));
    put(comp + 4, uint32_t(cons.size() - ((corrupt & kFcCountLies) ? 1 : 0)));
    for (size_t i = 0; i < cons.size(); i++) {
      put(comp + 16 + i * 16, cons[i].addr);
      put(comp + 16 + i * 16 + 8, cons[i].pages);
    }

    const size_t frag = frag_sel == 0 ? k4K : size_t(frag_sel) * 16;
    size_t total = len;
    total += (corrupt & kFcLengthLong) ? 16 : 0;
    total -= (corrupt & kFcLengthShort) ? 16 : 0;
    size_t off = std::min(frag, len);
    write_tx(d.data(), std::min(off, k4K));
    FfaRegs r{};
    const bool lend = kind & 1, smc64 = kind & 2;
    r.x[0] = (lend ? ffa::kMemLend32 : ffa::kMemShare32) | (smc64 ? ffa::kSmc64Bit : 0);
    r.x[1] = total;
    r.x[2] = off;
    r.x[3] = (corrupt & kFcBuffer) ? kArena : 0;
    r = call_host(cpu, r);
    for (int i = 0; i < 64 && r.x[0] == ffa::kMemFragRx && !(corrupt & kFcAbandon); i++) {
      const uint64_t h = r.x[1] | r.x[2] << 32;
      const size_t n = std::min(frag, len > off ? len - off : 0);
      write_tx(d.data() + off, std::min(n, k4K));
      off += n;
      FfaRegs f{};
      f.x[0] = ffa::kMemFragTx;
      const uint64_t named = (corrupt & kFcWrongHandle) ? h ^ 0x100 : h;
      f.x[1] = uint32_t(named);
      f.x[2] = named >> 32;
      f.x[3] = n + ((corrupt & kFcFragLies) ? 16 : 0);
      r = call_host(cpu, f);
    }
    // As Linux's driver: RESUME with the PAUSE answer's w1/w2 until it is something else.
    for (int i = 0; i < 64 && r.x[0] == ffa::kMemOpPause && !(corrupt & kFcStayPaused); i++) {
      FfaRegs f{};
      f.x[0] = ffa::kMemOpResume;
      f.x[1] = r.x[1];
      f.x[2] = r.x[2];
      r = call_host(cpu, f);
    }
  }

  // Writes into TX as the host would: only if the host can write the page.
  void write_tx(const uint8_t* src, size_t n) {
    if (n != 0 && host_writable(tx_)) {
      g_memory.touch(tx_);
      std::memcpy(arch::phys_to_virt(PhysAddr(tx_)), src, n);
    }
  }

  void ffa_mem_call(Reader& in) {
    const uint8_t which = in.get<uint8_t>() % 5, index = in.get<uint8_t>();
    const uint64_t raw = in.get<uint64_t>();
    const auto w3 = in.get<uint32_t>();
    const uint64_t h =
        (index & 0x80) || nr_handles_ == 0 ? raw : handles_[(index & 0x3f) % nr_handles_];
    if (which == 2 || which == 3) {
      const uint32_t fid = which == 2 ? HYPHEAP_FN_SVM_FFA_RETRIEVE : HYPHEAP_FN_SVM_FFA_RELINQUISH;
      const Footprint fp = footprint();
      g_calls++;
      const SmcccResult res = hyp_->handle_partition_smccc((index & 0x40) ? kSvm1 : kSvm0, 0,
                                                           SmcccArgs{{fid, h, w3, 0}});
      trace("svm", fid, res.x[0]);
      check_status(res.x[0]);
      if (!(footprint() == fp))
        fail("a retrieve or relinquish changed a stage-2");
      check("after a retrieve or relinquish");
      check_ffa();
      return;
    }
    const unsigned cpu = index & 1;
    if (cpus_[cpu].in_partition)
      return;
    FfaRegs r{};
    r.x[0] = which == 0 ? ffa::kMemReclaim : which == 1 ? ffa::kMemFragTx : ffa::kMemOpResume;
    r.x[1] = uint32_t(h);
    r.x[2] = h >> 32;
    r.x[3] = w3;
    (void)call_host(cpu, r);
  }

  // The CPU vCPU `vcpu` runs on, or where it boots; -1 if it does neither.
  int cpu_of(unsigned vcpu) const {
    for (unsigned c = 0; c < Hyp::kMaxCpus; c++) {
      if (cpus_[c].in_partition && cpus_[c].vcpu == vcpu)
        return int(c);
    }
    return booting_[vcpu] ? int(vcpu) : -1;
  }

  void ffa_partition(Reader& in) {
    const unsigned vcpu = in.get<uint8_t>() % Hyp::kMaxCpus;
    const uint8_t sel = in.get<uint8_t>(), shape = in.get<uint8_t>();
    FfaRegs r{};
    for (unsigned i = 1; i <= 3; i++)
      r.x[i] = in.get<uint64_t>();
    const uint32_t fid = sel < kNrFfaPartitionFids ? kFfaPartitionFids[sel] : raw_ffa_fid(sel);
    r.x[0] = fid;
    if (shape & kIdsX1)
      r.x[1] = ffa::pack_ids(HYPHEAP_FFA_ID_SVM, HYPHEAP_FFA_ID_HOST);
    if (shape & kZeroX2)
      r.x[2] = 0;
    const int cpu = cpu_of(vcpu);
    if (cpu < 0)
      return;
    const Footprint fp = footprint();
    g_calls++;
    const FfaOutcome o = hyp_->ffa_partition_call(unsigned(cpu), vcpu, r);
    trace("ffa-svm", fid, answer_of(r));
    switch (o.next) {
      case FfaNext::kReturn:
        check_ffa_answer(r);
        break;
      case FfaNext::kReturnToHost:
        if (booting_[vcpu]) {
          booting_[vcpu] = false;
        } else {
          cpus_[cpu] = {};
          check_ffa_answer(r);
        }
        break;
      default:
        fail("a partition call entered a partition");
    }
    // The last vCPU out of an aborted partition drops its marks (rewriting, never splitting).
    const bool left_aborted = o.next == FfaNext::kReturnToHost && r.x[0] == ffa::kError &&
                              int32_t(r.x[2]) == ffa::kAborted;
    if (!(footprint() == fp) && !left_aborted)
      fail("a partition FF-A call changed a stage-2");
    if (fp.pool_used < footprint().pool_used)
      fail("dropping the aborted partition's marks took a table page");
    check("after an FF-A partition call");
    check_ffa();
  }

  void ffa_event(Reader& in) {
    const auto kind = FfaEvent(in.get<uint8_t>() % kNrFfaEvents);
    const unsigned vcpu = in.get<uint8_t>() % Hyp::kMaxCpus;
    const int cpu = cpu_of(vcpu);
    FfaRegs host_regs{};
    g_calls++;
    switch (kind) {
      case FfaEvent::kBoot: {
        if (hyp_->ffa_vcpu_state(vcpu) != VcpuState::kOff)
          return;
        // After an abort (the host picks when a CPU first starts) the boot is refused.
        const bool aborted = hyp_->ffa_aborted();
        const bool booted = hyp_->ffa_vcpu_booting(vcpu);
        trace("boot", vcpu, booted);
        if (booted == aborted)
          fail("a vCPU boot was refused in a live partition, or let in after an abort", vcpu);
        if (!booted && hyp_->ffa_vcpu_state(vcpu) != VcpuState::kOff)
          fail("a refused vCPU boot changed its state", vcpu);
        booting_[vcpu] = booted;
        break;
      }
      case FfaEvent::kPreempt: {
        if (cpu < 0 || booting_[vcpu])
          return;
        const Footprint fp = footprint();
        hyp_->ffa_partition_preempted(unsigned(cpu), vcpu, host_regs);
        if (fp.pool_used < footprint().pool_used)
          fail("dropping the aborted partition's marks took a table page");
        trace("preempt", vcpu, answer_of(host_regs));
        cpus_[cpu] = {};
        const bool irq = host_regs.x[0] == ffa::kInterrupt &&
                         host_regs.x[1] == ffa::pack_ids(HYPHEAP_FFA_ID_SVM, uint16_t(vcpu));
        if (!irq)
          check_ffa_answer(host_regs);
        break;
      }
      case FfaEvent::kAbort: {
        if (cpu < 0)
          return;
        const Footprint fp = footprint();
        hyp_->ffa_partition_aborted(unsigned(cpu), vcpu, host_regs);
        trace("abort", vcpu, answer_of(host_regs));
        if (booting_[vcpu])
          booting_[vcpu] = false;
        else
          cpus_[cpu] = {};
        if (host_regs.x[0] != ffa::kError || int32_t(host_regs.x[2]) != ffa::kAborted)
          fail("an abort did not answer FFA_ERROR(ABORTED)");
        if (fp.pool_used < footprint().pool_used)
          fail("dropping the aborted partition's marks took a table page");
        break;
      }
    }
    check("after an FF-A event");
    check_ffa();
  }

  void svm_call(Reader& in) {
    static constexpr uint32_t kFids[] = {HYPHEAP_FN_SVM_HOLD, HYPHEAP_FN_SVM_RELEASE,
                                         HYPHEAP_FN_SVM_PIN, HYPHEAP_FN_SVM_UNPIN,
                                         HYPHEAP_FN_SVM_ABORT};
    const uint8_t sel = in.get<uint8_t>(), caller = in.get<uint8_t>();
    const uint64_t page = in.get<uint64_t>();
    const uint64_t pages = in.get<uint16_t>();
    const uint8_t need = in.get<uint8_t>();
    const uint64_t fid = sel < 5 ? kFids[sel] : 0xC6000000u + sel;
    // Mostly arena pages; with the top bits set, pages around the secure VM's carve-out.
    const uint64_t ipa = (page >> 62) == 1 ? kSvmCarveout - 2 * k4K + (page % 8) * k4K
                                           : kArena + (page % kArenaPages) * k4K;
    const Footprint fp = footprint();
    g_calls++;
    const SmcccResult r = hyp_->handle_partition_smccc(caller & 1 ? kSvm1 : kSvm0, 0,
                                                       SmcccArgs{{fid, ipa, pages, need}});
    trace("svm", fid, r.x[0]);
    check_status(r.x[0]);
    if (int64_t(r.x[0]) != HYPHEAP_OK && !(footprint() == fp))
      fail("a refused secure-VM call changed a stage-2");
    check("after a secure-VM call");
  }

  // What FF-A answers look like: an error with a defined code and nothing else, SUCCESS,
  // a version, a direct response, FFA_INTERRUPT; nothing past x7, and the 32-bit forms
  // with their upper halves clear.
  static void check_ffa_answer(const FfaRegs& r) {
    for (unsigned i = 8; i < 18; i++) {
      if (r.x[i] != 0)
        fail("an FF-A answer leaks a register past x7", i);
    }
    const uint64_t x0 = r.x[0];
    if (x0 == ffa::kError) {
      const auto code = int64_t(r.x[2]);
      if (r.x[1] != 0 || code > 0xffffffffLL || int32_t(uint32_t(code)) < ffa::kNoData ||
          int32_t(uint32_t(code)) > ffa::kNotSupported)
        fail("FFA_ERROR with a code FF-A does not define", r.x[2]);
      return;
    }
    if (x0 == ~0ULL || x0 == ffa::kVersionOurs) {
      for (unsigned i = 1; i < 8; i++) {
        if (r.x[i] != 0)
          fail("an FFA_VERSION answer with more than x0", i);
      }
      return;
    }
    if (x0 == ffa::kSuccess32 || x0 == ffa::kInterrupt || x0 == ffa::kDirectResp32 ||
        x0 == ffa::kMemFragRx || x0 == ffa::kMemOpPause) {
      for (unsigned i = 1; i < 8; i++) {
        if (r.x[i] >> 32 != 0)
          fail("a 32-bit FF-A answer with an upper half set", i);
      }
      return;
    }
    if (x0 != ffa::kDirectResp64)
      fail("an FF-A answer with an unknown function id", x0);
  }

  // The FF-A state after a call, whether or not it wrote a stage-2 entry, and against the
  // arch model the harness keeps.
  void check_ffa() const {
    uint64_t where = 0;
    if (const char* err = hyp_->check_ffa_invariants(&where))
      fail(err, where);
    for (unsigned v = 0; v < Hyp::kMaxCpus; v++) {
      const VcpuState st = hyp_->ffa_vcpu_state(v);
      if (booting_[v] != (st == VcpuState::kBooting))
        fail("the core's booting vCPU differs from the arch's", v);
      const bool runs = cpu_of(v) >= 0 && !booting_[v];
      if (runs != (st == VcpuState::kRunning))
        fail("the core's running vCPU differs from the arch's", v);
    }
  }

  // --- helpers ------------------------------------------------------------------------

  static hypheap_mem_range decode_range(Reader& in) {
    const auto kind = RangeKind(in.get<uint8_t>() % kNrRangeKinds);
    const uint64_t a = in.get<uint64_t>(), b = in.get<uint64_t>();
    switch (kind) {
      case RangeKind::kArenaPages:
        return {kArena + (a % kArenaPages) * k4K, (b % 64) * k4K};
      case RangeKind::kChunks:
        return {kBank1 + (a % 64) * k2M, (b % 5) * k2M};
      case RangeKind::kBank0Pages:
        return {kBank0 + (a % (k1G / k4K)) * k4K, (b % 64) * k4K};
      case RangeKind::kRaw:
        break;
      case RangeKind::kEdge: {
        const uint64_t addr = edge(uint8_t(a), int8_t(a >> 8), k4K);
        const uint64_t size = (b & (1 << 16)) ? (0 - addr) + uint64_t(int64_t(int8_t(b >> 8))) * k4K
                                              : edge(uint8_t(b), int8_t(b >> 8), k4K);
        return {addr, size};
      }
    }
    return {a, b};
  }

  // u8 sel, i8 nudge: an edge value moved by nudge units.
  static uint64_t edge_of(Reader& in, uint64_t unit) {
    const uint8_t sel = in.get<uint8_t>();
    return edge(sel, in.get<int8_t>(), unit);
  }

  static uint64_t place_of(Place p) {
    switch (p) {
      case Place::kHostPage:
        return kDescPage;
      case Place::kUnaligned:
        return kDescPage + 8;
      case Place::kHypMemory:
        return kHypCarveout + 3 * k2M;
      case Place::kArenaPage:
        return kArena;
      case Place::kEdge:
        break;  // read from the input by assign()
    }
    return kDescPage;
  }

  bool host_writable(uint64_t pa) const {
    if (pa < kBank0 || pa >= kBank1 + k1G)
      return false;
    const Leaf l = hyp_->host().s2.lookup(Ipa(pa));
    return l.valid() && (l.raw & pte::kS2apW);
  }

  static void append(uint8_t* buf, size_t* len, const void* src, size_t n) {
    std::memcpy(buf + *len, src, n);
    *len += n;
  }

  // Writes the descriptor as the host would, so only into pages the host can write (a
  // descriptor "placed" in hyp memory or lent pages is whatever those already hold), then
  // calls MEM_ASSIGN through the SMCCC entry.
  SmcccResult mem_assign(uint64_t pa, const uint8_t* desc, size_t len, uint64_t x2) {
    for (size_t done = 0; done < len;) {
      const uint64_t cur = pa + done;
      const size_t n = std::min<size_t>(len - done, k4K - (cur & (k4K - 1)));
      if (host_writable(cur))
        g_memory.write(cur, desc + done, n);
      done += n;
    }
    const Footprint before = footprint();
    g_calls++;
    const SmcccResult r = hyp_->handle_smccc(0, SmcccArgs{{HYPHEAP_FN_MEM_ASSIGN, pa, x2, 0}});
    trace("assign", pa, r.x[0]);
    check_status(r.x[0]);
    const auto st = int64_t(r.x[0]);
    if (st != HYPHEAP_OK && st != HYPHEAP_PREEMPTED && (r.x[1] != 0 || !(footprint() == before)))
      fail("a failed MEM_ASSIGN changed something");
    check("after MEM_ASSIGN");
    return r;
  }

  void remember(uint64_t srcvm, const Record& rec) {
    Record& slot = history_[next_history_++ % kHistory];
    slot = rec;
    slot.srcvm = srcvm;
    if (nr_history_ < kHistory)
      nr_history_++;
  }

  // What a call may leave behind in the stage-2s: the core changes a live table only
  // through arch::write_pte (the fake counts every store, even one that puts back the old
  // value, and fake::verify_tables() after every call proves no store bypassed it) and
  // takes table pages only from the pool. Reading every leaf instead, as before, cost more
  // than everything else an execution does. And what it may leave in memory: a scrub or a
  // clean (the scrub in place changes memory alone, no stage-2 entry).
  struct Footprint {
    uint64_t pte_writes = 0;
    size_t pool_used = 0;
    uint64_t scrub_bytes = 0, clean_bytes = 0, clean_inval_bytes = 0;
    bool operator==(const Footprint&) const = default;
  };
  Footprint footprint() const {
    const fake::Counters c = fake::counters();
    return Footprint{c.pte_writes, hyp_->pool().used_pages(), c.scrub_bytes, c.clean_bytes,
                     c.clean_inval_bytes};
  }

  void check_moved_nothing(const Footprint& before, const char* what) const {
    const Footprint after = footprint();
    if (after.pte_writes != before.pte_writes || after.pool_used != before.pool_used) {
      std::fprintf(stderr, "hypercall fuzz: %s ", what);
      fail("wrote a stage-2 entry or took a table page");
    }
  }

  struct State {
    Footprint footprint;
    uint64_t lent = 0, shared = 0;
    bool operator==(const State&) const = default;
  };
  State state() const {
    State st{footprint()};
    if (hyp_->stat(HYPHEAP_STAT_PAGES_LENT, &st.lent) != Status::kOk ||
        hyp_->stat(HYPHEAP_STAT_PAGES_SHARED, &st.shared) != Status::kOk)
      fail("STATS refused a counter it defines");
    return st;
  }

  // A core as Hyp::init left it, for one pool size. Booting (the host's 1 GiB blocks split,
  // the pool's free list built) was a third of an execution, so each pool size is booted
  // once and restored afterwards. init leaves state in the Hyp object, in the pool's pages
  // (the live tables, whose contents the fake's model holds, and the free-list link in the
  // first word of each free page: alloc() zeroes the rest) and in the fake's model, and
  // nowhere else (it scrubs and cleans nothing; boot() checks that it took only tables).
  struct Booted {
    alignas(Hyp) uint8_t hyp[sizeof(Hyp)];
    std::vector<uint64_t> links;  // first word of every pool page
    fake::Snapshot fake;
    State after_init;
    explicit Booted(std::span<const arch::Stage2Hw> stage2s) : fake(stage2s) {}
  };

  Booted* boot() {
    fake::reset();
    // A Hyp as its constructor leaves it, copied: constructing one value-initializes the
    // per-CPU range buffers one MemRange at a time.
    static const bool pristine_made = (new (pristine_) Hyp(), true);
    (void)pristine_made;
    std::memcpy(storage_, pristine_, sizeof(Hyp));
    const MemRange ram[] = {{PhysAddr(kBank0), k1G}, {PhysAddr(kBank1), k1G}};
    const Carveout carveouts[] = {{{PhysAddr(kHypCarveout), kHypCarveoutSize}, kVmidHyp},
                                  {{PhysAddr(kSvmCarveout), k2M}, kSvm0}};
    const MemRange mmio[] = {{PhysAddr(0x0900'0000), k4K}};
    const VmId svms[] = {kSvm0, kSvm1};
    // With an IOMMU: every call also edits the DMA tables, which the invariants check against
    // the stage-2s and the fake arch's ordering checker treats as more VMs reaching memory.
    const PlatformDesc desc{ram, carveouts, mmio, svms, {PhysAddr(kHypCarveout), pool_pages_ * k4K},
                            39,  true};
    if (hyp_->init(desc) != Status::kOk)
      fail("init of the fuzzed platform failed");
    fake::vms_running();
    (void)fake::take_written_spans();  // init's own, checked whole at the end
    const fake::Counters c = fake::counters();
    if (c.scrub_bytes != 0 || c.clean_bytes != 0 || c.clean_inval_bytes != 0)
      fail("init wrote fake RAM outside its tables: a restored core would miss it");
    const arch::Stage2Hw stage2s[] = {
        hyp_->host().s2.hw(),  hyp_->secure_vm(kSvm0)->s2.hw(),  hyp_->secure_vm(kSvm1)->s2.hw(),
        hyp_->host().dma.hw(), hyp_->secure_vm(kSvm0)->dma.hw(), hyp_->secure_vm(kSvm1)->dma.hw()};
    auto* b = new Booted(stage2s);
    std::memcpy(b->hyp, storage_, sizeof(Hyp));
    for (size_t i = 0; i < pool_pages_; i++)
      b->links.push_back(*pool_word(i));
    if (b->fake.live_tables() != hyp_->pool().used_pages())
      fail("init took pool pages that are not tables: a restored core would miss them",
           hyp_->pool().used_pages());
    b->after_init = state();
    return b;
  }

  void restore(const Booted& b) {
    std::memcpy(storage_, b.hyp, sizeof(Hyp));
    for (size_t i = 0; i < pool_pages_; i++)
      *pool_word(i) = b.links[i];
    fake::restore(b.fake);  // the tables' contents after the links: a table's first word
  }

  static uint64_t* pool_word(size_t page) {
    return static_cast<uint64_t*>(arch::phys_to_virt(PhysAddr(kHypCarveout + page * k4K)));
  }

  static void check_status(uint64_t x0) {
    const auto s = int64_t(x0);
    const bool vendor_answer = x0 == HYPHEAP_UID_0 || x0 == HYPHEAP_ABI_VERSION_MAJOR;
    if (!vendor_answer && (s > HYPHEAP_PREEMPTED || s < HYPHEAP_ERR_PENDING_LIMIT))
      fail("status outside the ABI", x0);
  }

  // After a call: the invariants where it wrote (a page no entry of which changed in any
  // stage-2 is as coherent as it was), and the fake arch's referees.
  void check(const char* when) const {
    const std::vector<fake::Span> spans = fake::take_written_spans();
    if (!spans.empty()) {
      ranges_.clear();
      for (const fake::Span& sp : spans)
        ranges_.push_back(MemRange{PhysAddr(sp.lo), sp.hi - sp.lo});
      uint64_t where = 0;
      if (const char* err = hyp_->check_invariants_in(ranges_, &where)) {
        std::fprintf(stderr, "hypercall fuzz: %s: ", when);
        fail(err, where);
      }
    }
    check_arch();
  }

  void check_all(const char* when) const {
    uint64_t where = 0;
    if (const char* err = hyp_->check_invariants(&where)) {
      std::fprintf(stderr, "hypercall fuzz: %s: ", when);
      fail(err, where);
    }
    check_arch();
  }

  static void check_arch() {
    (void)fake::verify_tables();  // a miss is counted as an ordering violation
    const fake::Counters c = fake::counters();
    if (c.bbm_violations != 0)
      fail("break-before-make violated");
    if (c.ordering_violations != 0) {
      std::fprintf(stderr, "%s", fake::ordering_report().c_str());
      fail("TLB or cache maintenance out of order");
    }
    if (fake::pending_invalidations() != 0)
      fail("returned with a TLB invalidation still owed");
  }

  static void trace(const char* what, uint64_t arg, uint64_t status) {
    if (g_trace)
      std::fprintf(stderr, "  %-7s 0x%-12llx -> %lld\n", what, (unsigned long long)arg,
                   (long long)int64_t(status));
  }

  static constexpr size_t kPoolSizes = 256 + kMinPoolPages;
  static inline bool init_checked_[kPoolSizes] = {};
  static inline Booted* booted_[kPoolSizes] = {};
  size_t pool_pages_;
  State after_init_;
  alignas(Hyp) static inline uint8_t storage_[sizeof(Hyp)];
  alignas(Hyp) static inline uint8_t pristine_[sizeof(Hyp)];
  static inline std::vector<MemRange> ranges_;
  Hyp* hyp_;
  Record history_[kHistory];
  size_t nr_history_ = 0, next_history_ = 0;
  // Operations in progress the harness started (kAssign answered PREEMPTED).
  struct Token {
    uint64_t token = 0;
    Record rec;
  };
  static constexpr size_t kMaxTokens = kMaxPending;
  Token tokens_[kMaxTokens];
  size_t nr_tokens_ = 0;
  // The arch as the harness plays it (FF-A ops).
  struct CpuModel {
    bool in_partition = false;
    uint16_t vcpu = 0;
  };
  CpuModel cpus_[Hyp::kMaxCpus];
  bool booting_[Hyp::kMaxCpus] = {};
  uint64_t rx_ = kDescPage, tx_ = kDescPage;
  bool mapped_ = false;
  static constexpr size_t kHandles = 16;
  uint64_t handles_[kHandles] = {};
  size_t nr_handles_ = 0, next_handle_ = 0;
  static inline std::vector<uint8_t> desc_;
};

}  // namespace
}  // namespace hyp::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  hyp::fuzz::g_trace = std::getenv("HYP_FUZZ_TRACE") != nullptr;
  std::atexit([] {
    std::fprintf(stderr, "hyp_fuzz: %llu hypercalls in %llu inputs\n",
                 (unsigned long long)hyp::fuzz::g_calls, (unsigned long long)hyp::fuzz::g_inputs);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hyp::fuzz::Reader in(data, size);
  hyp::fuzz::Session session(hyp::fuzz::kMinPoolPages + in.get<uint8_t>());
  session.run(in);
  return 0;
}

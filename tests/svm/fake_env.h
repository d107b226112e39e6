// A fake world for the secure VM's services: a small fake RAM at kBase whose pages are each
// unmapped, lent, shared or carve-out, with the hyp's hold and pin marks, answering SVM_HOLD,
// SVM_RELEASE, SVM_PIN and SVM_UNPIN as include/hypheap/abi.h describes them. Every misuse
// by the services (map() of a page not held, a release of a page not held, an unaligned
// hold) is recorded as a violation: tests expect none, the fuzzer aborts on one.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "svm/args.h"
#include "svm/services.h"

namespace hyp::svm::testing {

inline constexpr uint64_t k4K = 4096;
inline constexpr uint64_t kBase = 0x8000'0000;

enum class Kind : uint8_t { kUnmapped, kLent, kShared, kCarveout };

struct PageState {
  Kind kind = Kind::kUnmapped;
  bool writable = true;  // the secure VM's stage-2 permission (shares may be read-only)
  bool held = false;
  bool pinned = false;
  bool held_for_write = false;  // since the last FakeEnv::reset_call_state()
};

class FakeEnv final : public Env {
 public:
  explicit FakeEnv(size_t nr_pages) : ram_(nr_pages * k4K), pages_(nr_pages) {}

  // --- setup ---
  void set(uint64_t ipa, uint64_t nr, Kind kind, bool writable = true) {
    for (uint64_t i = 0; i < nr; i++) {
      PageState& p = page(ipa + i * k4K);
      p.kind = kind;
      p.writable = writable;
    }
  }
  void set_pinned(uint64_t ipa, bool pinned) { page(ipa).pinned = pinned; }
  // FF-A memory, one record per handle as the hyp keeps it: `handle` is a live lend of `nr`
  // pages from `first` to the services' endpoint, not retrieved; a live share to this VM's
  // endpoint `receiver`; or no longer either. The pages themselves are set() apart.
  void ffa_lend(uint64_t handle, uint64_t first = 0, uint64_t nr = 0) {
    txns_[handle] = Txn{HYPHEAP_FFA_ID_SVM, true, first, nr, false};
  }
  void ffa_share(uint64_t handle, uint16_t receiver, uint64_t first, uint64_t nr) {
    txns_[handle] = Txn{receiver, false, first, nr, false};
  }
  void ffa_reclaim(uint64_t handle) { txns_.erase(handle); }
  // Whether the secure VM holds `handle` (retrieved and not relinquished).
  bool ffa_held(uint64_t handle) const {
    const auto it = txns_.find(handle);
    return it != txns_.end() && it->second.retrieved;
  }
  uint8_t* at(uint64_t ipa) { return ram_.data() + (ipa - kBase); }
  const std::vector<uint8_t>& ram() const { return ram_; }
  uint64_t end() const { return kBase + ram_.size(); }
  size_t nr_pages() const { return pages_.size(); }
  const PageState& state(uint64_t ipa) const { return pages_[(ipa - kBase) / k4K]; }
  // The hyp call (hold, release, pin or unpin) `n` calls from now answers `status` without
  // changing anything; 0 is the next call.
  void inject(size_t n, int64_t status) { injected_.push_back({nr_calls_ + n, status}); }
  void clear_injected() { injected_.clear(); }
  // Runs after every successful release (a host that rewrites the block once it is copied).
  std::function<void(uint64_t ipa)> on_release;
  // Runs after every successful SVM_FFA_REGION answer (a host on another CPU that reclaims
  // and re-shares between the lookup and what the services do with it).
  std::function<void(uint64_t handle)> on_region;

  // --- what tests check ---
  const std::vector<std::string>& violations() const { return violations_; }
  size_t nr_held() const {
    size_t n = 0;
    for (const PageState& p : pages_)
      n += p.held;
    return n;
  }
  size_t nr_pinned() const {
    size_t n = 0;
    for (const PageState& p : pages_)
      n += p.pinned;
    return n;
  }
  size_t nr_holds() const { return nr_holds_; }  // successful holds, since construction
  size_t nr_faults() const { return nr_faults_; }
  std::string log() const { return log_; }  // every hyp call, in order
  void clear_log() { log_.clear(); }
  // Pages held with NEED_W since the last reset_call_state(): the only ones a call may write.
  bool was_held_for_write(uint64_t ipa) const { return pages_[(ipa - kBase) / k4K].held_for_write; }
  // A release answered an injected status (so the fake still holds its pages).
  bool release_was_injected() const { return release_injected_; }
  // Forgets holds and the per-call records (the fuzzer, after a call with injections).
  void reset_call_state() {
    for (PageState& p : pages_)
      p.held = p.held_for_write = false;
    release_injected_ = false;
    log_.clear();
  }

  // --- Env ---
  int64_t hold(Ipa ipa, uint64_t nr, uint32_t need) override {
    note("hold", ipa, nr, need);
    if (int64_t s; take_injected(&s))
      return s;
    if (const int64_t s = check_call(ipa, nr); s != HYPHEAP_OK)
      return s;
    if (need == 0 || (need & ~0xfU) != 0 ||
        (need & HYPHEAP_SVM_NEED_EXCLUSIVE && need & HYPHEAP_SVM_NEED_SHARED))
      violation("hold with a meaningless need", ipa.value());
    for (uint64_t i = 0; i < nr; i++) {
      const PageState& p = page(ipa.value() + i * k4K);
      if (p.kind == Kind::kCarveout)
        return HYPHEAP_ERR_PROTECTED;
      if (p.kind == Kind::kUnmapped || (need & HYPHEAP_SVM_NEED_W && !p.writable) ||
          (need & HYPHEAP_SVM_NEED_SHARED && p.kind != Kind::kShared))
        return HYPHEAP_ERR_NOT_MAPPED;
      if (need & HYPHEAP_SVM_NEED_EXCLUSIVE && p.kind == Kind::kShared)
        return HYPHEAP_ERR_HOST_ACCESS;
      if (p.held)
        return HYPHEAP_ERR_BUSY;
    }
    for (uint64_t i = 0; i < nr; i++) {
      page(ipa.value() + i * k4K).held = true;
      page(ipa.value() + i * k4K).held_for_write |= (need & HYPHEAP_SVM_NEED_W) != 0;
    }
    nr_holds_++;
    return HYPHEAP_OK;
  }

  int64_t release(Ipa ipa, uint64_t nr) override {
    note("release", ipa, nr, 0);
    if (int64_t s; take_injected(&s)) {
      release_injected_ = true;
      return s;
    }
    if (const int64_t s = check_call(ipa, nr); s != HYPHEAP_OK)
      return s;
    for (uint64_t i = 0; i < nr; i++) {
      if (!page(ipa.value() + i * k4K).held) {
        violation("release of a page not held", ipa.value() + i * k4K);
        return HYPHEAP_ERR_STATE;
      }
    }
    for (uint64_t i = 0; i < nr; i++)
      page(ipa.value() + i * k4K).held = false;
    if (on_release)
      on_release(ipa.value());
    return HYPHEAP_OK;
  }

  int64_t pin(Ipa ipa, uint64_t nr) override { return pin_common("pin", ipa, nr, true); }
  int64_t unpin(Ipa ipa, uint64_t nr) override { return pin_common("unpin", ipa, nr, false); }

  // As the hyp's mark of a lend: NOT_MAPPED for no live lend to the services' endpoint (a
  // share, to either endpoint, included), STATE for one already retrieved (retrieve) or not
  // retrieved (relinquish).
  int64_t ffa_retrieve(uint64_t handle) override { return ffa_mark("retrieve", handle, true); }
  int64_t ffa_relinquish(uint64_t handle) override { return ffa_mark("relinquish", handle, false); }
  // As the hyp's SVM_FFA_REGION: NOT_MAPPED unless a live lend or share to that endpoint.
  int64_t ffa_region(uint64_t handle, uint16_t receiver, Ipa* first, uint64_t* nr) override {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "region(0x%llx,0x%x) ", (unsigned long long)handle, receiver);
    log_ += buf;
    if (int64_t s; take_injected(&s))
      return s;
    const auto it = txns_.find(handle);
    if (it == txns_.end() || it->second.receiver != receiver)
      return HYPHEAP_ERR_NOT_MAPPED;
    *first = Ipa(it->second.first);
    *nr = it->second.pages;
    if (on_region)
      on_region(handle);
    return HYPHEAP_OK;
  }

  uint8_t* map(Ipa ipa) override {
    if (ipa.value() < kBase || ipa.value() >= end()) {
      violation("map outside RAM", ipa.value());
      return scratch_;
    }
    if (!page(ipa.value()).held) {
      violation("map of a page not held", ipa.value());
      return scratch_;
    }
    return at(ipa.value());
  }

  // Remembers what was cleaned, as IPA ranges; cleaning a page not held is the services' bug.
  void clean_to_poc(uint8_t* p, uint64_t n) override {
    const uint64_t ipa = uint64_t(p - ram_.data()) + kBase;
    if (p < ram_.data() || ipa + n > end() || n == 0) {
      violation("clean outside RAM", ipa);
      return;
    }
    for (uint64_t a = ipa & ~(k4K - 1); a < ipa + n; a += k4K)
      if (!page(a).held)
        violation("clean of a page not held", a);
    cleans_.push_back({ipa, n});
  }
  // Whether every byte of [ipa, ipa + n) was cleaned since clear_cleans().
  bool cleaned(uint64_t ipa, uint64_t n) const {
    std::vector<bool> seen(n, false);
    for (const auto& [a, len] : cleans_)
      for (uint64_t x = a; x < a + len; x++)
        if (x >= ipa && x < ipa + n)
          seen[x - ipa] = true;
    for (bool b : seen)
      if (!b)
        return false;
    return true;
  }
  void clear_cleans() { cleans_.clear(); }

  void fault() override { nr_faults_++; }

 private:
  PageState& page(uint64_t ipa) { return pages_[(ipa - kBase) / k4K]; }
  std::vector<std::pair<uint64_t, uint64_t>> cleans_;

  void violation(const char* what, uint64_t where) {
    char buf[128];
    std::snprintf(buf, sizeof(buf), "%s at 0x%llx", what, (unsigned long long)where);
    violations_.push_back(buf);
  }

  void note(const char* what, Ipa ipa, uint64_t nr, uint32_t need) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "%s(0x%llx,%llu,%u) ", what, (unsigned long long)ipa.value(),
                  (unsigned long long)nr, need);
    log_ += buf;
  }

  bool take_injected(int64_t* s) {
    const size_t call = nr_calls_++;
    for (size_t i = 0; i < injected_.size(); i++) {
      if (injected_[i].first == call) {
        *s = injected_[i].second;
        injected_.erase(injected_.begin() + long(i));
        return true;
      }
    }
    return false;
  }

  // The services only ever name whole pages they validated: anything else is their bug. A
  // range outside the fake RAM is simply not mapped in the secure VM.
  int64_t check_call(Ipa ipa, uint64_t nr) {
    if (!is_page_aligned(ipa.value()) || nr == 0) {
      violation("hyp call with an unaligned or empty range", ipa.value());
      return HYPHEAP_ERR_RANGE_UNALIGNED;
    }
    if (ipa.value() < kBase || ipa.value() >= end() || nr > (end() - ipa.value()) / k4K)
      return HYPHEAP_ERR_NOT_MAPPED;
    return HYPHEAP_OK;
  }

  int64_t ffa_mark(const char* what, uint64_t handle, bool retrieve) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%s(0x%llx) ", what, (unsigned long long)handle);
    log_ += buf;
    if (int64_t s; take_injected(&s))
      return s;
    const auto it = txns_.find(handle);
    if (it == txns_.end() || !it->second.lend || it->second.receiver != HYPHEAP_FFA_ID_SVM)
      return HYPHEAP_ERR_NOT_MAPPED;
    if (it->second.retrieved == retrieve)
      return HYPHEAP_ERR_STATE;
    it->second.retrieved = retrieve;
    return HYPHEAP_OK;
  }

  int64_t pin_common(const char* what, Ipa ipa, uint64_t nr, bool pin) {
    note(what, ipa, nr, 0);
    if (int64_t s; take_injected(&s))
      return s;
    if (const int64_t s = check_call(ipa, nr); s != HYPHEAP_OK)
      return s;
    for (uint64_t i = 0; i < nr; i++) {
      const PageState& p = page(ipa.value() + i * k4K);
      if (p.kind == Kind::kCarveout)
        return HYPHEAP_ERR_PROTECTED;
      if (p.kind == Kind::kUnmapped)
        return HYPHEAP_ERR_NOT_MAPPED;
      if (p.pinned == pin)
        return HYPHEAP_ERR_STATE;
    }
    for (uint64_t i = 0; i < nr; i++)
      page(ipa.value() + i * k4K).pinned = pin;
    return HYPHEAP_OK;
  }

  std::vector<uint8_t> ram_;
  std::vector<PageState> pages_;
  std::vector<std::pair<size_t, int64_t>> injected_;  // (call number, status)
  struct Txn {
    uint16_t receiver;
    bool lend;
    uint64_t first, pages;
    bool retrieved;
  };
  std::map<uint64_t, Txn> txns_;  // live FF-A lends and shares, by handle
  size_t nr_calls_ = 0;
  std::vector<std::string> violations_;
  std::string log_;
  size_t nr_holds_ = 0, nr_faults_ = 0;
  bool release_injected_ = false;
  uint8_t scratch_[k4K] = {};
};

// Builds an argument block the way the host does.
struct Block {
  hypheap_svm_args hdr{HYPHEAP_SVM_ARGS_VERSION, 0, 0, 0, 0, {}, 0};
  std::vector<hypheap_mem_range> src, dst;

  explicit Block(uint32_t op) { hdr.op = op; }
  Block& add_src(uint64_t addr, uint64_t size) {
    src.push_back({addr, size});
    return *this;
  }
  Block& add_dst(uint64_t addr, uint64_t size) {
    dst.push_back({addr, size});
    return *this;
  }
  Block& iv(const uint8_t v[8]) {
    std::memcpy(hdr.iv, v, 8);
    return *this;
  }
  Block& pattern(uint64_t p) {
    hdr.pattern = p;
    return *this;
  }
  // The bytes, with the counts the lists have unless they were set by hand.
  std::vector<uint8_t> bytes(bool keep_counts = false) const {
    hypheap_svm_args h = hdr;
    if (!keep_counts) {
      h.nr_src = uint16_t(src.size());
      h.nr_dst = uint16_t(dst.size());
    }
    std::vector<uint8_t> out(sizeof(h));
    std::memcpy(out.data(), &h, sizeof(h));
    for (const auto* list : {&src, &dst}) {
      for (const hypheap_mem_range& r : *list) {
        const auto* p = reinterpret_cast<const uint8_t*>(&r);
        out.insert(out.end(), p, p + sizeof(r));
      }
    }
    return out;
  }
};

}  // namespace hyp::svm::testing

#include "hash_pool.h"

#include "aes.h"  // secure_zero

namespace hyp::svm {

uint64_t HashPool::load(size_t i) const {
  return __atomic_load_n(&slots_[i].word, __ATOMIC_SEQ_CST);
}

// Sequentially consistent: begin() takes a slot, then counts the caller's slots, while another
// vCPU may do the same (store buffering); only SC makes one of the two see the other's.
bool HashPool::cas(size_t i, uint64_t expected, uint64_t desired) {
  return __atomic_compare_exchange_n(&slots_[i].word, &expected, desired, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST);
}

void HashPool::touch(size_t i) {
  const uint64_t now = __atomic_add_fetch(&clock_, 1, __ATOMIC_RELAXED);
  __atomic_store_n(&slots_[i].last_use, now, __ATOMIC_RELAXED);
}

SvmStatus HashPool::begin(uint16_t client, uint64_t* handle) {
  // Each pass either takes a slot or saw one change under it; a bounded number of passes
  // keeps a call from spinning while other vCPUs churn the pool.
  for (size_t pass = 0; pass < 2 * kContexts; pass++) {
    size_t mine = 0, free_slot = kContexts, lru = kContexts;
    uint64_t free_word = 0, lru_word = 0, lru_use = ~uint64_t(0);
    for (size_t i = 0; i < kContexts; i++) {
      const uint64_t w = load(i);
      const uint64_t st = state_of(w);
      if (st == kFree) {
        if (free_slot == kContexts) {
          free_slot = i;
          free_word = w;
        }
        continue;
      }
      if (st == kRetired || owner_of(w) != client)
        continue;
      mine++;
      const uint64_t use = __atomic_load_n(&slots_[i].last_use, __ATOMIC_RELAXED);
      if (st == kIdle && use < lru_use) {
        lru = i;
        lru_word = w;
        lru_use = use;
      }
    }
    size_t slot = free_slot;
    uint64_t old = free_word;
    if (mine >= kPerClient || free_slot == kContexts) {
      if (lru == kContexts)
        return SvmStatus::kHashContexts;
      slot = lru;  // the caller's own, idle: reused, its handle goes stale
      old = lru_word;
    }
    const uint64_t gen = gen_of(old) + 1;
    if (gen > kGenMax) {
      static_cast<void>(cas(slot, old, word(gen_of(old), 0, kRetired)));
      continue;
    }
    if (!cas(slot, old, word(gen, client, kBusy)))
      continue;
    // A free slot taken while another vCPU counted the caller's: recount with it included,
    // so the caller never holds more than kPerClient.
    if (state_of(old) == kFree) {
      size_t now_mine = 0;
      for (size_t i = 0; i < kContexts; i++) {
        const uint64_t w = load(i);
        now_mine += state_of(w) != kFree && state_of(w) != kRetired && owner_of(w) == client;
      }
      if (now_mine > kPerClient) {
        __atomic_store_n(&slots_[slot].word, word(gen, 0, kFree), __ATOMIC_RELEASE);
        continue;
      }
    }
    HashStream& s = slots_[slot].stream;
    s.sha.reset();
    s.bytes = 0;
    touch(slot);
    __atomic_store_n(&slots_[slot].word, word(gen, client, kIdle), __ATOMIC_RELEASE);
    *handle = handle_of(slot, gen);
    return SvmStatus::kOk;
  }
  return SvmStatus::kHashContexts;
}

SvmStatus HashPool::claim(uint16_t client, uint64_t handle, HashStream** stream) {
  const size_t slot = handle & 0xff;
  const uint64_t gen = handle >> 8;
  if (slot >= kContexts || gen == 0 || gen > kGenMax)
    return SvmStatus::kHashHandle;
  const uint64_t idle = word(gen, client, kIdle);
  const uint64_t w = load(slot);
  if (w == word(gen, client, kBusy))
    return SvmStatus::kHashInUse;
  if (w != idle || !cas(slot, idle, word(gen, client, kBusy)))
    return load(slot) == word(gen, client, kBusy) ? SvmStatus::kHashInUse : SvmStatus::kHashHandle;
  *stream = &slots_[slot].stream;
  return SvmStatus::kOk;
}

void HashPool::put(uint64_t handle, bool used) {
  const size_t slot = handle & 0xff;
  if (used)
    touch(slot);
  const uint64_t w = load(slot);
  __atomic_store_n(&slots_[slot].word, word(gen_of(w), owner_of(w), kIdle), __ATOMIC_RELEASE);
}

void HashPool::end(uint64_t handle) {
  const size_t slot = handle & 0xff;
  HashStream& s = slots_[slot].stream;
  secure_zero(&s, sizeof(s));
  const uint64_t w = load(slot);
  __atomic_store_n(&slots_[slot].word, word(gen_of(w), 0, kFree), __ATOMIC_RELEASE);
}

size_t HashPool::nr_live() const {
  size_t n = 0;
  for (size_t i = 0; i < kContexts; i++) {
    const uint64_t st = state_of(load(i));
    n += st == kIdle || st == kBusy;
  }
  return n;
}

}  // namespace hyp::svm

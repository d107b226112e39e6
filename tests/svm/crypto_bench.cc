// Throughput of the secure VM's ciphers on the host (label bench, `make bench`): SHA-256 and
// AES-128-CTR over 1 MiB, and a whole HASH and DECRYPT request through dispatch() and the
// FakeEnv. Under QEMU TCG the payload runs them roughly ten times slower.
#include <benchmark/benchmark.h>

#include <vector>

#include "fake_env.h"
#include "svm/aes.h"
#include "svm/sha256.h"

namespace hyp::svm::testing {
namespace {

constexpr size_t kMiB = 1 << 20;

void BM_Sha256(benchmark::State& state) {
  std::vector<uint8_t> buf(kMiB, 0x5a);
  uint8_t digest[32];
  for (auto _ : state) {
    Sha256 sha;
    sha.update(buf.data(), buf.size());
    sha.finish(digest);
    benchmark::DoNotOptimize(digest);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(buf.size()));
}
BENCHMARK(BM_Sha256);

void BM_AesCtr(benchmark::State& state) {
  const uint8_t key[16] = HYPHEAP_SVM_TEST_KEY;
  const uint8_t iv[8] = {};
  std::vector<uint8_t> in(kMiB, 0x5a), out(kMiB);
  const Aes128 aes(key);
  for (auto _ : state) {
    AesCtr ctr(aes, iv);
    ctr.apply(in.data(), out.data(), in.size());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(in.size()));
}
BENCHMARK(BM_AesCtr);

// One request over `pages` pages (HASH of lent pages, or DECRYPT of shared into lent).
void BM_Dispatch(benchmark::State& state, uint32_t op) {
  constexpr uint64_t kPages = 512;  // 2 MiB
  FakeEnv env(1 + 2 * kPages);
  env.set(kBase, 1, Kind::kShared);
  env.set(kBase + k4K, kPages, Kind::kShared);
  env.set(kBase + (1 + kPages) * k4K, kPages, Kind::kLent);
  Block b(op);
  if (op == HYPHEAP_SVM_OP_HASH) {
    b.add_src(kBase + (1 + kPages) * k4K, kPages * k4K);
  } else {
    b.add_src(kBase + k4K, kPages * k4K).add_dst(kBase + (1 + kPages) * k4K, kPages * k4K);
  }
  const auto bytes = b.bytes();
  std::memcpy(env.at(kBase), bytes.data(), bytes.size());
  const Config config;
  Shared shared;
  for (auto _ : state) {
    const Message m = dispatch(env, config, shared, HYPHEAP_FFA_ID_HOST,
                               Message{{op, kBase, bytes.size(), 0, 0}});
    if (m.data[0] != 0)
      state.SkipWithError("the request failed");
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(kPages * k4K));
}
BENCHMARK_CAPTURE(BM_Dispatch, hash_2MiB, HYPHEAP_SVM_OP_HASH);
BENCHMARK_CAPTURE(BM_Dispatch, decrypt_2MiB, HYPHEAP_SVM_OP_DECRYPT);

}  // namespace
}  // namespace hyp::svm::testing

BENCHMARK_MAIN();

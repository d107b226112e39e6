// Writes the seed corpus of the services fuzzer (fuzz_input.h): one file per op and per
// rejection class, so mutations start next to every path. Usage: svm_fuzz_seeds <directory>.
#include <hypheap/abi.h>

#include <cstdio>
#include <string>
#include <vector>

#include "fuzz_input.h"

namespace hyp::svm::fuzz {
namespace {

// Groups of 4 pages: 0 shared (the block page), 1-3 shared read-only, 4-11 lent,
// 12 carve-out, 13 unmapped, 14 lent read-only, 15 lent and pinned.
constexpr uint8_t kUnmapped = 0, kLent = 1, kShared = 2, kCarve = 3, kRo = 4, kPinned = 8;
constexpr uint8_t kLayout[kGroups] = {kShared, kShared | kRo, kShared | kRo, kShared | kRo,
                                      kLent,   kLent,         kLent,         kLent,
                                      kLent,   kLent,         kLent,         kLent,
                                      kCarve,  kUnmapped,     kLent | kRo,   kLent | kPinned};

struct R {
  uint8_t page;
  uint16_t offset, size;
  uint8_t edge = 0;
};

struct Seed {
  std::string name;
  Writer w;
  explicit Seed(std::string n, uint8_t flags = 0) : name(std::move(n)) {
    w.put(flags);
    for (uint8_t l : kLayout)
      w.put(l);
  }
  Seed& req(uint8_t op, const std::vector<R>& src, const std::vector<R>& dst, uint8_t corrupt = 0,
            uint8_t pattern = 0, uint16_t block_offset = 0) {
    w.put(uint8_t(Mode::kBuilt));
    return body(op, src, dst, corrupt, pattern, block_offset);
  }
  // A streaming HASH call (kind: 0 BEGIN, 2 FINAL, 3 ABORT); update() for UPDATE.
  Seed& stream(uint8_t kind, uint8_t which = 0, uint8_t tweak = 0) {
    w.put(uint8_t(Mode::kStream)).put(kind).put(which).put(tweak);
    return *this;
  }
  Seed& update(const std::vector<R>& src, uint8_t which = 0, uint8_t tweak = 0) {
    stream(1, which, tweak);
    return body(HYPHEAP_SVM_OP_HASH_UPDATE, src, {});
  }
  Seed& body(uint8_t op, const std::vector<R>& src, const std::vector<R>& dst, uint8_t corrupt = 0,
             uint8_t pattern = 0, uint16_t block_offset = 0) {
    w.put(op).put(corrupt);
    w.put(uint8_t(src.size())).put(uint8_t(dst.size()));
    for (int i = 0; i < 8; i++)
      w.put(uint8_t(op == HYPHEAP_SVM_OP_DECRYPT ? 0x10 + i : 0));
    w.put(pattern).put(block_offset);
    for (const auto* list : {&src, &dst}) {
      for (const R& r : *list)
        w.put(r.page).put(r.offset).put(r.size).put(r.edge);
    }
    return *this;
  }
  Seed& raw(uint64_t d0, uint64_t d1, uint64_t d2, uint64_t d3, uint64_t d4,
            const std::vector<uint8_t>& bytes) {
    w.put(uint8_t(Mode::kRaw)).put(d0).put(d1).put(d2).put(d3).put(d4);
    w.put(uint16_t(bytes.size()));
    for (uint8_t b : bytes)
      w.put(b);
    return *this;
  }
  Seed& inject(uint8_t n, uint8_t status) {
    w.put(uint8_t(Mode::kInject)).put(n).put(status);
    return *this;
  }
};

std::vector<Seed> seeds() {
  constexpr uint8_t kHash = HYPHEAP_SVM_OP_HASH, kDecrypt = HYPHEAP_SVM_OP_DECRYPT,
                    kPin = HYPHEAP_SVM_OP_PIN, kUnpin = HYPHEAP_SVM_OP_UNPIN,
                    kFill = HYPHEAP_SVM_OP_FILL;
  std::vector<Seed> s;
  s.emplace_back("info").raw(HYPHEAP_SVM_OP_INFO, 0, 0, 0, 0, {});
  s.emplace_back("fault", 1).raw(HYPHEAP_SVM_OP_FAULT, 0, 0, 0, 0, {});
  s.emplace_back("fault_not_built").raw(HYPHEAP_SVM_OP_FAULT, 0, 0, 0, 0, {});
  s.emplace_back("unknown_op").raw(9, 0x8000'0000, 48, 0, 0, {});
  s.emplace_back("hash_one").req(kHash, {{20, 0, 4096}}, {});
  s.emplace_back("hash_many").req(kHash, {{4, 100, 9000}, {17, 0, 4096}, {30, 0, 8192}}, {});
  s.emplace_back("hash_shared").req(kHash, {{5, 7, 5000}}, {});
  s.emplace_back("decrypt").req(kDecrypt, {{4, 10, 5000}, {8, 0, 3192}},
                                {{20, 0, 4096}, {30, 0, 4096}});
  s.emplace_back("decrypt_lent_src").req(kDecrypt, {{16, 0, 4096}}, {{24, 0, 4096}});
  s.emplace_back("fill").req(kFill, {}, {{18, 0, 8192}, {40, 0, 4096}}, 0, 0xab);
  // Whole pages wherever the host cannot read (PARTIAL_PAGE), and the ways around it.
  s.emplace_back("hash_partial_lent").req(kHash, {{20, 5, 3000}}, {});
  s.emplace_back("hash_lent_ends_mid_page").req(kHash, {{20, 0, 4097}}, {});
  s.emplace_back("hash_shared_into_lent").req(kHash, {{15, 4000, 200}}, {});
  s.emplace_back("hash_whole_shared_and_lent").req(kHash, {{15, 0, 8192}}, {});
  s.emplace_back("hash_partial_lent_ro").req(kHash, {{56, 1, 10}}, {});
  s.emplace_back("hash_partial_lent_into_carve").req(kHash, {{47, 4090, 20}}, {});
  s.emplace_back("decrypt_partial_dst").req(kDecrypt, {{4, 0, 100}}, {{20, 0, 100}});
  s.emplace_back("decrypt_dst_ends_mid_page").req(kDecrypt, {{4, 0, 4097}}, {{20, 0, 4097}});
  s.emplace_back("decrypt_lent_byte_src")
      .req(kDecrypt, {{4, 0, 4095}, {16, 17, 1}}, {{24, 0, 4096}});
  s.emplace_back("decrypt_lent_off_grid")
      .req(kDecrypt, {{4, 0, 1}, {16, 0, 4096}, {8, 0, 4095}}, {{24, 0, 8192}});
  s.emplace_back("decrypt_lent_on_grid")
      .req(kDecrypt, {{4, 0, 100}, {5, 0, 3996}, {16, 0, 4096}}, {{24, 0, 8192}});
  s.emplace_back("fill_partial").req(kFill, {}, {{20, 0, 100}}, 0, 0x11);
  s.emplace_back("fill_halves").req(kFill, {}, {{20, 0, 2048}, {20, 2048, 2048}}, 0, 0x11);
  s.emplace_back("fill_then_decrypt_byte")
      .req(kFill, {}, {{20, 0, 4096}})
      .req(kDecrypt, {{4, 0, 1}}, {{20, 0, 1}})
      .req(kHash, {{20, 0, 4096}}, {});
  // Calls 0/1 the block's page, 2 src[0] (shared), 3 src[1] with need SHARED, 4 with R.
  s.emplace_back("second_hold_busy").inject(4, 5).req(kHash, {{4, 0, 10}, {20, 1, 10}}, {});
  s.emplace_back("second_hold_refused").inject(4, 6).req(kHash, {{4, 0, 10}, {20, 1, 10}}, {});
  s.emplace_back("second_release_refused").inject(5, 6).req(kHash, {{4, 0, 10}, {20, 1, 10}}, {});
  s.emplace_back("pin_unpin")
      .req(kPin, {{16, 0, 8192}, {24, 0, 4096}}, {})
      .req(kHash, {{16, 0, 4096}}, {})
      .req(kUnpin, {{24, 0, 4096}, {16, 0, 8192}}, {});
  s.emplace_back("pin_twice")
      .req(kPin, {{16, 0, 4096}}, {})
      .req(kPin, {{20, 0, 4096}, {16, 0, 4096}}, {});
  s.emplace_back("unpin_pinned_group").req(kUnpin, {{60, 0, 16384}}, {});
  s.emplace_back("bad_version").req(kHash, {{20, 0, 10}}, {}, kBadVersion);
  s.emplace_back("wrong_op").req(kHash, {{20, 0, 10}}, {}, kWrongOp);
  s.emplace_back("len_long").req(kHash, {{20, 0, 10}}, {}, kLenPlus8);
  s.emplace_back("len_short").req(kHash, {{20, 0, 10}}, {}, kLenMinus8);
  s.emplace_back("reserved").req(kHash, {{20, 0, 10}}, {}, kReserved);
  s.emplace_back("high_pattern").req(kFill, {}, {{20, 0, 10}}, kHighPattern, 1);
  s.emplace_back("data3").req(kHash, {{20, 0, 10}}, {}, kData3);
  s.emplace_back("unaligned_block").req(kHash, {{20, 0, 10}}, {}, kUnaligned, 0, 3);
  s.emplace_back("block_crosses_page").req(kHash, {{20, 0, 10}}, {}, 0, 0, 4080);
  s.emplace_back("no_ranges").req(kHash, {}, {});
  s.emplace_back("zero_size").req(kHash, {{20, 0, 0}}, {});
  s.emplace_back("wrapping_size").req(kHash, {{20, 0, 0, 7}}, {});
  s.emplace_back("huge_size").req(kHash, {{20, 0, 0, 6}}, {});
  s.emplace_back("pin_unaligned").req(kPin, {{20, 1, 4096}}, {});
  s.emplace_back("overlap_same_page").req(kHash, {{20, 0, 100}, {20, 100, 100}}, {});
  s.emplace_back("overlap_across").req(kDecrypt, {{20, 200, 4096}}, {{20, 0, 4096}});
  s.emplace_back("len_mismatch").req(kDecrypt, {{4, 0, 100}}, {{20, 0, 4096}});
  s.emplace_back("not_owned_carve").req(kHash, {{48, 0, 100}}, {});
  s.emplace_back("not_owned_unmapped").req(kHash, {{52, 0, 100}}, {});
  s.emplace_back("past_ram").req(kHash, {{70, 0, 100}}, {});
  s.emplace_back("host_readable").req(kFill, {}, {{0, 0, 4096}});
  s.emplace_back("dst_read_only").req(kDecrypt, {{4, 0, 4096}}, {{56, 0, 4096}});
  s.emplace_back("busy_second_hold").inject(3, 5).req(kHash, {{20, 0, 4096}, {24, 0, 4096}}, {});
  s.emplace_back("release_refused").inject(3, 6).req(kFill, {}, {{20, 0, 4096}});
  s.emplace_back("block_refused").inject(0, 4).req(kHash, {{20, 0, 100}}, {});
  s.emplace_back("pin_refused").inject(3, 3).req(kPin, {{16, 0, 4096}, {20, 0, 4096}}, {});
  // Protected memory (registers only): kHandles are lent at the start of every input.
  constexpr uint64_t kConfig = HYPHEAP_SVM_OP_PROTMEM_CONFIG,
                     kAssign = HYPHEAP_SVM_OP_PROTMEM_ASSIGN,
                     kRelease = HYPHEAP_SVM_OP_PROTMEM_RELEASE,
                     kVideo = HYPHEAP_PROTMEM_USE_SECURE_VIDEO;
  s.emplace_back("protmem_config").raw(kConfig, kVideo, 0, 0, 0, {});
  s.emplace_back("protmem_config_not_ours")
      .raw(kConfig, HYPHEAP_PROTMEM_USE_TRUSTED_UI, 0, 0, 0, {});
  s.emplace_back("protmem_config_reserved").raw(kConfig, kVideo, 0, 0, 1, {});
  s.emplace_back("protmem_assign_release")
      .raw(kAssign, 1, kVideo, 0, 0, {})
      .raw(kRelease, 1, 0, 0, 0, {});
  s.emplace_back("protmem_assign_twice")
      .raw(kAssign, 2, kVideo, 0, 0, {})
      .raw(kAssign, 2, HYPHEAP_PROTMEM_USE_SECURE_VIDEO_RECORD, 0, 0, {});
  s.emplace_back("protmem_assign_not_lent").raw(kAssign, 3, kVideo, 0, 0, {});
  s.emplace_back("protmem_assign_use_case").raw(kAssign, 1, 0, 0, 0, {});
  s.emplace_back("protmem_assign_reserved").raw(kAssign, 1, kVideo, 1, 0, {});
  s.emplace_back("protmem_release_not_held").raw(kRelease, 0x100000001, 0, 0, 0, {});
  s.emplace_back("protmem_release_twice")
      .raw(kAssign, 1, kVideo, 0, 0, {})
      .raw(kRelease, 1, 0, 0, 0, {})
      .raw(kRelease, 1, 0, 0, 0, {});
  s.emplace_back("protmem_retrieve_refused").inject(0, 4).raw(kAssign, 1, kVideo, 0, 0, {});
  // Requests in chunks (1.1).
  s.emplace_back("stream_hash")
      .stream(0)
      .update({{16, 0, 8192}, {4, 10, 500}})
      .update({{20, 0, 4096}})
      .stream(2);
  s.emplace_back("stream_refusals")
      .stream(0)
      .update({{16, 0, 4096}}, 0, kOffsetOff)
      .update({{16, 0, 4096}}, 0, kStaleHandle)
      .update({{16, 0, 4096}}, 0, kOtherCaller)
      .update({{16, 5, 4096}})
      .update({{48, 0, 4096}})
      .stream(2, 0, kOffsetOff)
      .update({{16, 0, 4096}})
      .stream(2);
  s.emplace_back("stream_abort").stream(0).update({{20, 0, 4096}}).stream(3).stream(2);
  s.emplace_back("stream_two")
      .stream(0)
      .stream(0)
      .update({{16, 0, 4096}}, 1)
      .update({{20, 0, 4096}}, 0)
      .stream(2, 1)
      .stream(2, 0);
  {
    Seed& many = s.emplace_back("stream_reuse");
    for (int i = 0; i < 10; i++)
      many.stream(0);
    many.update({{16, 0, 4096}}, 0).update({{16, 0, 4096}}, 9).stream(2, 9).stream(2, 1);
  }
  s.emplace_back("stream_update_busy").stream(0).inject(2, 5).update({{16, 0, 4096}}).stream(2);
  s.emplace_back("stream_raw")
      .raw(HYPHEAP_SVM_OP_HASH_BEGIN, 0, 0, 0, 0, {})
      .raw(HYPHEAP_SVM_OP_HASH_FINAL, 0x100, 0, 0, 0, {})
      .raw(HYPHEAP_SVM_OP_HASH_ABORT, 0x100, 1, 0, 0, {});
  s.emplace_back("decrypt_offset").raw(HYPHEAP_SVM_OP_DECRYPT, 0x8000'0000, 64, 4096, 0, {});
  s.emplace_back("decrypt_offset_unaligned").req(kDecrypt, {{4, 0, 4096}}, {{20, 0, 4096}}, kData3);
  // Carve-out (registers only; the pool is kBuilt pages 64..79, empty at the start).
  constexpr uint64_t kInfo = HYPHEAP_SVM_OP_CARVEOUT_INFO, kAlloc = HYPHEAP_SVM_OP_CARVEOUT_ALLOC,
                     kFree = HYPHEAP_SVM_OP_CARVEOUT_FREE, kPool = 0x8000'0000 + kPages * 4096;
  constexpr uint8_t kP = kPages;  // the pool's first page in kBuilt ranges
  s.emplace_back("carveout_info").raw(kInfo, 0, 0, 0, 0, {});
  s.emplace_back("carveout_alloc_free")
      .raw(kAlloc, 8192, kVideo, 0, 0, {})
      .raw(kFree, kPool, 0, 0, 0, {});
  s.emplace_back("carveout_fill_hash")
      .raw(kAlloc, 8192, kVideo, 0, 0, {})
      .req(kFill, {}, {{kP, 0, 8192}}, 0, 0x5a)
      .req(kHash, {{kP, 0, 8192}}, {})
      .raw(kFree, kPool, 0, 0, 0, {});
  s.emplace_back("carveout_decrypt_into")
      .raw(kAlloc, 4096, kVideo, 0, 0, {})
      .req(kDecrypt, {{16, 0, 4096}}, {{kP, 0, 4096}});
  s.emplace_back("carveout_hash_partial")
      .raw(kAlloc, 4096, kVideo, 0, 0, {})
      .req(kHash, {{kP, 8, 100}}, {});
  s.emplace_back("carveout_pin_free")
      .raw(kAlloc, 4096, kVideo, 0, 0, {})
      .req(kPin, {{kP, 0, 4096}}, {})
      .raw(kFree, kPool, 0, 0, 0, {})
      .req(kUnpin, {{kP, 0, 4096}}, {})
      .raw(kFree, kPool, 0, 0, 0, {});
  s.emplace_back("carveout_double_free")
      .raw(kAlloc, 4096, kVideo, 0, 0, {})
      .raw(kFree, kPool, 0, 0, 0, {})
      .raw(kFree, kPool, 0, 0, 0, {});
  s.emplace_back("carveout_not_allocated").raw(kFree, kPool + 3 * 4096, 0, 0, 0, {});
  s.emplace_back("carveout_not_base")
      .raw(kAlloc, 8192, kVideo, 0, 0, {})
      .raw(kFree, kPool + 4096, 0, 0, 0, {});
  s.emplace_back("carveout_unallocated").req(kHash, {{kP + 2, 0, 4096}}, {});
  s.emplace_back("carveout_straddle")
      .raw(kAlloc, 4096, kVideo, 0, 0, {})
      .req(kFill, {}, {{kP, 0, 8192}});
  s.emplace_back("carveout_len").raw(kAlloc, 100, kVideo, 0, 0, {});
  s.emplace_back("carveout_use_case").raw(kAlloc, 4096, HYPHEAP_PROTMEM_USE_TRUSTED_UI, 0, 0, {});
  s.emplace_back("carveout_no_space")
      .raw(kAlloc, kPoolPages * 4096, kVideo, 0, 0, {})
      .raw(kAlloc, 4096, kVideo, 0, 0, {});
  s.emplace_back("carveout_reserved").raw(kAlloc, 4096, kVideo, 1, 0, {});
  s.emplace_back("carveout_no_pool", 2).raw(kAlloc, 4096, kVideo, 0, 0, {});
  return s;
}

}  // namespace
}  // namespace hyp::svm::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <directory>\n", argv[0]);
    return 2;
  }
  for (const auto& seed : hyp::svm::fuzz::seeds()) {
    const std::string path = std::string(argv[1]) + "/" + seed.name;
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f ||
        std::fwrite(seed.w.bytes().data(), 1, seed.w.bytes().size(), f) != seed.w.bytes().size()) {
      std::perror(path.c_str());
      return 1;
    }
    std::fclose(f);
  }
  return 0;
}

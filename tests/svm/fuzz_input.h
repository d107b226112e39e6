// The byte format of a services fuzz input, shared by the harness (svm_fuzz.cc) and the seed
// writer (make_seeds.cc). Little-endian; a field past the end of the input reads as zero.
//
//   u8 flags          bit 0: the build has FAULT (Config::fault_op); bit 1: the secure VM
//                     has no carve-out pool
//   u8 layout[16]     pages 4g..4g+3 of the fake RAM: bits 0-1 Kind, bit 2 read-only,
//                     bit 3 pinned; page 0 (the usual block page) is always shared
//   then requests until the input ends, each a u8 Mode and its fields (below).
// Carve-out: a pool of kPoolPages right after the fake RAM (kBuilt pages 64..79), empty at
// the start of every input (CARVEOUT_ALLOC/FREE in kRaw).
// FF-A memory: kHandles are live lends to the secure VM, not retrieved, at the start of every
// input (PROTMEM_ASSIGN/RELEASE name them, or others, in kRaw's data1).
#pragma once

#include "../fuzz/byte_stream.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace hyp::svm::fuzz {

inline constexpr size_t kPages = 64;
inline constexpr size_t kGroups = 16;
inline constexpr size_t kPoolPages = 16;

enum class Mode : uint8_t {
  // u8 op, u8 corrupt (Corrupt bits), u8 nr_src, u8 nr_dst (each % 9), u8 iv[8], u8 pattern,
  // u16 block offset in page 0, then nr_src + nr_dst ranges {u8 page, u16 offset, u16 size,
  // u8 edge}: address = RAM + page * 4 KiB + offset % 4 KiB (page >= 64 is past the RAM),
  // size as given, or with edge != 0 kEdges[edge % n] (sizes that wrap or are huge).
  kBuilt = 0,
  // u64 data0..data4 as given, u16 len, bytes[len] written at the start of page 0.
  kRaw = 1,
  // u8 n, u8 status: the hyp call n calls from now answers kStatuses[status % n].
  kInject = 2,
  // u8 kind (% 4: HASH_BEGIN, HASH_UPDATE, HASH_FINAL, HASH_ABORT), u8 which (of the
  // contexts the input began and still has), u8 tweak (kStale*), then for HASH_UPDATE a
  // kBuilt request (its op replaced): data3 = the handle, data4 = the bytes hashed so far.
  kStream = 3,
};
inline constexpr uint8_t kNrModes = 4;

// Bits of kStream's tweak: a handle of an earlier generation, an offset (or total) one off,
// the call made by another FF-A endpoint.
inline constexpr uint8_t kStaleHandle = 1, kOffsetOff = 2, kOtherCaller = 4;

// Bits of kBuilt's corrupt byte.
inline constexpr uint8_t kBadVersion = 1, kWrongOp = 2, kLenPlus8 = 4, kLenMinus8 = 8,
                         kReserved = 16, kHighPattern = 32, kData3 = 64, kUnaligned = 128;

inline constexpr uint64_t kHandles[] = {1, 2, 0x1'0000'0001};

inline constexpr uint64_t kEdges[] = {
    0, 1, 4095, 4096, 4097, 1ULL << 32, 1ULL << 63, ~0ULL, ~0ULL - 4095, 0x8000'0000,
};
inline constexpr size_t kNrEdges = sizeof(kEdges) / sizeof(kEdges[0]);

// Refusals only: an injected success would change nothing in the fake, so the services'
// later release of that "held" page would look like a violation.
inline constexpr int64_t kStatuses[] = {
    -1, -8, -10, -12, -16, -17, -19, -20,  // NOT_SUPPORTED, RANGE_SIZE, PROTECTED, STATE,
};                                         // NO_MEMORY, BUSY, NOT_MAPPED, HOST_ACCESS
inline constexpr size_t kNrStatuses = sizeof(kStatuses) / sizeof(kStatuses[0]);

using Reader = hyp::fuzz_io::Reader;

class Writer : public hyp::fuzz_io::BasicWriter<Writer> {};

}  // namespace hyp::svm::fuzz

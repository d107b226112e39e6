// The numbers of FF-A (Arm DEN0077A, v1.0 and v1.1) the core speaks: function ids, error
// codes, versions and partition-property bits. Values are the specification's; the names
// and the selection (only what hypheap answers or sends) are ours.
#pragma once

#include <cstdint>

namespace hyp::ffa {

// Function ids. An SMC64 variant is the SMC32 id with bit 30 set.
inline constexpr uint32_t kSmc64Bit = 0x40000000u;
inline constexpr uint32_t kError = 0x84000060u;
inline constexpr uint32_t kSuccess32 = 0x84000061u;
inline constexpr uint32_t kSuccess64 = 0xC4000061u;
inline constexpr uint32_t kInterrupt = 0x84000062u;
inline constexpr uint32_t kVersion = 0x84000063u;
inline constexpr uint32_t kFeatures = 0x84000064u;
inline constexpr uint32_t kRxRelease = 0x84000065u;
inline constexpr uint32_t kRxtxMap32 = 0x84000066u;
inline constexpr uint32_t kRxtxMap64 = 0xC4000066u;
inline constexpr uint32_t kRxtxUnmap = 0x84000067u;
inline constexpr uint32_t kPartitionInfoGet = 0x84000068u;
inline constexpr uint32_t kIdGet = 0x84000069u;
inline constexpr uint32_t kMsgWait = 0x8400006Bu;
inline constexpr uint32_t kYield = 0x8400006Cu;
inline constexpr uint32_t kRun = 0x8400006Du;
inline constexpr uint32_t kMsgSend = 0x8400006Eu;
inline constexpr uint32_t kDirectReq32 = 0x8400006Fu;
inline constexpr uint32_t kDirectReq64 = 0xC400006Fu;
inline constexpr uint32_t kDirectResp32 = 0x84000070u;
inline constexpr uint32_t kDirectResp64 = 0xC4000070u;
inline constexpr uint32_t kMsgPoll = 0x8400006Au;
inline constexpr uint32_t kMemDonate32 = 0x84000071u;
inline constexpr uint32_t kMemLend32 = 0x84000072u;
inline constexpr uint32_t kMemLend64 = 0xC4000072u;
inline constexpr uint32_t kMemShare32 = 0x84000073u;
inline constexpr uint32_t kMemShare64 = 0xC4000073u;
inline constexpr uint32_t kMemRetrieveReq32 = 0x84000074u;
inline constexpr uint32_t kMemRelinquish = 0x84000076u;
inline constexpr uint32_t kMemReclaim = 0x84000077u;
// v1.0's time slicing of a memory transaction: the relayer answers PAUSE (w1/w2 = the
// handle) after a part of the work, the sender calls RESUME with the same w1/w2.
inline constexpr uint32_t kMemOpPause = 0x84000078u;
inline constexpr uint32_t kMemOpResume = 0x84000079u;
inline constexpr uint32_t kMemFragRx = 0x8400007Au;
inline constexpr uint32_t kMemFragTx = 0x8400007Bu;

// Error codes, in w2 of an FFA_ERROR answer (x0 = kError), as signed 32-bit values.
inline constexpr int32_t kNotSupported = -1;
inline constexpr int32_t kInvalidParameters = -2;
inline constexpr int32_t kNoMemory = -3;
inline constexpr int32_t kBusy = -4;
inline constexpr int32_t kInterrupted = -5;
inline constexpr int32_t kDenied = -6;
inline constexpr int32_t kRetry = -7;
inline constexpr int32_t kAborted = -8;
inline constexpr int32_t kNoData = -9;

// FFA_VERSION words: bit 31 must be zero, major in 30:16, minor in 15:0. The answer to an
// FFA_VERSION the callee cannot serve is x0 = NOT_SUPPORTED itself (all 64 bits set), not
// an FFA_ERROR.
inline constexpr uint32_t kVersionMbz = 1u << 31;
inline constexpr uint32_t make_version(uint32_t major, uint32_t minor) {
  return major << 16 | minor;
}
inline constexpr uint32_t version_major(uint32_t v) {
  return (v >> 16) & 0x7fff;
}
inline constexpr uint32_t version_minor(uint32_t v) {
  return v & 0xffff;
}
inline constexpr uint32_t kVersion10 = make_version(1, 0);
inline constexpr uint32_t kVersion11 = make_version(1, 1);
// What the core implements and reports.
inline constexpr uint32_t kVersionOurs = kVersion11;

// FFA_PARTITION_INFO_GET: w5 bit 0 asks for the count only (the rest MBZ); descriptors are
// 8 bytes for a v1.0 caller, 24 (with the UUID) for v1.1.
inline constexpr uint32_t kInfoCountOnly = 1u << 0;
inline constexpr uint32_t kInfoDescSize10 = 8;
inline constexpr uint32_t kInfoDescSize11 = 24;
// Partition properties.
inline constexpr uint32_t kPropDirectReqRecv = 1u << 0;
inline constexpr uint32_t kPropDirectReqSend = 1u << 1;
inline constexpr uint32_t kPropIndirectMsg = 1u << 2;
inline constexpr uint32_t kPropAarch64 = 1u << 8;  // v1.1: the partition runs AArch64
inline constexpr uint32_t kPropMaskV10 = 0x7;      // a v1.0 caller knows bits 2:0 only

// FFA_RXTX_MAP: w3 bits 5:0 are the buffer size in 4 KiB pages, the rest MBZ.
inline constexpr uint32_t kRxtxPageCountMask = 0x3f;

// Memory management descriptors (FFA_MEM_SHARE/LEND, DEN0077A v1.0 5.11 / v1.1 10.11).
// v1.0 header: 32 bytes (sender u16, attributes u8, reserved u8, flags u32, handle u64,
// tag u64, reserved u32, receiver count u32); v1.1: 48 bytes (attributes u16, then after
// the tag the access-descriptor size u32, receiver count u32, access-descriptor offset u32
// and 12 reserved bytes). Both are followed by 16-byte access descriptors (receiver u16,
// permissions u8, flags u8, composite offset u32, reserved u64), a 16-byte composite
// (total pages u32, range count u32, reserved u64) and 16-byte constituents (address u64,
// pages u32, reserved u32).
inline constexpr uint32_t kMemHeaderSize10 = 32;
inline constexpr uint32_t kMemHeaderSize11 = 48;
inline constexpr uint32_t kMemAccessSize = 16;
inline constexpr uint32_t kMemCompositeSize = 16;
inline constexpr uint32_t kMemConstituentSize = 16;
// Memory region attributes: bits 5:4 type (2 = normal), 3:2 cacheability (3 = write-back),
// 1:0 shareability (3 = inner); v1.1 bit 6 is NS; everything above MBZ.
inline constexpr uint32_t kMemAttrNormalWbInner = 0x2f;
inline constexpr uint32_t kMemAttrMask = 0x3f;
// Access permissions of a receiver: data access bits 1:0 (1 RO, 2 RW, 3 reserved),
// instruction access bits 3:2 (1 NX, 2 X, 3 reserved), bits 7:4 MBZ.
inline constexpr uint32_t kMemDataRo = 1, kMemDataRw = 2, kMemDataReserved = 3;
inline constexpr uint32_t kMemInstrReserved = 3;
// Transaction flags of MEM_SHARE/LEND (w in the header) and FFA_MEM_RECLAIM (w3): bit 0
// zeroes the memory (LEND/DONATE only; RECLAIM: before the owner gets it back).
inline constexpr uint32_t kMemFlagClear = 1u << 0;
// Handles the hypervisor allocates have bit 63 set.
inline constexpr uint64_t kMemHandleHypervisor = 1ULL << 63;

// FFA_MSG_SEND_DIRECT_REQ/RESP w1 and FFA_RUN/FFA_INTERRUPT w1: two 16-bit fields.
inline constexpr uint32_t pack_ids(uint16_t hi, uint16_t lo) {
  return uint32_t(hi) << 16 | lo;
}

}  // namespace hyp::ffa

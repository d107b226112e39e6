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

// FFA_MSG_SEND_DIRECT_REQ/RESP w1 and FFA_RUN/FFA_INTERRUPT w1: two 16-bit fields.
inline constexpr uint32_t pack_ids(uint16_t hi, uint16_t lo) {
  return uint32_t(hi) << 16 | lo;
}

}  // namespace hyp::ffa

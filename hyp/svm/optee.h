// The secure VM's OP-TEE face (docs/hypervisor.md, "The OP-TEE face"): what Linux's optee
// driver needs of an OP-TEE behind FF-A to probe, register /dev/tee0 and find no devices,
// answered for the partition's second endpoint (HYPHEAP_FFA_ID_OPTEE). No trusted
// applications, no RPCs, no supplicant: every session a client opens is "not found".
//
// The numbers are OP-TEE's FF-A ABI (optee_ffa.h, optee_msg.h) and GlobalPlatform's TEE
// Client API return codes; the names and the selection are ours.
#pragma once

#include <cstdint>

#include "services.h"

namespace hyp::svm {

namespace optee {

// w3 of a direct request: the function. Bit 31 set is a yielding call.
inline constexpr uint32_t kGetApiVersion = 0;
inline constexpr uint32_t kGetOsVersion = 1;
inline constexpr uint32_t kExchangeCapabilities = 2;
inline constexpr uint32_t kUnregisterShm = 3;
inline constexpr uint32_t kYielding = 1u << 31;
inline constexpr uint32_t kCallWithArg = kYielding | 0;
inline constexpr uint32_t kResume = kYielding | 1;
// w4 of a yielding call's answer: the call is over (anything else asks for an RPC).
inline constexpr uint32_t kReturnDone = 0;

// The OP-TEE FF-A ABI version the driver asks for (GET_OS_VERSION reports the services' own).
inline constexpr uint32_t kApiMajor = 1, kApiMinor = 0;

// struct optee_msg_arg: u32 cmd, func, session, cancel_id, pad, ret, ret_origin, num_params,
// then num_params 32-byte parameters.
inline constexpr uint32_t kArgHeaderSize = 32;
inline constexpr uint32_t kArgParamSize = 32;
inline constexpr uint32_t kArgCmd = 0, kArgRet = 20, kArgRetOrigin = 24, kArgNumParams = 28;
inline constexpr uint32_t kMsgOpenSession = 0, kMsgInvoke = 1, kMsgCloseSession = 2;

// TEE Client API results and origins, as the driver reads them from the argument.
inline constexpr uint32_t kTeecSuccess = 0;
inline constexpr uint32_t kTeecBadParameters = 0xFFFF0006u;
inline constexpr uint32_t kTeecItemNotFound = 0xFFFF0008u;
inline constexpr uint32_t kTeecNotSupported = 0xFFFF000Au;
// Never answered: the driver then waits for another call to end, which may never come.
inline constexpr uint32_t kTeecBusy = 0xFFFF000Du;
inline constexpr uint32_t kOriginTee = 3;

// FF-A error codes in w3 of a yielding call's answer (optee_ffa.h), as 32-bit words.
inline constexpr uint32_t kFfaNotSupported = uint32_t(-1);
inline constexpr uint32_t kFfaInvalidParameters = uint32_t(-2);
inline constexpr uint32_t kFfaDenied = uint32_t(-6);

}  // namespace optee

// One SMC32 direct request to the OP-TEE endpoint (data0..data4 = w3..w7), validated in
// full: an unknown function, a must-be-zero word that is not, a handle that is no live share
// to the OP-TEE endpoint, an argument offset (the face offers no ARG_OFFSET) each get their
// answer and change nothing. The one write is the argument's ret/ret_origin, in a page it
// holds for the call.
Message optee_dispatch(Env& env, const Message& req);

}  // namespace hyp::svm

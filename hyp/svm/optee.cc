// The OP-TEE face (optee.h): four blocking calls answered from registers, and one yielding
// call that writes the answer into the argument page the host shared with this endpoint.
#include "optee.h"

namespace hyp::svm {
namespace {

using namespace optee;

Message reply(uint64_t w3, uint64_t w4 = 0, uint64_t w5 = 0) {
  return Message{{w3, w4, w5, 0, 0}};
}

uint64_t handle_of(const Message& req) {
  return (req.data[1] & 0xffffffff) | (req.data[2] & 0xffffffff) << 32;
}

uint32_t read32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

void write32(uint8_t* p, uint32_t v) {
  for (unsigned i = 0; i < 4; i++)
    p[i] = uint8_t(v >> (8 * i));
}

// What a message of `cmd` with `num_params` parameters gets: no trusted application exists,
// so no session ever opens, and no other command has anything to act on.
uint32_t msg_result(uint32_t cmd, uint32_t num_params) {
  if (num_params > (kPageSize - kArgHeaderSize) / kArgParamSize)
    return kTeecBadParameters;  // would not fit the page the face holds
  switch (cmd) {
    case kMsgOpenSession:
      // Two meta parameters (the TA's UUID, the client's) come first in every open.
      return num_params < 2 ? kTeecBadParameters : kTeecItemNotFound;
    case kMsgInvoke:
    case kMsgCloseSession:
      return kTeecBadParameters;  // no session was ever opened
    default:
      return kTeecNotSupported;
  }
}

// OPTEE_FFA_YIELDING_CALL_WITH_ARG: w4/w5 the handle of the shared argument, w6 its offset
// (zero: no ARG_OFFSET capability), w7 MBZ.
Message call_with_arg(Env& env, const Message& req) {
  if (req.data[3] != 0 || req.data[4] != 0)
    return reply(kFfaInvalidParameters);
  Ipa page;
  uint64_t pages = 0;
  if (env.ffa_region(handle_of(req), HYPHEAP_FFA_ID_OPTEE, &page, &pages) != HYPHEAP_OK)
    return reply(kFfaInvalidParameters);
  // Held for the write, so a reclaim meanwhile answers BUSY instead of pulling the page
  // from under it; another call on the same page is refused rather than raced with.
  const int64_t held = env.hold(page, 1, HYPHEAP_SVM_NEED_W | HYPHEAP_SVM_NEED_SHARED);
  if (held != HYPHEAP_OK)
    return reply(held == HYPHEAP_ERR_BUSY ? kFfaDenied : kFfaInvalidParameters);
  // The host may have reclaimed the handle and shared the page again between the lookup and
  // the hold. Held, the page cannot be reclaimed, so a second lookup naming it is stable.
  Ipa again;
  if (env.ffa_region(handle_of(req), HYPHEAP_FFA_ID_OPTEE, &again, &pages) != HYPHEAP_OK ||
      again != page) {
    if (env.release(page, 1) != HYPHEAP_OK)
      return reply(kFfaDenied);
    return reply(kFfaInvalidParameters);
  }
  uint8_t* arg = env.map(page);
  const uint32_t result = msg_result(read32(arg + kArgCmd), read32(arg + kArgNumParams));
  write32(arg + kArgRet, result);
  write32(arg + kArgRetOrigin, kOriginTee);
  if (env.release(page, 1) != HYPHEAP_OK)
    return reply(kFfaDenied);  // only a broken hyp refuses: never report success then
  return reply(kTeecSuccess, kReturnDone);
}

// OPTEE_FFA_UNREGISTER_SHM: the face keeps nothing of a share, so there is nothing to drop;
// the answer says whether the handle names one of its live shares at all.
Message unregister_shm(Env& env, const Message& req) {
  if (req.data[3] != 0 || req.data[4] != 0)
    return reply(kFfaInvalidParameters);
  Ipa page;
  uint64_t pages = 0;
  if (env.ffa_region(handle_of(req), HYPHEAP_FFA_ID_OPTEE, &page, &pages) != HYPHEAP_OK)
    return reply(kFfaInvalidParameters);
  return reply(kTeecSuccess);
}

}  // namespace

Message optee_dispatch(Env& env, const Message& req) {
  const auto fn = uint32_t(req.data[0]);
  const bool args_zero = (req.data[1] | req.data[2] | req.data[3] | req.data[4]) == 0;
  switch (fn) {
    case kGetApiVersion:
      return args_zero ? reply(kApiMajor, kApiMinor) : reply(kTeecBadParameters);
    case kGetOsVersion:
      return args_zero ? reply(HYPHEAP_SVM_VERSION >> 16, HYPHEAP_SVM_VERSION & 0xffff)
                       : reply(kTeecBadParameters);
    case kExchangeCapabilities:
      // No RPC parameters (it never makes an RPC), no capabilities.
      return args_zero ? reply(kTeecSuccess, 0, 0) : reply(kTeecBadParameters);
    case kUnregisterShm:
      return unregister_shm(env, req);
    case kCallWithArg:
      return call_with_arg(env, req);
    case kResume:
      return reply(kFfaInvalidParameters);  // no RPC was ever asked for: nothing to resume
    default:
      return reply((fn & kYielding) ? kFfaNotSupported : kTeecBadParameters);
  }
}

}  // namespace hyp::svm

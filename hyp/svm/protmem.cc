// The secure VM's side of the upstream TEE heap's dynamic protected memory over FF-A: what the
// host must lend (CONFIG), taking a lent block (ASSIGN: SVM_FFA_RETRIEVE) and giving it back
// (RELEASE: SVM_FFA_RELINQUISH), after which the host's FFA_MEM_RECLAIM succeeds.
//
// No table here: the hyp's retrieved flag is the one record of which blocks the secure VM
// holds, kept under the hyp's locks, so a second vCPU taking the same handle, or releasing
// one twice, is refused by the same book that makes RECLAIM answer DENIED.
#include "protmem.h"

namespace hyp::svm {
namespace {

Message refuse(int64_t status) {
  return Message{{uint64_t(status), 0, 0, 0, 0}};
}

Message ok(uint64_t d1 = 0, uint64_t d2 = 0, uint64_t d3 = 0, uint64_t d4 = 0) {
  return Message{{uint64_t(int64_t(HYPHEAP_SVM_OK)), d1, d2, d3, d4}};
}

// The use cases whose heaps lend to this VM (the trusted UI's heap lends to another VM).
bool serves(uint64_t use_case) {
  return use_case == HYPHEAP_PROTMEM_USE_SECURE_VIDEO ||
         use_case == HYPHEAP_PROTMEM_USE_SECURE_VIDEO_RECORD;
}

// What the hyp's answer to RETRIEVE (taking) or RELINQUISH means to the host: NOT_MAPPED is
// a handle that is no live lend to this VM, STATE one already in the state asked for.
int64_t from_mark_status(int64_t hyp_status, bool take) {
  switch (hyp_status) {
    case HYPHEAP_OK:
      return HYPHEAP_SVM_OK;
    case HYPHEAP_ERR_NOT_MAPPED:
      return HYPHEAP_SVM_ERR_PROTMEM_NOT_LENT;
    case HYPHEAP_ERR_STATE:
      return take ? HYPHEAP_SVM_ERR_PROTMEM_TAKEN : HYPHEAP_SVM_ERR_PROTMEM_NOT_HELD;
    default:
      return HYPHEAP_SVM_ERR_PROTMEM_HYP;
  }
}

Message config(const Message& req) {
  if ((req.data[2] | req.data[3] | req.data[4]) != 0)
    return refuse(HYPHEAP_SVM_ERR_ARGS_RESERVED);
  if (!serves(req.data[1]))
    return refuse(HYPHEAP_SVM_ERR_PROTMEM_USE_CASE);
  const uint64_t receiver = uint64_t{HYPHEAP_FFA_ID_SVM} | uint64_t{HYPHEAP_PROTMEM_PERM_RW} << 16;
  return ok(HYPHEAP_PROTMEM_MIN_SIZE, HYPHEAP_PROTMEM_ALIGN, 1, receiver);
}

Message assign(Env& env, const Message& req) {
  if ((req.data[3] | req.data[4]) != 0)
    return refuse(HYPHEAP_SVM_ERR_ARGS_RESERVED);
  if (!serves(req.data[2]))
    return refuse(HYPHEAP_SVM_ERR_PROTMEM_USE_CASE);
  const int64_t s = from_mark_status(env.ffa_retrieve(req.data[1]), true);
  return s == HYPHEAP_SVM_OK ? ok() : refuse(s);
}

Message release(Env& env, const Message& req) {
  if ((req.data[2] | req.data[3] | req.data[4]) != 0)
    return refuse(HYPHEAP_SVM_ERR_ARGS_RESERVED);
  const int64_t s = from_mark_status(env.ffa_relinquish(req.data[1]), false);
  return s == HYPHEAP_SVM_OK ? ok() : refuse(s);
}

}  // namespace

bool is_protmem_op(uint64_t op) {
  return op == HYPHEAP_SVM_OP_PROTMEM_CONFIG || op == HYPHEAP_SVM_OP_PROTMEM_ASSIGN ||
         op == HYPHEAP_SVM_OP_PROTMEM_RELEASE;
}

Message protmem_dispatch(Env& env, const Message& req) {
  switch (req.data[0]) {
    case HYPHEAP_SVM_OP_PROTMEM_CONFIG:
      return config(req);
    case HYPHEAP_SVM_OP_PROTMEM_ASSIGN:
      return assign(env, req);
    case HYPHEAP_SVM_OP_PROTMEM_RELEASE:
      return release(env, req);
    default:
      return refuse(HYPHEAP_SVM_ERR_NOT_SUPPORTED);
  }
}

}  // namespace hyp::svm

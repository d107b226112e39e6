// The secure VM's protected-memory services (include/hypheap/abi.h, "Protected memory"):
// PROTMEM_CONFIG, PROTMEM_ASSIGN and PROTMEM_RELEASE, registers only.
#pragma once

#include <cstdint>

#include "services.h"

namespace hyp::svm {

bool is_protmem_op(uint64_t op);

// Validates `req` in full (every refusal has its HYPHEAP_SVM_ERR_*), then answers it. Keeps
// no state of its own: whether the secure VM holds a block is the hyp's record of the lend.
Message protmem_dispatch(Env& env, const Message& req);

}  // namespace hyp::svm

// Bring-up only, until hyp/svm/services.cc (hypheap_svm_services) is in the tree: INFO and FAULT,
// nothing else. The CMakeLists links the real services whenever their library exists.
#include <hypheap/abi.h>

#include "svm/services.h"

namespace hyp::svm {

Message dispatch(Env& env, const Config& config, const Message& req) {
  if (req.data[0] == HYPHEAP_SVM_OP_FAULT && config.fault_op) {
    env.fault();
  }
  if (req.data[0] == HYPHEAP_SVM_OP_INFO) {
    return {{HYPHEAP_SVM_OK, HYPHEAP_SVM_VERSION, config.nr_vcpus,
             config.fault_op ? HYPHEAP_SVM_F_FAULT : 0u, 0}};
  }
  return {{static_cast<uint64_t>(int64_t{HYPHEAP_SVM_ERR_NOT_SUPPORTED}), 0, 0, 0, 0}};
}

}  // namespace hyp::svm

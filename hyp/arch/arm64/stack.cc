#include "stack.h"

namespace hyp::arm64 {

namespace {
StackLayout g_stacks;
}

bool StackLayout::in_guard(uint64_t addr, size_t* cpu) const {
  if (addr < base_ || addr - base_ >= size_for(cpus_)) {
    return false;
  }
  const uint64_t offset = addr - base_;
  if (offset % kSlotSize >= kGuardSize) {
    return false;
  }
  *cpu = offset / kSlotSize;
  return true;
}

const StackLayout& stack_layout() {
  return g_stacks;
}

void set_stack_layout(const StackLayout& layout) {
  g_stacks = layout;
}

}  // namespace hyp::arm64

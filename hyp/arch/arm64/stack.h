// The per-CPU EL2 stacks and what catches their overflow. Each CPU's stack sits in its own
// slot of the hyp carve-out with a guard page below it that the EL2 stage-1 leaves
// unmapped, so running off the bottom of a stack takes a translation fault at EL2 instead
// of silently writing the slot below (another CPU's stack, or the PerCpu array).
//
// The exception that fault raises cannot use the stack that caused it, so every exception
// taken from EL2 itself (always fatal) switches to a small emergency stack inside the CPU's
// PerCpu (vectors.S), found through TPIDR_EL2 without touching memory first.
#pragma once

#include "platform_config.h"

#define HYP_STACK_GUARD_SIZE 0x1000
#define HYP_EMERGENCY_STACK_SIZE 0x1000
// The emergency stack is the first member of PerCpu: its top is TPIDR_EL2 + this.
#define PERCPU_EMERGENCY_STACK_TOP HYP_EMERGENCY_STACK_SIZE
// Offset in the frame vectors.S saves of the SP the fatal exception interrupted.
#define FATAL_FRAME_SP 248

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

#include "../../boot/range.h"

namespace hyp::arm64 {

static_assert(HYP_STACK_SIZE % HYP_STACK_GUARD_SIZE == 0, "stacks are whole pages");

// kMaxCpus slots of [guard page][stack], from `base` up.
class StackLayout {
 public:
  static constexpr uint64_t kGuardSize = HYP_STACK_GUARD_SIZE;
  static constexpr uint64_t kSlotSize = HYP_STACK_GUARD_SIZE + HYP_STACK_SIZE;

  constexpr StackLayout() = default;
  constexpr StackLayout(uint64_t base, size_t cpus) : base_(base), cpus_(cpus) {}

  static constexpr uint64_t size_for(size_t cpus) { return kSlotSize * cpus; }
  MemRange region() const { return boot::make_range(base_, size_for(cpus_)); }
  size_t cpus() const { return cpus_; }
  MemRange guard(size_t cpu) const { return boot::make_range(base_ + cpu * kSlotSize, kGuardSize); }
  uint64_t top(size_t cpu) const { return base_ + (cpu + 1) * kSlotSize; }

  // True if addr lies in some CPU's guard page; *cpu is that CPU.
  bool in_guard(uint64_t addr, size_t* cpu) const;

 private:
  uint64_t base_ = 0;
  size_t cpus_ = 0;
};

// Calls fn on a fresh stack (entry.S); fn must not return.
extern "C" [[noreturn]] void hyp_run_on_stack(void (*fn)(), uint64_t stack_top);

// The layout boot set up, for the fatal path (empty before).
const StackLayout& stack_layout();
void set_stack_layout(const StackLayout& layout);

}  // namespace hyp::arm64
#endif

// The pure part of hyp/arch/arm64/inject.cc: which EL1 vector an injected exception enters.
#include "inject.h"

#include <gtest/gtest.h>

namespace hyp::arm64 {
namespace {

// SPSR_EL2.M as the CPU writes it (Arm ARM C5.2.19): M[4] set for an AArch32 context, whose
// M[3:0] is then the AArch32 mode (usr = 0b0000 is the only one EL0 has).
constexpr uint64_t kEl0t = 0x0, kEl1t = 0x4, kEl1h = 0x5;
constexpr uint64_t kAArch32Usr = 0x10;
constexpr uint64_t kDaif = 0x3c0, kNzcv = 0xfull << 28;

TEST(InjectVectorTest, AArch64El0EntersTheLowerElAArch64Vector) {
  EXPECT_EQ(el1_vector_offset(kEl0t), 0x400u);
  EXPECT_EQ(el1_vector_offset(kEl0t | kDaif | kNzcv), 0x400u);
  EXPECT_TRUE(spsr_is_el0(kEl0t));
}

TEST(InjectVectorTest, El1EntersTheCurrentElVectorOfItsStackPointer) {
  EXPECT_EQ(el1_vector_offset(kEl1t), 0x000u);
  EXPECT_EQ(el1_vector_offset(kEl1h | kDaif), 0x200u);
  EXPECT_FALSE(spsr_is_el0(kEl1h));
  EXPECT_FALSE(spsr_is_el0(kEl1t));
}

// Found by the security review: M[4] was ignored, so an abort injected into a 32-bit task
// entered Linux's 64-bit EL0 vector (0x400) and was handled as a 64-bit task's.
TEST(InjectVectorTest, AArch32El0EntersTheLowerElAArch32Vector) {
  EXPECT_EQ(el1_vector_offset(kAArch32Usr), 0x600u);
  EXPECT_EQ(el1_vector_offset(kAArch32Usr | kDaif | kNzcv | (1u << 5)), 0x600u);  // T32
  EXPECT_TRUE(spsr_is_el0(kAArch32Usr));
}

// HCR_EL2.RW makes EL1 AArch64, so any AArch32 context is EL0 whatever M[3:0] claims.
TEST(InjectVectorTest, AnyAArch32ContextIsEl0) {
  for (uint64_t mode = 0x10; mode <= 0x1f; mode++) {
    EXPECT_EQ(el1_vector_offset(mode), 0x600u) << std::hex << mode;
    EXPECT_TRUE(spsr_is_el0(mode)) << std::hex << mode;
  }
}

}  // namespace
}  // namespace hyp::arm64

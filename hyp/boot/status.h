// Result of a boot step. Boot code cannot recover from most failures, but it
// must say which step failed, so every step returns one of these.
#pragma once

namespace hyp::boot {

enum class [[nodiscard]] BootStatus{
    kOk,
    kBadDtb,        // the DTB is malformed or lacks a node the hyp needs
    kNoSpace,       // a fixed-size table or buffer is too small
    kOverlap,       // a carve-out would overlap something already in RAM
    kOutOfRange,    // an address is outside what the hyp can map
    kNoHostKernel,  // no arm64 Image header at the host kernel address
    kBadPolicy,     // the platform file's sizes or alignments are inconsistent
};

const char* status_name(BootStatus status);

}  // namespace hyp::boot

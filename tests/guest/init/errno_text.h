// Errors as the guest's result markers print them: "ENOENT (No such file or
// directory)", so a log reader sees the errno name without a lookup table.
#pragma once

#include <string>

namespace hypheap::guest {

std::string ErrnoText(int error);

}  // namespace hypheap::guest

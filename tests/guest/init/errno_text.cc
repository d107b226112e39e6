#include "errno_text.h"

#include <string.h>

namespace hypheap::guest {

std::string ErrnoText(int error) {
  const char* name = strerrorname_np(error);
  std::string text = name != nullptr ? name : "E" + std::to_string(error);
  text += " (";
  text += strerror(error);
  text += ")";
  return text;
}

}  // namespace hypheap::guest

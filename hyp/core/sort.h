// In-place heapsort: O(n log n) worst case, no allocation, no recursion (EL2 stack is small).
#pragma once

#include <cstddef>
#include <span>

namespace hyp {

template <typename T, typename Less>
void heap_sort(std::span<T> items, Less less) {
  auto sift_down = [&](size_t root, size_t end) {
    while (2 * root + 1 < end) {
      size_t child = 2 * root + 1;
      if (child + 1 < end && less(items[child], items[child + 1]))
        child++;
      if (!less(items[root], items[child]))
        return;
      T tmp = items[root];
      items[root] = items[child];
      items[child] = tmp;
      root = child;
    }
  };
  const size_t n = items.size();
  for (size_t i = n / 2; i > 0; i--)
    sift_down(i - 1, n);
  for (size_t end = n; end > 1; end--) {
    T tmp = items[0];
    items[0] = items[end - 1];
    items[end - 1] = tmp;
    sift_down(0, end - 1);
  }
}

}  // namespace hyp

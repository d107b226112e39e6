// The C string and memory functions a freestanding image must provide: the
// compiler emits calls to memcpy/memset/memmove/memcmp on its own, and libfdt
// calls the rest. Built with -fno-tree-loop-distribute-patterns so these loops
// are never turned back into calls to themselves.
#include <stddef.h>
#include <stdint.h>

extern "C" {

void* memcpy(void* __restrict dst, const void* __restrict src, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  while (n--) {
    *d++ = *s++;
  }
  return dst;
}

void* memmove(void* dst, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  if (d == s || n == 0) {
    return dst;
  }
  if (d < s || d >= s + n) {
    while (n--) {
      *d++ = *s++;
    }
  } else {
    // Overlap with the destination above the source: copy backwards.
    d += n;
    s += n;
    while (n--) {
      *--d = *--s;
    }
  }
  return dst;
}

// Eight bytes a store between an unaligned head and tail: a table page or a secure-VM buffer
// is cleared with 512 stores a page, not 4096. Every store is naturally aligned, so it is
// also right where memory is Device (the MMU still off).
void* memset(void* dst, int c, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto byte = static_cast<unsigned char>(c);
  for (; n != 0 && reinterpret_cast<uintptr_t>(d) % sizeof(uint64_t) != 0; n--)
    *d++ = byte;
  const uint64_t word = uint64_t{byte} * 0x0101010101010101ULL;
  for (; n >= sizeof(uint64_t); n -= sizeof(uint64_t), d += sizeof(uint64_t))
    *reinterpret_cast<uint64_t*>(d) = word;
  for (; n != 0; n--)
    *d++ = byte;
  return dst;
}

int memcmp(const void* a, const void* b, size_t n) {
  const auto* x = static_cast<const unsigned char*>(a);
  const auto* y = static_cast<const unsigned char*>(b);
  for (; n; --n, ++x, ++y) {
    if (*x != *y) {
      return *x < *y ? -1 : 1;
    }
  }
  return 0;
}

void* memchr(const void* s, int c, size_t n) {
  const auto* p = static_cast<const unsigned char*>(s);
  for (; n; --n, ++p) {
    if (*p == static_cast<unsigned char>(c)) {
      return const_cast<unsigned char*>(p);
    }
  }
  return nullptr;
}

size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n]) {
    ++n;
  }
  return n;
}

size_t strnlen(const char* s, size_t max) {
  size_t n = 0;
  while (n < max && s[n]) {
    ++n;
  }
  return n;
}

int strcmp(const char* a, const char* b) {
  while (*a && *a == *b) {
    ++a;
    ++b;
  }
  return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}

char* strrchr(const char* s, int c) {
  const char* last = nullptr;
  for (;; ++s) {
    if (*s == static_cast<char>(c)) {
      last = s;
    }
    if (!*s) {
      return const_cast<char*>(last);
    }
  }
}

}  // extern "C"

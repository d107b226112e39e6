// libfdt's environment header for the freestanding hyp. Force-included
// (-include) before libfdt's sources and headers so the kernel tree's own
// libfdt_env.h, which pulls in a hosted libc's <stdlib.h> and <string.h>, is
// skipped by its include guard. This is how the kernel's EFI stub builds
// libfdt too (include/linux/libfdt_env.h).
#ifndef LIBFDT_ENV_H
#define LIBFDT_ENV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void* memcpy(void* dst, const void* src, size_t n);
void* memmove(void* dst, const void* src, size_t n);
void* memset(void* dst, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
void* memchr(const void* s, int c, size_t n);
size_t strlen(const char* s);
size_t strnlen(const char* s, size_t max);
int strcmp(const char* a, const char* b);
char* strrchr(const char* s, int c);

#ifdef __cplusplus
}
#endif

// The FDT is big-endian; the hyp runs little-endian (SCTLR_EL2.EE == 0).
typedef uint16_t fdt16_t;
typedef uint32_t fdt32_t;
typedef uint64_t fdt64_t;

static inline uint16_t fdt16_to_cpu(fdt16_t x) {
  return __builtin_bswap16(x);
}
static inline fdt16_t cpu_to_fdt16(uint16_t x) {
  return __builtin_bswap16(x);
}
static inline uint32_t fdt32_to_cpu(fdt32_t x) {
  return __builtin_bswap32(x);
}
static inline fdt32_t cpu_to_fdt32(uint32_t x) {
  return __builtin_bswap32(x);
}
static inline uint64_t fdt64_to_cpu(fdt64_t x) {
  return __builtin_bswap64(x);
}
static inline fdt64_t cpu_to_fdt64(uint64_t x) {
  return __builtin_bswap64(x);
}

#endif  // LIBFDT_ENV_H

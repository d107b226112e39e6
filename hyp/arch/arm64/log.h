// The hyp's console: every line starts with "[hyp] " so it stands apart from
// the host's output on the shared UART (the launcher greps these markers).
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

namespace hyp::arm64 {

void console_init(uint64_t pl011_base);
// Called once the EL2 MMU is on: from then on lines are serialised with a
// lock (exclusives need Normal memory, so not before).
void console_enable_locking();

// printf subset: %s %c %d %i %u %x %p %%, flags '0' and '-', a width, and the
// l/ll/z length modifiers. One call prints one whole line atomically.
void log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void vlog(const char* prefix, const char* fmt, va_list args);

// Formats into buf (always NUL-terminated); returns the length written.
size_t vformat(char* buf, size_t size, const char* fmt, va_list args);

}  // namespace hyp::arm64

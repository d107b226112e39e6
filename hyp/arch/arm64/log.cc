#include "log.h"

#include "pl011.h"
#include "spinlock.h"

namespace hyp::arm64 {

namespace {

Pl011 g_uart;
SpinLock g_console_lock;
bool g_console_locking = false;

class Writer {
 public:
  Writer(char* buf, size_t size) : buf_(buf), size_(size) {}
  void put(char c) {
    if (len_ + 1 < size_) {
      buf_[len_++] = c;
    }
  }
  size_t finish() {
    buf_[len_] = '\0';
    return len_;
  }

 private:
  char* buf_;
  size_t size_;
  size_t len_ = 0;
};

struct Spec {
  bool zero_pad = false;
  bool left = false;
  int width = 0;
};

void put_padded(Writer& w, const char* s, size_t n, const Spec& spec) {
  const size_t pad = spec.width > static_cast<int>(n) ? spec.width - n : 0;
  if (!spec.left) {
    for (size_t i = 0; i < pad; ++i) {
      w.put(spec.zero_pad ? '0' : ' ');
    }
  }
  for (size_t i = 0; i < n; ++i) {
    w.put(s[i]);
  }
  if (spec.left) {
    for (size_t i = 0; i < pad; ++i) {
      w.put(' ');
    }
  }
}

void put_unsigned(Writer& w, uint64_t v, unsigned base, const Spec& spec) {
  char digits[24];
  size_t n = 0;
  do {
    digits[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  char out[24];
  for (size_t i = 0; i < n; ++i) {
    out[i] = digits[n - 1 - i];
  }
  put_padded(w, out, n, spec);
}

void put_signed(Writer& w, int64_t v, const Spec& spec) {
  if (v >= 0) {
    put_unsigned(w, static_cast<uint64_t>(v), 10, spec);
    return;
  }
  w.put('-');
  Spec rest = spec;
  rest.width = spec.width > 0 ? spec.width - 1 : 0;
  put_unsigned(w, 0 - static_cast<uint64_t>(v), 10, rest);
}

}  // namespace

void console_init(uint64_t pl011_base) {
  g_uart = Pl011(pl011_base);
}

void console_enable_locking() {
  g_console_locking = true;
}

size_t vformat(char* buf, size_t size, const char* fmt, va_list args) {
  Writer w(buf, size);
  for (const char* p = fmt; *p; ++p) {
    if (*p != '%') {
      w.put(*p);
      continue;
    }
    Spec spec;
    ++p;
    for (; *p == '0' || *p == '-'; ++p) {
      (*p == '0' ? spec.zero_pad : spec.left) = true;
    }
    for (; *p >= '0' && *p <= '9'; ++p) {
      spec.width = spec.width * 10 + (*p - '0');
    }
    int longs = 0;
    for (; *p == 'l' || *p == 'z'; ++p) {
      longs = *p == 'z' ? 2 : longs + 1;
    }
    switch (*p) {
      case 'd':
      case 'i':
        put_signed(w, longs ? va_arg(args, int64_t) : va_arg(args, int), spec);
        break;
      case 'u':
        put_unsigned(w, longs ? va_arg(args, uint64_t) : va_arg(args, unsigned), 10, spec);
        break;
      case 'x':
        put_unsigned(w, longs ? va_arg(args, uint64_t) : va_arg(args, unsigned), 16, spec);
        break;
      case 'p':
        w.put('0');
        w.put('x');
        put_unsigned(w, reinterpret_cast<uintptr_t>(va_arg(args, void*)), 16, spec);
        break;
      case 'c':
        w.put(static_cast<char>(va_arg(args, int)));
        break;
      case 's': {
        const char* s = va_arg(args, const char*);
        s = s ? s : "(null)";
        size_t n = 0;
        while (s[n]) {
          ++n;
        }
        put_padded(w, s, n, spec);
        break;
      }
      case '%':
        w.put('%');
        break;
      default:
        // Unknown conversion: show it rather than guess at va_arg types.
        w.put('%');
        if (*p) {
          w.put(*p);
        } else {
          --p;
        }
        break;
    }
  }
  return w.finish();
}

void vlog(const char* prefix, const char* fmt, va_list args) {
  char line[256];
  size_t n = vformat(line, sizeof(line), fmt, args);
  while (n && line[n - 1] == '\n') {
    line[--n] = '\0';
  }
  if (!g_uart.present()) {
    return;
  }
  if (g_console_locking) {
    g_console_lock.lock();
  }
  for (const char* s = prefix; *s; ++s) {
    g_uart.put(*s);
  }
  for (size_t i = 0; i < n; ++i) {
    if (line[i] == '\n') {
      g_uart.put('\r');
    }
    g_uart.put(line[i]);
  }
  g_uart.put('\r');
  g_uart.put('\n');
  if (g_console_locking) {
    g_console_lock.unlock();
  }
}

void log(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vlog("[hyp] ", fmt, args);
  va_end(args);
}

}  // namespace hyp::arm64

/*
 * dmabuf-heap-case: one check of the kernel's dmabuf-heaps selftest on one
 * named heap.
 *
 *   dmabuf-heap-case --list           the case names, one a line
 *   dmabuf-heap-case <case> <heap>    run it; exit 0 when the selftest's own
 *                                     function returned 0, else 1
 *
 * The 6.1 selftest's main() stops at the first check that fails, and on a
 * protected heap the very first one fails by design (no CPU mmap), so the
 * checks that never map a buffer would go unrun. This translation unit
 * compiles the selftest source unchanged from the kernel tree (the include
 * path points there) and calls its static test functions one at a time; every
 * line printed is the selftest's own.
 */
#define main dmabuf_heap_selftest_main
#include "dmabuf-heap.c"
#undef main

struct selftest_case {
  const char* name;
  int (*run)(char* heap_name);
};

static int run_zeroed_4k(char* heap_name) {
  return test_alloc_zeroed(heap_name, 4 * 1024);
}

static int run_zeroed_1m(char* heap_name) {
  return test_alloc_zeroed(heap_name, ONE_MEG);
}

/* The selftest's main() calls exactly these, in this order. */
static const struct selftest_case selftest_cases[] = {
    {"alloc-import", test_alloc_and_import}, {"zeroed-4k", run_zeroed_4k},
    {"zeroed-1024k", run_zeroed_1m},         {"compat", test_alloc_compat},
    {"errors", test_alloc_errors},
};

#define NR_SELFTEST_CASES (sizeof(selftest_cases) / sizeof(selftest_cases[0]))

static const struct selftest_case* find_case(const char* name) {
  size_t i;

  for (i = 0; i < NR_SELFTEST_CASES; i++)
    if (!strcmp(selftest_cases[i].name, name))
      return &selftest_cases[i];
  return NULL;
}

int main(int argc, char** argv) {
  const struct selftest_case* c;
  size_t i;

  /* Unbuffered, so a crash mid-check still shows how far the check got. */
  setvbuf(stdout, NULL, _IONBF, 0);

  if (argc == 2 && !strcmp(argv[1], "--list")) {
    for (i = 0; i < NR_SELFTEST_CASES; i++)
      printf("%s\n", selftest_cases[i].name);
    return 0;
  }
  if (argc != 3) {
    fprintf(stderr, "usage: %s --list | <case> <heap>\n", argv[0]);
    return 2;
  }
  c = find_case(argv[1]);
  if (!c) {
    fprintf(stderr, "%s: no case %s (see --list)\n", argv[0], argv[1]);
    return 2;
  }
  return c->run(argv[2]) ? 1 : 0;
}

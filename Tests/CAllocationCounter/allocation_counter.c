// The executable's own malloc family takes precedence over libc's for every library in the process
// (ELF symbol interposition), so defining them here and forwarding to glibc's exported __libc_*
// entry points sees every allocation the Swift runtime, Foundation and our code make.
#include "allocation_counter.h"
#include <stdatomic.h>
#include <stddef.h>

#if defined(__GLIBC__)
#include <errno.h>
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static atomic_int counting;
static atomic_long count;

static inline void note(void) {
  if (atomic_load_explicit(&counting, memory_order_relaxed)) atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
}

void *malloc(size_t n) {
  note();
  return __libc_malloc(n);
}
void *calloc(size_t k, size_t n) {
  note();
  return __libc_calloc(k, n);
}
void *realloc(void *p, size_t n) {
  note();
  return __libc_realloc(p, n);
}
void *memalign(size_t alignment, size_t n) {
  note();
  return __libc_memalign(alignment, n);
}
void *aligned_alloc(size_t alignment, size_t n) {
  note();
  return __libc_memalign(alignment, n);
}
int posix_memalign(void **out, size_t alignment, size_t n) {
  note();
  if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
  void *p = __libc_memalign(alignment, n);
  if (p == NULL) return ENOMEM;
  *out = p;
  return 0;
}

int allocation_counter_supported(void) { return 1; }
void allocation_counter_start(void) {
  atomic_store(&count, 0);
  atomic_store(&counting, 1);
}
long allocation_counter_stop(void) {
  atomic_store(&counting, 0);
  return atomic_load(&count);
}
#else
int allocation_counter_supported(void) { return 0; }
void allocation_counter_start(void) {}
long allocation_counter_stop(void) { return 0; }
#endif

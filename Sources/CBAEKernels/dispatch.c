// Which implementation runs: CPU features read once from CPUID, an optional forced path (tests,
// benchmarks) and the BAE_KERNEL_PATH environment variable, plus the names reported by benchmarks.
#include "kernels_internal.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if BAE_X86
#include <cpuid.h>
#endif

static int supported[BAE_PATH_AVX512 + 1];
static int env_path = BAE_PATH_AUTO, env_status = 0;
static int forced = BAE_PATH_AUTO;  // read and written atomically: tests set it between calls
static char cpu_model[49] = "unknown";
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const char *const names[] = {"auto", "portable", "popcnt", "avx2", "avx512-vpopcntdq"};

static void read_cpu_model(void) {
#if BAE_X86
  unsigned int r[12];
  if (__get_cpuid_max(0x80000000u, 0) < 0x80000004u) return;
  for (unsigned int i = 0; i < 3; i++) __get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
  char raw[49];
  memcpy(raw, r, 48);
  raw[48] = 0;
  // vendors pad the 48 bytes with leading or trailing spaces
  char *s = raw;
  while (*s == ' ') s++;
  size_t len = strlen(s);
  while (len > 0 && s[len - 1] == ' ') s[--len] = 0;
  if (len > 0) memcpy(cpu_model, s, len + 1);
#endif
}

static void init(void) {
  supported[BAE_PATH_AUTO] = supported[BAE_PATH_PORTABLE] = 1;
#if BAE_X86
  __builtin_cpu_init();
  supported[BAE_PATH_POPCNT] = __builtin_cpu_supports("popcnt");
  supported[BAE_PATH_AVX2] = supported[BAE_PATH_POPCNT] && __builtin_cpu_supports("avx2");
  supported[BAE_PATH_AVX512] = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                               __builtin_cpu_supports("avx512vpopcntdq");
#endif
  read_cpu_model();
  const char *e = getenv("BAE_KERNEL_PATH");
  if (e == NULL || *e == 0 || strcmp(e, "auto") == 0) return;
  env_status = -1;
  for (int p = BAE_PATH_PORTABLE; p <= BAE_PATH_AVX512; p++) {
    if (strcmp(e, names[p]) == 0 || (p == BAE_PATH_AVX512 && strcmp(e, "avx512") == 0)) {
      env_status = supported[p] ? 1 : -2;
      if (supported[p]) env_path = p;
    }
  }
}

int bae_kernels_path_supported(int path) {
  pthread_once(&once, init);
  return path >= BAE_PATH_AUTO && path <= BAE_PATH_AVX512 && supported[path];
}

int bae_kernels_force_path(int path) {
  if (!bae_kernels_path_supported(path)) return -1;
  __atomic_store_n(&forced, path, __ATOMIC_RELAXED);
  return 0;
}

int bae_selected_path(void) {
  pthread_once(&once, init);
  int f = __atomic_load_n(&forced, __ATOMIC_RELAXED);
  if (f != BAE_PATH_AUTO) return f;
  if (env_path != BAE_PATH_AUTO) return env_path;
  for (int p = BAE_PATH_AVX512; p > BAE_PATH_PORTABLE; p--)
    if (supported[p]) return p;
  return BAE_PATH_PORTABLE;
}

int bae_kernels_selected_path(void) { return bae_selected_path(); }

int bae_kernels_path_of(int kernel) {
  int p = bae_selected_path();
  switch (kernel) {
  case BAE_KERNEL_BINARIZE:
  case BAE_KERNEL_TRANSPOSE: return p >= BAE_PATH_AVX2 ? BAE_PATH_AVX2 : BAE_PATH_PORTABLE;
  case BAE_KERNEL_COVARIANCE:
  case BAE_KERNEL_PRODUCT: return p;
  case BAE_KERNEL_LUT: return bae_lut_path();
  default: return BAE_PATH_AUTO;
  }
}

const char *bae_kernels_path_name(int path) {
  return path >= BAE_PATH_AUTO && path <= BAE_PATH_AVX512 ? names[path] : "unknown";
}

int bae_kernels_env_status(void) {
  pthread_once(&once, init);
  return env_status;
}

const char *bae_kernels_cpu_model(void) {
  pthread_once(&once, init);
  return cpu_model;
}

int bae_kernels_have_avx512_popcnt(void) { return bae_selected_path() == BAE_PATH_AVX512; }

void bae_kernels_force_portable(int on) {
  int p = on == 1 ? BAE_PATH_PORTABLE : on == 2 && bae_kernels_path_supported(BAE_PATH_POPCNT) ? BAE_PATH_POPCNT
                                                                                                : BAE_PATH_AUTO;
  __atomic_store_n(&forced, p, __ATOMIC_RELAXED);
}

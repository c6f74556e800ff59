// Microbenchmark of the bit kernels (Sources/CBAEKernels) per ISA path and thread count, beside the
// dense float formulation of the covariance term (two OpenBLAS sgemm calls). Built and run by
// scripts/bench_kernels.sh; not part of the package.
//   bench_kernels [reps] [n] [m...]           table of medians (ms) per path and thread count
//   bench_kernels forms n m reps [CODES]      the two AVX2 H·S forms, interleaved (min and median), on
//                                             synthetic codes or on CODES: int64 n, m, wpr, then the
//                                             n * wpr code words (a step's own codes: Benchmarks.md)
//   bench_kernels once PATH KERNEL n m [CODES] one call of one kernel (for valgrind --tool=callgrind);
//                                             PATH as in bae_kernels.h, 5 = avx2 with the table H·S form,
//                                             6 = avx2 with the popcount H·S form
//   bench_kernels signs n m reps [CODES]      the step's "pair signs" (transpose, plane zeroing where the
//                                             kernel needs it, pair kernel) on the selected path at T = 1
//                                             and 2: median process CPU and wall ms, and a plane checksum
//   bench_kernels phases n d m T reps         the step's float phases (phases.c) at T threads: median
//                                             wall and CPU ms each, and a checksum equal for every T
#include "bench_common.h"
#include "kernels_internal.h"
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern void openblas_set_num_threads(int);

typedef struct {
  int64_t n, m, wpr, wpc;
  float *z0, *z, *out, *hc, *c;
  uint64_t *rows, *cols, *spos, *sneg;
  int64_t *counts;
} problem;

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static double uniform(void) {  // SplitMix64
  uint64_t x = (rng += 0x9E3779B97F4A7C15ULL);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return (double)((x ^ (x >> 31)) >> 11) / 9007199254740992.0;
}

static void *zalloc(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) { fprintf(stderr, "out of memory\n"); exit(1); }
  memset(p, 0, bytes);
  return p;
}

// Codes with density 0.3 per bit, each column with its own slight bias so covariances vary in sign.
static problem make_problem(int64_t n, int64_t m) {
  problem p = {.n = n, .m = m, .wpr = bae_row_words(m), .wpc = (n + 63) / 64};
  p.z0 = zalloc((size_t)(n * m) * 4);
  p.z = zalloc((size_t)(n * m) * 4);
  p.out = zalloc((size_t)(n * m) * 4);
  p.rows = zalloc((size_t)(n * p.wpr) * 8);
  p.cols = zalloc((size_t)(m * p.wpc) * 8);
  p.spos = zalloc((size_t)(m * p.wpr) * 8);
  p.sneg = zalloc((size_t)(m * p.wpr) * 8);
  p.counts = zalloc((size_t)m * 8);
  for (int64_t i = 0; i < n * m; i++) p.z0[i] = (float)(uniform() - 0.7 + 0.05 * (double)((i % m) % 5) / 5.0);
  memcpy(p.z, p.z0, (size_t)(n * m) * 4);
  bae_binarize_inplace(p.z, n, m, m, p.rows, p.wpr, p.counts);
  bae_transpose_bits(p.rows, n, m, p.wpr, p.cols, p.wpc);
  return p;
}

// Replaces p's codes by those in `path` (int64 n, m, wpr, then n * wpr words), with their counts and columns.
static void load_codes(problem *p, const char *path) {
  FILE *f = fopen(path, "rb");
  int64_t h[3];
  if (!f || fread(h, 8, 3, f) != 3 || h[0] != p->n || h[1] != p->m || h[2] != p->wpr ||
      fread(p->rows, 8, (size_t)(p->n * p->wpr), f) != (size_t)(p->n * p->wpr)) {
    fprintf(stderr, "%s: not a code dump of n = %lld, m = %lld, wpr = %lld\n", path, (long long)p->n, (long long)p->m,
            (long long)p->wpr);
    exit(2);
  }
  fclose(f);
  for (int64_t j = 0; j < p->m; j++) p->counts[j] = 0;
  for (int64_t i = 0; i < p->n; i++)
    for (int64_t j = 0; j < p->m; j++) p->counts[j] += (int64_t)((p->rows[i * p->wpr + j / 64] >> (j % 64)) & 1);
  bae_transpose_bits(p->rows, p->n, p->m, p->wpr, p->cols, p->wpc);
}

static double now(void) { return bench_seconds(CLOCK_MONOTONIC); }

enum { K_BINARIZE, K_TRANSPOSE, K_PAIRS, K_PRODUCT, K_COUNT, K_SIGNS = K_COUNT };
static const char *const kernel_names[] = {"binarize", "transpose", "pairs", "product", "signs"};

// What `bae bench step` times as "pair signs": the transpose, zeroing the planes when the kernel only ORs
// into them (before BAE_COVARIANCE_OVERWRITES), and the pair kernel over every tile. Not inlined, so that
// callgrind --toggle-collect=step_pair_signs counts exactly this.
__attribute__((noinline)) int64_t step_pair_signs(problem *p, int threads) {
  int64_t m = p->m, n = p->n, B = (m + 63) / 64;
  bae_transpose_bits_mt(p->rows, n, m, p->wpr, p->cols, p->wpc, threads);
#ifndef BAE_COVARIANCE_OVERWRITES
  memset(p->spos, 0, (size_t)(m * p->wpr) * 8);
  memset(p->sneg, 0, (size_t)(m * p->wpr) * 8);
#endif
  return bae_covariance_signs_mt(p->cols, m, p->wpc, p->counts, n, 0, B * (B + 1) / 2, p->spos, p->sneg, p->wpr,
                                 threads);
}

static int64_t run(problem *p, int kernel, int threads) {
  int64_t m = p->m, n = p->n, B = (m + 63) / 64;
  switch (kernel) {
  case K_BINARIZE:
    memcpy(p->z, p->z0, (size_t)(n * m) * 4);  // binarising is in place: restart from the same z
    memset(p->counts, 0, (size_t)m * 8);
    bae_binarize_inplace_mt(p->z, n, m, m, p->rows, p->wpr, p->counts, threads);
    return 0;
  case K_TRANSPOSE: bae_transpose_bits_mt(p->rows, n, m, p->wpr, p->cols, p->wpc, threads); return 0;
  case K_PAIRS:
#ifndef BAE_COVARIANCE_OVERWRITES  // a base build from before the kernel overwrote its words
    memset(p->spos, 0, (size_t)(m * p->wpr) * 8);
    memset(p->sneg, 0, (size_t)(m * p->wpr) * 8);
#endif
    return bae_covariance_signs_mt(p->cols, m, p->wpc, p->counts, n, 0, B * (B + 1) / 2, p->spos, p->sneg,
                                   p->wpr, threads);
  default:
    bae_signed_popcount_product_mt(p->rows, n, p->spos, p->sneg, m, p->wpr, p->out, m, threads);
    return 0;
  }
}

// CPU time of the whole process (all threads): on a shared, oversubscribed machine it moves far less
// than wall time, and equal CPU time at 1 and 2 threads means the split adds no work.
static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// Median wall time (ms); *cpu gets the median process CPU time (ms).
static double median_ms(problem *p, int kernel, int threads, int reps, double *cpu) {
  double t[64], c[64];
  if (reps > 64) reps = 64;
  run(p, kernel, threads);  // warm-up (and pool start-up)
  for (int r = 0; r < reps; r++) {
    double t0 = now(), c0 = cpu_now();
    run(p, kernel, threads);
    t[r] = now() - t0;
    c[r] = cpu_now() - c0;
  }
  qsort(t, (size_t)reps, sizeof(double), bench_compare_doubles);
  qsort(c, (size_t)reps, sizeof(double), bench_compare_doubles);
  *cpu = 1e3 * c[reps / 2];
  return 1e3 * t[reps / 2];
}

// Dense float covariance term at the same shape: C = Hcᵀ·Hc (m, m) and Hc·S (n, m): 2 × 2·n·m² FLOP.
static double dense_ms(problem *p, int threads, int reps) {
  int64_t n = p->n, m = p->m;
  if (!p->hc) { p->hc = zalloc((size_t)(n * m) * 4); p->c = zalloc((size_t)(m * m) * 4); }
  for (int64_t i = 0; i < n * m; i++) p->hc[i] = p->z[i] - 0.3f;
  openblas_set_num_threads(threads);
  double t[64];
  if (reps > 64) reps = 64;
  for (int r = -1; r < reps; r++) {
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)m, (int)n, 1.0f, p->hc, (int)m, p->hc,
                (int)m, 0.0f, p->c, (int)m);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)m, 1.0f, p->hc, (int)m, p->c,
                (int)m, 0.0f, p->out, (int)m);
    if (r >= 0) t[r] = now() - t0;
  }
  qsort(t, (size_t)reps, sizeof(double), bench_compare_doubles);
  return 1e3 * t[reps / 2];  // OpenBLAS threads spin while waiting, so its CPU time says little
}

static void nothing(void *ctx, int part, int parts) { (void)ctx; (void)part; (void)parts; }
static void *nothing_thread(void *arg) { return arg; }

// Cost of one 2-part call: the pool's wake-up and wait, against creating and joining a thread per call.
static void pool_overhead(void) {
  enum { calls = 2000 };
  bae_parallel(nothing, NULL, 2);
  double t0 = now();
  for (int i = 0; i < calls; i++) bae_parallel(nothing, NULL, 2);
  double tPool = (now() - t0) / calls;
  t0 = now();
  for (int i = 0; i < calls; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, nothing_thread, NULL) == 0) pthread_join(t, NULL);
  }
  double tCreate = (now() - t0) / calls;
  printf("2-thread dispatch: pool %.1f us per call, pthread_create+join %.1f us per call\n", 1e6 * tPool,
         1e6 * tCreate);
}

static uint64_t checksum(const problem *p) {
  uint64_t h = 1469598103934665603ULL;
  for (int64_t i = 0; i < p->m * p->wpr; i++) h = (h ^ p->spos[i] ^ (p->sneg[i] << 1)) * 1099511628211ULL;
  for (int64_t i = 0; i < p->n * p->m; i++) h = (h ^ (uint64_t)(int64_t)p->out[i]) * 1099511628211ULL;
  return h;
}

// The step's float phases (phases.c) at one shape and thread count: Adam over the BAE's parameters,
// the fused ∂L/∂z pass (entropy + covariance + sign_s), moments, column sums, N·q = S·c.
static int phases(int64_t n, int64_t d, int64_t m, int threads, int reps) {
  problem p = make_problem(n, m);
  run(&p, K_PAIRS, 1);
  int64_t params = 2 * d * m + d + m;
  float *w = zalloc((size_t)params * 4), *g = zalloc((size_t)params * 4), *am = zalloc((size_t)params * 4),
        *av = zalloc((size_t)params * 4), *x = zalloc((size_t)(n * d) * 4), *xh = zalloc((size_t)(n * d) * 4),
        *gz = zalloc((size_t)(n * m) * 4), *e = zalloc((size_t)m * 4), *q = zalloc((size_t)m * 4),
        *bias = zalloc((size_t)m * 4);
  double *part = zalloc((size_t)(3 * d) * 8);
  int64_t *nq = zalloc((size_t)m * 8);
  uint64_t *digitRows = zalloc((size_t)(64 * p.wpr) * 8);
  float *digitOut = zalloc((size_t)(64 * m) * 4);
  for (int64_t i = 0; i < params; i++) g[i] = (float)(uniform() - 0.5) * 1e-3f, w[i] = (float)uniform();
  for (int64_t i = 0; i < n * d; i++) x[i] = (float)uniform(), xh[i] = (float)uniform();
  for (int64_t j = 0; j < m; j++) e[j] = (float)(uniform() * 1e-7), q[j] = (float)uniform();
  const char *names[] = {"adam", "code-gradient", "moments", "column-sums", "count-digit-N·q"};
  double wall[5][64], cpu[5][64];
  reps = reps > 64 ? 64 : reps < 1 ? 1 : reps;
  for (int r = 0; r < reps; r++)
    for (int k = 0; k < 5; k++) {
      double t0 = now(), c0 = cpu_now();
      switch (k) {
        case 0: bae_adam_update_mt(w, g, am, av, params, 0.1f, 0.999f, 0.001f, 1e-6f, 1.0f, 1e-8f, threads); break;
        case 1: memcpy(gz, p.out, (size_t)(n * m) * 4);
                bae_code_gradient_mt(gz, n, m, m, e, p.out, q, 1e-7f, 1, threads); break;
        case 2: bae_column_moments_mt(x, xh, n, d, part, part + d, part + 2 * d, threads); break;
        case 3: bae_column_sums_mt(p.out, n, m, m, bias, threads); break;
        default: {  // N·q = S·c as the step computes it: the counts' digits as extra H·S rows
          int64_t digits = bae_count_digit_rows(p.counts, m, p.wpr, n, digitRows);
          bae_signed_popcount_product_mt(digitRows, digits, p.spos, p.sneg, m, p.wpr, digitOut, m, threads);
          bae_count_digit_sums(digitOut, digits, m, m, nq);
          break;
        }
      }
      wall[k][r] = 1e3 * (now() - t0);
      cpu[k][r] = 1e3 * (cpu_now() - c0);
    }
  uint64_t h = 1469598103934665603ULL;
  for (int64_t i = 0; i < params; i++) { uint32_t u; memcpy(&u, &w[i], 4); h = (h ^ u) * 1099511628211ULL; }
  for (int64_t i = 0; i < n * m; i++) { uint32_t u; memcpy(&u, &gz[i], 4); h = (h ^ u) * 1099511628211ULL; }
  for (int64_t j = 0; j < m; j++) h = (h ^ (uint64_t)nq[j] ^ (uint64_t)(int64_t)bias[j]) * 1099511628211ULL;
  for (int64_t k = 0; k < 3 * d; k++) { uint64_t u; memcpy(&u, &part[k], 8); h = (h ^ u) * 1099511628211ULL; }
  printf("phases n %lld d %lld m %lld T %d (median of %d, ms wall / CPU):", (long long)n, (long long)d, (long long)m,
         threads, reps);
  for (int k = 0; k < 5; k++) {
    qsort(wall[k], (size_t)reps, sizeof(double), bench_compare_doubles);
    qsort(cpu[k], (size_t)reps, sizeof(double), bench_compare_doubles);
    printf("  %s %.2f / %.2f", names[k], wall[k][reps / 2], cpu[k][reps / 2]);
  }
  printf("\n  checksum %016llx (the same for every T)\n", (unsigned long long)h);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "phases") == 0) {
    if (argc != 7) { fprintf(stderr, "usage: bench_kernels phases n d m T reps\n"); return 2; }
    return phases(atoll(argv[2]), atoll(argv[3]), atoll(argv[4]), atoi(argv[5]), atoi(argv[6]));
  }
  if (argc > 1 && strcmp(argv[1], "once") == 0) {
    if (argc != 6 && argc != 7) { fprintf(stderr, "usage: bench_kernels once PATH KERNEL n m [CODES]\n"); return 2; }
    int path = atoi(argv[2]), kernel = -1;
    if (path == 5 || path == 6) {
      bae_kernels_set_product_form(path == 5 ? BAE_PRODUCT_TABLES : BAE_PRODUCT_POPCOUNT);
      path = BAE_PATH_AVX2;
    }
    for (int k = 0; k <= K_SIGNS; k++) if (strcmp(argv[3], kernel_names[k]) == 0) kernel = k;
    if (kernel < 0 || bae_kernels_force_path(path) != 0) { fprintf(stderr, "bad kernel or path\n"); return 2; }
    problem p = make_problem(atoll(argv[4]), atoll(argv[5]));
    if (argc == 7) load_codes(&p, argv[6]);
    if (kernel == K_PRODUCT) run(&p, K_PAIRS, 1);
    if (kernel == K_SIGNS) {
      // garbage in the planes first: the step's planes hold the last step's signs
      memset(p.spos, 0xA5, (size_t)(p.m * p.wpr) * 8);
      memset(p.sneg, 0x5A, (size_t)(p.m * p.wpr) * 8);
      step_pair_signs(&p, 1);
      printf("plane checksum %016llx\n", (unsigned long long)checksum(&p));
    } else {
      run(&p, kernel, 1);
    }
    printf("%s %s done\n", bae_kernels_path_name(path), kernel_names[kernel]);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "signs") == 0) {
    if (argc != 5 && argc != 6) { fprintf(stderr, "usage: bench_kernels signs n m reps [CODES]\n"); return 2; }
    problem p = make_problem(atoll(argv[2]), atoll(argv[3]));
    if (argc == 6) load_codes(&p, argv[5]);
    int reps = atoi(argv[4]) > 64 ? 64 : atoi(argv[4]) < 1 ? 1 : atoi(argv[4]);
    for (int threads = 1; threads <= 2; threads++) {
      double c[64], w[64];
      step_pair_signs(&p, threads);  // warm-up (and pool start-up)
      for (int r = 0; r < reps; r++) {
        double t0 = now(), c0 = cpu_now();
        step_pair_signs(&p, threads);
        w[r] = 1e3 * (now() - t0);
        c[r] = 1e3 * (cpu_now() - c0);
      }
      qsort(c, (size_t)reps, sizeof(double), bench_compare_doubles);
      qsort(w, (size_t)reps, sizeof(double), bench_compare_doubles);
      printf("signs %s n %lld m %lld T %d: CPU ms median %.3f min %.3f; wall median %.3f; checksum %016llx\n",
             bae_kernels_path_name(bae_kernels_selected_path()), (long long)p.n, (long long)p.m, threads,
             c[reps / 2], c[0], w[reps / 2], (unsigned long long)checksum(&p));
    }
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "forms") == 0) {  // forms n m reps: the two AVX2 H·S forms, interleaved
    if ((argc != 5 && argc != 6) || bae_kernels_force_path(BAE_PATH_AVX2) != 0) {
      fprintf(stderr, "usage: forms n m reps [CODES] (AVX2)\n");
      return 2;
    }
    problem p = make_problem(atoll(argv[2]), atoll(argv[3]));
    if (argc == 6) load_codes(&p, argv[5]);
    run(&p, K_PAIRS, 1);
    // what the popcount form's cost depends on: S rows whose zero set Z_j spans many words
    int64_t zeros = 0, wide = 0, constant = 0, words = (p.m + 63) / 64;
    for (int64_t j = 0; j < p.m; j++) {
      int64_t zw = 0;
      for (int64_t w = 0; w < words; w++) {
        uint64_t valid = w + 1 == words && p.m % 64 ? ((uint64_t)1 << (p.m % 64)) - 1 : ~(uint64_t)0;
        uint64_t z = ~(p.spos[j * p.wpr + w] | p.sneg[j * p.wpr + w]) & valid;
        zeros += __builtin_popcountll(z);
        zw += z != 0;
      }
      wide += zw > 16;
      constant += p.counts[j] == 0 || p.counts[j] == p.n;
    }
    printf("S: %.2f %% zeros; %lld of %lld rows with zeros in > 16 words; %lld constant code columns\n",
           100.0 * (double)zeros / ((double)p.m * (double)p.m), (long long)wide, (long long)p.m, (long long)constant);
    int reps = atoi(argv[4]) > 64 ? 64 : atoi(argv[4]);
    double c[2][64], w[2][64];
    for (int r = 0; r < reps; r++)
      for (int f = 0; f < 2; f++) {
        bae_kernels_set_product_form(f);
        double t0 = now(), c0 = cpu_now();
        run(&p, K_PRODUCT, 1);
        w[f][r] = 1e3 * (now() - t0);
        c[f][r] = 1e3 * (cpu_now() - c0);
      }
    for (int f = 0; f < 2; f++) {
      qsort(c[f], (size_t)reps, sizeof(double), bench_compare_doubles);
      qsort(w[f], (size_t)reps, sizeof(double), bench_compare_doubles);
      printf("m %s %-8s CPU ms min %.2f median %.2f; wall min %.2f median %.2f\n", argv[3], f ? "popcount" : "tables",
             c[f][0], c[f][reps / 2], w[f][0], w[f][reps / 2]);
    }
    return 0;
  }
  int reps = argc > 1 ? atoi(argv[1]) : 7;
  int64_t n = argc > 2 ? atoll(argv[2]) : 512;
  static const char *const envNames[] = {"unsupported here, ignored", "not a path name, ignored", "unset", "honoured"};
  printf("CPU: %s; selected path: %s (BAE_KERNEL_PATH %s); reps %d (medians, ms)\n", bae_kernels_cpu_model(),
         bae_kernels_path_name(bae_kernels_selected_path()), envNames[bae_kernels_env_status() + 2], reps);
  pool_overhead();
  for (int a = 3; a < (argc > 3 ? argc : 4); a++) {
    int64_t m = argc > 3 ? atoll(argv[a]) : 2304;
    problem p = make_problem(n, m);
    printf("\nn = %lld, m = %lld\n%-17s %2s %9s %9s %9s %9s %9s %8s\n", (long long)n, (long long)m, "path", "T",
           "binarize", "transpose", "pairs", "product", "pairs+HS", "vs popcnt");
    double popcntRef[3] = {0, 0, 0};
    uint64_t ref = 0;
    // scalar popcnt first: the other paths are reported as its time over theirs
    // the AVX2 path twice: its default H·S form (tables for n >= 384), then the popcount form
    const int order[] = {BAE_PATH_POPCNT, BAE_PATH_AVX512, BAE_PATH_AVX2, BAE_PATH_AVX2, BAE_PATH_PORTABLE};
    for (int o = 0; o < 5; o++) {
      int path = order[o];
      bae_kernels_set_product_form(o == 3 ? BAE_PRODUCT_POPCOUNT : BAE_PRODUCT_AUTO);
      if (!bae_kernels_path_supported(path)) continue;
      if (path == BAE_PATH_PORTABLE && m > 4096 && !getenv("BENCH_PORTABLE")) {
        printf("%-17s    (skipped above m = 4096; BENCH_PORTABLE=1 runs it)\n", "portable");
        continue;
      }
      bae_kernels_force_path(path);
      for (int threads = 1; threads <= 2; threads++) {
        double t[K_COUNT], c[K_COUNT];
        for (int k = 0; k < K_COUNT; k++) t[k] = median_ms(&p, k, threads, reps, &c[k]);
        uint64_t h = checksum(&p);
        if (ref == 0) ref = h;
        double cov = t[K_PAIRS] + t[K_PRODUCT];
        if (path == BAE_PATH_POPCNT) popcntRef[threads] = cov;
        printf("%-17s %2d %9.3f %9.3f %9.3f %9.3f %9.3f %7.2fx%s\n", o == 3 ? "avx2 popcount-HS" : bae_kernels_path_name(path), threads,
               t[K_BINARIZE], t[K_TRANSPOSE], t[K_PAIRS], t[K_PRODUCT], cov,
               popcntRef[threads] > 0 ? popcntRef[threads] / cov : 0.0, h == ref ? "" : "  OUTPUT DIFFERS");
        printf("%-17s %2s %9.3f %9.3f %9.3f %9.3f %9.3f  (process CPU time)\n", "", "", c[K_BINARIZE],
               c[K_TRANSPOSE], c[K_PAIRS], c[K_PRODUCT], c[K_PAIRS] + c[K_PRODUCT]);
        fflush(stdout);
      }
    }
    bae_kernels_force_path(BAE_PATH_AUTO);
    bae_kernels_set_product_form(BAE_PRODUCT_AUTO);  // the default
    for (int threads = 1; threads <= 2; threads++)
      printf("dense sgemm       %2d  %9.3f ms (2 x 2*n*m^2 FLOP = %.2f GFLOP)\n", threads,
             dense_ms(&p, threads, reps), 4.0 * (double)n * (double)m * (double)m / 1e9);
  }
  return 0;
}

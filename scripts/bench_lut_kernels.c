// Microbenchmark of the lookup-table decoder products (Sources/CBAEKernels/lut.c) against the sgemm each
// replaces, on a random code with P(bit) = 1/2; built and run by scripts/bench_lut_kernels.sh.
//   bench_lut_kernels time REPS PATH THREADS N D DL   median ms: x̂ = h·W_decᵀ (W_dec read in place) and
//                                                      ∂W_dec = ∂x̂ᵀ·h (written (d, d')), LUT vs sgemm
//                                                      (PATH 1 portable, 3 avx2, 4 avx512)
//   bench_lut_kernels once PATH OP N D DL             one call of OP (lut-xhat, lut-dw, sgemm-xhat,
//                                                      sgemm-dw, transpose), single thread, for callgrind --toggle-collect
#include "bench_common.h"
#include "bae_kernels.h"
#include "bae_sparse.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static void *alloc(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes < 64 ? 64 : bytes) != 0) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  memset(p, 0, bytes);
  return p;
}

typedef struct {
  int64_t n, d, dl, wpr, wpc;
  float *h, *w, *wt, *b, *xhat, *dx, *dwl, *dw, *scratch;
  int64_t scratchFloats;
  uint64_t *rowBits, *colBits;
  int threads;
} problem;

static problem make(int64_t n, int64_t d, int64_t dl, int threads) {
  problem p = {.n = n, .d = d, .dl = dl, .threads = threads};
  p.wpr = bae_row_words(dl);
  p.wpc = (n + 63) / 64;
  p.h = alloc((size_t)(n * dl) * 4);
  for (int64_t e = 0; e < n * dl; e++) p.h[e] = (float)(unit() - 0.5);
  int64_t *counts = alloc((size_t)dl * 8);
  p.rowBits = alloc((size_t)(n * p.wpr) * 8);
  p.colBits = alloc((size_t)(dl * p.wpc) * 8);
  bae_binarize_inplace(p.h, n, dl, dl, p.rowBits, p.wpr, counts);
  bae_transpose_bits(p.rowBits, n, dl, p.wpr, p.colBits, p.wpc);
  p.w = alloc((size_t)(d * dl) * 4);  // W_dec: (d, d')
  p.wt = alloc((size_t)(d * dl) * 4);  // W_decᵀ: (d', d), for the transpose's timing
  for (int64_t k = 0; k < d; k++)
    for (int64_t j = 0; j < dl; j++) p.w[k * dl + j] = (float)(unit() - 0.5);
  p.b = alloc((size_t)d * 4);
  for (int64_t k = 0; k < d; k++) p.b[k] = (float)(unit() - 0.5);
  p.xhat = alloc((size_t)(n * d) * 4);
  p.dx = alloc((size_t)(n * d) * 4);
  for (int64_t e = 0; e < n * d; e++) p.dx[e] = (float)(unit() - 0.5);
  p.dwl = alloc((size_t)(d * dl) * 4);
  p.dw = alloc((size_t)(d * dl) * 4);
  int64_t sx = bae_lut_scratch_floats(n, dl), sd = bae_lut_scratch_floats(dl, n);
  p.scratchFloats = threads * (sx > sd ? sx : sd);
  p.scratch = alloc((size_t)p.scratchFloats * 4);
  free(counts);
  return p;
}

static void run(problem *p, const char *op) {
  int64_t n = p->n, d = p->d, dl = p->dl, sf = p->scratchFloats;
  if (strcmp(op, "lut-xhat") == 0) {  // tables gathered from W_dec: (d, d') in place
    bae_lut_product_mt(p->rowBits, n, p->wpr, dl, p->w, dl, d, p->b, p->xhat, d, BAE_LUT_SOURCE_TRANSPOSED,
                       p->scratch, sf, p->threads);
  } else if (strcmp(op, "lut-dw") == 0) {  // ∂W_decᵀ = hᵀ·∂x̂ stored transposed: ∂W_dec (d, d')
    bae_lut_product_mt(p->colBits, dl, p->wpc, n, p->dx, d, d, NULL, p->dwl, dl, BAE_LUT_OUTPUT_TRANSPOSED,
                       p->scratch, sf, p->threads);
  } else if (strcmp(op, "transpose") == 0) {  // W_dec → W_decᵀ, which the step did before x̂ until 2026-12-07
    bae_transpose_f32_mt(p->w, d, dl, dl, p->wt, d, p->threads);
  } else if (strcmp(op, "sgemm-xhat") == 0) {  // x̂ = h·W_decᵀ + b (the bias fill as the model does it)
    for (int64_t i = 0; i < n; i++) memcpy(p->xhat + i * d, p->b, (size_t)d * 4);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)d, (int)dl, 1.0f, p->h, (int)dl, p->w,
                (int)dl, 1.0f, p->xhat, (int)d);
  } else if (strcmp(op, "sgemm-dw") == 0) {  // ∂W_dec = ∂x̂ᵀ·h: (d, d')
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)dl, (int)n, 1.0f, p->dx, (int)d, p->h,
                (int)dl, 0.0f, p->dw, (int)dl);
  } else {
    fprintf(stderr, "unknown op %s\n", op);
    exit(2);
  }
}

static clockid_t timer = CLOCK_MONOTONIC;  // one thread: its CPU time (the machine is shared)
static double now(void) { return bench_seconds(timer); }

static double median_ms(problem *p, const char *op, int reps) {
  double t[101];
  run(p, op);  // warm-up: pool threads, caches
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    run(p, op);
    t[r] = 1e3 * (now() - t0);
  }
  qsort(t, (size_t)reps, sizeof(double), bench_compare_doubles);
  return t[reps / 2];
}

// Largest |LUT − sgemm| relative to the largest |sgemm| entry, for both products (a sanity check).
static double max_rel_diff(problem *p) {
  run(p, "sgemm-xhat");
  run(p, "sgemm-dw");
  float *ref = alloc((size_t)(p->n * p->d) * 4);
  memcpy(ref, p->xhat, (size_t)(p->n * p->d) * 4);
  run(p, "lut-xhat");
  run(p, "lut-dw");
  double worst = 0, scale = 0;
  for (int64_t e = 0; e < p->n * p->d; e++) {
    worst = fmax(worst, fabs((double)p->xhat[e] - ref[e]));
    scale = fmax(scale, fabs((double)ref[e]));
  }
  double dworst = 0, dscale = 0;
  for (int64_t e = 0; e < p->d * p->dl; e++) {
    dworst = fmax(dworst, fabs((double)p->dwl[e] - p->dw[e]));
    dscale = fmax(dscale, fabs((double)p->dw[e]));
  }
  free(ref);
  return fmax(worst / scale, dworst / dscale);
}

int main(int argc, char **argv) {
  if (argc == 8 && strcmp(argv[1], "time") == 0) {
    int reps = atoi(argv[2]), path = atoi(argv[3]), threads = atoi(argv[4]);
    if (reps < 1 || reps > 101 || threads < 1) return 2;
    if (bae_kernels_force_path(path) != 0) {
      printf("path %d not supported here\n", path);
      return 0;
    }
    openblas_set_num_threads(threads);
    if (threads == 1) timer = CLOCK_THREAD_CPUTIME_ID;
    problem p = make(atoll(argv[5]), atoll(argv[6]), atoll(argv[7]), threads);
    double rel = max_rel_diff(&p);
    double lx = median_ms(&p, "lut-xhat", reps), gx = median_ms(&p, "sgemm-xhat", reps);
    double ld = median_ms(&p, "lut-dw", reps), gd = median_ms(&p, "sgemm-dw", reps);
    double tt = median_ms(&p, "transpose", reps);
    printf("path %-16s threads %d (%s)  n %lld d %lld d' %lld: x̂ lut %.3f ms sgemm %.3f ms (%.2fx)   "
           "∂W_dec lut %.3f ms sgemm %.3f ms (%.2fx)   (a W_dec transpose: %.3f ms)   max rel diff %.1e\n",
           bae_kernels_path_name(bae_lut_path()), threads, threads == 1 ? "cpu time" : "wall", (long long)p.n, (long long)p.d, (long long)p.dl, lx, gx,
           gx / lx, ld, gd, gd / ld, tt, rel);
    return 0;
  }
  if (argc == 7 && strcmp(argv[1], "once") == 0) {
    if (bae_kernels_force_path(atoi(argv[2])) != 0) return 1;
    openblas_set_num_threads(1);
    problem p = make(atoll(argv[4]), atoll(argv[5]), atoll(argv[6]), 1);
    run(&p, argv[3]);
    return 0;
  }
  fprintf(stderr, "usage: bench_lut_kernels time REPS PATH THREADS N D DL | once PATH OP N D DL\n");
  return 2;
}

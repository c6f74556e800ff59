// The step's non-BLAS float phases on the kernels' thread pool: each part owns a disjoint output range
// (rows, columns or elements) and every element sees the same operations in the same order, so results
// are bitwise identical for every thread count. In C, like the bit kernels, so a call allocates nothing
// (a Swift closure handed to the pool would need a heap context per call).
#include "kernels_internal.h"

#pragma clang fp contract(off)  // the same roundings on every CPU, whatever FMA contraction would choose

/// Parts for `work` elements: waking a pool thread costs a few microseconds, so small phases run alone.
static int parts_for(int threads, int64_t work, int64_t units) {
  int64_t p = work / 16384;
  if (p > threads) p = threads;
  if (p > units) p = units;
  return p < 1 ? 1 : (int)p;
}

/// The vector path of the float phases: AVX-512 (F, DQ) or AVX2 when the selected path is one of them
/// (scalar popcnt means no vectors), else portable.
static int vector_path(void) {
  int p = bae_selected_path();
  return p >= BAE_PATH_AVX512 ? BAE_PATH_AVX512 : p == BAE_PATH_AVX2 ? BAE_PATH_AVX2 : BAE_PATH_PORTABLE;
}

// ---- Adam ----
// Every path does the same IEEE operations in the same order per element: sub, mul, add for m; mul, mul,
// mul, add for v; sqrt, div, add, div, mul, sub for p (vsqrtps and vdivps are correctly rounded, FMA
// contraction is off), so the vector paths are bitwise the portable loop. Memory-bound once vectorised:
// 28 bytes per element against two divisions and a square root per lane.
typedef struct {
  float *p, *m, *v;
  const float *g;
  int64_t count;
  float w1, b2, w2, stepSize, bc2Sqrt, eps;
  int path;
} adam_job;

static void adam_portable(const adam_job *a, int64_t lo, int64_t hi) {
  float *restrict p = a->p, *restrict m = a->m, *restrict v = a->v;
  const float *restrict g = a->g;
  for (int64_t i = lo; i < hi; i++) {
    float gi = g[i];
    float mi = m[i] + a->w1 * (gi - m[i]);
    float vi = v[i] * a->b2 + a->w2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    float denom = __builtin_sqrtf(vi) / a->bc2Sqrt + a->eps;  // vi >= 0: no errno case to keep
    p[i] -= a->stepSize * (mi / denom);
  }
}

#if BAE_X86
// One vector body for both widths, in clang's vector extensions (element-wise + − × ÷ with scalars splatted,
// __builtin_elementwise_sqrt = vsqrtps), compiled once per target; memcpy does the unaligned loads and stores.
#define ADAM_VECTOR_PATH(NAME, TARGET, LANES)                                                           \
  typedef float NAME##_vector __attribute__((vector_size(4 * (LANES))));                                \
  __attribute__((target(TARGET))) static void NAME(const adam_job *a, int64_t lo, int64_t hi) {         \
    float *restrict p = a->p, *restrict m = a->m, *restrict v = a->v;                                    \
    const float *restrict g = a->g;                                                                      \
    const float w1 = a->w1, b2 = a->b2, w2 = a->w2, step = a->stepSize, bc2 = a->bc2Sqrt, eps = a->eps;  \
    int64_t i = lo;                                                                                      \
    for (; i + (LANES) <= hi; i += (LANES)) {                                                            \
      NAME##_vector gi, m0, v0, p0;                                                                      \
      __builtin_memcpy(&gi, g + i, sizeof gi);                                                           \
      __builtin_memcpy(&m0, m + i, sizeof m0);                                                           \
      __builtin_memcpy(&v0, v + i, sizeof v0);                                                           \
      __builtin_memcpy(&p0, p + i, sizeof p0);                                                           \
      NAME##_vector mi = m0 + w1 * (gi - m0);                                                            \
      NAME##_vector vi = v0 * b2 + w2 * (gi * gi);                                                       \
      NAME##_vector denom = __builtin_elementwise_sqrt(vi) / bc2 + eps;                                  \
      p0 -= step * (mi / denom);                                                                         \
      __builtin_memcpy(m + i, &mi, sizeof mi);                                                           \
      __builtin_memcpy(v + i, &vi, sizeof vi);                                                           \
      __builtin_memcpy(p + i, &p0, sizeof p0);                                                           \
    }                                                                                                    \
    adam_portable(a, i, hi);                                                                             \
  }
ADAM_VECTOR_PATH(adam_avx512, "avx512f", 16)
ADAM_VECTOR_PATH(adam_avx2, "avx2", 8)
#endif

static void adam_part(void *ctx, int part, int parts) {
  adam_job *a = ctx;
  int64_t lo, hi;
  bae_split(0, a->count, part, parts, 16, &lo, &hi);
#if BAE_X86
  if (a->path == BAE_PATH_AVX512) return adam_avx512(a, lo, hi);
  if (a->path == BAE_PATH_AVX2) return adam_avx2(a, lo, hi);
#endif
  adam_portable(a, lo, hi);
}

void bae_adam_update_mt(float *p, const float *g, float *m, float *v, int64_t count, float w1, float b2, float w2,
                        float stepSize, float bc2Sqrt, float eps, int threads) {
  adam_job job = {p, m, v, g, count, w1, b2, w2, stepSize, bc2Sqrt, eps, vector_path()};
  bae_parallel(adam_part, &job, parts_for(threads, 4 * count, (count + 15) / 16));
}

// ---- ∂L/∂z of a BAE ----
typedef struct {
  float *g;
  int64_t n, m, ldg;
  const float *e, *a, *q;
  float coef;
  int signS;
} code_grad_job;

static void code_grad_part(void *ctx, int part, int parts) {
  code_grad_job *c = ctx;
  int64_t lo, hi;
  bae_split(0, c->n, part, parts, 1, &lo, &hi);
  int64_t m = c->m;
  for (int64_t i = lo; i < hi; i++) {
    float *r = c->g + i * c->ldg;
    if (c->e)
      for (int64_t j = 0; j < m; j++) r[j] += c->e[j];
    if (c->a) {
      const float *ar = c->a + i * m;
      for (int64_t j = 0; j < m; j++) r[j] += c->coef * (ar[j] - c->q[j]);
    }
    if (c->signS)
      for (int64_t j = 0; j < m; j++) {
        float t = r[j];
        r[j] = t - t * t;
      }
  }
}

void bae_code_gradient_mt(float *g, int64_t n, int64_t m, int64_t ldg, const float *e, const float *a,
                          const float *q, float coef, int signS, int threads) {
  code_grad_job job = {g, n, m, ldg, e, a, q, coef, signS};
  bae_parallel(code_grad_part, &job, parts_for(threads, n * m, n));
}

// ---- N·q = S·c through the H·S product (exact integers) ----
// c = Σ_b 2^b β_b with β_b the b-th binary digit of every count, so S·c = Σ_b 2^b S·β_b, and S·β_b is one
// more row of the H·S product with β_b as its code row (the product's row i, column j is Σ_k h_ik S_jk). The digit rows ride along with the
// code rows in one product call: L = bit width of the largest count extra rows out of n, instead of a scan of
// both sign planes.

int64_t bae_count_digit_rows(const int64_t *counts, int64_t m, int64_t wpr, int64_t maxCount, uint64_t *rows) {
  int64_t digits = 0;
  while (digits < 63 && (maxCount >> digits) > 0) digits++;
  for (int64_t b = 0; b < digits; b++) {
    uint64_t *row = rows + b * wpr;
    for (int64_t w = 0; w < wpr; w++) row[w] = 0;
    for (int64_t j = 0; j < m; j++) row[j / 64] |= (uint64_t)((counts[j] >> b) & 1) << (j % 64);
  }
  return digits;
}

void bae_count_digit_sums(const float *products, int64_t digits, int64_t m, int64_t ldo, int64_t *out) {
  for (int64_t j = 0; j < m; j++) out[j] = 0;
  for (int64_t b = 0; b < digits; b++) {
    const float *row = products + b * ldo;
    for (int64_t j = 0; j < m; j++) out[j] += (int64_t)row[j] * ((int64_t)1 << b);
  }
}

// ---- column sums (bias gradients) ----
typedef struct {
  const float *a;
  int64_t n, c, lda;
  float *out;
} colsum_job;

static void colsum_part(void *ctx, int part, int parts) {
  colsum_job *s = ctx;
  int64_t lo, hi;
  bae_split(0, s->c, part, parts, 16, &lo, &hi);
  for (int64_t k = lo; k < hi; k++) s->out[k] = 0;
  for (int64_t i = 0; i < s->n; i++) {
    const float *r = s->a + i * s->lda;
    for (int64_t k = lo; k < hi; k++) s->out[k] += r[k];
  }
}

void bae_column_sums_mt(const float *a, int64_t n, int64_t c, int64_t lda, float *out, int threads) {
  colsum_job job = {a, n, c, lda, out};
  bae_parallel(colsum_part, &job, parts_for(threads, n * c, (c + 15) / 16));
}

// ---- reconstruction moments ----
typedef struct {
  const float *x, *xhat;
  int64_t n, d;
  double *sse, *sumsq, *sums;
} moments_job;

static void moments_part(void *ctx, int part, int parts) {
  moments_job *s = ctx;
  int64_t lo, hi;
  bae_split(0, s->d, part, parts, 8, &lo, &hi);
  for (int64_t k = lo; k < hi; k++) s->sse[k] = s->sumsq[k] = s->sums[k] = 0;
  for (int64_t i = 0; i < s->n; i++) {
    const float *xr = s->x + i * s->d, *hr = s->xhat + i * s->d;
    for (int64_t k = lo; k < hi; k++) {
      double xv = xr[k], e = (double)hr[k] - xv;
      s->sse[k] += e * e;
      s->sumsq[k] += xv * xv;
      s->sums[k] += xv;
    }
  }
}

void bae_column_moments_mt(const float *x, const float *xhat, int64_t n, int64_t d, double *sse, double *sumsq,
                           double *sums, int threads) {
  moments_job job = {x, xhat, n, d, sse, sumsq, sums};
  bae_parallel(moments_part, &job, parts_for(threads, n * d, (d + 7) / 8));
}

// ---- row fills and the scaled residual ----
typedef struct {
  float *dst;
  const float *src;
  int64_t n, c;
  float scale;
} rows_job;

static void fill_part(void *ctx, int part, int parts) {
  rows_job *s = ctx;
  int64_t lo, hi;
  bae_split(0, s->n, part, parts, 1, &lo, &hi);
  for (int64_t i = lo; i < hi; i++)
    for (int64_t k = 0; k < s->c; k++) s->dst[i * s->c + k] = s->src[k];
}

void bae_fill_rows_mt(float *dst, int64_t n, int64_t c, const float *row, int threads) {
  rows_job job = {dst, row, n, c, 0};
  bae_parallel(fill_part, &job, parts_for(threads, n * c, n));
}

static void residual_part(void *ctx, int part, int parts) {
  rows_job *s = ctx;
  int64_t lo, hi;
  bae_split(0, s->n * s->c, part, parts, 16, &lo, &hi);
  for (int64_t o = lo; o < hi; o++) s->dst[o] = (s->dst[o] - s->src[o]) * s->scale;
}

void bae_scaled_residual_mt(float *r, const float *x, int64_t count, float scale, int threads) {
  rows_job job = {r, x, count, 1, scale};
  bae_parallel(residual_part, &job, parts_for(threads, count, (count + 15) / 16));
}

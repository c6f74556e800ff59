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

// ---- N·q = S·c over the sign planes (exact integers) ----
// The planes are about half full, so rather than visiting set bits the vector paths walk every k: each
// 8 (AVX-512) or 4 (AVX2) bits of S+ and S− become lane masks that add or subtract counts[k..]. Integer
// sums, so every path gives the same result.
typedef struct {
  const uint64_t *spos, *sneg;
  int64_t m, wpr;
  const int64_t *counts;
  int64_t *out;
  int path;
} sign_sums_job;

static void sign_sums_portable(const sign_sums_job *s, int64_t lo, int64_t hi) {
  for (int64_t j = lo; j < hi; j++) {
    int64_t acc = 0;
    for (int64_t word = 0; word < s->wpr; word++) {
      uint64_t pw = s->spos[j * s->wpr + word], nw = s->sneg[j * s->wpr + word];
      while (pw) {
        acc += s->counts[word * 64 + __builtin_ctzll(pw)];
        pw &= pw - 1;
      }
      while (nw) {
        acc -= s->counts[word * 64 + __builtin_ctzll(nw)];
        nw &= nw - 1;
      }
    }
    s->out[j] = acc;
  }
}

#if BAE_X86
// Only the full words below m are walked with vectors (bits past m are zero, so counts past m are never
// needed); the last partial word, if any, takes the portable bit walk.
__attribute__((target("avx512f,avx512dq"))) static void sign_sums_avx512(const sign_sums_job *s, int64_t lo,
                                                                           int64_t hi) {
  const int64_t full = s->m / 64;
  for (int64_t j = lo; j < hi; j++) {
    const uint64_t *sp = s->spos + j * s->wpr, *sn = s->sneg + j * s->wpr;
    __m512i acc = _mm512_setzero_si512();
    for (int64_t w = 0; w < full; w++) {
      uint64_t pw = sp[w], nw = sn[w];
      if ((pw | nw) == 0) continue;
      for (int b = 0; b < 64; b += 8) {
        __m512i c = _mm512_loadu_si512(s->counts + w * 64 + b);
        acc = _mm512_mask_add_epi64(acc, (__mmask8)(pw >> b), acc, c);
        acc = _mm512_mask_sub_epi64(acc, (__mmask8)(nw >> b), acc, c);
      }
    }
    int64_t t = _mm512_reduce_add_epi64(acc);
    if (full * 64 < s->m) {
      uint64_t pw = sp[full], nw = sn[full];
      for (; pw; pw &= pw - 1) t += s->counts[full * 64 + __builtin_ctzll(pw)];
      for (; nw; nw &= nw - 1) t -= s->counts[full * 64 + __builtin_ctzll(nw)];
    }
    s->out[j] = t;
  }
}

__attribute__((target("avx2"))) static void sign_sums_avx2(const sign_sums_job *s, int64_t lo, int64_t hi) {
  const int64_t full = s->m / 64;
  __m256i expand[16];  // lane t all ones where bit t of the index is set
  for (int v = 0; v < 16; v++)
    expand[v] = _mm256_setr_epi64x(v & 1 ? -1 : 0, v & 2 ? -1 : 0, v & 4 ? -1 : 0, v & 8 ? -1 : 0);
  for (int64_t j = lo; j < hi; j++) {
    const uint64_t *sp = s->spos + j * s->wpr, *sn = s->sneg + j * s->wpr;
    __m256i acc = _mm256_setzero_si256();
    for (int64_t w = 0; w < full; w++) {
      uint64_t pw = sp[w], nw = sn[w];
      if ((pw | nw) == 0) continue;
      for (int b = 0; b < 64; b += 4) {
        __m256i c = _mm256_loadu_si256((const __m256i *)(s->counts + w * 64 + b));
        acc = _mm256_add_epi64(acc, _mm256_and_si256(c, expand[(pw >> b) & 15]));
        acc = _mm256_sub_epi64(acc, _mm256_and_si256(c, expand[(nw >> b) & 15]));
      }
    }
    int64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, acc);
    int64_t t = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    if (full * 64 < s->m) {
      uint64_t pw = sp[full], nw = sn[full];
      for (; pw; pw &= pw - 1) t += s->counts[full * 64 + __builtin_ctzll(pw)];
      for (; nw; nw &= nw - 1) t -= s->counts[full * 64 + __builtin_ctzll(nw)];
    }
    s->out[j] = t;
  }
}
#endif

static void sign_sums_part(void *ctx, int part, int parts) {
  sign_sums_job *s = ctx;
  int64_t lo, hi;
  bae_split(0, s->m, part, parts, 1, &lo, &hi);
#if BAE_X86
  if (s->path == BAE_PATH_AVX512) return sign_sums_avx512(s, lo, hi);
  if (s->path == BAE_PATH_AVX2) return sign_sums_avx2(s, lo, hi);
#endif
  sign_sums_portable(s, lo, hi);
}

void bae_sign_row_sums_mt(const uint64_t *spos, const uint64_t *sneg, int64_t m, int64_t wpr, const int64_t *counts,
                          int64_t *out, int threads) {
  sign_sums_job job = {spos, sneg, m, wpr, counts, out, vector_path()};
  bae_parallel(sign_sums_part, &job, parts_for(threads, m * m / 2, m));
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

// Bit kernels behind bae_kernels.h. Portable C with a popcnt-targeted scalar path and an AVX-512
// VPOPCNTDQ path for the two O(m^2) kernels; chosen once from CPUID.
#include "bae_kernels.h"
#include <string.h>
#include <immintrin.h>

static int force_portable = 0;
static int force_scalar_popcnt = 0;

int bae_kernels_have_avx512_popcnt(void) {
  static int cached = -1;
  if (cached < 0) {
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
  }
  return cached && !force_portable;
}

static int have_popcnt(void) {
  static int cached = -1;
  if (cached < 0) { __builtin_cpu_init(); cached = __builtin_cpu_supports("popcnt"); }
  return cached;
}

void bae_kernels_force_portable(int on) { force_portable = on == 1; force_scalar_popcnt = on == 2; }

int64_t bae_row_words(int64_t m) { return ((m + 511) / 512) * 8; }

void bae_binarize_inplace(float *z, int64_t n, int64_t m, int64_t ldz,
                          uint64_t *rowBits, int64_t wpr, int64_t *counts) {
  for (int64_t i = 0; i < n; i++) {
    float *zi = z + i * ldz;
    uint64_t *bi = rowBits + i * wpr;
    memset(bi, 0, (size_t)wpr * sizeof(uint64_t));
    for (int64_t j = 0; j < m; j++) {
      int on = zi[j] > 0.0f;
      zi[j] = on ? 1.0f : 0.0f;
      bi[j >> 6] |= (uint64_t)on << (j & 63);
      counts[j] += on;
    }
  }
}

// Transpose a 64x64 bit block in place: a[r] bit c  <->  a[c] bit r (Hacker's Delight, 6 swap rounds).
static void transpose64(uint64_t a[64]) {
  uint64_t m = 0x00000000FFFFFFFFULL;
  for (int j = 32; j != 0; j >>= 1, m ^= (m << j)) {
    for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
      uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
      a[k] ^= t << j;
      a[k | j] ^= t;
    }
  }
}

void bae_transpose_bits(const uint64_t *rowBits, int64_t n, int64_t m, int64_t wpr,
                        uint64_t *colBits, int64_t wpc) {
  uint64_t block[64];
  int64_t mWords = (m + 63) / 64;
  for (int64_t rb = 0; rb < wpc; rb++) {          // 64 rows at a time
    for (int64_t cw = 0; cw < mWords; cw++) {     // 64 columns at a time
      for (int r = 0; r < 64; r++) {
        int64_t i = rb * 64 + r;
        block[r] = i < n ? rowBits[i * wpr + cw] : 0;
      }
      // block[r] bit c = H[rb*64 + r][cw*64 + c]; after transpose block[c] bit r = same element.
      transpose64(block);
      for (int c = 0; c < 64; c++) {
        int64_t j = cw * 64 + c;
        if (j < m) colBits[j * wpc + rb] = block[c];
      }
    }
  }
}

__attribute__((target("popcnt")))
static int64_t and_popcount_popcnt(const uint64_t *a, const uint64_t *b, int64_t w) {
  int64_t s = 0;
  for (int64_t i = 0; i < w; i++) s += __builtin_popcountll(a[i] & b[i]);
  return s;
}

static int64_t and_popcount_generic(const uint64_t *a, const uint64_t *b, int64_t w) {
  int64_t s = 0;
  for (int64_t i = 0; i < w; i++) s += __builtin_popcountll(a[i] & b[i]);
  return s;
}

// One 64x64 tile of pairs (j in tile jb, k in tile kb, k > j): the upper-triangle bits of rows j go to
// posJ/negJ; the mirrored (k, j) bits are the 64x64 bit transpose of the same tile.
static void store_tile(int64_t jb, int64_t kb, int64_t m, uint64_t *spos, uint64_t *sneg, int64_t wpr,
                       uint64_t posJ[64], uint64_t negJ[64]) {
  for (int t = 0; t < 64; t++) {
    int64_t j = jb * 64 + t;
    if (j < m) { spos[j * wpr + kb] |= posJ[t]; sneg[j * wpr + kb] |= negJ[t]; }
  }
  transpose64(posJ);
  transpose64(negJ);
  for (int t = 0; t < 64; t++) {
    int64_t k = kb * 64 + t;
    if (k < m) { spos[k * wpr + jb] |= posJ[t]; sneg[k * wpr + jb] |= negJ[t]; }
  }
}

#define COV_TILE_BODY(POPCOUNT)                                                                   \
  for (int64_t jb = 0, t = 0; jb * 64 < m; jb++) {                                               \
    for (int64_t kb = jb; kb * 64 < m; kb++, t++) {                                               \
      if (t < tile0) continue;                                                                    \
      if (t >= tile1) return total;                                                               \
      uint64_t posJ[64] = {0}, negJ[64] = {0};                                                    \
      for (int jj = 0; jj < 64; jj++) {                                                           \
        int64_t j = jb * 64 + jj;                                                                 \
        if (j >= m) break;                                                                        \
        const uint64_t *cj = colBits + j * wpc;                                                   \
        int64_t kStart = kb == jb ? jj + 1 : 0;                                                   \
        for (int kk = (int)kStart; kk < 64; kk++) {                                               \
          int64_t k = kb * 64 + kk;                                                               \
          if (k >= m) break;                                                                      \
          int64_t n11 = POPCOUNT(cj, colBits + k * wpc, wpc);                                     \
          int64_t d = n * n11 - counts[j] * counts[k];                                            \
          if (d > 0) { posJ[jj] |= 1ULL << kk; total += d; }                                      \
          else if (d < 0) { negJ[jj] |= 1ULL << kk; total -= d; }                                 \
        }                                                                                         \
      }                                                                                           \
      store_tile(jb, kb, m, spos, sneg, wpr, posJ, negJ);                                         \
    }                                                                                             \
  }

__attribute__((target("popcnt")))
static int64_t cov_signs_popcnt(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts,
                                int64_t n, int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg,
                                int64_t wpr) {
  int64_t total = 0;
  COV_TILE_BODY(and_popcount_popcnt)
  return total;
}

static int64_t cov_signs_generic(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts,
                                 int64_t n, int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg,
                                 int64_t wpr) {
  int64_t total = 0;
  COV_TILE_BODY(and_popcount_generic)
  return total;
}

// AVX-512: eight pairs (j, k..k+7) at a time. Each pair's AND-popcount is accumulated in a vector over
// the column words; an add/shuffle tree reduces the eight vectors to one vector of eight n11 values, and
// the sign test and |d| run on that vector.
#define AVX_COV_TARGET __attribute__((target("avx512f,avx512dq,avx512vpopcntdq")))
AVX_COV_TARGET static inline __m512i hsum8(__m512i a[8]) {
  __m512i b01 = _mm512_add_epi64(_mm512_unpacklo_epi64(a[0], a[1]), _mm512_unpackhi_epi64(a[0], a[1]));
  __m512i b23 = _mm512_add_epi64(_mm512_unpacklo_epi64(a[2], a[3]), _mm512_unpackhi_epi64(a[2], a[3]));
  __m512i b45 = _mm512_add_epi64(_mm512_unpacklo_epi64(a[4], a[5]), _mm512_unpackhi_epi64(a[4], a[5]));
  __m512i b67 = _mm512_add_epi64(_mm512_unpacklo_epi64(a[6], a[7]), _mm512_unpackhi_epi64(a[6], a[7]));
  __m512i e0 = _mm512_add_epi64(_mm512_shuffle_i64x2(b01, b23, 0x88), _mm512_shuffle_i64x2(b01, b23, 0xDD));
  __m512i e1 = _mm512_add_epi64(_mm512_shuffle_i64x2(b45, b67, 0x88), _mm512_shuffle_i64x2(b45, b67, 0xDD));
  return _mm512_add_epi64(_mm512_shuffle_i64x2(e0, e1, 0x88), _mm512_shuffle_i64x2(e0, e1, 0xDD));
}

AVX_COV_TARGET
static int64_t cov_signs_avx512(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts,
                                int64_t n, int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg,
                                int64_t wpr) {
  __m512i totalv = _mm512_setzero_si512();
  const __m512i nv = _mm512_set1_epi64(n);
  const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  const int64_t fullChunks = wpc / 8;
  const __mmask8 tailMask = (__mmask8)((1u << (wpc % 8)) - 1);
  for (int64_t jb = 0, tile = 0; jb * 64 < m; jb++) {
    for (int64_t kb = jb; kb * 64 < m; kb++, tile++) {
      if (tile < tile0) continue;
      if (tile >= tile1) return _mm512_reduce_add_epi64(totalv);
      uint64_t posJ[64] = {0}, negJ[64] = {0};
      for (int jj = 0; jj < 64; jj++) {
        int64_t j = jb * 64 + jj;
        if (j >= m) break;
        const uint64_t *cj = colBits + j * wpc;
        const __m512i cjv = _mm512_set1_epi64(counts[j]);
        int kStart = kb == jb ? jj + 1 : 0;
        for (int k8 = kStart & ~7; k8 < 64; k8 += 8) {
          int64_t kBase = kb * 64 + k8;
          if (kBase >= m) break;
          // lanes with k in [kStart, 64) and k < m are real pairs; others point at column j and are masked
          __m512i kIdx = _mm512_add_epi64(_mm512_set1_epi64(kBase), lane);
          __mmask8 valid = _mm512_cmplt_epi64_mask(kIdx, _mm512_set1_epi64(m)) &
                           _mm512_cmpge_epi64_mask(_mm512_add_epi64(_mm512_set1_epi64(k8), lane),
                                                   _mm512_set1_epi64(kStart));
          const uint64_t *ck[8];
          for (int t = 0; t < 8; t++) ck[t] = (valid >> t) & 1 ? colBits + (kBase + t) * wpc : cj;
          __m512i acc[8];
          for (int t = 0; t < 8; t++) acc[t] = _mm512_setzero_si512();
          int64_t w = 0;
          for (int64_t c = 0; c < fullChunks; c++, w += 8) {
            __m512i x = _mm512_loadu_si512(cj + w);
            for (int t = 0; t < 8; t++)
              acc[t] = _mm512_add_epi64(acc[t], _mm512_popcnt_epi64(_mm512_and_si512(x, _mm512_loadu_si512(ck[t] + w))));
          }
          if (tailMask) {
            __m512i x = _mm512_maskz_loadu_epi64(tailMask, cj + w);
            for (int t = 0; t < 8; t++)
              acc[t] = _mm512_add_epi64(acc[t], _mm512_popcnt_epi64(
                  _mm512_and_si512(x, _mm512_maskz_loadu_epi64(tailMask, ck[t] + w))));
          }
          __m512i n11 = hsum8(acc);
          __m512i ckv = _mm512_maskz_loadu_epi64(valid, counts + kBase);
          __m512i d = _mm512_sub_epi64(_mm512_mullo_epi64(nv, n11), _mm512_mullo_epi64(cjv, ckv));
          d = _mm512_maskz_mov_epi64(valid, d);
          __mmask8 pos = _mm512_cmpgt_epi64_mask(d, _mm512_setzero_si512());
          __mmask8 neg = _mm512_cmplt_epi64_mask(d, _mm512_setzero_si512());
          posJ[jj] |= (uint64_t)pos << k8;
          negJ[jj] |= (uint64_t)neg << k8;
          totalv = _mm512_add_epi64(totalv, _mm512_abs_epi64(d));
        }
      }
      store_tile(jb, kb, m, spos, sneg, wpr, posJ, negJ);
    }
  }
  return _mm512_reduce_add_epi64(totalv);
}

static int have_avx512_cov(void) {
  static int cached = -1;
  if (cached < 0) {
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vpopcntdq");
  }
  return cached;
}

int64_t bae_covariance_signs(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts,
                             int64_t n, int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg,
                             int64_t wpr) {
  if (force_portable) return cov_signs_generic(colBits, m, wpc, counts, n, tile0, tile1, spos, sneg, wpr);
  if (force_scalar_popcnt == 0 && have_avx512_cov())
    return cov_signs_avx512(colBits, m, wpc, counts, n, tile0, tile1, spos, sneg, wpr);
  if (have_popcnt()) return cov_signs_popcnt(colBits, m, wpc, counts, n, tile0, tile1, spos, sneg, wpr);
  return cov_signs_generic(colBits, m, wpc, counts, n, tile0, tile1, spos, sneg, wpr);
}

static void signed_product_portable(const uint64_t *rowBits, int64_t n, const uint64_t *spos,
                                    const uint64_t *sneg, int64_t m, int64_t wpr, float *out,
                                    int64_t ldo) {
  for (int64_t i = 0; i < n; i++) {
    const uint64_t *h = rowBits + i * wpr;
    for (int64_t j = 0; j < m; j++) {
      int64_t p = and_popcount_generic(h, spos + j * wpr, wpr);
      int64_t q = and_popcount_generic(h, sneg + j * wpr, wpr);
      out[i * ldo + j] = (float)(p - q);
    }
  }
}

// Blocked so a block of S rows (JB rows * wpr words * 2 planes) stays in L2 while every code row
// streams past it; 4 code rows share each S load.
#define JB 64
__attribute__((target("avx512f,avx512vpopcntdq")))
static void signed_product_avx512(const uint64_t *rowBits, int64_t n, const uint64_t *spos,
                                  const uint64_t *sneg, int64_t m, int64_t wpr, float *out,
                                  int64_t ldo) {
  for (int64_t j0 = 0; j0 < m; j0 += JB) {
    int64_t j1 = j0 + JB < m ? j0 + JB : m;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
      const uint64_t *h0 = rowBits + i * wpr, *h1 = h0 + wpr, *h2 = h1 + wpr, *h3 = h2 + wpr;
      for (int64_t j = j0; j < j1; j++) {
        const uint64_t *sp = spos + j * wpr, *sn = sneg + j * wpr;
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t w = 0; w < wpr; w += 8) {
          __m512i p = _mm512_loadu_si512(sp + w), q = _mm512_loadu_si512(sn + w);
          __m512i x0 = _mm512_loadu_si512(h0 + w), x1 = _mm512_loadu_si512(h1 + w);
          __m512i x2 = _mm512_loadu_si512(h2 + w), x3 = _mm512_loadu_si512(h3 + w);
          a0 = _mm512_add_epi64(a0, _mm512_sub_epi64(_mm512_popcnt_epi64(_mm512_and_si512(x0, p)),
                                                     _mm512_popcnt_epi64(_mm512_and_si512(x0, q))));
          a1 = _mm512_add_epi64(a1, _mm512_sub_epi64(_mm512_popcnt_epi64(_mm512_and_si512(x1, p)),
                                                     _mm512_popcnt_epi64(_mm512_and_si512(x1, q))));
          a2 = _mm512_add_epi64(a2, _mm512_sub_epi64(_mm512_popcnt_epi64(_mm512_and_si512(x2, p)),
                                                     _mm512_popcnt_epi64(_mm512_and_si512(x2, q))));
          a3 = _mm512_add_epi64(a3, _mm512_sub_epi64(_mm512_popcnt_epi64(_mm512_and_si512(x3, p)),
                                                     _mm512_popcnt_epi64(_mm512_and_si512(x3, q))));
        }
        out[(i + 0) * ldo + j] = (float)_mm512_reduce_add_epi64(a0);
        out[(i + 1) * ldo + j] = (float)_mm512_reduce_add_epi64(a1);
        out[(i + 2) * ldo + j] = (float)_mm512_reduce_add_epi64(a2);
        out[(i + 3) * ldo + j] = (float)_mm512_reduce_add_epi64(a3);
      }
    }
    for (; i < n; i++) {
      const uint64_t *h0 = rowBits + i * wpr;
      for (int64_t j = j0; j < j1; j++) {
        const uint64_t *sp = spos + j * wpr, *sn = sneg + j * wpr;
        __m512i a0 = _mm512_setzero_si512();
        for (int64_t w = 0; w < wpr; w += 8) {
          __m512i x0 = _mm512_loadu_si512(h0 + w);
          a0 = _mm512_add_epi64(a0, _mm512_sub_epi64(
              _mm512_popcnt_epi64(_mm512_and_si512(x0, _mm512_loadu_si512(sp + w))),
              _mm512_popcnt_epi64(_mm512_and_si512(x0, _mm512_loadu_si512(sn + w)))));
        }
        out[i * ldo + j] = (float)_mm512_reduce_add_epi64(a0);
      }
    }
  }
}

__attribute__((target("popcnt")))
static void signed_product_popcnt(const uint64_t *rowBits, int64_t n, const uint64_t *spos,
                                  const uint64_t *sneg, int64_t m, int64_t wpr, float *out,
                                  int64_t ldo) {
  for (int64_t j0 = 0; j0 < m; j0 += JB) {
    int64_t j1 = j0 + JB < m ? j0 + JB : m;
    for (int64_t i = 0; i < n; i++) {
      const uint64_t *h = rowBits + i * wpr;
      for (int64_t j = j0; j < j1; j++) {
        const uint64_t *sp = spos + j * wpr, *sn = sneg + j * wpr;
        int64_t s = 0;
        for (int64_t w = 0; w < wpr; w++)
          s += __builtin_popcountll(h[w] & sp[w]) - __builtin_popcountll(h[w] & sn[w]);
        out[i * ldo + j] = (float)s;
      }
    }
  }
}

void bae_signed_popcount_product(const uint64_t *rowBits, int64_t n, const uint64_t *spos,
                                 const uint64_t *sneg, int64_t m, int64_t wpr, float *out,
                                 int64_t ldo) {
  if (force_portable) { signed_product_portable(rowBits, n, spos, sneg, m, wpr, out, ldo); return; }
  if (!force_scalar_popcnt && bae_kernels_have_avx512_popcnt() && (wpr % 8) == 0) {
    signed_product_avx512(rowBits, n, spos, sneg, m, wpr, out, ldo);
  } else if (have_popcnt()) {
    signed_product_popcnt(rowBits, n, spos, sneg, m, wpr, out, ldo);
  } else {
    signed_product_portable(rowBits, n, spos, sneg, m, wpr, out, ldo);
  }
}

#include "kernels_internal.h"
#include <stdlib.h>

#if BAE_X86
#define TARGET __attribute__((target("avx2")))
#define INLINE __attribute__((always_inline)) inline
#ifndef PASS
#define PASS 6
#endif
#ifndef CHUNK
#define CHUNK 3
#endif
#ifndef UNROLL
#define UNROLL 2
#endif
#define TABLE 4096  // 128 entries x 32 bytes
#if PASS < 1 || PASS > 15 || 14 * PASS * CHUNK > 255
#error "product_tables.c: PASS in 1...4 and 14 * PASS * CHUNK <= 255"
#endif

static __thread uint8_t *scratch = NULL;
static __thread size_t scratchBytes = 0;

static int ensure_scratch(size_t bytes) {
  if (bytes <= scratchBytes) return 1;
  uint8_t *p = NULL;
  if (posix_memalign((void **)&p, 64, bytes) != 0) return 0;
  free(scratch);
  scratch = p;
  scratchBytes = bytes;
  return 1;
}

TARGET static inline __m256i expand(uint32_t pos, uint32_t neg) {
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
  __m256i p = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)pos), spread), bit);
  __m256i n = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)neg), spread), bit);
  return _mm256_sub_epi8(_mm256_cmpeq_epi8(n, bit), _mm256_cmpeq_epi8(p, bit));
}

TARGET static void build_table(const uint64_t *col, int64_t k0, __m256i *t) {
  const __m256i one = _mm256_set1_epi8(1);
  __m256i e[7];
  for (int h = 0; h < 7; h++) {
    uint64_t p = col[2 * (k0 + h)], q = col[2 * (k0 + h) + 1];
    __m256i lo = _mm256_add_epi8(expand((uint32_t)p, (uint32_t)q), one);
    __m256i hi = _mm256_add_epi8(expand((uint32_t)(p >> 32), (uint32_t)(q >> 32)), one);
    e[h] = _mm256_add_epi8(lo, _mm256_slli_epi16(hi, 4));
  }
  __m256i lo[16], hi[8];
  lo[0] = hi[0] = _mm256_setzero_si256();
  for (int h = 0; h < 4; h++)
    for (int b = 0; b < (1 << h); b++) lo[(1 << h) + b] = _mm256_add_epi8(lo[b], e[h]);
  for (int h = 0; h < 3; h++)
    for (int b = 0; b < (1 << h); b++) hi[(1 << h) + b] = _mm256_add_epi8(hi[b], e[4 + h]);
  for (int u = 0; u < 8; u++)
    for (int b = 0; b < 16; b++) _mm256_store_si256(t + 16 * u + b, _mm256_add_epi8(hi[u], lo[b]));
}

TARGET static INLINE void pass_rows(const uint8_t *tb, const uint16_t *o, int64_t n, __m256i *acc8, __m256i *acc,
                                    int START, int WIDEN, int INIT) {
  const __m256i mid = _mm256_set1_epi16(0x00F0);
#pragma clang loop unroll_count(UNROLL)
  for (int64_t i = 0; i < n; i++, o += PASS) {
    __m256i v = START ? _mm256_setzero_si256() : acc8[2 * i], h = START ? _mm256_setzero_si256() : acc8[2 * i + 1];
    for (int t = 0; t < PASS; t++) {
      __m256i x = _mm256_load_si256((const __m256i *)(tb + TABLE * t + o[t]));
      v = _mm256_add_epi8(v, x);
      h = _mm256_add_epi8(h, _mm256_srli_epi16(x, 4));
    }
    if (!WIDEN) {
      acc8[2 * i] = v, acc8[2 * i + 1] = h;
      continue;
    }
    h = _mm256_sub_epi8(h, _mm256_and_si256(_mm256_srli_epi16(v, 4), mid));
    __m256i l = _mm256_sub_epi8(v, _mm256_and_si256(_mm256_slli_epi16(h, 4), _mm256_set1_epi8((char)0xF0)));
    __m256i z[4] = {_mm256_cvtepu8_epi16(_mm256_castsi256_si128(l)), _mm256_cvtepu8_epi16(_mm256_extracti128_si256(l, 1)),
                    _mm256_cvtepu8_epi16(_mm256_castsi256_si128(h)), _mm256_cvtepu8_epi16(_mm256_extracti128_si256(h, 1))};
    __m256i *s = acc + 4 * i;
    for (int q = 0; q < 4; q++) s[q] = INIT ? z[q] : _mm256_add_epi16(s[q], z[q]);
  }
}

TARGET int bae_product_avx2_tables(const uint64_t *rowBits, int64_t n, const uint64_t *spos,
                                   const uint64_t *sneg, int64_t m, int64_t wpr, float *out, int64_t ldo,
                                   int64_t jLo, int64_t jHi) {
  const int64_t groups = (m + 6) / 7;
  const int64_t passes = (groups + PASS - 1) / PASS;
  if (m > 32767 || jLo % 64 != 0 || n < 1) return 0;
  const int64_t rows = 7 * PASS * passes;
  if (!ensure_scratch((size_t)PASS * TABLE + (size_t)n * 196 + (size_t)rows * 16 + (size_t)(passes * n) * PASS * 2 + (size_t)n * 4 + 64 + (size_t)(m / 64 + 2) * 8)) return 0;
  __m256i *tab = (__m256i *)scratch;
  __m256i *acc8 = tab + PASS * TABLE / 32;
  __m256i *acc = acc8 + 2 * n;
  const uint8_t *tb = (const uint8_t *)tab;
  uint64_t *col = (uint64_t *)(acc + 4 * n);
  for (int64_t k = 2 * m; k < 2 * rows; k++) col[k] = 0;
  uint16_t *off = (uint16_t *)(col + 2 * rows);
  int32_t *ones = (int32_t *)(off + passes * n * PASS);
  uint64_t *row = (uint64_t *)(ones + n + 16);  // one code row masked to m, plus a zero word
  const int64_t words = (m + 63) / 64;
  for (int64_t i = 0; i < n; i++) {
    int32_t c = 0;
    for (int64_t w = 0; w < words; w++) {
      row[w] = rowBits[i * wpr + w] & (m - 64 * w >= 64 ? ~0ULL : (1ULL << (m - 64 * w)) - 1);
      c += __builtin_popcountll(row[w]);
    }
    row[words] = 0;
    ones[i] = c;
    for (int64_t q = 0, g = 0; q < passes; q++)
      for (int t = 0; t < PASS; t++, g++) {
        int64_t k = 7 * g, w = k / 64, b = k % 64;
        uint64_t bits = 0;
        if (w < words) bits = (row[w] >> b | (b > 57 ? row[w + 1] << (64 - b) : 0)) & 127;
        off[(q * n + i) * PASS + t] = (uint16_t)(32 * bits);
      }
  }
  for (int64_t j0 = jLo; j0 < jHi; j0 += 64) {
    for (int64_t k = 0; k < m; k++) col[2 * k] = spos[k * wpr + j0 / 64], col[2 * k + 1] = sneg[k * wpr + j0 / 64];
    for (int64_t q0 = 0; q0 < passes; q0 += CHUNK) {
      const int64_t q1 = passes - q0 < CHUNK ? passes : q0 + CHUNK;
      for (int64_t q = q0; q < q1; q++) {
        for (int t = 0; t < PASS; t++) build_table(col, 7 * (PASS * q + t), tab + TABLE / 32 * t);
        const uint16_t *o = off + q * n * PASS;
        const int start = q == q0, widen = q + 1 == q1, init = q0 == 0;
        switch (start + 2 * widen + 4 * (widen && init)) {
        case 0: pass_rows(tb, o, n, acc8, acc, 0, 0, 0); break;
        case 1: pass_rows(tb, o, n, acc8, acc, 1, 0, 0); break;
        case 2: pass_rows(tb, o, n, acc8, acc, 0, 1, 0); break;
        case 3: pass_rows(tb, o, n, acc8, acc, 1, 1, 0); break;
        case 6: pass_rows(tb, o, n, acc8, acc, 0, 1, 1); break;
        default: pass_rows(tb, o, n, acc8, acc, 1, 1, 1); break;
        }
      }
    }
    int64_t cols = jHi - j0 < 64 ? jHi - j0 : 64;
    for (int64_t i = 0; i < n; i++) {
      const uint16_t *p = (const uint16_t *)(acc + 4 * i);
      float *o = out + i * ldo + j0;
      if (cols == 64) {
        const __m256i c = _mm256_set1_epi32(ones[i]);
        for (int q = 0; q < 8; q++)
          _mm256_storeu_ps(o + 8 * q, _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu16_epi32(_mm_load_si128((const __m128i *)(p + 8 * q))), c)));
      } else {
        for (int64_t l = 0; l < cols; l++) o[l] = (float)((int32_t)p[l] - ones[i]);
      }
    }
  }
  return 1;
}
#else
int bae_product_avx2_tables(const uint64_t *rowBits, int64_t n, const uint64_t *spos, const uint64_t *sneg,
                            int64_t m, int64_t wpr, float *out, int64_t ldo, int64_t jLo, int64_t jHi) {
  (void)rowBits, (void)n, (void)spos, (void)sneg, (void)m, (void)wpr, (void)out, (void)ldo, (void)jLo, (void)jHi;
  return 0;
}
#endif

// The table form of the AVX2 H·S product ("four Russians" on code bytes; product.c runs it for n >= 384
// code rows): for 32 output columns [j0, j0 + 32) and one code byte (8 consecutive k), the 256 subset sums
// Σ_{bit t of b} S_{k+t, j} (each in [−8, 8]) are tabulated as int8 vectors, 8 KB per byte; each code row
// then adds one table entry per code byte (one vpaddb per 32 outputs x 8 k). S is symmetric, so row k's
// values at those columns are 32 bits of S±_k. PASS tables are live at once (24 KB, L1) while every row
// passes; CHUNK passes add up in int8 (|sum| <= 8 * PASS * CHUNK = 120), then widen into int16 sums per
// row, exact while m <= 32767 (the caller checks). The cost does not depend on where S is zero, unlike the
// popcount form, whose rows with wide zero sets Z_j fall back to both planes (a third of the rows of a
// step's S at m = 8192). The lookups (n·m²/256, one load-and-add each) bound it; the table builds (m²
// entries) do not shrink with n. Benchmarks.md, "AVX2 H·S product, second pass", has the numbers.
#include "kernels_internal.h"
#include <stdlib.h>

#if BAE_X86
#define TARGET __attribute__((target("avx2")))
// (PASS, CHUNK) = (3, 5) measured fastest among (1, 15), (2, 7), (3, 5), (4, 3) at m = 2304 (Benchmarks.md);
// build scripts/bench_kernels.c with -DPASS=... -DCHUNK=... to time others (PASS <= 7: offsets fit 16 bits).
#ifndef PASS
#define PASS 3  // code bytes (tables) per pass over the rows
#endif
#ifndef CHUNK
#define CHUNK 5  // passes summed in int8: 8 * PASS * CHUNK <= 127
#endif
#if PASS < 1 || PASS > 7 || 8 * PASS * CHUNK > 127
#error "product_tables.c: PASS in 1...7 and 8 * PASS * CHUNK <= 127"
#endif

// Per-thread scratch, grown once and kept (the pool's threads live as long as the process): PASS byte
// tables (256 x 32 int8 each), per row the int8 sums of a chunk and the int16 sums of 32 columns, and
// the rows' code bytes as table offsets in pass order. About 1 MB at n = 512, m = 8192.
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

// Byte l of the result = bit l of pos − bit l of neg (+1, −1 or 0).
TARGET static inline __m256i expand(uint32_t pos, uint32_t neg) {
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
  __m256i p = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)pos), spread), bit);
  __m256i n = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)neg), spread), bit);
  return _mm256_sub_epi8(_mm256_cmpeq_epi8(n, bit), _mm256_cmpeq_epi8(p, bit));  // masks are −1 where set
}

// Table t[b] = Σ_{bit h of b} S row k0 + h over 32 columns: bits sh.. of the gathered words col[2k] (S+)
// and col[2k + 1] (S−).
TARGET static void build_table(const uint64_t *col, int64_t k0, int sh, __m256i *t) {
  __m256i e[8];
  for (int h = 0; h < 8; h++) e[h] = expand((uint32_t)(col[2 * (k0 + h)] >> sh), (uint32_t)(col[2 * (k0 + h) + 1] >> sh));
  // the 16 subsets of each nibble's rows, then every entry as one add of a high and a low subset sum
  __m256i lo[16], hi[16];
  lo[0] = hi[0] = _mm256_setzero_si256();
  for (int h = 0; h < 4; h++)
    for (int b = 0; b < (1 << h); b++) {
      lo[(1 << h) + b] = _mm256_add_epi8(lo[b], e[h]);
      hi[(1 << h) + b] = _mm256_add_epi8(hi[b], e[4 + h]);
    }
  for (int u = 0; u < 16; u++)
    for (int b = 0; b < 16; b++) _mm256_store_si256(t + 16 * u + b, _mm256_add_epi8(hi[u], lo[b]));
}

/// 1 when the table form ran (0: no scratch memory, or m too large for int16 sums).
TARGET int bae_product_avx2_tables(const uint64_t *rowBits, int64_t n, const uint64_t *spos,
                                   const uint64_t *sneg, int64_t m, int64_t wpr, float *out, int64_t ldo,
                                   int64_t jLo, int64_t jHi) {
  const int64_t bytes = (m + 7) / 8;  // code bytes that can hold bits
  const int64_t passes = (bytes + PASS - 1) / PASS;
  if (m > 32767 || jLo % 32 != 0 || n < 1) return 0;
  const int64_t rows = 8 * PASS * passes;  // S rows the tables cover (zero past m)
  if (!ensure_scratch((size_t)PASS * 256 * 32 + (size_t)n * 96 + (size_t)rows * 16 + (size_t)(passes * n) * PASS * 2))
    return 0;
  __m256i *tab = (__m256i *)scratch;              // tab[256 * t + subset], t < PASS
  __m256i *acc8 = tab + 256 * PASS;               // acc8[i]: row i's int8 sums of this chunk
  __m256i *acc = acc8 + n;                        // acc[2i], acc[2i + 1]: columns 0..15, 16..31 as int16
  const uint8_t *tb = (const uint8_t *)tab;
  // col[2k], col[2k + 1] = word wj of S+_k, S−_k: one 64-column word of every S row, gathered once for
  // both 32-column halves (the planes are read down their rows once per 64 columns)
  uint64_t *col = (uint64_t *)(acc + 2 * n);
  for (int64_t k = 2 * m; k < 2 * rows; k++) col[k] = 0;
  // off[(q * n + i) * PASS + t] = byte offset in the tables of row i's code byte PASS * q + t (table t)
  uint16_t *off = (uint16_t *)(col + 2 * rows);
  for (int64_t i = 0; i < n; i++) {
    const uint8_t *x = (const uint8_t *)(rowBits + i * wpr);
    for (int64_t q = 0, c = 0; q < passes; q++)
      for (int t = 0; t < PASS; t++, c++) off[(q * n + i) * PASS + t] = (uint16_t)(8192 * t + 32 * (c < bytes ? x[c] : 0));
  }
  for (int64_t j0 = jLo; j0 < jHi; j0 += 32) {
    const int sh = (int)(j0 % 64);
    if (sh == 0 || j0 == jLo)
      for (int64_t k = 0; k < m; k++) col[2 * k] = spos[k * wpr + j0 / 64], col[2 * k + 1] = sneg[k * wpr + j0 / 64];
    for (int64_t q0 = 0; q0 < passes; q0 += CHUNK) {
      const int64_t q1 = passes - q0 < CHUNK ? passes : q0 + CHUNK;
      for (int64_t q = q0; q < q1; q++) {
        // tables for code bytes PASS * q + t (rows past m: all zero)
        for (int t = 0; t < PASS; t++) build_table(col, 8 * (PASS * q + t), sh, tab + 256 * t);
        const uint16_t *o = off + q * n * PASS;
#define LOOKUP(t) _mm256_load_si256((const __m256i *)(tb + o[t]))
        // first pass of a chunk: start the int8 sums; last: widen them into the int16 sums
        const int first = q == q0, last = q + 1 == q1;
        for (int64_t i = 0; i < n; i++, o += PASS) {
          __m256i a = first ? LOOKUP(0) : _mm256_add_epi8(acc8[i], LOOKUP(0));
#pragma GCC unroll 4
          for (int t = 1; t < PASS; t++) a = _mm256_add_epi8(a, LOOKUP(t));
          if (!last) {
            acc8[i] = a;
            continue;
          }
          __m256i w0 = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(a)), w1 = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(a, 1));
          if (q0 == 0) {
            acc[2 * i] = w0, acc[2 * i + 1] = w1;
          } else {
            acc[2 * i] = _mm256_add_epi16(acc[2 * i], w0), acc[2 * i + 1] = _mm256_add_epi16(acc[2 * i + 1], w1);
          }
        }
      }
    }
    int64_t cols = jHi - j0 < 32 ? jHi - j0 : 32;
    for (int64_t i = 0; i < n; i++) {
      const int16_t *p = (const int16_t *)(acc + 2 * i);
      float *o = out + i * ldo + j0;
      if (cols == 32) {
        for (int q = 0; q < 4; q++)
          _mm256_storeu_ps(o + 8 * q, _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm_load_si128((const __m128i *)(p + 8 * q)))));
      } else {
        for (int64_t l = 0; l < cols; l++) o[l] = (float)p[l];
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

// The table form of the AVX2 H·S product ("four Russians" on 7-bit code groups; product.c runs it for n >= 384 code
// rows). As h_i has no bits past m, H·S = H·(S + J) − |h_i| (J all ones), and S + 1 is 0, 1 or 2, so a subset sum
// over 7 consecutive k (group g: k = 7g … 7g + 6) lies in [0, 14] and fits a nibble: one 32-byte table entry holds
// 64 output columns [j0, j0 + 64), column j0 + l in the low and j0 + 32 + l in the high nibble of byte l. A table
// (128 entries, 4 KB) covers 64 columns x 7 k; each code row adds one entry per group, as bytes into v (low sum +
// 16·high sum, mod 256) and shifted right by 4 (as 16-bit lanes) into h, whose odd bytes are then high sums and
// whose even bytes also carry 16·(the next byte's low sum), known mod 16 from v's odd byte; the sums are split once
// per chunk. So one table load (and its 16-bit offset), a shift and two adds per 448 multiply-adds, where the
// previous int8 code-byte tables (32 columns x 8 k per 32-byte entry, 8 KB per table; Benchmarks.md, "AVX2 H·S
// product, second pass") needed 1.75 table loads and 1.75 offset loads, and 3.5x the table stores. PASS tables are
// live at once (24 KB, L1) while every row passes; CHUNK passes add up in bytes (sums <= 14 * PASS * CHUNK = 252),
// then widen into uint16 sums per row, exact while 2m − 1 <= 65535 (m <= 32767 is checked on entry). S is
// symmetric, so row k's values at those columns are one 64-bit word of S±_k. The cost does not depend on where S is
// zero, unlike the popcount form's. The lookups (n·m²/448) bound it; the table builds (128 entries per 64 columns x
// 7 k) do not shrink with n. Benchmarks.md, "AVX2 H·S product, third pass", has the numbers.
#include "kernels_internal.h"
#include <stdlib.h>

#if BAE_X86
#define TARGET __attribute__((target("avx2")))
#define INLINE __attribute__((always_inline)) inline
// (PASS, CHUNK) = (6, 3) measured about as fast as (3, 6), (4, 4), (5, 3) and (7..9, 2) at m = 2304
// (Benchmarks.md, "AVX2 H·S product, third pass"); build scripts/bench_kernels.c with -DPASS=... -DCHUNK=...
// -DUNROLL=... to time others.
#ifndef PASS
#define PASS 6  // tables (7-bit code groups) per pass over the rows
#endif
#ifndef CHUNK
#define CHUNK 3  // passes summed in bytes: 14 * PASS * CHUNK <= 255
#endif
#ifndef UNROLL
#define UNROLL 2  // code rows per iteration of the row loop
#endif
#define TABLE 4096  // bytes per table: 128 entries x 32 bytes
#if PASS < 1 || PASS > 15 || 14 * PASS * CHUNK > 255
#error "product_tables.c: PASS in 1...15 and 14 * PASS * CHUNK <= 255"
#endif

// Per-thread scratch, grown once and kept (the pool's threads live as long as the process): PASS tables;
// per row the byte sums v, h of a chunk and the uint16 sums of 64 columns; the gathered S words; one code row
// masked to m; the rows' code counts; and the rows' 7-bit groups as table offsets in pass order. About
// 1.5 MB at n = 512, m = 8192.
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

// Table t[b] = Σ_{bit h of b} (S + 1) of row k0 + h over 64 columns, as nibbles: from the gathered words
// col[2k] (S+) and col[2k + 1] (S−) of the 64 columns.
TARGET static void build_table(const uint64_t *col, int64_t k0, __m256i *t) {
  const __m256i one = _mm256_set1_epi8(1);
  __m256i e[7];
  for (int h = 0; h < 7; h++) {
    uint64_t p = col[2 * (k0 + h)], q = col[2 * (k0 + h) + 1];
    __m256i lo = _mm256_add_epi8(expand((uint32_t)p, (uint32_t)q), one);
    __m256i hi = _mm256_add_epi8(expand((uint32_t)(p >> 32), (uint32_t)(q >> 32)), one);
    e[h] = _mm256_add_epi8(lo, _mm256_slli_epi16(hi, 4));  // bytes <= 2: the shift stays inside each byte
  }
  // the subsets of rows 0-3 and of rows 4-6, then every entry as one add of a high and a low subset sum
  __m256i lo[16], hi[8];
  lo[0] = hi[0] = _mm256_setzero_si256();
  for (int h = 0; h < 4; h++)
    for (int b = 0; b < (1 << h); b++) lo[(1 << h) + b] = _mm256_add_epi8(lo[b], e[h]);
  for (int h = 0; h < 3; h++)
    for (int b = 0; b < (1 << h); b++) hi[(1 << h) + b] = _mm256_add_epi8(hi[b], e[4 + h]);
  for (int u = 0; u < 8; u++)
    for (int b = 0; b < 16; b++) _mm256_store_si256(t + 16 * u + b, _mm256_add_epi8(hi[u], lo[b]));
}

// One pass of every row over the PASS live tables (o: the rows' offsets of this pass, PASS per row; table t
// is a constant displacement). START: the chunk's first pass (no byte sums yet); WIDEN: its last (split the
// sums and add them to the uint16 sums); INIT: the first chunk (the uint16 sums start here). Constants at
// every call, so each combination compiles to its own loop.
TARGET static INLINE void pass_rows(const uint8_t *tb, const uint16_t *o, int64_t n, __m256i *acc8, __m256i *acc,
                                    int START, int WIDEN, int INIT) {
  const __m256i evenHigh = _mm256_set1_epi16(0x00F0), high = _mm256_set1_epi8((char)0xF0);
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
    // h's even bytes hold high sum + 16·(low sum of the odd byte above), whose low 4 bits are v's odd byte's
    h = _mm256_sub_epi8(h, _mm256_and_si256(_mm256_srli_epi16(v, 4), evenHigh));
    __m256i l = _mm256_sub_epi8(v, _mm256_and_si256(_mm256_slli_epi16(h, 4), high));  // v − 16·high, mod 256
    __m256i z[4] = {_mm256_cvtepu8_epi16(_mm256_castsi256_si128(l)), _mm256_cvtepu8_epi16(_mm256_extracti128_si256(l, 1)),
                    _mm256_cvtepu8_epi16(_mm256_castsi256_si128(h)),
                    _mm256_cvtepu8_epi16(_mm256_extracti128_si256(h, 1))};
    __m256i *s = acc + 4 * i;  // columns 0-15, 16-31 (low nibbles), 32-47, 48-63 (high nibbles)
    for (int q = 0; q < 4; q++) s[q] = INIT ? z[q] : _mm256_add_epi16(s[q], z[q]);
  }
}

// off[(q * n + i) * PASS + t] = 32 x (bits of group PASS * q + t of row i), ones[i] = |h_i|; row: scratch
// for one code row (words + 1 words), masked to m so groups past m (and their padding) read zeros.
static void code_groups(const uint64_t *rowBits, int64_t n, int64_t m, int64_t wpr, int64_t passes,
                        uint64_t *row, int32_t *ones, uint16_t *off) {
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
        uint64_t bits = w < words ? (row[w] >> b | (b > 57 ? row[w + 1] << (64 - b) : 0)) & 127 : 0;
        off[(q * n + i) * PASS + t] = (uint16_t)(32 * bits);
      }
  }
}

// out[i][j0 + l] = uint16 sum − |h_i| for the cols <= 64 columns of the block.
TARGET static void write_out(const __m256i *acc, const int32_t *ones, int64_t n, int64_t cols, float *out,
                             int64_t ldo) {
  for (int64_t i = 0; i < n; i++) {
    const uint16_t *p = (const uint16_t *)(acc + 4 * i);
    float *o = out + i * ldo;
    if (cols == 64) {
      const __m256i c = _mm256_set1_epi32(ones[i]);
      for (int q = 0; q < 8; q++) {
        __m256i s = _mm256_cvtepu16_epi32(_mm_load_si128((const __m128i *)(p + 8 * q)));
        _mm256_storeu_ps(o + 8 * q, _mm256_cvtepi32_ps(_mm256_sub_epi32(s, c)));
      }
    } else {
      for (int64_t l = 0; l < cols; l++) o[l] = (float)((int32_t)p[l] - ones[i]);
    }
  }
}

/// 1 when the table form ran (0: no scratch memory, m too large for uint16 sums, or jLo not a multiple of 64).
TARGET int bae_product_avx2_tables(const uint64_t *rowBits, int64_t n, const uint64_t *spos,
                                   const uint64_t *sneg, int64_t m, int64_t wpr, float *out, int64_t ldo,
                                   int64_t jLo, int64_t jHi) {
  const int64_t groups = (m + 6) / 7;
  const int64_t passes = (groups + PASS - 1) / PASS;
  if (m > 32767 || jLo % 64 != 0 || n < 1) return 0;
  const int64_t rows = 7 * PASS * passes;  // S rows the tables cover (zero past m)
  const int64_t words = (m + 63) / 64;
  if (!ensure_scratch((size_t)PASS * TABLE + (size_t)n * (192 + 4) + (size_t)(rows + words + 1) * 16 +
                      (size_t)(passes * n) * PASS * 2))
    return 0;
  __m256i *tab = (__m256i *)scratch;      // tab[128 * t + subset], t < PASS
  __m256i *acc8 = tab + PASS * TABLE / 32;  // acc8[2i], acc8[2i + 1]: row i's v and h of this chunk
  __m256i *acc = acc8 + 2 * n;              // acc[4i .. 4i + 3]: row i's uint16 sums of 64 columns
  const uint8_t *tb = (const uint8_t *)tab;
  // col[2k], col[2k + 1] = word j0 / 64 of S+_k, S−_k: the block's 64 columns of every S row, gathered once
  uint64_t *col = (uint64_t *)(acc + 4 * n);
  for (int64_t k = 2 * m; k < 2 * rows; k++) col[k] = 0;
  uint64_t *row = col + 2 * rows;
  int32_t *ones = (int32_t *)(row + words + 1);
  uint16_t *off = (uint16_t *)(ones + n);
  code_groups(rowBits, n, m, wpr, passes, row, ones, off);
  for (int64_t j0 = jLo; j0 < jHi; j0 += 64) {
    for (int64_t k = 0; k < m; k++) col[2 * k] = spos[k * wpr + j0 / 64], col[2 * k + 1] = sneg[k * wpr + j0 / 64];
    for (int64_t q0 = 0; q0 < passes; q0 += CHUNK) {
      const int64_t q1 = passes - q0 < CHUNK ? passes : q0 + CHUNK;
      for (int64_t q = q0; q < q1; q++) {
        // tables for groups PASS * q + t (rows past m: S + 1 = 1 there, but no code row has those bits)
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
    write_out(acc, ones, n, jHi - j0 < 64 ? jHi - j0 : 64, out + j0, ldo);
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

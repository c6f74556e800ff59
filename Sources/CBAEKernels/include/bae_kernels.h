// Bit-level kernels for the Binary Autoencoder's codes, in C because Swift cannot enable CPU features
// (popcnt, AVX-512 VPOPCNTDQ) per function; each kernel picks its implementation from CPUID at run time.
// Layouts: a "row-packed" code matrix stores row i's m bits in words [i*wpr, (i+1)*wpr), bit j of the
// row at word j/64, bit j%64 (wpr is a multiple of 8 so rows are whole 512-bit vectors; padding bits are 0).
// A "column-packed" matrix stores column j's n bits (one per row) in words [j*wpc, (j+1)*wpc).
#ifndef BAE_KERNELS_H
#define BAE_KERNELS_H
#include <stdint.h>

/// Words per row-packed row of m bits: ceil(m / 512) * 8.
int64_t bae_row_words(int64_t m);

/// z: (n, m) row-major with leading dimension ldz. Replaces z by 1[z > 0] as 0.0/1.0, writes the
/// row-packed bits (rowBits: n*wpr words, fully overwritten) and adds each column's count of ones to counts[m].
void bae_binarize_inplace(float *z, int64_t n, int64_t m, int64_t ldz,
                          uint64_t *rowBits, int64_t wpr, int64_t *counts);

/// Column-packed transpose of a row-packed (n, m) bit matrix: colBits is m*wpc words, wpc = ceil(n/64).
void bae_transpose_bits(const uint64_t *rowBits, int64_t n, int64_t m, int64_t wpr,
                        uint64_t *colBits, int64_t wpc);

/// Pairs (j, k), k > j, are grouped in 64x64 tiles of the upper triangle, numbered row by row:
/// (jb, kb) for jb = 0.., kb = jb..; there are B(B+1)/2 tiles for B = ceil(m/64). For every pair in tiles
/// [tile0, tile1): d_jk = n*n11_jk - c_j*c_k where n11_jk = popcount(col_j AND col_k), so
/// sign(d_jk) = sign(C_jk) exactly. Sets bit k of row j and bit j of row k in spos (d > 0) or sneg (d < 0),
/// row-packed with wpr words per row (callers zero them first; bits are ORed).
/// Returns sum over those pairs of |d_jk| (exact; |C_jk| = |d_jk| / (n (n-1))).
int64_t bae_covariance_signs(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts,
                             int64_t n, int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg, int64_t wpr);

/// out[i*ldo + j] = popcount(row_i AND spos_j) - popcount(row_i AND sneg_j) for i < n, j < m:
/// the exact integer product H·S of binary codes H (n, m) with the ternary sign matrix S (m, m), S symmetric.
void bae_signed_popcount_product(const uint64_t *rowBits, int64_t n, const uint64_t *spos,
                                 const uint64_t *sneg, int64_t m, int64_t wpr, float *out, int64_t ldo);

/// 1 when the AVX-512 VPOPCNTDQ path is in use, 0 for the portable path (for benchmark reports).
int bae_kernels_have_avx512_popcnt(void);
/// Force an implementation (tests compare all paths): 1 = portable C, 2 = scalar popcnt (no AVX-512),
/// 0 restores the automatic choice.
void bae_kernels_force_portable(int on);
#endif

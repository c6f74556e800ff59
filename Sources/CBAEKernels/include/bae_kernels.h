// Bit-level kernels for the Binary Autoencoder's codes, in C because Swift cannot enable CPU features
// (popcnt, AVX2, AVX-512 VPOPCNTDQ) per function; each kernel picks its implementation from CPUID at run time.
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
/// row-packed with wpr words per row, and clears them otherwise.
/// The planes' words belong to tiles: tile (jb, kb) owns word kb of the rows of block jb and word jb of the rows
/// of block kb, and the last tile of each tile row, (jb, B-1), also the padding words [B, wpr) of the rows of
/// block jb. The call OVERWRITES exactly the words of the tiles in [tile0, tile1) and leaves all others as they
/// were: over every tile it writes every word of both planes (no zeroing needed first); over a part (one rank's
/// share) callers zero the planes first if the other tiles' words must read as zero (BAE_COVARIANCE_OVERWRITES).
/// Returns sum over those pairs of |d_jk| (exact; |C_jk| = |d_jk| / (n (n-1))).
int64_t bae_covariance_signs(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts,
                             int64_t n, int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg, int64_t wpr);
/// Defined since bae_covariance_signs overwrites its tiles' words instead of ORing into zeroed planes.
#define BAE_COVARIANCE_OVERWRITES 1

/// out[i*ldo + j] = popcount(row_i AND spos_j) - popcount(row_i AND sneg_j) for i < n, j < m:
/// the exact integer product H·S of binary codes H (n, m) with the ternary sign matrix S (m, m), S symmetric.
/// spos and sneg must be symmetric (bit k of row j = bit j of row k), disjoint, and zero past bit m, as are
/// the rows past bit m (bae_covariance_signs and bae_binarize_inplace make them so).
void bae_signed_popcount_product(const uint64_t *rowBits, int64_t n, const uint64_t *spos,
                                 const uint64_t *sneg, int64_t m, int64_t wpr, float *out, int64_t ldo);

/// 1 when the AVX-512 VPOPCNTDQ path is in use, 0 otherwise (kept for older callers).
int bae_kernels_have_avx512_popcnt(void);
/// Older form of bae_kernels_force_path: 1 = portable C, 2 = scalar popcnt, 0 = automatic choice.
void bae_kernels_force_portable(int on);

// ---- Threaded entry points: the same results, bitwise, for every thread count ----
// `threads` <= 1 runs on the caller. Work is split into disjoint output ranges (column words, tiles,
// output columns) and integer sums, so nothing depends on the thread count. Pool threads (and the per-thread
// scratch of the AVX2 table forms: pair signs for N <= 2048, H·S for n >= 384) are created on first need
// and kept: a steady-state call at the same or smaller shapes allocates nothing.

/// bae_binarize_inplace on `threads` threads (each owns a range of 64-column words).
void bae_binarize_inplace_mt(float *z, int64_t n, int64_t m, int64_t ldz,
                             uint64_t *rowBits, int64_t wpr, int64_t *counts, int threads);
/// bae_transpose_bits on `threads` threads (each owns a range of 64-column words).
void bae_transpose_bits_mt(const uint64_t *rowBits, int64_t n, int64_t m, int64_t wpr,
                           uint64_t *colBits, int64_t wpc, int threads);
/// bae_covariance_signs on `threads` threads (each owns a sub-range of [tile0, tile1); on AVX2 with N <= 2048,
/// the tiles of a run of tile columns).
int64_t bae_covariance_signs_mt(const uint64_t *colBits, int64_t m, int64_t wpc, const int64_t *counts,
                                int64_t n, int64_t tile0, int64_t tile1, uint64_t *spos, uint64_t *sneg,
                                int64_t wpr, int threads);
/// bae_signed_popcount_product on `threads` threads (each owns a range of output columns).
void bae_signed_popcount_product_mt(const uint64_t *rowBits, int64_t n, const uint64_t *spos,
                                    const uint64_t *sneg, int64_t m, int64_t wpr, float *out, int64_t ldo,
                                    int threads);

/// A part of a phase: fn(ctx, part, parts) does part `part` of `parts` (disjoint outputs).
typedef void (*bae_phase_fn)(void *ctx, int part, int parts);
/// Runs fn(ctx, part, parts) for part = 0..<parts on the kernels' thread pool (part 0 on the caller) and
/// returns when every part is done: the one mechanism every threaded phase (C kernels and the model's
/// Swift phases) uses. Calls are serialised; fn must not call bae_run_parts or a *_mt kernel itself.
/// A steady-state call allocates nothing (pool threads are created on first need and kept).
void bae_run_parts(bae_phase_fn fn, void *ctx, int parts);

// ---- The step's float phases on `threads` threads (phases.c); bitwise the same for every count ----
/// Adam over count elements: m += w1·(g − m); v = b2·v + w2·g²; p −= stepSize·m / (√v / bc2Sqrt + eps).
/// AVX-512F under the avx512 path, AVX2 under avx2, else portable C; bitwise the same on every path.
void bae_adam_update_mt(float *p, const float *g, float *m, float *v, int64_t count, float w1, float b2, float w2,
                        float stepSize, float bc2Sqrt, float eps, int threads);
/// g: (n, m) with leading dimension ldg, per row in place: g += e (when e != NULL); g += coef·(a_i − q)
/// (when a != NULL; a: (n, m) dense, q: m); then g = g − g² when signS. Each element in that order.
void bae_code_gradient_mt(float *g, int64_t n, int64_t m, int64_t ldg, const float *e, const float *a,
                          const float *q, float coef, int signS, int threads);
/// N·q = S·c (q = S·p) by the H·S product: writes the binary digits of counts[0..m) as row-packed code rows
/// (digit b in row b, wpr words each, zero past m) and returns their number L, the bit width of maxCount
/// (every count ≤ maxCount). Run bae_signed_popcount_product_mt over them (its row b is then S·β_b),
/// then bae_count_digit_sums.
int64_t bae_count_digit_rows(const int64_t *counts, int64_t m, int64_t wpr, int64_t maxCount, uint64_t *rows);
/// out[j] = Σ_b 2^b·products[b·ldo + j] over the L = `digits` product rows of the count digits: N·q_j, exact
/// (each product entry is an integer of magnitude ≤ m).
void bae_count_digit_sums(const float *products, int64_t digits, int64_t m, int64_t ldo, int64_t *out);
/// out[k] = Σ_i a[i·lda + k] for k < c, summed in row order.
void bae_column_sums_mt(const float *a, int64_t n, int64_t c, int64_t lda, float *out, int threads);
/// Per column k of x, x̂: (n, d): sse[k] = Σ_i (x̂ − x)², sumsq[k] = Σ_i x², sums[k] = Σ_i x, in Double, row order.
void bae_column_moments_mt(const float *x, const float *xhat, int64_t n, int64_t d, double *sse, double *sumsq,
                           double *sums, int threads);
/// Copies `row` (c floats) into each of the n rows of dst: (n, c).
void bae_fill_rows_mt(float *dst, int64_t n, int64_t c, const float *row, int threads);
/// r = (r − x)·scale over count elements.
void bae_scaled_residual_mt(float *r, const float *x, int64_t count, float scale, int threads);

// ---- The lookup-table ("four Russians") product of the dense binary decoder (lut.c) ----
/// Layout flags of bae_lut_product_mt: src stored (cols, inner), src[k*lds + c], instead of (inner, cols);
/// out stored (cols, rows), out[k*ldo + i], instead of (rows, cols).
enum { BAE_LUT_SOURCE_TRANSPOSED = 1, BAE_LUT_OUTPUT_TRANSPOSED = 2 };
/// Floats of scratch one thread of bae_lut_product_mt needs for `rows` x `inner`: 256 KiB of tables
/// (8 groups x 256 subsets x 32 columns), 8 KiB of source rows, and rows x 32 running sums when inner > 64.
int64_t bae_lut_scratch_floats(int64_t rows, int64_t inner);
/// out(i, k) = bias[k] (0 when bias is NULL) + Σ_{c < inner, bit c of row i} src(c, k) for i < rows,
/// k < cols: B·src for B (rows, inner) 0/1, bit-packed with wpb words per row (bit c at word c/64, bit
/// c%64; bits at or past `inner` must be 0); src(c, k) = src[c*lds + k] and out(i, k) = out[i*ldo + k],
/// or transposed per `layout` (BAE_LUT_* flags). Groups of 8 inner indices become tables of their 256
/// subset sums (per 32 output columns), and each row adds one entry per group. Summation order per
/// element: bias, then groups ascending, each entry built from its subset without the highest bit; the
/// same bits on every path, thread count and layout. scratch: scratchFloats ≥ bae_lut_scratch_floats()
/// per thread used (fewer threads run when it is smaller). Returns 0, or -1 (nothing written) with no scratch.
int bae_lut_product_mt(const uint64_t *bits, int64_t rows, int64_t wpb, int64_t inner, const float *src,
                       int64_t lds, int64_t cols, const float *bias, float *out, int64_t ldo, int layout,
                       float *scratch, int64_t scratchFloats, int threads);
/// The path bae_lut_product_mt runs: BAE_PATH_AVX512 (AVX-512F, under the AVX-512 path), BAE_PATH_AVX2,
/// or BAE_PATH_PORTABLE.
int bae_lut_path(void);

// ---- ISA paths and what runs ----
/// Kernel implementations, best last. Values are stable (tests and BAE_KERNEL_PATH use them).
enum {
  BAE_PATH_AUTO = 0,      ///< the best path the CPU supports
  BAE_PATH_PORTABLE = 1,  ///< plain C, any CPU
  BAE_PATH_POPCNT = 2,    ///< x86 scalar popcnt
  BAE_PATH_AVX2 = 3,      ///< x86 AVX2, nibble-table (vpshufb) popcount
  BAE_PATH_AVX512 = 4     ///< x86 AVX-512 VPOPCNTDQ
};
/// The kernels, for bae_kernels_path_of.
enum {
  BAE_KERNEL_BINARIZE = 0,
  BAE_KERNEL_TRANSPOSE = 1,
  BAE_KERNEL_COVARIANCE = 2,
  BAE_KERNEL_PRODUCT = 3,
  BAE_KERNEL_LUT = 4
};

/// 1 when this CPU (and build) can run `path`; BAE_PATH_AUTO and BAE_PATH_PORTABLE always can.
int bae_kernels_path_supported(int path);
/// Forces `path` for every later call (0 restores the automatic choice). Returns 0, or -1 and changes
/// nothing when the path is unknown or unsupported here. A forced path overrides BAE_KERNEL_PATH.
int bae_kernels_force_path(int path);
/// The path the next calls choose: forced, else BAE_KERNEL_PATH when valid, else the best supported.
int bae_kernels_selected_path(void);
/// The implementation `kernel` (BAE_KERNEL_*) runs under the selected path, as a BAE_PATH_* value:
/// binarize and the transpose have portable and AVX2 forms (AVX2 under the avx2 and avx512 paths); the LUT
/// product runs AVX-512F under the AVX-512 path.
int bae_kernels_path_of(int kernel);
/// Name of a path: "auto", "portable", "popcnt", "avx2", "avx512-vpopcntdq"; "unknown" otherwise.
const char *bae_kernels_path_name(int path);
/// What the environment variable BAE_KERNEL_PATH (read once, on first use) asked for:
/// 0 unset or "auto", 1 honoured, -1 not a path name, -2 a path this CPU cannot run (both ignored).
int bae_kernels_env_status(void);
/// Forms of the AVX2 H·S product: nibble tables of 7-bit code-group subset sums (needs m <= 32767 and
/// about 24 KB + 17 * m + n*(196 + 2*ceil(m/7)) B of per-thread scratch, grown when a call needs more and kept;
/// falls back to popcounts otherwise), popcounts over S+ (slower where S has many exact zeros), or automatic
/// (the default: tables for n >= 384 code rows, whose cost is mostly per row; popcounts for fewer).
enum { BAE_PRODUCT_TABLES = 0, BAE_PRODUCT_POPCOUNT = 1, BAE_PRODUCT_AUTO = 2 };
/// Chooses the AVX2 product form (tests and benchmarks compare them). Returns 0, or -1 for an unknown form.
int bae_kernels_set_product_form(int form);
/// The CPU's brand string from CPUID (e.g. "AMD EPYC 7B13 64-Core Processor"), trimmed;
/// "unknown" when the CPU does not report one (non-x86 builds). Static storage, never NULL.
const char *bae_kernels_cpu_model(void);
#endif

// Kernels of the sparse decoder (Documentation/Method.md, "Sparse decoder"): when few entries of the
// decoder input differ from a per-latent centre (0 for an SAE's activations, the rounded mean code for
// a BAE's bits), x̂, ∂W_dec, ∂a and ∂W_enc become gathers and scatters over those entries instead of dense
// GEMMs; the decoder's weight matrix is read, and ∂W_dec written, in their own (d, c) layout. Patterns are CSR (rowStart[n+1], column indices)
// and CSC (colStart[c+1], row indices, rows ascending within a column); values are read from the dense
// matrices at the pattern's positions, so one pattern serves every value matrix of a step.
// Every output element is written by one thread in a fixed order: results do not depend on `threads`.
#ifndef BAE_SPARSE_H
#define BAE_SPARSE_H
#include <stdint.h>

/// The implementation the sparse kernels run under the selected path (BAE_PATH_*): BAE_PATH_AVX2 (AVX2 +
/// FMA; also on AVX-512 machines) or BAE_PATH_PORTABLE (plain C; forced, or a CPU without AVX2/FMA).
int bae_sparse_path(void);

/// CSR pattern of the entries of v (n, c) (leading dimension ldv) with v[i,j] != center[j] (center NULL:
/// != 0). rowStart: n+1 entries; colIndex: room for every entry (n*c at most); rowValue (else NULL): the
/// same room, receives each entry's v[i, j] − center[j] (center NULL: v[i, j] − 0). Returns the entry count.
int64_t bae_sparse_pattern(const float *v, int64_t n, int64_t c, int64_t ldv, const float *center,
                           int64_t *rowStart, int32_t *colIndex, float *rowValue);

/// The CSR pattern of a row-packed bit matrix's (n, c; wpr words per row) entries away from centerBits (one
/// row of wpr words): colIndex as bae_sparse_pattern's, and rowValue = h_ij − μ_j (±1). Returns the count.
int64_t bae_sparse_pattern_bits(const uint64_t *bits, int64_t n, int64_t c, int64_t wpr, const uint64_t *centerBits,
                                int64_t *rowStart, int32_t *colIndex, float *rowValue);

/// rowValue[e] = v[i, j_e] for every entry of the CSR pattern (values of another matrix than the one the
/// pattern came from: an SAE's activations at its pass mask).
void bae_sparse_gather_values(const int64_t *rowStart, const int32_t *colIndex, int64_t n, const float *v,
                              int64_t ldv, float *rowValue);

/// The CSC form of a CSR pattern over c columns: colStart (c+1) and rowIndex (rowStart[n] entries),
/// rows ascending within each column; with colValue (else NULL, and rowValue unread), also each entry's
/// value from rowValue, in the same order.
void bae_sparse_columns(const int64_t *rowStart, const int32_t *colIndex, const float *rowValue, int64_t n,
                        int64_t c, int64_t *colStart, int32_t *rowIndex, float *colValue);

/// out (cols, rows) = aᵀ for a (rows, cols): blocked, on `threads` threads (each owns a range of out rows).
void bae_transpose_f32_mt(const float *a, int64_t rows, int64_t cols, int64_t lda, float *out, int64_t ldo,
                          int threads);

/// Floats of scratch the kernels below need per thread at width d, c latent columns and up to n rows: a
/// slab of the weights' (or ∂W_dec's) columns for a chunk of up to 64 output columns (≤ 2.5 MiB) with
/// x̂'s base row and room for ∂W_dec's chunk of its n input rows, or 8 rows of d floats for the dot; a
/// multiple of 16, so 64-byte aligned scratch keeps every thread's part aligned.
int64_t bae_sparse_scratch_floats(int64_t d, int64_t c, int64_t n);

/// x̂ over the CSR pattern with its values (n rows, c columns), with w (d, c) in its own layout (leading
/// dimension ldw): out[i, 0..<d] = bias + Σ_j center[j]·w[0..<d, j] + Σ_e rowValue_e·w[0..<d, j_e] (bias
/// NULL: 0; center NULL: no centre term), each element summed in that order (centre and entries by
/// ascending column). Every row of out is written. Threads own chunks of out's columns; scratch:
/// `threads` · bae_sparse_scratch_floats(d, c, n) floats.
void bae_sparse_decode_mt(const int64_t *rowStart, const int32_t *colIndex, const float *rowValue, int64_t n,
                          int64_t c, const float *center, const float *bias, const float *w, int64_t ldw, int64_t d,
                          float *out, int64_t ldo, float *scratch, int threads);

/// ∂a at the CSC pattern's entries with w (d, c) in its own layout: g[i, j] = Σ_k a[i, k]·w[k, j] (k < d)
/// for every entry; other entries of g are left as they are. scratch as for bae_sparse_decode_mt.
void bae_sparse_column_dot_mt(const int64_t *colStart, const int32_t *rowIndex, int64_t c, const float *a,
                              int64_t lda, const float *w, int64_t ldw, int64_t d, float *g, int64_t ldg,
                              float *scratch, int threads);

/// ∂W_dec over the CSC pattern with its values (bae_sparse_columns) of n rows and c columns, written in
/// out's own (d, c) layout (leading dimension ldo): out[0..<d, j] = center[j]·s + Σ_e colValue_e·a[i_e, 0..<d],
/// entries in row order (center NULL: 0 and s unused); every column of out is overwritten. a is (n, d) with
/// leading dimension lda. scratch as for bae_sparse_decode_mt.
void bae_sparse_scatter_columns_mt(const int64_t *colStart, const int32_t *rowIndex, const float *colValue,
                                   int64_t n, int64_t c, const float *center, const float *s, const float *a,
                                   int64_t lda, int64_t d, float *out, int64_t ldo, float *scratch, int threads);

/// Scatter over the CSC pattern, every column j < c: out[j, 0..<d] = center[j]·s[0..<d] + Σ_e (v[i_e, j] −
/// center[j])·a[i_e, 0..<d] (center NULL: 0 and s unused; s is the column sum Σ_i a[i, :] when center is
/// given), entries in row order. Overwrites every row of out, so a column with no entries gets center[j]·s.
void bae_sparse_scatter_mt(const int64_t *colStart, const int32_t *rowIndex, int64_t c, const float *v,
                           int64_t ldv, const float *center, const float *s, const float *a, int64_t lda,
                           int64_t d, float *out, int64_t ldo, int threads);
#endif

// Kernels of the sparse decoder (Documentation/Method.md, "Sparse decoder"): when few entries of the
// decoder input differ from a per-latent centre (0 for an SAE's activations, the rounded mean code for
// a BAE's bits), x̂, ∂W_dec, ∂a and ∂W_enc become gathers and scatters over those entries' rows of a
// transposed weight matrix instead of dense GEMMs. Patterns are CSR (rowStart[n+1], column indices)
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
/// != 0). rowStart: n+1 entries; colIndex: room for every entry (n*c at most). Returns the entry count.
int64_t bae_sparse_pattern(const float *v, int64_t n, int64_t c, int64_t ldv, const float *center,
                           int64_t *rowStart, int32_t *colIndex);

/// The CSC form of a CSR pattern over c columns: colStart (c+1) and rowIndex (rowStart[n] entries),
/// rows ascending within each column.
void bae_sparse_columns(const int64_t *rowStart, const int32_t *colIndex, int64_t n, int64_t c,
                        int64_t *colStart, int32_t *rowIndex);

/// out (cols, rows) = aᵀ for a (rows, cols): blocked, on `threads` threads (each owns a range of out rows).
void bae_transpose_f32_mt(const float *a, int64_t rows, int64_t cols, int64_t lda, float *out, int64_t ldo,
                          int threads);

/// Gather-add over the CSR pattern: out[i, 0..<d] += Σ_e (v[i, j_e] − center[j_e])·w[j_e, 0..<d] for
/// every row i < n (center NULL: 0), entries in pattern order. w is (c, d) with leading dimension ldw.
void bae_sparse_gather_add_mt(const int64_t *rowStart, const int32_t *colIndex, int64_t n, const float *v,
                              int64_t ldv, const float *center, const float *w, int64_t ldw, int64_t d,
                              float *out, int64_t ldo, int threads);

/// Gather-dot over the CSR pattern: g[i, j_e] = Σ_k a[i,k]·w[j_e,k] (k < d) for every entry; other
/// entries of g are left as they are.
void bae_sparse_gather_dot_mt(const int64_t *rowStart, const int32_t *colIndex, int64_t n, const float *a,
                              int64_t lda, const float *w, int64_t ldw, int64_t d, float *g, int64_t ldg,
                              int threads);

/// Scatter over the CSC pattern, every column j < c: out[j, 0..<d] = center[j]·s[0..<d] + Σ_e (v[i_e, j] −
/// center[j])·a[i_e, 0..<d] (center NULL: 0 and s unused; s is the column sum Σ_i a[i, :] when center is
/// given), entries in row order. Overwrites every row of out, so a column with no entries gets center[j]·s.
void bae_sparse_scatter_mt(const int64_t *colStart, const int32_t *rowIndex, int64_t c, const float *v,
                           int64_t ldv, const float *center, const float *s, const float *a, int64_t lda,
                           int64_t d, float *out, int64_t ldo, int threads);
#endif

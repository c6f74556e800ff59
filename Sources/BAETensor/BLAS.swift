// The one funnel to OpenBLAS's cblas. Shape checks trap (they are programmer errors);
// dimensions are converted to the 32-bit `blasint` here and nowhere else.
import COpenBLAS

/// Whether a GEMM operand is used as stored (`none`) or as its transpose.
public enum Transpose: Sendable { case none, transposed }

/// The single funnel to OpenBLAS: every matrix product and the thread-count setting go through here.
public enum BLAS {
  /// C = alpha·op(A)·op(B) + beta·C, all row-major (cblas_sgemm).
  /// op(A): (M, K), op(B): (K, N), C: (M, N).
  public static func gemm(
    _ a: Matrix, _ ta: Transpose, _ b: Matrix, _ tb: Transpose,
    into c: Matrix, alpha: Float = 1, beta: Float = 0
  ) {
    let (m, ka) = ta == .none ? (a.rows, a.cols) : (a.cols, a.rows)
    let (kb, n) = tb == .none ? (b.rows, b.cols) : (b.cols, b.rows)
    precondition(
      ka == kb && c.rows == m && c.cols == n,
      "gemm shapes: op(A) (\(m), \(ka)) · op(B) (\(kb), \(n)) -> C (\(c.rows), \(c.cols))")
    if m == 0 || n == 0 { return }
    if ka == 0 {  // empty inner dimension: C = beta·C
      for r in 0..<m { for j in 0..<n { c[r, j] = beta == 0 ? 0 : beta * c[r, j] } }
      return
    }
    precondition(
      m <= Int(Int32.max) && n <= Int(Int32.max) && ka <= Int(Int32.max),
      "gemm dimension exceeds 32-bit blasint")
    cblas_sgemm(
      CblasRowMajor,
      ta == .none ? CblasNoTrans : CblasTrans,
      tb == .none ? CblasNoTrans : CblasTrans,
      blasint(m), blasint(n), blasint(ka), alpha,
      a.base, blasint(a.ld), b.base, blasint(b.ld), beta, c.base, blasint(c.ld))
  }

  /// Number of threads OpenBLAS uses for one call.
  public static var threads: Int {
    get { Int(openblas_get_num_threads()) }
    set { openblas_set_num_threads(Int32(newValue)) }
  }

  /// The kernel set OpenBLAS chose at run time (openblas_get_corename, e.g. "Haswell", "Zen").
  public static var coreName: String {
    guard let p = openblas_get_corename() else { return "unknown" }
    return String(cString: p)
  }

  /// OpenBLAS build description (e.g. "OpenBLAS 0.3.21 ... Zen"), recorded in checkpoints.
  public static var configuration: String {
    guard let p = openblas_get_config() else { return "OpenBLAS (unknown)" }
    return String(cString: p)
  }
}

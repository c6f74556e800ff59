// The one funnel to OpenBLAS's cblas. Shape checks trap (they are programmer errors);
// dimensions are converted to the 32-bit `blasint` here and nowhere else.
import CBAEKernels
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
    var job = GemmJob(
      ta: ta == .none ? CblasNoTrans : CblasTrans, tb: tb == .none ? CblasNoTrans : CblasTrans,
      m: m, n: n, k: ka, alpha: alpha, a: a.base, lda: a.ld, b: b.base, ldb: b.ld, beta: beta, c: c.base, ldc: c.ld,
      splitColumns: n >= m)
    let parts = partCount(rows: m, cols: n, inner: ka)
    withUnsafeMutablePointer(to: &job) { bae_run_parts(gemmPart, $0, Int32(parts)) }
  }

  /// Threads for one product: with `threads` = T > 1 a product of at least `splitWork` multiply-adds is cut
  /// into up to T blocks of whole 64-row or 64-column slabs of C (the longer side), each a one-thread
  /// sgemm on the kernels' pool, whose threads sleep between calls (OpenBLAS's own workers spin-yield for
  /// ~2^28 cycles after each call and took cores from the step's threaded phases).
  static func partCount(rows m: Int, cols n: Int, inner k: Int) -> Int {
    guard let t = splitParts, t > 1, m * n * k >= splitWork else { return 1 }
    return Swift.max(1, Swift.min(t, Swift.max(m, n) / 64))
  }

  /// The smallest product (multiply-adds) worth waking the pool for.
  static let splitWork = 1 << 21
  /// The threads set through `threads`; nil: OpenBLAS's own threading as it started.
  nonisolated(unsafe) private static var splitParts: Int?

  /// Threads for one product. Setting it pins OpenBLAS to one thread per call and splits larger
  /// products over that many threads of the kernels' pool; unset, OpenBLAS's own default applies.
  public static var threads: Int {
    get { splitParts ?? Int(openblas_get_num_threads()) }
    set {
      splitParts = Swift.max(1, newValue)
      openblas_set_num_threads(1)
    }
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

/// One sgemm's arguments, handed to the pool's parts by pointer (no allocation per call).
private struct GemmJob {
  let ta: CBLAS_TRANSPOSE, tb: CBLAS_TRANSPOSE
  let m: Int, n: Int, k: Int
  let alpha: Float
  let a: UnsafeMutablePointer<Float>, lda: Int
  let b: UnsafeMutablePointer<Float>, ldb: Int
  let beta: Float
  let c: UnsafeMutablePointer<Float>, ldc: Int
  let splitColumns: Bool
}

/// Part p of P of a GemmJob: the p-th slab of C's columns (or rows), in multiples of 64.
private let gemmPart: @convention(c) (UnsafeMutableRawPointer?, Int32, Int32) -> Void = { ctx, p, parts in
  let j = ctx!.assumingMemoryBound(to: GemmJob.self).pointee
  let len = j.splitColumns ? j.n : j.m
  let lo = Swift.min(len, (len * Int(p) / Int(parts)) / 64 * 64)
  let hi = p + 1 == parts ? len : Swift.min(len, (len * (Int(p) + 1) / Int(parts)) / 64 * 64)
  if hi <= lo { return }
  var a = j.a, b = j.b, c = j.c, m = j.m, n = j.n
  if j.splitColumns {
    b += j.tb == CblasNoTrans ? lo : lo * j.ldb
    c += lo
    n = hi - lo
  } else {
    a += j.ta == CblasNoTrans ? lo * j.lda : lo
    c += lo * j.ldc
    m = hi - lo
  }
  cblas_sgemm(
    CblasRowMajor, j.ta, j.tb, blasint(m), blasint(n), blasint(j.k), j.alpha, a, blasint(j.lda), b, blasint(j.ldb),
    j.beta, c, blasint(j.ldc))
}

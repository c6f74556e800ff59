// BLAS.gemm against a naive Double triple loop: all four transpose combinations, views whose leading
// dimension exceeds their width (sub-blocks of a larger buffer, whose padding must stay untouched),
// alpha/beta, and the empty-dimension paths that never reach cblas.
import BAETensor
import XCTest

final class BLASTests: XCTestCase {
  /// A (rows, cols) view with leading dimension `ld` inside a fresh buffer filled with `pad`,
  /// then the view's own elements set from a seeded stream in [−1, 1).
  private func matrix(_ rows: Int, _ cols: Int, ld: Int? = nil, seed: UInt64, pad: Float = 777)
    -> (buffer: AlignedBuffer<Float>, view: Matrix)
  {
    let ld = ld ?? cols
    let buffer = AlignedBuffer<Float>(count: max(rows * ld, 1))
    buffer.buffer.update(repeating: pad)
    let view = Matrix(buffer.baseAddress, rows: rows, cols: cols, ld: ld)
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    for r in 0..<rows {
      for c in 0..<cols {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        view[r, c] = Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
      }
    }
    return (buffer, view)
  }

  /// op(A)·op(B)·alpha + beta·C0 in Double, element (i, j).
  private func naive(
    _ a: Matrix, _ ta: Transpose, _ b: Matrix, _ tb: Transpose, c0: [[Float]],
    alpha: Float, beta: Float
  ) -> [[Double]] {
    let m = ta == .none ? a.rows : a.cols, k = ta == .none ? a.cols : a.rows
    let n = tb == .none ? b.cols : b.rows
    var out = [[Double]](repeating: [Double](repeating: 0, count: n), count: m)
    for i in 0..<m {
      for j in 0..<n {
        var s = 0.0
        for p in 0..<k {
          let av = ta == .none ? a[i, p] : a[p, i]
          let bv = tb == .none ? b[p, j] : b[j, p]
          s += Double(av) * Double(bv)
        }
        out[i][j] = Double(alpha) * s + (beta == 0 ? 0 : Double(beta) * Double(c0[i][j]))
      }
    }
    return out
  }

  private func snapshot(_ c: Matrix) -> [[Float]] {
    (0..<c.rows).map { r in (0..<c.cols).map { c[r, $0] } }
  }

  private func assertClose(
    _ c: Matrix, _ want: [[Double]], _ what: String,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(c.rows, want.count, what, file: file, line: line)
    var worst = 0.0
    for i in 0..<c.rows {
      for j in 0..<c.cols {
        let tol = 1e-5 * max(1, abs(want[i][j]))
        let e = abs(Double(c[i, j]) - want[i][j])
        worst = max(worst, e / tol)
        if e > tol {
          XCTFail("\(what): C[\(i), \(j)] = \(c[i, j]), naive \(want[i][j])", file: file, line: line)
          return
        }
      }
    }
    XCTAssertLessThanOrEqual(worst, 1, what, file: file, line: line)
  }

  /// The elements of `buffer` outside the view (row padding and the tail) still hold `pad`.
  private func assertPaddingUntouched(
    _ buffer: AlignedBuffer<Float>, _ view: Matrix, pad: Float = 777,
    _ what: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    for idx in 0..<buffer.count {
      let r = idx / view.ld, c = idx % view.ld
      if r < view.rows && c < view.cols { continue }
      if buffer[idx] != pad {
        XCTFail("\(what): element \(idx) outside the view was written (\(buffer[idx]))", file: file, line: line)
        return
      }
    }
  }

  /// Stored shape of an operand whose op() has shape (rows, cols).
  private func stored(_ rows: Int, _ cols: Int, _ t: Transpose) -> (Int, Int) {
    t == .none ? (rows, cols) : (cols, rows)
  }

  func testAllTransposeCombinationsMatchNaiveProduct() {
    let (m, k, n) = (7, 5, 3)  // distinct, so a swapped dimension cannot pass by accident
    for ta in [Transpose.none, .transposed] {
      for tb in [Transpose.none, .transposed] {
        let (ar, ac) = stored(m, k, ta), (br, bc) = stored(k, n, tb)
        let a = matrix(ar, ac, seed: 1), b = matrix(br, bc, seed: 2), c = matrix(m, n, seed: 3)
        let c0 = snapshot(c.view)
        BLAS.gemm(a.view, ta, b.view, tb, into: c.view)
        assertClose(c.view, naive(a.view, ta, b.view, tb, c0: c0, alpha: 1, beta: 0), "\(ta)·\(tb)")
      }
    }
  }

  func testAlphaAndBetaAccumulate() {
    for (ta, tb) in [(Transpose.none, Transpose.transposed), (.transposed, .none)] {
      let (ar, ac) = stored(4, 6, ta), (br, bc) = stored(6, 5, tb)
      let a = matrix(ar, ac, seed: 4), b = matrix(br, bc, seed: 5), c = matrix(4, 5, seed: 6)
      let c0 = snapshot(c.view)
      BLAS.gemm(a.view, ta, b.view, tb, into: c.view, alpha: -0.5, beta: 2)
      assertClose(c.view, naive(a.view, ta, b.view, tb, c0: c0, alpha: -0.5, beta: 2), "alpha −0.5 beta 2, \(ta)·\(tb)")
    }
  }

  func testBetaZeroIgnoresNaNInOutput() {
    let a = matrix(3, 4, seed: 7), b = matrix(4, 2, seed: 8), c = matrix(3, 2, seed: 9)
    c.buffer.buffer.update(repeating: .nan)
    BLAS.gemm(a.view, .none, b.view, .none, into: c.view)
    assertClose(
      c.view, naive(a.view, .none, b.view, .none, c0: snapshot(c.view), alpha: 1, beta: 0),
      "beta 0 must overwrite, not scale, C")
  }

  func testLeadingDimensionsLargerThanWidth() {
    let (m, k, n) = (6, 4, 5)
    for ta in [Transpose.none, .transposed] {
      for tb in [Transpose.none, .transposed] {
        let (ar, ac) = stored(m, k, ta), (br, bc) = stored(k, n, tb)
        let a = matrix(ar, ac, ld: ac + 3, seed: 10), b = matrix(br, bc, ld: bc + 2, seed: 11)
        let c = matrix(m, n, ld: n + 4, seed: 12)
        let c0 = snapshot(c.view)
        BLAS.gemm(a.view, ta, b.view, tb, into: c.view, alpha: 1.5, beta: 0.25)
        let what = "ld > cols, \(ta)·\(tb)"
        assertClose(c.view, naive(a.view, ta, b.view, tb, c0: c0, alpha: 1.5, beta: 0.25), what)
        assertPaddingUntouched(c.buffer, c.view, what)
      }
    }
  }

  func testSubBlockOfALargerMatrix() {
    // rows 2..<5, columns 1..<4 of a (6, 7) matrix times a (3, 2) matrix, into columns 3..<5 of a (4, 6) one
    let big = matrix(6, 7, seed: 13)
    let a = Matrix(big.view.row(2) + 1, rows: 3, cols: 3, ld: 7)
    let b = matrix(3, 2, seed: 14)
    let out = matrix(4, 6, seed: 15)
    let c = Matrix(out.view.row(0) + 3, rows: 3, cols: 2, ld: 6)
    let before = snapshot(out.view)
    BLAS.gemm(a, .none, b.view, .none, into: c)
    assertClose(c, naive(a, .none, b.view, .none, c0: snapshot(c), alpha: 1, beta: 0), "sub-block")
    for r in 0..<4 {
      for col in 0..<6 where !(r < 3 && col >= 3 && col < 5) {
        XCTAssertEqual(out.view[r, col], before[r][col], "outside the sub-block C[\(r), \(col)] changed")
      }
    }
  }

  func testEmptyInnerDimensionGivesBetaTimesC() {
    for ta in [Transpose.none, .transposed] {
      let (ar, ac) = stored(3, 0, ta), (br, bc) = stored(0, 4, .none)
      let a = matrix(ar, ac, seed: 16), b = matrix(br, bc, seed: 17)

      let zeroed = matrix(3, 4, ld: 6, seed: 18)
      zeroed.view[1, 2] = .nan  // beta 0 overwrites even NaN
      BLAS.gemm(a.view, ta, b.view, .none, into: zeroed.view)
      for r in 0..<3 { for c in 0..<4 { XCTAssertEqual(zeroed.view[r, c], 0, "k = 0, beta 0: C[\(r), \(c)]") } }
      assertPaddingUntouched(zeroed.buffer, zeroed.view, "k = 0, beta 0")

      let scaled = matrix(3, 4, ld: 5, seed: 19)
      let c0 = snapshot(scaled.view)
      BLAS.gemm(a.view, ta, b.view, .none, into: scaled.view, alpha: 3, beta: -2)
      for r in 0..<3 {
        for c in 0..<4 { XCTAssertEqual(scaled.view[r, c], -2 * c0[r][c], "k = 0, beta −2: C[\(r), \(c)]") }
      }
      assertPaddingUntouched(scaled.buffer, scaled.view, "k = 0, beta −2")
    }
  }

  func testEmptyOutputDimensionsTouchNothing() {
    // m = 0: A is (0, 3); n = 0: B is (3, 0). C has no elements; its buffer must stay as it was.
    let a0 = matrix(0, 3, seed: 20), b = matrix(3, 2, seed: 21)
    let c0 = matrix(0, 2, seed: 22)
    BLAS.gemm(a0.view, .none, b.view, .none, into: c0.view, beta: 5)
    XCTAssertEqual(c0.buffer[0], 777, "m = 0 wrote into C's storage")

    let a = matrix(2, 3, seed: 23), b0 = matrix(3, 0, ld: 1, seed: 24)
    let cn = matrix(2, 0, ld: 1, seed: 25)
    BLAS.gemm(a.view, .none, b0.view, .none, into: cn.view, beta: 5)
    XCTAssertEqual(cn.buffer.toArray(), [777, 777], "n = 0 wrote into C's storage")
  }

  func testThreadCountRoundTripsAndConfigurationNamesOpenBLAS() {
    let before = BLAS.threads
    defer { BLAS.threads = before }
    BLAS.threads = 1
    XCTAssertEqual(BLAS.threads, 1)
    XCTAssertTrue(BLAS.configuration.contains("OpenBLAS"), BLAS.configuration)
  }
}

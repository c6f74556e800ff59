// The sparse decoder's C kernels on every path this CPU runs (portable, and AVX2 + FMA where supported),
// against naive double-precision definitions, on widths that exercise the 32-float blocks, the 8-float
// tail and the scalar tail, and rows with more entries than one coefficient chunk (64); and at 1, 2 and
// 3 threads, which must agree bit for bit.
import BAERandom
import CBAEKernels
import XCTest

final class SparseKernelTests: XCTestCase {
  override func tearDown() { _ = bae_kernels_force_path(Int32(BAE_PATH_AUTO)) }

  /// A random sparse problem: v (n, c) with about `density` of its entries away from the centre.
  struct Problem {
    let n: Int, c: Int, d: Int
    var v: [Float], center: [Float]?, w: [Float], a: [Float], s: [Float]
    var rowStart: [Int64], colIndex: [Int32], colStart: [Int64], rowIndex: [Int32]
    var entries: Int { Int(rowStart[n]) }

    init(n: Int, c: Int, d: Int, density: Double, centered: Bool, seed: UInt64) {
      self.n = n
      self.c = c
      self.d = d
      var rng = SplitMix64(seed: seed)
      let mu: [Float] = (0..<c).map { _ in centered ? Float(rng.next() % 2) : 0 }
      center = centered ? mu : nil
      v = []
      for _ in 0..<n {
        for j in 0..<c {
          let away = rng.nextUnit() < density
          v.append(centered ? (away ? 1 - mu[j] : mu[j]) : (away ? Float(rng.nextGaussian()) : 0))
        }
      }
      w = (0..<(c * d)).map { _ in Float(rng.nextGaussian()) }
      a = (0..<(n * d)).map { _ in Float(rng.nextGaussian()) }
      s = (0..<d).map { _ in Float(rng.nextGaussian()) }
      rowStart = [Int64](repeating: -1, count: n + 1)
      colIndex = [Int32](repeating: -1, count: n * c)
      colStart = [Int64](repeating: -1, count: c + 1)
      rowIndex = [Int32](repeating: -1, count: n * c)
      let got = v.withUnsafeBufferPointer { vp in
        (center ?? []).withUnsafeBufferPointer { cp in
          bae_sparse_pattern(
            vp.baseAddress, Int64(n), Int64(c), Int64(c), centered ? cp.baseAddress : nil, &rowStart, &colIndex)
        }
      }
      precondition(got == rowStart[n], "pattern count")
      bae_sparse_columns(rowStart, colIndex, Int64(n), Int64(c), &colStart, &rowIndex)
    }

    func coef(_ i: Int, _ j: Int) -> Double { Double(v[i * c + j]) - Double(center?[j] ?? 0) }

    func gatherAdd(threads: Int) -> [Float] {
      var out = a  // out starts non-zero: the kernel adds
      v.withUnsafeBufferPointer { vp in
        (center ?? []).withUnsafeBufferPointer { cp in
          bae_sparse_gather_add_mt(
            rowStart, colIndex, Int64(n), vp.baseAddress, Int64(c), center == nil ? nil : cp.baseAddress, w,
            Int64(d), Int64(d), &out, Int64(d), Int32(threads))
        }
      }
      return out
    }

    func gatherDot(threads: Int) -> [Float] {
      var g = [Float](repeating: 7, count: n * c)  // entries off the pattern stay 7
      bae_sparse_gather_dot_mt(
        rowStart, colIndex, Int64(n), a, Int64(d), w, Int64(d), Int64(d), &g, Int64(c), Int32(threads))
      return g
    }

    func scatter(threads: Int) -> [Float] {
      var out = [Float](repeating: 7, count: c * d)  // every row is overwritten
      v.withUnsafeBufferPointer { vp in
        (center ?? []).withUnsafeBufferPointer { cp in
          bae_sparse_scatter_mt(
            colStart, rowIndex, Int64(c), vp.baseAddress, Int64(c), center == nil ? nil : cp.baseAddress, s, a,
            Int64(d), Int64(d), &out, Int64(d), Int32(threads))
        }
      }
      return out
    }

    // naive definitions over the dense matrices, in Double
    var naiveGatherAdd: [Double] {
      var out = a.map(Double.init)
      for i in 0..<n { for j in 0..<c { for k in 0..<d { out[i * d + k] += coef(i, j) * Double(w[j * d + k]) } } }
      return out
    }
    var naiveGatherDot: [Double] {
      var g = [Double](repeating: 7, count: n * c)
      for i in 0..<n {
        for j in 0..<c where coef(i, j) != 0 {
          var t = 0.0
          for k in 0..<d { t += Double(a[i * d + k]) * Double(w[j * d + k]) }
          g[i * c + j] = t
        }
      }
      return g
    }
    var naiveScatter: [Double] {
      var out = [Double](repeating: 0, count: c * d)
      for j in 0..<c {
        for k in 0..<d { out[j * d + k] = Double(center?[j] ?? 0) * Double(s[k]) }
        for i in 0..<n { for k in 0..<d { out[j * d + k] += coef(i, j) * Double(a[i * d + k]) } }
      }
      return out
    }
  }

  func assertNear(_ got: [Float], _ ref: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, ref.count, what, file: file, line: line)
    let scale = ref.map(abs).max() ?? 1
    let diff = zip(got, ref).map { abs(Double($0) - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(diff, 2e-5 * Swift.max(scale, 1), "\(what): max|Δ| \(diff)", file: file, line: line)
  }

  func testPatternsHoldExactlyTheEntriesAwayFromTheCentre() {
    for centered in [false, true] {
      let p = Problem(n: 9, c: 70, d: 3, density: 0.3, centered: centered, seed: 3)
      var expected: [(Int, Int)] = []
      for i in 0..<p.n { for j in 0..<p.c where p.coef(i, j) != 0 { expected.append((i, j)) } }
      XCTAssertGreaterThan(expected.count, 50)
      XCTAssertEqual(p.entries, expected.count)
      var csr: [(Int, Int)] = []
      for i in 0..<p.n { for e in Int(p.rowStart[i])..<Int(p.rowStart[i + 1]) { csr.append((i, Int(p.colIndex[e]))) } }
      XCTAssertTrue(csr.elementsEqual(expected, by: ==), "CSR entries, centered \(centered)")
      // CSC: the same entries, column by column, rows ascending
      var csc: [(Int, Int)] = []
      for j in 0..<p.c { for e in Int(p.colStart[j])..<Int(p.colStart[j + 1]) { csc.append((Int(p.rowIndex[e]), j)) } }
      let byColumn = expected.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
      XCTAssertTrue(csc.elementsEqual(byColumn, by: ==), "CSC entries, centered \(centered)")
    }
  }

  func testTransposeOnEveryThreadCount() {
    var rng = SplitMix64(seed: 4)
    // portable, and AVX2 (8x8 blocks in registers, edges one by one) where the CPU has it
    let paths = [BAE_PATH_PORTABLE, BAE_PATH_AVX2].map { Int32($0) }.filter { bae_kernels_path_supported($0) != 0 }
    for path in paths {
      XCTAssertEqual(bae_kernels_force_path(path), 0)
      for (r, c) in [(1, 1), (33, 70), (64, 31), (40, 96)] {
        let a = (0..<(r * c)).map { _ in Float(rng.nextGaussian()) }
        for t in [1, 2, 3] {
          var out = [Float](repeating: 0, count: r * c)
          bae_transpose_f32_mt(a, Int64(r), Int64(c), Int64(c), &out, Int64(r), Int32(t))
          XCTAssertEqual(out, (0..<(c * r)).map { a[($0 % r) * c + $0 / r] }, "path \(path), (\(r), \(c)) T \(t)")
        }
      }
    }
  }

  func testPortablePath() throws { try checkPath(Int32(BAE_PATH_PORTABLE), expected: Int32(BAE_PATH_PORTABLE)) }
  func testAVX2Path() throws { try checkPath(Int32(BAE_PATH_AVX2), expected: Int32(BAE_PATH_AVX2)) }
  func testAutomaticPath() throws { try checkPath(Int32(BAE_PATH_AUTO), expected: nil) }

  func checkPath(_ path: Int32, expected: Int32?) throws {
    guard bae_kernels_path_supported(path) != 0 else { throw XCTSkip("this CPU cannot run path \(path)") }
    XCTAssertEqual(bae_kernels_force_path(path), 0)
    if let expected {
      if expected == Int32(BAE_PATH_AVX2) && bae_sparse_path() != expected {
        throw XCTSkip("AVX2 without FMA: the sparse kernels run portable C")
      }
      XCTAssertEqual(bae_sparse_path(), expected, "the sparse kernels' path")
    }
    // widths: 77 = 2·32 + 8 + 5 (blocks, 8-wide tail, scalar tail), 5 (scalar only), 64 (blocks only);
    // c = 150 at density 0.6 puts ~90 entries in a row, past one 64-entry coefficient chunk
    for (n, c, d, density) in [(13, 40, 77, 0.2), (7, 150, 5, 0.6), (40, 150, 64, 0.6), (1, 3, 9, 0.0)] {
      for centered in [false, true] {
        let p = Problem(n: n, c: c, d: d, density: density, centered: centered, seed: UInt64(n * 1000 + c + d))
        let what = "path \(path) (\(n), \(c), \(d)) centered \(centered)"
        let add = p.gatherAdd(threads: 1), dot = p.gatherDot(threads: 1), sc = p.scatter(threads: 1)
        assertNear(add, p.naiveGatherAdd, "\(what): gather-add")
        assertNear(dot, p.naiveGatherDot, "\(what): gather-dot")
        assertNear(sc, p.naiveScatter, "\(what): scatter")
        for t in [2, 3] {
          XCTAssertEqual(p.gatherAdd(threads: t), add, "\(what): gather-add at T = \(t)")
          XCTAssertEqual(p.gatherDot(threads: t), dot, "\(what): gather-dot at T = \(t)")
          XCTAssertEqual(p.scatter(threads: t), sc, "\(what): scatter at T = \(t)")
        }
      }
    }
  }
}

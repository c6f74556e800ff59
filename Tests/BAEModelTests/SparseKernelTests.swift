// The sparse decoder's C kernels on every path this CPU runs (portable, and AVX2 + FMA where supported),
// against naive double-precision definitions, on widths that exercise the slab kernels' chunks (64 or 32
// output columns, whole vectors of 8 and the scalar tail), the ∂W_enc scatter's 32-float blocks and
// rows with more entries than one coefficient chunk (64); and at 1, 2 and 3 threads, which must agree
// bit for bit. The decoder weights w are (d, c), the decoder's own layout.
import BAERandom
import CBAEKernels
import XCTest

final class SparseKernelTests: XCTestCase {
  override func tearDown() { _ = bae_kernels_force_path(Int32(BAE_PATH_AUTO)) }

  /// A random sparse problem: v (n, c) with about `density` of its entries away from the centre.
  struct Problem {
    let n: Int, c: Int, d: Int
    var v: [Float], center: [Float]?, w: [Float], a: [Float], s: [Float]
    var rowStart: [Int64], colIndex: [Int32], rowValue: [Float], colStart: [Int64], rowIndex: [Int32]
    var colValue: [Float]
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
      w = (0..<(d * c)).map { _ in Float(rng.nextGaussian()) }  // (d, c)
      a = (0..<(n * d)).map { _ in Float(rng.nextGaussian()) }
      s = (0..<d).map { _ in Float(rng.nextGaussian()) }
      rowStart = [Int64](repeating: -1, count: n + 1)
      colIndex = [Int32](repeating: -1, count: n * c)
      colStart = [Int64](repeating: -1, count: c + 1)
      rowIndex = [Int32](repeating: -1, count: n * c)
      rowValue = [Float](repeating: .nan, count: n * c)
      colValue = [Float](repeating: .nan, count: n * c)
      let got = v.withUnsafeBufferPointer { vp in
        (center ?? []).withUnsafeBufferPointer { cp in
          bae_sparse_pattern(
            vp.baseAddress, Int64(n), Int64(c), Int64(c), centered ? cp.baseAddress : nil, &rowStart, &colIndex,
            &rowValue)
        }
      }
      precondition(got == rowStart[n], "pattern count")
      bae_sparse_columns(rowStart, colIndex, rowValue, Int64(n), Int64(c), &colStart, &rowIndex, &colValue)
    }

    func scratch(_ threads: Int) -> [Float] {
      [Float](repeating: .nan, count: threads * Int(bae_sparse_scratch_floats(Int64(d), Int64(c), Int64(n))))
    }

    func coef(_ i: Int, _ j: Int) -> Double { Double(v[i * c + j]) - Double(center?[j] ?? 0) }

    /// x̂ = s (the bias) + W·μ + the entries; every element of out is written
    func gatherAdd(threads: Int) -> [Float] {
      var out = [Float](repeating: .nan, count: n * d)
      var work = scratch(threads)
      (center ?? []).withUnsafeBufferPointer { cp in
        bae_sparse_decode_mt(
          rowStart, colIndex, rowValue, Int64(n), Int64(c), center == nil ? nil : cp.baseAddress, s, w, Int64(c),
          Int64(d), &out, Int64(d), &work, Int32(threads))
      }
      return out
    }

    func gatherDot(threads: Int) -> [Float] {
      var g = [Float](repeating: 7, count: n * c)  // entries off the pattern stay 7
      var work = scratch(threads)
      bae_sparse_column_dot_mt(
        colStart, rowIndex, Int64(c), a, Int64(d), w, Int64(c), Int64(d), &g, Int64(c), &work, Int32(threads))
      return g
    }

    /// ∂W_dec: (d, c), every entry overwritten
    func scatterColumns(threads: Int) -> [Float] {
      var out = [Float](repeating: 7, count: d * c)
      var work = scratch(threads)
      (center ?? []).withUnsafeBufferPointer { cp in
        bae_sparse_scatter_columns_mt(
          colStart, rowIndex, colValue, Int64(n), Int64(c), center == nil ? nil : cp.baseAddress, s, a, Int64(d), Int64(d),
          &out, Int64(c), &work, Int32(threads))
      }
      return out
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
      var out = [Double](repeating: 0, count: n * d)
      for i in 0..<n {
        for k in 0..<d { out[i * d + k] = Double(s[k]) }
        for j in 0..<c {
          let total = Double(center?[j] ?? 0) + coef(i, j)  // = v[i, j] for a BAE's bits
          for k in 0..<d { out[i * d + k] += total * Double(w[k * c + j]) }
        }
      }
      return out
    }
    var naiveGatherDot: [Double] {
      var g = [Double](repeating: 7, count: n * c)
      for i in 0..<n {
        for j in 0..<c where coef(i, j) != 0 {
          var t = 0.0
          for k in 0..<d { t += Double(a[i * d + k]) * Double(w[k * c + j]) }
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
    /// naiveScatter transposed: (d, c)
    var naiveScatterColumns: [Double] {
      let rows = naiveScatter
      return (0..<(d * c)).map { rows[($0 % c) * d + $0 / c] }
    }
  }

  func assertNear(_ got: [Float], _ ref: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, ref.count, what, file: file, line: line)
    let scale = ref.map(abs).max() ?? 1
    let diff = zip(got, ref).map { abs(Double($0) - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(diff, 2e-5 * Swift.max(scale, 1), "\(what): max|Δ| \(diff)", file: file, line: line)
  }

  /// Bit-for-bit equality, reported by the first differing index (not two whole arrays).
  func assertSame(_ got: [Float], _ want: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    guard got.count == want.count else {
      return XCTFail("\(what): \(got.count) values, expected \(want.count)", file: file, line: line)
    }
    if let i = got.indices.first(where: { got[$0].bitPattern != want[$0].bitPattern }) {
      XCTFail("\(what): first difference at \(i): \(got[i]) vs \(want[i])", file: file, line: line)
    }
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
      // and each entry's value a_ij − μ_j, in both orders
      let rowValues = csr.map { Float(p.coef($0.0, $0.1)) }, colValues = csc.map { Float(p.coef($0.0, $0.1)) }
      XCTAssertEqual(Array(p.rowValue[0..<p.entries]), rowValues, "CSR values, centered \(centered)")
      XCTAssertEqual(Array(p.colValue[0..<p.entries]), colValues, "CSC values, centered \(centered)")
      // an SAE's values gathered from another matrix at the pattern
      var gathered = [Float](repeating: .nan, count: p.entries)
      let other = p.v.map { $0 * 3 + 1 }
      bae_sparse_gather_values(p.rowStart, p.colIndex, Int64(p.n), other, Int64(p.c), &gathered)
      XCTAssertEqual(gathered, csr.map { other[$0.0 * p.c + $0.1] }, "values gathered at the pattern")
      // a BAE's pattern from its row-packed bits and μ's bits: the same entries and values
      if centered {
        let wpr = Int(bae_row_words(Int64(p.c)))
        var bits = [UInt64](repeating: 0, count: p.n * wpr), mu = [UInt64](repeating: 0, count: wpr)
        for i in 0..<p.n { for j in 0..<p.c where p.v[i * p.c + j] != 0 { bits[i * wpr + j / 64] |= 1 << UInt64(j % 64) } }
        for j in 0..<p.c where p.center![j] != 0 { mu[j / 64] |= 1 << UInt64(j % 64) }
        var start = [Int64](repeating: -1, count: p.n + 1), index = [Int32](repeating: -1, count: p.n * p.c)
        var value = [Float](repeating: .nan, count: p.n * p.c)
        let count = bae_sparse_pattern_bits(bits, Int64(p.n), Int64(p.c), Int64(wpr), mu, &start, &index, &value)
        XCTAssertEqual(Int(count), p.entries)
        XCTAssertEqual(start, p.rowStart, "bits: row starts")
        XCTAssertEqual(Array(index[0..<p.entries]), Array(p.colIndex[0..<p.entries]), "bits: columns")
        XCTAssertEqual(Array(value[0..<p.entries]), rowValues, "bits: values")
      }
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

  /// ∂W_dec reads ∂x̂ through its leading dimension: the kernel packs each chunk of a's rows, so a with
  /// padded rows (lda > d, here lda = d + 5, the pads NaN) must give the same bits as the dense copy.
  func testScatterColumnsReadsPaddedRows() {
    for (n, c, d) in [(9, 70, 150), (40, 150, 64), (13, 40, 77)] {
      let p = Problem(n: n, c: c, d: d, density: 0.3, centered: true, seed: UInt64(7 * n + c))
      let lda = d + 5
      var padded = [Float](repeating: .nan, count: n * lda)
      for i in 0..<n { for k in 0..<d { padded[i * lda + k] = p.a[i * d + k] } }
      for t in [1, 2] {
        var out = [Float](repeating: 7, count: d * c)
        var work = [Float](repeating: .nan, count: t * Int(bae_sparse_scratch_floats(Int64(d), Int64(c), Int64(n))))
        p.center!.withUnsafeBufferPointer { cp in
          bae_sparse_scatter_columns_mt(
            p.colStart, p.rowIndex, p.colValue, Int64(n), Int64(c), cp.baseAddress, p.s, padded, Int64(lda), Int64(d),
            &out, Int64(c), &work, Int32(t))
        }
        assertSame(out, p.scatterColumns(threads: 1), "(\(n), \(c), \(d)) lda \(lda) T \(t)")
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
    // widths: 77 = 2·32 + 8 + 5 (blocks, 8-wide tail, scalar tail) = a 64-column chunk + 13; 5 (scalar
    // only); 64 (one whole chunk); 150 = 64 + 64 + 22, chunks split over 2 and 3 threads. c = 150 at
    // density 0.6 puts ~90 entries in a row, past one 64-entry coefficient chunk; c = 3000 makes the slab's
    // chunk 32 columns wide (64·c floats would pass its 640 KB), with 40 = 32 + 8
    let shapes = [
      (13, 40, 77, 0.2), (7, 150, 5, 0.6), (40, 150, 64, 0.6), (1, 3, 9, 0.0), (9, 70, 150, 0.3), (3, 3000, 40, 0.05),
    ]
    for (n, c, d, density) in shapes {
      for centered in [false, true] {
        let p = Problem(n: n, c: c, d: d, density: density, centered: centered, seed: UInt64(n * 1000 + c + d))
        let what = "path \(path) (\(n), \(c), \(d)) centered \(centered)"
        let add = p.gatherAdd(threads: 1), dot = p.gatherDot(threads: 1), sc = p.scatter(threads: 1)
        let cols = p.scatterColumns(threads: 1)
        assertNear(add, p.naiveGatherAdd, "\(what): gather-add")
        assertNear(dot, p.naiveGatherDot, "\(what): gather-dot")
        assertNear(sc, p.naiveScatter, "\(what): scatter")
        assertNear(cols, p.naiveScatterColumns, "\(what): scatter into columns")
        // the column scatter sums each element as the row scatter does: the same floats, transposed
        assertSame(cols, (0..<(d * c)).map { sc[($0 % c) * d + $0 / c] }, "\(what): scatter vs its columns")
        for t in [2, 3] {
          assertSame(p.gatherAdd(threads: t), add, "\(what): gather-add at T = \(t)")
          assertSame(p.gatherDot(threads: t), dot, "\(what): gather-dot at T = \(t)")
          assertSame(p.scatter(threads: t), sc, "\(what): scatter at T = \(t)")
          assertSame(p.scatterColumns(threads: t), cols, "\(what): scatter into columns at T = \(t)")
        }
      }
    }
  }
}

// Every ISA path of the bit kernels that this CPU can run (a path it cannot run shows as skipped), at
// 1, 2 and 3 threads, against naive definitions on shapes that are not multiples of 64, and against
// the portable path on shapes long enough to reach the vector kernels' byte-counter flushes. The sign-row
// sums N·q = S·c (phases.c) run on the same planes, so they are checked on every path too.
import BAERandom
import CBAEKernels
import XCTest

final class BitKernelPathTests: XCTestCase {
  override func tearDown() {
    _ = bae_kernels_force_path(Int32(BAE_PATH_AUTO))
    _ = bae_kernels_set_product_form(Int32(BAE_PRODUCT_AUTO))  // the default
  }

  /// The AVX2 H·S product has two forms (nibble tables of 7-bit code groups, popcounts) and an automatic choice by row
  /// count; the other paths ignore the form.
  let productForms = [BAE_PRODUCT_TABLES, BAE_PRODUCT_POPCOUNT, BAE_PRODUCT_AUTO].map { Int32($0) }

  func testPortablePath() throws { try checkPath(Int32(BAE_PATH_PORTABLE)) }
  func testPopcntPath() throws { try checkPath(Int32(BAE_PATH_POPCNT)) }
  func testAVX2Path() throws { try checkPath(Int32(BAE_PATH_AVX2)) }
  func testAVX512Path() throws { try checkPath(Int32(BAE_PATH_AVX512)) }
  func testAutomaticPath() throws { try checkPath(Int32(BAE_PATH_AUTO)) }

  func testLongVectorsAgreeWithPortable() throws {
    for path in [BAE_PATH_POPCNT, BAE_PATH_AVX2, BAE_PATH_AVX512].map({ Int32($0) })
    where bae_kernels_path_supported(path) != 0 {
      // n = 7300: 115 column words, past the AVX2 pair kernel's 28-vector byte flush (and the AVX-512
      // interleaved pair form's 32); n = 1500: 24 words, inside it with a partial last vector; n = 2048:
      // 32 words, the largest for the AVX2 byte-table pair form (256 byte groups: int16 widenings every 28)
      for (n, seed) in [(7300, 11), (1500, 13), (2048, 14)] {
        let pairs = Problem(n: n, m: 70, seed: UInt64(seed)),
          ref = pairs.run(path: Int32(BAE_PATH_PORTABLE), threads: 1)
        for t in [1, 2, 3] {
          let got = pairs.run(path: path, threads: t)
          XCTAssertTrue(got == ref, "\(name(path)) T \(t), n \(n): \(got.firstDifference(ref)) differs")
        }
      }
      // m = 7300: 115 row words, past the AVX2 popcount form's flush. S must be symmetric: S_jk =
      // M[class j][class k] for random classes and a symmetric 4x4 M, diagonal 0. With zeros in M, Z_j
      // spans every word (the two-plane popcount form); without, only the diagonal is zero (the one-plane
      // form, P − Q = 2P − |h| + Z); with zeros in some rows of M only, every 64-column block mixes the
      // two (AVX2 blocks S−_j rows of the dense j beside the S+ rows of the others).
      let wide = Problem(n: 5, m: 7300, seed: 12)
      let words = (wide.m + 63) / 64
      let tables: [(String, [[Int]])] = [
        ("zeros", [[1, 0, -1, 0], [0, -1, 1, 1], [-1, 1, 0, -1], [0, 1, -1, 1]]),
        ("complementary", [[1, -1, 1, -1], [-1, 1, 1, -1], [1, 1, -1, 1], [-1, -1, 1, 1]]),
        ("mixed", [[1, -1, 1, -1], [-1, 1, 0, -1], [1, 0, -1, 1], [-1, -1, 1, 1]]),
      ]
      for (kind, table) in tables {
        var rng = SplitMix64(seed: 99)
        let cls = (0..<wide.m).map { _ in Int(rng.next() % 4) }
        var classBits = [[UInt64]](repeating: [UInt64](repeating: 0, count: words), count: 4)
        for k in 0..<wide.m { classBits[cls[k]][k / 64] |= 1 << UInt64(k % 64) }
        var spos = [UInt64](repeating: 0, count: wide.m * wide.wpr), sneg = spos
        for j in 0..<wide.m {
          for c in 0..<4 where table[cls[j]][c] != 0 {
            for wd in 0..<words {
              if table[cls[j]][c] > 0 {
                spos[j * wide.wpr + wd] |= classBits[c][wd]
              } else {
                sneg[j * wide.wpr + wd] |= classBits[c][wd]
              }
            }
          }
          spos[j * wide.wpr + j / 64] &= ~(1 << UInt64(j % 64))
          sneg[j * wide.wpr + j / 64] &= ~(1 << UInt64(j % 64))
        }
        let refOut = wide.product(spos, sneg, path: Int32(BAE_PATH_PORTABLE), threads: 1)
        XCTAssertEqual(refOut.rowSums, wide.naiveRowSums(spos, sneg, counts: refOut.counts))
        for form in productForms {
          XCTAssertEqual(bae_kernels_set_product_form(form), 0)
          for t in [1, 2, 3] {
            let got = wide.product(spos, sneg, path: path, threads: t)
            XCTAssertTrue(
              got.out == refOut.out,
              "\(name(path)) form \(form) H·S T \(t), m 7300, planes \(kind)")
            XCTAssertEqual(got.rowSums, refOut.rowSums, "\(name(path)) N·q T \(t), planes \(kind)")
          }
        }
      }
    }
  }

  /// The pair kernel alone on built columns: all zeros and all ones (every d = 0), duplicates and complements
  /// (d of both signs at their extremes), random columns; n on both sides of the AVX2 byte-table form's limit
  /// (2048) and of byte and word edges, m not a multiple of 32 or 64, triangle ranges cut like ranks, T = 1, 2, 3
  /// (the AVX2 byte form splits threads by tile column).
  func testPairSignsOnBuiltColumns() throws {
    for path in [BAE_PATH_POPCNT, BAE_PATH_AVX2, BAE_PATH_AVX512].map({ Int32($0) })
    where bae_kernels_path_supported(path) != 0 {
      for (n, m) in [(8, 70), (9, 200), (63, 129), (512, 200), (1000, 97), (2048, 200), (2049, 200)] {
        let cols = BuiltColumns(n: n, m: m, seed: UInt64(n * 7 + m))
        let ref = cols.naive()
        XCTAssertTrue(ref.spos.contains { $0 != 0 } && ref.sneg.contains { $0 != 0 }, "n \(n) m \(m): both signs")
        for t in [1, 2, 3] {
          let got = cols.run(path: path, threads: t)
          XCTAssertTrue(got.spos == ref.spos && got.sneg == ref.sneg, "\(name(path)) T \(t) n \(n) m \(m): planes")
          XCTAssertEqual(got.total, ref.total, "\(name(path)) T \(t) n \(n) m \(m): Σ|d|")
        }
      }
    }
  }

  /// Code rows of all ones against S = +1 / −1 everywhere off the diagonal, and against two blocks (+1 within,
  /// −1 across): the table form's byte sums of S + 1 reach their largest (14 per 7-bit code group, 252 per
  /// chunk of 18 groups) and smallest (0) values, and its uint16 sums reach 2m − 1. Both AVX2 forms,
  /// T = 1, 2, 3, against the closed form.
  func testExtremeProductSums() throws {
    let path = Int32(BAE_PATH_AVX2)
    guard bae_kernels_path_supported(path) != 0 else { throw XCTSkip("AVX2 is not supported here") }
    for (n, m) in [(3, 1000), (2, 8200), (5, 95)] {
      let p = Problem(n: n, m: m, value: 1)
      let half = m / 2
      for kind in ["plus", "minus", "blocks"] {
        var spos = [UInt64](repeating: 0, count: m * p.wpr), sneg = spos
        var expected = [Float](repeating: 0, count: n * m)
        for j in 0..<m {
          var sum = 0
          for k in 0..<m where k != j {
            let s = kind == "plus" ? 1 : kind == "minus" ? -1 : ((j < half) == (k < half) ? 1 : -1)
            if s > 0 {
              spos[j * p.wpr + k / 64] |= 1 << UInt64(k % 64)
            } else {
              sneg[j * p.wpr + k / 64] |= 1 << UInt64(k % 64)
            }
            sum += s
          }
          for i in 0..<n { expected[i * m + j] = Float(sum) }
        }
        for form in productForms {
          XCTAssertEqual(bae_kernels_set_product_form(form), 0)
          for t in [1, 2, 3] {
            let got = p.product(spos, sneg, path: path, threads: t)
            XCTAssertTrue(got.out == expected, "form \(form) T \(t) n \(n) m \(m) S \(kind)")
          }
        }
      }
    }
  }

  func testPathQueriesAndForcing() {
    XCTAssertEqual(bae_kernels_path_supported(Int32(BAE_PATH_PORTABLE)), 1)
    XCTAssertEqual(bae_kernels_path_supported(Int32(BAE_PATH_AUTO)), 1)
    XCTAssertEqual(bae_kernels_path_supported(99), 0)
    XCTAssertEqual(bae_kernels_force_path(99), -1)
    XCTAssertEqual(bae_kernels_force_path(-1), -1)
    XCTAssertEqual(String(cString: bae_kernels_path_name(Int32(BAE_PATH_AVX512))), "avx512-vpopcntdq")
    XCTAssertEqual(String(cString: bae_kernels_path_name(Int32(BAE_PATH_AVX2))), "avx2")
    XCTAssertEqual(String(cString: bae_kernels_path_name(7)), "unknown")
    XCTAssertEqual(bae_kernels_set_product_form(3), -1)
    XCTAssertFalse(String(cString: bae_kernels_cpu_model()).isEmpty)
    for path in (1...4).map(Int32.init) {
      let ok = bae_kernels_path_supported(path) != 0
      XCTAssertEqual(bae_kernels_force_path(path), ok ? 0 : -1, name(path))
      if !ok {
        XCTAssertNotEqual(bae_kernels_selected_path(), path, "an unsupported path must not be selected")
        continue
      }
      XCTAssertEqual(bae_kernels_selected_path(), path)
      XCTAssertEqual(bae_kernels_path_of(Int32(BAE_KERNEL_COVARIANCE)), path)
      XCTAssertEqual(bae_kernels_path_of(Int32(BAE_KERNEL_PRODUCT)), path)
      XCTAssertEqual(
        bae_kernels_path_of(Int32(BAE_KERNEL_TRANSPOSE)),
        Int32(path >= Int32(BAE_PATH_AVX2) ? BAE_PATH_AVX2 : BAE_PATH_PORTABLE))
      XCTAssertEqual(
        bae_kernels_path_of(Int32(BAE_KERNEL_LUT)),
        path == Int32(BAE_PATH_POPCNT) ? Int32(BAE_PATH_PORTABLE) : path, "the LUT decoder has no popcnt form")
      XCTAssertEqual(
        bae_kernels_path_of(Int32(BAE_KERNEL_BINARIZE)),
        Int32(path >= Int32(BAE_PATH_AVX2) ? BAE_PATH_AVX2 : BAE_PATH_PORTABLE))
      XCTAssertEqual(bae_kernels_have_avx512_popcnt(), path == Int32(BAE_PATH_AVX512) ? 1 : 0)
    }
    _ = bae_kernels_force_path(Int32(BAE_PATH_AUTO))
    let best = (1...4).map(Int32.init).last { bae_kernels_path_supported($0) != 0 }!
    if ProcessInfo.processInfo.environment["BAE_KERNEL_PATH"] == nil {
      XCTAssertEqual(bae_kernels_env_status(), 0)
      XCTAssertEqual(bae_kernels_selected_path(), best, "automatic choice is the best supported path")
    }
    bae_kernels_force_portable(1)  // the older switch maps onto the same forcing
    XCTAssertEqual(bae_kernels_selected_path(), Int32(BAE_PATH_PORTABLE))
    bae_kernels_force_portable(0)
  }

  // MARK: - helpers

  func name(_ path: Int32) -> String { String(cString: bae_kernels_path_name(path)) }

  func checkPath(_ path: Int32) throws {
    guard bae_kernels_path_supported(path) != 0 else {
      throw XCTSkip("\(name(path)) is not supported on \(String(cString: bae_kernels_cpu_model()))")
    }
    for (n, m) in [(1, 1), (70, 17), (64, 64), (130, 200), (513, 96), (65, 131), (33, 600)] {
      let p = Problem(n: n, m: m, seed: UInt64(n * 1000 + m))
      let naive = p.naive()
      for form in productForms {
        XCTAssertEqual(bae_kernels_set_product_form(form), 0)
        for t in [1, 2, 3] {
          let got = p.run(path: path, threads: t)
          XCTAssertTrue(
            got == naive, "\(name(path)) form \(form) T \(t) n \(n) m \(m): \(got.firstDifference(naive)) differs")
        }
      }
    }
  }
}

/// Everything the kernels produce for one code matrix, compared as a whole.
struct KernelOutputs: Equatable {
  var z: [Float], rows: [UInt64], counts: [Int64], cols: [UInt64]
  var spos: [UInt64], sneg: [UInt64], total: Int64, product: [Float], rowSums: [Int64]

  func firstDifference(_ o: KernelOutputs) -> String {
    if z != o.z { return "z" }
    if rows != o.rows { return "row bits" }
    if counts != o.counts { return "counts" }
    if cols != o.cols { return "column bits" }
    if spos != o.spos || sneg != o.sneg { return "sign planes" }
    if total != o.total { return "Σ|d| \(total) vs \(o.total)" }
    if product != o.product { return "H·S" }
    return rowSums != o.rowSums ? "N·q row sums" : "none"
  }
}

/// A pre-activation matrix z (n, m) with a few NaN, ±0 and ∞ entries, and the kernels run on it.
struct Problem {
  let n: Int, m: Int, wpr: Int, wpc: Int
  let z: [Float]

  init(n: Int, m: Int, seed: UInt64) {
    self.n = n
    self.m = m
    wpr = Int(bae_row_words(Int64(m)))
    wpc = (n + 63) / 64
    var rng = SplitMix64(seed: seed)
    let specials: [Float] = [.nan, -0.0, 0.0, .infinity, -.infinity]
    // per-column densities between 0.1 and 0.6 so covariances take both signs (and some are zero)
    let density = (0..<m).map { _ in 0.1 + 0.5 * rng.nextUnit() }
    z = (0..<(n * m)).map { i in
      let u = rng.nextUnit()
      if u < 0.01 { return specials[i % specials.count] }
      return rng.nextUnit() < density[i % m] ? Float(u) : -Float(u)
    }
  }

  /// Every pre-activation equal to `value` (value > 0: every code bit set).
  init(n: Int, m: Int, value: Float) {
    self.n = n
    self.m = m
    wpr = Int(bae_row_words(Int64(m)))
    wpc = (n + 63) / 64
    z = [Float](repeating: value, count: n * m)
  }

  /// H·S and the sign-row sums N·q under `path` for given planes (codes from z).
  func product(_ spos: [UInt64], _ sneg: [UInt64], path: Int32, threads t: Int) -> (
    out: [Float], rowSums: [Int64], counts: [Int64]
  ) {
    let threads = Int32(t)
    precondition(bae_kernels_force_path(path) == 0)
    var zz = z, rows = [UInt64](repeating: 0xAAAA, count: n * wpr), counts = [Int64](repeating: 0, count: m)
    bae_binarize_inplace_mt(&zz, Int64(n), Int64(m), Int64(m), &rows, Int64(wpr), &counts, threads)
    var out = [Float](repeating: -7, count: n * m)
    bae_signed_popcount_product_mt(rows, Int64(n), spos, sneg, Int64(m), Int64(wpr), &out, Int64(m), threads)
    return (out, digitRowSums(spos, sneg, counts: counts, threads: threads), counts)
  }

  /// N·q by the step's route: the counts' binary digits as code rows of the H·S product, then weighted by 2^b.
  func digitRowSums(_ spos: [UInt64], _ sneg: [UInt64], counts: [Int64], threads: Int32) -> [Int64] {
    var digitRows = [UInt64](repeating: 0x5555, count: 64 * wpr)  // garbage the kernel must overwrite
    let digits = Int(bae_count_digit_rows(counts, Int64(m), Int64(wpr), Int64(n), &digitRows))
    var out = [Float](repeating: -7, count: max(digits, 1) * m)
    bae_signed_popcount_product_mt(
      digitRows, Int64(digits), spos, sneg, Int64(m), Int64(wpr), &out, Int64(m), threads)
    var sums = [Int64](repeating: -7, count: m)
    bae_count_digit_sums(out, Int64(digits), Int64(m), Int64(m), &sums)
    return sums
  }

  /// N·q_j = Σ_k S_jk·counts_k, bit by bit.
  func naiveRowSums(_ spos: [UInt64], _ sneg: [UInt64], counts: [Int64]) -> [Int64] {
    (0..<m).map { j in
      (0..<m).reduce(Int64(0)) { acc, k in
        let bit = UInt64(k % 64), w = j * wpr + k / 64
        return acc + Int64((spos[w] >> bit) & 1) * counts[k] - Int64((sneg[w] >> bit) & 1) * counts[k]
      }
    }
  }

  /// Runs every kernel under `path` on `threads` threads; the pair triangle is split in three
  /// rank-like tile ranges, each itself run on `threads` threads.
  func run(path: Int32, threads t: Int) -> KernelOutputs {
    precondition(bae_kernels_force_path(path) == 0)
    let threads = Int32(t)
    var zz = z
    var rows = [UInt64](repeating: 0xFFFF, count: n * wpr)  // garbage the kernel must overwrite
    var counts = [Int64](repeating: 0, count: m)
    bae_binarize_inplace_mt(&zz, Int64(n), Int64(m), Int64(m), &rows, Int64(wpr), &counts, threads)
    var cols = [UInt64](repeating: 0, count: m * wpc)
    bae_transpose_bits_mt(rows, Int64(n), Int64(m), Int64(wpr), &cols, Int64(wpc), threads)
    let (spos, sneg, total) = pairSignsInThreeRanges(
      cols: cols, m: m, wpc: wpc, counts: counts, n: n, wpr: wpr, threads: t)
    var out = [Float](repeating: -7, count: n * m)
    bae_signed_popcount_product_mt(rows, Int64(n), spos, sneg, Int64(m), Int64(wpr), &out, Int64(m), threads)
    let sums = digitRowSums(spos, sneg, counts: counts, threads: threads)
    return KernelOutputs(
      z: zz, rows: rows, counts: counts, cols: cols, spos: spos, sneg: sneg, total: total,
      product: out, rowSums: sums)
  }

  /// The definitions, element by element.
  func naive() -> KernelOutputs {
    let h = z.map { $0 > 0 ? 1 : 0 }
    var rows = [UInt64](repeating: 0, count: n * wpr), cols = [UInt64](repeating: 0, count: m * wpc)
    var counts = [Int64](repeating: 0, count: m)
    for i in 0..<n {
      for j in 0..<m where h[i * m + j] == 1 {
        rows[i * wpr + j / 64] |= 1 << UInt64(j % 64)
        cols[j * wpc + i / 64] |= 1 << UInt64(i % 64)
        counts[j] += 1
      }
    }
    var spos = [UInt64](repeating: 0, count: m * wpr), sneg = spos
    var total: Int64 = 0
    for j in 0..<m {
      for k in 0..<m where k != j {
        var n11: Int64 = 0
        for i in 0..<n { n11 += Int64(h[i * m + j] & h[i * m + k]) }
        let d = Int64(n) * n11 - counts[j] * counts[k]
        if k > j { total += abs(d) }
        if d > 0 { spos[j * wpr + k / 64] |= 1 << UInt64(k % 64) }
        if d < 0 { sneg[j * wpr + k / 64] |= 1 << UInt64(k % 64) }
      }
    }
    var out = [Float](repeating: 0, count: n * m)
    for i in 0..<n {
      for j in 0..<m {
        var s = 0
        for k in 0..<m where h[i * m + k] == 1 {
          s += Int((spos[k * wpr + j / 64] >> UInt64(j % 64)) & 1) - Int((sneg[k * wpr + j / 64] >> UInt64(j % 64)) & 1)
        }
        out[i * m + j] = Float(s)
      }
    }
    return KernelOutputs(
      z: h.map(Float.init), rows: rows, counts: counts, cols: cols, spos: spos, sneg: sneg,
      total: total, product: out, rowSums: naiveRowSums(spos, sneg, counts: counts))
  }
}

/// Column-packed codes for the pair kernel alone: column k is all zeros (k % 11 == 0), all ones (k % 11 == 1),
/// a copy of column k − 3 (k % 11 == 2), its complement (k % 11 == 3), else random with its own density.
struct BuiltColumns {
  let n: Int, m: Int, wpc: Int, wpr: Int
  var cols: [UInt64], counts: [Int64]

  init(n: Int, m: Int, seed: UInt64) {
    self.n = n
    self.m = m
    wpc = (n + 63) / 64
    wpr = Int(bae_row_words(Int64(m)))
    var rng = SplitMix64(seed: seed)
    cols = [UInt64](repeating: 0, count: m * wpc)
    counts = [Int64](repeating: 0, count: m)
    for k in 0..<m {
      let density = 0.05 + 0.9 * rng.nextUnit()
      for i in 0..<n {
        let bit: Bool
        switch k % 11 {
        case 0: bit = false
        case 1: bit = true
        case 2 where k >= 3: bit = (cols[(k - 3) * wpc + i / 64] >> UInt64(i % 64)) & 1 == 1
        case 3 where k >= 3: bit = (cols[(k - 3) * wpc + i / 64] >> UInt64(i % 64)) & 1 == 0
        default: bit = rng.nextUnit() < density
        }
        if bit {
          cols[k * wpc + i / 64] |= 1 << UInt64(i % 64)
          counts[k] += 1
        }
      }
    }
  }

  /// The planes and Σ|d| over the upper triangle, pair by pair.
  func naive() -> (spos: [UInt64], sneg: [UInt64], total: Int64) {
    var spos = [UInt64](repeating: 0, count: m * wpr), sneg = spos
    var total: Int64 = 0
    for j in 0..<m {
      for k in (j + 1)..<max(j + 1, m) {
        var n11: Int64 = 0
        for w in 0..<wpc { n11 += Int64((cols[j * wpc + w] & cols[k * wpc + w]).nonzeroBitCount) }
        let d = Int64(n) * n11 - counts[j] * counts[k]
        total += abs(d)
        for (a, b) in [(j, k), (k, j)] {
          if d > 0 { spos[a * wpr + b / 64] |= 1 << UInt64(b % 64) }
          if d < 0 { sneg[a * wpr + b / 64] |= 1 << UInt64(b % 64) }
        }
      }
    }
    return (spos, sneg, total)
  }

  /// The kernel under `path` on `threads` threads over the triangle cut in three rank-like tile ranges.
  func run(path: Int32, threads: Int) -> (spos: [UInt64], sneg: [UInt64], total: Int64) {
    precondition(bae_kernels_force_path(path) == 0)
    return pairSignsInThreeRanges(cols: cols, m: m, wpc: wpc, counts: counts, n: n, wpr: wpr, threads: threads)
  }
}

/// bae_covariance_signs_mt over the pair triangle cut in three rank-like tile ranges, each on `threads` threads,
/// into planes full of garbage: together the ranges own every word (padding words included), which each call
/// must overwrite, and the middle range runs first, so a call that touched other ranges' words would show.
func pairSignsInThreeRanges(
  cols: [UInt64], m: Int, wpc: Int, counts: [Int64], n: Int, wpr: Int, threads: Int
) -> (spos: [UInt64], sneg: [UInt64], total: Int64) {
  var spos = [UInt64](repeating: 0xA5A5_5A5A_F00F_0FF0, count: m * wpr)
  var sneg = [UInt64](repeating: 0x5A5A_A5A5_0FF0_F00F, count: m * wpr)
  let blocks = (m + 63) / 64, tiles = blocks * (blocks + 1) / 2
  let cuts = [0, tiles / 3, (2 * tiles) / 3, tiles]
  var total: Int64 = 0
  for r in [1, 0, 2] {
    total += bae_covariance_signs_mt(
      cols, Int64(m), Int64(wpc), counts, Int64(n), Int64(cuts[r]), Int64(cuts[r + 1]), &spos, &sneg,
      Int64(wpr), Int32(threads))
  }
  return (spos, sneg, total)
}

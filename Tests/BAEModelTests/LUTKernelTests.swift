// The LUT decoder's C kernel (bae_lut_product_mt) on every path this CPU runs (portable, AVX2, AVX-512F)
// against a naive double-precision product, on shapes that leave partial groups (inner not a multiple of
// 8), partial vectors, tiles and 8-row blocks (columns not a multiple of 8, 16 or 32, rows not of 8),
// several table sets and single rows, in all four layouts (src and out each stored plain or transposed);
// every path, thread count and layout must give the same bits (one summation order per element).
import BAERandom
import CBAEKernels
import XCTest

final class LUTKernelTests: XCTestCase {
  override func tearDown() { _ = bae_kernels_force_path(Int32(BAE_PATH_AUTO)) }

  /// out = bias + B·src for B (rows, inner) 0/1 with P(1) = 1/2, leading dimensions wider than the data.
  struct Problem {
    let rows: Int, inner: Int, cols: Int, wpb: Int
    var bits: [UInt64], bias: [Float]?
    /// src(c, k) = values[c * cols + k]
    var values: [Float]

    init(rows: Int, inner: Int, cols: Int, bias: Bool, seed: UInt64) {
      self.rows = rows
      self.inner = inner
      self.cols = cols
      wpb = (inner + 63) / 64 + 1  // one spare (zero) word per row
      var rng = SplitMix64(seed: seed)
      bits = [UInt64](repeating: 0, count: rows * wpb)
      for i in 0..<rows {
        for c in 0..<inner where rng.next() & 1 == 1 { bits[i * wpb + c / 64] |= 1 << UInt64(c % 64) }
      }
      values = (0..<(inner * cols)).map { _ in Float(rng.nextGaussian()) }
      self.bias = bias ? (0..<cols).map { _ in Float(rng.nextGaussian()) } : nil
    }

    func bit(_ i: Int, _ c: Int) -> Bool { bits[i * wpb + c / 64] >> UInt64(c % 64) & 1 == 1 }

    /// The kernel's output as (rows, cols) row-major, with src and out stored per `layout` (3 and 5 spare
    /// floats per stored row); `untouched` says whether every spare float of out kept its sentinel 7.
    func run(threads: Int, layout: Int32 = 0, scratchThreads: Int? = nil) -> (
      status: Int32, out: [Float], untouched: Bool
    ) {
      let srcT = layout & Int32(BAE_LUT_SOURCE_TRANSPOSED) != 0, outT = layout & Int32(BAE_LUT_OUTPUT_TRANSPOSED) != 0
      let lds = (srcT ? inner : cols) + 3, ldo = (outT ? rows : cols) + 5
      var src = [Float](repeating: .nan, count: max(srcT ? cols : inner, 1) * lds)
      for c in 0..<inner {
        for k in 0..<cols { src[srcT ? k * lds + c : c * lds + k] = values[c * cols + k] }
      }
      var out = [Float](repeating: 7, count: max(outT ? cols : rows, 1) * ldo)
      let perThread = Int(bae_lut_scratch_floats(Int64(rows), Int64(inner)))
      var scratch = [Float](repeating: .nan, count: (scratchThreads ?? threads) * perThread)
      let status = (bias ?? []).withUnsafeBufferPointer { b in
        bae_lut_product_mt(
          bits, Int64(rows), Int64(wpb), Int64(inner), src, Int64(lds), Int64(cols), bias == nil ? nil : b.baseAddress,
          &out, Int64(ldo), layout, &scratch, Int64(scratch.count), Int32(threads))
      }
      var logical = [Float](repeating: 0, count: rows * cols), untouched = true
      for a in 0..<(outT ? cols : rows) {
        for e in 0..<ldo {
          let v = out[a * ldo + e]
          if e >= (outT ? rows : cols) {
            untouched = untouched && v == 7
          } else {
            logical[outT ? e * cols + a : a * cols + e] = v
          }
        }
      }
      return (status, logical, untouched)
    }
  }

  static let shapes: [(rows: Int, inner: Int, cols: Int)] = [
    (1, 1, 1), (1, 70, 33), (37, 203, 77), (130, 64, 64), (5, 520, 150), (3, 0, 5), (64, 9, 17), (24, 200, 48),
  ]
  static let layouts: [Int32] = [
    0, Int32(BAE_LUT_SOURCE_TRANSPOSED), Int32(BAE_LUT_OUTPUT_TRANSPOSED),
    Int32(BAE_LUT_SOURCE_TRANSPOSED | BAE_LUT_OUTPUT_TRANSPOSED),
  ]

  /// The paths the LUT kernel has that this CPU runs (forced through the common path switch).
  static var paths: [Int32] {
    [BAE_PATH_PORTABLE, BAE_PATH_AVX2, BAE_PATH_AVX512].map { Int32($0) }.filter { bae_kernels_path_supported($0) != 0 }
  }

  func testEveryPathAndLayoutMatchesTheDoubleReferenceAndThePortableBits() throws {
    for (s, shape) in Self.shapes.enumerated() {
      for withBias in [true, false] {
        let p = Problem(rows: shape.rows, inner: shape.inner, cols: shape.cols, bias: withBias, seed: UInt64(s + 1))
        XCTAssertEqual(bae_kernels_force_path(Int32(BAE_PATH_PORTABLE)), 0)
        let portable = p.run(threads: 1)
        XCTAssertEqual(portable.status, 0)
        XCTAssertTrue(portable.untouched, "\(shape): a column past cols was written")
        for i in 0..<p.rows {
          for k in 0..<p.cols {
            var ref = Double(p.bias?[k] ?? 0), mass = abs(ref)
            for c in 0..<p.inner where p.bit(i, c) {
              ref += Double(p.values[c * p.cols + k])
              mass += abs(Double(p.values[c * p.cols + k]))
            }
            XCTAssertEqual(
              Double(portable.out[i * p.cols + k]), ref, accuracy: 1e-5 * mass + 1e-30,
              "\(shape) bias \(withBias): (\(i), \(k))")
          }
        }
        for path in [Int32(BAE_PATH_PORTABLE)] + Self.paths {
          XCTAssertEqual(bae_kernels_force_path(path), 0)
          XCTAssertEqual(bae_lut_path(), path)
          for layout in Self.layouts {
            let other = p.run(threads: 1, layout: layout)
            XCTAssertEqual(other.status, 0)
            XCTAssertTrue(other.untouched, "\(shape) path \(path) layout \(layout): a spare float was written")
            XCTAssertTrue(
              other.out == portable.out,
              "\(shape) bias \(withBias): path \(path) layout \(layout) differs from portable C")
          }
        }
      }
    }
  }

  func testThreadCountsGiveTheSameBits() throws {
    for path in Self.paths {
      XCTAssertEqual(bae_kernels_force_path(path), 0)
      for (s, shape) in Self.shapes.enumerated() {
        let p = Problem(rows: shape.rows, inner: shape.inner, cols: shape.cols, bias: true, seed: UInt64(40 + s))
        for layout in Self.layouts {
          let one = p.run(threads: 1, layout: layout)
          for t in [2, 3] {
            XCTAssertTrue(p.run(threads: t, layout: layout).out == one.out, "path \(path), \(shape), T = \(t)")
          }
          // scratch for one thread: the call runs on fewer threads and still gives the same bits
          XCTAssertTrue(
            p.run(threads: 3, layout: layout, scratchThreads: 1).out == one.out, "path \(path), \(shape): short scratch"
          )
        }
      }
    }
  }

  func testScratchCoversRunningSumsOnlyWhenThereIsMoreThanOneTableSet() {
    let oneSet = bae_lut_scratch_floats(1000, 64), twoSets = bae_lut_scratch_floats(1000, 65)
    XCTAssertEqual(bae_lut_scratch_floats(10, 64), oneSet)  // 8 groups: one set, no running sums
    XCTAssertEqual(twoSets - oneSet, 1000 * 32)  // rows x 32 running sums
  }

  func testNoScratchIsAnErrorThatWritesNothing() {
    let p = Problem(rows: 4, inner: 20, cols: 10, bias: true, seed: 3)
    for layout in Self.layouts {
      let r = p.run(threads: 2, layout: layout, scratchThreads: 0)
      XCTAssertEqual(r.status, -1)
      XCTAssertTrue(r.untouched && r.out.allSatisfy { $0 == 7 })
    }
  }
}

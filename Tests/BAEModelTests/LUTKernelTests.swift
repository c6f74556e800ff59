// The LUT decoder's C kernel (bae_lut_product_mt) on every path this CPU runs (portable, AVX2, AVX-512F)
// against a naive double-precision product, on shapes that leave partial groups (inner not a multiple of
// 8), partial vectors and tiles (columns not a multiple of 8, 16 or 64), several table sets and single
// rows; every path and thread count must give the same bits (one summation order per element).
import BAERandom
import CBAEKernels
import XCTest

final class LUTKernelTests: XCTestCase {
  override func tearDown() { _ = bae_kernels_force_path(Int32(BAE_PATH_AUTO)) }

  /// out = bias + B·src for B (rows, inner) 0/1 with P(1) = 1/2, leading dimensions wider than the data.
  struct Problem {
    let rows: Int, inner: Int, cols: Int, wpb: Int, lds: Int, ldo: Int
    var bits: [UInt64], src: [Float], bias: [Float]?

    init(rows: Int, inner: Int, cols: Int, bias: Bool, seed: UInt64) {
      self.rows = rows
      self.inner = inner
      self.cols = cols
      wpb = (inner + 63) / 64 + 1  // one spare (zero) word per row
      lds = cols + 3
      ldo = cols + 5
      var rng = SplitMix64(seed: seed)
      bits = [UInt64](repeating: 0, count: rows * wpb)
      for i in 0..<rows {
        for c in 0..<inner where rng.next() & 1 == 1 { bits[i * wpb + c / 64] |= 1 << UInt64(c % 64) }
      }
      src = (0..<(inner * lds)).map { _ in Float(rng.nextGaussian()) }
      self.bias = bias ? (0..<cols).map { _ in Float(rng.nextGaussian()) } : nil
    }

    func bit(_ i: Int, _ c: Int) -> Bool { bits[i * wpb + c / 64] >> UInt64(c % 64) & 1 == 1 }

    /// The kernel's output (columns past `cols` of each row keep the sentinel 7).
    func run(threads: Int, scratchThreads: Int? = nil) -> (status: Int32, out: [Float]) {
      var out = [Float](repeating: 7, count: max(rows, 1) * ldo)
      var scratch = [Float](repeating: .nan, count: (scratchThreads ?? threads) * Int(bae_lut_table_floats()))
      let status = (bias ?? []).withUnsafeBufferPointer { b in
        bae_lut_product_mt(
          bits, Int64(rows), Int64(wpb), Int64(inner), src, Int64(lds), Int64(cols), bias == nil ? nil : b.baseAddress,
          &out, Int64(ldo), &scratch, Int64(scratch.count), Int32(threads))
      }
      return (status, out)
    }
  }

  static let shapes: [(rows: Int, inner: Int, cols: Int)] = [
    (1, 1, 1), (1, 70, 33), (37, 203, 77), (130, 64, 64), (5, 520, 150), (3, 0, 5), (64, 9, 17),
  ]

  /// The paths the LUT kernel has that this CPU runs (forced through the common path switch).
  static var paths: [Int32] {
    [BAE_PATH_PORTABLE, BAE_PATH_AVX2, BAE_PATH_AVX512].map { Int32($0) }.filter { bae_kernels_path_supported($0) != 0 }
  }

  func testEveryPathMatchesTheDoubleReferenceAndThePortableBits() throws {
    for (s, shape) in Self.shapes.enumerated() {
      for withBias in [true, false] {
        let p = Problem(rows: shape.rows, inner: shape.inner, cols: shape.cols, bias: withBias, seed: UInt64(s + 1))
        XCTAssertEqual(bae_kernels_force_path(Int32(BAE_PATH_PORTABLE)), 0)
        let portable = p.run(threads: 1)
        XCTAssertEqual(portable.status, 0)
        for i in 0..<p.rows {
          for k in 0..<p.ldo {
            let got = portable.out[i * p.ldo + k]
            if k >= p.cols {
              XCTAssertEqual(got, 7, "\(shape): column \(k) past cols was written")
              continue
            }
            var ref = Double(p.bias?[k] ?? 0), mass = abs(ref)
            for c in 0..<p.inner where p.bit(i, c) {
              ref += Double(p.src[c * p.lds + k])
              mass += abs(Double(p.src[c * p.lds + k]))
            }
            XCTAssertEqual(Double(got), ref, accuracy: 1e-5 * mass + 1e-30, "\(shape) bias \(withBias): (\(i), \(k))")
          }
        }
        for path in Self.paths {
          XCTAssertEqual(bae_kernels_force_path(path), 0)
          XCTAssertEqual(bae_lut_path(), path)
          let other = p.run(threads: 1)
          XCTAssertTrue(other.out == portable.out, "\(shape) bias \(withBias): path \(path) differs from portable C")
        }
      }
    }
  }

  func testThreadCountsGiveTheSameBits() throws {
    for path in Self.paths {
      XCTAssertEqual(bae_kernels_force_path(path), 0)
      for (s, shape) in Self.shapes.enumerated() {
        let p = Problem(rows: shape.rows, inner: shape.inner, cols: shape.cols, bias: true, seed: UInt64(40 + s))
        let one = p.run(threads: 1)
        for t in [2, 3] {
          XCTAssertTrue(p.run(threads: t).out == one.out, "path \(path), \(shape), T = \(t)")
        }
        // scratch for one thread: the call runs on fewer threads and still gives the same bits
        XCTAssertTrue(p.run(threads: 3, scratchThreads: 1).out == one.out, "path \(path), \(shape): short scratch")
      }
    }
  }

  func testNoScratchIsAnErrorThatWritesNothing() {
    let p = Problem(rows: 4, inner: 20, cols: 10, bias: true, seed: 3)
    let r = p.run(threads: 2, scratchThreads: 0)
    XCTAssertEqual(r.status, -1)
    XCTAssertTrue(r.out.allSatisfy { $0 == 7 })
  }
}

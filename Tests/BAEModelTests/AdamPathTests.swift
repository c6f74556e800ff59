// The Adam kernel (phases.c) on every ISA path this CPU can run (a path it cannot run shows as skipped)
// and at 1, 2 and 3 threads is bit for bit the scalar update written out in Swift below, over counts
// that leave every kind of vector tail (and splits into several parts), for several steps in a row.
import BAERandom
import CBAEKernels
import XCTest

final class AdamPathTests: XCTestCase {
  override func tearDown() { _ = bae_kernels_force_path(Int32(BAE_PATH_AUTO)) }

  func testPortablePath() throws { try checkPath(Int32(BAE_PATH_PORTABLE)) }
  func testPopcntPath() throws { try checkPath(Int32(BAE_PATH_POPCNT)) }
  func testAVX2Path() throws { try checkPath(Int32(BAE_PATH_AVX2)) }
  func testAVX512Path() throws { try checkPath(Int32(BAE_PATH_AVX512)) }

  /// Adam's hyperparameters at step t in the kernel's form (as `Adam.update` derives them).
  struct Coefficients {
    let w1: Float = 0.1, b2: Float = 0.999, w2: Float = 0.001, eps: Float = 1e-8
    let stepSize: Float, bc2Sqrt: Float
    init(step t: Int, lr: Double = 3e-3) {
      stepSize = Float(lr / (1 - Foundation.pow(0.9, Double(t))))
      bc2Sqrt = Float((1 - Foundation.pow(0.999, Double(t))).squareRoot())
    }
  }

  /// The update element by element, each IEEE operation in the kernel's order (Swift does not contract to FMA).
  func reference(_ p: inout [Float], _ g: [Float], _ m: inout [Float], _ v: inout [Float], _ c: Coefficients) {
    for i in p.indices {
      let gi = g[i]
      let mi = m[i] + c.w1 * (gi - m[i])
      let vi = v[i] * c.b2 + c.w2 * (gi * gi)
      m[i] = mi
      v[i] = vi
      let denom = vi.squareRoot() / c.bc2Sqrt + c.eps
      p[i] -= c.stepSize * (mi / denom)
    }
  }

  func checkPath(_ path: Int32) throws {
    guard bae_kernels_path_supported(path) != 0 else {
      throw XCTSkip("\(String(cString: bae_kernels_path_name(path))) is not supported here")
    }
    // 16 lanes (AVX-512) and 8 (AVX2) with every remainder; 40_009 splits into 3 parts at T = 3
    for count in [1, 7, 8, 9, 15, 16, 17, 31, 33, 40_009] {
      var rng = SplitMix64(seed: UInt64(count))
      // gradients across many magnitudes, exact zeros and a few large ones (g² far above v)
      func gradient() -> [Float] {
        (0..<count).map { i in
          if i % 11 == 3 { return 0 }
          let magnitude = Float(Foundation.pow(10, -8 + 9 * rng.nextUnit()))
          return rng.nextUnit() < 0.5 ? -magnitude : magnitude
        }
      }
      let p0 = (0..<count).map { _ in Float(rng.nextUnit() - 0.5) }
      let gradients = (0..<3).map { _ in gradient() }
      for t in [1, 2, 3] {
        var refP = p0, refM = [Float](repeating: 0, count: count), refV = refM
        var p = p0, m = refM, v = refM
        for (k, g) in gradients.enumerated() {
          let c = Coefficients(step: k + 1)
          reference(&refP, g, &refM, &refV, c)
          XCTAssertEqual(bae_kernels_force_path(path), 0)
          bae_adam_update_mt(
            &p, g, &m, &v, Int64(count), c.w1, c.b2, c.w2, c.stepSize, c.bc2Sqrt, c.eps, Int32(t))
        }
        let name = String(cString: bae_kernels_path_name(path))
        XCTAssertEqual(p.map(\.bitPattern), refP.map(\.bitPattern), "\(name) T \(t) count \(count): parameters")
        XCTAssertEqual(m.map(\.bitPattern), refM.map(\.bitPattern), "\(name) T \(t) count \(count): m")
        XCTAssertEqual(v.map(\.bitPattern), refV.map(\.bitPattern), "\(name) T \(t) count \(count): v")
        XCTAssertFalse(p == p0, "the parameters moved")
      }
    }
  }
}

import BAERandom
import BAETensor
import XCTest

// Finite-difference checks in Double of the two regularisers' gradients: H'(p) against the numerical
// derivative of H_b, and the popcount covariance gradient 2/(N−1)·(H·S − 1qᵀ) against central
// differences of a dense Double D(H) = Σ_{j≠k}|C_jk| evaluated on a continuous relaxation of H.
@testable import BAEModel

final class FiniteDifferenceTests: XCTestCase {
  func testEntropyDerivativeMatchesCentralDifferences() {
    let h = 1e-6
    for p in stride(from: 0.01, through: 0.99, by: 0.0175) {
      let fd = (BinaryEntropy.value(p + h) - BinaryEntropy.value(p - h)) / (2 * h)
      XCTAssertEqual(BinaryEntropy.derivative(p), fd, accuracy: 1e-6 * max(1, abs(fd)), "H'(\(p))")
    }
    // ∂H/∂h_ij = H'(p_j)/n: perturb one row's bit continuously and difference the total entropy
    let n = 37.0, c = 11.0
    let total = { (x: Double) in BinaryEntropy.value((c + x) / n) }
    let fd = (total(1e-5) - total(-1e-5)) / 2e-5
    XCTAssertEqual(BinaryEntropy.derivative(c / n) / n, fd, accuracy: 1e-7)
  }

  /// D(H) in Double from a dense (n, m) matrix, straight from the definition.
  static func denseCovarianceTerm(_ h: [Double], n: Int, m: Int) -> Double {
    var p = [Double](repeating: 0, count: m)
    for i in 0..<n { for j in 0..<m { p[j] += h[i * m + j] / Double(n) } }
    var d = 0.0
    for j in 0..<m {
      for k in 0..<m where k != j {
        var c = 0.0
        for i in 0..<n { c += (h[i * m + j] - p[j]) * (h[i * m + k] - p[k]) }
        d += abs(c / Double(n - 1))
      }
    }
    return d
  }

  func testCovarianceGradientMatchesCentralDifferences() throws {
    for (n, dl) in [(23, 12), (70, 9), (130, 70)] {
      let d = 5
      let mc = ModelConfig.bae(inputDim: d, latentDim: dl, bitsPerFeature: 1)
      let layout = ParameterLayout(mc)
      let model = Autoencoder(config: mc)
      model.initialise(seed: UInt64(n))
      var rng = SplitMix64(seed: 99)
      let xb = AlignedBuffer<Float>(count: n * d)
      for i in 0..<xb.count { xb[i] = Float(rng.nextGaussian()) }
      let x = Matrix(xb, rows: n, cols: d)
      let ws = StepWorkspace(config: mc, capacity: n)
      let grads = AlignedBuffer<Float>(count: layout.count)
      // g with λ_c = 1 minus g with λ_c = 0 (estimator `sign` leaves g as is) = ∂D/∂H
      func codeGradient(_ lc: Double) throws -> [Float] {
        let mo = try model.forward(x, ws)
        let s = try model.globalStatistics(
          ws, localMoments: mo, batch: BatchContext(rowsPerRank: [n], collectives: SingleProcess()), covariance: true)
        model.backward(
          x, ws, statistics: s, weights: LossWeights(entropy: 0, covariance: lc, estimator: .sign), into: grads)
        return Array(ws.valueGrad.buffer[0..<(n * dl)])
      }
      let with = try codeGradient(1), without = try codeGradient(0)
      let analytic = zip(with, without).map { Double($0) - Double($1) }
      let h = Array(ws.codes.buffer[0..<(n * dl)]).map(Double.init)
      let s = try model.globalStatistics(
        ws, localMoments: try model.forward(x, ws), batch: BatchContext(rowsPerRank: [n], collectives: SingleProcess()),
        covariance: true)
      XCTAssertEqual(s.covariance!, Self.denseCovarianceTerm(h, n: n, m: dl), accuracy: 1e-9, "D exact (n \(n))")
      let delta = 1e-7
      var worst = 0.0, scale = 0.0
      for idx in stride(from: 0, to: n * dl, by: max(1, n * dl / 150)) {
        var hp = h, hm = h
        hp[idx] += delta
        hm[idx] -= delta
        let fd = (Self.denseCovarianceTerm(hp, n: n, m: dl) - Self.denseCovarianceTerm(hm, n: n, m: dl)) / (2 * delta)
        worst = max(worst, abs(fd - analytic[idx]))
        scale = max(scale, abs(fd))
      }
      XCTAssertGreaterThan(scale, 0.01, "the covariance gradient should be non-trivial (n \(n))")
      XCTAssertLessThan(
        worst, 1e-4 * scale, "∂D/∂H vs central differences (n \(n), m \(dl)): worst \(worst), scale \(scale)")
    }
  }
}

import BAEIO
import BAEModel
import BAEStore
import BAETensor
import Foundation
import XCTest

// Calibration of the entropy estimate (issue 2, item 7; spec §7): on synthetic sets with r independent
// fair bits, Ĥ over the whole set must grow with r and be close to linear in r at fixed settings.
// Settings (also in Documentation/CLI.md, "Entropy calibration"): d = 64, d' = 256, 8192 rows from
// SyntheticData.generate(bits: r, dim: 64, rows: 8192, noise: 0, seed: 1), batch 512, lr 1e-3,
// λ_e = λ_c = 3e-5, 3000 steps, shuffled batches, validationFraction 0, seed 0, r ∈ {4, 8, 16, 32}, raw
// inputs (input normalisation none, uniform decoder-bias init).
// One BLAS thread (the values do not depend on it; on a shared 2-core machine it avoids spinning
// threads). About 4 s per r in a release build on an idle machine.
@testable import BAETrain

final class EntropyCalibrationTests: XCTestCase {
  static let dim = 64, latent = 256, rows = 8192, steps = 3000, lambda = 3e-5
  static let bitCounts = [4, 8, 16, 32]

  private var savedThreads = 0
  override func setUp() {
    savedThreads = BLAS.threads
    BLAS.threads = 1
  }
  override func tearDown() { BLAS.threads = savedThreads }

  /// Trains at the documented settings on r fair bits and returns Ĥ over the whole set (bits).
  func entropy(bits r: Int, in dir: URL) throws -> (entropy: Double, fvu: Double) {
    let values = SyntheticData.generate(bits: r, dim: Self.dim, rows: Self.rows, noise: 0, seed: 1)
    let data = dir.appendingPathComponent("r\(r).npy")
    try Npy.write(values, shape: [Self.rows, Self.dim], to: data)
    var c = TrainConfig()
    c.data = data.path
    c.out = dir.appendingPathComponent("run-r\(r)").path
    c.model.latentDim = Self.latent
    c.batchSize = 512
    c.steps = Self.steps
    c.model.lr = 1e-3
    c.model.entropyWeight = Self.lambda
    c.model.covarianceWeight = Self.lambda
    c.validationFraction = 0
    c.seed = 0
    // raw inputs, the settings the calibration was measured at: the default centred map rescales rows to
    // norm √d, which weakens λ relative to the MSE (Ĥ then runs to 33…256 bits and saturates at d' = 256)
    c.inputNormalization = .none
    c.decoderBiasInit = .uniform
    c.logEvery = 1_000_000
    let log = RunLog(rank: 0, worldSize: 1)
    log.quiet = true
    let trainer = try Trainer(config: c, collectives: SingleProcess(), log: log)
    _ = try trainer.run()
    // the trained model sees t(x) (InputTransform); evaluate its raw-unit form on the raw rows
    let run = trainer.runs[0]
    let s = try SetEvaluator.evaluate(
      run.model.rawUnits(run.input), source: InMemoryRowSource(values: values, inputDim: Self.dim),
      rows: 0..<Self.rows, chunk: 4096, collectives: SingleProcess())
    XCTAssertEqual(s.rows, Self.rows)
    return (s.entropyBits, s.fvu)
  }

  /// Least-squares line y = a + b·x and its R².
  static func fit(_ x: [Double], _ y: [Double]) -> (slope: Double, intercept: Double, r2: Double) {
    let n = Double(x.count)
    let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
    var sxy = 0.0, sxx = 0.0, syy = 0.0
    for (a, b) in zip(x, y) {
      sxy += (a - mx) * (b - my)
      sxx += (a - mx) * (a - mx)
      syy += (b - my) * (b - my)
    }
    let slope = sxy / sxx
    let intercept = my - slope * mx
    var ssRes = 0.0
    for (a, b) in zip(x, y) {
      let e = b - (intercept + slope * a)
      ssRes += e * e
    }
    return (slope, intercept, syy > 0 ? 1 - ssRes / syy : 0)
  }

  func testFitOfAnExactLine() {
    let f = Self.fit([1, 2, 3, 4], [3, 5, 7, 9])
    XCTAssertEqual(f.slope, 2, accuracy: 1e-12)
    XCTAssertEqual(f.intercept, 1, accuracy: 1e-12)
    XCTAssertEqual(f.r2, 1, accuracy: 1e-12)
    XCTAssertLessThan(Self.fit([1, 2, 3, 4], [1, 4, 1, 4]).r2, 0.5)
  }

  func testEntropyGrowsWithTheNumberOfFairBitsAndIsNearlyLinear() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bae-calibration-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }

    let start = Date()
    var h: [Double] = []
    for r in Self.bitCounts {
      let t0 = Date()
      let (e, fvu) = try entropy(bits: r, in: dir)
      h.append(e)
      print(
        String(
          format: "entropy calibration: r = %2d  Ĥ = %7.3f bits  fvu %.4f  (%.1f s)", r, e, fvu,
          Date().timeIntervalSince(t0)))
      XCTAssertTrue(e.isFinite && e > 0, "Ĥ(r = \(r)) = \(e)")
    }
    let x = Self.bitCounts.map(Double.init)
    let f = Self.fit(x, h)
    print(
      String(
        format: "entropy calibration: slope %.4f bits/bit, intercept %.3f bits, R² %.5f, Ĥ = %@, total %.1f s",
        f.slope, f.intercept, f.r2, h.map { String(format: "%.2f", $0) }.joined(separator: " / "),
        Date().timeIntervalSince(start)))
    for i in 1..<h.count {
      XCTAssertGreaterThan(h[i], h[i - 1], "Ĥ must strictly increase with r: \(h)")
    }
    XCTAssertGreaterThanOrEqual(f.r2, 0.98, "Ĥ should be close to linear in r: \(h), fit \(f)")
    XCTAssertGreaterThan(f.slope, 0)
  }
}

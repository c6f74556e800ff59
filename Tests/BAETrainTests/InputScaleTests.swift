import BAEIO
import BAEModel
import BAEStore
import BAETensor
import Foundation
import XCTest

// Input scale (Method.md, "Input normalisation"): the synthetic set times 1e3 with massive offset
// dimensions trains to the unscaled set's FVU at the defaults (and not on the raw reference path,
// which also warns); the saved model, with s folded back, reconstructs raw rows as the training-space
// model reconstructs s·x; s and the mean are exact sums, independent of how rows are split.
@testable import BAETrain

final class InputScaleTests: TrainerTestCase {
  /// 1e3 × the synthetic set, plus two massive-activation dimensions (constant offsets of 5.7e4 and
  /// −2e4, like an LM's outlier dimensions): its variance structure is the unscaled set's × 1e6.
  func scaledDataset() throws -> URL {
    let url = dir.appendingPathComponent("scaled.npy")
    if !FileManager.default.fileExists(atPath: url.path) {
      var x = SyntheticData.generate(bits: 7, dim: Self.dim, rows: Self.rows, noise: 0.05, seed: 21)
      for r in 0..<Self.rows {
        for k in 0..<Self.dim { x[r * Self.dim + k] *= 1e3 }
        x[r * Self.dim + 2] += 5.7e4
        x[r * Self.dim + 9] -= 2e4
      }
      try Npy.write(x, shape: [Self.rows, Self.dim], to: url)
    }
    return url
  }

  func config(data: URL, out: String, steps: Int = 400) -> TrainConfig {
    var c = TrainConfig()
    c.data = data.path
    c.out = dir.appendingPathComponent(out).path
    c.model.latentDim = Self.latent
    c.batchSize = Self.batch
    c.steps = steps
    c.validationFraction = 0.1
    c.seed = 4
    c.logEvery = 1_000_000
    return c
  }

  func train(_ c: TrainConfig) throws -> (Trainer, TrainSummary, [StepRecord]) {
    let log = RunLog(rank: 0, worldSize: 1)
    log.quiet = true
    let t = try Trainer(config: c, collectives: SingleProcess(), log: log)
    var records: [StepRecord] = []
    t.onStep = { records.append($0) }
    let summary = try t.run()
    return (t, summary, records)
  }

  func testScaledSetWithOutlierDimensionsReachesTheUnscaledFVU() throws {
    let plain = try train(config(data: try dataset(), out: "plain")).1.validation!.fvu
    let (scaledTrainer, scaledSummary, scaledRecords) = try train(config(data: try scaledDataset(), out: "scaled"))
    let scaled = scaledSummary.validation!.fvu
    // the raw reference path on the same scaled set: Adam's steps of ~lr cannot reach weights of 1e4
    var raw = config(data: try scaledDataset(), out: "raw")
    raw.inputNormalization = .none
    raw.decoderBiasInit = .uniform
    let (_, rawSummary, rawRecords) = try train(raw)
    print(
      "[input scale] validation FVU after 400 steps: unscaled \(plain), ×1e3 + outliers \(scaled) (s = \(scaledTrainer.config.inputScale)), same on raw inputs \(rawSummary.validation!.fvu)"
    )
    XCTAssertLessThan(plain, 0.5, "the unscaled set must train")
    XCTAssertLessThan(abs(scaled - plain), 0.05, "×1e3 with outlier dimensions must reach the unscaled FVU")
    XCTAssertGreaterThan(
      rawSummary.validation!.fvu, plain + 0.05, "the raw path should not reach it (else the test has no teeth)")
    // the raw run warns, names the step, and says so in metrics; the normalised run does not
    XCTAssertTrue(rawRecords.contains { $0.warnings?.contains(TrainingHealth.fvuWarning) ?? false })
    XCTAssertFalse(scaledRecords.contains { $0.warnings != nil }, "\(scaledRecords.compactMap(\.warnings).first ?? [])")
    let s = scaledTrainer.config.inputScale
    XCTAssertGreaterThan(s, 0)
    XCTAssertLessThan(s, 1e-2)
    // config.json records the scale and the mode
    let saved = try ModelFiles.readConfig(
      URL(fileURLWithPath: scaledTrainer.config.out).appendingPathComponent("config.json"))
    XCTAssertEqual(saved.inputScale, s)
    XCTAssertEqual(saved.inputNormalization, .centered)
  }

  func testHealthWarningSetsInAfterPatienceAndNamesTheStep() {
    var h = TrainingHealth(totalSteps: 100)
    XCTAssertEqual(h.patience, 20)
    var first: Int?
    for step in 1...30 {
      let r = h.update(fvu: 3, constantBits: 5, codeBits: 10)
      if !r.new.isEmpty { first = step }
      XCTAssertEqual(r.current.isEmpty, step < 20)
    }
    XCTAssertEqual(first, 20)
    XCTAssertTrue(h.update(fvu: 0.5, constantBits: 10, codeBits: 10).current.isEmpty, "the FVU condition reset")
    var c = TrainConfig()
    c.inputNormalization = .none
    let m = h.message(TrainingHealth.fvuWarning, step: 20, fvu: 3, config: c)
    XCTAssertTrue(m.hasPrefix("step 20:") && m.contains("--input-normalization centered"), m)
  }

  /// The folded model on raw x reconstructs what the training-space model gives on s·x, divided by s.
  func testSavedModelReconstructsRawRowsLikeTheTrainingSpaceModel() throws {
    for arch in [Architecture.bae, .topk, .jumprelu] {
      var c = config(data: try scaledDataset(), out: "fold-\(arch.rawValue)", steps: 60)
      c.model.architecture = arch
      c.model.k = 6
      c.model.threshold = 0.05
      c.checkpointEvery = 60
      let (t, _, _) = try train(c)
      let map = t.input
      XCTAssertFalse(map.isIdentity)
      let (saved, _) = try ModelFiles.load(directory: URL(fileURLWithPath: c.out))
      let (checkpoint, _) = try ModelFiles.load(
        directory: URL(fileURLWithPath: c.out).appendingPathComponent("step_00000060"))
      XCTAssertEqual(
        saved.parameters.toArray(), checkpoint.parameters.toArray(), "\(arch): checkpoint in raw units too")
      let x = try Npy.read(try scaledDataset())
      let n = 200, d = Self.dim
      let raw = AlignedBuffer<Float>(count: n * d), mapped = AlignedBuffer<Float>(count: n * d)
      for i in 0..<(n * d) {
        raw[i] = x.values[i]
        mapped[i] = x.values[i]
      }
      map.apply(mapped.buffer, rows: n)
      let wsRaw = StepWorkspace(config: saved.config, capacity: n, covariance: false)
      let wsTrain = StepWorkspace(config: t.model.config, capacity: n, covariance: false)
      _ = try saved.forward(Matrix(raw, rows: n, cols: d), wsRaw)
      _ = try t.model.forward(Matrix(mapped, rows: n, cols: d), wsTrain)
      // x̂_raw = x̂_train / s + μ; compared on the scale of the rows' spread around μ (~1e3, the
      // offsets of 5e4 excluded), since μ's float rounding is common to both
      var worst = 0.0, spread = 0.0
      for i in 0..<(n * d) {
        let expected = Double(wsTrain.reconstruction[i]) / Double(map.scale) + Double(map.shift[i % d])
        worst = max(worst, abs(Double(wsRaw.reconstruction[i]) - expected))
        spread = max(spread, abs(Double(raw[i]) - Double(map.shift[i % d])))
      }
      XCTAssertLessThan(worst / spread, 1e-4, "\(arch): raw-unit model vs training-space model mapped back")
      // the codes agree except where z is within float rounding of a threshold
      let a = wsRaw.counts.toArray(), b = wsTrain.counts.toArray()
      let differing = zip(a, b).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
      XCTAssertLessThanOrEqual(differing, max(1, a.reduce(0) { $0 + Int($1) } / 1000), "\(arch): the same codes")
    }
  }

  func testMomentsMatchAPlainLoopOverTheRows() throws {
    let url = try scaledDataset()
    let source = try openRowSource(url)
    let rows = 0..<(Self.rows - 1)  // not a multiple of the block size
    let whole = try InputMoments.measure(source: source, rows: rows, collectives: SingleProcess(), path: url.path)
    XCTAssertEqual(whole.rows, rows.count)
    // a plain double loop over the rows agrees to rounding
    let x = try Npy.read(url)
    var norm = 0.0
    for r in rows {
      var sq = 0.0
      for k in 0..<Self.dim { sq += Double(x.values[r * Self.dim + k]) * Double(x.values[r * Self.dim + k]) }
      norm += sq.squareRoot()
    }
    XCTAssertEqual(whole.meanNorm, norm / Double(rows.count), accuracy: 1e-12 * whole.meanNorm)
    // the split across ranks: DistributedTrainingTests.testInputScaleIsWorldSizeInvariant (mpirun)
    XCTAssertEqual(InputMoments.sample(0..<100_000).count, InputMoments.sampleRows)
    XCTAssertEqual(InputMoments.sample(0..<100_000).first, 0)
  }
}

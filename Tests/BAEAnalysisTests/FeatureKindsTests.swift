// ComSem for every kind (issue 9 item 1), pinned on hand-built models whose activations are known in
// closed form: an SAE ranks by raw activation (or z-score) among latents active on the token, a TopK SAE
// by its selected activations (not the pre-activations), the random-code baseline by seeded Gaussian
// codes through the same pipeline; the comparison's bootstrap interval.
import BAEAnalysis
import BAEIO
import BAEModel
import BAEStore
import BAETrain
import XCTest

final class FeatureKindsTests: XCTestCase {
  var dir: URL!

  override func setUpWithError() throws {
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("bae-kinds-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

  // rows:   0       1        2        3         4       5        6       7
  let xs: [[Float]] = [[1, 1], [1, -1], [-1, 1], [-1, -1], [1, 1], [1, -1], [1, 1], [-1, -1]]

  /// d = 2, d' = 3 SAE: z0 = x0, z1 = 2·x1, z2 = x0 + x1 − 1; decoder zero.
  /// ReLU activations per row: [1,1] → (1, 2, 1), [1,−1] → (1, 0, 0), [−1,1] → (0, 2, 0), [−1,−1] → 0.
  func writeSAE(_ architecture: Architecture, k: Int = 1, batchThreshold: Double? = nil) throws -> URL {
    let modelDir = dir.appendingPathComponent("model-\(architecture.rawValue)")
    try FileManager.default.createDirectory(at: modelDir, withIntermediateDirectories: true)
    var mc = ModelConfig.bae(inputDim: 2, latentDim: 3)
    mc.architecture = architecture
    mc.k = k
    let layout = ParameterLayout(mc)
    let model = Autoencoder(config: mc)
    model.parameters.zero()
    let w: [Float] = [1, 0, 0, 2, 1, 1]
    let b: [Float] = [0, 0, -1]
    for (i, v) in w.enumerated() { model.parameters.buffer[layout.encoderWeight.lowerBound + i] = v }
    for (i, v) in b.enumerated() { model.parameters.buffer[layout.encoderBias.lowerBound + i] = v }
    if let batchThreshold { model.batchThreshold = batchThreshold }
    var config = TrainConfig()
    config.model = mc
    try ModelFiles.saveWeights(model, to: modelDir.appendingPathComponent("model.safetensors"))
    try ModelFiles.saveJSON(config, to: modelDir.appendingPathComponent("config.json"))
    return modelDir
  }

  func writeData() throws -> URL {
    let npy = dir.appendingPathComponent("acts.npy")
    try Npy.write(xs.flatMap { $0 }, shape: [8, 2], to: npy)
    return npy
  }

  func options(top: Int) -> FeatureReportOptions {
    var o = FeatureReportOptions()
    o.topK = top
    o.describeCount = 2
    o.testCount = 2
    o.chunk = 3
    return o
  }

  func testReLUSAERanksByRawActivationAmongActiveLatents() throws {
    let report = try FeatureReportBuilder.build(
      modelDirectory: try writeSAE(.relu), data: try writeData(), tokens: nil, options: options(top: 2))
    XCTAssertEqual(report.settings.kind, "relu")
    XCTAssertEqual(report.settings.scoring, "activation")
    // rates = fraction of rows with a ≠ 0
    XCTAssertEqual(report.features.map(\.activity.rate), [5.0 / 8, 4.0 / 8, 3.0 / 8])
    // top-2 by a: [1,1] → latent 1 (a = 2), then latent 0 (tie with 2 at a = 1: lower index);
    // [1,−1] → only 0 is active; [−1,1] → only 1; [−1,−1] → no latent active, no assignment
    XCTAssertEqual(report.features.map { $0.samples.map(\.row) }, [[0, 1, 4, 5], [0, 2, 4, 6], []])
    XCTAssertEqual(report.features.map(\.assigned), [5, 4, 0])
    XCTAssertEqual(report.features.map(\.interpretable), [true, true, false])  // ≥ describe + 1 = 3 samples
  }

  func testZScoreRanksByStandardisedActivation() throws {
    var o = options(top: 2)
    o.saeScoring = .zscore
    let report = try FeatureReportBuilder.build(
      modelDirectory: try writeSAE(.relu), data: try writeData(), tokens: nil, options: o)
    XCTAssertEqual(report.settings.scoring, "zscore")
    // per-latent mean and std over the 8 rows (zeros included), in closed form
    let a: [[Double]] = [[1, 1, 0, 0, 1, 1, 1, 0], [2, 0, 2, 0, 2, 0, 2, 0], [1, 0, 0, 0, 1, 0, 1, 0]]
    let mean = a.map { $0.reduce(0, +) / 8 }
    let std = (0..<3).map { j in (a[j].map { $0 * $0 }.reduce(0, +) / 8 - mean[j] * mean[j]).squareRoot() }
    let z = (0..<3).map { j in (a[j][0] - mean[j]) / std[j] }  // row [1,1]: all three active
    XCTAssertEqual(z[0], 0.375 / 0.234375.squareRoot(), accuracy: 1e-12)
    XCTAssertGreaterThan(z[2], z[1])  // 1.29 > 1 > 0.77: on [1,1] the top-2 are latents 2 and 1
    XCTAssertGreaterThan(z[1], z[0])
    XCTAssertEqual(report.features.map { $0.samples.map(\.row) }, [[1, 5], [0, 2, 4, 6], [0, 4, 6]])
    XCTAssertEqual(report.features.map(\.assigned), [2, 4, 3])
  }

  func testTopKSAERanksItsSelectedActivationsNotThePreactivations() throws {
    // TopK k = 1: [1,1] keeps only latent 1 (z = 2); ranking z would also give latent 0 on those rows
    let report = try FeatureReportBuilder.build(
      modelDirectory: try writeSAE(.topk, k: 1), data: try writeData(), tokens: nil, options: options(top: 2))
    XCTAssertEqual(report.settings.kind, "topk")
    XCTAssertEqual(report.features.map { $0.samples.map(\.row) }, [[1, 5], [0, 2, 4, 6], []])
    XCTAssertEqual(report.features.map(\.activity.rate), [2.0 / 8, 4.0 / 8, 0])
  }

  func testJumpReLUAndBatchTopKRankTheirInferenceActivations() throws {
    // JumpReLU θ = 0.5 (fixed): a = z where z > 0.5, here the same as ReLU on these rows
    let jump = try FeatureReportBuilder.build(
      modelDirectory: try writeSAE(.jumprelu), data: try writeData(), tokens: nil, options: options(top: 2))
    XCTAssertEqual(jump.features.map { $0.samples.map(\.row) }, [[0, 1, 4, 5], [0, 2, 4, 6], []])
    // BatchTopK at inference: a = z where z > θ = 1.5, so only latent 1 (z = 2) survives anywhere
    let batch = try FeatureReportBuilder.build(
      modelDirectory: try writeSAE(.batchtopk, batchThreshold: 1.5), data: try writeData(), tokens: nil,
      options: options(top: 2))
    XCTAssertEqual(batch.settings.kind, "batchtopk")
    XCTAssertEqual(batch.features.map { $0.samples.map(\.row) }, [[], [0, 2, 4, 6], []])
    XCTAssertEqual(batch.features.map(\.assigned), [0, 4, 0])
  }

  func testRandomCodesGoThroughTheSamePipeline() throws {
    let m = 16, rows = 40, top = 3
    // chunking does not change a row's code
    let v = RandomFeatureValues(features: m, seed: 5, chunk: 7)
    let chunk = Array(try v.values(rows: 7..<14))
    XCTAssertEqual(Array(chunk[(2 * m)..<(3 * m)]), RandomFeatureValues.code(row: 9, features: m, seed: 5))
    XCTAssertNotEqual(
      RandomFeatureValues.code(row: 9, features: m, seed: 6), RandomFeatureValues.code(row: 9, features: m, seed: 5))
    // standard normal: over 40·16 = 640 values the mean is within 4σ/√640 of 0, the variance near 1
    let all = try (0..<rows).flatMap { RandomFeatureValues.code(row: $0, features: m, seed: 5) }.map(Double.init)
    let mu = all.reduce(0, +) / Double(all.count)
    XCTAssertLessThan(abs(mu), 4 / Double(all.count).squareRoot())
    XCTAssertEqual(all.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(all.count), 1, accuracy: 0.25)

    // a BAE model of width m only provides the width; its data are never encoded
    let modelDir = dir.appendingPathComponent("bae")
    try FileManager.default.createDirectory(at: modelDir, withIntermediateDirectories: true)
    let mc = ModelConfig.bae(inputDim: 2, latentDim: m)
    var config = TrainConfig()
    config.model = mc
    try ModelFiles.saveWeights(Autoencoder(config: mc), to: modelDir.appendingPathComponent("model.safetensors"))
    try ModelFiles.saveJSON(config, to: modelDir.appendingPathComponent("config.json"))
    let npy = dir.appendingPathComponent("rows.npy")
    try Npy.write([Float](repeating: 0, count: rows * 2), shape: [rows, 2], to: npy)
    var o = FeatureReportOptions()
    o.topK = top
    o.chunk = 6
    o.randomCodes = true
    o.randomSeed = 5
    let report = try FeatureReportBuilder.build(modelDirectory: modelDir, data: npy, tokens: nil, options: o)
    XCTAssertEqual(report.settings.kind, "random")
    XCTAssertEqual(report.settings.randomSeed, 5)
    XCTAssertNil(report.corpus.mse)
    // every token goes to exactly its top-3 values, found here by a full sort
    var expected = [[Int]](repeating: [], count: m)
    var positive = [Int](repeating: 0, count: m)
    for r in 0..<rows {
      let c = RandomFeatureValues.code(row: r, features: m, seed: 5)
      for j in 0..<m where c[j] > 0 { positive[j] += 1 }
      for j in (0..<m).sorted(by: { c[$0] > c[$1] || (c[$0] == c[$1] && $0 < $1) }).prefix(top) {
        expected[j].append(r)
      }
    }
    XCTAssertEqual(report.features.map(\.assigned), expected.map(\.count))
    XCTAssertEqual(report.features.map(\.assigned).reduce(0, +), rows * top)
    XCTAssertEqual(report.features.map { $0.samples.map(\.row) }, expected.map { Array($0.prefix(13)) })
    XCTAssertEqual(report.features.map(\.activity.rate), positive.map { Double($0) / Double(rows) })
  }

  func testBootstrapIntervalOfTheMean() throws {
    XCTAssertNil(FeatureComparison.bootstrapMeanInterval([0.5], samples: 100, confidence: 0.95, seed: 0))
    XCTAssertEqual(
      FeatureComparison.bootstrapMeanInterval([0.25, 0.25, 0.25], samples: 100, confidence: 0.95, seed: 0),
      [0.25, 0.25])
    // 50 zeros and 50 ones: the resampled mean is Binomial(100, ½)/100, sd 0.05, so the 95 % interval
    // is ≈ 0.5 ± 1.96·0.05 = [0.402, 0.598]
    let xs = [Double](repeating: 0, count: 50) + [Double](repeating: 1, count: 50)
    let ci = try XCTUnwrap(FeatureComparison.bootstrapMeanInterval(xs, samples: 4000, confidence: 0.95, seed: 3))
    XCTAssertEqual(ci[0], 0.402, accuracy: 0.02)
    XCTAssertEqual(ci[1], 0.598, accuracy: 0.02)
  }

  func testComparisonPutsKindsSideBySide() throws {
    let npy = try writeData()
    let relu = try FeatureReportBuilder.build(
      modelDirectory: try writeSAE(.relu), data: npy, tokens: nil, options: options(top: 2))
    var o = options(top: 2)
    o.saeScoring = .zscore
    let z = try FeatureReportBuilder.build(modelDirectory: try writeSAE(.relu), data: npy, tokens: nil, options: o)
    let c = FeatureComparison(reports: [("relu", "a", relu), ("relu-z", "b", z)], bootstrapSamples: 50)
    XCTAssertEqual(c.entries.map(\.interpretable), [2, 2])  // ≥ 3 samples: latents (0, 1) and (1, 2)
    XCTAssertEqual(c.entries.map(\.medianAssigned), [4, 3])
    XCTAssertEqual(c.entries.map(\.scoring), ["activation", "zscore"])
    XCTAssertNil(c.entries[0].meanScore)
    let out = dir.appendingPathComponent("cmp")
    try c.write(to: out)
    let md = try String(contentsOf: out.appendingPathComponent("compare.md"), encoding: .utf8)
    XCTAssertTrue(md.contains("| relu-z | relu | zscore | 8 | 3 | 2 (66.7 %)"), md)
    let back = try JSONDecoder().decode(
      FeatureComparison.self, from: Data(contentsOf: out.appendingPathComponent("compare.json")))
    XCTAssertEqual(back.entries.map(\.label), ["relu", "relu-z"])
  }
}

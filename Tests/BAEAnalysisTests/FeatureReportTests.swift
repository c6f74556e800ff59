// The streaming passes end to end on a tiny model whose codes are known by hand: firing rates, Ĥ, the
// top-1 assignment, contexts across two TSV files and document boundaries, and the written report.
import BAEAnalysis
import BAEIO
import BAEModel
import BAEStore
import BAETrain
import XCTest

final class FeatureReportTests: XCTestCase {
  var dir: URL!

  override func setUpWithError() throws {
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("bae-analysis-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

  /// d = 2, d' = 3: h0 = 1[x0 > 0], h1 = 1[x1 > 0], h2 = 1[x0 + x1 > 1.5]; decoder zero.
  func writeModel() throws -> URL {
    let modelDir = dir.appendingPathComponent("model")
    try FileManager.default.createDirectory(at: modelDir, withIntermediateDirectories: true)
    let mc = ModelConfig.bae(inputDim: 2, latentDim: 3, bitsPerFeature: 1)
    let layout = ParameterLayout(mc)
    let model = Autoencoder(config: mc)
    model.parameters.zero()
    let w: [Float] = [1, 0, 0, 1, 1, 1]
    let b: [Float] = [0, 0, -1.5]
    for (i, v) in w.enumerated() { model.parameters.buffer[layout.encoderWeight.lowerBound + i] = v }
    for (i, v) in b.enumerated() { model.parameters.buffer[layout.encoderBias.lowerBound + i] = v }
    var config = TrainConfig()
    config.model.inputDim = 2
    config.model.latentDim = 3
    try ModelFiles.saveWeights(model, to: modelDir.appendingPathComponent("model.safetensors"))
    try ModelFiles.saveJSON(config, to: modelDir.appendingPathComponent("config.json"))
    return modelDir
  }

  // rows:   0      1       2       3        4      5       6      7
  let xs: [[Float]] = [[1, 1], [1, -1], [-1, 1], [-1, -1], [1, 1], [1, -1], [1, 1], [-1, -1]]
  // h:  111   100   010   000   111   100   111   000  -> p = (5/8, 4/8, 3/8)

  func records() -> [TokenRecord] {
    let texts = ["a", "b", "c", "d\t", "e", "f", "g", "h"]
    return (0..<8).map { TokenRecord(tokenId: 100 + $0, documentId: $0 < 4 ? 7 : 9, position: $0 % 4, text: texts[$0]) }
  }

  func writeData() throws -> (npy: URL, tsv: [URL]) {
    let npy = dir.appendingPathComponent("acts.npy")
    try Npy.write(xs.flatMap { $0 }, shape: [8, 2], to: npy)
    let recs = records()
    let t1 = dir.appendingPathComponent("part1.tsv"), t2 = dir.appendingPathComponent("part2.tsv")
    try TokenTable.write(recs[0..<5], to: t1)
    try TokenTable.write(recs[5..<8], to: t2)
    return (npy, [t1, t2])
  }

  func testHandModelReport() throws {
    let modelDir = try writeModel()
    let (npy, tsv) = try writeData()
    var options = FeatureReportOptions()
    options.topK = 1
    options.describeCount = 1
    options.testCount = 1
    options.contextWindow = 2
    options.chunk = 3  // several chunks, last one short
    var phases: [String] = []
    let report = try FeatureReportBuilder.build(modelDirectory: modelDir, data: npy, tokens: tsv, options: options) {
      p, _, _ in
      if phases.last != p { phases.append(p) }
    }
    XCTAssertEqual(phases, ["rates", "samples", "contexts"])
    XCTAssertEqual(report.features.map(\.activity.rate), [0.625, 0.5, 0.375])
    let hb = { (p: Double) in -p * log2(p) - (1 - p) * log2(1 - p) }
    XCTAssertEqual(report.corpus.entropyBits, hb(0.625) + 1 + hb(0.375), accuracy: 1e-6)
    // top-1 by |h − p|: devs on (0.375, 0.5, 0.625), off (0.625, 0.5, 0.375)
    XCTAssertEqual(report.features.map { $0.samples.map(\.row) }, [[2, 3], [1, 5], [0, 4]])
    XCTAssertEqual(report.features.map(\.assigned), [3, 2, 3])
    XCTAssertEqual(report.features[0].samples.map(\.role), ["describe", "test"])
    XCTAssertTrue(report.features.allSatisfy(\.interpretable))
    XCTAssertEqual(report.summary.interpretable, 3)
    XCTAssertEqual(report.summary.activity.dense, 1)

    let c3 = try XCTUnwrap(report.features[0].samples[1].context)
    XCTAssertEqual(
      c3, TokenContext(row: 3, tokenId: 103, documentId: 7, position: 3, token: "d\t", before: "bc", after: ""))
    let c4 = try XCTUnwrap(report.features[2].samples[1].context)  // crosses into the second file
    XCTAssertEqual(
      c4, TokenContext(row: 4, tokenId: 104, documentId: 9, position: 0, token: "e", before: "", after: "fg"))

    let out = dir.appendingPathComponent("report")
    try report.write(to: out)
    let md = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
    XCTAssertTrue(md.contains("…bc**⟦d ⟧**…"), md)
    XCTAssertTrue(md.contains("| dense | p > 0.5 | 1 |"), md)
    let back = try JSONDecoder().decode(
      FeatureReport.self, from: Data(contentsOf: out.appendingPathComponent("report.json")))
    XCTAssertEqual(back.features[1].samples.map(\.row), [1, 5])
    XCTAssertEqual(back.features[0].samples[1].context, c3)
  }

  func testMaxRowsLimitsTheScanButTokensMustCoverTheData() throws {
    let modelDir = try writeModel()
    let (npy, tsv) = try writeData()
    var options = FeatureReportOptions()
    options.topK = 1
    options.maxRows = 4
    let report = try FeatureReportBuilder.build(modelDirectory: modelDir, data: npy, tokens: tsv, options: options)
    XCTAssertEqual(report.settings.rows, 4)
    XCTAssertEqual(report.features.map(\.activity.rate), [0.5, 0.5, 0.25])
    XCTAssertThrowsError(
      try FeatureReportBuilder.build(modelDirectory: modelDir, data: npy, tokens: [tsv[0]], options: options)
    ) {
      guard case StoreError.badTokens(_, _, let detail) = $0 else { return XCTFail("\($0)") }
      XCTAssertTrue(detail.contains("5 token lines in total but the data has 8 rows"), detail)
    }
  }

  func testContextsFromADatasetsSidecars() throws {
    let (npy, _) = try writeData()
    let ds = dir.appendingPathComponent("ds")
    let all = dir.appendingPathComponent("all.tsv")
    try TokenTable.write(records(), to: all)
    _ = try DatasetPacker.pack(
      .init(
        input: npy, tokens: all, options: ShardOptions(dtype: .f32, rowsPerFrame: 2, shuffle: true, level: 1),
        rowsPerShard: 4, output: ds, source: [:])
    ) { _, _ in }
    let files = try XCTUnwrap(try TokenContexts.sidecars(ofDataset: ds))
    XCTAssertEqual(files.count, 2)
    let ctx = try TokenContexts.collect(rows: [3, 5], from: files, window: 1, expectedRows: 8)
    XCTAssertEqual(ctx[3]?.before, "c")
    XCTAssertEqual(ctx[3]?.after, "")
    XCTAssertEqual(ctx[5]?.before, "e")
    XCTAssertEqual(ctx[5]?.after, "g")
  }

  func testWidthMismatchIsATypedError() throws {
    let modelDir = try writeModel()
    let npy = dir.appendingPathComponent("wide.npy")
    try Npy.write([Float](repeating: 0, count: 12), shape: [4, 3], to: npy)
    XCTAssertThrowsError(try FeatureReportBuilder.build(modelDirectory: modelDir, data: npy, tokens: nil)) {
      guard case .widthMismatch(_, found: 3, _, _)? = $0 as? AnalysisError else { return XCTFail("\($0)") }
    }
  }
}

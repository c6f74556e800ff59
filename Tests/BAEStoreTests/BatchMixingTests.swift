import BAERandom
import XCTest

@testable import BAEStore

final class BatchMixingTests: XCTestCase {
  /// Document labels of `rows` rows cut into documents of realistic lengths (100–300 tokens).
  private func realisticDocuments(rows: Int, seed: UInt64) -> [Int32] {
    var g = SplitMix64(state: seed)
    var out: [Int32] = []
    var doc: Int32 = 0
    while out.count < rows {
      let len = 100 + Int(g.next(below: 201))
      out += repeatElement(doc, count: min(len, rows - out.count))
      doc += 1
    }
    return out
  }

  func testKnownAnswerOnSequentialBatches() {
    // 64 rows in 8 documents of 8 rows; sequential batches of 16 hold exactly 2 whole documents.
    let docs = (0..<64).map { Int32($0 / 8) }
    let s = GlobalBatchSampler(rows: 0..<64, globalBatch: 16, seed: 0, order: .sequential)
    let r = BatchMixingReport.measure(sampler: s, documents: docs)
    XCTAssertEqual(r.batches, 4)
    XCTAssertEqual(r.documents, 8)
    XCTAssertEqual(r.meanDistinctDocuments, 2)
    XCTAssertEqual(r.sameDocumentPairRate, 2.0 * 28 / 120, accuracy: 1e-12)  // 2·C(8,2) of C(16,2) pairs
    XCTAssertEqual(r.uniformSameDocumentPairRate, 8.0 * 8 * 7 / (64 * 63), accuracy: 1e-12)
    // P(a uniform 16-subset of 64 misses a document) = C(56,16)/C(64,16) = Π_{i<16} (56 − i)/(64 − i).
    let miss = (0..<16).reduce(1.0) { $0 * Double(56 - $1) / Double(64 - $1) }
    XCTAssertEqual(r.uniformDistinctDocuments, 8 * (1 - miss), accuracy: 1e-9)
    XCTAssertEqual(r.mixingRatio, 2 / (8 * (1 - miss)), accuracy: 1e-9)
  }

  func testUniformShuffleMeasuresNearOne() {
    // blockRows 1 over everything is a uniform permutation: the ratios must be ~1.
    let docs = realisticDocuments(rows: 20_000, seed: 1)
    let s = GlobalBatchSampler(rows: 0..<20_000, globalBatch: 512, seed: 5, order: .shuffled)
    let r = BatchMixingReport.measure(sampler: s, documents: docs)
    XCTAssertEqual(r.mixingRatio, 1, accuracy: 0.01)
    XCTAssertEqual(r.pairRateRatio, 1, accuracy: 0.05)
  }

  func testMissProbabilityEdges() {
    XCTAssertEqual(BatchMixingReport.missProbability(rows: 10, batch: 10, documentRows: 1), 0)
    XCTAssertEqual(BatchMixingReport.missProbability(rows: 10, batch: 3, documentRows: 0), 1)
    XCTAssertEqual(BatchMixingReport.missProbability(rows: 10, batch: 3, documentRows: 8), 0)  // 8 + 3 > 10
    XCTAssertEqual(
      BatchMixingReport.missProbability(rows: 10, batch: 3, documentRows: 2), 7.0 * 6 / (10 * 9), accuracy: 1e-15)
  }

  func testDocumentsFromSidecarsSplitOnIdChangeAndPositionZero() throws {
    let dir = makeTempDir("mixing-docs")
    defer { try? FileManager.default.removeItem(at: dir) }
    // ids 7,7,7 | 7 (position 0 again: a new document) | 9,9 | 4 ... across two shards.
    let ids = [7, 7, 7, 7, 9, 9, 4, 4, 4, 4]
    let pos = [1, 2, 3, 0, 1, 2, 0, 1, 2, 3]
    let toks = (0..<10).map { TokenRecord(tokenId: $0, documentId: ids[$0], position: pos[$0], text: "t") }
    try writeDataset(
      gaussianRows(10, 2, seed: 1), dim: 2, rowsPerShard: 5, options: ShardOptions(dtype: .f32, rowsPerFrame: 4),
      at: dir, tokens: toks)
    XCTAssertEqual(try BatchMixingReport.documents(ofDataset: dir), [0, 0, 0, 1, 2, 2, 3, 3, 3, 3])
    let bare = makeTempDir("mixing-bare")
    defer { try? FileManager.default.removeItem(at: bare) }
    try writeDataset(
      gaussianRows(10, 2, seed: 1), dim: 2, rowsPerShard: 5, options: ShardOptions(dtype: .f32, rowsPerFrame: 4),
      at: bare)
    XCTAssertThrowsError(try BatchMixingReport.documents(ofDataset: bare)) { e in
      guard case .badManifest? = e as? StoreError else { return XCTFail("\(e)") }
    }
  }

  func testPackedDatasetMixesLikeAUniformShuffle() throws {
    // A packed dataset shaped like the main job's (25,600 rows, 256 rows per frame, documents of
    // 100–300 tokens), measured through its token sidecar as `bae inspect --batch-mixing` does.
    let rows = 25_600, dir = makeTempDir("mixing-packed")
    defer { try? FileManager.default.removeItem(at: dir) }
    let labels = realisticDocuments(rows: rows, seed: 2)
    let toks = (0..<rows).map { TokenRecord(tokenId: 0, documentId: Int(labels[$0]), position: $0, text: "") }
    let m = try writeDataset(
      [Float](repeating: 0, count: rows), dim: 1, rowsPerShard: 10_000,
      options: ShardOptions(dtype: .f16, rowsPerFrame: 256), at: dir, tokens: toks)
    let docs = try BatchMixingReport.documents(ofDataset: dir)
    XCTAssertEqual(docs, labels)
    func report(window: Int) -> BatchMixingReport {
      BatchMixingReport.measure(
        sampler: GlobalBatchSampler(
          rows: 0..<20_480, globalBatch: 512, seed: 0, order: .shuffled,
          blockRows: m.rowsPerFrame, windowBlocks: window),
        documents: docs)
    }
    let mixed = report(window: BatchMixing.windowBlocks(rowsPerBlock: m.rowsPerFrame))
    XCTAssertGreaterThanOrEqual(mixed.mixingRatio, 0.9)
    XCTAssertEqual(mixed.pairRateRatio, 1, accuracy: 0.1)
    let legacy = report(window: BatchMixing.legacyWindowBlocks)
    XCTAssertLessThan(legacy.mixingRatio, 0.5, "the 8-frame window clumps documents")
    XCTAssertGreaterThan(legacy.pairRateRatio, 3)
  }

  func testWindowPolicy() {
    XCTAssertEqual(BatchMixing.windowBlocks(rowsPerBlock: 256), 4096)
    XCTAssertEqual(BatchMixing.windowBlocks(rowsPerBlock: 1), 8, ".npy inputs keep their sequence")
    XCTAssertEqual(BatchMixing.windowBlocks(rowsPerBlock: 3000, windowRows: 1000), 1)
    XCTAssertEqual(BatchMixing.gatherBatches(localBatch: 256, inputDim: 576), (512 << 20) / (256 * 576 * 4))
    XCTAssertEqual(BatchMixing.gatherBatches(localBatch: 512, inputDim: 1 << 20, gatherBytes: 1), 1)
  }
}

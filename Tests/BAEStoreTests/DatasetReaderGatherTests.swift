import XCTest

@testable import BAEStore

/// Rows in memory that pretend to be frames of `rowsPerBlock` rows and count the frame decodes a
/// `ShardDataset` would do (one per distinct frame per `readRows` call).
private final class CountingFrames: RowSource, @unchecked Sendable {
  let inner: InMemoryRowSource
  let rowsPerBlock: Int
  var inputDim: Int { inner.inputDim }
  var rowCount: Int { inner.rowCount }
  private let lock = NSLock()
  private var _decodes: [Int: Int] = [:]
  var decodes: [Int: Int] {
    lock.lock()
    defer { lock.unlock() }
    return _decodes
  }

  init(values: [Float], inputDim: Int, rowsPerBlock: Int) {
    inner = InMemoryRowSource(values: values, inputDim: inputDim)
    self.rowsPerBlock = rowsPerBlock
  }

  func readRows(_ indices: [Int], into out: UnsafeMutableBufferPointer<Float>) throws {
    lock.lock()
    for f in Set(indices.map { $0 / rowsPerBlock }) { _decodes[f, default: 0] += 1 }
    lock.unlock()
    try inner.readRows(indices, into: out)
  }
}

final class DatasetReaderGatherTests: XCTestCase {
  private let dim = 3
  private func values(_ rows: Int) -> [Float] { (0..<(rows * 3)).map { Float($0) } }

  private func expectedBatches(_ sampler: GlobalBatchSampler, count: Int, x: [Float]) -> [[Float]] {
    var s = sampler
    return (0..<count).map { _ in s.nextGlobalBatch().flatMap { Array(x[($0 * dim)..<(($0 + 1) * dim)]) } }
  }

  private func read(_ readers: [DatasetReader], batches: Int) throws -> [[Float]] {
    try (0..<batches).map { _ in
      try readers.flatMap { r -> [Float] in
        var buf = [Float](repeating: .nan, count: r.localBatch * dim)
        XCTAssertEqual(try buf.withUnsafeMutableBufferPointer { try r.nextBatch(into: $0) }, r.localBatch)
        return buf
      }
    }
  }

  func testGatheredBatchesEqualTheSamplersFor1To4Readers() throws {
    // 1000 rows in frames of 16 (the last frame short), windows of 5 frames (80 rows) and batches
    // of 60: batches straddle windows, and 40 batches cross two epoch boundaries (16 per epoch).
    let x = values(1000)
    let sampler = GlobalBatchSampler(
      rows: 0..<990, globalBatch: 60, seed: 4, order: .shuffled, blockRows: 16, windowBlocks: 5)
    let expected = expectedBatches(sampler, count: 40, x: x)
    for readers in 1...4 {
      for gather in [1, 3, 1000] {
        let src = CountingFrames(values: x, inputDim: dim, rowsPerBlock: 16)
        let rs = (0..<readers).map {
          DatasetReader(source: src, rank: $0, readers: readers, sampler: sampler, gatherBatches: gather)
        }
        XCTAssertEqual(try read(rs, batches: 40), expected, "readers \(readers) gather \(gather)")
        rs.forEach { $0.close() }
      }
    }
  }

  func testResumeMidEpochContinuesIdentically() throws {
    let x = values(700)
    let fresh = GlobalBatchSampler(
      rows: 0..<700, globalBatch: 48, seed: 9, order: .shuffled, blockRows: 16, windowBlocks: 6)
    let expected = expectedBatches(fresh, count: 30, x: x)
    let src = CountingFrames(values: x, inputDim: dim, rowsPerBlock: 16)
    let a = DatasetReader(source: src, rank: 1, readers: 2, sampler: fresh, gatherBatches: 4)
    let a0 = DatasetReader(source: src, rank: 0, readers: 2, sampler: fresh, gatherBatches: 4)
    XCTAssertEqual(try read([a0, a], batches: 11), Array(expected[0..<11]))
    let saved = a.samplerState
    XCTAssertEqual(saved, SamplerState(epoch: 0, batchInEpoch: 11))
    var resumed = fresh
    try resumed.validate(saved, source: "test")
    resumed.state = saved
    // Resumed with another rank count and gather size: the same continuation.
    let rs = (0..<3).map { DatasetReader(source: src, rank: $0, readers: 3, sampler: resumed, gatherBatches: 2) }
    XCTAssertEqual(try read(rs, batches: 19), Array(expected[11..<30]))
    XCTAssertEqual(rs[2].samplerState, SamplerState(epoch: 2, batchInEpoch: 2))
  }

  func testEachFrameDecodedOncePerEpochWhenAWindowFits() throws {
    // 64 frames of 32 rows, windows of 8 frames (256 rows), batch 64 (4 batches per window).
    let x = values(2048)
    let sampler = GlobalBatchSampler(
      rows: 0..<2048, globalBatch: 64, seed: 2, order: .shuffled, blockRows: 32, windowBlocks: 8)
    for readers in [1, 2] {
      let src = CountingFrames(values: x, inputDim: dim, rowsPerBlock: 32)
      let rs = (0..<readers).map {
        DatasetReader(source: src, rank: $0, readers: readers, sampler: sampler, gatherBatches: 1000)
      }
      _ = try read(rs, batches: 32)  // one epoch
      rs.forEach { $0.close() }
      let d = src.decodes
      XCTAssertEqual(d.count, 64)
      // Each reader decodes each frame once (prefetch may already have started epoch 2's first window).
      XCTAssertLessThanOrEqual(d.values.filter { $0 > readers }.count, 8, "readers \(readers)")
      XCTAssertLessThanOrEqual(d.values.max()!, 2 * readers)
    }
  }
}

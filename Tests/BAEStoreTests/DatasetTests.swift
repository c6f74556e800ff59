import XCTest

@testable import BAEStore

final class DatasetTests: XCTestCase {
  var dir: URL!
  override func setUp() { dir = makeTempDir("dataset") }
  override func tearDown() { try? FileManager.default.removeItem(at: dir) }

  func testDatasetRowsReadBackInAnyOrder() throws {
    let dim = 12
    let x = gaussianRows(250, dim, seed: 4)
    let toks = (0..<250).map { TokenRecord(tokenId: $0 * 3, documentId: $0 / 50, position: $0 % 50, text: "t\($0)") }
    let m = try writeDataset(
      x, dim: dim, rowsPerShard: 96, options: ShardOptions(dtype: .f32, rowsPerFrame: 32), at: dir, tokens: toks)
    XCTAssertEqual(m.shards.map(\.rows), [96, 96, 58])
    XCTAssertEqual(m.rows, 250)
    let ds = try ShardDataset(directory: dir, cacheFrames: 3)
    XCTAssertEqual(ds.rowCount, 250)
    XCTAssertEqual(ds.rowsPerBlock, 32)
    let idx = [249, 0, 97, 96, 95, 5, 200, 131, 0]
    var out = [Float](repeating: .nan, count: idx.count * dim)
    try out.withUnsafeMutableBufferPointer { try ds.readRows(idx, into: $0) }
    for (j, r) in idx.enumerated() {
      XCTAssertEqual(Array(out[(j * dim)..<((j + 1) * dim)]), Array(x[(r * dim)..<((r + 1) * dim)]), "row \(r)")
    }
    XCTAssertLessThanOrEqual(ds.cachedFrameCount, 3)
    let t1 = try TokenTable.read(dir.appendingPathComponent(m.shards[1].tokens!))
    XCTAssertEqual(t1.first, toks[96])
    XCTAssertEqual(m.shards[1].xxh64, XXH64.hex(try contentHash(of: dir.appendingPathComponent(m.shards[1].file))))
  }

  func testMissingShardAndMismatchedWidth() throws {
    try writeDataset(
      gaussianRows(40, 6, seed: 5), dim: 6, rowsPerShard: 20, options: ShardOptions(dtype: .bf16, rowsPerFrame: 8),
      at: dir)
    let other = makeTempDir("other")
    defer { try? FileManager.default.removeItem(at: other) }
    try writeDataset(
      gaussianRows(20, 7, seed: 6), dim: 7, rowsPerShard: 20, options: ShardOptions(dtype: .bf16, rowsPerFrame: 8),
      at: other)
    let s1 = dir.appendingPathComponent("shard_000001.baes")
    try FileManager.default.removeItem(at: s1)
    XCTAssertThrowsError(try ShardDataset(directory: dir)) { e in
      XCTAssertEqual(
        e as? StoreError,
        .missingShard(manifest: dir.appendingPathComponent("manifest.json").path, shard: "shard_000001.baes"))
    }
    try FileManager.default.copyItem(at: other.appendingPathComponent("shard_000000.baes"), to: s1)
    XCTAssertThrowsError(try ShardDataset(directory: dir)) { e in
      XCTAssertEqual(e as? StoreError, .shardMismatch(file: s1.path, field: "inputDim", expected: "6", found: "7"))
    }
    try Data("{\"format\": \"bae-dataset\"".utf8).write(to: dir.appendingPathComponent("manifest.json"))
    XCTAssertThrowsError(try ShardDataset(directory: dir)) { e in
      guard case .badManifest? = e as? StoreError else { return XCTFail("\(e)") }
    }
  }

  func testReadersTogetherReturnTheGlobalBatches() throws {
    let dim = 5
    let x = gaussianRows(300, dim, seed: 7)
    try writeDataset(x, dim: dim, rowsPerShard: 128, options: ShardOptions(dtype: .f32, rowsPerFrame: 16), at: dir)
    let ds = try ShardDataset(directory: dir, cacheFrames: 8)
    let mem = InMemoryRowSource(values: x, inputDim: dim)
    func sampler() -> GlobalBatchSampler {
      GlobalBatchSampler(rows: 0..<280, globalBatch: 30, seed: 9, order: .shuffled, blockRows: 16, windowBlocks: 3)
    }
    var expected = sampler()
    for readers in [1, 3] {
      var rs = (0..<readers).map {
        DatasetReader(source: ds, rank: $0, readers: readers, sampler: sampler(), prefetchBatches: 2)
      }
      if readers == 3 { rs[2] = DatasetReader(source: mem, rank: 2, readers: 3, sampler: sampler()) }
      expected = sampler()
      for b in 0..<25 {  // crosses the epoch boundary (9 batches per epoch)
        let rows = expected.nextGlobalBatch()
        var global: [Float] = []
        for r in rs {
          var buf = [Float](repeating: .nan, count: r.localBatch * dim)
          let n = try buf.withUnsafeMutableBufferPointer { try r.nextBatch(into: $0) }
          XCTAssertEqual(n, r.localBatch)
          global += buf
          XCTAssertEqual(r.samplerState, expected.state)
        }
        XCTAssertEqual(
          global, rows.flatMap { Array(x[($0 * dim)..<(($0 + 1) * dim)]) }, "readers \(readers) batch \(b)")
      }
      rs.forEach { $0.close() }
    }
  }

  func testReaderResumesFromSavedState() throws {
    let x = gaussianRows(64, 3, seed: 8)
    let src = InMemoryRowSource(values: x, inputDim: 3)
    let a = DatasetReader(
      source: src, rank: 0, readers: 1,
      sampler: GlobalBatchSampler(rows: 0..<64, globalBatch: 10, seed: 1, order: .shuffled), prefetchBatches: 3)
    var buf = [Float](repeating: 0, count: 30)
    for _ in 0..<8 { _ = try buf.withUnsafeMutableBufferPointer { try a.nextBatch(into: $0) } }
    let saved = a.samplerState
    XCTAssertEqual(saved, SamplerState(epoch: 1, batchInEpoch: 2))
    let b = DatasetReader(
      source: src, rank: 0, readers: 1,
      sampler: GlobalBatchSampler(rows: 0..<64, globalBatch: 10, seed: 1, order: .shuffled, state: saved))
    var buf2 = buf
    for _ in 0..<5 {
      _ = try buf.withUnsafeMutableBufferPointer { try a.nextBatch(into: $0) }
      _ = try buf2.withUnsafeMutableBufferPointer { try b.nextBatch(into: $0) }
      XCTAssertEqual(buf, buf2)
    }
  }

  func testCorruptFrameSurfacesAsTypedErrorFromNextBatch() throws {
    let x = gaussianRows(64, 4, seed: 10)
    try writeDataset(x, dim: 4, rowsPerShard: 64, options: ShardOptions(dtype: .f16, rowsPerFrame: 16), at: dir)
    let url = dir.appendingPathComponent("shard_000000.baes")
    let off = try ShardFile(url: url).header.frames[1].offset
    var bytes = [UInt8](try Data(contentsOf: url))
    bytes[off + 12] ^= 0x80
    try Data(bytes).write(to: url)
    let ds = try ShardDataset(directory: dir)  // opening checks headers only
    let r = DatasetReader(
      source: ds, rank: 0, readers: 1,
      sampler: GlobalBatchSampler(rows: 0..<64, globalBatch: 16, seed: 0, order: .sequential, blockRows: 16))
    var buf = [Float](repeating: 0, count: 64)
    XCTAssertEqual(try buf.withUnsafeMutableBufferPointer { try r.nextBatch(into: $0) }, 16)  // frame 0 is fine
    XCTAssertThrowsError(try buf.withUnsafeMutableBufferPointer { try r.nextBatch(into: $0) }) { e in
      guard case .corruptFrame(url.path, 1, _)? = e as? StoreError else { return XCTFail("\(e)") }
    }
  }
}

import BAEIO
import XCTest

@testable import BAEStore

final class DatasetPackerTests: XCTestCase {
  var dir: URL!
  override func setUp() { dir = makeTempDir("pack") }
  override func tearDown() { try? FileManager.default.removeItem(at: dir) }

  func testPackNpyWithTokensAndInspect() throws {
    let dim = 16
    let x = gaussianRows(300, dim, seed: 21)
    let npy = dir.appendingPathComponent("acts.npy")
    try Npy.write(x, shape: [300, dim], to: npy)
    let toks = (0..<300).map {
      TokenRecord(tokenId: 1000 + $0, documentId: $0 / 100, position: $0 % 100, text: "tok\t\($0)")
    }
    let tsv = dir.appendingPathComponent("tokens.tsv")
    try TokenTable.write(toks, to: tsv)
    let out = dir.appendingPathComponent("ds")
    var calls: [Int] = []
    let m = try DatasetPacker.pack(
      .init(
        input: npy, tokens: tsv, options: ShardOptions(dtype: .f32, rowsPerFrame: 32),
        rowsPerShard: 100, output: out, source: ["model": "unit"])
    ) { done, _ in calls.append(done) }
    // 100 rounds down to 96 so frames align with shard boundaries.
    XCTAssertEqual(m.shards.map(\.rows), [96, 96, 96, 12])
    XCTAssertEqual(calls, [96, 192, 288, 300])
    XCTAssertEqual(m.source["model"], "unit")
    XCTAssertEqual(m.source["input"], "acts.npy")
    let src = try openRowSource(out)
    XCTAssertEqual(src.rowsPerBlock, 32)
    var all = [Float](repeating: .nan, count: 300 * dim)
    try all.withUnsafeMutableBufferPointer { try src.readRows(Array(0..<300), into: $0) }
    XCTAssertEqual(all.map(\.bitPattern), x.map(\.bitPattern))
    XCTAssertEqual(try TokenTable.read(out.appendingPathComponent("shard_000002.tokens.tsv")), Array(toks[192..<288]))

    let report = try DatasetInspector.inspect(out, verify: true)
    XCTAssertTrue(report.problems.isEmpty, "\(report.problems)")
    XCTAssertEqual(report.statisticsRows, 300)
    let mean = x.reduce(0.0) { $0 + Double($1) } / Double(x.count)
    XCTAssertEqual(report.mean, mean, accuracy: 1e-9)
    XCTAssertEqual(report.maxAbs, 1234.5, accuracy: 1e-9)

    // A tampered token sidecar and a tampered shard are both reported by --verify.
    try Data("token_id\tdocument_id\tposition\ttext\n".utf8).write(
      to: out.appendingPathComponent("shard_000001.tokens.tsv"))
    let shard = out.appendingPathComponent("shard_000003.baes")
    var b = [UInt8](try Data(contentsOf: shard))
    b[b.count - 2] ^= 1
    try Data(b).write(to: shard)
    let bad = try DatasetInspector.inspect(out, verify: true)
    XCTAssertEqual(bad.problems.count, 3, "\(bad.problems)")  // sidecar hash, shard hash, frame checksum
    XCTAssertTrue(bad.problems.contains { $0.contains("shard_000003.baes: frame 0 is corrupt") })
  }

  func testPackSafetensorsBF16AndErrors() throws {
    let dim = 8
    let x = gaussianRows(50, dim, seed: 22)
    let st = dir.appendingPathComponent("acts.safetensors")
    var w = SafeTensorsWriter(metadata: ["model": "from-file"])
    w.add("layer.3", shape: [50, dim], floats: x, as: .BF16)
    w.add("flat", shape: [400], floats: x)
    try w.write(to: st)
    let out = dir.appendingPathComponent("ds")
    let m = try DatasetPacker.pack(
      .init(
        input: st, tensor: "layer.3", options: ShardOptions(dtype: .bf16, rowsPerFrame: 8),
        rowsPerShard: 64, output: out))
    XCTAssertEqual(m.source["model"], "from-file")
    XCTAssertEqual(m.source["tensor"], "layer.3")
    let src = try openRowSource(out)
    var got = [Float](repeating: 0, count: 50 * dim)
    try got.withUnsafeMutableBufferPointer { try src.readRows(Array(0..<50), into: $0) }
    // bf16 in the input, bf16 on disk: the values must survive exactly (rounding happens once).
    let once = try SafeTensorsFile(contentsOf: st).floats("layer.3")
    XCTAssertEqual(got, once)

    XCTAssertThrowsError(
      try DatasetPacker.pack(.init(input: st, options: ShardOptions(dtype: .f16), rowsPerShard: 256, output: out))
    ) {
      guard case .badInput(_, let d)? = $0 as? StoreError else { return XCTFail("\($0)") }
      XCTAssertTrue(d.contains("--tensor") && d.contains("layer.3"))
    }
    XCTAssertThrowsError(
      try DatasetPacker.pack(
        .init(input: st, tensor: "flat", options: ShardOptions(dtype: .f16), rowsPerShard: 256, output: out))
    ) {
      guard case .badInput? = $0 as? StoreError else { return XCTFail("\($0)") }
    }
    let tsv = dir.appendingPathComponent("short.tsv")
    try TokenTable.write([TokenRecord(tokenId: 1, documentId: 0, position: 0, text: "a")], to: tsv)
    XCTAssertThrowsError(
      try DatasetPacker.pack(
        .init(
          input: st, tensor: "layer.3", tokens: tsv, options: ShardOptions(dtype: .f16),
          rowsPerShard: 256, output: out))
    ) {
      guard case .badTokens(tsv.path, _, _)? = $0 as? StoreError else { return XCTFail("\($0)") }
    }
  }

  func testOpenRowSourceNpyInMemory() throws {
    let x = gaussianRows(20, 3, seed: 23)
    let npy = dir.appendingPathComponent("small.npy")
    try Npy.write(x, shape: [20, 3], to: npy)
    let src = try openRowSource(npy)
    XCTAssertTrue(src is InMemoryRowSource)
    XCTAssertEqual(src.rowCount, 20)
    var out = [Float](repeating: 0, count: 6)
    try out.withUnsafeMutableBufferPointer { try src.readRows([19, 0], into: $0) }
    XCTAssertEqual(out, Array(x[57..<60]) + Array(x[0..<3]))
    XCTAssertThrowsError(try openRowSource(dir.appendingPathComponent("x.bin"))) {
      guard case .badInput? = $0 as? StoreError else { return XCTFail("\($0)") }
    }
  }
}

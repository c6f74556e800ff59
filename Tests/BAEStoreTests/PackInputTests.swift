import BAEIO
import XCTest

@testable import BAEStore

/// `pack` choices on the input (issue 13 item 7): one tensor needs no --tensor, and NaN/Inf rows
/// are refused with their count and first row, or dropped with their token lines when asked.
final class PackInputTests: XCTestCase {
  var dir: URL!
  override func setUp() { dir = makeTempDir("packinput") }
  override func tearDown() { try? FileManager.default.removeItem(at: dir) }

  func testASingleTensorIsTakenWithoutItsName() throws {
    let x = gaussianRows(20, 4, seed: 8)
    let st = dir.appendingPathComponent("one.safetensors")
    var w = SafeTensorsWriter()
    w.add("hidden", shape: [20, 4], floats: x, as: .F16)
    try w.write(to: st)
    let out = dir.appendingPathComponent("ds")
    let m = try DatasetPacker.pack(
      .init(input: st, options: ShardOptions(dtype: .f32, rowsPerFrame: 4), rowsPerShard: 8, output: out))
    XCTAssertEqual(m.source["tensor"], "hidden")
    XCTAssertEqual(m.shards.map(\.rows), [8, 8, 4])  // read shard by shard
    var got = [Float](repeating: 0, count: 80)
    try got.withUnsafeMutableBufferPointer { try openRowSource(out).readRows(Array(0..<20), into: $0) }
    XCTAssertEqual(
      got.map(\.bitPattern), x.map { HalfPrecision.float(fromFloat16Bits: HalfPrecision.float16Bits($0)).bitPattern })
  }

  private func inputWithNonFiniteRows() throws -> (npy: URL, tsv: URL, x: [Float], toks: [TokenRecord]) {
    var x = gaussianRows(30, 3, seed: 9)
    x[7 * 3 + 1] = .nan
    x[8 * 3 + 0] = .infinity
    x[25 * 3 + 2] = -.infinity
    let npy = dir.appendingPathComponent("bad.npy")
    try Npy.write(x, shape: [30, 3], to: npy)
    let toks = (0..<30).map { TokenRecord(tokenId: $0, documentId: 0, position: $0, text: "w\($0)") }
    let tsv = dir.appendingPathComponent("t.tsv")
    try TokenTable.write(toks, to: tsv)
    return (npy, tsv, x, toks)
  }

  func testNonFiniteRowsAreRefusedWithCountAndFirstRow() throws {
    let (npy, tsv, _, _) = try inputWithNonFiniteRows()
    let out = dir.appendingPathComponent("ds")
    let e = storeError {
      try DatasetPacker.pack(
        .init(
          input: npy, tokens: tsv, options: ShardOptions(dtype: .f16, rowsPerFrame: 4), rowsPerShard: 8, output: out))
    }
    XCTAssertEqual(e, .nonFiniteRows(file: npy.path, count: 3, firstRow: 7))
    let left = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
    XCTAssertEqual(left, [], "a refused pack leaves no shard and no manifest")
  }

  func testSkipNonFiniteDropsTheRowsAndTheirTokens() throws {
    let (npy, tsv, x, toks) = try inputWithNonFiniteRows()
    let out = dir.appendingPathComponent("ds")
    let m = try DatasetPacker.pack(
      .init(
        input: npy, tokens: tsv, options: ShardOptions(dtype: .f32, rowsPerFrame: 4),
        rowsPerShard: 8, output: out, skipNonFinite: true))
    let kept = (0..<30).filter { ![7, 8, 25].contains($0) }
    XCTAssertEqual(m.rows, 27)
    XCTAssertEqual(m.source[DatasetPacker.skippedSourceKey], "3 rows, first 7")
    var got = [Float](repeating: 0, count: 27 * 3)
    try got.withUnsafeMutableBufferPointer { try openRowSource(out).readRows(Array(0..<27), into: $0) }
    XCTAssertEqual(got.map(\.bitPattern), kept.flatMap { x[($0 * 3)..<($0 * 3 + 3)] }.map(\.bitPattern))
    let tokens = try m.shards.flatMap { try TokenTable.read(out.appendingPathComponent($0.tokens!)) }
    XCTAssertEqual(tokens, kept.map { toks[$0] })
  }

  func testFramesAboveTheReadersCapAreRefusedAtPackTime() throws {
    let npy = dir.appendingPathComponent("wide.npy")
    try Npy.write(gaussianRows(4, 8, seed: 1), shape: [4, 8], to: npy)
    setenv("BAE_MAX_FRAME_BYTES", "64", 1)
    defer { unsetenv("BAE_MAX_FRAME_BYTES") }
    let e = storeError {
      try DatasetPacker.pack(
        .init(
          input: npy, options: ShardOptions(dtype: .f32, rowsPerFrame: 4), rowsPerShard: 4,
          output: dir.appendingPathComponent("ds")))
    }
    guard case .limitExceeded(npy.path, _, 128, 64, "BAE_MAX_FRAME_BYTES")? = e else {
      return XCTFail("\(String(describing: e))")
    }
  }
}

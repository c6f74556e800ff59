import BAEIO
import XCTest

@testable import BAEStore

final class ShardFormatTests: XCTestCase {
  func testXXH64MatchesXxhsum() {
    // Values from `xxhsum -H64` (xxHash 0.8) on the same bytes.
    XCTAssertEqual(XXH64.hash([UInt8]()), 0xEF46_DB37_51D8_E999)
    XCTAssertEqual(XXH64.hash(Array("abc".utf8)), 0x44BC_2CF5_AD77_0999)
    let bytes = (0..<1000).map { UInt8(($0 * 7 + 3) % 256) }
    XCTAssertEqual(XXH64.hex(XXH64.hash(bytes)), "5f235fa033f1a3fb")
    XCTAssertEqual(XXH64.hex(XXH64.hash(Array(bytes[0..<37]))), "e32ef63802f5a3fd")
    XCTAssertEqual(XXH64.hex(XXH64.hash(Array(bytes[0..<12]))), "d52e407833af5133")
  }

  func testRoundTripAllDTypesAndShuffle() throws {
    let dim = 37, rows = 101
    let x = gaussianRows(rows, dim, seed: 1)
    let dir = makeTempDir("roundtrip")
    defer { try? FileManager.default.removeItem(at: dir) }
    for dtype in StoreDType.allCases {
      for shuffle in [true, false] {
        let url = dir.appendingPathComponent("s_\(dtype)_\(shuffle).baes")
        try x.withUnsafeBufferPointer {
          _ = try ShardWriter.write(
            $0, inputDim: dim, options: ShardOptions(dtype: dtype, rowsPerFrame: 16, shuffle: shuffle),
            metadata: ["model": "m"], to: url)
        }
        let s = try ShardFile(url: url)
        XCTAssertEqual(s.header.rows, rows)
        XCTAssertEqual(s.header.frameCount, 7)
        XCTAssertEqual(s.header.metadata, ["model": "m"])
        XCTAssertEqual(s.header.shuffled, shuffle)
        XCTAssertTrue(s.verify().isEmpty)
        var got: [Float] = []
        let dec = FrameDecoder()
        var scratch: [UInt8] = []
        for k in 0..<s.header.frameCount {
          var f = [Float](repeating: .nan, count: s.header.rowsInFrame(k) * dim)
          try f.withUnsafeMutableBufferPointer { try s.decodeFrame(k, into: $0, decoder: dec, scratch: &scratch) }
          got += f
        }
        // Independent expectation: Swift's own Float16 conversion, and bf16 as the top half of the
        // f32 bits after round-to-nearest-even (checked against truncation error bounds).
        for i in 0..<x.count {
          switch dtype {
          case .f32: XCTAssertEqual(got[i].bitPattern, x[i].bitPattern)
          case .f16: XCTAssertEqual(got[i], Float(Float16(x[i])))
          case .bf16:
            XCTAssertEqual(got[i].bitPattern & 0xFFFF, 0)
            XCTAssertLessThanOrEqual(abs(got[i] - x[i]), abs(x[i]) * Float(1.0 / 256.0) + 1e-38, "i \(i)")
          }
        }
      }
    }
  }

  func testBF16RoundsToNearestEven() {
    XCTAssertEqual(HalfPrecision.bfloat16Bits(1.0), 0x3F80)
    XCTAssertEqual(HalfPrecision.bfloat16Bits(Float(bitPattern: 0x3F80_8000)), 0x3F80)  // tie -> even
    XCTAssertEqual(HalfPrecision.bfloat16Bits(Float(bitPattern: 0x3F81_8000)), 0x3F82)  // tie -> even (up)
    XCTAssertEqual(HalfPrecision.bfloat16Bits(Float(bitPattern: 0x3F80_8001)), 0x3F81)
    XCTAssertTrue(Float(bitPattern: UInt32(HalfPrecision.bfloat16Bits(.nan)) << 16).isNaN)
    XCTAssertEqual(HalfPrecision.bfloat16Bits(.infinity), 0x7F80)
  }

  func testHeaderBytesMatchTheDocumentedLayout() throws {
    let dir = makeTempDir("layout")
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("a.baes")
    let x = gaussianRows(10, 4, seed: 2)
    try x.withUnsafeBufferPointer {
      _ = try ShardWriter.write(
        $0, inputDim: 4, options: ShardOptions(dtype: .bf16, rowsPerFrame: 4), metadata: [:], to: url)
    }
    let b = [UInt8](try Data(contentsOf: url))
    XCTAssertEqual(Array(b[0..<8]), Array("BAESHARD".utf8))
    XCTAssertEqual(b[8], 1)
    XCTAssertEqual(b[12], 2)
    XCTAssertEqual(b[13], 1)
    XCTAssertEqual(b[16], 4)
    XCTAssertEqual(b[24], 10)
    XCTAssertEqual(b[32], 4)
    XCTAssertEqual(b[40], 3)
    XCTAssertEqual(b[48], 2)  // metadata "{}"
    XCTAssertEqual(Array(b[64..<66]), Array("{}".utf8))
    let first = 64 + 2 + 3 * 24 + 8
    XCTAssertEqual(Int(b[66]) | Int(b[67]) << 8, first)  // frame 0 offset = end of header
    XCTAssertEqual(Array(b[first..<(first + 4)]), [0x28, 0xB5, 0x2F, 0xFD])  // zstd frame magic
  }

  func testTypedErrors() throws {
    let dir = makeTempDir("errors")
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("a.baes")
    let x = gaussianRows(64, 8, seed: 3)
    try x.withUnsafeBufferPointer {
      _ = try ShardWriter.write(
        $0, inputDim: 8, options: ShardOptions(dtype: .f32, rowsPerFrame: 16), metadata: [:], to: url)
    }
    let good = [UInt8](try Data(contentsOf: url))
    let bad = dir.appendingPathComponent("bad.baes")
    func open(_ bytes: [UInt8]) -> Error? {
      try! Data(bytes).write(to: bad)
      do {
        _ = try ShardFile(url: bad)
        return nil
      } catch { return error }
    }
    var m = good
    m[0] = UInt8(ascii: "X")
    guard case .badMagic(let f, _)? = open(m) as? StoreError else { return XCTFail("bad magic") }
    XCTAssertEqual(f, bad.path)
    m = good
    m[8] = 2
    XCTAssertEqual(open(m) as? StoreError, .unsupportedVersion(file: bad.path, found: 2, supported: 1))
    m = good
    m[16] ^= 1
    guard case .corruptHeader(_, "headerChecksum", _)? = open(m) as? StoreError else { return XCTFail("header flip") }
    m = good
    m[66 + 5] ^= 0x10  // inside the frame index
    guard case .corruptHeader(_, "headerChecksum", _)? = open(m) as? StoreError else { return XCTFail("index flip") }
    XCTAssertEqual(
      open(Array(good.dropLast(3))) as? StoreError,
      .truncated(file: bad.path, expectedBytes: good.count, foundBytes: good.count - 3))
    guard case .truncated? = open(Array(good[0..<40])) as? StoreError else { return XCTFail("short header") }
    // A flipped byte in frame 2 opens fine and fails when that frame is decoded, naming it.
    let s0 = try ShardFile(url: url)
    m = good
    m[s0.header.frames[2].offset + 9] ^= 0x01
    try Data(m).write(to: bad)
    let s = try ShardFile(url: bad)
    let errs = s.verify()
    XCTAssertEqual(errs.count, 1)
    guard case .corruptFrame(let file, 2, _)? = errs.first else { return XCTFail("frame flip: \(errs)") }
    XCTAssertEqual(file, bad.path)
    XCTAssertTrue(errs[0].description.contains("frame 2"))
  }

  func testTokenTableRoundTrip() throws {
    let dir = makeTempDir("tokens")
    defer { try? FileManager.default.removeItem(at: dir) }
    let recs = [
      TokenRecord(tokenId: 5, documentId: 0, position: 0, text: "Hello"),
      TokenRecord(tokenId: 9, documentId: 0, position: 1, text: " a\tb\\c\nd\r"),
      TokenRecord(tokenId: 0, documentId: 1, position: 0, text: ""),
    ]
    let url = dir.appendingPathComponent("t.tsv")
    try TokenTable.write(recs, to: url)
    XCTAssertEqual(try TokenTable.read(url), recs)
    try Data("token_id\tposition\n1\t2\n".utf8).write(to: url)
    guard case .badTokens(_, 1, _)? = (Result { try TokenTable.read(url) }.failureError) else { return XCTFail() }
    try Data("text\tdocument_id\tposition\ttoken_id\nhi\t3\t4\tx\n".utf8).write(to: url)
    guard case .badTokens(_, 2, let detail)? = (Result { try TokenTable.read(url) }.failureError) else {
      return XCTFail()
    }
    XCTAssertTrue(detail.contains("token_id"))
  }
}

extension Result {
  var failureError: StoreError? {
    if case .failure(let e) = self { return e as? StoreError }
    return nil
  }
}

import BAEIO
import XCTest

@testable import BAEStore

/// Hostile datasets, shards and token files (issue 11): each case must end in the exact typed
/// error, never a trap, a hang or an allocation driven by an unchecked field.
final class StoreHardeningTests: XCTestCase {
  var dir: URL!
  override func setUp() { dir = makeTempDir("hardening") }
  override func tearDown() { try? FileManager.default.removeItem(at: dir) }

  private var manifestURL: URL { dir.appendingPathComponent(DatasetManifest.fileName) }

  /// A small real dataset (2 shards with token sidecars) whose manifest the tests then edit.
  private func dataset() throws -> DatasetManifest {
    let toks = (0..<40).map { TokenRecord(tokenId: $0, documentId: 0, position: $0, text: "t\($0)") }
    return try writeDataset(
      gaussianRows(40, 4, seed: 1), dim: 4, rowsPerShard: 20,
      options: ShardOptions(dtype: .f32, rowsPerFrame: 8), at: dir, tokens: toks)
  }

  private func rewriteManifest(_ edit: (inout DatasetManifest) -> Void) throws {
    // Decoded without validation, so a test can edit a manifest it made invalid before.
    var m = try JSONDecoder().decode(DatasetManifest.self, from: Data(contentsOf: manifestURL))
    edit(&m)
    try m.encoded().write(to: manifestURL)
  }

  // Issue 11 item 2: row counts summing past Int.max trapped in `reduce`.
  func testRowCountsSummingPastIntMaxAreABadManifest() throws {
    _ = try dataset()
    try rewriteManifest { m in
      m.shards[0].rows = Int.max
      m.shards[1].rows = 2
      m.rows = Int.min + 1  // what a wrapping sum would give
    }
    guard case .badManifest(manifestURL.path, let detail)? = storeError({ try ShardDataset(directory: dir) }) else {
      return XCTFail("expected badManifest")
    }
    XCTAssertTrue(detail.contains("overflow"), detail)
    // rows x inputDim x 4 must fit as well (the inspector's raw size).
    try rewriteManifest { m in
      m.shards[0].rows = Int.max / 8
      m.shards[1].rows = 0
      m.rows = Int.max / 8
    }
    guard case .badManifest? = storeError({ try DatasetManifest.read(directory: dir) }) else { return XCTFail() }
  }

  // Issue 11 item 20: a `tokens` (or `file`) entry with `../` escaped the dataset directory. The
  // path-traversal case is only ever a string in the manifest: nothing is written where it points.
  func testManifestNamesMustStayInsideTheDirectory() throws {
    _ = try dataset()
    for bad in ["../outside.tokens.tsv", "..", ".", "", "sub/shard.tsv", "/etc/hostname"] {
      try rewriteManifest { $0.shards[1].tokens = bad }
      guard case .badManifest(manifestURL.path, let detail)? = storeError({ try DatasetManifest.read(directory: dir) })
      else {
        return XCTFail("tokens \(bad.debugDescription) accepted")
      }
      XCTAssertTrue(detail.contains("shards[1].tokens"), detail)
      guard case .badManifest? = storeError({ try DatasetInspector.inspect(dir, verify: true) }) else {
        return XCTFail()
      }
      try rewriteManifest { $0.shards[1].tokens = "shard_000001.tokens.tsv" }
    }
    try rewriteManifest { $0.shards[0].file = ".." }
    guard case .badManifest(_, let detail)? = storeError({ try ShardDataset(directory: dir) }) else { return XCTFail() }
    XCTAssertTrue(detail.contains("shards[0].file"), detail)
  }

  // Issue 11 item 6: a ~100-byte shard whose header asks for a 1 GB frame made readers allocate
  // 2 GiB of floats before any frame was checked.
  func testTinyShardWithAHugeFrameIsRefusedBeforeAllocating() throws {
    let url = dir.appendingPathComponent("huge.baes")
    let frame: [UInt8] = Array(repeating: 7, count: 8)
    let rows = 500_000_000
    var header = ShardHeader(
      dtype: .f16, shuffled: false, inputDim: 1, rows: rows, rowsPerFrame: rows, metadata: [:],
      frames: [FrameEntry(offset: 0, bytes: frame.count, xxh64: XXH64.hash(frame))])
    header.frames[0].offset = ShardHeader.headerEnd(metadataBytes: 2, frameCount: 1)
    let bytes = header.encode() + frame
    XCTAssertLessThan(bytes.count, 120)
    try Data(bytes).write(to: url)
    guard
      case .limitExceeded(url.path, _, let found, let limit, "BAE_MAX_FRAME_BYTES")? = storeError({
        try ShardFile(url: url)
      })
    else {
      return XCTFail("expected limitExceeded")
    }
    XCTAssertEqual(found, rows * 2)
    XCTAssertEqual(limit, try Limits.frameBytes())

    // With the cap raised, the header opens, and the frame still fails its checks before the
    // output buffer is sized from the header.
    setenv("BAE_MAX_FRAME_BYTES", "\(1 << 31)", 1)
    defer { unsetenv("BAE_MAX_FRAME_BYTES") }
    let shard = try ShardFile(url: url)
    var values: [Float] = []
    var scratch: [UInt8] = []
    guard
      case .corruptFrame(url.path, 0, _)? = storeError({
        try shard.decodeFrame(0, into: &values, decoder: FrameDecoder(), scratch: &scratch)
      })
    else {
      return XCTFail("expected corruptFrame")
    }
    XCTAssertEqual(values.count, 0, "no buffer sized from the header before the frame was checked")
  }

  func testAFrameCapEnvironmentValueMustBeANumber() throws {
    let m = try dataset()
    setenv("BAE_MAX_FRAME_BYTES", "lots", 1)
    defer { unsetenv("BAE_MAX_FRAME_BYTES") }
    guard
      case .badInput("BAE_MAX_FRAME_BYTES", _)? = storeError({
        try ShardFile(url: dir.appendingPathComponent(m.shards[0].file))
      })
    else {
      return XCTFail()
    }
  }

  // Issue 11 item 7: a FIFO where a shard, manifest or token file should be blocked open(2) forever.
  func testFIFOsAreRefusedWithoutBlocking() throws {
    let m = try dataset()
    let fifo = dir.appendingPathComponent("fifo")
    makeFIFO(fifo)
    let path = fifo.path
    let cases: [(String, @Sendable () throws -> Void)] = [
      ("ShardFile", { @Sendable in _ = try ShardFile(url: URL(fileURLWithPath: path)) }),
      ("TokenTable.read", { @Sendable in _ = try TokenTable.read(URL(fileURLWithPath: path)) }),
      ("contentHash", { @Sendable in _ = try contentHash(of: URL(fileURLWithPath: path)) }),
    ]
    for (what, body) in cases {
      guard let result = finishing(within: 20, what, unblock: { releaseFIFO(fifo) }, body) else { continue }
      guard case .failure(let e) = result, case .notRegularFile(path, let kind)? = e as? StoreError else {
        XCTFail("\(what): \(result)")
        continue
      }
      XCTAssertTrue(kind.contains("FIFO"), kind)
    }
    // The same through a dataset: shard 1 replaced by a FIFO.
    let shard1 = dir.appendingPathComponent(m.shards[1].file)
    try FileManager.default.removeItem(at: shard1)
    makeFIFO(shard1)
    let d: URL = dir
    let result = finishing(within: 20, "ShardDataset", unblock: { releaseFIFO(shard1) }) {
      try ShardDataset(directory: d)
    }
    if let result {
      guard case .failure(let e) = result, case .notRegularFile(shard1.path, _)? = e as? StoreError else {
        return XCTFail("\(result)")
      }
    }
  }

  // Issue 11 item 8: a token path at an endless stream buffered an unbounded line.
  func testEndlessStreamsAndOverlongLinesAreRefused() throws {
    let zero = URL(fileURLWithPath: "/dev/zero")  // only ever read
    if let result = finishing(within: 20, "TokenTable.read(/dev/zero)", { try TokenTable.read(zero) }) {
      guard case .failure(let e) = result, case .notRegularFile("/dev/zero", let kind)? = e as? StoreError else {
        return XCTFail("\(result)")
      }
      XCTAssertEqual(kind, "character device")
    }
    // A regular file with a line longer than the cap: refused with the line's number, at the
    // default cap and at a lower one given explicitly.
    let url = dir.appendingPathComponent("long.tsv")
    let cap = try Limits.tokenLineBytes()
    var text = Data("token_id\tdocument_id\tposition\ttext\n1\t0\t0\tshort\n".utf8)
    text.append(Data(repeating: UInt8(ascii: "a"), count: cap + 10))
    try text.write(to: url)
    guard
      case .limitExceeded(url.path, "line 3 length", let found, cap, "BAE_MAX_TOKEN_LINE_BYTES")? =
        storeError({ try TokenTable.read(url) })
    else { return XCTFail("default cap") }
    XCTAssertGreaterThan(found, cap)
    let long = "a much longer text than forty bytes here"  // 40 bytes: the line has 46
    try Data("token_id\tdocument_id\tposition\ttext\n1\t0\t0\tshort\n2\t0\t1\t\(long)\n".utf8).write(to: url)
    guard
      case .limitExceeded(url.path, "line 3 length", 46, 40, _)? =
        storeError({ try TokenTable.forEachRecord(url, maxLineBytes: 40) { _ in } })
    else { return XCTFail("small cap") }
    XCTAssertEqual(try TokenTable.read(url).count, 2)
  }

  // Issue 11 item 21: CRLF token files were refused by pack and accepted by features. There is
  // one parser now, and it reads a CRLF file exactly as its LF twin.
  func testCRLFTokenFilesReadLikeLF() throws {
    let recs = [
      TokenRecord(tokenId: 5, documentId: 0, position: 0, text: "Hello"),
      TokenRecord(tokenId: 9, documentId: 0, position: 1, text: " a\tb\r"),
      TokenRecord(tokenId: 0, documentId: 1, position: 0, text: ""),
    ]
    let lf = dir.appendingPathComponent("lf.tsv"), crlf = dir.appendingPathComponent("crlf.tsv")
    try TokenTable.write(recs, to: lf)
    let text = String(decoding: try Data(contentsOf: lf), as: UTF8.self)
    try Data(text.replacingOccurrences(of: "\n", with: "\r\n").utf8).write(to: crlf)
    XCTAssertEqual(try TokenTable.read(crlf), recs)
    XCTAssertEqual(try TokenTable.read(lf), recs)
    // ... and pack takes it.
    let npy = dir.appendingPathComponent("a.npy")
    try Npy.write(gaussianRows(3, 2, seed: 3), shape: [3, 2], to: npy)
    let out = dir.appendingPathComponent("ds")
    let m = try DatasetPacker.pack(
      .init(
        input: npy, tokens: crlf, options: ShardOptions(dtype: .f32, rowsPerFrame: 2),
        rowsPerShard: 4, output: out))
    XCTAssertEqual(try TokenTable.read(out.appendingPathComponent(m.shards[0].tokens!)), recs)
  }

  // Issue 11 Deliver 6: the content hash is plain XXH64 of the bytes, so `xxhsum -H64` checks it.
  func testContentHashIsWhatXxhsumPrints() throws {
    let m = try dataset()
    let shard = dir.appendingPathComponent(m.shards[0].file)
    let bytes = [UInt8](try Data(contentsOf: shard))
    XCTAssertEqual(m.shards[0].xxh64, XXH64.hex(XXH64.hash(bytes)))
    let tool = ["/usr/bin/xxhsum", "/usr/local/bin/xxhsum"].first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let tool else {
      throw XCTSkip("xxhsum not installed (Debian package xxhash): cannot compare with the real tool")
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = ["-H64", shard.path, dir.appendingPathComponent(m.shards[1].tokens!).path]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    XCTAssertEqual(p.terminationStatus, 0)
    let digests = output.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
    XCTAssertEqual(digests, [m.shards[0].xxh64, m.shards[1].tokensXXH64!])
  }

  func testStreamingXXH64MatchesOneShotAtEverySplit() {
    var g = UInt64(12345)
    let bytes = (0..<300).map { _ -> UInt8 in
      g = g &* 6_364_136_223_846_793_005 &+ 1
      return UInt8(truncatingIfNeeded: g >> 33)
    }
    for n in [0, 1, 31, 32, 33, 63, 64, 100, 300] {
      let whole = XXH64.hash(Array(bytes[0..<n]))
      for split in Set([0, 1, n / 3, n / 2, max(0, n - 1), n]) where split <= n {
        var s = XXH64()
        bytes[0..<split].withUnsafeBytes { s.update($0) }
        bytes[split..<n].withUnsafeBytes { part in
          // a second split inside the rest, so pending bytes carry over twice
          let k = part.count / 2
          s.update(UnsafeRawBufferPointer(rebasing: part[0..<k]))
          s.update(UnsafeRawBufferPointer(rebasing: part[k...]))
        }
        XCTAssertEqual(s.digest(), whole, "n \(n) split \(split)")
      }
    }
  }

  func testAVersion1ManifestAsksForARepack() throws {
    _ = try dataset()
    try rewriteManifest { $0.version = 1 }
    guard case .badManifest(_, let detail)? = storeError({ try DatasetManifest.read(directory: dir) }) else {
      return XCTFail()
    }
    XCTAssertTrue(detail.contains("re-run `bae pack`"), detail)
  }
}

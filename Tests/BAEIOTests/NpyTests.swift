// .npy reading against files numpy wrote (bit for bit), refusal of bad files with the expected
// typed error, byte-identical writing, and Swift write -> Swift read round trips.
import BAEIO
import Foundation
import XCTest

final class NpyTests: XCTestCase {
  func testReadsNumpyFixturesBitForBit() throws {
    let expected = try Fixtures.json("npy_expected.json")
    XCTAssertEqual(expected.count, 8, "fixture set changed: regenerate with scripts/make_io_fixtures.py")
    for (name, entry) in expected {
      let entry = entry as! [String: Any]
      let array = try Npy.read(Fixtures.url(name))
      XCTAssertEqual(array.shape, ints(entry["shape"]), name)
      XCTAssertEqual(array.dtype.rawValue, entry["dtype"] as? String, name)
      XCTAssertEqual(bitPatterns(array.values), ints(entry["bits"]).map { UInt32($0) }, name)
    }
  }

  func testReadHeaderReportsShapeDtypeOffsetAndVersion() throws {
    let expected = try Fixtures.json("npy_expected.json")
    var versions = Set<Int>()
    for (name, entry) in expected {
      let entry = entry as! [String: Any]
      let header = try Npy.readHeader(Fixtures.url(name))
      XCTAssertEqual(header.shape, ints(entry["shape"]), name)
      XCTAssertEqual(header.dataOffset, (entry["data_offset"] as! NSNumber).intValue, name)
      XCTAssertEqual(header.version, (entry["version"] as! NSNumber).intValue, name)
      XCTAssertEqual(header.count, ints(entry["bits"]).count, name)
      versions.insert(header.version)
    }
    XCTAssertEqual(versions, [1, 2, 3])
  }

  func testReadRowsMatchesSliceOfFullRead() throws {
    for name in ["f32_2d_v1.npy", "f32_2d_v2.npy", "f16_2d_v1.npy"] {
      let url = Fixtures.url(name)
      let full = try Npy.read(url)
      let (rows, cols) = (full.shape[0], full.shape[1])
      for r0 in 0...rows {
        for r1 in r0...rows {
          let part = try Npy.readRows(url, rows: r0..<r1)
          XCTAssertEqual(part.shape, [r1 - r0, cols], name)
          XCTAssertEqual(
            bitPatterns(part.values), bitPatterns(Array(full.values[r0 * cols..<r1 * cols])),
            "\(name) rows \(r0)..<\(r1)")
        }
      }
    }
  }

  func testReadRowsRejectsNon2DAndOutOfRange() throws {
    let oneD = expectBAEIOError { try Npy.readRows(Fixtures.url("f32_1d_v1.npy"), rows: 0..<1) }
    XCTAssertEqual(oneD, .notTwoDimensional(path: Fixtures.url("f32_1d_v1.npy").path, shape: [7]))
    let url = Fixtures.url("f32_2d_v1.npy")
    XCTAssertEqual(
      expectBAEIOError { try Npy.readRows(url, rows: 2..<4) },
      .rowRangeOutOfBounds(path: url.path, rows: 2..<4, rowCount: 3))
  }

  func testBadFilesThrowTheExpectedCase() throws {
    let expected = try Fixtures.json("bad_expected.json").filter { $0.key.hasSuffix(".npy") }
    XCTAssertEqual(expected.count, 9)
    for (name, wanted) in expected {
      guard let error = expectBAEIOError({ try Npy.read(Fixtures.url(name)) }) else { continue }
      XCTAssertEqual(caseName(error), wanted as? String, "\(name): \(error)")
      XCTAssertTrue(error.description.hasPrefix(Fixtures.url(name).path + ": "), error.description)
      // The header-only reader refuses the same files.
      XCTAssertEqual(expectBAEIOError { try Npy.readHeader(Fixtures.url(name)) }.map(caseName), wanted as? String, name)
    }
  }

  func testBadFileErrorsCarryWhatWasFound() throws {
    func error(_ name: String) -> BAEIOError? { expectBAEIOError { try Npy.read(Fixtures.url(name)) } }
    let path = { (name: String) in Fixtures.url(name).path }
    XCTAssertEqual(error("bad_float64.npy"), .unsupportedDType(path: path("bad_float64.npy"), found: "<f8"))
    XCTAssertEqual(error("bad_int32.npy"), .unsupportedDType(path: path("bad_int32.npy"), found: "<i4"))
    XCTAssertEqual(error("bad_bigendian.npy"), .bigEndian(path: path("bad_bigendian.npy"), found: ">f4"))
    XCTAssertEqual(error("bad_fortran.npy"), .fortranOrder(path: path("bad_fortran.npy"), shape: [3, 4]))
    XCTAssertEqual(
      error("bad_truncated.npy"), .truncated(path: path("bad_truncated.npy"), expectedBytes: 188, foundBytes: 182))
    XCTAssertEqual(
      error("bad_extra_data.npy"),
      .dataSizeMismatch(path: path("bad_extra_data.npy"), shape: [3, 5], expectedBytes: 60, foundBytes: 68))
    XCTAssertEqual(error("bad_version.npy"), .unsupportedVersion(path: path("bad_version.npy"), found: "4.0"))
    let description = error("bad_float64.npy")!.description
    XCTAssertEqual(
      description,
      "\(path("bad_float64.npy")): dtype '<f8' is not supported; save float32 or float16 (np.asarray(x, np.float32))")
  }

  func testMalformedHeadersAreRefused() throws {
    let directory = try makeScratchDirectory(self)
    let cases: [(String, String)] = [
      ("{'descr': '<f4', 'shape': (2,), }", "malformedHeader"),  // missing key
      ("{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", "malformedHeader"),  // list shape
      ("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", "malformedHeader"),  // negative dim
      ("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", "unsupportedDType"),
      ("{'descr': '|f4', 'fortran_order': False, 'shape': (2,), }", "unsupportedDType"),
      ("__import__('os')", "malformedHeader"),
      ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } trailing", "malformedHeader"),
    ]
    for (index, (header, wanted)) in cases.enumerated() {
      let url = directory.appendingPathComponent("case\(index).npy")
      try Data(npyFile(header: header, data: [UInt8](repeating: 0, count: 8))).write(to: url)
      XCTAssertEqual(expectBAEIOError { try Npy.read(url) }.map(caseName), wanted, header)
    }
  }

  func testAcceptsNativeOrderAndPython2Longs() throws {
    let directory = try makeScratchDirectory(self)
    let url = directory.appendingPathComponent("native.npy")
    let values: [Float] = [1.5, -2]
    try Data(
      npyFile(
        header: "{'descr': '=f4', 'fortran_order': False, 'shape': (2L,), }",
        data: values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
    ).write(to: url)
    XCTAssertEqual(try Npy.read(url).values, values)
  }

  func testWriterMatchesNumpyByteForByte() throws {
    let expected = try Fixtures.json("npy_expected.json")
    let directory = try makeScratchDirectory(self)
    for name in ["f32_2d_v1.npy", "f32_1d_v1.npy", "f32_scalar.npy", "f32_empty.npy", "f16_2d_v1.npy"] {
      let entry = expected[name] as! [String: Any]
      let dtype = NpyDType(rawValue: entry["dtype"] as! String)!
      let out = directory.appendingPathComponent(name)
      try Npy.write(floatsFromBits(entry["bits"]), shape: ints(entry["shape"]), dtype: dtype, to: out)
      XCTAssertEqual([UInt8](try Data(contentsOf: out)), try Fixtures.bytes(name), name)
    }
  }

  func testRoundTripFloat32AndFloat16() throws {
    let directory = try makeScratchDirectory(self)
    var generator = SystemRandomNumberGenerator()
    let values = (0..<(37 * 11)).map { _ in Float.random(in: -1000...1000, using: &generator) }
    let f32 = directory.appendingPathComponent("a.npy")
    try Npy.write(values, shape: [37, 11], to: f32)
    let back = try Npy.read(f32)
    XCTAssertEqual(back.shape, [37, 11])
    XCTAssertEqual(bitPatterns(back.values), bitPatterns(values))
    XCTAssertEqual(try Npy.readHeader(f32).dataOffset % 64, 0)

    let f16 = directory.appendingPathComponent("b.npy")
    try values.withUnsafeBufferPointer { try Npy.write($0, shape: [37, 11], dtype: .float16, to: f16) }
    let half = try Npy.read(f16)
    XCTAssertEqual(half.dtype, .float16)
    let rounded = values.map { HalfPrecision.float(fromFloat16Bits: HalfPrecision.float16Bits($0)) }
    XCTAssertEqual(bitPatterns(half.values), bitPatterns(rounded))
    XCTAssertEqual(bitPatterns(try Npy.readRows(f16, rows: 5..<9).values), bitPatterns(Array(rounded[55..<99])))
  }

  func testLargeShapeUsesVersion2Header() throws {
    // 25000 dimensions of 1 ("1, " each) make a header longer than 65535 bytes: too long for version 1.0.
    let directory = try makeScratchDirectory(self)
    let url = directory.appendingPathComponent("wide.npy")
    let shape = [Int](repeating: 1, count: 25_000) + [3]
    try Npy.write([1, 2, 3], shape: shape, to: url)
    let header = try Npy.readHeader(url)
    XCTAssertEqual(header.version, 2)
    XCTAssertEqual(header.shape, shape)
    XCTAssertEqual(header.dataOffset % 64, 0)
    XCTAssertEqual(try Npy.read(url).values, [1, 2, 3])
  }

  func testMissingFileThrowsCannotRead() {
    let error = expectBAEIOError { try Npy.read(URL(fileURLWithPath: "/nonexistent/x.npy")) }
    XCTAssertEqual(error.map(caseName), "cannotRead")
    XCTAssertTrue(error?.description.contains("/nonexistent/x.npy") ?? false)
  }

  /// Bytes of a version 1.0 .npy file with an arbitrary header text.
  private func npyFile(header: String, data: [UInt8]) -> [UInt8] {
    var text = Array(header.utf8)
    while (10 + text.count + 1) % 64 != 0 { text.append(0x20) }
    text.append(0x0A)
    return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text + data
  }
}

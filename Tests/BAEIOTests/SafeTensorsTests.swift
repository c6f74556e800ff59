// safetensors reading against files the Python package wrote (bit for bit), header validation
// with the expected typed errors, byte-identical writing, and round trips.
import BAEIO
import Foundation
import XCTest

final class SafeTensorsTests: XCTestCase {
  func testReadsPythonFileBitForBit() throws {
    let expected = try Fixtures.json("safetensors_expected.json")
    let file = try SafeTensorsFile(contentsOf: Fixtures.url("mixed.safetensors"))
    XCTAssertEqual(file.metadata, expected["metadata"] as? [String: String])
    let tensors = expected["tensors"] as! [String: [String: Any]]
    XCTAssertEqual(Set(file.tensors.keys), Set(tensors.keys))
    XCTAssertEqual(Set(tensors.values.map { $0["dtype"] as! String }), ["F32", "F16", "BF16", "I64", "I32"])
    for (name, entry) in tensors {
      let info = try file.info(name)
      XCTAssertEqual(info.dtype.rawValue, entry["dtype"] as? String, name)
      XCTAssertEqual(info.shape, ints(entry["shape"]), name)
      if entry["bits"] != nil {
        XCTAssertEqual(bitPatterns(try file.floats(name)), ints(entry["bits"]).map { UInt32($0) }, name)
      } else {
        XCTAssertEqual(try file.int64s(name), ints(entry["ints"]).map(Int64.init), name)
      }
    }
    XCTAssertEqual(try file.int64s("step"), [123_456_789_012])
  }

  func testRowRangesAndWrongRequests() throws {
    let url = Fixtures.url("mixed.safetensors")
    let file = try SafeTensorsFile(contentsOf: url)
    for name in ["encoder.weight", "half", "brain"] {
      let info = try file.info(name)
      let all = try file.floats(name)
      let cols = info.shape[1]
      for rows in [0..<info.shape[0], 1..<info.shape[0], 1..<2, 2..<2] {
        XCTAssertEqual(
          bitPatterns(try file.floats(name, rows: rows)),
          bitPatterns(Array(all[(rows.lowerBound * cols)..<(rows.upperBound * cols)])), "\(name) \(rows)")
      }
    }
    XCTAssertEqual(
      expectBAEIOError { try file.floats("encoder.weight", rows: 3..<5) },
      .rowRangeOutOfBounds(path: url.path, rows: 3..<5, rowCount: 4))
    XCTAssertEqual(
      expectBAEIOError { try file.floats("encoder.bias", rows: 0..<1) },
      .notTwoDimensional(path: url.path, shape: [4]))
    XCTAssertEqual(
      expectBAEIOError { try file.floats("step") },
      .tensorDTypeMismatch(path: url.path, tensor: "step", found: "I64", wanted: "F32, F16 or BF16"))
    XCTAssertEqual(expectBAEIOError { try file.int64s("half") }.map(caseName), "tensorDTypeMismatch")
    let missing = expectBAEIOError { try file.floats("decoder.weight") }
    XCTAssertEqual(missing.map(caseName), "tensorNotFound")
    XCTAssertTrue(missing?.description.contains("'decoder.weight'") ?? false)
  }

  func testBadFilesThrowTheExpectedCase() throws {
    let expected = try Fixtures.json("bad_expected.json").filter { $0.key.hasSuffix(".safetensors") }
    XCTAssertEqual(expected.count, 8)
    for (name, wanted) in expected {
      guard let error = expectBAEIOError({ try SafeTensorsFile(contentsOf: Fixtures.url(name)) }) else { continue }
      XCTAssertEqual(caseName(error), wanted as? String, "\(name): \(error)")
      XCTAssertTrue(error.description.hasPrefix(Fixtures.url(name).path + ": "), error.description)
    }
    let overlap = expectBAEIOError { try SafeTensorsFile(contentsOf: Fixtures.url("bad_st_overlap.safetensors")) }
    XCTAssertEqual(
      overlap,
      .invalidTensor(
        path: Fixtures.url("bad_st_overlap.safetensors").path, tensor: "b",
        problem: "data_offsets [4, 12] overlap the previous tensor, which ends at 8"))
    let unknown = expectBAEIOError { try SafeTensorsFile(contentsOf: Fixtures.url("bad_st_unknown_dtype.safetensors")) }
    XCTAssertEqual(
      unknown,
      .unknownTensorDType(path: Fixtures.url("bad_st_unknown_dtype.safetensors").path, tensor: "a", found: "Q7"))
  }

  func testHeaderParsesEveryDType() throws {
    let directory = try makeScratchDirectory(self)
    var header = "{"
    var offset = 0
    for (index, dtype) in SafeTensorsDType.allCases.enumerated() {
      header +=
        "\(index == 0 ? "" : ",")\"t\(dtype.rawValue)\":{\"dtype\":\"\(dtype.rawValue)\",\"shape\":[2],\"data_offsets\":[\(offset),\(offset + 2 * dtype.byteWidth)]}"
      offset += 2 * dtype.byteWidth
    }
    header += "}"
    let url = directory.appendingPathComponent("all.safetensors")
    let text = Array(header.utf8)
    try Data(
      withUnsafeBytes(of: UInt64(text.count).littleEndian, Array.init) + text + [UInt8](repeating: 1, count: offset)
    ).write(to: url)
    let file = try SafeTensorsFile(contentsOf: url)
    XCTAssertEqual(file.tensors.count, SafeTensorsDType.allCases.count)
    XCTAssertEqual(try file.int64s("tU8"), [1, 1])
    XCTAssertEqual(try file.int64s("tI16"), [257, 257])
    XCTAssertEqual(try file.bytes("tBOOL"), [1, 1])
  }

  func testWriterMatchesPythonPackageByteForByte() throws {
    let expected = try Fixtures.json("safetensors_expected.json")
    var writer = SafeTensorsWriter(metadata: expected["writable_metadata"] as! [String: String])
    // Added in a different order than the file's layout: the writer must sort like the package.
    for (name, entry) in (expected["tensors"] as! [String: [String: Any]]).sorted(by: { $0.key > $1.key }) {
      let shape = ints(entry["shape"])
      if entry["bits"] != nil {
        writer.add(
          name, shape: shape, floats: floatsFromBits(entry["bits"]),
          as: SafeTensorsDType(rawValue: entry["dtype"] as! String)!)
      } else if entry["dtype"] as? String == "I64" {  // "counts" (I32) is skipped
        writer.add(name, shape: shape, int64s: ints(entry["ints"]).map(Int64.init))
      }
    }
    // I32 has no writer entry point (BAE never writes it): writable.safetensors is mixed without it.
    let directory = try makeScratchDirectory(self)
    let out = directory.appendingPathComponent("writable.safetensors")
    try writer.write(to: out)
    XCTAssertEqual([UInt8](try Data(contentsOf: out)), try Fixtures.bytes("writable.safetensors"))

    var plain = SafeTensorsWriter()
    let w = try SafeTensorsFile(contentsOf: Fixtures.url("plain.safetensors")).floats("w")
    plain.add("w", shape: [2, 3], floats: w)
    let plainOut = directory.appendingPathComponent("plain.safetensors")
    try plain.write(to: plainOut)
    XCTAssertEqual([UInt8](try Data(contentsOf: plainOut)), try Fixtures.bytes("plain.safetensors"))
  }

  func testRoundTripBorrowedSlicesAndHalfTypes() throws {
    let directory = try makeScratchDirectory(self)
    let url = directory.appendingPathComponent("ckpt.safetensors")
    let (latent, input) = (6, 4)
    // One flat buffer holding W_enc (latent, input) then b_enc (latent), as a trainer keeps it.
    let flat = (0..<(latent * input + latent)).map { Float($0) * 0.37 - 3 }
    try flat.withUnsafeBufferPointer { buffer in
      var writer = SafeTensorsWriter(metadata: ["step": "7", "quote\"key": "line\nbreak"])
      writer.add(
        "encoder.weight", shape: [latent, input], borrowing: UnsafeBufferPointer(rebasing: buffer[0..<latent * input]))
      writer.add(
        "encoder.bias", shape: [latent], borrowing: UnsafeBufferPointer(rebasing: buffer[(latent * input)...]),
        as: .BF16)
      writer.add("half", shape: [2, 2], floats: [0.1, 65520, -1e-8, 3], as: .F16)
      writer.add("step", shape: [], int64s: [Int64.max])
      try writer.write(to: url)
    }
    let file = try SafeTensorsFile(contentsOf: url)
    XCTAssertEqual(file.metadata, ["step": "7", "quote\"key": "line\nbreak"])
    XCTAssertEqual(bitPatterns(try file.floats("encoder.weight")), bitPatterns(Array(flat[0..<24])))
    XCTAssertEqual(
      bitPatterns(try file.floats("encoder.bias")),
      bitPatterns(flat[24...].map { HalfPrecision.float(fromBFloat16Bits: HalfPrecision.bfloat16Bits($0)) }))
    XCTAssertEqual(
      try file.floats("half"),
      [HalfPrecision.float(fromFloat16Bits: HalfPrecision.float16Bits(0.1)), .infinity, -0.0, 3])
    XCTAssertEqual(try file.int64s("step"), [Int64.max])
    XCTAssertEqual(try file.info("step").shape, [])
    // Larger dtypes first, so every tensor starts aligned to its element size.
    for info in file.tensors.values { XCTAssertEqual(info.byteRange.lowerBound % info.dtype.byteWidth, 0, info.name) }
    XCTAssertEqual(try file.info("step").byteRange.lowerBound, try file.info("encoder.weight").byteRange.lowerBound - 8)
  }
}

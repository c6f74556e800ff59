// float16 / bfloat16 conversions against numpy (float16) and ml_dtypes (bfloat16) bit patterns.
import BAEIO
import XCTest

final class HalfPrecisionTests: XCTestCase {
  func testFloat16RoundingMatchesNumpy() throws {
    let cases = try Fixtures.json("conversions.json")
    let sources = floatsFromBits(cases["source_f32_bits"])
    let expected = ints(cases["f16_bits"])
    XCTAssertGreaterThan(sources.count, 300)
    XCTAssertEqual(sources.count, expected.count)
    var mismatches: [String] = []
    for (value, bits) in zip(sources, expected) where HalfPrecision.float16Bits(value) != UInt16(bits) {
      mismatches.append("\(value): got \(HalfPrecision.float16Bits(value)) numpy \(bits)")
    }
    XCTAssertEqual(mismatches, [])
  }

  func testBFloat16RoundingMatchesMLDtypes() throws {
    let cases = try Fixtures.json("conversions.json")
    let sources = floatsFromBits(cases["source_f32_bits"])
    let expected = ints(cases["bf16_bits"])
    XCTAssertEqual(sources.count, expected.count)
    var mismatches: [String] = []
    for (value, bits) in zip(sources, expected) where HalfPrecision.bfloat16Bits(value) != UInt16(bits) {
      mismatches.append("\(value): got \(HalfPrecision.bfloat16Bits(value)) ml_dtypes \(bits)")
    }
    XCTAssertEqual(mismatches, [])
  }

  /// Every non-NaN float16 widens exactly and narrows back to itself.
  func testEveryFloat16RoundTrips() {
    for bits in UInt16.min...UInt16.max {
      let value = HalfPrecision.float(fromFloat16Bits: bits)
      if (bits & 0x7C00) == 0x7C00 && (bits & 0x03FF) != 0 {
        XCTAssertTrue(value.isNaN, "bits \(bits)")
        XCTAssertTrue(HalfPrecision.float16Bits(value).isHalfNaN, "bits \(bits)")
      } else if HalfPrecision.float16Bits(value) != bits {
        XCTFail("float16 \(bits) -> \(value) -> \(HalfPrecision.float16Bits(value))")
        return
      }
    }
  }

  func testKnownFloat16Values() {
    XCTAssertEqual(HalfPrecision.float(fromFloat16Bits: 0x3C00), 1)
    XCTAssertEqual(HalfPrecision.float(fromFloat16Bits: 0x7BFF), 65504)
    XCTAssertEqual(HalfPrecision.float(fromFloat16Bits: 0x0001), 0x1p-24)
    XCTAssertEqual(HalfPrecision.float(fromFloat16Bits: 0xFC00), -.infinity)
    XCTAssertEqual(HalfPrecision.float(fromFloat16Bits: 0x8000).bitPattern, (-0.0 as Float).bitPattern)
    XCTAssertEqual(HalfPrecision.float16Bits(65520), 0x7C00, "65520 is the tie above 65504: rounds to infinity")
  }

  func testBFloat16IsTopHalfAndNaNStaysNaN() {
    XCTAssertEqual(HalfPrecision.float(fromBFloat16Bits: 0x3F80), 1)
    XCTAssertEqual(HalfPrecision.float(fromBFloat16Bits: 0xC020), -2.5)
    XCTAssertTrue(HalfPrecision.float(fromBFloat16Bits: HalfPrecision.bfloat16Bits(.nan)).isNaN)
    // A NaN whose payload sits only in the low 16 bits must not collapse to infinity.
    let lowPayloadNaN = Float(bitPattern: 0x7F80_0001)
    XCTAssertTrue(HalfPrecision.float(fromBFloat16Bits: HalfPrecision.bfloat16Bits(lowPayloadNaN)).isNaN)
    XCTAssertTrue(HalfPrecision.float(fromFloat16Bits: HalfPrecision.float16Bits(lowPayloadNaN)).isNaN)
  }
}

extension UInt16 {
  fileprivate var isHalfNaN: Bool { (self & 0x7C00) == 0x7C00 && (self & 0x03FF) != 0 }
}

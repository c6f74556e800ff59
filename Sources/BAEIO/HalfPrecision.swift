// IEEE float16 and bfloat16 <-> Float conversions on bit patterns. Done by hand (not Swift's
// Float16) because Float16 is unavailable on x86_64 macOS; results match numpy / ml_dtypes bit
// for bit (round-to-nearest-even, overflow to infinity, NaN kept quiet).

/// Conversions between `Float` and the 16-bit bit patterns of float16 and bfloat16.
public enum HalfPrecision {
  /// float16 bit pattern -> Float. Exact (every float16 is a Float), subnormals included.
  @inlinable
  public static func float(fromFloat16Bits h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1F
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
      // Zero or subnormal: mantissa · 2^-24, exact in Float.
      let magnitude = Float(mantissa) * 0x1p-24
      return Float(bitPattern: sign | magnitude.bitPattern)
    }
    if exponent == 0x1F {
      return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    // Rebias the exponent from 15 to 127.
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
  }

  /// Float -> float16 bit pattern, rounding to nearest even; too large gives ±infinity.
  @inlinable
  public static func float16Bits(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    let sign = UInt16((bits >> 16) & 0x8000)
    let exponent = Int((bits >> 23) & 0xFF)
    let mantissa = bits & 0x7F_FFFF
    if exponent == 0xFF {
      // Infinity stays infinity; NaN keeps its top payload bits and is made quiet.
      return mantissa == 0 ? sign | 0x7C00 : sign | 0x7E00 | UInt16(mantissa >> 13)
    }
    let halfExponent = exponent - 127 + 15
    if halfExponent >= 0x1F { return sign | 0x7C00 }
    if halfExponent <= 0 {
      // float16 subnormal (or zero): value = m · 2^-24 with m = significand >> (14 - halfExponent).
      if halfExponent < -10 { return sign }  // below 2^-25: rounds to zero
      let significand = mantissa | 0x80_0000
      let shift = UInt32(14 - halfExponent)
      return sign | UInt16(roundShiftEven(significand, by: shift))
    }
    // Normal: the carry of a round-up propagates into the exponent, up to infinity, as it should.
    let combined = (UInt32(halfExponent) << 23) | mantissa
    return sign | UInt16(roundShiftEven(combined, by: 13))
  }

  /// bfloat16 bit pattern -> Float. Exact: bfloat16 is the top half of a Float.
  @inlinable
  public static func float(fromBFloat16Bits b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
  }

  /// Float -> bfloat16 bit pattern, rounding to nearest even; NaN stays a quiet NaN.
  @inlinable
  public static func bfloat16Bits(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(bits >> 16) | 0x0040 }
    return UInt16(roundShiftEven(bits, by: 16))
  }

  /// `value >> shift` rounded to nearest, ties to even (shift in 1...31).
  @inlinable
  static func roundShiftEven(_ value: UInt32, by shift: UInt32) -> UInt32 {
    let kept = value >> shift
    let remainder = value & ((1 << shift) - 1)
    let half: UInt32 = 1 << (shift - 1)
    if remainder > half || (remainder == half && kept & 1 == 1) { return kept + 1 }
    return kept
  }
}

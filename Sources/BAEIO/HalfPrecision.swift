// The project's one converter between Float and the 16-bit float formats, used by the npy and
// safetensors readers and writers and by the shard codec. float16 is Swift's `Float16` (IEEE
// binary16, round-to-nearest-even; available on Linux x86_64 and arm64, not on x86_64 macOS, which
// this Linux trainer does not target). bfloat16 has no Swift type: it is the top half of a Float,
// rounded to nearest even. Results match numpy / ml_dtypes bit for bit (HalfPrecisionTests).

/// Conversions between `Float` and the 16-bit bit patterns of float16 and bfloat16.
public enum HalfPrecision {
  /// float16 bit pattern -> Float. Exact (every float16 is a Float), subnormals included.
  @inlinable
  public static func float(fromFloat16Bits h: UInt16) -> Float { Float(Float16(bitPattern: h)) }

  /// Float -> float16 bit pattern, rounding to nearest even; too large gives ±infinity, NaN stays
  /// a quiet NaN.
  @inlinable
  public static func float16Bits(_ value: Float) -> UInt16 { Float16(value).bitPattern }

  /// Every float16 bit pattern decoded once (65,536 Floats, 256 KiB): bulk decoding is then one
  /// table load per element, faster than converting each one.
  public static let float16Table: [Float] = (0...UInt16.max).map { float(fromFloat16Bits: $0) }

  /// bfloat16 bit pattern -> Float. Exact: bfloat16 is the top half of a Float.
  @inlinable
  public static func float(fromBFloat16Bits b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
  }

  /// Float -> bfloat16 bit pattern, rounding to nearest even; NaN stays a quiet NaN.
  @inlinable
  public static func bfloat16Bits(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
    // Adding 0x7FFF plus the lowest kept bit rounds the dropped half to nearest, ties to even; a
    // carry out of the mantissa moves the exponent up (to infinity at the top), as it should.
    let bias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
    return UInt16(truncatingIfNeeded: (bits &+ bias) >> 16)
  }
}

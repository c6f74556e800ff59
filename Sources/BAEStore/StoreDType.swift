// The on-disk element types of a shard and their conversions to and from Float.
// bf16 rounds to nearest-even (NaN stays NaN); f16 uses Swift's Float16 (IEEE binary16, RNE).

/// Element type stored in a shard. Raw values are the on-disk codes (header byte 12).
public enum StoreDType: UInt8, Codable, Sendable, CaseIterable, CustomStringConvertible {
  case f32 = 0
  case f16 = 1
  case bf16 = 2

  /// Bytes per element.
  public var size: Int { self == .f32 ? 4 : 2 }

  /// The name used on the command line and in manifests.
  public var description: String {
    switch self { case .f32: "f32"; case .f16: "f16"; case .bf16: "bf16" }
  }

  public init?(name: String) {
    switch name.lowercased() {
    case "f32", "float32": self = .f32
    case "f16", "float16": self = .f16
    case "bf16", "bfloat16": self = .bf16
    default: return nil
    }
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    let s = try c.decode(String.self)
    guard let t = StoreDType(name: s) else {
      throw DecodingError.dataCorruptedError(in: c, debugDescription: "dtype \"\(s)\" is not f32, f16 or bf16")
    }
    self = t
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(description)
  }
}

/// Float <-> bf16/f16 bit patterns.
enum HalfConvert {
  @inline(__always) static func bf16Bits(_ x: Float) -> UInt16 {
    let b = x.bitPattern
    if x.isNaN { return UInt16(truncatingIfNeeded: b >> 16) | 0x0040 }  // keep NaN a (quiet) NaN
    let roundingBias: UInt32 = 0x7FFF + ((b >> 16) & 1)
    return UInt16(truncatingIfNeeded: (b &+ roundingBias) >> 16)
  }

  @inline(__always) static func f16Bits(_ x: Float) -> UInt16 { Float16(x).bitPattern }
}

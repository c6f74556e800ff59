// The on-disk element types of a shard. Their conversions to and from Float are BAEIO's
// HalfPrecision (one converter for the whole project).

/// Element type stored in a shard. Raw values are the on-disk codes (header byte 12).
public enum StoreDType: UInt8, Codable, Sendable, CaseIterable, CustomStringConvertible {
  case f32 = 0
  case f16 = 1
  case bf16 = 2

  /// Bytes per element.
  public var size: Int { self == .f32 ? 4 : 2 }

  /// The name used on the command line and in manifests.
  public var description: String {
    switch self {
    case .f32: "f32"
    case .f16: "f16"
    case .bf16: "bf16"
    }
  }

  /// Parses a command-line name: "f32"/"float32", "f16"/"float16", "bf16"/"bfloat16" (any case); nil otherwise.
  public init?(name: String) {
    switch name.lowercased() {
    case "f32", "float32": self = .f32
    case "f16", "float16": self = .f16
    case "bf16", "bfloat16": self = .bf16
    default: return nil
    }
  }

  /// Reads the name written by `encode(to:)` (e.g. "bf16"); throws a decoding error on any other string.
  public init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    let s = try c.decode(String.self)
    guard let t = StoreDType(name: s) else {
      throw DecodingError.dataCorruptedError(in: c, debugDescription: "dtype \"\(s)\" is not f32, f16 or bf16")
    }
    self = t
  }

  /// Writes the type as its name (e.g. "bf16"), as manifests store it.
  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(description)
  }
}

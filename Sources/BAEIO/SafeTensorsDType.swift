// The element types a safetensors header may name, in the order the reference implementation
// declares them; that order decides where the writer places each tensor (see SafeTensorsWriter).

/// A safetensors element type, spelled as in the file header.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
  // The cases are the header's own spellings (their raw values), so they are not lowerCamelCase.
  // swift-format-ignore: AlwaysUseLowerCamelCase
  case BOOL, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64

  /// Bytes per element.
  public var byteWidth: Int {
    switch self {
    case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3, .F8_E8M0: return 1
    case .I16, .U16, .F16, .BF16: return 2
    case .I32, .U32, .F32: return 4
    case .C64, .F64, .I64, .U64: return 8
    }
  }

  /// Position in the reference implementation's dtype order (the writer lays out larger ranks first).
  var rank: Int { SafeTensorsDType.allCases.firstIndex(of: self)! }

  var floatEncoding: FloatEncoding? {
    switch self {
    case .F32: return .float32
    case .F16: return .float16
    case .BF16: return .bfloat16
    default: return nil
    }
  }
}

/// Where one tensor lives in a safetensors file.
public struct SafeTensorInfo: Sendable, Equatable {
  /// Tensor name (the header key).
  public let name: String
  /// Element type.
  public let dtype: SafeTensorsDType
  /// Shape in C order; `[]` for a scalar.
  public let shape: [Int]
  /// Byte range of the data, absolute from the start of the file.
  public let byteRange: Range<Int>
  /// Number of elements (product of `shape`).
  public var count: Int { shape.reduce(1, *) }
}

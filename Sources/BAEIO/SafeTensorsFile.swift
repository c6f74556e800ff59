// Reading safetensors files: an 8-byte little-endian header length, a JSON header mapping tensor
// names to dtype / shape / data_offsets (plus an optional "__metadata__" string map), then the
// data. The header is validated the way the reference implementation does it, and tensors are
// read on demand with positioned reads, so a file far larger than memory costs only its header.
import Foundation

/// An opened safetensors file: header parsed and validated, tensor data read on request.
/// The file stays open, so reads see the file that was validated even if it is replaced meanwhile.
public struct SafeTensorsFile: Sendable {
  /// The file this was read from.
  public let url: URL
  /// The `"__metadata__"` map (empty if absent).
  public let metadata: [String: String]
  /// Every tensor by name.
  public let tensors: [String: SafeTensorInfo]
  private let file: ReadableFile

  /// Header lengths above this are refused, as by the reference implementation (100 MB).
  public static let maxHeaderLength: UInt64 = 100_000_000

  /// Opens `url` and validates its header: length, JSON shape, dtypes, and that the tensors'
  /// byte ranges tile the data section exactly, each matching shape × dtype size.
  public init(contentsOf url: URL) throws {
    self.url = url
    file = try ReadableFile(url)
    let path = file.path
    guard file.size >= 8 else { throw BAEIOError.truncated(path: path, expectedBytes: 8, foundBytes: file.size) }
    let lengthBytes = try file.bytes(at: 0, count: 8)
    var headerLength: UInt64 = 0
    for i in 0..<8 { headerLength |= UInt64(lengthBytes[i]) << (8 * UInt64(i)) }
    guard headerLength >= 2, headerLength <= Self.maxHeaderLength, 8 + headerLength <= UInt64(file.size) else {
      throw BAEIOError.headerLengthInvalid(path: path, length: headerLength, fileSize: file.size)
    }
    let headerBytes = try file.bytes(at: 8, count: Int(headerLength))
    guard headerBytes.first == UInt8(ascii: "{") else {
      throw BAEIOError.badMagic(path: path, format: "safetensors", found: Npy.hex(lengthBytes + headerBytes.prefix(8)))
    }
    guard String(validating: headerBytes, as: UTF8.self) != nil,
      let object = try? JSONSerialization.jsonObject(with: Data(headerBytes)),
      let header = object as? [String: Any]
    else {
      throw BAEIOError.malformedHeader(
        path: path, problem: "the \(headerLength)-byte header is not a UTF-8 JSON object")
    }

    let dataStart = 8 + Int(headerLength)
    let dataSize = file.size - dataStart
    var metadata: [String: String] = [:]
    var tensors: [String: SafeTensorInfo] = [:]
    for (name, value) in header {
      if name == "__metadata__" {
        guard let map = value as? [String: Any] else {
          throw BAEIOError.malformedHeader(path: path, problem: "__metadata__ is not an object")
        }
        for (key, entry) in map {
          guard let text = entry as? String else {
            throw BAEIOError.malformedHeader(path: path, problem: "__metadata__['\(key)'] is not a string")
          }
          metadata[key] = text
        }
        continue
      }
      tensors[name] = try Self.parseTensor(name, value, dataStart: dataStart, path: path)
    }

    // The byte ranges must tile [0, dataSize) exactly: sorted by offset, each starts where the last ended.
    var expected = 0
    for info in tensors.values.sorted(by: {
      ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound)
    }) {
      let begin = info.byteRange.lowerBound - dataStart
      let end = info.byteRange.upperBound - dataStart
      if begin < expected {
        throw BAEIOError.invalidTensor(
          path: path, tensor: info.name,
          problem: "data_offsets [\(begin), \(end)] overlap the previous tensor, which ends at \(expected)")
      }
      if begin > expected {
        throw BAEIOError.invalidTensor(
          path: path, tensor: info.name,
          problem: "data_offsets [\(begin), \(end)] leave a gap after byte \(expected)")
      }
      if end > dataSize {
        throw BAEIOError.invalidTensor(
          path: path, tensor: info.name,
          problem: "data_offsets [\(begin), \(end)] run past the end of the data (\(dataSize) bytes; truncated file?)")
      }
      expected = end
    }
    if expected != dataSize {
      throw BAEIOError.malformedHeader(
        path: path, problem: "tensors cover \(expected) bytes of data but the file holds \(dataSize)")
    }
    self.metadata = metadata
    self.tensors = tensors
  }

  private static func parseTensor(_ name: String, _ value: Any, dataStart: Int, path: String) throws -> SafeTensorInfo {
    func invalid(_ problem: String) -> BAEIOError { .invalidTensor(path: path, tensor: name, problem: problem) }
    guard let entry = value as? [String: Any] else { throw invalid("header entry is not an object") }
    guard let dtypeName = entry["dtype"] as? String else { throw invalid("missing or non-string 'dtype'") }
    guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
      throw BAEIOError.unknownTensorDType(path: path, tensor: name, found: dtypeName)
    }
    guard let shape = integers(entry["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
      throw invalid("'shape' is not a list of non-negative integers")
    }
    guard let offsets = integers(entry["data_offsets"]), offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1]
    else {
      throw invalid("'data_offsets' is not [begin, end] with 0 <= begin <= end")
    }
    var bytes = dtype.byteWidth
    for n in shape {
      let (product, overflow) = bytes.multipliedReportingOverflow(by: n)
      guard !overflow else { throw invalid("shape \(shape) overflows Int") }
      bytes = product
    }
    guard offsets[1] - offsets[0] == bytes else {
      throw invalid(
        "data_offsets [\(offsets[0]), \(offsets[1])] hold \(offsets[1] - offsets[0]) bytes "
          + "but shape \(shape) of \(dtype.rawValue) needs \(bytes)")
    }
    let (begin, o1) = dataStart.addingReportingOverflow(offsets[0])
    let (end, o2) = dataStart.addingReportingOverflow(offsets[1])
    guard !o1, !o2 else { throw invalid("data_offsets overflow Int") }
    return SafeTensorInfo(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
  }

  /// JSON numbers as non-fractional Ints, or nil.
  private static func integers(_ value: Any?) -> [Int]? {
    guard let list = value as? [Any] else { return nil }
    var result: [Int] = []
    for element in list {
      guard let number = element as? NSNumber, let int = Int(exactly: number.doubleValue),
        number.int64Value == Int64(int)
      else { return nil }
      result.append(int)
    }
    return result
  }

  /// The info for `name`, or `.tensorNotFound`.
  public func info(_ name: String) throws -> SafeTensorInfo {
    guard let info = tensors[name] else {
      throw BAEIOError.tensorNotFound(path: file.path, tensor: name, available: Array(tensors.keys))
    }
    return info
  }

  /// The tensor's elements as `Float` (C order). F32 is exact, F16 and BF16 widen exactly.
  public func floats(_ name: String) throws -> [Float] {
    let info = try info(name)
    return try Npy.readElements(
      file, at: info.byteRange.lowerBound, count: info.count, encoding: try floatEncoding(of: info))
  }

  /// Rows `rows` of a 2-D float tensor `(rowCount, cols)` as `Float`, shape `(rows.count, cols)`,
  /// reading only those rows: `bae pack` converts a tensor larger than memory shard by shard.
  public func floats(_ name: String, rows: Range<Int>) throws -> [Float] {
    let info = try info(name)
    return try Npy.readRows(
      file, shape: info.shape, dataOffset: info.byteRange.lowerBound,
      encoding: try floatEncoding(of: info), rows: rows)
  }

  /// The tensor's elements as `Int64`, from any integer dtype (I64, I32, I16, I8, U64, U32, U16, U8).
  public func int64s(_ name: String) throws -> [Int64] {
    let info = try info(name)
    let raw = try file.bytes(at: info.byteRange.lowerBound, count: info.byteRange.count)
    return try raw.withUnsafeBytes { bytes -> [Int64] in
      func load<T: FixedWidthInteger>(_: T.Type) -> [Int64] {
        (0..<info.count).map {
          Int64(
            truncatingIfNeeded: T(
              littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)))
        }
      }
      switch info.dtype {
      case .I64: return load(Int64.self)
      case .I32: return load(Int32.self)
      case .I16: return load(Int16.self)
      case .I8: return load(Int8.self)
      case .U32: return load(UInt32.self)
      case .U16: return load(UInt16.self)
      case .U8: return load(UInt8.self)
      case .U64:
        let values = (0..<info.count).map {
          UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))
        }
        if let big = values.first(where: { $0 > UInt64(Int64.max) }) {
          throw BAEIOError.invalidTensor(
            path: file.path, tensor: name, problem: "U64 value \(big) does not fit in Int64")
        }
        return values.map { Int64($0) }
      default:
        throw BAEIOError.tensorDTypeMismatch(
          path: file.path, tensor: name, found: info.dtype.rawValue, wanted: "an integer dtype (I64)")
      }
    }
  }

  /// The tensor's raw little-endian bytes, for dtypes without a typed accessor.
  public func bytes(_ name: String) throws -> [UInt8] {
    let info = try info(name)
    return try file.bytes(at: info.byteRange.lowerBound, count: info.byteRange.count)
  }

  private func floatEncoding(of info: SafeTensorInfo) throws -> FloatEncoding {
    guard let encoding = info.dtype.floatEncoding else {
      throw BAEIOError.tensorDTypeMismatch(
        path: file.path, tensor: info.name, found: info.dtype.rawValue, wanted: "F32, F16 or BF16")
    }
    return encoding
  }
}

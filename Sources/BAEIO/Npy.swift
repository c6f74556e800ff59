// NumPy .npy files of float32 / float16 in C order: full reads, header-only reads for memory
// mapping or streaming, row-range reads of 2-D arrays, and atomic writes byte-identical to
// numpy.save. Format: magic "\x93NUMPY", version, header length, a Python dict literal, data.
import Foundation

/// Element types of `.npy` files that BAEIO reads and writes (always little-endian on disk).
public enum NpyDType: String, Sendable {
  /// `'<f4'`
  case float32
  /// `'<f2'`, converted to `Float` on read.
  case float16

  /// Bytes per element on disk.
  public var byteWidth: Int { self == .float32 ? 4 : 2 }

  /// numpy's `descr` string, e.g. `'<f4'`.
  public var descr: String { self == .float32 ? "<f4" : "<f2" }

  var encoding: FloatEncoding { self == .float32 ? .float32 : .float16 }
}

/// The parsed header of an `.npy` file: enough to memory-map or stream the data yourself.
public struct NpyHeader: Sendable, Equatable {
  /// Array shape in C order; `[]` for a 0-d array.
  public let shape: [Int]
  /// Element type on disk.
  public let dtype: NpyDType
  /// Byte offset of the first element from the start of the file (a multiple of 64 for numpy ≥ 1.14).
  public let dataOffset: Int
  /// Format major version: 1, 2 or 3.
  public let version: Int
  /// Number of elements (product of `shape`; 1 for a 0-d array).
  public var count: Int { shape.reduce(1, *) }
  /// Bytes of data after `dataOffset`.
  public var dataByteCount: Int { count * dtype.byteWidth }
}

/// An `.npy` array read into memory as `Float`, whatever its on-disk dtype.
public struct NpyArray: Sendable, Equatable {
  /// Array shape in C order.
  public var shape: [Int]
  /// The dtype the file stored (values are always `Float` in memory).
  public var dtype: NpyDType
  /// Elements in C (row-major) order; `values.count == shape.reduce(1, *)`.
  public var values: [Float]

  /// An array of `shape` whose row-major `values` were read from a file of `dtype`; traps when the element counts differ.
  public init(shape: [Int], dtype: NpyDType, values: [Float]) {
    precondition(
      shape.reduce(1, *) == values.count,
      "NpyArray: shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
    self.shape = shape
    self.dtype = dtype
    self.values = values
  }
}

/// Reading and writing `.npy` files.
public enum Npy {
  /// Reads and validates only the header (magic, version, dtype, order, shape against file size).
  public static func readHeader(_ url: URL) throws -> NpyHeader {
    try parseHeader(of: ReadableFile(url))
  }

  /// Reads the whole array, converting float16 to `Float`.
  public static func read(_ url: URL) throws -> NpyArray {
    let file = try ReadableFile(url)
    let header = try parseHeader(of: file)
    let values = try readElements(file, at: header.dataOffset, count: header.count, encoding: header.dtype.encoding)
    return NpyArray(shape: header.shape, dtype: header.dtype, values: values)
  }

  /// Reads rows `rows` of a 2-D array `(rowCount, cols)` without reading the rest of the file.
  /// Returns an array of shape `(rows.count, cols)`.
  public static func readRows(_ url: URL, rows: Range<Int>) throws -> NpyArray {
    let file = try ReadableFile(url)
    let header = try parseHeader(of: file)
    let values = try readRows(
      file, shape: header.shape, dataOffset: header.dataOffset, encoding: header.dtype.encoding, rows: rows)
    return NpyArray(shape: [rows.count, header.shape[1]], dtype: header.dtype, values: values)
  }

  /// Rows `rows` of the 2-D array `shape` stored from `dataOffset` (npy data or a safetensors
  /// tensor), read with one positioned read. Throws `notTwoDimensional` or `rowRangeOutOfBounds`.
  static func readRows(
    _ file: ReadableFile, shape: [Int], dataOffset: Int, encoding: FloatEncoding,
    rows: Range<Int>
  ) throws -> [Float] {
    guard shape.count == 2 else { throw BAEIOError.notTwoDimensional(path: file.path, shape: shape) }
    let (rowCount, cols) = (shape[0], shape[1])
    guard rows.lowerBound >= 0, rows.upperBound <= rowCount else {
      throw BAEIOError.rowRangeOutOfBounds(path: file.path, rows: rows, rowCount: rowCount)
    }
    let rowBytes = cols * encoding.byteWidth  // cannot overflow: the header's data size was checked
    return try readElements(
      file, at: dataOffset + rows.lowerBound * rowBytes, count: rows.count * cols, encoding: encoding)
  }

  /// Writes `values` (C order, `shape.reduce(1, *)` elements) as `dtype`, atomically, with the
  /// same bytes numpy.save produces (header version 1.0 unless it needs more, 64-byte aligned data).
  public static func write(_ values: [Float], shape: [Int], dtype: NpyDType = .float32, to url: URL) throws {
    try values.withUnsafeBufferPointer { try write($0, shape: shape, dtype: dtype, to: url) }
  }

  /// As `write(_:shape:dtype:to:)`, from a buffer (no copy for float32; float16 converts in chunks).
  public static func write(_ values: UnsafeBufferPointer<Float>, shape: [Int], dtype: NpyDType = .float32, to url: URL)
    throws
  {
    precondition(shape.allSatisfy { $0 >= 0 }, "Npy.write: negative dimension in shape \(shape)")
    precondition(
      shape.reduce(1, *) == values.count,
      "Npy.write: shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
    let header = headerBytes(shape: shape, dtype: dtype)
    try AtomicFile.write(to: url) { sink in
      try header.withUnsafeBytes { try sink.write($0) }
      try dtype.encoding.encode(values) { try sink.write($0) }
    }
  }

  /// Reads `count` elements at `offset`; float32 lands straight in the result's storage.
  static func readElements(_ file: ReadableFile, at offset: Int, count: Int, encoding: FloatEncoding) throws -> [Float]
  {
    if encoding == .float32 {
      #if _endian(little)
        // Zero-filled rather than `unsafeUninitializedCapacity` with a throwing closure, which
        // crashes the Swift 6.3 optimizer (CopyPropagation ownership error) in release builds.
        var values = [Float](repeating: 0, count: count)
        try values.withUnsafeMutableBytes { try file.read(at: offset, into: $0) }
        return values
      #endif
    }
    let raw = try file.bytes(at: offset, count: count * encoding.byteWidth)
    return raw.withUnsafeBytes { encoding.decode($0) }
  }
}

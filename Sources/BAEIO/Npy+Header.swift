// Parsing and formatting the .npy header (format versions 1.0, 2.0, 3.0), following
// numpy/lib/format.py: the header is `{'descr': ..., 'fortran_order': ..., 'shape': (...), }`
// padded with spaces and a newline so the data starts on a 64-byte boundary.

extension Npy {
  static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"

  /// Reads, parses and validates the header of `file`, including that the data size matches.
  static func parseHeader(of file: ReadableFile) throws -> NpyHeader {
    let path = file.path
    let prefix = try file.bytes(at: 0, count: min(file.size, 12))
    guard prefix.count >= 6, Array(prefix[0..<6]) == magic else {
      if prefix.count < 6, Array(magic.prefix(prefix.count)) == prefix {
        throw BAEIOError.truncated(path: path, expectedBytes: 10, foundBytes: prefix.count)
      }
      throw BAEIOError.badMagic(path: path, format: "npy", found: hex(prefix.prefix(8)))
    }
    guard prefix.count >= 8 else { throw BAEIOError.truncated(path: path, expectedBytes: 10, foundBytes: prefix.count) }
    let (major, minor) = (prefix[6], prefix[7])
    guard [1, 2, 3].contains(major), minor == 0 else {
      throw BAEIOError.unsupportedVersion(path: path, found: "\(major).\(minor)")
    }
    // Version 1.0: 2-byte header length; 2.0 and 3.0: 4 bytes. All little-endian.
    let lengthBytes = major == 1 ? 2 : 4
    guard prefix.count >= 8 + lengthBytes else {
      throw BAEIOError.truncated(path: path, expectedBytes: 8 + lengthBytes, foundBytes: prefix.count)
    }
    var headerLength = 0
    for i in 0..<lengthBytes { headerLength |= Int(prefix[8 + i]) << (8 * i) }
    let maxHeader = try Limits.npyHeaderBytes()
    guard headerLength <= maxHeader else {
      throw BAEIOError.limitExceeded(
        path: path, field: "header length", found: headerLength, limit: maxHeader,
        variable: "BAE_MAX_NPY_HEADER_BYTES")
    }
    let dataOffset = 8 + lengthBytes + headerLength
    guard file.size >= dataOffset else {
      throw BAEIOError.truncated(path: path, expectedBytes: dataOffset, foundBytes: file.size)
    }
    let headerBytes = try file.bytes(at: 8 + lengthBytes, count: headerLength)
    // 1.0 and 2.0 are latin-1 (every byte is one scalar); 3.0 is UTF-8.
    let text: String
    if major == 3 {
      guard let decoded = String(validating: headerBytes, as: UTF8.self) else {
        throw BAEIOError.malformedHeader(path: path, problem: "version 3.0 header is not valid UTF-8")
      }
      text = decoded
    } else {
      text = String(String.UnicodeScalarView(headerBytes.map { Unicode.Scalar($0) }))
    }

    let literal: PythonLiteral
    do {
      literal = try PythonLiteral.parse(text)
    } catch {
      throw BAEIOError.malformedHeader(path: path, problem: "\(error.message) in \(text.debugDescription)")
    }
    guard case let .dict(items) = literal else {
      throw BAEIOError.malformedHeader(path: path, problem: "header is not a dict: \(literal)")
    }
    var fields: [String: PythonLiteral] = [:]
    for item in items {
      guard case let .string(key) = item.key else {
        throw BAEIOError.malformedHeader(path: path, problem: "header key \(item.key) is not a string")
      }
      fields[key] = item.value
    }
    guard fields.keys.sorted() == ["descr", "fortran_order", "shape"] else {
      throw BAEIOError.malformedHeader(
        path: path, problem: "header keys are \(fields.keys.sorted()), expected ['descr', 'fortran_order', 'shape']")
    }
    guard case let .tuple(dims) = fields["shape"]! else {
      throw BAEIOError.malformedHeader(path: path, problem: "shape \(fields["shape"]!) is not a tuple of ints")
    }
    var shape: [Int] = []
    for dim in dims {
      guard case let .int(n) = dim, n >= 0 else {
        throw BAEIOError.malformedHeader(
          path: path, problem: "shape \(fields["shape"]!) is not a tuple of non-negative ints")
      }
      shape.append(n)
    }
    guard case let .bool(fortranOrder) = fields["fortran_order"]! else {
      throw BAEIOError.malformedHeader(path: path, problem: "fortran_order \(fields["fortran_order"]!) is not a bool")
    }
    guard case let .string(descr) = fields["descr"]! else {
      // A list descr is a structured dtype.
      throw BAEIOError.unsupportedDType(path: path, found: fields["descr"]!.description)
    }
    let dtype = try parseDescr(descr, path: path)
    if fortranOrder && shape.count > 1 {
      throw BAEIOError.fortranOrder(path: path, shape: shape)
    }

    var count = 1
    for n in shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: n)
      guard !overflow else { throw BAEIOError.malformedHeader(path: path, problem: "shape \(shape) overflows Int") }
      count = product
    }
    let (dataBytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteWidth)
    guard !overflow else { throw BAEIOError.malformedHeader(path: path, problem: "shape \(shape) overflows Int") }
    let available = file.size - dataOffset
    if available < dataBytes {
      throw BAEIOError.truncated(path: path, expectedBytes: dataOffset + dataBytes, foundBytes: file.size)
    }
    if available > dataBytes {
      throw BAEIOError.dataSizeMismatch(path: path, shape: shape, expectedBytes: dataBytes, foundBytes: available)
    }
    return NpyHeader(shape: shape, dtype: dtype, dataOffset: dataOffset, version: Int(major))
  }

  /// Maps a numpy `descr` to a dtype. Byte order '<' is little-endian and '=' native (little on
  /// every platform Swift runs this on); '|' means "not applicable" and is valid only for
  /// 1-byte types, so '|f4' is rejected like any other unsupported dtype.
  static func parseDescr(_ descr: String, path: String) throws -> NpyDType {
    var order: Character = "="
    var kind = Substring(descr)
    if let first = kind.first, "<>|=".contains(first) {
      order = first
      kind = kind.dropFirst()
    }
    let dtype: NpyDType
    switch kind {
    case "f4": dtype = .float32
    case "f2": dtype = .float16
    default: throw BAEIOError.unsupportedDType(path: path, found: descr)
    }
    #if _endian(big)
      if order == "=" { order = ">" }
    #endif
    switch order {
    case "<", "=": return dtype
    case ">": throw BAEIOError.bigEndian(path: path, found: descr)
    default: throw BAEIOError.unsupportedDType(path: path, found: descr)
    }
  }

  /// The magic, version, length and padded header numpy.save writes for a C-order array.
  static func headerBytes(shape: [Int], dtype: NpyDType) -> [UInt8] {
    let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var dict = "{'descr': '\(dtype.descr)', 'fortran_order': False, 'shape': \(shapeText), }"
    // numpy leaves room for the growth axis to reach 21 digits, so the header can be rewritten in place.
    if let first = shape.first { dict += String(repeating: " ", count: max(0, 21 - String(first).count)) }
    let text = Array(dict.utf8)
    let alignment = 64
    for (major, lengthBytes) in [(UInt8(1), 2), (UInt8(2), 4)] {
      let unpadded = magic.count + 2 + lengthBytes + text.count + 1  // +1 for the final newline
      let padding = alignment - unpadded % alignment
      let headerLength = text.count + 1 + padding
      if lengthBytes == 2 && headerLength > Int(UInt16.max) { continue }
      var bytes = magic + [major, 0]
      for i in 0..<lengthBytes { bytes.append(UInt8(truncatingIfNeeded: headerLength >> (8 * i))) }
      bytes += text
      bytes += [UInt8](repeating: 0x20, count: padding)
      bytes.append(0x0A)
      return bytes
    }
    preconditionFailure("unreachable: a version 2.0 header length fits in 4 bytes")
  }

  static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    bytes.map { byte in
      let digits = String(byte, radix: 16)
      return digits.count == 1 ? "0" + digits : digits
    }.joined(separator: " ")
  }
}

// Bulk conversion between little-endian file bytes and [Float], shared by the npy and safetensors
// readers and writers. Writers convert in fixed-size chunks so a 2048×8192 tensor never needs a
// second full-size buffer.

/// The on-disk encodings of floating-point elements that BAEIO converts to and from `Float`.
enum FloatEncoding: Sendable {
  case float32, float16, bfloat16

  var byteWidth: Int { self == .float32 ? 4 : 2 }

  /// Decodes `destination.count` elements from `source` (little-endian, any alignment).
  func decode(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableBufferPointer<Float>) {
    precondition(
      source.count == destination.count * byteWidth,
      "decode: \(source.count) bytes for \(destination.count) elements of width \(byteWidth)")
    switch self {
    case .float32:
      #if _endian(little)
        if let base = destination.baseAddress, source.count > 0 {
          UnsafeMutableRawPointer(base).copyMemory(from: source.baseAddress!, byteCount: source.count)
        }
      #else
        for i in 0..<destination.count {
          destination[i] = Float(
            bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        }
      #endif
    case .float16:
      HalfPrecision.float16Table.withUnsafeBufferPointer { table in
        for i in 0..<destination.count {
          destination[i] =
            table[Int(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))]
        }
      }
    case .bfloat16:
      for i in 0..<destination.count {
        let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
        destination[i] = HalfPrecision.float(fromBFloat16Bits: bits)
      }
    }
  }

  /// Decodes a whole byte range into a new array.
  func decode(_ source: UnsafeRawBufferPointer) -> [Float] {
    let count = source.count / byteWidth
    return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      decode(source, into: buffer)
      initialized = count
    }
  }

  /// Elements per chunk when encoding: 1 Mi elements (4 MiB of Float).
  static let chunkElements = 1 << 20

  /// Encodes `values` little-endian and hands the bytes to `emit`, chunk by chunk.
  func encode(_ values: UnsafeBufferPointer<Float>, _ emit: (UnsafeRawBufferPointer) throws -> Void) throws {
    switch self {
    case .float32:
      #if _endian(little)
        try emit(UnsafeRawBufferPointer(values))
      #else
        try encodeChunked(values, convert: { $0.bitPattern.littleEndian }, emit: emit)
      #endif
    case .float16:
      try encodeChunked(values, convert: { HalfPrecision.float16Bits($0).littleEndian }, emit: emit)
    case .bfloat16:
      try encodeChunked(values, convert: { HalfPrecision.bfloat16Bits($0).littleEndian }, emit: emit)
    }
  }

  private func encodeChunked<T: FixedWidthInteger>(
    _ values: UnsafeBufferPointer<Float>, convert: (Float) -> T,
    emit: (UnsafeRawBufferPointer) throws -> Void
  ) throws {
    let chunk = Swift.min(values.count, FloatEncoding.chunkElements)
    var scratch = [T](repeating: 0, count: chunk)
    var start = 0
    while start < values.count {
      let end = Swift.min(start + chunk, values.count)
      try scratch.withUnsafeMutableBufferPointer { out in
        for i in start..<end { out[i - start] = convert(values[i]) }
        try emit(
          UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(out)[0..<(end - start) * MemoryLayout<T>.size]))
      }
      start = end
    }
  }
}

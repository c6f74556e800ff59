// Writing safetensors files byte-identical to the Python package: tensors laid out by dtype
// (widest first, so every tensor is aligned to its element size) then by name, compact JSON
// header padded with spaces to a multiple of 8 bytes, written atomically and streamed.
import Foundation

/// Collects tensors and writes them as one safetensors file.
///
///     var writer = SafeTensorsWriter(metadata: ["format": "pt"])
///     writer.add("encoder.weight", shape: [latentDim, inputDim], floats: weights)
///     writer.add("step", shape: [], int64s: [step])
///     try writer.write(to: url)
public struct SafeTensorsWriter {
  /// The `"__metadata__"` map; omitted from the file when empty.
  public var metadata: [String: String]
  private var entries: [Entry] = []

  private enum Payload {
    case floats([Float])
    case borrowed(UnsafeBufferPointer<Float>)
    case int64s([Int64])
  }

  private struct Entry {
    let name: String
    let shape: [Int]
    let dtype: SafeTensorsDType
    let payload: Payload
  }

  /// An empty writer; `metadata` becomes the file's `"__metadata__"` object (left out when empty).
  public init(metadata: [String: String] = [:]) {
    self.metadata = metadata
  }

  /// Adds a tensor stored as `dtype` (F32, F16 or BF16; half types round to nearest even).
  /// The array is not copied (copy-on-write storage is shared until `write`).
  public mutating func add(_ name: String, shape: [Int], floats: [Float], as dtype: SafeTensorsDType = .F32) {
    append(Entry(name: name, shape: shape, dtype: dtype, payload: .floats(floats)), count: floats.count)
  }

  /// Adds a tensor whose elements are read from `floats` only during `write(to:)`: no copy, for
  /// slices of a flat parameter buffer. The buffer must stay valid and unchanged until `write` returns.
  public mutating func add(
    _ name: String, shape: [Int], borrowing floats: UnsafeBufferPointer<Float>,
    as dtype: SafeTensorsDType = .F32
  ) {
    append(Entry(name: name, shape: shape, dtype: dtype, payload: .borrowed(floats)), count: floats.count)
  }

  /// Adds an I64 tensor (e.g. an optimizer step count with `shape: []`).
  public mutating func add(_ name: String, shape: [Int], int64s: [Int64]) {
    append(Entry(name: name, shape: shape, dtype: .I64, payload: .int64s(int64s)), count: int64s.count)
  }

  private mutating func append(_ entry: Entry, count: Int) {
    precondition(entry.name != "__metadata__", "SafeTensorsWriter: '__metadata__' is reserved")
    precondition(!entries.contains { $0.name == entry.name }, "SafeTensorsWriter: tensor '\(entry.name)' added twice")
    precondition(
      entry.shape.allSatisfy { $0 >= 0 } && entry.shape.reduce(1, *) == count,
      "SafeTensorsWriter: '\(entry.name)' shape \(entry.shape) needs \(entry.shape.reduce(1, *)) elements, got \(count)"
    )
    if case .int64s = entry.payload {
    } else {
      precondition(
        entry.dtype.floatEncoding != nil,
        "SafeTensorsWriter: floats can be stored as F32, F16 or BF16, not \(entry.dtype)")
    }
    entries.append(entry)
  }

  /// Data order of the reference implementation: dtype rank descending, then name bytewise.
  private var layout: [Entry] {
    entries.sorted { a, b in
      a.dtype.rank != b.dtype.rank
        ? a.dtype.rank > b.dtype.rank : Array(a.name.utf8).lexicographicallyPrecedes(b.name.utf8)
    }
  }

  /// The 8-byte length prefix plus the padded JSON header.
  func headerBytes() -> [UInt8] {
    var json = "{"
    var fields: [String] = []
    if !metadata.isEmpty {
      let pairs = metadata.sorted { Array($0.key.utf8).lexicographicallyPrecedes($1.key.utf8) }
        .map { "\(jsonString($0.key)):\(jsonString($0.value))" }
      fields.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
    }
    var offset = 0
    for entry in layout {
      let size = entry.shape.reduce(1, *) * entry.dtype.byteWidth
      let shape = entry.shape.map(String.init).joined(separator: ",")
      fields.append(
        "\(jsonString(entry.name)):{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + size)]}"
      )
      offset += size
    }
    json += fields.joined(separator: ",") + "}"
    var header = Array(json.utf8)
    header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
    var bytes: [UInt8] = []
    for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * UInt64(i)))) }
    return bytes + header
  }

  /// Writes the file atomically (see `AtomicFile`), streaming each tensor; F32 from a buffer is
  /// written without any intermediate copy.
  public func write(to url: URL) throws {
    let header = headerBytes()
    try AtomicFile.write(to: url) { sink in
      try header.withUnsafeBytes { try sink.write($0) }
      for entry in layout {
        switch entry.payload {
        case let .floats(values):
          try values.withUnsafeBufferPointer { try entry.dtype.floatEncoding!.encode($0) { try sink.write($0) } }
        case let .borrowed(buffer):
          try entry.dtype.floatEncoding!.encode(buffer) { try sink.write($0) }
        case let .int64s(values):
          let littleEndian = values.map(\.littleEndian)
          try littleEndian.withUnsafeBytes { try sink.write($0) }
        }
      }
    }
  }

  /// A JSON string literal escaped as serde_json does (so headers match the Python package byte for byte).
  private func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "\u{08}": out += "\\b"
      case "\u{0C}": out += "\\f"
      case _ where scalar.value < 0x20:
        let digits = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}

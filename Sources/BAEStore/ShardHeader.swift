// The byte layout of a shard's header and frame index (Documentation/FileFormats.md is the spec).
// Encoding and the validating parser live together so the two cannot drift apart.
import BAEIO
import Foundation

/// One entry of the frame index: where a compressed frame lies and its XXH64.
public struct FrameEntry: Equatable, Sendable {
  /// Byte offset of the compressed frame from the start of the file.
  public var offset: Int
  /// Compressed size in bytes.
  public var bytes: Int
  /// XXH64 (seed 0) of the compressed bytes.
  public var xxh64: UInt64
}

/// The parsed header of a shard file: fixed fields, source metadata and the frame index.
public struct ShardHeader: Equatable, Sendable {
  /// "BAESHARD"
  public static let magic: [UInt8] = Array("BAESHARD".utf8)
  /// The only version this build writes and reads.
  public static let version: UInt32 = 1
  /// Bytes of the fixed part.
  static let fixedBytes = 64
  /// Bytes per frame-index entry.
  static let entryBytes = 24
  /// Fixed caps that keep a corrupt header from asking for absurd allocations (the decoded frame
  /// size is capped by `Limits.frameBytes()`, which a user can raise).
  static let maxMetadataBytes = 1 << 24
  static let maxInputDim = 1 << 24

  /// Element type on disk.
  public var dtype: StoreDType
  /// Whether frames are byte-shuffled before compression (flags bit 0).
  public var shuffled: Bool
  /// Width d of a row (elements per row).
  public var inputDim: Int
  /// Rows stored in this shard.
  public var rows: Int
  /// Rows per frame; only the last frame may hold fewer.
  public var rowsPerFrame: Int
  /// Source metadata (model, layer, preprocessing, input file, ...), stored as JSON.
  public var metadata: [String: String]
  /// The frame index, in row order.
  public var frames: [FrameEntry]

  /// Number of frames (`ceil(rows / rowsPerFrame)`).
  public var frameCount: Int { frames.count }

  /// Rows held by frame `k` (the last frame may be short).
  public func rowsInFrame(_ k: Int) -> Int { min(rowsPerFrame, rows - k * rowsPerFrame) }

  /// Decoded bytes of frame `k` in the stored dtype.
  public func decodedBytes(ofFrame k: Int) -> Int { rowsInFrame(k) * inputDim * dtype.size }

  /// Bytes of header + metadata + index + header checksum, i.e. the offset of the first frame.
  static func headerEnd(metadataBytes: Int, frameCount: Int) -> Int {
    fixedBytes + metadataBytes + entryBytes * frameCount + 8
  }

  static func frameCount(rows: Int, rowsPerFrame: Int) -> Int { (rows + rowsPerFrame - 1) / rowsPerFrame }

  /// Serialises the header with `frames` (offsets must already be final).
  func encode() -> [UInt8] {
    let meta = ShardHeader.metadataJSON(metadata)
    var out = [UInt8]()
    out.reserveCapacity(ShardHeader.headerEnd(metadataBytes: meta.count, frameCount: frames.count))
    out += ShardHeader.magic
    put32(&out, ShardHeader.version)
    out.append(dtype.rawValue)
    out.append(shuffled ? 1 : 0)
    out += [0, 0]
    put64(&out, UInt64(inputDim))
    put64(&out, UInt64(rows))
    put64(&out, UInt64(rowsPerFrame))
    put64(&out, UInt64(frames.count))
    put64(&out, UInt64(meta.count))
    put64(&out, 0)
    out += meta
    for f in frames {
      put64(&out, UInt64(f.offset))
      put64(&out, UInt64(f.bytes))
      put64(&out, f.xxh64)
    }
    put64(&out, XXH64.hash(out))
    return out
  }

  static func metadataJSON(_ m: [String: String]) -> [UInt8] {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    return Array((try? enc.encode(m)) ?? Data("{}".utf8))
  }

  /// Reads and validates a header from a file of `fileSize` bytes; `read(offset, count)` returns bytes.
  /// Checks, in order: size of the fixed part, magic, version, field bounds, header checksum, field
  /// semantics, index contiguity, and that the last frame ends exactly at the end of the file.
  static func parse(file: String, fileSize: Int, read: (Int, Int) throws -> [UInt8]) throws -> ShardHeader {
    guard fileSize >= fixedBytes else {
      throw StoreError.truncated(file: file, expectedBytes: fixedBytes, foundBytes: fileSize)
    }
    let fixed = try read(0, fixedBytes)
    guard Array(fixed[0..<8]) == magic else {
      let shown = fixed[0..<8].map { (0x20...0x7E).contains($0) ? String(UnicodeScalar($0)) : "." }.joined()
      throw StoreError.badMagic(file: file, found: "\"\(shown)\"")
    }
    let version = get32(fixed, 8)
    guard version == ShardHeader.version else {
      throw StoreError.unsupportedVersion(file: file, found: version, supported: ShardHeader.version)
    }
    let metaLen = get64(fixed, 48), frameCount = get64(fixed, 40)
    guard metaLen <= UInt64(maxMetadataBytes) else {
      throw StoreError.corruptHeader(
        file: file, field: "metadataBytes", detail: "\(metaLen) exceeds the limit \(maxMetadataBytes)")
    }
    guard frameCount <= UInt64(fileSize / entryBytes) else {
      throw StoreError.corruptHeader(
        file: file, field: "frameCount", detail: "\(frameCount) frames cannot fit in \(fileSize) bytes")
    }
    let end = headerEnd(metadataBytes: Int(metaLen), frameCount: Int(frameCount))
    guard end <= fileSize else { throw StoreError.truncated(file: file, expectedBytes: end, foundBytes: fileSize) }
    let all = try read(0, end)
    let stored = get64(all, end - 8)
    let computed = all.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<(end - 8)])) }
    guard stored == computed else {
      throw StoreError.corruptHeader(
        file: file, field: "headerChecksum",
        detail: "stored XXH64 \(XXH64.hex(stored)), computed \(XXH64.hex(computed))")
    }
    // Checksum matched: the remaining checks catch a consistent but invalid header (a writer bug).
    guard let dtype = StoreDType(rawValue: fixed[12]) else {
      throw StoreError.corruptHeader(
        file: file, field: "dtype", detail: "code \(fixed[12]) is not 0 (f32), 1 (f16) or 2 (bf16)")
    }
    guard fixed[13] <= 1, fixed[14] == 0, fixed[15] == 0, get64(fixed, 56) == 0 else {
      throw StoreError.corruptHeader(
        file: file, field: "flags/reserved", detail: "unknown flag or non-zero reserved bytes")
    }
    let inputDim = get64(fixed, 16), rows = get64(fixed, 24), rpf = get64(fixed, 32)
    guard inputDim >= 1, inputDim <= UInt64(maxInputDim) else {
      throw StoreError.corruptHeader(file: file, field: "inputDim", detail: "\(inputDim) is outside 1...\(maxInputDim)")
    }
    let maxFrameBytes = try StoreError.mapping { try Limits.frameBytes() }
    guard rpf >= 1 else {
      throw StoreError.corruptHeader(file: file, field: "rowsPerFrame", detail: "0 rows per frame")
    }
    let frameBytes = rpf.multipliedReportingOverflow(by: inputDim * UInt64(dtype.size))
    guard !frameBytes.overflow, frameBytes.partialValue <= UInt64(maxFrameBytes) else {
      throw StoreError.limitExceeded(
        file: file, field: "decoded frame size (rowsPerFrame \(rpf) x inputDim \(inputDim))",
        found: frameBytes.overflow ? Int.max : Int(frameBytes.partialValue),
        limit: maxFrameBytes, variable: "BAE_MAX_FRAME_BYTES")
    }
    guard rows <= rpf * frameCount, Int(frameCount) == ShardHeader.frameCount(rows: Int(rows), rowsPerFrame: Int(rpf))
    else {
      throw StoreError.corruptHeader(
        file: file, field: "frameCount", detail: "\(frameCount) frames do not hold \(rows) rows of \(rpf) per frame")
    }
    let metaBytes = Array(all[fixedBytes..<(fixedBytes + Int(metaLen))])
    guard let metadata = try? JSONDecoder().decode([String: String].self, from: Data(metaBytes)) else {
      throw StoreError.corruptHeader(file: file, field: "metadata", detail: "not a JSON object of strings")
    }
    var frames: [FrameEntry] = []
    frames.reserveCapacity(Int(frameCount))
    var expectedOffset = UInt64(end)
    let decodedMax = UInt64(rpf * inputDim) * UInt64(dtype.size)
    for k in 0..<Int(frameCount) {
      let p = fixedBytes + Int(metaLen) + k * entryBytes
      let off = get64(all, p), size = get64(all, p + 8)
      guard off == expectedOffset, size >= 1, size <= UInt64(fileSize), size <= decodedMax * 2 + 4096 else {
        throw StoreError.corruptHeader(
          file: file, field: "frameIndex[\(k)]",
          detail: "offset \(off) size \(size), expected offset \(expectedOffset)")
      }
      frames.append(FrameEntry(offset: Int(off), bytes: Int(size), xxh64: get64(all, p + 16)))
      expectedOffset += size
      guard expectedOffset <= UInt64(fileSize) else {
        throw StoreError.truncated(
          file: file, expectedBytes: Int(min(expectedOffset, UInt64(Int.max))), foundBytes: fileSize)
      }
    }
    guard expectedOffset == UInt64(fileSize) else {
      throw StoreError.truncated(file: file, expectedBytes: Int(expectedOffset), foundBytes: fileSize)
    }
    return ShardHeader(
      dtype: dtype, shuffled: fixed[13] == 1, inputDim: Int(inputDim), rows: Int(rows),
      rowsPerFrame: Int(rpf), metadata: metadata, frames: frames)
  }
}

@inline(__always) private func put32(_ a: inout [UInt8], _ v: UInt32) {
  for i in 0..<4 { a.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
}

@inline(__always) private func put64(_ a: inout [UInt8], _ v: UInt64) {
  for i in 0..<8 { a.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
}

@inline(__always) private func get32(_ a: [UInt8], _ p: Int) -> UInt32 {
  var v: UInt32 = 0
  for i in 0..<4 { v |= UInt32(a[p + i]) << (8 * UInt32(i)) }
  return v
}

@inline(__always) private func get64(_ a: [UInt8], _ p: Int) -> UInt64 {
  var v: UInt64 = 0
  for i in 0..<8 { v |= UInt64(a[p + i]) << (8 * UInt64(i)) }
  return v
}

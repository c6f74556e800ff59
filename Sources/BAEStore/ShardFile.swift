// An open shard: validated header plus random access to frames through BAEIO's file funnel
// (positioned reads), so any number of threads can decode different frames of one file concurrently.
import BAEIO
import Foundation

/// A shard file opened for reading. Immutable after `init`; safe to share between threads.
public final class ShardFile: @unchecked Sendable {
  /// The path, as given (used in every error).
  public var path: String { file.path }
  /// The validated header: dtype, width, rows, metadata and the frame index.
  public let header: ShardHeader
  /// Size of the file in bytes.
  public var fileSize: Int { file.size }
  private let file: ReadableFile

  /// Opens `url` and validates its header and frame index (not the frames: see `verify`).
  /// A FIFO, device or directory is refused before anything is read.
  public init(url: URL) throws {
    let file = try StoreError.mapping { try ReadableFile(url) }
    self.file = file
    header = try ShardHeader.parse(file: file.path, fileSize: file.size) { offset, count in
      try StoreError.mapping { try file.bytes(at: offset, count: count) }
    }
  }

  /// Reads frame `k`'s compressed bytes and checks their XXH64 against the index.
  public func compressedFrame(_ k: Int, into buffer: inout [UInt8]) throws {
    precondition(k >= 0 && k < header.frameCount, "frame \(k) out of 0..<\(header.frameCount)")
    let e = header.frames[k]
    if buffer.count != e.bytes { buffer = [UInt8](repeating: 0, count: e.bytes) }
    try buffer.withUnsafeMutableBytes { raw in try StoreError.mapping { try file.read(at: e.offset, into: raw) } }
    let h = XXH64.hash(buffer)
    guard h == e.xxh64 else {
      throw StoreError.corruptFrame(
        file: path, frame: k,
        detail: "XXH64 \(XXH64.hex(h)) differs from the index's \(XXH64.hex(e.xxh64))")
    }
  }

  /// Decodes frame `k` into `out` (rowsInFrame(k)·inputDim floats, row-major).
  public func decodeFrame(
    _ k: Int, into out: UnsafeMutableBufferPointer<Float>, decoder: FrameDecoder,
    scratch: inout [UInt8]
  ) throws {
    precondition(
      out.count == header.rowsInFrame(k) * header.inputDim,
      "frame \(k): out has \(out.count) floats, need \(header.rowsInFrame(k)) x \(header.inputDim)")
    try compressedFrame(k, into: &scratch)
    try scratch.withUnsafeBytes {
      try decoder.decode($0, dtype: header.dtype, shuffled: header.shuffled, into: out, file: path, frame: k)
    }
  }

  /// Decodes frame `k` into `values`, resized to rowsInFrame(k)·inputDim floats only after the
  /// compressed bytes passed their checksum and declare the expected size: a corrupt header
  /// cannot make the reader allocate before a frame is checked.
  public func decodeFrame(_ k: Int, into values: inout [Float], decoder: FrameDecoder, scratch: inout [UInt8]) throws {
    try compressedFrame(k, into: &scratch)
    let n = header.rowsInFrame(k) * header.inputDim
    try scratch.withUnsafeBytes {
      try decoder.checkDeclaredSize($0, expected: n * header.dtype.size, file: path, frame: k)
    }
    if values.count != n { values = [Float](repeating: 0, count: n) }
    try values.withUnsafeMutableBufferPointer { out in
      try scratch.withUnsafeBytes {
        try decoder.decode($0, dtype: header.dtype, shuffled: header.shuffled, into: out, file: path, frame: k)
      }
    }
  }

  /// Decodes every frame, returning the errors found (empty = the shard is intact).
  public func verify() -> [StoreError] {
    let decoder = FrameDecoder()
    var scratch: [UInt8] = []
    var out: [Float] = []
    var errors: [StoreError] = []
    for k in 0..<header.frameCount {
      do {
        try decodeFrame(k, into: &out, decoder: decoder, scratch: &scratch)
      } catch let e as StoreError {
        errors.append(e)
      } catch {
        errors.append(.corruptFrame(file: path, frame: k, detail: "\(error)"))
      }
    }
    return errors
  }

  /// The manifest's content hash: plain XXH64 (seed 0) of the whole file, streamed in 8 MiB
  /// chunks; equal to what `xxhsum -H64 FILE` prints.
  public func contentHash() throws -> UInt64 { try StoreError.mapping { try file.contentHash() } }
}

/// The manifest's content hash of any file (shard or token sidecar): XXH64 of its bytes, as
/// `xxhsum -H64` computes it. Non-regular files are refused.
public func contentHash(of url: URL) throws -> UInt64 {
  try StoreError.mapping { try ReadableFile(url).contentHash() }
}

extension ReadableFile {
  /// Streaming XXH64 of the file's bytes.
  func contentHash() throws -> UInt64 {
    var stream = XXH64()
    try forEachChunk { stream.update($0) }
    return stream.digest()
  }
}

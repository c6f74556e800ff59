// An open shard: validated header plus random access to frames through pread(2), so any number of
// threads can decode different frames of one file concurrently.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A shard file opened for reading. Immutable after `init`; safe to share between threads.
public final class ShardFile: @unchecked Sendable {
  /// The path, as given (used in every error).
  public let path: String
  public let header: ShardHeader
  /// Size of the file in bytes.
  public let fileSize: Int
  private let fd: Int32

  /// Opens `url` and validates its header and frame index (not the frames: see `verify`).
  public init(url: URL) throws {
    path = url.path
    fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw StoreError.io(file: path, operation: "open", reason: String(cString: strerror(errno))) }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      let reason = String(cString: strerror(errno))
      close(fd)
      throw StoreError.io(file: path, operation: "stat", reason: reason)
    }
    fileSize = Int(st.st_size)
    let fd = self.fd, path = self.path
    do {
      header = try ShardHeader.parse(file: path, fileSize: fileSize) { offset, count in
        var b = [UInt8](repeating: 0, count: count)
        try b.withUnsafeMutableBytes { try ShardFile.preadFully(fd: fd, path: path, into: $0, at: offset) }
        return b
      }
    } catch {
      close(fd)
      throw error
    }
  }

  deinit { close(fd) }

  static func preadFully(fd: Int32, path: String, into buf: UnsafeMutableRawBufferPointer, at offset: Int) throws {
    var done = 0
    while done < buf.count {
      let r = pread(fd, buf.baseAddress! + done, buf.count - done, off_t(offset + done))
      if r < 0 {
        if errno == EINTR { continue }
        throw StoreError.io(file: path, operation: "read", reason: String(cString: strerror(errno)))
      }
      if r == 0 { throw StoreError.truncated(file: path, expectedBytes: offset + buf.count, foundBytes: offset + done) }
      done += r
    }
  }

  /// Reads frame `k`'s compressed bytes and checks their XXH64 against the index.
  public func compressedFrame(_ k: Int, into buffer: inout [UInt8]) throws {
    precondition(k >= 0 && k < header.frameCount, "frame \(k) out of 0..<\(header.frameCount)")
    let e = header.frames[k]
    if buffer.count != e.bytes { buffer = [UInt8](repeating: 0, count: e.bytes) }
    let fd = self.fd, path = self.path
    try buffer.withUnsafeMutableBytes { try ShardFile.preadFully(fd: fd, path: path, into: $0, at: e.offset) }
    let h = XXH64.hash(buffer)
    guard h == e.xxh64 else {
      throw StoreError.corruptFrame(file: path, frame: k,
                                    detail: "XXH64 \(XXH64.hex(h)) differs from the index's \(XXH64.hex(e.xxh64))")
    }
  }

  /// Decodes frame `k` into `out` (rowsInFrame(k)·inputDim floats, row-major).
  public func decodeFrame(_ k: Int, into out: UnsafeMutableBufferPointer<Float>, decoder: FrameDecoder,
                          scratch: inout [UInt8]) throws {
    precondition(out.count == header.rowsInFrame(k) * header.inputDim,
                 "frame \(k): out has \(out.count) floats, need \(header.rowsInFrame(k)) x \(header.inputDim)")
    try compressedFrame(k, into: &scratch)
    try scratch.withUnsafeBytes {
      try decoder.decode($0, dtype: header.dtype, shuffled: header.shuffled, into: out, file: path, frame: k)
    }
  }

  /// Decodes every frame, returning the errors found (empty = the shard is intact).
  public func verify() -> [StoreError] {
    let decoder = FrameDecoder()
    var scratch: [UInt8] = []
    var out = [Float](repeating: 0, count: header.rowsPerFrame * header.inputDim)
    var errors: [StoreError] = []
    for k in 0..<header.frameCount {
      let n = header.rowsInFrame(k) * header.inputDim
      do {
        try out.withUnsafeMutableBufferPointer {
          try decodeFrame(k, into: UnsafeMutableBufferPointer(rebasing: $0[0..<n]), decoder: decoder, scratch: &scratch)
        }
      } catch let e as StoreError {
        errors.append(e)
      } catch {
        errors.append(.corruptFrame(file: path, frame: k, detail: "\(error)"))
      }
    }
    return errors
  }

  /// XXH64 of the whole file (the manifest's content hash), read in 8 MiB chunks.
  public func contentHash() throws -> UInt64 {
    try ShardFile.hashFile(fd: fd, path: path, size: fileSize)
  }

  static func hashFile(fd: Int32, path: String, size: Int) throws -> UInt64 {
    // XXH64 is not incremental here, so hash the file as a whole when small, else hash of chunk hashes.
    // The manifest records which: see Documentation/FileFormats.md ("content hash").
    let chunk = 8 << 20
    var buf = [UInt8](repeating: 0, count: min(max(size, 1), chunk))
    var hashes: [UInt8] = []
    var off = 0
    while off < size {
      let n = min(chunk, size - off)
      try buf.withUnsafeMutableBytes {
        try preadFully(fd: fd, path: path, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<n]), at: off)
      }
      let h = buf.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
      withUnsafeBytes(of: h.littleEndian) { hashes += $0 }
      off += n
    }
    return XXH64.hash(hashes)
  }
}

import Foundation

// The one funnel through which the project reads and writes files with the C library: every
// failing call becomes a typed BAEIOError carrying the path, the C function's name and
// strerror(errno). BAEIO's readers and BAEStore's shards, manifests and token files all open here.
#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The message for the current `errno`, prefixed with the C function that failed.
func posixReason(_ function: String) -> String {
  let code = errno
  return "\(function): \(String(cString: strerror(code))) (errno \(code))"
}

/// A read-only regular file with positioned reads (`pread`), closed on deinit.
///
/// `open(2)` runs with `O_NONBLOCK`, so a FIFO with no writer cannot block it, and `fstat(2)` then
/// refuses anything that is not a regular file (FIFO, socket, device such as `/dev/zero`,
/// directory) with `.notRegularFile`: such a path can neither hang a reader nor feed it an endless
/// stream. `O_NONBLOCK` has no effect on reads of a regular file. Positioned reads leave no shared
/// cursor, and a file truncated under us gives a short read (a typed error) instead of the SIGBUS
/// a memory map would raise.
public final class ReadableFile: @unchecked Sendable {  // immutable; pread is thread-safe
  /// The path, as given (named in every error).
  public let path: String
  /// Size in bytes at open time.
  public let size: Int
  private let fd: Int32

  /// Opens `path` (see the type's summary for the checks).
  public init(path: String) throws {
    self.path = path
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { throw BAEIOError.cannotRead(path: path, reason: posixReason("open")) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      let reason = posixReason("fstat")
      close(fd)
      throw BAEIOError.cannotRead(path: path, reason: reason)
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      close(fd)
      throw BAEIOError.notRegularFile(path: path, kind: ReadableFile.kindName(info.st_mode))
    }
    size = Int(info.st_size)
  }

  /// Opens `url.path`.
  public convenience init(_ url: URL) throws { try self.init(path: url.path) }

  deinit { close(fd) }

  static func kindName(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFDIR: return "directory"
    case S_IFIFO: return "FIFO (named pipe)"
    case S_IFCHR: return "character device"
    case S_IFBLK: return "block device"
    case S_IFSOCK: return "socket"
    default: return "special file"
    }
  }

  /// Fills `buffer` from `offset`; a file that ends early throws `.truncated`.
  public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
    var done = 0
    while done < buffer.count {
      let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
      if n < 0 {
        if errno == EINTR { continue }
        throw BAEIOError.cannotRead(path: path, reason: posixReason("pread"))
      }
      if n == 0 {
        throw BAEIOError.truncated(path: path, expectedBytes: offset + buffer.count, foundBytes: offset + done)
      }
      done += n
    }
  }

  /// Reads `count` bytes at `offset` into a new array. The caller bounds `count` (it is checked
  /// against `size` first, so a corrupt length field cannot allocate more than the file holds).
  public func bytes(at offset: Int, count: Int) throws -> [UInt8] {
    guard count >= 0, offset >= 0, offset <= size, count <= size - offset else {
      throw BAEIOError.truncated(
        path: path, expectedBytes: offset.addingReportingOverflow(count).partialValue,
        foundBytes: size)
    }
    var result = [UInt8](repeating: 0, count: count)
    try result.withUnsafeMutableBytes { try read(at: offset, into: $0) }
    return result
  }

  /// Streams the first `size` bytes in chunks of at most `chunkBytes` (one buffer, reused).
  public func forEachChunk(chunkBytes: Int = 8 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
    precondition(chunkBytes > 0, "chunkBytes \(chunkBytes) must be > 0")
    var buffer = [UInt8](repeating: 0, count: Swift.min(Swift.max(size, 1), chunkBytes))
    var offset = 0
    while offset < size {
      let n = Swift.min(buffer.count, size - offset)
      try buffer.withUnsafeMutableBytes { raw in
        let part = UnsafeMutableRawBufferPointer(rebasing: raw[0..<n])
        try read(at: offset, into: part)
        try body(UnsafeRawBufferPointer(part))
      }
      offset += n
    }
  }
}

// Free functions so the C `write`/`close` are not shadowed by WritableFile's methods.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
private func systemClose(_ fd: Int32) -> Int32 { close(fd) }

/// A write-only file descriptor; every call goes through the funnel above.
final class WritableFile {
  let path: String
  private var fd: Int32

  /// Creates a new file; fails if it already exists (the temporary names are unique).
  init(creating path: String) throws {
    self.path = path
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw BAEIOError.cannotWrite(path: path, reason: posixReason("open")) }
  }

  deinit { if fd >= 0 { _ = systemClose(fd) } }

  func write(_ bytes: UnsafeRawBufferPointer) throws {
    var done = 0
    while done < bytes.count {
      let n = systemWrite(fd, bytes.baseAddress! + done, bytes.count - done)
      if n < 0 {
        if errno == EINTR { continue }
        throw BAEIOError.cannotWrite(path: path, reason: posixReason("write"))
      }
      done += n
    }
  }

  func sync() throws {
    guard fsync(fd) == 0 else { throw BAEIOError.cannotWrite(path: path, reason: posixReason("fsync")) }
  }

  func close() throws {
    let result = systemClose(fd)
    fd = -1
    guard result == 0 else { throw BAEIOError.cannotWrite(path: path, reason: posixReason("close")) }
  }
}

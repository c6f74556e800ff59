// The one funnel through which BAEIO calls the C library for files: every failing call becomes a
// BAEIOError carrying the path, the C function's name and strerror(errno).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The message for the current `errno`, prefixed with the C function that failed.
func posixReason(_ function: String) -> String {
  let code = errno
  return "\(function): \(String(cString: strerror(code))) (errno \(code))"
}

/// A read-only file descriptor with positioned reads (`pread`), closed on deinit.
/// Positioned reads leave no shared cursor, and a file truncated under us gives a short read
/// (a typed error) instead of the SIGBUS a memory map would raise.
final class ReadableFile: @unchecked Sendable {  // immutable; pread is thread-safe
  let path: String
  let size: Int
  private let fd: Int32

  init(_ url: URL) throws {
    path = url.path
    fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw BAEIOError.cannotRead(path: path, reason: posixReason("open")) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      let reason = posixReason("fstat")
      close(fd)
      throw BAEIOError.cannotRead(path: path, reason: reason)
    }
    if (info.st_mode & S_IFMT) == S_IFDIR {
      close(fd)
      throw BAEIOError.cannotRead(path: path, reason: "is a directory")
    }
    size = Int(info.st_size)
  }

  deinit { close(fd) }

  /// Fills `buffer` from `offset`; a file that ends early throws `.truncated`.
  func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
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

  /// Reads `count` bytes at `offset` into a new array.
  func bytes(at offset: Int, count: Int) throws -> [UInt8] {
    var result = [UInt8](repeating: 0, count: count)
    try result.withUnsafeMutableBytes { try read(at: offset, into: $0) }
    return result
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

import Foundation

// Crash-safe file replacement: readers see either the old file or the complete new one, never a
// partial write. Checkpoints and exported weights go through here.
#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes files atomically: temporary name in the target's directory, `fsync`, `rename` over the
/// target, `fsync` of the directory so the rename itself survives a power loss.
public enum AtomicFile {
  /// A sink for streaming writes inside `AtomicFile.write(to:_:)`.
  public struct Sink {
    let file: WritableFile

    /// Appends raw bytes to the temporary file.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
      try file.write(bytes)
    }

    /// Appends the contents of `data`.
    public func write(_ data: Data) throws {
      try data.withUnsafeBytes { try file.write($0) }
    }
  }

  /// Replaces `url` with `data` atomically (see the type's summary for the steps).
  public static func write(_ data: Data, to url: URL) throws {
    try write(to: url) { try $0.write(data) }
  }

  /// Replaces `url` with whatever `body` streams into the sink, atomically. If `body` throws,
  /// the temporary file is removed, the target is left untouched and the error is rethrown.
  public static func write(to url: URL, _ body: (Sink) throws -> Void) throws {
    let target = url.standardizedFileURL
    let directory = target.deletingLastPathComponent()
    let temporary = directory.appendingPathComponent(
      ".\(target.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    do {
      let file = try WritableFile(creating: temporary.path)
      try body(Sink(file: file))
      try file.sync()
      try file.close()
      guard rename(temporary.path, target.path) == 0 else {
        throw BAEIOError.cannotWrite(path: target.path, reason: posixReason("rename"))
      }
    } catch {
      unlink(temporary.path)
      throw error
    }
    try fsyncDirectory(directory)
  }

  /// `fsync`s a directory so that entries created or renamed in it are durable.
  public static func fsyncDirectory(_ url: URL) throws {
    let path = url.path
    #if canImport(Darwin)
      let flags = O_RDONLY
    #else
      let flags = O_RDONLY | O_DIRECTORY
    #endif
    let fd = open(path, flags | O_CLOEXEC)
    guard fd >= 0 else { throw BAEIOError.cannotWrite(path: path, reason: posixReason("open")) }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw BAEIOError.cannotWrite(path: path, reason: posixReason("fsync")) }
  }
}

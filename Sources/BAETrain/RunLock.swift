// `--out` is owned by one run: rank 0 holds `run.lock` (host, pid, run id) for the run's lifetime.
// A lock left by a dead process on this host is replaced; one from another host is refused, since
// its process cannot be checked from here.
import Foundation

/// The lock file of an output directory.
public final class RunLock {
  /// The lock file's name inside `--out`.
  public static let fileName = "run.lock"
  /// The lock file's path.
  public let url: URL
  private var held = false

  /// The lock of run directory `directory` (not taken until `acquire`).
  public init(directory: URL) { url = directory.appendingPathComponent(Self.fileName) }

  /// This machine's host name.
  public static var hostName: String {
    var buf = [CChar](repeating: 0, count: 256)
    guard gethostname(&buf, buf.count - 1) == 0 else { return "unknown" }
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Takes the lock (O_CREAT|O_EXCL), replacing a stale one at most once.
  public func acquire(runID: String) throws {
    let line = "\(Self.hostName) \(getpid()) \(runID) \(Self.slurmJob ?? "-")\n"
    for attempt in 0..<2 {
      let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
      if fd >= 0 {
        let failure = RunLog.writeAll(fd, Data(line.utf8))
        _ = fsync(fd)
        _ = closeLockDescriptor(fd)
        if let failure {
          unlink(url.path)
          throw RunDirectoryError.unreadable(path: url.path, reason: "cannot write the lock: \(failure)")
        }
        held = true
        return
      }
      guard errno == EEXIST else {
        throw RunDirectoryError.unreadable(
          path: url.path, reason: "cannot create the lock: \(String(cString: strerror(errno)))")
      }
      let (host, pid, job) = readOwner()
      // a requeued Slurm job keeps its id and may restart on another node: its old lock is its own
      if attempt == 0, let job, job == Self.slurmJob {
        unlink(url.path)
        continue
      }
      if host == Self.hostName {
        if Self.isAlive(pid) { throw RunOwnershipError.locked(path: url.path, host: host, pid: pid) }
        if attempt == 0 {
          unlink(url.path)
          continue
        }
      }
      throw RunOwnershipError.lockedElsewhere(path: url.path, host: host, pid: pid)
    }
  }

  /// Whether `pid` is a live process here: kill(pid, 0) fails with ESRCH only when none exists, and
  /// a zombie (a dead rank whose parent is gone and that nobody reaps, as in containers) is dead.
  static func isAlive(_ pid: Int32) -> Bool {
    guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return true }
    let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
    return state != "Z" && state != "X"
  }

  /// Removes the lock if this object took it.
  public func release() {
    guard held else { return }
    held = false
    unlink(url.path)
  }

  deinit { release() }

  /// The Slurm job this process belongs to, if any.
  static var slurmJob: String? {
    ProcessInfo.processInfo.environment["SLURM_JOB_ID"].flatMap { $0.isEmpty ? nil : $0 }
  }

  /// (host, pid, Slurm job) of the lock's owner; an unreadable lock reads as this host with pid 0 (stale).
  func readOwner() -> (String, Int32, String?) {
    guard let data = FileManager.default.contents(atPath: url.path) else { return (Self.hostName, 0, nil) }
    let parts = String(decoding: data.prefix(4096), as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
    guard parts.count >= 2, let pid = Int32(parts[1]) else { return (Self.hostName, 0, nil) }
    let job = parts.count >= 4 && parts[3] != "-" ? String(parts[3]) : nil
    return (String(parts[0]), pid, job)
  }
}

private func closeLockDescriptor(_ fd: Int32) -> Int32 { close(fd) }

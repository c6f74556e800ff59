// Rank-aware output: rank 0 prints progress to stderr and appends JSONL metrics; other ranks stay
// silent except for errors, which carry a "[rank r/R]" prefix. Every write is a POSIX write whose
// error is handled: stderr failures (EPIPE, ENOSPC, /dev/full) are ignored, a failed metrics line
// is cut back off the file and remembered, so the run can checkpoint and stop with a typed error.
import Foundation

public final class RunLog: @unchecked Sendable {
  public let rank: Int
  public let worldSize: Int
  private var metricsFD: Int32 = -1
  private var metricsPath = ""
  /// The first failed metrics write; later lines are dropped (the file stays whole-line).
  public private(set) var metricsFailure: RunLogError?
  public var quiet = false
  /// Put before every stderr line (a sweep names the model: "[out-dir] ").
  public var prefix = ""

  public init(rank: Int, worldSize: Int) {
    self.rank = rank
    self.worldSize = worldSize
  }

  public var isRoot: Bool { rank == 0 }

  /// Opens (appends to, creating) the JSONL metrics file on rank 0.
  public func openMetrics(_ url: URL) throws {
    guard isRoot else { return }
    let fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw RunLogError.metricsWriteFailed(
        path: url.path, step: nil, reason: "open: \(String(cString: strerror(errno)))", checkpoint: nil)
    }
    metricsFD = fd
    metricsPath = url.path
  }

  /// One JSON object per line (rank 0 only), written with one `write` call where the kernel allows;
  /// on failure the file is truncated back to where the line began.
  public func record<T: Encodable>(_ value: T, step: Int? = nil) {
    guard isRoot, metricsFD >= 0, metricsFailure == nil else { return }
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    enc.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    guard var data = try? enc.encode(value) else { return }
    data.append(0x0A)
    let start = lseek(metricsFD, 0, SEEK_END)
    if let reason = Self.writeAll(metricsFD, data) {
      if start >= 0 { _ = ftruncate(metricsFD, start) }
      metricsFailure = .metricsWriteFailed(path: metricsPath, step: step, reason: reason, checkpoint: nil)
    }
  }

  /// A progress or info line on stderr (rank 0 only).
  public func info(_ line: String) {
    guard isRoot, !quiet else { return }
    Self.writeStderr(prefix + line)
  }

  /// A warning on stderr from any rank (rank-prefixed when there are several).
  public func warning(_ line: String) {
    let prefix = worldSize > 1 ? "[rank \(rank)/\(worldSize)] " : ""
    Self.writeStderr(prefix + "warning: " + self.prefix + line)
  }

  /// An error line on stderr from any rank, prefixed with the rank when there are several.
  public func error(_ line: String) {
    let prefix = worldSize > 1 ? "[rank \(rank)/\(worldSize)] " : ""
    Self.writeStderr(prefix + "error: " + line)
  }

  public func close() {
    if metricsFD >= 0 {
      _ = closeDescriptor(metricsFD)
      metricsFD = -1
    }
  }

  deinit { close() }

  /// Writes a line to fd 2, ignoring every failure: a closed pipe or a full disk must not end a run.
  public static func writeStderr(_ line: String) {
    _ = writeAll(2, Data((line + "\n").utf8))
  }

  /// `write` until done; nil on success, else the reason (EINTR retried).
  static func writeAll(_ fd: Int32, _ data: Data) -> String? {
    data.withUnsafeBytes { raw -> String? in
      var offset = 0
      while offset < raw.count {
        let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          return "write: \(String(cString: strerror(errno)))"
        }
        if n == 0 { return "write: no progress" }
        offset += n
      }
      return nil
    }
  }
}

private func closeDescriptor(_ fd: Int32) -> Int32 { close(fd) }

/// "1h02m", "3m05s", "12s".
func formatDuration(_ s: Double) -> String {
  guard s.isFinite, s >= 0 else { return "?" }
  let t = Int(s.rounded())
  if t >= 3600 { return String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) }
  if t >= 60 { return String(format: "%dm%02ds", t / 60, t % 60) }
  return "\(t)s"
}

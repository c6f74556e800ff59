// Rank-aware output: rank 0 prints progress to stderr and appends JSONL metrics; other ranks stay
// silent except for errors, which carry a "[rank r/R]" prefix.
import Foundation

public final class RunLog: @unchecked Sendable {
  public let rank: Int
  public let worldSize: Int
  private var metrics: FileHandle?
  public var quiet = false

  public init(rank: Int, worldSize: Int) {
    self.rank = rank
    self.worldSize = worldSize
  }

  public var isRoot: Bool { rank == 0 }

  /// Opens (appends to) the JSONL metrics file on rank 0.
  public func openMetrics(_ url: URL) throws {
    guard isRoot else { return }
    if !FileManager.default.fileExists(atPath: url.path) {
      FileManager.default.createFile(atPath: url.path, contents: nil)
    }
    let h = try FileHandle(forWritingTo: url)
    try h.seekToEnd()
    metrics = h
  }

  /// One JSON object per line (rank 0 only).
  public func record<T: Encodable>(_ value: T) {
    guard isRoot, let h = metrics else { return }
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    if var data = try? enc.encode(value) {
      data.append(0x0A)
      h.write(data)
    }
  }

  /// A progress or info line on stderr (rank 0 only).
  public func info(_ line: String) {
    guard isRoot, !quiet else { return }
    FileHandle.standardError.write(Data((line + "\n").utf8))
  }

  /// An error line on stderr from any rank, prefixed with the rank when there are several.
  public func error(_ line: String) {
    let prefix = worldSize > 1 ? "[rank \(rank)/\(worldSize)] " : ""
    FileHandle.standardError.write(Data((prefix + "error: " + line + "\n").utf8))
  }

  public func close() { try? metrics?.close(); metrics = nil }
}

/// "1h02m", "3m05s", "12s".
func formatDuration(_ s: Double) -> String {
  guard s.isFinite, s >= 0 else { return "?" }
  let t = Int(s.rounded())
  if t >= 3600 { return String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) }
  if t >= 60 { return String(format: "%dm%02ds", t / 60, t % 60) }
  return "\(t)s"
}

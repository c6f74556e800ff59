// The judge's answer cache: one JSONL line per answered request, keyed by a 128-bit hash of the request
// body (model, messages, temperature, token budget). A rerun after an interruption asks the server only
// what it has not answered yet. A torn or corrupt line (a run killed mid-write) is skipped on load; the
// next record starts on a fresh line. The file never holds credentials: only the key, model and answer.
import BAEStore
import Foundation

/// Why the cache file cannot be used.
public enum JudgeCacheError: Error, CustomStringConvertible, Equatable {
  case unreadable(path: String, reason: String)
  case unwritable(path: String, reason: String)

  /// Which file and what to do: delete it, or pass --no-judge-cache.
  public var description: String {
    switch self {
    case let .unreadable(path, reason):
      return "judge cache \(path): cannot read it (\(reason)); delete the file or pass --no-judge-cache"
    case let .unwritable(path, reason):
      return "judge cache \(path): cannot append to it (\(reason)); check the report directory or pass --no-judge-cache"
    }
  }
}

/// Answers already received, appended to `url` as they arrive. Safe to use from several threads.
public final class JudgeCache: @unchecked Sendable {
  /// One line of the file.
  struct Record: Codable {
    var key: String
    var model: String
    var answer: String
  }

  /// The cache file (judge_cache.jsonl in the report directory).
  public let url: URL
  /// Lines of the file that could not be read (torn last line, corruption), skipped.
  public let skippedLines: Int
  private let lock = NSLock()
  private var answers: [String: Record] = [:]
  private let handle: FileHandle

  /// Opens (or creates) the cache file and loads every readable line.
  public init(url: URL) throws {
    self.url = url
    let fm = FileManager.default
    var skipped = 0
    if fm.fileExists(atPath: url.path) {
      let data: Data
      do { data = try Data(contentsOf: url) } catch {
        throw JudgeCacheError.unreadable(path: url.path, reason: "\(error.localizedDescription)")
      }
      for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
        if let r = try? JSONDecoder().decode(Record.self, from: Data(line)) { answers[r.key] = r } else { skipped += 1 }
      }
      skippedLines = skipped
    } else {
      do { try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true) } catch {
        throw JudgeCacheError.unwritable(path: url.path, reason: "\(error.localizedDescription)")
      }
      guard fm.createFile(atPath: url.path, contents: nil) else {
        throw JudgeCacheError.unwritable(path: url.path, reason: "cannot create the file")
      }
      skippedLines = 0
    }
    do {
      handle = try FileHandle(forWritingTo: url)
      let end = try handle.seekToEnd()
      if end > 0 {
        // a torn last line must not swallow the first new record
        let reader = try FileHandle(forReadingFrom: url)
        defer { try? reader.close() }
        try reader.seek(toOffset: end - 1)
        if try reader.read(upToCount: 1) != Data([UInt8(ascii: "\n")]) {
          try handle.write(contentsOf: Data([UInt8(ascii: "\n")]))
        }
      }
    } catch let e as JudgeCacheError {
      throw e
    } catch {
      throw JudgeCacheError.unwritable(path: url.path, reason: "\(error.localizedDescription)")
    }
  }

  deinit { try? handle.close() }

  /// Answers held (loaded plus stored in this run).
  public var count: Int {
    lock.lock()
    defer { lock.unlock() }
    return answers.count
  }

  /// The cache key of a request body: two XXH64 (seeds 0 and 1) as 32 hex digits.
  public static func key(_ body: Data) -> String {
    XXH64.hex(XXH64.hash(body, seed: 0)) + XXH64.hex(XXH64.hash(body, seed: 1))
  }

  /// The stored answer for `key`, if it was given by `model` (a hash collision across models is refused).
  public func answer(for key: String, model: String) -> String? {
    lock.lock()
    defer { lock.unlock() }
    guard let r = answers[key], r.model == model else { return nil }
    return r.answer
  }

  /// Appends one answer as a single write of one line, so a kill leaves at most that line torn.
  public func store(key: String, model: String, answer: String) throws {
    let r = Record(key: key, model: model, answer: answer)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    var line = try encoder.encode(r)
    line.append(UInt8(ascii: "\n"))
    lock.lock()
    defer { lock.unlock() }
    do { try handle.write(contentsOf: line) } catch {
      throw JudgeCacheError.unwritable(path: url.path, reason: "\(error.localizedDescription)")
    }
    answers[key] = r
  }
}

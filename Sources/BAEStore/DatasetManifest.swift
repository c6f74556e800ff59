// manifest.json: the table of contents of a dataset directory. Written last by the packer, so a
// directory with a manifest is complete.
import BAEIO
import Foundation

/// One shard as listed in the manifest.
public struct ShardEntry: Codable, Equatable, Sendable {
  /// File name inside the dataset directory, e.g. "shard_000000.baes".
  public var file: String
  /// Rows stored in this shard (a multiple of the dataset's rows per frame except in the last shard).
  public var rows: Int
  /// File size in bytes.
  public var bytes: Int
  /// Content hash of the file: XXH64 of its bytes, 16 hex digits, as `xxhsum -H64` prints it.
  public var xxh64: String
  /// Token sidecar file name, if the dataset has tokens.
  public var tokens: String?
  /// Content hash of the token sidecar.
  public var tokensXXH64: String?
}

/// The dataset manifest (`manifest.json`).
public struct DatasetManifest: Codable, Equatable, Sendable {
  /// The manifest's file name inside a dataset directory.
  public static let fileName = "manifest.json"
  /// The value of `format`, which marks a JSON file as a dataset manifest.
  public static let formatName = "bae-dataset"
  /// 2: content hashes are plain XXH64 of the file (version 1 hashed 8 MiB chunks).
  public static let currentVersion = 2

  /// Always "bae-dataset".
  public var format: String
  /// Manifest version; readers refuse any other than `currentVersion` and name `bae pack` as the fix.
  public var version: Int
  /// Element type of every shard (f32, f16 or bf16).
  public var dtype: StoreDType
  /// Width d of a row (elements per activation vector).
  public var inputDim: Int
  /// Total rows over all shards.
  public var rows: Int
  /// Rows per compressed frame, the same in every shard.
  public var rowsPerFrame: Int
  /// Whether frames are byte-shuffled.
  public var shuffled: Bool
  /// Source metadata, copied into every shard header.
  public var source: [String: String]
  /// The shards in row order: shard i holds the rows after those of shards 0..<i.
  public var shards: [ShardEntry]

  /// A current-version manifest whose total `rows` is the sum of the shards' rows.
  public init(
    dtype: StoreDType, inputDim: Int, rowsPerFrame: Int, shuffled: Bool, source: [String: String],
    shards: [ShardEntry]
  ) {
    format = DatasetManifest.formatName
    version = DatasetManifest.currentVersion
    self.dtype = dtype
    self.inputDim = inputDim
    self.rows = shards.reduce(0) { $0 + $1.rows }
    self.rowsPerFrame = rowsPerFrame
    self.shuffled = shuffled
    self.source = source
    self.shards = shards
  }

  /// Reads and checks `dir/manifest.json` (format, version, counts, file names; not the shards).
  /// Shard and token names must be plain names inside the directory (no `/`, not `.` or `..`), the
  /// row counts must add up without overflowing, and the file is read through the funnel (a FIFO
  /// is refused, the size is capped by `Limits.manifestBytes()`).
  public static func read(directory dir: URL) throws -> DatasetManifest {
    let url = dir.appendingPathComponent(fileName)
    let file = url.path
    guard FileManager.default.fileExists(atPath: file) else {
      throw StoreError.badManifest(
        file: file, detail: "no manifest.json in \(dir.path) (is this a dataset made by `bae pack`?)")
    }
    let bytes: [UInt8] = try StoreError.mapping {
      let f = try ReadableFile(url)
      let cap = try Limits.manifestBytes()
      guard f.size <= cap else {
        throw BAEIOError.limitExceeded(
          path: file, field: "size", found: f.size, limit: cap, variable: "BAE_MAX_MANIFEST_BYTES")
      }
      return try f.bytes(at: 0, count: f.size)
    }
    let m: DatasetManifest
    do { m = try JSONDecoder().decode(DatasetManifest.self, from: Data(bytes)) } catch {
      throw StoreError.badManifest(file: file, detail: "not valid manifest JSON (\(error))")
    }
    guard m.format == formatName else {
      throw StoreError.badManifest(file: file, detail: "format is \"\(m.format)\", expected \"\(formatName)\"")
    }
    guard m.version == currentVersion else {
      let hint =
        m.version == 1
        ? " (version 1 hashed files in chunks; re-run `bae pack` to write plain XXH64 content hashes)" : ""
      throw StoreError.badManifest(
        file: file, detail: "version \(m.version) is not supported (this build reads \(currentVersion))\(hint)")
    }
    guard m.inputDim >= 1, m.rowsPerFrame >= 1, !m.shards.isEmpty else {
      throw StoreError.badManifest(
        file: file, detail: "inputDim \(m.inputDim), rowsPerFrame \(m.rowsPerFrame), \(m.shards.count) shards")
    }
    for (i, e) in m.shards.enumerated() {
      for (field, name) in [("file", e.file), ("tokens", e.tokens)] {
        guard let name, !isPlainName(name) else { continue }
        throw StoreError.badManifest(
          file: file,
          detail: "shards[\(i)].\(field) \(name.debugDescription) is not a plain file name inside the dataset directory"
        )
      }
      guard e.rows >= 0 else { throw StoreError.badManifest(file: file, detail: "shards[\(i)].rows is \(e.rows)") }
    }
    guard let total = checkedRowSum(m.shards), total == m.rows else {
      throw StoreError.badManifest(
        file: file, detail: "shard row counts do not add up to rows \(m.rows) (or their sum overflows)")
    }
    guard !m.rows.multipliedReportingOverflow(by: m.inputDim).overflow,
      !(m.rows * m.inputDim).multipliedReportingOverflow(by: 4).overflow
    else {
      throw StoreError.badManifest(
        file: file, detail: "rows \(m.rows) x inputDim \(m.inputDim) floats overflow a 64-bit size")
    }
    return m
  }

  /// The sum of the shards' rows, or nil if it overflows Int.
  static func checkedRowSum(_ shards: [ShardEntry]) -> Int? {
    var total = 0
    for e in shards {
      let (sum, overflow) = total.addingReportingOverflow(e.rows)
      if overflow { return nil }
      total = sum
    }
    return total
  }

  /// A name that stays inside the directory it is joined to: non-empty, no `/` or NUL, not `.` or `..`.
  static func isPlainName(_ name: String) -> Bool {
    !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\0")
  }

  /// Encoded as pretty, key-sorted JSON.
  public func encoded() -> Data {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    return (try? enc.encode(self)) ?? Data()
  }
}

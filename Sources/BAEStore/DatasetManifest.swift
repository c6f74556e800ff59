// manifest.json: the table of contents of a dataset directory. Written last by the packer, so a
// directory with a manifest is complete.
import Foundation

/// One shard as listed in the manifest.
public struct ShardEntry: Codable, Equatable, Sendable {
  /// File name inside the dataset directory, e.g. "shard_000000.baes".
  public var file: String
  public var rows: Int
  /// File size in bytes.
  public var bytes: Int
  /// Content hash of the file (chunked XXH64, 16 hex digits; see FileFormats.md).
  public var xxh64: String
  /// Token sidecar file name, if the dataset has tokens.
  public var tokens: String?
  /// Content hash of the token sidecar.
  public var tokensXXH64: String?
}

/// The dataset manifest (`manifest.json`).
public struct DatasetManifest: Codable, Equatable, Sendable {
  public static let fileName = "manifest.json"
  public static let formatName = "bae-dataset"
  public static let currentVersion = 1

  /// Always "bae-dataset".
  public var format: String
  public var version: Int
  public var dtype: StoreDType
  public var inputDim: Int
  /// Total rows over all shards.
  public var rows: Int
  public var rowsPerFrame: Int
  /// Whether frames are byte-shuffled.
  public var shuffled: Bool
  /// Source metadata, copied into every shard header.
  public var source: [String: String]
  public var shards: [ShardEntry]

  public init(dtype: StoreDType, inputDim: Int, rowsPerFrame: Int, shuffled: Bool, source: [String: String],
              shards: [ShardEntry]) {
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

  /// Reads and checks `dir/manifest.json` (format, version, counts; not the shards).
  public static func read(directory dir: URL) throws -> DatasetManifest {
    let url = dir.appendingPathComponent(fileName)
    let file = url.path
    guard FileManager.default.fileExists(atPath: file) else {
      throw StoreError.badManifest(file: file, detail: "no manifest.json in \(dir.path) (is this a dataset made by `bae pack`?)")
    }
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
      throw StoreError.io(file: file, operation: "read", reason: error.localizedDescription)
    }
    let m: DatasetManifest
    do { m = try JSONDecoder().decode(DatasetManifest.self, from: data) } catch {
      throw StoreError.badManifest(file: file, detail: "not valid manifest JSON (\(error))")
    }
    guard m.format == formatName else { throw StoreError.badManifest(file: file, detail: "format is \"\(m.format)\", expected \"\(formatName)\"") }
    guard m.version == currentVersion else {
      throw StoreError.badManifest(file: file, detail: "version \(m.version) is not supported (this build reads \(currentVersion))")
    }
    guard m.inputDim >= 1, m.rowsPerFrame >= 1, !m.shards.isEmpty else {
      throw StoreError.badManifest(file: file, detail: "inputDim \(m.inputDim), rowsPerFrame \(m.rowsPerFrame), \(m.shards.count) shards")
    }
    guard m.shards.allSatisfy({ $0.rows >= 0 && !$0.file.contains("/") }), m.shards.reduce(0, { $0 + $1.rows }) == m.rows else {
      throw StoreError.badManifest(file: file, detail: "shard row counts do not add up to rows \(m.rows) (or a shard name contains '/')")
    }
    return m
  }

  /// Encoded as pretty, key-sorted JSON.
  public func encoded() -> Data {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    return (try? enc.encode(self)) ?? Data()
  }
}

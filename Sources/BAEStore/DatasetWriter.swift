// Builds a dataset directory shard by shard; the manifest is written last, so an interrupted pack
// leaves no manifest and cannot be mistaken for a complete dataset.
import BAEIO
import Foundation

/// Writes `shard_000000.baes`, `shard_000000.tokens.tsv`, ... and finally `manifest.json`.
public final class DatasetWriter {
  /// The dataset directory being written.
  public let directory: URL
  /// Width d of every row.
  public let inputDim: Int
  /// Element type, rows per frame, byte shuffle and zstd level of every shard.
  public let options: ShardOptions
  /// Metadata (model, layer, ...) recorded in the manifest and every shard header.
  public let source: [String: String]
  private var shards: [ShardEntry] = []
  private var finished = false

  /// Creates `directory` if needed and removes a previous manifest there (the dataset is incomplete
  /// until `finish`).
  public init(directory: URL, inputDim: Int, options: ShardOptions, source: [String: String]) throws {
    precondition(inputDim > 0, "inputDim \(inputDim) must be > 0")
    self.directory = directory
    self.inputDim = inputDim
    self.options = options
    self.source = source
    let fm = FileManager.default
    do {
      try fm.createDirectory(at: directory, withIntermediateDirectories: true)
      let manifest = directory.appendingPathComponent(DatasetManifest.fileName)
      if fm.fileExists(atPath: manifest.path) { try fm.removeItem(at: manifest) }
    } catch {
      throw StoreError.io(
        file: directory.path, operation: "create the dataset directory", reason: error.localizedDescription)
    }
  }

  /// Shard file name for index `i` (zero-padded, sorts in order).
  public static func shardName(_ i: Int) -> String {
    let s = String(i)
    return "shard_" + String(repeating: "0", count: max(0, 6 - s.count)) + s + ".baes"
  }

  /// Compresses and writes one shard of `rows` (n·inputDim floats) and, if given, its token sidecar
  /// (exactly n records).
  public func appendShard(_ rows: UnsafeBufferPointer<Float>, tokens: ArraySlice<TokenRecord>?) throws {
    precondition(!finished, "appendShard after finish")
    precondition(rows.count % inputDim == 0, "rows.count \(rows.count) not a multiple of inputDim \(inputDim)")
    let n = rows.count / inputDim
    if let t = tokens { precondition(t.count == n, "\(t.count) token records for \(n) rows") }
    let name = DatasetWriter.shardName(shards.count)
    let url = directory.appendingPathComponent(name)
    try ShardWriter.write(rows, inputDim: inputDim, options: options, metadata: source, to: url)
    let shard = try ShardFile(url: url)
    var entry = ShardEntry(
      file: name, rows: n, bytes: shard.fileSize, xxh64: XXH64.hex(try shard.contentHash()),
      tokens: nil, tokensXXH64: nil)
    if let t = tokens {
      let tname = name.replacingOccurrences(of: ".baes", with: ".tokens.tsv")
      let turl = directory.appendingPathComponent(tname)
      try TokenTable.write(t, to: turl)
      entry.tokens = tname
      entry.tokensXXH64 = XXH64.hex(try contentHash(of: turl))
    }
    shards.append(entry)
  }

  /// Removes the shard and token files written so far (a refused pack leaves nothing behind).
  public func abandon() {
    precondition(!finished, "abandon after finish")
    finished = true
    for e in shards {
      for name in [e.file, e.tokens].compactMap({ $0 }) {
        try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
      }
    }
    shards = []
  }

  /// Writes manifest.json atomically and returns it; `extraSource` is added to the manifest's
  /// source map only (facts known at the end, such as rows the packer dropped).
  @discardableResult
  public func finish(extraSource: [String: String] = [:]) throws -> DatasetManifest {
    precondition(!shards.isEmpty, "finish with no shards")
    finished = true
    let m = DatasetManifest(
      dtype: options.dtype, inputDim: inputDim, rowsPerFrame: options.rowsPerFrame,
      shuffled: options.shuffle, source: source.merging(extraSource) { $1 }, shards: shards)
    let url = directory.appendingPathComponent(DatasetManifest.fileName)
    do { try AtomicFile.write(m.encoded(), to: url) } catch {
      throw StoreError.io(file: url.path, operation: "write", reason: "\(error)")
    }
    return m
  }
}

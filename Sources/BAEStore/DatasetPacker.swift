// `bae pack` as a library call: reads a .npy or a safetensors tensor shard by shard, plus an optional
// tokens TSV, and writes a dataset. Reports progress through a callback (library code never prints).
import BAEIO
import Foundation

/// Converts activation files into datasets.
public enum DatasetPacker {
  /// What to pack and how.
  public struct Request: Sendable {
    /// A 2-D `.npy` (float32/float16) or a `.safetensors` file.
    public var input: URL
    /// Tensor name inside a safetensors file (required there; must be 2-D, F32/F16/BF16).
    public var tensor: String?
    /// Optional tokens TSV with one line per row.
    public var tokens: URL?
    public var options: ShardOptions
    /// Rows per shard file; rounded down to a multiple of rowsPerFrame so frames align with shards.
    public var rowsPerShard: Int
    public var output: URL
    /// Extra source metadata (model, layer, preprocessing, ...).
    public var source: [String: String]

    public init(input: URL, tensor: String? = nil, tokens: URL? = nil, options: ShardOptions, rowsPerShard: Int,
                output: URL, source: [String: String] = [:]) {
      self.input = input
      self.tensor = tensor
      self.tokens = tokens
      self.options = options
      self.rowsPerShard = rowsPerShard
      self.output = output
      self.source = source
    }
  }

  /// Packs `request`; `progress(rowsDone, rowsTotal)` is called after each shard.
  @discardableResult
  public static func pack(_ request: Request, progress: (Int, Int) -> Void = { _, _ in }) throws -> DatasetManifest {
    let path = request.input.path
    let rpf = request.options.rowsPerFrame
    guard request.rowsPerShard >= rpf else {
      throw StoreError.badInput(file: path, detail: "rows per shard \(request.rowsPerShard) is less than rows per frame \(rpf); raise --rows-per-shard")
    }
    let perShard = request.rowsPerShard / rpf * rpf
    var source = request.source
    source["input"] = request.input.lastPathComponent

    // rows: (rowCount, inputDim) and a reader of row ranges.
    let rowCount: Int, inputDim: Int
    let readRows: (Range<Int>) throws -> [Float]
    switch request.input.pathExtension.lowercased() {
    case "npy":
      let h = try Npy.readHeader(request.input)
      guard h.shape.count == 2, h.shape[1] > 0 else {
        throw StoreError.badInput(file: path, detail: "shape \(h.shape) is not 2-D (rows, inputDim); reshape to (tokens, width) before saving")
      }
      (rowCount, inputDim) = (h.shape[0], h.shape[1])
      source["inputDType"] = h.dtype.rawValue
      readRows = { try Npy.readRows(request.input, rows: $0).values }
    case "safetensors":
      let f = try SafeTensorsFile(contentsOf: request.input)
      guard let name = request.tensor else {
        throw StoreError.badInput(file: path, detail: "a safetensors input needs --tensor NAME (tensors: \(f.tensors.keys.sorted().joined(separator: ", ")))")
      }
      let info = try f.info(name)
      guard info.shape.count == 2, info.shape[1] > 0 else {
        throw StoreError.badInput(file: path, detail: "tensor \(name) has shape \(info.shape), need 2-D (rows, inputDim)")
      }
      (rowCount, inputDim) = (info.shape[0], info.shape[1])
      source["tensor"] = name
      source["inputDType"] = info.dtype.rawValue
      for (k, v) in f.metadata where source[k] == nil { source[k] = v }
      let all = try f.floats(name)
      readRows = { Array(all[($0.lowerBound * inputDim)..<($0.upperBound * inputDim)]) }
    default:
      throw StoreError.badInput(file: path, detail: "unknown input type; pass a .npy or a .safetensors file")
    }
    guard rowCount > 0 else { throw StoreError.badInput(file: path, detail: "has 0 rows") }

    var tokens: [TokenRecord]?
    if let t = request.tokens {
      let recs = try TokenTable.read(t)
      guard recs.count == rowCount else {
        throw StoreError.badTokens(file: t.path, line: recs.count + 1, detail: "\(recs.count) token lines but \(path) has \(rowCount) rows")
      }
      tokens = recs
    }

    let writer = try DatasetWriter(directory: request.output, inputDim: inputDim, options: request.options, source: source)
    var lo = 0
    while lo < rowCount {
      let hi = min(rowCount, lo + perShard)
      let values = try readRows(lo..<hi)
      try values.withUnsafeBufferPointer { try writer.appendShard($0, tokens: tokens?[lo..<hi]) }
      lo = hi
      progress(lo, rowCount)
    }
    return try writer.finish()
  }
}

// `bae pack` as a library call: reads a .npy or a safetensors tensor shard by shard (only one
// shard's activation rows are in memory; an optional tokens TSV is read whole) and writes a dataset.
// Rows holding NaN or infinity are refused, or dropped with their token lines when asked. Reports
// progress through a callback (library code never prints).
import BAEIO
import Foundation

/// Converts activation files into datasets.
public enum DatasetPacker {
  /// What to pack and how.
  public struct Request: Sendable {
    /// A 2-D `.npy` (float32/float16) or a `.safetensors` file.
    public var input: URL
    /// Tensor name inside a safetensors file (2-D, F32/F16/BF16); may be omitted when the file
    /// holds exactly one tensor.
    public var tensor: String?
    /// Optional tokens TSV with one line per row.
    public var tokens: URL?
    /// Element type, rows per frame, byte shuffle and zstd level of the written shards.
    public var options: ShardOptions
    /// Rows per shard file; rounded down to a multiple of rowsPerFrame so frames align with shards.
    public var rowsPerShard: Int
    /// Output dataset directory (created if missing; a manifest already there is replaced).
    public var output: URL
    /// Extra source metadata (model, layer, preprocessing, ...).
    public var source: [String: String]
    /// Drop rows holding NaN/±infinity (and their token lines) instead of refusing the input.
    public var skipNonFinite: Bool

    /// A request with no tokens, no extra metadata, and non-finite rows refused.
    public init(
      input: URL, tensor: String? = nil, tokens: URL? = nil, options: ShardOptions, rowsPerShard: Int,
      output: URL, source: [String: String] = [:], skipNonFinite: Bool = false
    ) {
      self.input = input
      self.tensor = tensor
      self.tokens = tokens
      self.options = options
      self.rowsPerShard = rowsPerShard
      self.output = output
      self.source = source
      self.skipNonFinite = skipNonFinite
    }
  }

  /// The manifest key that records rows dropped by `skipNonFinite` ("COUNT rows, first FIRST").
  public static let skippedSourceKey = "skippedNonFiniteRows"

  /// Packs `request`; `progress(rowsDone, rowsTotal)` is called after each shard. Throws
  /// `.nonFiniteRows` (count and first row, nothing left on disk) when the input holds NaN/Inf
  /// rows and `skipNonFinite` is off.
  @discardableResult
  public static func pack(_ request: Request, progress: (Int, Int) -> Void = { _, _ in }) throws -> DatasetManifest {
    let path = request.input.path
    let rpf = request.options.rowsPerFrame
    guard request.rowsPerShard >= rpf else {
      throw StoreError.badInput(
        file: path,
        detail: "rows per shard \(request.rowsPerShard) is less than rows per frame \(rpf); raise --rows-per-shard")
    }
    let perShard = request.rowsPerShard / rpf * rpf
    var source = request.source
    source["input"] = request.input.lastPathComponent
    let input = try open(request, source: &source)
    let (rowCount, inputDim) = (input.rowCount, input.inputDim)
    guard rowCount > 0 else { throw StoreError.badInput(file: path, detail: "has 0 rows") }
    try checkFrameSize(rowsPerFrame: rpf, inputDim: inputDim, dtype: request.options.dtype, file: path)

    var tokens: [TokenRecord]?
    if let t = request.tokens {
      let recs = try TokenTable.read(t)
      guard recs.count == rowCount else {
        throw StoreError.badTokens(
          file: t.path, line: recs.count + 1, detail: "\(recs.count) token lines but \(path) has \(rowCount) rows")
      }
      tokens = recs
    }

    let writer = try DatasetWriter(
      directory: request.output, inputDim: inputDim, options: request.options, source: source)
    var skipped = 0, firstSkipped = -1
    var lo = 0
    while lo < rowCount {
      let hi = min(rowCount, lo + perShard)
      var values = try StoreError.mapping { try input.read(lo..<hi) }
      let bad = nonFiniteRows(values, inputDim: inputDim)
      if let first = bad.first {
        if firstSkipped < 0 { firstSkipped = lo + first }
        skipped += bad.count
      }
      if skipped > 0 && !request.skipNonFinite {
        lo = hi  // refused: only count the rest, write nothing more
        continue
      }
      var shardTokens = tokens.map { Array($0[lo..<hi]) }
      if !bad.isEmpty {
        let badSet = Set(bad)
        let kept = (0..<(hi - lo)).filter { !badSet.contains($0) }
        values = kept.flatMap { values[($0 * inputDim)..<(($0 + 1) * inputDim)] }
        shardTokens = shardTokens.map { t in kept.map { t[$0] } }
      }
      if !values.isEmpty {
        try values.withUnsafeBufferPointer { try writer.appendShard($0, tokens: shardTokens?[...]) }
      }
      lo = hi
      progress(lo, rowCount)
    }
    if skipped > 0 && !request.skipNonFinite {
      writer.abandon()
      throw StoreError.nonFiniteRows(file: path, count: skipped, firstRow: firstSkipped)
    }
    guard skipped < rowCount else {
      writer.abandon()
      throw StoreError.badInput(
        file: path, detail: "every one of its \(rowCount) rows holds NaN or infinity; nothing to pack")
    }
    return try writer.finish(
      extraSource: skipped > 0 ? [skippedSourceKey: "\(skipped) rows, first \(firstSkipped)"] : [:])
  }

  /// Row-range access to the input tensor.
  private struct Input {
    var rowCount: Int
    var inputDim: Int
    var read: (Range<Int>) throws -> [Float]
  }

  private static func open(_ request: Request, source: inout [String: String]) throws -> Input {
    let path = request.input.path
    switch request.input.pathExtension.lowercased() {
    case "npy":
      let url = request.input
      let h = try Npy.readHeader(url)
      guard h.shape.count == 2, h.shape[1] > 0 else {
        throw StoreError.badInput(
          file: path, detail: "shape \(h.shape) is not 2-D (rows, inputDim); reshape to (tokens, width) before saving")
      }
      source["inputDType"] = h.dtype.rawValue
      return Input(rowCount: h.shape[0], inputDim: h.shape[1]) { try Npy.readRows(url, rows: $0).values }
    case "safetensors":
      let f = try SafeTensorsFile(contentsOf: request.input)
      let names = f.tensors.keys.sorted()
      guard let name = request.tensor ?? (names.count == 1 ? names[0] : nil) else {
        throw StoreError.badInput(
          file: path,
          detail:
            "holds \(names.count) tensors; choose one with --tensor NAME (tensors: \(names.joined(separator: ", ")))")
      }
      let info = try f.info(name)
      guard info.shape.count == 2, info.shape[1] > 0 else {
        throw StoreError.badInput(
          file: path, detail: "tensor \(name) has shape \(info.shape), need 2-D (rows, inputDim)")
      }
      source["tensor"] = name
      source["inputDType"] = info.dtype.rawValue
      for (k, v) in f.metadata where source[k] == nil { source[k] = v }
      return Input(rowCount: info.shape[0], inputDim: info.shape[1]) { try f.floats(name, rows: $0) }
    default:
      throw StoreError.badInput(file: path, detail: "unknown input type; pass a .npy or a .safetensors file")
    }
  }

  /// Refuses frames that readers would refuse (`Limits.frameBytes()`), before anything is written.
  static func checkFrameSize(rowsPerFrame: Int, inputDim: Int, dtype: StoreDType, file: String) throws {
    let cap = try StoreError.mapping { try Limits.frameBytes() }
    let (bytes, overflow) = rowsPerFrame.multipliedReportingOverflow(by: inputDim * dtype.size)
    guard !overflow, bytes <= cap else {
      throw StoreError.limitExceeded(
        file: file,
        field: "decoded frame size (rows per frame \(rowsPerFrame) x inputDim \(inputDim) x \(dtype.size) bytes)",
        found: overflow ? Int.max : bytes, limit: cap, variable: "BAE_MAX_FRAME_BYTES")
    }
  }

  /// Indices (within `values`) of the rows holding a NaN or an infinity.
  static func nonFiniteRows(_ values: [Float], inputDim: Int) -> [Int] {
    var bad: [Int] = []
    values.withUnsafeBufferPointer { v in
      for r in 0..<(v.count / inputDim) {
        var finite = true
        for j in (r * inputDim)..<((r + 1) * inputDim) where !v[j].isFinite {
          finite = false
          break
        }
        if !finite { bad.append(r) }
      }
    }
    return bad
  }
}

// How widely shuffled batches of a packed dataset mix (Documentation/ActivationStore.md, "Mixing"):
// the window the sampler shuffles within, what gathering it costs a reader, and the measured
// mixing of a sampler's epoch against a uniform permutation of the same rows.
import Foundation

/// The shuffling-window policy of packed datasets and the reader's gather budget.
public enum BatchMixing {
  /// Rows per shuffling window of a packed dataset (rounded down to whole frames): 2^20 rows, so a
  /// batch of 512 is a uniform sample of ~4096 random frames; a train split this small or smaller is
  /// one window, i.e. an exact uniform permutation. Part of the batch sequence (the trajectory).
  public static let defaultWindowRows = 1 << 20

  /// Bytes of decoded rows a reader holds at a time (its gather buffer), per reader. Not part of the
  /// trajectory: a smaller budget only makes the reader decode a window's frames more than once.
  public static let defaultGatherBytes = 512 << 20

  /// The window of the sampler before mixing was widened: 8 frames. `.npy` inputs (blocks of one
  /// row) keep it, so their batch sequence is unchanged (any window is uniform for one-row blocks).
  public static let legacyWindowBlocks = 8

  /// Blocks per shuffling window for a source with `rowsPerBlock` rows per block: `windowRows`
  /// rounded down to whole blocks (at least one), or the legacy 8 for one-row blocks (in memory).
  public static func windowBlocks(rowsPerBlock: Int, windowRows: Int = defaultWindowRows) -> Int {
    precondition(
      rowsPerBlock > 0 && windowRows > 0, "rowsPerBlock \(rowsPerBlock), windowRows \(windowRows) must be > 0")
    if rowsPerBlock == 1 { return legacyWindowBlocks }
    return max(1, windowRows / rowsPerBlock)
  }

  /// Global batches a reader gathers in one pass within `gatherBytes` of decoded rows: at least one.
  public static func gatherBatches(localBatch: Int, inputDim: Int, gatherBytes: Int = defaultGatherBytes) -> Int {
    let bytesPerBatch = max(1, localBatch) * inputDim * MemoryLayout<Float>.size
    return max(1, gatherBytes / bytesPerBatch)
  }
}

/// The mixing of a sampler's epoch against a uniform permutation of the same rows (`bae inspect
/// --batch-mixing`). Documents come from the token sidecar: ratios near 1 mean uniform-like batches.
public struct BatchMixingReport: Codable, Equatable, Sendable {
  /// Rows the sampler draws from (the train split).
  public var rows: Int
  /// Rows per global minibatch (summed over all ranks).
  public var globalBatch: Int
  /// Batches measured: the sampler's first epoch.
  public var batches: Int
  /// Documents with at least one row among `rows`.
  public var documents: Int
  /// The sampler seed the report was measured with.
  public var seed: UInt64
  /// Row order measured (`sequential` or `shuffled`).
  public var order: BatchOrder
  /// Rows per block of the sampler's two-level permutation (the dataset's rows per frame).
  public var rowsPerBlock: Int
  /// Blocks per shuffling window: `windowBlocks · rowsPerBlock` rows are mixed together.
  public var windowBlocks: Int
  /// Mean distinct documents per batch.
  public var meanDistinctDocuments: Double
  /// E[distinct documents] in a uniform B-subset of the rows: Σ_docs 1 − C(N − s, B)/C(N, B).
  public var uniformDistinctDocuments: Double
  /// meanDistinctDocuments / uniformDistinctDocuments (1 = mixed like a uniform shuffle).
  public var mixingRatio: Double
  /// Fraction of the row pairs of a batch that share a document, averaged over batches.
  public var sameDocumentPairRate: Double
  /// The same under a uniform shuffle: Σ s(s − 1) / (N(N − 1)).
  public var uniformSameDocumentPairRate: Double
  /// sameDocumentPairRate / uniformSameDocumentPairRate (1 = uniform; larger = clumped).
  public var pairRateRatio: Double

  enum CodingKeys: String, CodingKey {
    case rows
    case globalBatch = "global_batch"
    case batches, documents, seed, order
    case rowsPerBlock = "rows_per_block"
    case windowBlocks = "window_blocks"
    case meanDistinctDocuments = "mean_distinct_documents"
    case uniformDistinctDocuments = "uniform_distinct_documents"
    case mixingRatio = "mixing_ratio"
    case sameDocumentPairRate = "same_document_pair_rate"
    case uniformSameDocumentPairRate = "uniform_same_document_pair_rate"
    case pairRateRatio = "pair_rate_ratio"
  }

  /// Measures `sampler`'s first epoch (from state (0, 0), whatever its state) over `documents`,
  /// the document index of every dataset row (`documents[r]` for each r in sampler.rows).
  public static func measure(sampler: GlobalBatchSampler, documents: [Int32]) -> BatchMixingReport {
    precondition(
      sampler.rows.upperBound <= documents.count,
      "sampler rows \(sampler.rows) exceed the \(documents.count) document labels")
    var s = sampler
    s.state = SamplerState(epoch: 0, batchInEpoch: 0)
    let b = s.globalBatch
    // Relabel the documents of the rows densely so per-batch counts live in one flat array.
    var dense: [Int32: Int] = [:]
    var label = [Int](repeating: 0, count: s.rows.count)
    var sizes: [Int] = []
    for (i, r) in s.rows.enumerated() {
      let doc = documents[r]
      if let k = dense[doc] {
        label[i] = k
        sizes[k] += 1
      } else {
        dense[doc] = sizes.count
        label[i] = sizes.count
        sizes.append(1)
      }
    }
    var count = [Int](repeating: 0, count: sizes.count)
    var distinctSum = 0.0, pairSum = 0.0
    let pairsPerBatch = Double(b) * Double(b - 1) / 2
    for _ in 0..<s.batchesPerEpoch {
      let batch = s.nextGlobalBatch()
      var distinct = 0, pairs = 0
      for r in batch {
        let k = label[r - s.rows.lowerBound]
        pairs += count[k]  // pairs this row forms with earlier rows of its document
        if count[k] == 0 { distinct += 1 }
        count[k] += 1
      }
      for r in batch { count[label[r - s.rows.lowerBound]] = 0 }
      distinctSum += Double(distinct)
      pairSum += b > 1 ? Double(pairs) / pairsPerBatch : 0
    }
    let n = s.rows.count
    let batches = Double(s.batchesPerEpoch)
    let uniformDistinct = sizes.reduce(0.0) { $0 + 1 - missProbability(rows: n, batch: b, documentRows: $1) }
    let uniformPairs = n > 1 ? sizes.reduce(0.0) { $0 + Double($1) * Double($1 - 1) } / (Double(n) * Double(n - 1)) : 0
    let meanDistinct = distinctSum / batches, pairRate = pairSum / batches
    return BatchMixingReport(
      rows: n, globalBatch: b, batches: s.batchesPerEpoch, documents: sizes.count, seed: s.seed, order: s.order,
      rowsPerBlock: s.blockRows, windowBlocks: s.windowBlocks, meanDistinctDocuments: meanDistinct,
      uniformDistinctDocuments: uniformDistinct, mixingRatio: meanDistinct / uniformDistinct,
      sameDocumentPairRate: pairRate, uniformSameDocumentPairRate: uniformPairs,
      pairRateRatio: uniformPairs > 0 ? pairRate / uniformPairs : 1)
  }

  /// C(N − s, B) / C(N, B): the chance that a uniform B-subset of N rows misses all s rows of a
  /// document, as the product Π_{i<s} (N − B − i)/(N − i) (each factor in [0, 1], so no overflow).
  static func missProbability(rows n: Int, batch b: Int, documentRows s: Int) -> Double {
    var p = 1.0
    for i in 0..<s {
      let num = n - b - i
      if num <= 0 { return 0 }
      p *= Double(num) / Double(n - i)
      if p < 1e-300 { return 0 }
    }
    return p
  }

  /// The document index of every row from a dataset's token sidecars (in shard order): a row starts a
  /// new document when its document_id differs from the previous row's or its position is 0.
  /// Throws if the dataset has no sidecars or their lines do not match the row count.
  public static func documents(ofDataset dir: URL) throws -> [Int32] {
    let m = try DatasetManifest.read(directory: dir)
    let manifestPath = dir.appendingPathComponent(DatasetManifest.fileName).path
    var out: [Int32] = []
    out.reserveCapacity(m.rows)
    var previous: Int?
    var index: Int32 = -1
    for shard in m.shards {
      guard let name = shard.tokens else {
        throw StoreError.badManifest(
          file: manifestPath,
          detail: "shard \(shard.file) has no tokens sidecar, so rows have no documents; re-pack with --tokens")
      }
      let url = dir.appendingPathComponent(name)
      let records = try TokenTable.read(url)
      guard records.count == shard.rows else {
        throw StoreError.badTokens(
          file: url.path, line: records.count + 1,
          detail: "\(records.count) token lines but shard \(shard.file) has \(shard.rows) rows")
      }
      for t in records {
        if t.documentId != previous || t.position == 0 { index += 1 }
        previous = t.documentId
        out.append(index)
      }
    }
    return out
  }
}

// Entropy against token position (spec §7, "one BAE per token position"): K BAEs, one per position
// bucket, trained in one distributed run. Every round each trained bucket draws one global batch of
// exactly bucketBatch rows from its own rows (a uniform shuffle per epoch, seeded), each rank reads its
// slice, and the bucket's model takes one exact global step (spec §6). So every bucket gets the same
// number of steps of the same size, whatever its share of the data; then Ĥ is measured per bucket on
// the same number of rows.
import BAEModel
import BAEStore
import BAETensor
import BAETrain
import Foundation

/// Position buckets [edges[b], edges[b+1]), the last one open-ended.
public struct PositionBuckets: Codable, Sendable, Equatable {
  public let edges: [Int]

  public init(edges: [Int]) {
    precondition(
      !edges.isEmpty && zip(edges, edges.dropFirst()).allSatisfy { $0 < $1 } && edges[0] >= 0,
      "bucket edges \(edges) must be non-empty, increasing, >= 0")
    self.edges = edges
  }

  /// `start`, then the powers of two above it up to `maxPosition` (0, 1, 2, 4, … or 1, 2, 4, …):
  /// no bucket is empty by construction, the last one holds `maxPosition`.
  public static func powersOfTwo(from start: Int = 0, upTo maxPosition: Int) -> PositionBuckets {
    var e = [start]
    var x = 1
    while x <= start { x *= 2 }
    while x <= maxPosition {
      e.append(x)
      x *= 2
    }
    return PositionBuckets(edges: e)
  }

  public var count: Int { edges.count }

  /// The bucket of `position`, or nil below the first edge.
  public func bucket(of position: Int) -> Int? {
    guard position >= edges[0] else { return nil }
    var lo = 0, hi = edges.count
    while hi - lo > 1 {
      let mid = (lo + hi) / 2
      if edges[mid] <= position { lo = mid } else { hi = mid }
    }
    return lo
  }

  /// "[lo, hi)" or "[lo, ∞)".
  public func label(_ b: Int) -> String { b + 1 < edges.count ? "[\(edges[b]), \(edges[b + 1]))" : "[\(edges[b]), ∞)" }
}

/// Settings of a per-position run.
public struct PositionEntropyOptions: Sendable {
  public var buckets: PositionBuckets
  /// Model settings shared by every bucket's BAE (latentDim, loss weights, lr, estimator, seed …);
  /// `data`, `steps`, `batchSize` are ignored here.
  public var model: TrainConfig
  /// Optimizer steps of every bucket's BAE (equal for all buckets).
  public var steps = 1000
  /// Rows (over all ranks) of every step of every bucket.
  public var bucketBatch = 512
  /// Rows per bucket for the entropy estimate, evenly spaced over the bucket (0 = the smallest trained
  /// bucket's row count, so the estimates are comparable: Ĥ of a finite set grows with its size).
  /// Buckets with fewer rows than `bucketBatch` are not trained.
  public var evalRows = 0
  public init(buckets: PositionBuckets, model: TrainConfig) {
    self.buckets = buckets
    self.model = model
  }
}

/// One point of the curve.
public struct PositionBucketResult: Codable, Sendable {
  public var bucket: Int
  public var label: String
  public var lowerPosition: Int
  /// Exclusive; nil for the open last bucket.
  public var upperPosition: Int?
  /// Rows of the data in this bucket.
  public var rows: Int
  /// Optimizer steps this bucket's BAE took.
  public var steps: Int
  /// Passes over the bucket's rows those steps made (steps × bucketBatch / rows).
  public var epochs: Double?
  /// Rows Ĥ was measured on (evenly spaced over the bucket's rows in file order).
  public var evalRows: Int
  public var entropyBits: Double?
  public var mse: Double?
  public var fvu: Double?
  public var l0: Double?
  public var deadBits: Int?
  /// Why there is no estimate (too few rows to train).
  public var skipped: String?
}

public struct PositionEntropyResult: Codable, Sendable {
  public var data: String
  public var inputDim: Int
  public var latentDim: Int
  public var entropyWeight: Double
  public var covarianceWeight: Double
  /// Steps per bucket (every trained bucket takes exactly this many).
  public var steps: Int
  public var bucketBatch: Int
  /// Seed of the models (bucket b: seed + b) and of the bucket samplers.
  public var seed: UInt64
  public var ranks: Int
  public var seconds: Double
  public var buckets: [PositionBucketResult]
}

public final class PositionEntropyTrainer {
  let source: any RowSource
  let positions: [Int32]
  let options: PositionEntropyOptions
  let collectives: Collectives
  let config: TrainConfig
  /// One training step (model + Adam) per bucket; all share one workspace.
  let steps: [TrainingStep]
  public var models: [Autoencoder] { steps.map(\.model) }
  public private(set) var bucketSteps: [Int]
  let bucketRows: [[Int]]

  /// `positions[r]` is the token position of row r of `source`.
  public init(source: any RowSource, positions: [Int32], options: PositionEntropyOptions, collectives: Collectives)
    throws
  {
    precondition(positions.count == source.rowCount, "positions \(positions.count) != rows \(source.rowCount)")
    var c = options.model
    c.model.inputDim = source.inputDim
    if c.model.latentDim == 0 { c.model.latentDim = 4 * c.model.inputDim }
    c.batchSize = options.bucketBatch
    c.data = "-"
    c.out = "-"
    try c.validate()
    guard options.steps >= 1 else { throw ConfigError(field: "steps", "is \(options.steps); give at least 1") }
    config = c
    self.source = source
    self.positions = positions
    self.options = options
    self.collectives = collectives
    let slice = GlobalBatchSampler.slice(
      globalBatch: options.bucketBatch, rank: collectives.rank, readers: collectives.worldSize)
    let ws = StepWorkspace(config: c.model, capacity: max(1, slice.count), globalCapacity: options.bucketBatch)
    steps = (0..<options.buckets.count).map { b in
      let m = Autoencoder(config: c.model)
      m.initialise(seed: c.seed &+ UInt64(b))
      return TrainingStep(model: m, workspace: ws, collectives: collectives)
    }
    bucketSteps = Array(repeating: 0, count: options.buckets.count)
    var rowsOf = Array(repeating: [Int](), count: options.buckets.count)
    for (r, p) in positions.enumerated() { if let b = options.buckets.bucket(of: Int(p)) { rowsOf[b].append(r) } }
    bucketRows = rowsOf
  }

  /// Trains every bucket's BAE on the shared stream, then measures Ĥ per bucket.
  public func run(log: (String) -> Void = { _ in }) throws -> PositionEntropyResult {
    let t0 = Date()
    try train(log: log)
    let results = try evaluate()
    return PositionEntropyResult(
      data: "", inputDim: config.model.inputDim, latentDim: config.model.latentDim,
      entropyWeight: config.model.entropyWeight, covarianceWeight: config.model.covarianceWeight,
      steps: options.steps, bucketBatch: options.bucketBatch, seed: config.seed, ranks: collectives.worldSize,
      seconds: Date().timeIntervalSince(t0), buckets: results)
  }

  func train(log: (String) -> Void) throws {
    let d = config.model.inputDim, world = collectives.worldSize, rank = collectives.rank
    let trained = (0..<options.buckets.count).filter(trainable)
    let rowsPerRank = (0..<world).map {
      GlobalBatchSampler.slice(globalBatch: options.bucketBatch, rank: $0, readers: world).count
    }
    let slice = GlobalBatchSampler.slice(globalBatch: options.bucketBatch, rank: rank, readers: world)
    // one sampler per bucket over positions in its row list: a uniform permutation per epoch
    var samplers = trained.map { b in
      GlobalBatchSampler(
        rows: 0..<bucketRows[b].count, globalBatch: options.bucketBatch, seed: config.seed &+ UInt64(b),
        order: .shuffled)
    }
    let x = AlignedBuffer<Float>(count: max(1, slice.count) * d)
    for round in 0..<options.steps {
      for (i, b) in trained.enumerated() {
        // this rank's share, read in file order (the step does not depend on the row order)
        let rows = samplers[i].nextGlobalBatch()[slice].map { bucketRows[b][$0] }.sorted()
        try source.readRows(rows, into: UnsafeMutableBufferPointer(rebasing: x.buffer[0..<(rows.count * d)]))
        let stats = try bucketStep(b, rows: rows.count, rowsPerRank: rowsPerRank, x: x)
        if rank == 0 && (round % 100 == 0 || round + 1 == options.steps) {
          log(
            String(
              format: "step %d/%d  bucket %@  mse %.4g  fvu %.3f  H %.1f bits", round + 1, options.steps,
              options.buckets.label(b), stats.mse(inputDim: d), stats.fvu, stats.entropy))
        }
      }
    }
  }

  /// One exact global step of bucket b's BAE on the rows this rank read.
  func bucketStep(_ b: Int, rows n: Int, rowsPerRank: [Int], x buffer: AlignedBuffer<Float>) throws -> BatchStatistics {
    let x = Matrix(buffer, rows: n, cols: config.model.inputDim)
    let outcome = try steps[b].run(x, step: bucketSteps[b], rowsPerRank: rowsPerRank)
    bucketSteps[b] += 1
    return outcome.statistics
  }

  /// A bucket with fewer distinct rows than one step would only see repeats of them: not trained.
  func trainable(_ b: Int) -> Bool { bucketRows[b].count >= options.bucketBatch }

  /// Ĥ per trained bucket on `evalRows` of its rows, evenly spaced (ranks split the rows and sum counts).
  func evaluate() throws -> [PositionBucketResult] {
    let trained = (0..<options.buckets.count).filter(trainable)
    let n = options.evalRows > 0 ? options.evalRows : (trained.map { bucketRows[$0].count }.min() ?? 0)
    return try (0..<options.buckets.count).map { b in
      let e = options.buckets.edges
      var r = PositionBucketResult(
        bucket: b, label: options.buckets.label(b), lowerPosition: e[b],
        upperPosition: b + 1 < e.count ? e[b + 1] : nil, rows: bucketRows[b].count,
        steps: bucketSteps[b], evalRows: 0)
      guard trainable(b) else {
        r.skipped = "\(bucketRows[b].count) rows: fewer than one bucket batch of \(options.bucketBatch) distinct rows"
        return r
      }
      r.epochs = Double(bucketSteps[b] * options.bucketBatch) / Double(bucketRows[b].count)
      // evenly spaced over the bucket (file order would put the first n rows in one or two documents)
      let all = bucketRows[b]
      let rows = (0..<min(n, all.count)).map { all[$0 * all.count / min(n, all.count)] }
      let s = try SetEvaluator.evaluate(
        models[b], source: IndexedRowSource(source, rows: rows), rows: 0..<rows.count,
        collectives: collectives)
      r.evalRows = rows.count
      r.entropyBits = s.entropyBits
      r.mse = s.mse
      r.fvu = s.fvu.isFinite ? s.fvu : nil
      r.l0 = s.l0
      r.deadBits = s.deadBits
      return r
    }
  }
}

/// A view of selected rows of another source (row i = base row rows[i]).
final class IndexedRowSource: RowSource, @unchecked Sendable {
  let base: any RowSource
  let rows: [Int]
  init(_ base: any RowSource, rows: [Int]) {
    self.base = base
    self.rows = rows
  }
  var inputDim: Int { base.inputDim }
  var rowCount: Int { rows.count }
  var rowsPerBlock: Int { 1 }
  func readRows(_ indices: [Int], into out: UnsafeMutableBufferPointer<Float>) throws {
    try base.readRows(indices.map { rows[$0] }, into: out)
  }
}

extension TokenContexts {
  /// The `position` column of token TSVs covering all rows in order (4 bytes per row).
  public static func positions(from files: [URL], expectedRows: Int) throws -> [Int32] {
    var out: [Int32] = []
    out.reserveCapacity(expectedRows)
    for url in files { try TokenTable.forEachRecord(url) { out.append(Int32(clamping: $0.position)) } }
    guard out.count == expectedRows else {
      throw StoreError.badTokens(
        file: files.map(\.path).joined(separator: ", "), line: out.count + 1,
        detail: "\(out.count) token lines in total but the data has \(expectedRows) rows")
    }
    return out
  }
}

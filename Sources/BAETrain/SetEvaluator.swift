// Statistics of a trained model over a whole set of rows (not averaged over batches): firing rates,
// Ĥ(S) = Σ_j H_b(p_j) in bits (spec §7), MSE and FVU. Ranks split the rows and sum their counts.
import BAEModel
import BAEStore
import BAETensor
import Foundation

/// Whole-set results.
public struct SetStatistics: Codable, Sendable {
  public var rows: Int
  /// Ĥ(S) in bits.
  public var entropyBits: Double
  public var mse: Double
  public var fvu: Double
  /// Mean number of active bits per row.
  public var l0: Double
  /// Firing rate p_j of every code bit.
  public var rates: [Double]
  public var deadBits: Int { rates.filter { $0 == 0 }.count }
  public var alwaysOnBits: Int { rates.filter { $0 == 1 }.count }
}

public enum SetEvaluator {
  /// Encodes rows `rows` of `source` in chunks of `chunk`; each rank takes a contiguous share.
  public static func evaluate(_ model: BinaryAutoencoder, source: any RowSource, rows: Range<Int>,
                              chunk: Int = 1024, collectives: Collectives) throws -> SetStatistics {
    let d = model.inputDim, m = model.codeBits
    let share = GlobalBatchSampler.slice(globalBatch: rows.count, rank: collectives.rank, readers: collectives.worldSize)
    let mine = (rows.lowerBound + share.lowerBound)..<(rows.lowerBound + share.upperBound)
    let ws = StepWorkspace(layout: model.layout, capacity: max(1, min(chunk, mine.count)), covariance: false)
    let x = AlignedBuffer<Float>(count: ws.capacity * d)
    var counts = [Int64](repeating: 0, count: m)
    var moments = [Double](repeating: 0, count: 2 + d)
    var start = mine.lowerBound
    while start < mine.upperBound {
      let end = min(mine.upperBound, start + ws.capacity)
      let n = end - start
      try source.readRows(Array(start..<end), into: UnsafeMutableBufferPointer(rebasing: x.buffer[0..<(n * d)]))
      let mo = model.forward(Matrix(x, rows: n, cols: d), ws)
      for j in 0..<m { counts[j] += ws.counts[j] }
      for i in 0..<mo.count { moments[i] += mo[i] }
      start = end
    }
    try counts.withUnsafeMutableBufferPointer { try collectives.sum($0) }
    try moments.withUnsafeMutableBufferPointer { try collectives.sum($0) }
    let n = rows.count
    let rates = counts.map { n > 0 ? Double($0) / Double(n) : 0 }
    var meanSq = 0.0
    for k in 0..<d { meanSq += moments[2 + k] * moments[2 + k] }
    let variance = n > 0 ? moments[1] - meanSq / Double(n) : 0
    let entropy = counts.withUnsafeBufferPointer { BinaryEntropy.total(counts: $0, rows: n) }
    return SetStatistics(rows: n, entropyBits: entropy,
                         mse: n > 0 ? moments[0] / Double(n * d) : 0,
                         fvu: variance > 0 ? moments[0] / variance : .nan,
                         l0: n > 0 ? Double(counts.reduce(0, +)) / Double(n) : 0,
                         rates: rates)
  }
}

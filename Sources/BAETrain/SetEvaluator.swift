// Statistics of a trained model over a whole set of rows, from globally reduced sufficient statistics
// and one pass (Documentation/Evaluation.md): MSE, FVU, explained variance, mean cosine of x and x̂,
// L0, firing rates, dead/dense counts, code entropy Σ_j H_b(p_j) (Ĥ(S) for a BAE). Ranks split the
// rows and sum their statistics; the model runs in inference mode (BatchTopK uses its threshold θ).
import BAEModel
import BAEStore
import BAETensor
import Foundation

/// Whole-set results.
public struct SetStatistics: Codable, Sendable {
  /// Rows evaluated.
  public var rows: Int
  /// Σ_j H_b(p_j) in bits over the firing indicators (for a BAE: Ĥ(S), the set entropy).
  public var entropyBits: Double
  /// Mean squared reconstruction error per element: SSE / (rows · d).
  public var mse: Double
  /// SSE / Σ‖x − mean‖² (NaN when the data has no variance).
  public var fvu: Double
  /// Mean over rows of cos(x, x̂) (0 for a row where x or x̂ is zero).
  public var meanCosine: Double
  /// Mean number of active bits (BAE) or non-zero latents (SAE) per row.
  public var l0: Double
  /// Firing rate p_j of every code bit (BAE) or latent (SAE).
  public var rates: [Double]
  /// 1 − fvu.
  public var explainedVariance: Double { 1 - fvu }
  /// Units that never fired over the set (p = 0).
  public var deadBits: Int { rates.filter { $0 == 0 }.count }
  /// Units that fired on every row (p = 1).
  public var alwaysOnBits: Int { rates.filter { $0 == 1 }.count }
  /// Latents with p > threshold.
  public func dense(above threshold: Double) -> Int { rates.filter { $0 > threshold }.count }
  /// Bits with min(p, 1 − p) > threshold (a BAE's density: an almost-always-on bit is dense too).
  public func denseTwoSided(above threshold: Double) -> Int { rates.filter { Swift.min($0, 1 - $0) > threshold }.count }
}

/// One pass of the model over a set of rows, split over the ranks, reduced into `SetStatistics`.
public enum SetEvaluator {
  /// Encodes rows `rows` of `source` in chunks of `chunk`; each rank takes a contiguous share. Throws
  /// `TrainDataError.nonFinite` naming the first row that holds NaN/Inf.
  public static func evaluate(
    _ model: Autoencoder, source: any RowSource, rows: Range<Int>, chunk: Int = 1024,
    collectives: Collectives, path: String = "data"
  ) throws -> SetStatistics {
    let d = model.inputDim, m = model.codeBits
    let share = GlobalBatchSampler.slice(
      globalBatch: rows.count, rank: collectives.rank, readers: collectives.worldSize)
    let mine = (rows.lowerBound + share.lowerBound)..<(rows.lowerBound + share.upperBound)
    let ws = StepWorkspace(config: model.config, capacity: max(1, min(chunk, mine.count)), covariance: false)
    let x = AlignedBuffer<Float>(count: ws.capacity * d)
    var counts = [Int64](repeating: 0, count: m)
    // [Σ(x̂−x)², Σx², Σx_k…, Σcos] and the first bad row (or −1), reduced with max
    var moments = [Double](repeating: 0, count: 3 + d)
    var start = mine.lowerBound
    // [−(first bad row), bad rows]: the max of the first entry over ranks is the lowest bad row
    var firstBad = [-Double.infinity]
    var badRows = [0.0]
    while start < mine.upperBound {
      let end = min(mine.upperBound, start + ws.capacity)
      let n = end - start
      try source.readRows(Array(start..<end), into: UnsafeMutableBufferPointer(rebasing: x.buffer[0..<(n * d)]))
      for i in 0..<n where (0..<d).contains(where: { !x[i * d + $0].isFinite }) {
        if firstBad[0] == -Double.infinity { firstBad[0] = -Double(start + i) }
        badRows[0] += 1
      }
      let xm = Matrix(x, rows: n, cols: d)
      let mo = try model.forward(xm, ws)
      for j in 0..<m { counts[j] += ws.counts[j] }
      moments[0] += mo[0]
      moments[1] += mo[1]
      for k in 0..<d { moments[2 + k] += mo[2 + k] }
      moments[2 + d] += cosineSum(xm, Matrix(ws.reconstruction, rows: n, cols: d))
      start = end
    }
    // every rank joins every reduction; a bad row anywhere fails all ranks alike
    try firstBad.withUnsafeMutableBufferPointer { try collectives.max($0) }
    try badRows.withUnsafeMutableBufferPointer { try collectives.sum($0) }
    if badRows[0] > 0 {
      let r = Int(-firstBad[0])
      var row = [Float](repeating: 0, count: d)
      try row.withUnsafeMutableBufferPointer { try source.readRows([r], into: $0) }
      let c = row.firstIndex { !$0.isFinite } ?? 0
      throw TrainDataError.nonFinite(path: path, row: r, column: c, value: row[c], rows: Int(badRows[0]), step: nil)
    }
    try counts.withUnsafeMutableBufferPointer { try collectives.sum($0) }
    try moments.withUnsafeMutableBufferPointer { try collectives.sum($0) }
    let n = rows.count
    let rates = counts.map { n > 0 ? Double($0) / Double(n) : 0 }
    var meanSq = 0.0
    for k in 0..<d { meanSq += moments[2 + k] * moments[2 + k] }
    let variance = n > 0 ? moments[1] - meanSq / Double(n) : 0
    let entropy = counts.withUnsafeBufferPointer { BinaryEntropy.total(counts: $0, rows: n) }
    return SetStatistics(
      rows: n, entropyBits: entropy,
      mse: n > 0 ? moments[0] / Double(n * d) : 0,
      fvu: variance > 0 ? moments[0] / variance : .nan,
      meanCosine: n > 0 ? moments[2 + d] / Double(n) : 0,
      l0: n > 0 ? Double(counts.reduce(0, +)) / Double(n) : 0,
      rates: rates)
  }

  /// Σ_i cos(x_i, x̂_i), 0 for a row where either norm is 0.
  static func cosineSum(_ x: Matrix, _ xhat: Matrix) -> Double {
    var total = 0.0
    for i in 0..<x.rows {
      let a = x.row(i), b = xhat.row(i)
      var dot = 0.0, na = 0.0, nb = 0.0
      for k in 0..<x.cols {
        let u = Double(a[k]), v = Double(b[k])
        dot += u * v
        na += u * u
        nb += v * v
      }
      if na > 0 && nb > 0 { total += dot / (na.squareRoot() * nb.squareRoot()) }
    }
    return total
  }
}

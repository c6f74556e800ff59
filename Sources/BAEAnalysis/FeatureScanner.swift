// The streaming passes behind a feature report: whole-corpus statistics (firing rates, and for the
// z-score the per-feature mean and deviation of the values), then the ComSem assignment of every token
// in corpus order. Memory: one chunk of rows and its values, plus the sampler's capped lists; the corpus
// is never held whole.
import BAEModel
import BAEStore
import BAETensor
import BAETrain
import Foundation

/// Per-feature moments of the values over a corpus.
public struct FeatureMoments: Sendable {
  /// Fraction of rows with value > 0 (for a BAE the firing rate p_j).
  public var positiveRates: [Double]
  /// Mean value (zeros included).
  public var mean: [Double]
  /// Population standard deviation of the value (zeros included).
  public var std: [Double]
}

/// Streams feature values (a model's code or random codes) to build ComSem samples.
public enum FeatureScanner {
  /// Pass 1: whole-corpus statistics of `rows` (firing rates p_j, Ĥ, MSE, FVU) in one process.
  public static func statistics(
    _ model: Autoencoder, source: any RowSource, rows: Range<Int>,
    chunk: Int = 1024
  ) throws -> SetStatistics {
    try SetEvaluator.evaluate(model, source: source, rows: rows, chunk: chunk, collectives: SingleProcess())
  }

  /// Per-feature rate of v > 0, mean and standard deviation of the values of `rows` (one pass).
  public static func moments(_ values: any FeatureValueSource, rows: Range<Int>) throws -> FeatureMoments {
    let m = values.features
    var positive = [Int](repeating: 0, count: m)
    var sum = [Double](repeating: 0, count: m), sumsq = [Double](repeating: 0, count: m)
    var start = rows.lowerBound
    while start < rows.upperBound {
      let end = min(rows.upperBound, start + values.chunkCapacity)
      let v = try values.values(rows: start..<end)
      for i in 0..<(end - start) {
        for j in 0..<m {
          let x = Double(v[i * m + j])
          if x > 0 { positive[j] += 1 }
          sum[j] += x
          sumsq[j] += x * x
        }
      }
      start = end
    }
    let n = Double(max(1, rows.count))
    let mean = sum.map { $0 / n }
    let std = (0..<m).map { j in max(0, sumsq[j] / n - mean[j] * mean[j]).squareRoot() }
    return FeatureMoments(positiveRates: positive.map { Double($0) / n }, mean: mean, std: std)
  }

  /// Pass 2: reads the values of `rows` in order and assigns every token to its top features under
  /// `scorer`. For a multi-bit BAE each of the k bits of a latent is its own feature.
  /// `progress(done, total)` is called after each chunk.
  public static func sample(
    _ values: any FeatureValueSource, rows: Range<Int>, scorer: FeatureScorer,
    topK: Int = 10, describeCount: Int = 5, testCount: Int = 8,
    progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> ComSemSampler {
    precondition(
      scorer.features == values.features, "scorer has \(scorer.features) features, values \(values.features)")
    var sampler = ComSemSampler(scorer: scorer, topK: topK, describeCount: describeCount, testCount: testCount)
    let m = values.features
    var start = rows.lowerBound
    while start < rows.upperBound {
      let end = min(rows.upperBound, start + values.chunkCapacity)
      let v = try values.values(rows: start..<end)
      for i in 0..<(end - start) {
        sampler.add(row: start + i, codes: UnsafeBufferPointer(rebasing: v[(i * m)..<((i + 1) * m)]))
      }
      start = end
      progress(start - rows.lowerBound, rows.count)
    }
    return sampler
  }

  /// Pass 2 for a BAE under firing rates `rates` (β ranking).
  public static func sample(
    _ model: Autoencoder, source: any RowSource, rows: Range<Int>, rates: [Double],
    topK: Int = 10, describeCount: Int = 5, testCount: Int = 8, chunk: Int = 1024,
    progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> ComSemSampler {
    precondition(
      rates.count == model.codeBits, "rates has \(rates.count) entries, the model \(model.codeBits) code bits")
    return try sample(
      ModelFeatureValues(model: model, source: source, chunk: min(chunk, max(1, rows.count))), rows: rows,
      scorer: .beta(rates: rates), topK: topK, describeCount: describeCount, testCount: testCount,
      progress: progress)
  }
}

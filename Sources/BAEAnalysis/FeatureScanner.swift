// The two streaming passes behind a feature report: firing rates over the whole corpus, then the
// ComSem assignment of every token in corpus order. Memory: one chunk of rows and its codes, plus
// the sampler's capped lists; the corpus is never held whole.
import BAEModel
import BAEStore
import BAETensor
import BAETrain
import Foundation

/// Streams a row source through a trained BAE to build ComSem samples.
public enum FeatureScanner {
  /// Pass 1: whole-corpus statistics of `rows` (firing rates p_j, Ĥ, MSE, FVU) in one process.
  public static func statistics(
    _ model: Autoencoder, source: any RowSource, rows: Range<Int>,
    chunk: Int = 1024
  ) throws -> SetStatistics {
    try SetEvaluator.evaluate(model, source: source, rows: rows, chunk: chunk, collectives: SingleProcess())
  }

  /// Pass 2: encodes `rows` in order and assigns every token to its top features by β under `rates`.
  /// Features are the model's code bits (for a multi-bit BAE, each of the k bits of a latent is its own
  /// feature). `progress(done, total)` is called after each chunk.
  public static func sample(
    _ model: Autoencoder, source: any RowSource, rows: Range<Int>, rates: [Double],
    topK: Int = 10, describeCount: Int = 5, testCount: Int = 8, chunk: Int = 1024,
    progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> ComSemSampler {
    precondition(
      rates.count == model.codeBits, "rates has \(rates.count) entries, the model \(model.codeBits) code bits")
    precondition(source.inputDim == model.inputDim, "source width \(source.inputDim), model inputDim \(model.inputDim)")
    var sampler = ComSemSampler(rates: rates, topK: topK, describeCount: describeCount, testCount: testCount)
    let d = model.inputDim, m = model.codeBits
    let ws = StepWorkspace(config: model.config, capacity: max(1, min(chunk, rows.count)), covariance: false)
    let x = AlignedBuffer<Float>(count: ws.capacity * d)
    var start = rows.lowerBound
    while start < rows.upperBound {
      let end = min(rows.upperBound, start + ws.capacity)
      let n = end - start
      try source.readRows(Array(start..<end), into: UnsafeMutableBufferPointer(rebasing: x.buffer[0..<(n * d)]))
      _ = try model.forward(Matrix(x, rows: n, cols: d), ws)
      // ws.codes: (n, m), h ∈ {0, 1} after the forward
      for i in 0..<n {
        sampler.add(row: start + i, codes: UnsafeBufferPointer(start: ws.codes.baseAddress + i * m, count: m))
      }
      start = end
      progress(start - rows.lowerBound, rows.count)
    }
    return sampler
  }
}

// `bae eval`'s numbers for any architecture (Documentation/Evaluation.md), derived from one pass of
// globally reduced sufficient statistics (SetEvaluator): reconstruction, sparsity, dead and dense
// counts, code entropy and a firing-rate histogram in log10 bins.
import BAEModel
import Foundation

/// Everything `bae eval` reports; JSON keys are the field names.
public struct EvaluationReport: Codable, Sendable {
  /// The model's kind (bae, relu, topk, batchtopk, jumprelu).
  public var architecture: String
  /// Rows evaluated.
  public var rows: Int
  /// Input width d.
  public var inputDim: Int
  /// Features d'.
  public var latentDim: Int
  /// Encoder outputs counted (d'·k bits for a BAE, d' latents for an SAE).
  public var codeUnits: Int
  /// Mean squared reconstruction error per element: SSE / (rows · d).
  public var mse: Double
  /// SSE / Σ‖x − mean‖²; nil when the data has no variance.
  public var fvu: Double?
  /// 1 − fvu; nil when the data has no variance.
  public var explainedVariance: Double?
  /// Mean over rows of cos(x, x̂) (0 for a row where x or x̂ is zero).
  public var meanCosine: Double
  /// Mean active units per row.
  public var l0: Double
  /// Units that never fired over the set.
  public var dead: Int
  /// Units with firing rate p > 0.01, 0.1, 0.5.
  public var dense: [String: Int]
  /// BAE only: bits with min(p, 1 − p) > 0.01, 0.1, 0.5 (an almost-always-on bit is dense too).
  public var denseTwoSided: [String: Int]?
  /// BAE only: bits with min(p, 1 − p) = 0 (constant over the set).
  public var constant: Int?
  /// Σ_j H_b(p_j) of the firing indicators, bits (a BAE's Ĥ of the set).
  public var codeEntropyBits: Double
  /// BatchTopK: the inference threshold θ used.
  public var threshold: Double?
  /// Firing-rate histogram: `rateHistogram.counts[i]` units have log10 p in [edges[i], edges[i+1]);
  /// dead units are counted apart in `dead`.
  public var rateHistogram: Histogram
  /// BAE: the same for min(p, 1 − p).
  public var twoSidedHistogram: Histogram?

  /// A histogram over fixed bin edges; `counts` has one entry fewer than `edges`.
  public struct Histogram: Codable, Sendable, Equatable {
    /// Bin edges, increasing (log10 of a firing rate).
    public var edges: [Double]
    /// Units per bin.
    public var counts: [Int]
  }

  /// The density thresholds reported.
  public static let densityThresholds: [Double] = [0.01, 0.1, 0.5]
  /// log10 bin edges: −7 … 0 in steps of 0.5 (the last bin is closed at p = 1).
  public static let logEdges: [Double] = stride(from: -7.0, through: 0.0, by: 0.5).map { $0 }

  /// The report of `model` over a set with statistics `s`.
  public init(model: Autoencoder, statistics s: SetStatistics) {
    let binary = model.architecture.isBinary
    architecture = model.architecture.rawValue
    rows = s.rows
    inputDim = model.inputDim
    latentDim = model.latentDim
    codeUnits = s.rates.count
    mse = s.mse
    fvu = s.fvu.isFinite ? s.fvu : nil
    explainedVariance = s.fvu.isFinite ? 1 - s.fvu : nil
    meanCosine = s.meanCosine
    l0 = s.l0
    dead = s.deadBits
    func key(_ t: Double) -> String { String(format: "%g", t) }
    dense = Dictionary(uniqueKeysWithValues: Self.densityThresholds.map { (key($0), s.dense(above: $0)) })
    denseTwoSided =
      binary
      ? Dictionary(uniqueKeysWithValues: Self.densityThresholds.map { (key($0), s.denseTwoSided(above: $0)) }) : nil
    constant = binary ? s.rates.filter { $0 == 0 || $0 == 1 }.count : nil
    codeEntropyBits = s.entropyBits
    threshold = model.batchThreshold
    rateHistogram = Self.histogram(s.rates)
    twoSidedHistogram = binary ? Self.histogram(s.rates.map { Swift.min($0, 1 - $0) }) : nil
  }

  /// Counts of log10 p per bin of `logEdges`; p = 0 is left out (reported as dead or constant).
  public static func histogram(_ rates: [Double]) -> Histogram {
    let e = logEdges
    var counts = [Int](repeating: 0, count: e.count - 1)
    for p in rates where p > 0 {
      let l = Foundation.log10(p)
      var i = Int(((l - e[0]) / 0.5).rounded(.down))
      i = Swift.max(0, Swift.min(counts.count - 1, i))
      counts[i] += 1
    }
    return Histogram(edges: e, counts: counts)
  }
}

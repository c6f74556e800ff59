// How ComSem scores a (token, feature) pair (Method.md §7): the BAE's β = log2(|h − p| + 1e-6), an SAE
// latent's raw activation, or its per-latent z-score. The ranking only needs a score that is monotone in
// the reference's, so β is ranked by |h − p| (log2 and the +1e-6 keep its order).
import Foundation

/// The per-token score a feature is ranked by when a token picks its top-k features.
public enum FeatureScoring: String, Codable, Sendable, CaseIterable {
  /// BAE: β = log2(|h − p| + 1e-6); every feature is a candidate (a dense bit scores when it is off).
  case beta
  /// SAE: the raw activation a_j; only latents with a_j > 0 on the token are candidates.
  case activation
  /// SAE: (a_j − μ_j) / σ_j with the corpus mean and standard deviation of a_j (zeros included); only
  /// latents with a_j > 0 are candidates. A latent with σ_j = 0 scores 0.
  case zscore
}

/// Turns one token's feature values (bits h, activations a, or random codes) into ranking scores;
/// a non-candidate gets −∞ and is never assigned.
public struct FeatureScorer: Sendable {
  /// The rule applied.
  public let scoring: FeatureScoring
  // beta: |h − p| for h = 1 and h = 0; zscore: μ_j and 1/σ_j (0 when σ_j = 0)
  private let first: [Double]
  private let second: [Double]

  /// The width of the value rows it scores.
  public var features: Int { first.count }

  private init(scoring: FeatureScoring, first: [Double], second: [Double]) {
    self.scoring = scoring
    self.first = first
    self.second = second
  }

  /// β ranking under firing rates p_j (the BAE).
  public static func beta(rates: [Double]) -> FeatureScorer {
    FeatureScorer(scoring: .beta, first: rates.map { abs(1 - $0) }, second: rates.map { abs($0) })
  }

  /// Raw-activation ranking over `features` latents (SAEs, random codes).
  public static func activation(features: Int) -> FeatureScorer {
    FeatureScorer(
      scoring: .activation, first: [Double](repeating: 0, count: features),
      second: [Double](repeating: 0, count: features))
  }

  /// z-score ranking with per-latent corpus means and standard deviations.
  public static func zscore(mean: [Double], std: [Double]) -> FeatureScorer {
    precondition(mean.count == std.count, "mean has \(mean.count) entries, std \(std.count)")
    return FeatureScorer(scoring: .zscore, first: mean, second: std.map { $0 > 0 ? 1 / $0 : 0 })
  }

  /// The score of value `v` of feature `j` (−∞: not a candidate).
  @inline(__always)
  public func score(_ v: Float, feature j: Int) -> Double {
    switch scoring {
    case .beta: return v > 0 ? first[j] : second[j]
    case .activation: return v > 0 ? Double(v) : -.infinity
    case .zscore: return v > 0 ? (Double(v) - first[j]) * second[j] : -.infinity
    }
  }
}

// Statistics of the WHOLE global minibatch (spec §6): every rank holds the same values after the
// global-statistics phase, so every rank forms the exact gradient of the global objective.

/// Global quantities of one step's minibatch.
public struct BatchStatistics: Sendable {
  /// Global number of rows N.
  public var rows: Int = 0
  /// Σ (x̂ − x)² over all rows and columns.
  public var sumSquaredError: Double = 0
  /// Σ x² − (Σx)²/N summed over columns: the total variance, for FVU (0 when not computed).
  public var totalVariance: Double = 0
  /// H = Σ_j H_b(p_j), bits.
  public var entropy: Double = 0
  /// D = Σ_{j≠k} |C_jk| (nil when the covariance term is off).
  public var covariance: Double? = nil
  /// Element-mean squared error.
  public func mse(inputDim: Int) -> Double { rows > 0 ? sumSquaredError / Double(rows * inputDim) : 0 }
  /// Fraction of variance unexplained.
  public var fvu: Double { totalVariance > 0 ? sumSquaredError / totalVariance : .nan }
}

/// Loss weights in force for one step (the schedule already applied).
public struct LossWeights: Sendable, Equatable {
  public var entropy: Double
  public var covariance: Double
  public var estimator: Estimator
  public init(entropy: Double, covariance: Double, estimator: Estimator) {
    self.entropy = entropy; self.covariance = covariance; self.estimator = estimator
  }

  /// λ_e is 0 before `entropyStartStep` and when H < `entropyThreshold` (spec §3).
  public static func scheduled(_ c: BAEConfig, step: Int, entropy: Double) -> LossWeights {
    let on = step >= c.entropyStartStep && entropy >= c.entropyThreshold
    return LossWeights(entropy: on ? c.entropyWeight : 0, covariance: c.covarianceWeight, estimator: c.estimator)
  }

  /// L = MSE + λ_e·H + λ_c·D.
  public func loss(_ s: BatchStatistics, inputDim: Int) -> Double {
    s.mse(inputDim: inputDim) + entropy * s.entropy + covariance * (s.covariance ?? 0)
  }
}

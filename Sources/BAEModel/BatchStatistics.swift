// Statistics of the WHOLE global minibatch (Method.md, data-parallel exactness): every rank holds the
// same values after the global-statistics phase, so every rank forms the exact gradient of the global
// objective.

/// Global quantities of one step's minibatch.
public struct BatchStatistics: Sendable {
  /// Global number of rows N.
  public var rows: Int = 0
  /// Σ (x̂ − x)² over all rows and columns.
  public var sumSquaredError: Double = 0
  /// Σ x² − (Σx)²/N summed over columns: the total variance, for FVU (0 when not computed).
  public var totalVariance: Double = 0
  /// BAE: H = Σ_j H_b(p_j), bits. SAE: the same formula over firing indicators (a ≠ 0), for logging.
  public var entropy: Double = 0
  /// BAE: D = Σ_{j≠k} |C_jk| (nil when the covariance term is off).
  public var covariance: Double? = nil
  /// SAE: the weighted sparsity term (L1 or L0) of the loss; 0 for a BAE.
  public var sparsityLoss: Double = 0
  /// SAE: the weighted AuxK loss; 0 when off.
  public var auxLoss: Double = 0
  /// BatchTopK: the smallest selected positive activation of this batch (the threshold's update).
  public var batchThreshold: Double? = nil
  /// Element-mean squared error.
  public func mse(inputDim: Int) -> Double { rows > 0 ? sumSquaredError / Double(rows * inputDim) : 0 }
  /// Fraction of variance unexplained.
  public var fvu: Double { totalVariance > 0 ? sumSquaredError / totalVariance : .nan }
}

/// Loss weights in force for one step (the schedule already applied).
public struct LossWeights: Sendable, Equatable {
  /// λ_e in force this step (0 before `entropyStartStep` or when H fell below the threshold).
  public var entropy: Double
  /// λ_c in force this step.
  public var covariance: Double
  /// The gradient estimator of the binarisation (sign_s or sign).
  public var estimator: Estimator
  /// The weights `entropy` (λ_e), `covariance` (λ_c) and `estimator` for one step.
  public init(entropy: Double, covariance: Double, estimator: Estimator) {
    self.entropy = entropy
    self.covariance = covariance
    self.estimator = estimator
  }

  /// BAE: λ_e is 0 before `entropyStartStep` and when H < `entropyThreshold`. SAEs: both 0 (their
  /// sparsity terms are part of the config, not scheduled).
  public static func scheduled(_ c: ModelConfig, step: Int, entropy: Double) -> LossWeights {
    guard c.architecture == .bae else { return LossWeights(entropy: 0, covariance: 0, estimator: c.estimator) }
    let on = step >= c.entropyStartStep && entropy >= c.entropyThreshold
    return LossWeights(entropy: on ? c.entropyWeight : 0, covariance: c.covarianceWeight, estimator: c.estimator)
  }

  /// L = MSE + λ_e·H + λ_c·D (+ the SAE's sparsity and aux terms, already weighted).
  public func loss(_ s: BatchStatistics, inputDim: Int) -> Double {
    s.mse(inputDim: inputDim) + entropy * s.entropy + covariance * (s.covariance ?? 0) + s.sparsityLoss + s.auxLoss
  }
}

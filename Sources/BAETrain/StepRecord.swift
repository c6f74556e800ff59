// One line of the JSONL metrics. Every loss and code statistic is global (all ranks' rows); the
// timings are rank 0's own.

/// One line of metrics.jsonl: the step's losses and code statistics (global) and its timings (rank 0's).
public struct StepRecord: Codable, Sendable {
  /// Optimizer steps done, this one included (1 for the first step).
  public var step: Int
  /// The total loss L of the step, before the update.
  public var loss: Double
  /// Mean squared reconstruction error per element over the global batch.
  public var mse: Double
  /// Fraction of variance unexplained over the global batch.
  public var fvu: Double
  /// Minibatch entropy H (bits).
  public var entropy: Double
  /// Covariance term D (absent when λ_c = 0).
  public var covariance: Double?
  /// λ_e in force this step (0 before the start step).
  public var entropyWeight: Double
  /// SAE: the weighted sparsity term (L1 or L0); absent for a BAE.
  public var sparsityLoss: Double?
  /// SAE: the weighted AuxK loss; absent for a BAE.
  public var auxLoss: Double?
  /// BatchTopK: the running inference threshold θ after this step.
  public var threshold: Double?
  /// Mean active bits (BAE) or active latents (SAE) per row.
  public var l0: Double
  /// Bits that never fired in this minibatch.
  public var deadBits: Int
  /// Bits with p > 0.5.
  public var denseBits: Int
  /// Bits with min(p, 1 − p) < 1e-3.
  public var nearConstantBits: Int
  /// Global rows of the step divided by rank 0's wall time for it.
  public var rowsPerSecond: Double
  /// Rank 0's seconds of this step outside collectives and input waits; the three timings add up to
  /// the step's wall time.
  public var computeSeconds: Double
  /// Rank 0's seconds of this step in collectives.
  public var communicationSeconds: Double
  /// Rank 0's seconds of this step waiting for the next batch.
  public var inputWaitSeconds: Double
  /// Seconds since the run (or the resumed run) started.
  public var elapsedSeconds: Double
  /// The decoder path rank 0's step took ("dense", "sparse" or "lut", Method.md §10) and rank 0's
  /// pattern density |S|/(n·d') that chose it (each rank chooses from its own rows). Optional so that
  /// metrics written before stop 19 still decode.
  public var decoderPath: String? = nil
  public var decoderDensity: Double? = nil
  /// Conditions in force this step (absent when none): "fvu-above-1", "all-bits-constant"
  /// (Documentation/CLI.md, "Warnings").
  public var warnings: [String]? = nil
}

/// Validation results logged at `validateEvery` and at the end.
public struct ValidationRecord: Codable, Sendable {
  /// Optimizer steps done when the validation ran.
  public var step: Int
  /// The model's statistics over the validation rows.
  public var validation: SetStatistics
}

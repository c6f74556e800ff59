// One line of the JSONL metrics. Every loss and code statistic is global (all ranks' rows); the
// timings are rank 0's own.

public struct StepRecord: Codable, Sendable {
  public var step: Int
  public var loss: Double
  public var mse: Double
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
  public var rowsPerSecond: Double
  /// Seconds of this step in compute, communication and waiting for input.
  public var computeSeconds: Double
  public var communicationSeconds: Double
  public var inputWaitSeconds: Double
  public var elapsedSeconds: Double
  /// Conditions in force this step (absent when none): "fvu-above-1", "all-bits-constant"
  /// (Documentation/CLI.md, "Warnings").
  public var warnings: [String]? = nil
}

/// Validation results logged at `validateEvery` and at the end.
public struct ValidationRecord: Codable, Sendable {
  public var step: Int
  public var validation: SetStatistics
}

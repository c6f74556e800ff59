// Warnings for a run that is not learning: the minibatch FVU has stayed above 1 (worse than
// predicting the mean) or every code bit has been constant, for `patience` steps in a row. Each
// condition is logged once when it sets in (naming the step and what to try) and named in the
// `warnings` field of every metrics line while it lasts. Decided from global statistics, so every
// rank agrees.

/// Tracks the two conditions across steps.
struct TrainingHealth {
  /// Consecutive steps a condition must hold before it is reported.
  let patience: Int
  var fvuAbove1 = 0
  var allConstant = 0

  /// A condition and its advice.
  static let fvuWarning = "fvu-above-1"
  static let constantWarning = "all-bits-constant"

  /// The two counters (checkpointed, so a resumed run warns exactly as an uninterrupted one).
  var counts: [Int] {
    get { [fvuAbove1, allConstant] }
    set {
      fvuAbove1 = newValue.first ?? 0
      allConstant = newValue.dropFirst().first ?? 0
    }
  }

  /// `patience` = 10 % of the run, at least 20 and at most 200 steps.
  init(totalSteps: Int) { patience = Swift.max(20, Swift.min(200, totalSteps / 10)) }

  /// Updates the counters with one step; returns the warnings in force and the ones that just set in.
  mutating func update(fvu: Double, constantBits: Int, codeBits: Int) -> (current: [String], new: [String]) {
    fvuAbove1 = fvu > 1 ? fvuAbove1 + 1 : 0
    allConstant = constantBits == codeBits ? allConstant + 1 : 0
    var current: [String] = [], new: [String] = []
    for (name, count) in [(Self.fvuWarning, fvuAbove1), (Self.constantWarning, allConstant)] where count >= patience {
      current.append(name)
      if count == patience { new.append(name) }
    }
    return (current, new)
  }

  /// The log line for a condition that set in at `step`.
  func message(_ name: String, step: Int, fvu: Double, config: TrainConfig) -> String {
    let what =
      name == Self.fvuWarning
      ? String(
        format: "the minibatch FVU has stayed above 1 for %d steps (%.3g now): worse than predicting the mean",
        patience, fvu)
      : "every code bit has been constant (never or always on) for \(patience) steps: the code carries no information"
    var tries: [String] = []
    if config.inputNormalization != .centered { tries.append("--input-normalization centered") }
    if config.decoderBiasInit == .uniform && config.model.decoderBias { tries.append("--decoder-bias-init mean") }
    tries.append(String(format: "a lower --lr (now %g)", config.model.lr))
    if config.model.architecture == .bae && (config.model.entropyWeight > 0 || config.model.covarianceWeight > 0) {
      tries.append("smaller --entropy-weight/--covariance-weight")
    }
    return "step \(step): \(what); try \(tries.joined(separator: ", "))"
  }
}

// Where one training step's time goes: seconds per named phase of `TrainingStep.run`, accumulated
// while a `StepPhases` is attached to the workspace (`bae bench step --decoder-sweep` prints them).
// Unattached (the default, and every training run) a phase boundary costs one nil check.

/// Accumulated seconds per phase of the training step, read from a caller-supplied monotonic clock
/// (the model layer has no clock of its own).
public final class StepPhases: @unchecked Sendable {
  /// The step's phases in the order they run.
  public enum Phase: Int, CaseIterable, Sendable {
    /// z = x·W_encᵀ + b_enc (one GEMM)
    case encode
    /// binarisation and counts (a BAE), the SAE's activation
    case code
    /// x̂ on the step's decoder path, and the local moments
    case decode
    /// all-reduced moments and counts, entropy and the covariance term's forward
    case statistics
    /// ∂L/∂x̂, ∂b_dec and ∂W_dec on the step's decoder path
    case decoderGradient
    /// ∂L/∂a = ∂x̂·W_dec (one GEMM)
    case valueGradient
    /// ∂L/∂z through the code function (entropy, covariance and estimator terms)
    case codeGradient
    /// ∂b_enc and ∂W_enc = ∂zᵀ·x (one GEMM)
    case encoderGradient
    /// the gradient all-reduce
    case gradientSync
    /// the decoder-norm constraint, Adam and the post-step state
    case update

    /// A short label for tables.
    public var label: String {
      switch self {
      case .encode: "encode"
      case .code: "code"
      case .decode: "decode"
      case .statistics: "stats"
      case .decoderGradient: "∂W_dec"
      case .valueGradient: "∂a"
      case .codeGradient: "∂z"
      case .encoderGradient: "∂W_enc"
      case .gradientSync: "sync"
      case .update: "update"
      }
    }
  }

  /// Seconds per phase since the last `reset`, indexed by `Phase.rawValue`.
  public private(set) var seconds: [Double]
  private let clock: () -> Double
  private var last = 0.0

  /// - clock: monotonic seconds (e.g. BAEIO's `MonotonicClock`).
  public init(clock: @escaping () -> Double) {
    self.clock = clock
    seconds = [Double](repeating: 0, count: Phase.allCases.count)
  }

  /// Zeroes every phase's total.
  public func reset() {
    for i in seconds.indices { seconds[i] = 0 }
  }

  /// Marks the start of a step.
  func begin() { last = clock() }

  /// Adds the time since the previous mark to `phase`.
  func end(_ phase: Phase) {
    let t = clock()
    seconds[phase.rawValue] += t - last
    last = t
  }
}

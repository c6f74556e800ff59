// The binary entropy of a firing rate and its derivative, with the reference's ε = 1e-10 inside the
// logs (spec §3). Kept in Double: p is an exact ratio of integer counts.
import Foundation

/// The binary entropy H_b of a firing rate and its derivative, with the reference's ε inside the logs.
public enum BinaryEntropy {
  /// ε added inside each log2 (the reference's 1e-10).
  public static let epsilon = 1e-10

  /// H_b(p) = −p·log2(p + ε) − (1 − p)·log2(1 − p + ε), in bits.
  /// A constant bit (p = 0 or 1) contributes exactly 0, as in the float32 reference (where 1 + ε
  /// rounds to 1); in Double it would be −1.4e-10 and a threshold of 0 would then drop the term.
  public static func value(_ p: Double) -> Double {
    if p <= 0 || p >= 1 { return 0 }
    return -p * log2(p + epsilon) - (1 - p) * log2(1 - p + epsilon)
  }

  /// dH_b/dp = −[log2(p+ε) + p/((p+ε)·ln2) − log2(1−p+ε) − (1−p)/((1−p+ε)·ln2)] (≈ log2((1−p)/p)).
  public static func derivative(_ p: Double) -> Double {
    let ln2 = M_LN2
    return
      -(log2(p + epsilon) + p / ((p + epsilon) * ln2)
      - log2(1 - p + epsilon) - (1 - p) / ((1 - p + epsilon) * ln2))
  }

  /// Ĥ = Σ_j H_b(count_j / n) over all bits.
  public static func total(counts: UnsafeBufferPointer<Int64>, rows: Int) -> Double {
    guard rows > 0 else { return 0 }
    var h = 0.0
    for c in counts { h += value(Double(c) / Double(rows)) }
    return h
  }
}

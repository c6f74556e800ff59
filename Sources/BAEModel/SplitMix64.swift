import Foundation

// Deterministic, documented PRNG for initialisation and synthetic data (SplitMix64, Steele et al. 2014),
// so a seed means the same weights on every platform and rank.

/// SplitMix64 generator; `RandomNumberGenerator` so it also drives Swift's shuffles.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  public var state: UInt64
  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in [0, 1) with 53 random bits.
  public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

  /// Standard normal (Box–Muller; one value per call, the pair's second half discarded for simplicity).
  public mutating func nextGaussian() -> Double {
    var u = nextUnit()
    while u <= 0 { u = nextUnit() }
    let v = nextUnit()
    return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * Double.pi * v)
  }
}


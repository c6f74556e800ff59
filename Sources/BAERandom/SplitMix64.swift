// The one PRNG of the project: SplitMix64 (Steele, Lea & Flood 2014), chosen because it is tiny,
// fully specified and easy to reproduce from Python. It seeds initialisation, synthetic data and the
// store's shuffles (Documentation/ActivationStore.md); changing it changes every seeded result.
import Foundation

/// SplitMix64 generator with an unbiased bounded draw (Lemire's multiply-and-reject).
public struct SplitMix64: RandomNumberGenerator, Sendable {
  /// The 64-bit counter; each draw adds the golden-ratio increment and mixes it. Saving it saves the stream.
  public var state: UInt64

  /// A generator that continues from `state` (a seed, or a state saved from an earlier generator).
  public init(state: UInt64) { self.state = state }

  /// The same as `init(state:)`: the seed is the starting state (initialisation, synthetic data).
  public init(seed: UInt64) { self.state = seed }

  /// The SplitMix64 output function applied to one value (a strong 64-bit mixer).
  @inlinable
  public static func mix(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A generator for one named stream of one epoch: state = mix(mix(seed) ^ epoch) ^ mix(stream + 1).
  /// Different (seed, epoch, stream) triples give unrelated sequences.
  public init(seed: UInt64, epoch: Int, stream: UInt64) {
    precondition(epoch >= 0, "epoch \(epoch) must be >= 0")
    self.state = SplitMix64.mix(SplitMix64.mix(seed) ^ UInt64(epoch)) ^ SplitMix64.mix(stream &+ 1)
  }

  /// The next 64 uniformly distributed bits (advances `state` by one step).
  @inlinable
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    return SplitMix64.mix(state)
  }

  /// Uniform integer in 0..<bound, without modulo bias.
  @inlinable
  public mutating func next(below bound: UInt64) -> UInt64 {
    precondition(bound > 0, "bound must be > 0")
    var m = next().multipliedFullWidth(by: bound)
    if m.low < bound {
      let threshold = (0 &- bound) % bound
      while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
    }
    return m.high
  }

  /// Fisher–Yates shuffle (Durstenfeld, from the back), driven by `next(below:)`.
  public mutating func shuffle(_ a: inout [Int]) {
    var i = a.count - 1
    while i > 0 {
      let j = Int(next(below: UInt64(i + 1)))
      a.swapAt(i, j)
      i -= 1
    }
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

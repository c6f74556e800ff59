import BAEModel
// The synthetic set of spec §7 with known entropy: r independent fair bits times random unit
// directions in d dimensions, plus optional Gaussian noise. True entropy: r bits.
import BAERandom

/// The synthetic data set with known entropy (`bae synth`, tests).
public enum SyntheticData {
  /// Row-major (rows, dim) values. Directions are normalised Gaussian vectors; all seeded.
  public static func generate(bits r: Int, dim d: Int, rows n: Int, noise: Double, seed: UInt64) -> [Float] {
    precondition(r > 0 && d > 0 && n > 0 && noise >= 0, "synthetic: bits \(r) dim \(d) rows \(n) noise \(noise)")
    var rng = SplitMix64(seed: seed)
    var directions = [Double](repeating: 0, count: r * d)
    for i in 0..<r {
      var norm = 0.0
      for k in 0..<d {
        let g = rng.nextGaussian()
        directions[i * d + k] = g
        norm += g * g
      }
      norm = norm.squareRoot()
      for k in 0..<d { directions[i * d + k] /= norm }
    }
    var out = [Float](repeating: 0, count: n * d)
    var row = [Double](repeating: 0, count: d)
    for j in 0..<n {
      for k in 0..<d { row[k] = noise > 0 ? noise * rng.nextGaussian() : 0 }
      var bits: UInt64 = 0
      for i in 0..<r {
        if i % 64 == 0 { bits = rng.next() }
        if (bits >> UInt64(i % 64)) & 1 == 1 { for k in 0..<d { row[k] += directions[i * d + k] } }
      }
      for k in 0..<d { out[j * d + k] = Float(row[k]) }
    }
    return out
  }
}

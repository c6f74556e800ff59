// The ComSem sample builder of spec §7: every token goes to its top-k features by score — the BAE's
// β_ij = log2(|h_ij − p_j| + 1e-6), an SAE latent's activation or z-score (FeatureScorer) — and a
// feature keeps its first samples in corpus order (5 to describe, up to 8 to test), so memory is bounded
// by features × 13 row indices whatever the corpus size.
import Foundation

/// Assigns tokens to features by score and keeps each feature's first samples in corpus order.
public struct ComSemSampler: Sendable {
  /// The constant inside the log of β (spec §7).
  public static let betaEpsilon = 1e-6

  /// How a token's values are scored.
  public let scorer: FeatureScorer
  /// Features each token is assigned to (reference: 10).
  public let topK: Int
  /// Samples shown to the judge to name the commonality (reference: 5).
  public let describeCount: Int
  /// Further samples judged Yes/No (reference: at most 8).
  public let testCount: Int
  /// A feature with fewer samples than this is not interpretable (reference: 6 = describe + 1 test).
  public var minimumSamples: Int { describeCount + 1 }
  /// Samples kept per feature.
  public var capacity: Int { describeCount + testCount }

  /// Row indices of each feature's first `capacity` samples, in corpus order.
  public private(set) var samples: [[Int]]
  /// How many tokens were assigned to each feature in total (not capped).
  public private(set) var assignedCounts: [Int]
  /// Rows seen so far.
  public private(set) var rowsSeen = 0

  /// A sampler ranking by `scorer` (its width is the number of features).
  public init(scorer: FeatureScorer, topK: Int = 10, describeCount: Int = 5, testCount: Int = 8) {
    let m = scorer.features
    precondition(topK >= 1 && topK <= m, "topK \(topK) must be in 1...\(m) (features)")
    precondition(describeCount >= 1 && testCount >= 0, "describeCount \(describeCount), testCount \(testCount)")
    self.scorer = scorer
    self.topK = topK
    self.describeCount = describeCount
    self.testCount = testCount
    samples = Array(repeating: [], count: m)
    assignedCounts = Array(repeating: 0, count: m)
  }

  /// The BAE's sampler: β under firing rates p_j over the corpus.
  public init(rates: [Double], topK: Int = 10, describeCount: Int = 5, testCount: Int = 8) {
    self.init(scorer: .beta(rates: rates), topK: topK, describeCount: describeCount, testCount: testCount)
  }

  /// β_ij = log2(|h − p| + 1e-6) for a code value h ∈ {0, 1} and a firing rate p.
  public static func beta(h: Float, p: Double) -> Double {
    log2(abs(Double(h) - p) + betaEpsilon)
  }

  /// The (at most) `topK` features of one token by score, best first; ties go to the lower feature
  /// index; non-candidates (score −∞, e.g. an SAE latent that is off) are never chosen.
  /// `codes` is the token's value row: h (0/1) for a BAE, activations for an SAE, a random code.
  public func topFeatures(_ codes: UnsafeBufferPointer<Float>) -> [Int] {
    precondition(
      codes.count == scorer.features, "value row has \(codes.count) values, sampler has \(scorer.features) features")
    // Insertion into a short sorted list: (score desc, index asc). k ≪ features, so most
    // candidates fail the first comparison against the current k-th best.
    var best: [(dev: Double, j: Int)] = []
    best.reserveCapacity(topK + 1)
    for j in 0..<codes.count {
      let dev = scorer.score(codes[j], feature: j)
      if dev == -.infinity || (best.count == topK && dev <= best[topK - 1].dev) { continue }
      var at = best.count
      while at > 0 && best[at - 1].dev < dev { at -= 1 }
      best.insert((dev, j), at: at)
      if best.count > topK { best.removeLast() }
    }
    return best.map(\.j)
  }

  /// Adds the next token in corpus order (global row `row`) with value row `codes`.
  public mutating func add(row: Int, codes: UnsafeBufferPointer<Float>) {
    for j in topFeatures(codes) {
      assignedCounts[j] += 1
      if samples[j].count < capacity { samples[j].append(row) }
    }
    rowsSeen += 1
  }

  /// Whether feature `j` has enough samples to be described and tested.
  public func isInterpretable(_ j: Int) -> Bool { samples[j].count >= minimumSamples }

  /// The samples of feature `j` shown to the judge to describe it.
  public func describeSamples(_ j: Int) -> ArraySlice<Int> { samples[j].prefix(describeCount) }

  /// The samples of feature `j` judged against the description (may be empty).
  public func testSamples(_ j: Int) -> ArraySlice<Int> { samples[j].dropFirst(describeCount) }
}

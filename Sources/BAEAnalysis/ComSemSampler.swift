// The ComSem sample builder of spec §7: every token goes to its top-k features by
// β_ij = log2(|h_ij − p_j| + 1e-6); a feature keeps its first samples in corpus order (5 to describe,
// up to 8 to test), so memory is bounded by features × 13 row indices whatever the corpus size.
import Foundation

/// Assigns tokens to features by β and keeps each feature's first samples in corpus order.
public struct ComSemSampler: Sendable {
  /// The constant inside the log of β (spec §7).
  public static let betaEpsilon = 1e-6

  /// Firing rate p_j of every feature over the corpus (the first pass).
  public let rates: [Double]
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

  // |h − p| for h = 1 and h = 0, per feature: β is monotone in it, so ranking uses it directly.
  private let deviationOn: [Double]
  private let deviationOff: [Double]

  /// A sampler for features with firing rates `rates`; each token goes to its `topK` features by β, each feature keeps
  /// `describeCount + testCount` samples.
  public init(rates: [Double], topK: Int = 10, describeCount: Int = 5, testCount: Int = 8) {
    precondition(topK >= 1 && topK <= rates.count, "topK \(topK) must be in 1...\(rates.count) (features)")
    precondition(describeCount >= 1 && testCount >= 0, "describeCount \(describeCount), testCount \(testCount)")
    self.rates = rates
    self.topK = topK
    self.describeCount = describeCount
    self.testCount = testCount
    samples = Array(repeating: [], count: rates.count)
    assignedCounts = Array(repeating: 0, count: rates.count)
    deviationOn = rates.map { abs(1 - $0) }
    deviationOff = rates.map { abs($0) }
  }

  /// β_ij = log2(|h − p| + 1e-6) for a code value h ∈ {0, 1} and a firing rate p.
  public static func beta(h: Float, p: Double) -> Double {
    log2(abs(Double(h) - p) + betaEpsilon)
  }

  /// The `topK` features of one token by β, best first; ties go to the lower feature index.
  /// `codes` is the token's code row h (0/1), one value per feature.
  public func topFeatures(_ codes: UnsafeBufferPointer<Float>) -> [Int] {
    precondition(codes.count == rates.count, "code row has \(codes.count) values, sampler has \(rates.count) features")
    // Insertion into a short sorted list: (deviation desc, index asc). k ≪ features, so most
    // candidates fail the first comparison against the current k-th best.
    var best: [(dev: Double, j: Int)] = []
    best.reserveCapacity(topK + 1)
    for j in 0..<codes.count {
      let dev = codes[j] > 0 ? deviationOn[j] : deviationOff[j]
      if best.count == topK && dev <= best[topK - 1].dev { continue }
      var at = best.count
      while at > 0 && best[at - 1].dev < dev { at -= 1 }
      best.insert((dev, j), at: at)
      if best.count > topK { best.removeLast() }
    }
    return best.map(\.j)
  }

  /// Adds the next token in corpus order (global row `row`) with code row `codes`.
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

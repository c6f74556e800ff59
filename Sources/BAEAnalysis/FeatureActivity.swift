// Dead / dense / near-constant classes of a feature from its firing rate over the corpus. For a BAE a
// bit that is almost always on carries as little as one that is almost always off, so the classes
// look at min(p, 1 − p) as well as at p (spec §7). Thresholds match the trainer's step log.
import Foundation

/// How a feature's firing rate classifies it. The classes overlap (an always-on bit is also dense).
public struct FeatureActivity: Codable, Sendable, Equatable {
  /// Fraction of rows above which a feature is dense.
  public static let denseRate = 0.5
  /// min(p, 1 − p) below which a feature is near-constant.
  public static let nearConstantRate = 1e-3

  /// Firing rate p over the corpus.
  public var rate: Double
  /// min(p, 1 − p): the rate of the bit's rarer state.
  public var minorityRate: Double
  /// Never fires (p = 0).
  public var dead: Bool
  /// Fires on every row (p = 1): the BAE's mirror image of dead.
  public var alwaysOn: Bool
  /// Fires on more than half of the rows (p > 0.5): its informative state is being off.
  public var dense: Bool
  /// min(p, 1 − p) < 1e-3 (dead and always-on included): at most 1 row in 1,000 differs from the usual state.
  public var nearConstant: Bool

  /// The classes of a feature that fires on a fraction `p` (0...1) of the rows.
  public init(rate p: Double) {
    rate = p
    minorityRate = min(p, 1 - p)
    dead = p == 0
    alwaysOn = p == 1
    dense = p > Self.denseRate
    nearConstant = min(p, 1 - p) < Self.nearConstantRate
  }
}

/// Counts of the activity classes over all features.
public struct ActivitySummary: Codable, Sendable, Equatable {
  /// Features counted (d'·k for a BAE).
  public var features: Int
  /// Features that never fire (p = 0).
  public var dead: Int
  /// Features that fire on every row (p = 1).
  public var alwaysOn: Int
  /// Features that fire on more than half of the rows (p > 0.5).
  public var dense: Int
  /// Features with min(p, 1 − p) < 1e-3 (dead and always-on included).
  public var nearConstant: Int
  /// Features with 1e-3 ≤ min(p, 1 − p) and p ≤ 0.5: fire on a minority of rows, not vanishingly rarely.
  public var sparseAndAlive: Int

  /// Counts the classes over `activities`.
  public init(_ activities: [FeatureActivity]) {
    features = activities.count
    dead = activities.filter(\.dead).count
    alwaysOn = activities.filter(\.alwaysOn).count
    dense = activities.filter(\.dense).count
    nearConstant = activities.filter(\.nearConstant).count
    sparseAndAlive = activities.filter { !$0.dense && !$0.nearConstant }.count
  }
}

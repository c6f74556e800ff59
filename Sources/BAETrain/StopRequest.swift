// The stop flag a signal handler sets and the training loop reads at step boundaries.
import Foundation

/// A flag a signal handler can set; read by the loop at step boundaries.
public final class StopRequest: @unchecked Sendable {
  private let lock = NSLock()
  private var flag = false
  /// A flag that is not set.
  public init() {}
  /// Requests a stop (safe from any thread).
  public func set() {
    lock.lock()
    flag = true
    lock.unlock()
  }
  /// Whether a stop was requested.
  public var isSet: Bool {
    lock.lock()
    defer { lock.unlock() }
    return flag
  }
}

// A thread that watches the training loop: when one step (fetch, compute, collectives, checkpoint)
// runs longer than the timeout, it calls `onExpire` with the step number. The caller decides how to
// leave (the `bae` executable logs and aborts the job); library code never exits.
import Foundation

/// Watches one step at a time; `begin`/`end` bracket each step.
public final class StepWatchdog: @unchecked Sendable {
  /// Seconds one step may take before `onExpire` is called.
  public let timeout: Double
  /// The shortest wait between two looks at the clock (1 ms), whatever the timeout.
  static let shortestPoll = 0.001
  private let onExpire: @Sendable (_ step: Int, _ seconds: Double) -> Void
  private let condition = NSCondition()
  private var current: (step: Int, start: Double)?
  private var stopped = false
  private var fired = false

  /// Starts the watching thread; `timeout` in seconds (> 0).
  public init(timeout: Double, onExpire: @escaping @Sendable (_ step: Int, _ seconds: Double) -> Void) {
    precondition(timeout > 0, "watchdog timeout \(timeout) must be > 0")
    self.timeout = timeout
    self.onExpire = onExpire
    let thread = Thread { [self] in watch() }
    thread.name = "bae-step-watchdog"
    thread.start()
  }

  /// Step `step` (1-based, the one about to run) starts now.
  public func begin(step: Int) {
    condition.lock()
    current = (step, now())
    condition.unlock()
  }

  /// The current step finished (or the loop is in an unwatched phase such as validation).
  public func end() {
    condition.lock()
    current = nil
    condition.unlock()
  }

  /// Ends the thread.
  public func stop() {
    condition.lock()
    stopped = true
    condition.signal()
    condition.unlock()
  }

  private func watch() {
    condition.lock()
    while !stopped {
      if let c = current, !fired, now() - c.start >= timeout {
        fired = true
        condition.unlock()
        onExpire(c.step, now() - c.start)
        condition.lock()
        continue
      }
      // poll a few times per timeout, at least once a second, so expiry is noticed promptly, and at
      // most every `shortestPoll` seconds: a tiny timeout (1e-320 s) made this loop spin on a core
      _ = condition.wait(until: Date(timeIntervalSinceNow: Swift.max(Self.shortestPoll, Swift.min(1, timeout / 4))))
    }
    condition.unlock()
  }
}

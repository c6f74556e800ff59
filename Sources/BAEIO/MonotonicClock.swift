// The one monotonic clock of the project (timings in metrics, benchmarks, the store's decode rates).
import Dispatch

/// Monotonic seconds since an arbitrary origin.
public func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

// Start-up agreement built only from the model's `Collectives` (so SingleProcess, MPI and simulated
// ranks all get it): a root-only phase whose failure every rank learns, and a small broadcast done as
// a sum to which only rank 0 contributes (payloads here are a few hundred bytes, sent once).
import BAEModel

extension Collectives {
  /// Runs `body` on rank 0 only; every rank learns whether it succeeded. Rank 0 rethrows its own
  /// error, the other ranks throw `TrainingError.rankFailed`, so no rank waits in a later collective.
  func onRoot<T>(_ phase: String, _ body: () throws -> T) throws -> T? {
    var result: T?
    var failure: (any Error)?
    if rank == 0 {
      do { result = try body() } catch { failure = error }
    }
    var flag: [Int64] = [failure == nil ? 0 : 1]
    try flag.withUnsafeMutableBufferPointer { try sum($0) }
    if let failure { throw failure }
    if flag[0] != 0 { throw TrainingError.rankFailed(phase: phase) }
    return result
  }

  /// Runs `body` on every rank; if it fails on any rank, every rank throws (the failing ones their
  /// own error, the others `TrainingError.rankFailed`).
  func onEveryRank<T>(_ phase: String, _ body: () throws -> T) throws -> T {
    var result: T?
    var failure: (any Error)?
    do { result = try body() } catch { failure = error }
    var flag: [Int64] = [failure == nil ? 0 : 1]
    try flag.withUnsafeMutableBufferPointer { try sum($0) }
    if let failure { throw failure }
    guard flag[0] == 0, let result else { throw TrainingError.rankFailed(phase: phase) }
    return result
  }

  /// Rank 0's `bytes` on every rank (other ranks' arguments are ignored).
  func broadcastFromRoot(_ bytes: [UInt8]) throws -> [UInt8] {
    var count: [Int64] = [rank == 0 ? Int64(bytes.count) : 0]
    try count.withUnsafeMutableBufferPointer { try sum($0) }
    let n = Int(count[0])
    var words = [UInt64](repeating: 0, count: (n + 7) / 8)
    if rank == 0 {
      words.withUnsafeMutableBytes { w in w.copyBytes(from: bytes) }
    }
    try words.withUnsafeMutableBufferPointer { try sum($0) }
    return words.withUnsafeBytes { Array($0.prefix(n)) }
  }

  /// Rank 0's value of `x` on every rank.
  func broadcastFromRoot(_ x: Int) throws -> Int {
    var v: [Int64] = [rank == 0 ? Int64(x) : 0]
    try v.withUnsafeMutableBufferPointer { try sum($0) }
    return Int(v[0])
  }
}

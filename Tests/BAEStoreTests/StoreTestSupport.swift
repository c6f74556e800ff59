import BAERandom
import Foundation
import XCTest

@testable import BAEStore

/// A fresh temporary directory per call (removed by the caller's tearDown or left in /tmp).
func makeTempDir(_ name: String) -> URL {
  let url = FileManager.default.temporaryDirectory
    .appendingPathComponent("bae-store-\(name)-\(UInt32.random(in: 0...UInt32.max))")
  try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// Deterministic pseudo-Gaussian rows (Box–Muller on SplitMix64), with a few large outliers.
func gaussianRows(_ rows: Int, _ dim: Int, seed: UInt64) -> [Float] {
  var g = SplitMix64(state: seed)
  var out = [Float](repeating: 0, count: rows * dim)
  for i in 0..<out.count {
    let u1 = max(Double(g.next() >> 11) / Double(1 << 53), 1e-300)
    let u2 = Double(g.next() >> 11) / Double(1 << 53)
    out[i] = Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
  }
  if rows > 3 {
    out[3 * dim] = 1234.5
    out[1] = -7.25e-5
  }
  return out
}

/// Writes a dataset of `values` and returns its directory.
@discardableResult
func writeDataset(
  _ values: [Float], dim: Int, rowsPerShard: Int, options: ShardOptions, at dir: URL,
  tokens: [TokenRecord]? = nil
) throws -> DatasetManifest {
  let w = try DatasetWriter(directory: dir, inputDim: dim, options: options, source: ["model": "test", "layer": "3"])
  let rows = values.count / dim
  var lo = 0
  while lo < rows {
    let hi = min(rows, lo + rowsPerShard)
    try values.withUnsafeBufferPointer {
      try w.appendShard(UnsafeBufferPointer(rebasing: $0[(lo * dim)..<(hi * dim)]), tokens: tokens?[lo..<hi])
    }
    lo = hi
  }
  return try w.finish()
}

/// The StoreError `body` throws (nil, with a test failure, if it returns or throws another type).
func storeError<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> StoreError? {
  do {
    _ = try body()
    XCTFail("expected a StoreError, nothing was thrown", file: file, line: line)
  } catch let e as StoreError {
    return e
  } catch {
    XCTFail("expected a StoreError, got \(type(of: error)): \(error)", file: file, line: line)
  }
  return nil
}

/// Runs `body` on its own thread and waits up to `seconds` for it: turns a hang (the bug some
/// tests guard against) into a test failure instead of a stuck run. On a time-out `unblock` runs
/// so the stuck thread can finish, and the result is nil.
func finishing<T>(
  within seconds: Double, _ what: String, unblock: () -> Void = {},
  _ body: @escaping @Sendable () throws -> T, file: StaticString = #filePath, line: UInt = #line
) -> Result<T, Error>? {
  let box = ResultBox<T>()
  let done = DispatchSemaphore(value: 0)
  Thread {
    box.result = Result { try body() }
    done.signal()
  }.start()
  guard done.wait(timeout: .now() + seconds) == .success else {
    XCTFail("\(what) did not return within \(seconds) s (it blocks)", file: file, line: line)
    unblock()
    return nil
  }
  return box.result
}

/// Makes a FIFO at `url` (inside a test's temporary directory).
func makeFIFO(_ url: URL) {
  precondition(url.path.hasPrefix(FileManager.default.temporaryDirectory.path), "FIFOs only in the temporary directory")
  precondition(mkfifo(url.path, 0o600) == 0, "mkfifo \(url.path): errno \(errno)")
}

/// Opens and closes the write side of a FIFO without blocking, releasing a reader stuck in open(2).
func releaseFIFO(_ url: URL) {
  let fd = open(url.path, O_RDWR | O_NONBLOCK)
  if fd >= 0 { close(fd) }
}

private final class ResultBox<T>: @unchecked Sendable { var result: Result<T, Error>? }  // written before signal, read after wait

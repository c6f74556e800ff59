import BAERandom
import Foundation
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
  if rows > 3 { out[3 * dim] = 1234.5; out[1] = -7.25e-5 }
  return out
}

/// Writes a dataset of `values` and returns its directory.
@discardableResult
func writeDataset(_ values: [Float], dim: Int, rowsPerShard: Int, options: ShardOptions, at dir: URL,
                  tokens: [TokenRecord]? = nil) throws -> DatasetManifest {
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

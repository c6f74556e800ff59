// `bae inspect` as a library call: sizes, value statistics and (optionally) a full verification of
// every frame checksum and every content hash in the manifest.
import Foundation

/// Statistics and integrity report of a dataset.
public struct DatasetReport: Codable, Sendable {
  /// The dataset's manifest, as read.
  public var manifest: DatasetManifest
  /// Bytes of all shard files.
  public var compressedBytes: Int
  /// rows·inputDim·4: the size of the same data as raw f32.
  public var rawF32Bytes: Int
  /// rawF32Bytes / compressedBytes.
  public var ratioVsF32: Double
  /// Rows the statistics were computed over (all when verifying, else a sample of frames).
  public var statisticsRows: Int
  /// Mean of all values in `statisticsRows` rows (activation units).
  public var mean: Double
  /// Standard deviation of those values (population, one pass).
  public var std: Double
  /// Mean L2 norm of a row.
  public var meanRowNorm: Double
  /// Largest absolute value seen.
  public var maxAbs: Double
  /// Non-finite values seen (NaN/Inf).
  public var nonFinite: Int
  /// Whether every frame and content hash was checked.
  public var verified: Bool
  /// Problems found (descriptions of StoreError), empty if intact.
  public var problems: [String]
}

/// Reads a dataset for `bae inspect`: statistics, compression and, with `verify`, an integrity check.
public enum DatasetInspector {
  /// Opens `directory` and reports on it. With `verify`, decodes every frame (checking its XXH64 and
  /// zstd checksum) and re-hashes every file against the manifest; else samples up to `sampleFrames`.
  public static func inspect(
    _ directory: URL, verify: Bool, sampleFrames: Int = 16,
    progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> DatasetReport {
    let ds = try ShardDataset(directory: directory, cacheFrames: 1)
    let m = ds.manifest
    var problems: [String] = []
    var n = 0, sum = 0.0, sumSq = 0.0, normSum = 0.0, maxAbs = 0.0, nonFinite = 0
    let decoder = FrameDecoder()
    var scratch: [UInt8] = []
    var buf: [Float] = []  // sized by each frame after its checks, never from header fields alone
    let totalFrames = ds.shards.reduce(0) { $0 + $1.header.frameCount }
    var framesDone = 0
    var sampled = 0
    for (si, shard) in ds.shards.enumerated() {
      let entry = m.shards[si]
      if verify {
        do {
          let h = XXH64.hex(try shard.contentHash())
          if h != entry.xxh64 {
            problems.append(
              StoreError.contentHashMismatch(file: shard.path, expected: entry.xxh64, found: h).description)
          }
          if let t = entry.tokens {
            let url = directory.appendingPathComponent(t)
            let th = XXH64.hex(try contentHash(of: url))
            if th != entry.tokensXXH64 {
              problems.append(
                StoreError.contentHashMismatch(file: url.path, expected: entry.tokensXXH64 ?? "none", found: th)
                  .description)
            }
          }
        } catch { problems.append("\(error)") }
      }
      for k in 0..<shard.header.frameCount {
        framesDone += 1
        guard verify || sampled < sampleFrames else { continue }
        sampled += 1
        let rows = shard.header.rowsInFrame(k)
        do {
          try shard.decodeFrame(k, into: &buf, decoder: decoder, scratch: &scratch)
        } catch {
          problems.append("\(error)")
          continue
        }
        for r in 0..<rows {
          var sq = 0.0
          for j in 0..<m.inputDim {
            let v = Double(buf[r * m.inputDim + j])
            guard v.isFinite else {
              nonFinite += 1
              continue
            }
            sum += v
            sumSq += v * v
            sq += v * v
            maxAbs = max(maxAbs, abs(v))
          }
          normSum += sq.squareRoot()
        }
        n += rows
        if verify { progress(framesDone, totalFrames) }
      }
    }
    let compressed = ds.shards.reduce(0) { $0 + $1.fileSize }
    let raw = m.rows * m.inputDim * 4  // cannot overflow: DatasetManifest.read checked it
    let count = Double(max(1, n * m.inputDim - nonFinite))
    let mean = sum / count
    return DatasetReport(
      manifest: m, compressedBytes: compressed, rawF32Bytes: raw,
      ratioVsF32: Double(raw) / Double(max(1, compressed)), statisticsRows: n, mean: mean,
      std: max(0, sumSq / count - mean * mean).squareRoot(),
      meanRowNorm: normSum / Double(max(1, n)), maxAbs: maxAbs, nonFinite: nonFinite,
      verified: verify, problems: problems)
  }
}

import BAEIO
// Measurements behind `bae bench store`: compression ratio and single-core decode throughput of
// every dtype with and without byte shuffling, on any (rows, inputDim) matrix.
import BAERandom
import Dispatch
import Foundation

/// One benchmark row.
public struct StoreBenchResult: Codable, Sendable {
  /// The stored element type measured.
  public var dtype: StoreDType
  /// Whether frames were byte-shuffled before compression.
  public var shuffle: Bool
  /// Raw f32 bytes / compressed bytes.
  public var ratioVsF32: Double
  /// Raw bytes of this dtype / compressed bytes (zstd's own gain).
  public var ratioVsDType: Double
  /// f32-equivalent GB/s of decoding (zstd + unshuffle + convert) on one core.
  public var decodeGBps: Double
  /// Compression GB/s (f32-equivalent) with all cores.
  public var encodeGBps: Double
}

/// `bae bench store`: compression ratio and encode/decode throughput of each dtype with and without shuffle.
public enum StoreBenchmark {
  /// Benchmarks `values` (rows·inputDim). Decoding is repeated until `minSeconds` have passed.
  public static func run(
    _ values: [Float], inputDim: Int, rowsPerFrame: Int = 256, level: Int32 = 1,
    minSeconds: Double = 0.5
  ) -> [StoreBenchResult] {
    precondition(values.count % inputDim == 0, "values.count \(values.count) not a multiple of inputDim \(inputDim)")
    let rows = values.count / inputDim
    let rawF32 = Double(values.count * 4)
    var results: [StoreBenchResult] = []
    for dtype in StoreDType.allCases {
      for shuffle in [false, true] {
        let opt = ShardOptions(dtype: dtype, rowsPerFrame: rowsPerFrame, shuffle: shuffle, level: level)
        let t0 = monotonicSeconds()
        let frames = values.withUnsafeBufferPointer { ShardWriter.compressFrames($0, inputDim: inputDim, options: opt) }
        let encodeSeconds = monotonicSeconds() - t0
        let compressed = Double(frames.reduce(0) { $0 + $1.count })
        let decoder = FrameDecoder()
        var out = [Float](repeating: 0, count: rowsPerFrame * inputDim)
        var decoded = 0.0
        let t1 = monotonicSeconds()
        repeat {
          for (k, f) in frames.enumerated() {
            let n = min(rowsPerFrame, rows - k * rowsPerFrame) * inputDim
            f.withUnsafeBytes { src in
              out.withUnsafeMutableBufferPointer { o in
                // Benchmark frames come from our own encoder: a failure here is a bug.
                try! decoder.decode(
                  src, dtype: dtype, shuffled: shuffle,
                  into: UnsafeMutableBufferPointer(rebasing: o[0..<n]), file: "bench", frame: k)
              }
            }
            decoded += Double(n * 4)
          }
        } while monotonicSeconds() - t1 < minSeconds
        let decodeSeconds = monotonicSeconds() - t1
        results.append(
          StoreBenchResult(
            dtype: dtype, shuffle: shuffle, ratioVsF32: rawF32 / compressed,
            ratioVsDType: rawF32 / 4 * Double(dtype.size) / compressed,
            decodeGBps: decoded / decodeSeconds / 1e9, encodeGBps: rawF32 / encodeSeconds / 1e9))
      }
    }
    return results
  }

  /// Standard-normal values from SplitMix64, `count` of them.
  public static func gaussian(count: Int, seed: UInt64) -> [Float] {
    var g = SplitMix64(seed: seed)
    return (0..<count).map { _ in Float(g.nextGaussian()) }
  }
}

// Measurements behind `bae bench store`: compression ratio and single-core decode throughput of
// every dtype with and without byte shuffling, on any (rows, inputDim) matrix.
import BAERandom
import Dispatch
import Foundation

/// One benchmark row.
public struct StoreBenchResult: Codable, Sendable {
  public var dtype: StoreDType
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

public enum StoreBenchmark {
  /// Benchmarks `values` (rows·inputDim). Decoding is repeated until `minSeconds` have passed.
  public static func run(_ values: [Float], inputDim: Int, rowsPerFrame: Int = 256, level: Int32 = 1,
                         minSeconds: Double = 0.5) -> [StoreBenchResult] {
    precondition(values.count % inputDim == 0, "values.count \(values.count) not a multiple of inputDim \(inputDim)")
    let rows = values.count / inputDim
    let rawF32 = Double(values.count * 4)
    var results: [StoreBenchResult] = []
    for dtype in StoreDType.allCases {
      for shuffle in [false, true] {
        let opt = ShardOptions(dtype: dtype, rowsPerFrame: rowsPerFrame, shuffle: shuffle, level: level)
        let t0 = now()
        let frames = values.withUnsafeBufferPointer { ShardWriter.compressFrames($0, inputDim: inputDim, options: opt) }
        let encodeSeconds = now() - t0
        let compressed = Double(frames.reduce(0) { $0 + $1.count })
        let decoder = FrameDecoder()
        var out = [Float](repeating: 0, count: rowsPerFrame * inputDim)
        var decoded = 0.0
        let t1 = now()
        repeat {
          for (k, f) in frames.enumerated() {
            let n = min(rowsPerFrame, rows - k * rowsPerFrame) * inputDim
            f.withUnsafeBytes { src in
              out.withUnsafeMutableBufferPointer { o in
                // Benchmark frames come from our own encoder: a failure here is a bug.
                try! decoder.decode(src, dtype: dtype, shuffled: shuffle,
                                    into: UnsafeMutableBufferPointer(rebasing: o[0..<n]), file: "bench", frame: k)
              }
            }
            decoded += Double(n * 4)
          }
        } while now() - t1 < minSeconds
        let decodeSeconds = now() - t1
        results.append(StoreBenchResult(dtype: dtype, shuffle: shuffle, ratioVsF32: rawF32 / compressed,
                                        ratioVsDType: rawF32 / 4 * Double(dtype.size) / compressed,
                                        decodeGBps: decoded / decodeSeconds / 1e9, encodeGBps: rawF32 / encodeSeconds / 1e9))
      }
    }
    return results
  }

  /// Standard-normal values (Box–Muller over SplitMix64), `count` of them.
  public static func gaussian(count: Int, seed: UInt64) -> [Float] {
    var g = SplitMix64(state: seed)
    var out = [Float](repeating: 0, count: count)
    var i = 0
    while i < count {
      let u1 = max(Double(g.next() >> 11) / Double(1 << 53), 1e-300)
      let u2 = Double(g.next() >> 11) / Double(1 << 53)
      let r = (-2 * log(u1)).squareRoot()
      out[i] = Float(r * cos(2 * Double.pi * u2))
      if i + 1 < count { out[i + 1] = Float(r * sin(2 * Double.pi * u2)) }
      i += 2
    }
    return out
  }

  private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
}

import BAEComm
import BAEModel
// Weak scaling of data-parallel training (`bae bench scaling`): summaries of real `bae train` runs,
// latency/bandwidth fits to measured collectives, a per-rank compute profile split into the parts that
// stay constant under weak scaling and the parts that grow with the world size, and a projection.
import BAERandom
import BAETensor
import BAETrain
import CBAEKernels
import Foundation

/// Hockney model of a link: a message of b bytes costs α + b/β; collectives are sums of such steps.
public struct LinkModel: Codable, Sendable, Equatable {
  /// The link's label in reports, e.g. "shared memory" or a fitted network.
  public var name: String
  /// α: seconds per message step.
  public var latency: Double
  /// β: bytes per second of one step.
  public var bandwidth: Double

  /// A link with `latency` α (seconds per step) and `bandwidth` β (bytes per second).
  public init(name: String, latency: Double, bandwidth: Double) {
    self.name = name
    self.latency = latency
    self.bandwidth = bandwidth
  }

  /// Allreduce of `bytes` per rank over R ranks: the cheaper of a ring (reduce-scatter + allgather,
  /// 2(R−1) steps of bytes/R: 2(R−1)/R·bytes/β + 2(R−1)·α) and a binomial tree (reduce + broadcast,
  /// 2·⌈log2 R⌉ steps of the whole buffer), which wins for small messages.
  public func allreduce(bytes: Double, ranks r: Int) -> Double {
    guard r > 1 else { return 0 }
    let ring = 2 * Double(r - 1) / Double(r) * bytes / bandwidth + 2 * Double(r - 1) * latency
    let steps = 2 * Double(Int.bitWidth - (r - 1).leadingZeroBitCount)  // 2·⌈log2 R⌉
    let tree = steps * (latency + bytes / bandwidth)
    return Swift.min(ring, tree)
  }

  /// Ring allgather of `totalBytes` (all ranks' blocks together): R−1 steps of totalBytes/R.
  public func allgather(totalBytes: Double, ranks r: Int) -> Double {
    guard r > 1 else { return 0 }
    return Double(r - 1) / Double(r) * totalBytes / bandwidth + Double(r - 1) * latency
  }

  /// Fits α and β to 2-rank allreduce timings, where the ring gives t = 2α + bytes/β: α from the
  /// messages of at most `latencyBytes`, β from those of at least `bandwidthBytes` with α fixed
  /// (least squares in relative error, so no size dominates).
  public static func fitAllreduce(
    _ timings: [CollectiveTiming], name: String,
    latencyBytes: Int = 4096, bandwidthBytes: Int = 1 << 20
  ) -> LinkModel {
    fit(timings, name: name, steps: 2, latencyBytes: latencyBytes, bandwidthBytes: bandwidthBytes)
  }

  /// Fits α and β to 2-rank allgather timings (`bytes` = per rank), where t = α + bytes/β.
  public static func fitAllgather(
    _ timings: [CollectiveTiming], name: String,
    latencyBytes: Int = 4096, bandwidthBytes: Int = 1 << 20
  ) -> LinkModel {
    fit(timings, name: name, steps: 1, latencyBytes: latencyBytes, bandwidthBytes: bandwidthBytes)
  }

  static func fit(
    _ timings: [CollectiveTiming], name: String, steps: Double,
    latencyBytes: Int, bandwidthBytes: Int
  ) -> LinkModel {
    let small = timings.filter { $0.bytes <= latencyBytes }
    let large = timings.filter { $0.bytes >= bandwidthBytes }
    precondition(
      !small.isEmpty && !large.isEmpty,
      "fit needs sizes ≤ \(latencyBytes) B and ≥ \(bandwidthBytes) B, got \(timings.map(\.bytes))")
    // intercept a of t ≈ a + b·x over the small sizes, weights 1/t² (relative error)
    let (a0, _) = weightedLine(small.map { (Double($0.bytes), $0.secondsPerCall) })
    let a = Swift.max(a0, 0)
    // slope with the intercept fixed: minimise Σ ((a + b·x − t)/t)²  →  b = Σ x(t − a)/t² / Σ x²/t²
    var num = 0.0, den = 0.0
    for p in large {
      let x = Double(p.bytes), t = p.secondsPerCall
      num += x * (t - a) / (t * t)
      den += x * x / (t * t)
    }
    return LinkModel(name: name, latency: a / steps, bandwidth: den / Swift.max(num, 1e-300))
  }

  /// Least squares t ≈ a + b·x with weights 1/t²; returns (a, b).
  static func weightedLine(_ points: [(Double, Double)]) -> (Double, Double) {
    var sw = 0.0, sx = 0.0, st = 0.0, sxx = 0.0, sxt = 0.0
    for (x, t) in points {
      let w = 1 / (t * t)
      sw += w
      sx += w * x
      st += w * t
      sxx += w * x * x
      sxt += w * x * t
    }
    let det = sw * sxx - sx * sx
    if points.count < 2 || abs(det) < 1e-300 { return (st / sw, 0) }
    return ((st * sxx - sx * sxt) / det, (sw * sxt - sx * st) / det)
  }
}

/// The bytes a training step exchanges, by collective (spec §6; see Documentation/Distributed.md).
public struct StepTraffic: Codable, Sendable {
  /// Flat gradient, float32: 2·d·d' + d' + d values (allreduce).
  public var gradientBytes: Double
  /// S⁺ and S⁻ sign planes, UInt64: 2·m·wpr words (allreduce).
  public var signPlaneBytes: Double
  /// Per-bit counts (m Int64) + moments (2 + d doubles) + |d| sum + stop flag: four small allreduces.
  public var smallAllreduces: [Double]
  /// Packed codes of ONE rank: n_local·wpr words (allgatherv; the total is R times this).
  public var codeBytesPerRank: Double

  /// The traffic of one step at input width `d`, `dl` features and `n` rows per rank.
  public init(inputDim d: Int, latentDim dl: Int, localRows n: Int) {
    let m = dl, wpr = Int(bae_row_words(Int64(m)))
    gradientBytes = Double(4 * (2 * d * dl + dl + d))
    signPlaneBytes = Double(8 * 2 * m * wpr)
    smallAllreduces = [Double(8 * m), Double(8 * (2 + d)), 8, 8]
    codeBytesPerRank = Double(8 * n * wpr)
  }

  /// Seconds of communication per step at R ranks over `link` (allgather over `gatherLink`).
  public func seconds(ranks r: Int, link: LinkModel, gatherLink: LinkModel) -> (allreduce: Double, allgather: Double) {
    var ar = link.allreduce(bytes: gradientBytes, ranks: r) + link.allreduce(bytes: signPlaneBytes, ranks: r)
    for b in smallAllreduces { ar += link.allreduce(bytes: b, ranks: r) }
    return (ar, gatherLink.allgather(totalBytes: codeBytesPerRank * Double(r), ranks: r))
  }
}

/// The covariance work one rank does at world size R under weak scaling (n_global = R·n_local):
/// transposing ALL n_global gathered rows, and the pair signs of its share of the pair triangle.
public struct ScalePoint: Codable, Sendable {
  /// World size R.
  public var ranks: Int
  /// n_global = R · n_local rows per step.
  public var globalRows: Int
  /// bae_transpose_bits of the n_global × m gathered codes (every rank does all of it).
  public var transposeSeconds: Double
  /// Copying gathered column blocks (rank r's n_local bits of every column, whole words) into one
  /// column-major matrix: what replaces the transpose when each rank transposes only its own rows.
  public var regatherSeconds: Double
  /// bae_covariance_signs over the busiest rank's tile range (CovarianceWork.tileRange).
  public var pairSeconds: Double
  /// 64×64 tiles of the pair triangle the busiest rank owns, and the mean over ranks.
  public var busiestTiles: Int
  /// Mean tiles per rank.
  public var meanTiles: Double
  /// pairSeconds scaled to ⌈total tiles / R⌉ (equal to pairSeconds now that the trainer splits by tiles).
  public var balancedPairSeconds: Double { pairSeconds / Double(Swift.max(busiestTiles, 1)) * meanTiles.rounded(.up) }
}

/// Per-rank compute of one step at the benchmark shape, measured on this machine.
public struct ComputeProfile: Codable, Sendable {
  public var inputDim: Int, latentDim: Int, localRows: Int, blasThreads: Int, repeats: Int
  /// Whole step at one rank with λ_e = λ_c on (forward, statistics, backward, Adam): median seconds.
  public var stepSeconds: Double
  /// The same step with λ = 0: the three GEMMs, binarisation, Adam. Per-rank constant under weak scaling.
  public var coreSeconds: Double
  /// Transpose and pair work at R = 1 and at the projected world sizes.
  public var points: [ScalePoint]

  /// Covariance work that does not depend on R: H·S product over local rows, q = S·p, the entropy
  /// and covariance gradient terms (step − core − the R = 1 transpose and pairs).
  public var constantRegularizerSeconds: Double {
    Swift.max(0, stepSeconds - coreSeconds - points[0].transposeSeconds - points[0].pairSeconds)
  }
}

/// One world size's projected step.
public struct ScalingProjection: Codable, Sendable {
  /// World size R.
  public var ranks: Int
  /// Name of the link model the communication was projected over.
  public var network: String
  /// Which covariance design was projected (`ScalingBenchmark.Design`'s raw value).
  public var design: String
  /// Per-rank compute, seconds: the R-independent part plus `transposeSeconds` and `pairSeconds`.
  public var computeSeconds: Double
  /// Transpose (or regather) seconds at R.
  public var transposeSeconds: Double
  /// Pair-sign seconds of the busiest rank at R.
  public var pairSeconds: Double
  /// Projected allreduce seconds per step.
  public var allreduceSeconds: Double
  /// Projected allgather seconds per step.
  public var allgatherSeconds: Double
  /// Projected step time: compute plus communication (no overlap assumed).
  public var stepSeconds: Double { computeSeconds + allreduceSeconds + allgatherSeconds }
  /// Weak-scaling efficiency against the measured 1-rank step.
  public var efficiency: Double
}

/// Medians of a real `bae train` run's metrics.jsonl after warm-up.
public struct WeakScalingRun: Codable, Sendable {
  /// MPI ranks of the run.
  public var ranks: Int
  /// Step records used (those after the warm-up).
  public var steps: Int
  /// Median of compute + communication + input wait, seconds.
  public var stepSeconds: Double
  /// Median compute seconds per step (rank 0's).
  public var computeSeconds: Double
  /// Median communication seconds per step (rank 0's).
  public var communicationSeconds: Double
  /// Median seconds per step waiting for input (rank 0's).
  public var inputWaitSeconds: Double

  /// Reads the step records (lines with "computeSeconds") and takes medians after `warmupSteps`.
  public static func summarize(metrics url: URL, ranks: Int, warmupSteps: Int) throws -> WeakScalingRun {
    guard let text = try? String(contentsOf: url, encoding: .utf8) else {
      throw ScalingBenchmarkError(
        file: url.path, message: "cannot read the file; pass the metrics.jsonl of a finished `bae train` run")
    }
    var records: [StepRecord] = []
    for line in text.split(separator: "\n") where line.contains("\"computeSeconds\"") {
      guard let r = try? JSONDecoder().decode(StepRecord.self, from: Data(line.utf8)) else {
        throw ScalingBenchmarkError(file: url.path, message: "a step line is not a StepRecord: \(line.prefix(80))…")
      }
      records.append(r)
    }
    let used = Array(records.dropFirst(warmupSteps))
    guard !used.isEmpty else {
      throw ScalingBenchmarkError(
        file: url.path,
        message: "\(records.count) step records, none left after \(warmupSteps) warm-up steps; train more steps")
    }
    return WeakScalingRun(
      ranks: ranks, steps: used.count,
      stepSeconds: median(used.map { $0.computeSeconds + $0.communicationSeconds + $0.inputWaitSeconds }),
      computeSeconds: median(used.map(\.computeSeconds)),
      communicationSeconds: median(used.map(\.communicationSeconds)),
      inputWaitSeconds: median(used.map(\.inputWaitSeconds)))
  }
}

/// A metrics file that cannot be used, with what to do about it.
public struct ScalingBenchmarkError: Error, CustomStringConvertible {
  public var file: String, message: String
  /// "<file>: <what is wrong and what to do>".
  public var description: String { "\(file): \(message)" }
}

/// `bae bench scaling`: measures collectives and the step's compute, fits link models, and projects weak scaling to
/// larger world sizes.
public enum ScalingBenchmark {
  /// Sizes for the allreduce sweep: 8 B … 128 MiB in steps of 4× (the gradient at d = 2048, d' = 8192
  /// is 128 MiB, the sign planes 16 MiB).
  public static let allreduceSizes = (0...12).map { 8 << (2 * $0) }
  /// Bytes per rank for the allgather sweep: 8 B … 8 MiB (512 rows of codes at d' = 8192 are 512 KiB).
  public static let allgatherSizes = (0...10).map { 8 << (2 * $0) }

  /// Times both collectives over the sweeps (every rank must call this; needs ≥ 2 ranks to mean anything).
  public static func measureCollectives(_ comm: Communicator, targetSeconds: Double = 0.1) throws
    -> (allreduce: [CollectiveTiming], allgather: [CollectiveTiming])
  {
    let ar = try comm.benchmarkAllreduce(byteSizes: allreduceSizes, targetSeconds: targetSeconds, maxIterations: 20_000)
    var ag: [CollectiveTiming] = []
    for b in allgatherSizes {
      ag.append(try comm.benchmarkAllgather(bytesPerRank: b, targetSeconds: targetSeconds, maxIterations: 20_000))
    }
    return (ar, ag)
  }

  /// Measures the compute profile at (d, d', n_local) on the current BLAS threads: the step with and
  /// without regulariser (medians of `repeats` after one warm-up), and the transpose and pair work of
  /// the busiest rank at each of `ranks` with n_global = R·n_local (random codes of density ½).
  public static func measureCompute(
    inputDim d: Int = 2048, latentDim dl: Int = 8192, localRows n: Int = 512,
    ranks: [Int] = [1, 2, 16, 64, 256], repeats: Int = 5, lambda: Double = 1e-7,
    progress: (String) -> Void = { _ in }
  ) throws -> ComputeProfile {
    let coreStep = BenchmarkStep(architecture: .bae, inputDim: d, latentDim: dl, rows: n, lambda: 0, lr: 0)
    let core = try timeMedian(repeats) { try coreStep.step() }
    progress(String(format: "step λ=0 (dense core): %.1f ms", core * 1e3))
    let fullStep = BenchmarkStep(architecture: .bae, inputDim: d, latentDim: dl, rows: n, lambda: lambda, lr: 0)
    let full = try timeMedian(repeats) { try fullStep.step() }
    progress(String(format: "step λ=%g: %.1f ms", lambda, full * 1e3))

    let points = ([1] + ranks.filter { $0 > 1 }).map { r in
      let p = measureCovarianceScaling(latentDim: dl, localRows: n, ranks: r, repeats: r <= 16 ? 3 : 1)
      progress(
        String(
          format: "R=%d: transpose of %d rows %.1f ms, pairs (busiest rank, %d tiles, mean %.1f) %.1f ms",
          r, p.globalRows, p.transposeSeconds * 1e3, p.busiestTiles, p.meanTiles, p.pairSeconds * 1e3))
      return p
    }
    return ComputeProfile(
      inputDim: d, latentDim: dl, localRows: n, blasThreads: BLAS.threads, repeats: repeats,
      stepSeconds: full, coreSeconds: core, points: points)
  }

  /// Transpose and pair-sign work of the busiest rank at world size R, on random codes.
  static func measureCovarianceScaling(latentDim m: Int, localRows n: Int, ranks r: Int, repeats: Int) -> ScalePoint {
    let rows = n * r, wpr = Int(bae_row_words(Int64(m))), wpc = (rows + 63) / 64
    let rowBits = AlignedBuffer<UInt64>(count: rows * wpr)
    var rng = SplitMix64(seed: UInt64(r))
    let mWords = (m + 63) / 64
    for i in 0..<rows { for w in 0..<mWords { rowBits[i * wpr + w] = rng.next() } }
    let colBits = AlignedBuffer<UInt64>(count: m * wpc)
    let tTranspose = timeMedian(repeats) {
      bae_transpose_bits(rowBits.baseAddress, Int64(rows), Int64(m), Int64(wpr), colBits.baseAddress, Int64(wpc))
    }
    // rank-major column blocks (R, m, n_local/64 words) → column-major (m, wpc); n_local % 64 == 0 here
    let localWords = n / 64
    let tRegather =
      n % 64 != 0
      ? Double.nan
      : timeMedian(repeats) {
        let src = rowBits.baseAddress, dst = colBits.baseAddress
        for k in 0..<r {
          for j in 0..<m {
            (dst + j * wpc + k * localWords).update(from: src + (k * m + j) * localWords, count: localWords)
          }
        }
      }
    bae_transpose_bits(rowBits.baseAddress, Int64(rows), Int64(m), Int64(wpr), colBits.baseAddress, Int64(wpc))
    let counts = AlignedBuffer<Int64>(count: m)
    for j in 0..<m {
      var c = 0
      for w in 0..<wpc { c += colBits[j * wpc + w].nonzeroBitCount }
      counts[j] = Int64(c)
    }
    let ranges = (0..<r).map { CovarianceWork.tileRange(codeBits: m, rank: $0, worldSize: r) }
    let busiest = ranges.max { $0.count < $1.count }!
    let planes = AlignedBuffer<UInt64>(count: 2 * m * wpr)
    let tPairs = timeMedian(repeats) {
      planes.zero()
      let sp = planes.baseAddress
      _ = bae_covariance_signs(
        colBits.baseAddress, Int64(m), Int64(wpc), counts.baseAddress, Int64(rows),
        Int64(busiest.lowerBound), Int64(busiest.upperBound), sp, sp + m * wpr, Int64(wpr))
    }
    return ScalePoint(
      ranks: r, globalRows: rows, transposeSeconds: tTranspose, regatherSeconds: tRegather, pairSeconds: tPairs,
      busiestTiles: busiest.count, meanTiles: Double(CovarianceWork.tileCount(codeBits: m)) / Double(r))
  }

  /// Which covariance layout the projection assumes.
  public enum Design: String, Codable, Sendable, CaseIterable {
    /// The trainer as built with n_local a multiple of 64: pairs split by 64×64 tiles
    /// (CovarianceWork.tileRange), each rank transposes only its own rows and the gather moves column
    /// words, which a copy puts in place (`gatherColumns`).
    case asBuilt = "as built"
    /// The trainer's fallback when some rank's row count is not a multiple of 64: the row-packed codes
    /// are gathered and every rank transposes all n_global rows.
    case globalTranspose = "uneven rows (global transpose)"
  }

  /// Projected step at each measured world size: the 1-rank step minus its transpose and pairs, plus
  /// the transpose and pairs at R under `design`, plus communication over the links.
  public static func project(
    _ profile: ComputeProfile, allreduce link: LinkModel, allgather gatherLink: LinkModel,
    design: Design = .asBuilt
  ) -> [ScalingProjection] {
    let traffic = StepTraffic(inputDim: profile.inputDim, latentDim: profile.latentDim, localRows: profile.localRows)
    let base = profile.points[0]
    let constant = profile.stepSeconds - base.transposeSeconds - base.pairSeconds
    return profile.points.map { p in
      let pairs = p.pairSeconds
      let transpose = design == .asBuilt ? base.transposeSeconds + p.regatherSeconds : p.transposeSeconds
      let comm = traffic.seconds(ranks: p.ranks, link: link, gatherLink: gatherLink)
      var out = ScalingProjection(
        ranks: p.ranks, network: link.name, design: design.rawValue,
        computeSeconds: constant + transpose + pairs,
        transposeSeconds: transpose, pairSeconds: pairs,
        allreduceSeconds: comm.allreduce, allgatherSeconds: comm.allgather, efficiency: 0)
      out.efficiency = profile.stepSeconds / out.stepSeconds
      return out
    }
  }
}

// `bae bench step --decoder-sweep`: the decoder paths against each other in the same run.
// (1) BAE steps on synthetic codes of controlled deviation density ρ (encoder biases set so each bit
// leaves its majority value with probability ρ), dense, sparse and LUT path interleaved with the sgemm
// that sets the dense bound 10·n·d·d'/sgemm-rate (so load drifts hit steps and bound alike), each step's
// phases, and the path the automatic policy takes; (2) TopK steps on both paths beside the BAE core
// step (λ = 0).
import BAEModel
import BAETensor
import CBAEKernels
import Foundation

/// One deviation density: the BAE step on each decoder path.
public struct DecoderDensityPoint: Codable, Sendable {
  /// The density asked for and the one the step measured (|S|/(n·d')).
  public var targetDensity: Double, measuredDensity: Double
  public var denseStepMs: Double, sparseStepMs: Double
  /// The LUT decoder's step (subset-sum tables; its cost does not depend on the density), ms.
  public var lutStepMs: Double
  /// 10·n·d·d' / sgemm rate, the sgemm timed in the same rounds as these steps, ms.
  public var boundMs: Double
  /// step / boundMs
  public var denseToBound: Double, sparseToBound: Double, lutToBound: Double
  /// Median ms per phase of each path's step (`StepPhases.Phase` labels), by path name.
  public var phases: [String: [String: Double]]
  /// The path the automatic policy takes at this density (read from a step run with it).
  public var automaticPath: String
  /// That path's step / the bound: what a training run at this density gets.
  public var automaticToBound: Double
}

/// The sparse decoder sweep at one shape.
public struct SparseDecoderBenchmarkResult: Codable, Sendable {
  /// The shape, BLAS threads and timed repetitions (medians).
  public var inputDim: Int, latentDim: Int, rows: Int, blasThreads: Int, repeats: Int
  /// sgemm rate at the step's shape, same run: the median over every density's rounds (GFLOP/s).
  public var sgemmGflops: Double
  /// 10·n·d·d' / sgemm rate (each point also carries the bound of its own rounds)
  public var denseBoundMs: Double
  /// One entry per deviation density.
  public var points: [DecoderDensityPoint]
  /// The density where the sparse and dense BAE steps cost the same (linear between measured points;
  /// nil when one path wins at every measured density): the automatic policy's crossover where the
  /// LUT decoder does not apply.
  public var crossoverDensity: Double?
  /// The same between the sparse and LUT steps: the policy's crossover for a 1-bit BAE.
  public var lutCrossoverDensity: Double?
  /// TopK (k = 32) on each path and the BAE core step (λ = 0, automatic path) at the same shape.
  public var topkDenseMs: Double, topkSparseMs: Double, baeCoreMs: Double
  /// TopK's pattern density (k/d' or less).
  public var topkDensity: Double
  /// The decoder path the BAE core step took.
  public var baeCorePath: String
  /// TopK (sparse) step / BAE core step.
  public var topkToBAECore: Double
  /// The ISA path of the sparse kernels ("avx2" or "portable").
  public var sparseKernelPath: String
  public var cpu: String, blasCore: String
}

extension BenchmarkStep {
  /// Sets the encoder biases so each bit of the code leaves its majority value with probability ρ on
  /// the benchmark's Gaussian rows: z_j = x·w_j + b_j with x·w_j ~ N(0, ‖w_j‖²), so b_j = ∓q·‖w_j‖ with
  /// Φ(−q) = ρ; odd bits are mostly on (their centre is 1), even bits mostly off.
  func setDeviationDensity(_ rho: Double) {
    let q = normalQuantile(1 - rho)
    let w = model.encoderWeight, b = model.encoderBias
    for j in 0..<model.codeBits {
      var s = 0.0
      for k in 0..<model.inputDim { s += Double(w[j, k]) * Double(w[j, k]) }
      b[j] = Float((j % 2 == 0 ? -q : q) * s.squareRoot())
    }
  }
}

/// x with Φ(x) = p (bisection on erfc; |error| < 1e-12 for p in (1e-12, 1 − 1e-12)).
func normalQuantile(_ p: Double) -> Double {
  var lo = -40.0, hi = 40.0
  for _ in 0..<200 {
    let mid = (lo + hi) / 2
    if 0.5 * erfc(-mid / 2.squareRoot()) < p { lo = mid } else { hi = mid }
  }
  return (lo + hi) / 2
}

/// The sparse-decoder sweep behind `bae bench step --decoder-sweep`.
public enum SparseDecoderBenchmark {
  /// The sweep at one shape; `densities` are the BAE deviation densities to time.
  /// The densities timed when none are given.
  public static let standardDensities = [0.01, 0.05, 0.1, 0.3]

  public static func run(
    inputDim d: Int, latentDim dl: Int, rows n: Int, repeats: Int = 5,
    densities: [Double] = standardDensities, progress: (String) -> Void = { _ in }
  ) throws -> SparseDecoderBenchmarkResult {
    // the bound's sgemm at the step's shape, (n, d)·(d', d)ᵀ: one GEMM is 2·n·d·d' of the bound's 10·n·d·d' FLOP
    let probe = BenchmarkStep(architecture: .bae, inputDim: d, latentDim: dl, rows: n, lambda: 0, lr: 1e-6)
    let zBuf = AlignedBuffer<Float>(count: n * dl)
    let sgemm = {
      BLAS.gemm(probe.x, .none, probe.model.encoderWeight, .transposed, into: Matrix(zBuf, rows: n, cols: dl))
    }
    let flops = 2.0 * Double(n) * Double(d) * Double(dl)

    var points: [DecoderDensityPoint] = []
    var gemmTimes: [Double] = []
    for rho in densities {
      // one step per decoder path, then one on the automatic policy (untimed: it names the path a run takes)
      let paths: [DecoderPath] = [.dense, .sparse, .lut]
      let steps = paths.map { _ in
        BenchmarkStep(architecture: .bae, inputDim: d, latentDim: dl, rows: n, lambda: 0, lr: 1e-6)
      }
      for (s, path) in zip(steps, paths) {
        s.setDeviationDensity(rho)
        s.ws.sparseDecoder.policy = .always(path)
        s.recordPhases()
      }
      let t = try timeInterleaved(steps.map { s in { try s.timedStep() } } + [sgemm], repeats: repeats)
      let (td, ts, tl, tg) = (t[0], t[1], t[2], t[3])
      gemmTimes.append(tg)
      let bound = 5 * tg
      let measured = steps[1].ws.sparseDecoder.density
      let automatic = BenchmarkStep(architecture: .bae, inputDim: d, latentDim: dl, rows: n, lambda: 0, lr: 1e-6)
      automatic.setDeviationDensity(rho)
      try automatic.step()
      let auto = automatic.ws.sparseDecoder.path
      let ta = t[paths.firstIndex(of: auto) ?? 0]
      var phases: [String: [String: Double]] = [:]
      for (s, path) in zip(steps, paths) { phases[path.rawValue] = s.phaseMedians }
      points.append(
        DecoderDensityPoint(
          targetDensity: rho, measuredDensity: measured, denseStepMs: td * 1e3, sparseStepMs: ts * 1e3,
          lutStepMs: tl * 1e3, boundMs: bound * 1e3, denseToBound: td / bound, sparseToBound: ts / bound,
          lutToBound: tl / bound, phases: phases, automaticPath: auto.rawValue, automaticToBound: ta / bound))
      progress(
        String(
          format:
            "BAE λ=0, deviation density %.3f (asked %.2f): bound %.1f ms (sgemm %.1f GFLOP/s), dense %.1f ms (%.2f×), sparse %.1f ms (%.2f×), lut %.1f ms (%.2f×), auto %@",
          measured, rho, bound * 1e3, flops / tg / 1e9, td * 1e3, td / bound, ts * 1e3, ts / bound, tl * 1e3,
          tl / bound, auto.rawValue))
    }
    let tGemm = median(gemmTimes)
    let gflops = flops / tGemm / 1e9
    let bound = 5 * tGemm
    /// The first density (linear between points) where sparse stops beating `other`.
    func crossing(_ other: (DecoderDensityPoint) -> Double) -> Double? {
      for (p, q) in zip(points, points.dropFirst()) {
        let a = other(p) - p.sparseStepMs, b = other(q) - q.sparseStepMs
        if a >= 0 && b < 0 { return p.measuredDensity + (q.measuredDensity - p.measuredDensity) * a / (a - b) }
      }
      return nil
    }
    let crossover = crossing(\.denseStepMs), lutCrossover = crossing(\.lutStepMs)

    // TopK on both paths beside the BAE core step
    let core = BenchmarkStep(architecture: .bae, inputDim: d, latentDim: dl, rows: n, lambda: 0, lr: 1e-6)
    let topDense = BenchmarkStep(architecture: .topk, inputDim: d, latentDim: dl, rows: n, lambda: 0, lr: 1e-6)
    let topSparse = BenchmarkStep(architecture: .topk, inputDim: d, latentDim: dl, rows: n, lambda: 0, lr: 1e-6)
    topDense.ws.sparseDecoder.policy = .always(.dense)
    topSparse.ws.sparseDecoder.policy = .always(.sparse)
    let times = try timeInterleaved([core, topDense, topSparse], repeats: repeats)
    let tc = times[0], tkd = times[1], tks = times[2]
    progress(
      String(
        format: "TopK dense %.1f ms, TopK sparse %.1f ms, BAE core (%@ decoder) %.1f ms: TopK/BAE %.2f", tkd * 1e3,
        tks * 1e3, core.ws.sparseDecoder.path.rawValue, tc * 1e3, tks / tc))
    return SparseDecoderBenchmarkResult(
      inputDim: d, latentDim: dl, rows: n, blasThreads: BLAS.threads, repeats: repeats, sgemmGflops: gflops,
      denseBoundMs: bound * 1e3, points: points, crossoverDensity: crossover, lutCrossoverDensity: lutCrossover,
      topkDenseMs: tkd * 1e3, topkSparseMs: tks * 1e3, baeCoreMs: tc * 1e3,
      topkDensity: topSparse.ws.sparseDecoder.density, baeCorePath: core.ws.sparseDecoder.path.rawValue,
      topkToBAECore: tks / tc,
      sparseKernelPath: String(cString: bae_kernels_path_name(bae_sparse_path())),
      cpu: MachineInfo.cpuModel, blasCore: BLAS.coreName)
  }
}

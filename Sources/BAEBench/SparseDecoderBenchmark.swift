// `bae bench step --decoder-sweep`: the decoder paths against each other in the same run.
// (1) BAE steps on synthetic codes of controlled deviation density ρ (encoder biases set so each bit
// leaves its majority value with probability ρ), dense, sparse and LUT path interleaved, against the
// dense bound 10·n·d·d'/sgemm-rate, and the path the automatic policy takes; (2) TopK steps on both
// paths beside the BAE core step (λ = 0).
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
  /// step / (10·n·d·d' / sgemm rate)
  public var denseToBound: Double, sparseToBound: Double, lutToBound: Double
  /// The path the automatic policy takes at this density (read from a step run with it).
  public var automaticPath: String
  /// That path's step / the bound: what a training run at this density gets.
  public var automaticToBound: Double
}

/// The sparse decoder sweep at one shape.
public struct SparseDecoderBenchmarkResult: Codable, Sendable {
  /// The shape, BLAS threads and timed repetitions (medians).
  public var inputDim: Int, latentDim: Int, rows: Int, blasThreads: Int, repeats: Int
  /// sgemm rate at the step's shape, same run (GFLOP/s).
  public var sgemmGflops: Double
  /// 10·n·d·d' / sgemm rate
  public var denseBoundMs: Double
  /// One entry per deviation density.
  public var points: [DecoderDensityPoint]
  /// The density where the sparse and dense BAE steps cost the same (linear between measured points;
  /// nil when one path wins at every measured density).
  public var crossoverDensity: Double?
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
  public static func run(
    inputDim d: Int, latentDim dl: Int, rows n: Int, repeats: Int = 5,
    densities: [Double] = [0.01, 0.05, 0.1, 0.3], progress: (String) -> Void = { _ in }
  ) throws -> SparseDecoderBenchmarkResult {
    // sgemm rate at the step's shape: (n, d)·(d', d)ᵀ
    let probe = BenchmarkStep(architecture: .bae, inputDim: d, latentDim: dl, rows: n, lambda: 0, lr: 1e-6)
    let zBuf = AlignedBuffer<Float>(count: n * dl)
    let tGemm = timeMedian(repeats) {
      BLAS.gemm(probe.x, .none, probe.model.encoderWeight, .transposed, into: Matrix(zBuf, rows: n, cols: dl))
    }
    let gflops = 2.0 * Double(n) * Double(d) * Double(dl) / tGemm / 1e9
    let bound = 10.0 * Double(n) * Double(d) * Double(dl) / (gflops * 1e9)
    progress(String(format: "sgemm %.1f GFLOP/s, dense bound 10·n·d·d'/rate %.1f ms", gflops, bound * 1e3))

    var points: [DecoderDensityPoint] = []
    for rho in densities {
      // one step per decoder path, then one on the automatic policy (untimed: it names the path a run takes)
      let paths: [DecoderPath] = [.dense, .sparse, .lut]
      let steps = paths.map { _ in
        BenchmarkStep(architecture: .bae, inputDim: d, latentDim: dl, rows: n, lambda: 0, lr: 1e-6)
      }
      for (s, path) in zip(steps, paths) {
        s.setDeviationDensity(rho)
        s.ws.sparseDecoder.policy = .always(path)
      }
      let t = try timeInterleaved(steps, repeats: repeats)
      let (td, ts, tl) = (t[0], t[1], t[2])
      let measured = steps[1].ws.sparseDecoder.density
      let automatic = BenchmarkStep(architecture: .bae, inputDim: d, latentDim: dl, rows: n, lambda: 0, lr: 1e-6)
      automatic.setDeviationDensity(rho)
      try automatic.step()
      let auto = automatic.ws.sparseDecoder.path
      let ta = t[paths.firstIndex(of: auto) ?? 0]
      points.append(
        DecoderDensityPoint(
          targetDensity: rho, measuredDensity: measured, denseStepMs: td * 1e3, sparseStepMs: ts * 1e3,
          lutStepMs: tl * 1e3, denseToBound: td / bound, sparseToBound: ts / bound, lutToBound: tl / bound,
          automaticPath: auto.rawValue, automaticToBound: ta / bound))
      progress(
        String(
          format:
            "BAE λ=0, deviation density %.3f (asked %.2f): dense %.1f ms (%.2f× bound), sparse %.1f ms (%.2f× bound), lut %.1f ms (%.2f× bound), auto %@",
          measured, rho, td * 1e3, td / bound, ts * 1e3, ts / bound, tl * 1e3, tl / bound, auto.rawValue))
    }
    var crossover: Double? = nil
    for (p, q) in zip(points, points.dropFirst()) {
      let a = p.denseStepMs - p.sparseStepMs, b = q.denseStepMs - q.sparseStepMs
      if a >= 0 && b < 0 {
        crossover = p.measuredDensity + (q.measuredDensity - p.measuredDensity) * a / (a - b)
        break
      }
    }

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
      denseBoundMs: bound * 1e3, points: points, crossoverDensity: crossover,
      topkDenseMs: tkd * 1e3, topkSparseMs: tks * 1e3, baeCoreMs: tc * 1e3,
      topkDensity: topSparse.ws.sparseDecoder.density, baeCorePath: core.ws.sparseDecoder.path.rawValue,
      topkToBAECore: tks / tc,
      sparseKernelPath: String(cString: bae_kernels_path_name(bae_sparse_path())),
      cpu: MachineInfo.cpuModel, blasCore: BLAS.coreName)
  }
}

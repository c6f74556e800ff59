import BAEModel
// `bae bench step`: one training step at a given shape on the current BLAS threads, against the
// sgemm rate measured in the same run (ideal = 10·n·d·d' FLOP), and the covariance term's cost
// against the dense float formulation (two products of 2·n·d'² FLOP).
import BAERandom
import BAETensor
import CBAEKernels
import Foundation

public struct StepBenchmarkResult: Codable, Sendable {
  public var inputDim: Int, latentDim: Int, rows: Int, blasThreads: Int, repeats: Int
  public var sgemmGflops: Double
  public var idealStepMs: Double
  public var stepMsNoRegularizer: Double
  public var stepMsWithRegularizer: Double
  /// ideal / measured for the λ = 0 step (the dense core).
  public var denseCoreEfficiency: Double
  public var covarianceMs: Double
  /// of which: transpose + pair signs (split across ranks) and the H·S product (per rank)
  public var covariancePairsMs: Double
  public var covarianceProductMs: Double
  public var covarianceShare: Double
  public var denseCovarianceMs: Double
  /// dense float formulation time / ours.
  public var covarianceSpeedup: Double
  public var avx512Popcount: Bool
  /// CPU model name and the OpenBLAS kernel set that ran.
  public var cpu: String
  public var blasCore: String
  /// The ISA path of each bit kernel.
  public var kernelPaths: [String: String]
  /// The decoder path the λ = 0 step took ("dense" or "sparse") and its deviation density.
  public var decoderPath: String
  public var decoderDensity: Double
}

/// A model, a random minibatch and one `TrainingStep` at a benchmark shape (single process, seeded),
/// shared by `bae bench step` and the scaling benchmark. The step is the trainer's own.
final class BenchmarkStep {
  let training: TrainingStep
  let x: Matrix
  let xBuffer: AlignedBuffer<Float>
  var model: Autoencoder { training.model }
  var ws: StepWorkspace { training.workspace }

  /// lr 0 keeps the parameters (hence code density and the sign matrix) fixed, so every repetition
  /// does the same work; a tiny lr lets the codes move slightly as in real training. For a BAE
  /// λ_e = λ_c = `lambda`; SAEs use their defaults (k = 32, L1 1e-3, θ 0.5).
  init(architecture: Architecture, inputDim d: Int, latentDim dl: Int, rows n: Int, lambda: Double, lr: Double) {
    var c = ModelConfig()
    c.architecture = architecture
    c.inputDim = d
    c.latentDim = dl
    c.entropyWeight = lambda
    c.covarianceWeight = lambda
    c.lr = Swift.max(lr, 1e-30)
    let model = Autoencoder(config: c)
    model.initialise(seed: 1)
    var rng = SplitMix64(seed: 2)
    xBuffer = AlignedBuffer<Float>(count: n * d)
    for i in 0..<xBuffer.count { xBuffer[i] = Float(rng.nextGaussian()) }
    x = Matrix(xBuffer, rows: n, cols: d)
    training = TrainingStep(model: model, rowsPerRank: [n], collectives: SingleProcess())
    training.workspace.kernelThreads = Swift.max(1, BLAS.threads)
    training.adam.lr = lr
  }

  /// One full training step (forward, statistics, backward, Adam, post-step state).
  func step() throws { _ = try training.run(x, step: 0, rowsPerRank: [x.rows]) }
}

/// One architecture's step at a shape, beside the BAE's dense core measured in the same run.
public struct ArchitectureStepResult: Codable, Sendable {
  public var architecture: String
  public var inputDim: Int, latentDim: Int, rows: Int, blasThreads: Int, repeats: Int
  public var stepMs: Double
  /// The BAE step with λ = 0 (no entropy, no covariance) at the same shape, same run.
  public var baeCoreStepMs: Double
  public var ratioToBAECore: Double
  /// The decoder path each step took ("dense" or "sparse") and the architecture's code density.
  public var decoderPath: String, baeCoreDecoderPath: String
  public var decoderDensity: Double
  public var cpu: String
  public var blasCore: String
  /// The ISA path of each bit kernel.
  public var kernelPaths: [String: String]
}

/// Medians of two steps timed alternately after one warm-up each (load drifts hit both alike).
func timeInterleaved(_ a: BenchmarkStep, _ b: BenchmarkStep, repeats: Int) throws -> (Double, Double) {
  try a.step()
  try b.step()
  var ta: [Double] = [], tb: [Double] = []
  for _ in 0..<Swift.max(1, repeats) {
    var t = now()
    try a.step()
    ta.append(now() - t)
    t = now()
    try b.step()
    tb.append(now() - t)
  }
  return (median(ta), median(tb))
}

public enum StepBenchmark {
  /// Times a step of `architecture` (not bae) against the BAE core step, interleaved so load drifts
  /// hit both alike.
  public static func runArchitecture(
    _ architecture: Architecture, inputDim d: Int, latentDim dl: Int, rows n: Int,
    repeats: Int = 5, decoder: DecoderPolicy? = nil, progress: (String) -> Void = { _ in }
  ) throws -> ArchitectureStepResult {
    let core = BenchmarkStep(architecture: .bae, inputDim: d, latentDim: dl, rows: n, lambda: 0, lr: 1e-6)
    let arch = BenchmarkStep(architecture: architecture, inputDim: d, latentDim: dl, rows: n, lambda: 0, lr: 1e-6)
    if let decoder {
      core.ws.sparseDecoder.policy = decoder
      arch.ws.sparseDecoder.policy = decoder
    }
    let (c, a) = try timeInterleaved(core, arch, repeats: repeats)
    let path = arch.ws.sparseDecoder.path.rawValue, corePath = core.ws.sparseDecoder.path.rawValue
    progress(
      String(
        format:
          "%@ step %.1f ms (%@ decoder, density %.3f), BAE core step %.1f ms (%@ decoder, density %.3f), ratio %.2f",
        architecture.rawValue, a * 1e3, path, arch.ws.sparseDecoder.density, c * 1e3, corePath,
        core.ws.sparseDecoder.density, a / c))
    return ArchitectureStepResult(
      architecture: architecture.rawValue, inputDim: d, latentDim: dl, rows: n,
      blasThreads: BLAS.threads, repeats: repeats, stepMs: a * 1e3, baeCoreStepMs: c * 1e3,
      ratioToBAECore: a / c, decoderPath: path, baeCoreDecoderPath: corePath,
      decoderDensity: arch.ws.sparseDecoder.density, cpu: MachineInfo.cpuModel, blasCore: BLAS.coreName,
      kernelPaths: MachineInfo.kernelPaths)
  }

  public static func run(
    inputDim d: Int = 2048, latentDim dl: Int = 8192, rows n: Int = 512,
    repeats: Int = 5, lambda: Double = 1e-7, progress: (String) -> Void = { _ in }
  ) throws -> StepBenchmarkResult {
    let bench = BenchmarkStep(architecture: .bae, inputDim: d, latentDim: dl, rows: n, lambda: lambda, lr: 1e-6)
    let coreBench = BenchmarkStep(architecture: .bae, inputDim: d, latentDim: dl, rows: n, lambda: 0, lr: 1e-6)
    let model = bench.model, x = bench.x, ws = bench.ws

    // sgemm rate at the step's own shape: (n, d)·(d', d)ᵀ
    let zBuf = AlignedBuffer<Float>(count: n * dl)
    let tGemm = timeMedian(repeats) {
      BLAS.gemm(x, .none, model.encoderWeight, .transposed, into: Matrix(zBuf, rows: n, cols: dl))
    }
    let gflops = 2.0 * Double(n) * Double(d) * Double(dl) / tGemm / 1e9
    progress(String(format: "sgemm %.1f GFLOP/s", gflops))

    let t0 = try timeMedian(repeats) { try coreBench.step() }
    progress(
      String(
        format: "step λ=0: %.1f ms (%@ decoder, deviation density %.3f)", t0 * 1e3,
        coreBench.ws.sparseDecoder.path.rawValue, coreBench.ws.sparseDecoder.density))
    let t1 = try timeMedian(repeats) { try bench.step() }
    progress(String(format: "step λ=%g: %.1f ms", lambda, t1 * 1e3))

    // the covariance term alone: transpose, pair signs, H·S and q (codes from the last forward)
    _ = try model.forward(x, ws)
    let w = ws.rowWords, m = dl, wpc = (n + 63) / 64
    let sp = ws.signPlanes.baseAddress
    let tPairs = timeMedian(repeats) {
      bae_transpose_bits(ws.localBits.baseAddress, Int64(n), Int64(m), Int64(w), ws.columnBits.baseAddress, Int64(wpc))
      ws.signPlanes.zero()
      _ = bae_covariance_signs(
        ws.columnBits.baseAddress, Int64(m), Int64(wpc), ws.counts.baseAddress, Int64(n),
        0, Int64(CovarianceWork.tileCount(codeBits: m)), sp, sp + m * w, Int64(w))
    }
    let tProduct = timeMedian(repeats) {
      bae_signed_popcount_product(
        ws.localBits.baseAddress, Int64(n), sp, sp + m * w, Int64(m), Int64(w),
        ws.covarianceProduct.baseAddress, Int64(m))
    }
    let tCov = tPairs + tProduct
    progress(String(format: "covariance: pair signs %.1f ms, H·S product %.1f ms", tPairs * 1e3, tProduct * 1e3))
    // dense float formulation at the same shape: C = Hcᵀ·Hc (d', d') and Hc·S (n, d')
    let hc = Matrix(ws.codes, rows: n, cols: m)
    let cBuf = AlignedBuffer<Float>(count: m * m)
    let c = Matrix(cBuf, rows: m, cols: m)
    let out = Matrix(ws.covarianceProduct, rows: n, cols: m)
    let tDense = timeMedian(max(1, repeats / 2)) {
      BLAS.gemm(hc, .transposed, hc, .none, into: c)
      BLAS.gemm(hc, .none, c, .none, into: out)
    }
    progress(String(format: "covariance: popcount %.1f ms, dense float %.1f ms", tCov * 1e3, tDense * 1e3))
    let ideal = 10.0 * Double(n) * Double(d) * Double(dl) / (gflops * 1e9)
    return StepBenchmarkResult(
      inputDim: d, latentDim: dl, rows: n, blasThreads: BLAS.threads, repeats: repeats,
      sgemmGflops: gflops, idealStepMs: ideal * 1e3,
      stepMsNoRegularizer: t0 * 1e3, stepMsWithRegularizer: t1 * 1e3,
      denseCoreEfficiency: ideal / t0,
      covarianceMs: tCov * 1e3, covariancePairsMs: tPairs * 1e3,
      covarianceProductMs: tProduct * 1e3, covarianceShare: tCov / t1,
      denseCovarianceMs: tDense * 1e3, covarianceSpeedup: tDense / tCov,
      avx512Popcount: bae_kernels_have_avx512_popcnt() != 0,
      cpu: MachineInfo.cpuModel, blasCore: BLAS.coreName, kernelPaths: MachineInfo.kernelPaths,
      decoderPath: coreBench.ws.sparseDecoder.path.rawValue, decoderDensity: coreBench.ws.sparseDecoder.density)
  }
}

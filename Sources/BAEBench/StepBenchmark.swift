import BAEIO
import BAEModel
// `bae bench step`: one training step at a given shape on the current BLAS threads, against the
// sgemm rate measured in the same run (ideal = 10·n·d·d' FLOP), and the covariance term's cost
// against the dense float formulation (two products of 2·n·d'² FLOP).
import BAERandom
import BAETensor
import CBAEKernels
import Foundation

/// What `bae bench step` reports: the step against the sgemm bound, and the covariance term against its dense float
/// form.
public struct StepBenchmarkResult: Codable, Sendable {
  public var inputDim: Int, latentDim: Int, rows: Int, blasThreads: Int, repeats: Int
  /// Measured sgemm throughput at the step's GEMM shapes, GFLOP/s.
  public var sgemmGflops: Double
  /// 10·n·d·d' flops (the step's five n×d×d' GEMMs) at `sgemmGflops`: the bound a dense step cannot beat, ms.
  public var idealStepMs: Double
  /// Median step with λ_e = λ_c = 0 (the dense core), ms.
  public var stepMsNoRegularizer: Double
  /// Median step with λ_e = λ_c = `lambda`, ms.
  public var stepMsWithRegularizer: Double
  /// ideal / measured for the λ = 0 step (the dense core).
  public var denseCoreEfficiency: Double
  /// Covariance term: pair signs plus the H·S product, ms.
  public var covarianceMs: Double
  /// of which: transpose + pair signs (split across ranks) and the H·S product (per rank) with N·q = S·c
  /// (split across ranks in training; here one rank does all of it)
  public var covariancePairsMs: Double
  /// The H·S product, ms.
  public var covarianceProductMs: Double
  /// `covarianceMs` over the regularised step.
  public var covarianceShare: Double
  /// The same term as two dense float GEMMs (Hcᵀ·Hc, then Hc·C), ms.
  public var denseCovarianceMs: Double
  /// dense float formulation time / ours.
  public var covarianceSpeedup: Double
  /// Whether the CPU has AVX-512 VPOPCNTDQ (the fastest popcount path).
  public var avx512Popcount: Bool
  /// Adam over every parameter (work every rank repeats whatever the rank count: the replicated part).
  public var adamMs: Double
  /// Adam's memory traffic (read p, g, m, v; write p, m, v: 28 bytes per parameter) / its time, GB/s.
  public var adamGBps: Double
  /// CPU model name.
  public var cpu: String
  /// The OpenBLAS core (kernel set) that ran, e.g. "Zen".
  public var blasCore: String
  /// The ISA path of each bit kernel.
  public var kernelPaths: [String: String]
  /// The decoder path the λ = 0 step took ("dense", "sparse" or "lut") and its deviation density.
  public var decoderPath: String
  /// Fraction of code entries the sparse decoder would touch in that step.
  public var decoderDensity: Double
  /// The LUT decoder against the dense GEMMs it replaces, same run (LUTBenchmark).
  public var lut: LUTDecoderTimes
}

/// A model, a random minibatch and one `TrainingStep` at a benchmark shape (single process, seeded),
/// shared by `bae bench step` and the scaling benchmark. The step is the trainer's own.
final class BenchmarkStep {
  let training: TrainingStep
  let x: Matrix
  let xBuffer: AlignedBuffer<Float>
  var model: Autoencoder { training.model }
  var ws: StepWorkspace { training.workspace }
  /// Each timed step's seconds per `StepPhases.Phase` while phases are attached (`recordPhases`).
  var phaseRounds: [[Double]] = []

  /// Attaches a phase clock: every step after this one records its phase times in `phaseRounds`.
  func recordPhases() {
    ws.phases = StepPhases(clock: now)
    phaseRounds = []
  }

  /// Median milliseconds per phase over the recorded steps (the warm-up step excluded), by phase label.
  var phaseMedians: [String: Double] {
    var out: [String: Double] = [:]
    let timed = phaseRounds.dropFirst()
    for p in StepPhases.Phase.allCases { out[p.label] = median(timed.map { $0[p.rawValue] }) * 1e3 }
    return out
  }

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

  /// `step`, keeping its phase times in `phaseRounds` when phases are attached.
  func timedStep() throws {
    ws.phases?.reset()
    try step()
    if let p = ws.phases { phaseRounds.append(p.seconds) }
  }
}

/// One architecture's step at a shape, beside the BAE's dense core measured in the same run.
public struct ArchitectureStepResult: Codable, Sendable {
  /// The architecture timed (bae, relu, topk, batchtopk, jumprelu).
  public var architecture: String
  public var inputDim: Int, latentDim: Int, rows: Int, blasThreads: Int, repeats: Int
  /// Median step of `architecture`, ms.
  public var stepMs: Double
  /// The BAE step with λ = 0 (no entropy, no covariance) at the same shape, same run.
  public var baeCoreStepMs: Double
  /// `stepMs / baeCoreStepMs` (below 1: cheaper than the BAE's dense core).
  public var ratioToBAECore: Double
  /// The decoder path each step took ("dense" or "sparse") and the architecture's code density.
  public var decoderPath: String, baeCoreDecoderPath: String
  /// Fraction of code entries the sparse decoder would touch.
  public var decoderDensity: Double
  /// CPU model name.
  public var cpu: String
  /// The OpenBLAS core (kernel set) that ran.
  public var blasCore: String
  /// The ISA path of each bit kernel.
  public var kernelPaths: [String: String]
}

/// Medians of bodies timed in turn after one warm-up each (load drifts hit them alike), in `bodies` order.
func timeInterleaved(_ bodies: [() throws -> Void], repeats: Int) throws -> [Double] {
  for b in bodies { try b() }
  var times = [[Double]](repeating: [], count: bodies.count)
  for _ in 0..<Swift.max(1, repeats) {
    for (i, b) in bodies.enumerated() {
      let t = now()
      try b()
      times[i].append(now() - t)
    }
  }
  return times.map(median)
}

/// Medians of steps timed in turn after one warm-up each, in `steps` order. A step with a
/// `StepPhases` attached keeps each timed repetition's phase times in `phaseRounds`.
func timeInterleaved(_ steps: [BenchmarkStep], repeats: Int) throws -> [Double] {
  try timeInterleaved(steps.map { s in { try s.timedStep() } }, repeats: repeats)
}

/// `timeInterleaved` for two steps.
func timeInterleaved(_ a: BenchmarkStep, _ b: BenchmarkStep, repeats: Int) throws -> (Double, Double) {
  let t = try timeInterleaved([a, b], repeats: repeats)
  return (t[0], t[1])
}

/// Writes n code rows as the C kernel benchmark reads them (scripts/bench_kernels.c, `forms` and `once` with
/// CODES): int64 n, m, words per row, then the n · words row words, in the machine's (little-endian) order.
/// Throws `BAEIOError.cannotWrite` naming the file.
func writeCodes(_ bits: UnsafePointer<UInt64>, rows n: Int, codeBits m: Int, rowWords w: Int, to path: String) throws {
  try AtomicFile.write(to: URL(fileURLWithPath: path)) { sink in
    let header = [Int64(n), Int64(m), Int64(w)]
    try header.withUnsafeBytes { try sink.write($0) }
    try sink.write(UnsafeRawBufferPointer(start: bits, count: 8 * n * w))
  }
}

/// `bae bench step`: one training step timed at a shape, through the trainer's own `TrainingStep`.
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

  /// Times the λ = 0 and λ > 0 steps and the covariance term at (d, d', n) for `repeats` medians; `progress` gets one
  /// line per phase.
  public static func run(
    inputDim d: Int = 2048, latentDim dl: Int = 8192, rows n: Int = 512,
    repeats: Int = 5, lambda: Double = 1e-7, decoder: DecoderPolicy? = nil, dumpCodes: String? = nil,
    progress: (String) -> Void = { _ in }
  ) throws -> StepBenchmarkResult {
    let bench = BenchmarkStep(architecture: .bae, inputDim: d, latentDim: dl, rows: n, lambda: lambda, lr: 1e-6)
    let coreBench = BenchmarkStep(architecture: .bae, inputDim: d, latentDim: dl, rows: n, lambda: 0, lr: 1e-6)
    if let decoder {
      bench.ws.sparseDecoder.policy = decoder
      coreBench.ws.sparseDecoder.policy = decoder
    }
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
    if let dumpCodes { try writeCodes(ws.localBits.baseAddress, rows: n, codeBits: m, rowWords: w, to: dumpCodes) }
    let sp = ws.signPlanes.baseAddress
    // on the step's own threads (the trainer's --blas-threads), as the step runs them
    let threads = Int32(ws.kernelThreads)
    let tPairs = timeMedian(repeats) {
      bae_transpose_bits_mt(
        ws.localBits.baseAddress, Int64(n), Int64(m), Int64(w), ws.columnBits.baseAddress, Int64(wpc), threads)
      _ = bae_covariance_signs_mt(  // over every tile: overwrites every word of the planes, no zeroing
        ws.columnBits.baseAddress, Int64(m), Int64(wpc), ws.counts.baseAddress, Int64(n),
        0, Int64(CovarianceWork.tileCount(codeBits: m)), sp, sp + m * w, Int64(w), threads)
    }
    // H·S and N·q, as the step's backward runs them (one process: the counts are the global ones)
    let tProduct = timeMedian(repeats) { model.covarianceProduct(ws, rows: n, globalRows: n) }
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
    // the replicated work: Adam over all parameters on the step's threads (lr 1e-6: the model barely moves)
    let training = coreBench.training
    let tAdam = timeMedian(repeats) {
      training.adam.update(
        parameters: training.model.parameters, gradients: training.gradients, threads: ws.kernelThreads)
    }
    let adamBytes = 28.0 * Double(training.gradients.count)
    progress(String(format: "Adam: %.1f ms (%.1f GB/s)", tAdam * 1e3, adamBytes / tAdam / 1e9))
    let ideal = 10.0 * Double(n) * Double(d) * Double(dl) / (gflops * 1e9)
    let lut = try LUTBenchmark.run(inputDim: d, latentDim: dl, rows: n, repeats: repeats, progress: progress)
    return StepBenchmarkResult(
      inputDim: d, latentDim: dl, rows: n, blasThreads: BLAS.threads, repeats: repeats,
      sgemmGflops: gflops, idealStepMs: ideal * 1e3,
      stepMsNoRegularizer: t0 * 1e3, stepMsWithRegularizer: t1 * 1e3,
      denseCoreEfficiency: ideal / t0,
      covarianceMs: tCov * 1e3, covariancePairsMs: tPairs * 1e3,
      covarianceProductMs: tProduct * 1e3, covarianceShare: tCov / t1,
      denseCovarianceMs: tDense * 1e3, covarianceSpeedup: tDense / tCov,
      avx512Popcount: bae_kernels_have_avx512_popcnt() != 0,
      adamMs: tAdam * 1e3, adamGBps: adamBytes / tAdam / 1e9,
      cpu: MachineInfo.cpuModel, blasCore: BLAS.coreName, kernelPaths: MachineInfo.kernelPaths,
      decoderPath: coreBench.ws.sparseDecoder.path.rawValue, decoderDensity: coreBench.ws.sparseDecoder.density,
      lut: lut)
  }
}

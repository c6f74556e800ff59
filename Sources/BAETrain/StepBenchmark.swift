// `bae bench step`: one training step at a given shape on the current BLAS threads, against the
// sgemm rate measured in the same run (ideal = 10·n·d·d' FLOP), and the covariance term's cost
// against the dense float formulation (two products of 2·n·d'² FLOP).
import BAERandom
import BAEModel
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
}

/// A model, a random minibatch and the buffers of one training step at a benchmark shape (single
/// process, k = 1, seeded), shared by `bae bench step` and the scaling benchmark.
final class BenchmarkStep {
  let model: BinaryAutoencoder
  let x: Matrix
  let xBuffer: AlignedBuffer<Float>
  let grads: AlignedBuffer<Float>
  let adam: Adam
  let ws: StepWorkspace
  let single = SingleProcess()

  /// lr 0 keeps the parameters (hence code density and the sign matrix) fixed, so every repetition
  /// does the same work; a tiny lr lets the codes move slightly as in real training.
  init(inputDim d: Int, latentDim dl: Int, rows n: Int, lr: Double) {
    let layout = ParameterLayout(inputDim: d, latentDim: dl, bitsPerFeature: 1)
    model = BinaryAutoencoder(layout: layout)
    model.initialise(seed: 1)
    var rng = SplitMix64(seed: 2)
    xBuffer = AlignedBuffer<Float>(count: n * d)
    for i in 0..<xBuffer.count { xBuffer[i] = Float(rng.nextGaussian()) }
    x = Matrix(xBuffer, rows: n, cols: d)
    grads = AlignedBuffer<Float>(count: layout.count)
    adam = Adam(count: layout.count, lr: lr)
    ws = StepWorkspace(layout: layout, capacity: n, covariance: true)
  }

  /// One full step: forward, statistics, backward, Adam, with λ_e = λ_c = `lambda`.
  func step(_ lambda: Double) throws {
    let mo = model.forward(x, ws)
    let s = try model.globalStatistics(ws, localMoments: mo, rowsPerRank: [x.rows], covariance: lambda != 0, collectives: single)
    model.backward(x, ws, statistics: s, weights: LossWeights(entropy: lambda, covariance: lambda, estimator: .sign_s), into: grads)
    adam.update(parameters: model.parameters, gradients: grads)
  }
}

public enum StepBenchmark {
  static func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }

  static func time(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    try body()  // warm-up
    var ts: [Double] = []
    for _ in 0..<repeats {
      let t = now()
      try body()
      ts.append(now() - t)
    }
    return median(ts)
  }

  public static func run(inputDim d: Int = 2048, latentDim dl: Int = 8192, rows n: Int = 512,
                         repeats: Int = 5, lambda: Double = 1e-7, progress: (String) -> Void = { _ in }) throws -> StepBenchmarkResult {
    let bench = BenchmarkStep(inputDim: d, latentDim: dl, rows: n, lr: 1e-6)
    let model = bench.model, x = bench.x, ws = bench.ws

    // sgemm rate at the step's own shape: (n, d)·(d', d)ᵀ
    let zBuf = AlignedBuffer<Float>(count: n * dl)
    let tGemm = time(repeats) { BLAS.gemm(x, .none, model.encoderWeight, .transposed, into: Matrix(zBuf, rows: n, cols: dl)) }
    let gflops = 2.0 * Double(n) * Double(d) * Double(dl) / tGemm / 1e9
    progress(String(format: "sgemm %.1f GFLOP/s", gflops))

    let t0 = try time(repeats) { try bench.step(0) }
    progress(String(format: "step λ=0: %.1f ms", t0 * 1e3))
    let t1 = try time(repeats) { try bench.step(lambda) }
    progress(String(format: "step λ=%g: %.1f ms", lambda, t1 * 1e3))

    // the covariance term alone: transpose, pair signs, H·S and q (codes from the last forward)
    _ = model.forward(x, ws)
    let w = ws.rowWords, m = dl, wpc = (n + 63) / 64
    let sp = ws.signPlanes.baseAddress
    let tPairs = time(repeats) {
      bae_transpose_bits(ws.localBits.baseAddress, Int64(n), Int64(m), Int64(w), ws.columnBits.baseAddress, Int64(wpc))
      ws.signPlanes.zero()
      _ = bae_covariance_signs(ws.columnBits.baseAddress, Int64(m), Int64(wpc), ws.counts.baseAddress, Int64(n),
                               0, Int64(CovarianceWork.tileCount(codeBits: m)), sp, sp + m * w, Int64(w))
    }
    let tProduct = time(repeats) {
      bae_signed_popcount_product(ws.localBits.baseAddress, Int64(n), sp, sp + m * w, Int64(m), Int64(w),
                                  ws.covarianceProduct.baseAddress, Int64(m))
    }
    let tCov = tPairs + tProduct
    progress(String(format: "covariance: pair signs %.1f ms, H·S product %.1f ms", tPairs * 1e3, tProduct * 1e3))
    // dense float formulation at the same shape: C = Hcᵀ·Hc (d', d') and Hc·S (n, d')
    let hc = Matrix(ws.codes, rows: n, cols: m)
    let cBuf = AlignedBuffer<Float>(count: m * m)
    let c = Matrix(cBuf, rows: m, cols: m)
    let out = Matrix(ws.covarianceProduct, rows: n, cols: m)
    let tDense = time(max(1, repeats / 2)) {
      BLAS.gemm(hc, .transposed, hc, .none, into: c)
      BLAS.gemm(hc, .none, c, .none, into: out)
    }
    progress(String(format: "covariance: popcount %.1f ms, dense float %.1f ms", tCov * 1e3, tDense * 1e3))
    let ideal = 10.0 * Double(n) * Double(d) * Double(dl) / (gflops * 1e9)
    return StepBenchmarkResult(inputDim: d, latentDim: dl, rows: n, blasThreads: BLAS.threads, repeats: repeats,
                               sgemmGflops: gflops, idealStepMs: ideal * 1e3,
                               stepMsNoRegularizer: t0 * 1e3, stepMsWithRegularizer: t1 * 1e3,
                               denseCoreEfficiency: ideal / t0,
                               covarianceMs: tCov * 1e3, covariancePairsMs: tPairs * 1e3,
                               covarianceProductMs: tProduct * 1e3, covarianceShare: tCov / t1,
                               denseCovarianceMs: tDense * 1e3, covarianceSpeedup: tDense / tCov,
                               avx512Popcount: bae_kernels_have_avx512_popcnt() != 0)
  }
}

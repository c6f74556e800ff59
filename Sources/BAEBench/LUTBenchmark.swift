// The LUT decoder's lines of `bae bench step`: its two products (x̂ = b_dec + h·W_decᵀ and ∂W_dec = ∂x̂ᵀ·h,
// each with what the step pays besides: the bit transpose of the code for ∂W_dec) against the GEMMs they replace, and the λ = 0 step with
// `--decoder lut` against `--decoder dense`, all in the same run on the step's threads.
import BAEModel
import BAETensor
import CBAEKernels
import Foundation

/// The LUT decoder against the dense GEMMs, medians in ms.
public struct LUTDecoderTimes: Codable, Sendable {
  /// The ISA path the LUT kernel ran ("avx512-vpopcntdq" means its AVX-512F form).
  public var path: String
  /// x̂: LUT product (W_dec read in place), and bias fill + sgemm.
  public var xhatMs: Double, denseXhatMs: Double
  /// ∂W_dec: bit transpose + LUT product (stored (d, d')), and sgemm.
  public var decoderGradientMs: Double, denseDecoderGradientMs: Double
  /// The λ = 0 step on each path (timed alternately).
  public var stepMs: Double, denseStepMs: Double
}

/// Times the LUT decoder at a shape (`bae bench step`).
public enum LUTBenchmark {
  /// LUT products and steps against dense at (d, d', n) on `BLAS.threads` threads, `repeats` medians.
  public static func run(
    inputDim d: Int, latentDim dl: Int, rows n: Int, repeats: Int, progress: (String) -> Void = { _ in }
  ) throws -> LUTDecoderTimes {
    let lutStep = BenchmarkStep(architecture: .bae, inputDim: d, latentDim: dl, rows: n, lambda: 0, lr: 1e-6)
    let denseStep = BenchmarkStep(architecture: .bae, inputDim: d, latentDim: dl, rows: n, lambda: 0, lr: 1e-6)
    lutStep.ws.sparseDecoder.policy = .always(.lut)
    denseStep.ws.sparseDecoder.policy = .always(.dense)
    let (tLUTStep, tDenseStep) = try timeInterleaved(lutStep, denseStep, repeats: repeats)

    // the products alone, on the code and weights the last step left
    let model = denseStep.model, ws = denseStep.ws, threads = Int32(ws.kernelThreads)
    _ = try model.forward(denseStep.x, ws)
    let h = Matrix(ws.codes, rows: n, cols: dl), w = model.decoderWeight, bias = model.decoderBias
    let xhatBuffer = AlignedBuffer<Float>(count: n * d), dxhatBuffer = AlignedBuffer<Float>(count: n * d)
    let xhat = Matrix(xhatBuffer, rows: n, cols: d), dxhat = Matrix(dxhatBuffer, rows: n, cols: d)
    for i in 0..<(n * d) { dxhat.base[i] = Float(i % 7) - 3 }
    let gradientBuffer = AlignedBuffer<Float>(count: d * dl)
    let gradient = Matrix(gradientBuffer, rows: d, cols: dl)
    let perThread = max(bae_lut_scratch_floats(Int64(n), Int64(dl)), bae_lut_scratch_floats(Int64(dl), Int64(n)))
    let scratch = AlignedBuffer<Float>(count: Int(threads) * Int(perThread))
    let wpc = (n + 63) / 64
    let columnBits = AlignedBuffer<UInt64>(count: dl * wpc)
    let tLUT = timeMedian(repeats) {
      _ = bae_lut_product_mt(
        ws.localBits.baseAddress, Int64(n), Int64(ws.rowWords), Int64(dl), w.base, Int64(w.ld), Int64(d),
        bias.base, xhat.base, Int64(d), Int32(BAE_LUT_SOURCE_TRANSPOSED), scratch.baseAddress, Int64(scratch.count),
        threads)
    }
    let tDense = timeMedian(repeats) {
      bae_fill_rows_mt(xhat.base, Int64(n), Int64(d), bias.base, threads)
      BLAS.gemm(h, .none, w, .transposed, into: xhat, beta: 1)
    }
    let tLUTGrad = timeMedian(repeats) {
      bae_transpose_bits_mt(
        ws.localBits.baseAddress, Int64(n), Int64(dl), Int64(ws.rowWords), columnBits.baseAddress, Int64(wpc), threads)
      _ = bae_lut_product_mt(
        columnBits.baseAddress, Int64(dl), Int64(wpc), Int64(n), dxhat.base, Int64(d), Int64(d), nil,
        gradient.base, Int64(dl), Int32(BAE_LUT_OUTPUT_TRANSPOSED), scratch.baseAddress, Int64(scratch.count),
        threads)
    }
    let tDenseGrad = timeMedian(repeats) { BLAS.gemm(dxhat, .transposed, h, .none, into: gradient) }
    withExtendedLifetime((xhatBuffer, dxhatBuffer, gradientBuffer)) {}
    let path = String(cString: bae_kernels_path_name(bae_lut_path()))
    progress(
      String(
        format: "LUT decoder (%@): x̂ %.2f ms vs sgemm %.2f ms (%.2fx), ∂W_dec %.2f ms vs sgemm %.2f ms (%.2fx)",
        path, tLUT * 1e3, tDense * 1e3, tDense / tLUT, tLUTGrad * 1e3, tDenseGrad * 1e3, tDenseGrad / tLUTGrad))
    progress(
      String(
        format: "step λ=0: lut decoder %.1f ms, dense decoder %.1f ms (%.2fx)", tLUTStep * 1e3, tDenseStep * 1e3,
        tDenseStep / tLUTStep))
    return LUTDecoderTimes(
      path: path, xhatMs: tLUT * 1e3, denseXhatMs: tDense * 1e3, decoderGradientMs: tLUTGrad * 1e3,
      denseDecoderGradientMs: tDenseGrad * 1e3, stepMs: tLUTStep * 1e3, denseStepMs: tDenseStep * 1e3)
  }
}

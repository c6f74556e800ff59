// The LUT decoder in the model: a 1-bit BAE's x̂, moments, every gradient and Adam steps agree with the
// dense path up to float rounding; steps are bitwise equal at 1, 2 and 3 kernel threads; the automatic
// policy takes it for a dense 1-bit BAE code from `lutMinimumRows` rows and never for other models.
import BAERandom
import BAETensor
import XCTest

@testable import BAEModel

final class LUTDecoderTests: XCTestCase {
  static let d = 37, dl = 203, n = 150  // d', d not multiples of 8/16/64; n not a multiple of 64

  static func config(_ edit: (inout ModelConfig) -> Void = { _ in }) -> ModelConfig {
    var c = ModelConfig.bae(inputDim: d, latentDim: dl)
    c.entropyWeight = 1e-3
    c.covarianceWeight = 1e-3
    c.lr = 1e-3
    edit(&c)
    return c
  }

  static func input(seed: UInt64 = 7, rows: Int = n) -> AlignedBuffer<Float> {
    var rng = SplitMix64(seed: seed)
    let x = AlignedBuffer<Float>(count: rows * d)
    for i in 0..<x.count { x[i] = Float(rng.nextGaussian()) }
    return x
  }

  struct Pass { var xhat: [Float], sse: Double, grads: [Float], path: DecoderPath }

  static func pass(_ c: ModelConfig, policy: DecoderPolicy, rows: Int = n) throws -> Pass {
    let model = Autoencoder(config: c)
    model.initialise(seed: 11)
    let ws = StepWorkspace(config: c, capacity: rows)
    ws.sparseDecoder.policy = policy
    let batch = BatchContext(rowsPerRank: [rows], collectives: SingleProcess())
    let x = input(rows: rows)
    defer { withExtendedLifetime(x) {} }
    let xm = Matrix(x, rows: rows, cols: d)
    let moments = try model.forward(xm, ws, batch: batch)
    let xhat = Array(ws.reconstruction.buffer[0..<(rows * d)])
    let path = ws.sparseDecoder.path
    let s = try model.globalStatistics(ws, localMoments: moments, batch: batch, covariance: c.usesCovariance)
    let grads = AlignedBuffer<Float>(count: model.layout.count)
    model.backward(xm, ws, statistics: s, weights: LossWeights.scheduled(c, step: 0, entropy: s.entropy), into: grads)
    return Pass(xhat: xhat, sse: moments[0], grads: grads.toArray(), path: path)
  }

  static func train(_ c: ModelConfig, policy: DecoderPolicy, threads: Int = 1, steps: Int = 4) throws -> (
    params: [Float], losses: [Double], paths: [DecoderPath]
  ) {
    let model = Autoencoder(config: c)
    model.initialise(seed: 11)
    let x = input()
    let step = TrainingStep(model: model, rowsPerRank: [n], collectives: SingleProcess())
    step.workspace.sparseDecoder.policy = policy
    step.workspace.kernelThreads = threads
    var losses: [Double] = [], paths: [DecoderPath] = []
    for s in 0..<steps {
      losses.append(try step.run(Matrix(x, rows: n, cols: d), step: s, rowsPerRank: [n]).loss)
      paths.append(step.workspace.sparseDecoder.path)
    }
    return (model.parameters.toArray(), losses, paths)
  }

  func testLUTMatchesDenseForwardAndEveryGradient() throws {
    for (name, c) in [("bae", Self.config()), ("bae no decoder bias", Self.config { $0.decoderBias = false })] {
      let dense = try Self.pass(c, policy: .always(.dense))
      let lut = try Self.pass(c, policy: .always(.lut))
      XCTAssertEqual(dense.path, .dense)
      XCTAssertEqual(lut.path, .lut, name)
      assertClose(lut.xhat, dense.xhat, tol: 1e-5, "\(name): x̂")
      XCTAssertEqual(lut.sse, dense.sse, accuracy: 1e-5 * dense.sse, "\(name): SSE")
      XCTAssertTrue(lut.xhat != dense.xhat, "\(name): a different summation order (else the LUT did not run)")
      let model = Autoencoder(config: c)
      for t in model.layout.tensors {
        let a = Array(lut.grads[t.range]), b = Array(dense.grads[t.range])
        assertClose(a, b, tol: 1e-5, "\(name): ∂\(t.name)")
        XCTAssertTrue(b.contains { $0 != 0 } || t.name == "decoder.bias", "\(name): ∂\(t.name) is not all zero")
      }
    }
  }

  func testLUTMatchesDenseOverAdamSteps() throws {
    let c = Self.config()
    let dense = try Self.train(c, policy: .always(.dense))
    let lut = try Self.train(c, policy: .always(.lut))
    XCTAssertEqual(lut.paths, [.lut, .lut, .lut, .lut])
    for (a, b) in zip(lut.losses, dense.losses) { XCTAssertEqual(a, b, accuracy: 1e-5 * abs(b), "loss") }
    XCTAssertNotEqual(dense.losses[0], dense.losses[3], "the steps moved the model")
    // as in SparseDecoderTests: Adam's 1/√v turns rounding in tiny gradients into up to lr-sized moves
    let diff = zip(lut.params, dense.params).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(Double(diff), 0.01 * 4 * c.lr, "parameters after 4 steps")
  }

  func testLUTStepsAreBitwiseEqualForAnyKernelThreadCount() throws {
    let c = Self.config()
    let one = try Self.train(c, policy: .always(.lut), threads: 1)
    for t in [2, 3] {
      let other = try Self.train(c, policy: .always(.lut), threads: t)
      XCTAssertEqual(other.paths, one.paths)
      XCTAssertEqual(other.losses, one.losses, "T = \(t): losses")
      XCTAssertTrue(other.params == one.params, "T = \(t): parameters bit for bit")
    }
  }

  func testAutomaticPolicyTakesLUTOnlyForADenseOneBitBAEWithEnoughRows() throws {
    let c = Self.config()
    XCTAssertEqual(try Self.pass(c, policy: .standard).path, .lut, "n = \(Self.n) ≥ \(DecoderPolicy.lutMinimumRows)")
    XCTAssertEqual(try Self.pass(c, policy: .standard, rows: DecoderPolicy.lutMinimumRows - 1).path, .dense)
    XCTAssertEqual(try Self.pass(c, policy: .automatic(crossover: 1)).path, .sparse, "sparse below its crossover")
    let twoBit = Self.config { $0.bitsPerFeature = 2 }
    XCTAssertEqual(try Self.pass(twoBit, policy: .standard).path, .dense, "k = 2")
    XCTAssertEqual(try Self.pass(twoBit, policy: .always(.lut)).path, .dense, "k = 2 falls back to dense")
    var topk = Self.config()
    topk.architecture = .topk
    topk.k = 8
    XCTAssertEqual(try Self.pass(topk, policy: .always(.lut)).path, .dense, "an SAE falls back to dense")
  }
}

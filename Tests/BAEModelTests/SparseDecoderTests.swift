// The sparse decoder against the dense one on every architecture: the same x̂, moments, every gradient
// and a few Adam steps up to float rounding; the path really taken (sparse where it applies, dense for a
// multi-bit BAE); the automatic choice by density; and bitwise-equal sparse steps at 1, 2 and 3 threads.
import BAERandom
import BAETensor
import XCTest

@testable import BAEModel

final class SparseDecoderTests: XCTestCase {
  static let d = 24, dl = 96, n = 50

  /// Every kind and the options that change the decoder side's data flow.
  static var configs: [(String, ModelConfig)] {
    func make(_ a: Architecture, _ edit: (inout ModelConfig) -> Void = { _ in }) -> ModelConfig {
      var c = ModelConfig.bae(inputDim: d, latentDim: dl)
      c.architecture = a
      c.lr = 1e-3
      c.k = 6
      edit(&c)
      return c
    }
    return [
      (
        "bae",
        make(.bae) {
          $0.entropyWeight = 1e-3
          $0.covarianceWeight = 1e-3
        }
      ),
      ("bae no decoder bias", make(.bae) { $0.decoderBias = false }),
      ("bae k=2", make(.bae) { $0.bitsPerFeature = 2 }),
      ("relu", make(.relu)),
      ("relu decoder-norm L1", make(.relu) { $0.l1Form = .decoderNorm }),
      ("topk", make(.topk)),
      (
        "topk no ReLU, unit-norm decoder",
        make(.topk) {
          $0.topkReLU = false
          $0.unitNormDecoder = true
        }
      ),
      (
        "topk AuxK",
        make(.topk) {
          $0.auxkWeight = 1.0 / 32
          $0.auxkK = 5
          $0.deadAfterRows = 1
        }
      ),
      ("batchtopk", make(.batchtopk)),
      ("jumprelu", make(.jumprelu) { $0.threshold = 0.2 }),
      (
        "jumprelu learned θ",
        make(.jumprelu) {
          $0.threshold = 0.2
          $0.learnThreshold = true
          $0.bandwidth = 0.1
        }
      ),
    ]
  }

  static func input(seed: UInt64 = 7) -> AlignedBuffer<Float> {
    var rng = SplitMix64(seed: seed)
    let x = AlignedBuffer<Float>(count: n * d)
    for i in 0..<x.count { x[i] = Float(rng.nextGaussian()) }
    return x
  }

  static func model(_ c: ModelConfig) throws -> Autoencoder {
    try c.validate()
    let m = Autoencoder(config: c)
    m.initialise(seed: 11)
    if !m.bufferLayout.rowsSinceFired.isEmpty {
      // every third latent starts dead, so AuxK runs in the first step
      for (j, o) in m.bufferLayout.rowsSinceFired.enumerated() where j % 3 == 0 {
        m.buffers[o] = Double(c.deadAfterRows)
      }
    }
    return m
  }

  struct Pass {
    var xhat: [Float], moments: [Double], grads: [Float], path: DecoderPath, density: Double, auxActive: Bool
  }

  /// One forward, global statistics and backward under `policy`.
  static func pass(_ c: ModelConfig, policy: DecoderPolicy, threads: Int = 1) throws -> Pass {
    let model = try model(c)
    let x = input()
    let ws = StepWorkspace(config: c, capacity: n)
    ws.sparseDecoder.policy = policy
    ws.kernelThreads = threads
    let batch = BatchContext(rowsPerRank: [n], collectives: SingleProcess())
    let xm = Matrix(x, rows: n, cols: d)
    let moments = try model.forward(xm, ws, batch: batch)
    let xhat = Array(ws.reconstruction.buffer[0..<(n * d)])
    let path = ws.sparseDecoder.path, density = ws.sparseDecoder.density
    let s = try model.globalStatistics(ws, localMoments: moments, batch: batch, covariance: c.usesCovariance)
    let w = LossWeights.scheduled(c, step: 0, entropy: s.entropy)
    let grads = AlignedBuffer<Float>(count: model.layout.count)
    model.backward(xm, ws, statistics: s, weights: w, into: grads)
    return Pass(
      xhat: xhat, moments: moments, grads: grads.toArray(), path: path, density: density, auxActive: ws.auxActive)
  }

  /// `steps` training steps under `policy`; the parameters and losses.
  static func train(_ c: ModelConfig, policy: DecoderPolicy, threads: Int = 1, steps: Int = 3) throws -> (
    params: [Float], losses: [Double], paths: [DecoderPath]
  ) {
    let model = try model(c)
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

  func testSparseMatchesDenseForwardAndEveryGradient() throws {
    for (name, c) in Self.configs {
      let dense = try Self.pass(c, policy: .always(.dense))
      let sparse = try Self.pass(c, policy: .always(.sparse))
      XCTAssertEqual(dense.path, .dense, name)
      let applies = !(c.architecture == .bae && c.bitsPerFeature > 1)
      XCTAssertEqual(sparse.path, applies ? .sparse : .dense, "\(name): the path taken")
      if c.auxkWeight != 0 { XCTAssertTrue(sparse.auxActive, "\(name): AuxK ran") }
      assertClose(sparse.xhat, dense.xhat, tol: 1e-5, "\(name): x̂")
      assertClose(sparse.moments[0], dense.moments[0], rel: 1e-5, "\(name): SSE")
      let model = try Self.model(c)
      for t in model.layout.tensors {
        let a = Array(sparse.grads[t.range]), b = Array(dense.grads[t.range])
        assertClose(a, b, tol: 1e-5, "\(name): ∂\(t.name)")
        XCTAssertTrue(b.contains { $0 != 0 } || t.name == "decoder.bias", "\(name): ∂\(t.name) is not all zero")
      }
      if !applies { XCTAssertEqual(sparse.grads, dense.grads, "\(name): the fallback is the dense path itself") }
    }
  }

  func testSparseMatchesDenseOverAdamSteps() throws {
    for (name, c) in Self.configs {
      let dense = try Self.train(c, policy: .always(.dense))
      let sparse = try Self.train(c, policy: .always(.sparse))
      for (a, b) in zip(sparse.losses, dense.losses) { assertClose(a, b, rel: 1e-5, "\(name): loss") }
      // Adam divides by √v, so a rounding difference δg in an element whose terms nearly cancel (small |g|)
      // moves it by up to lr·δg/|g|: bound the parameters' difference by 1 % of the largest possible
      // total update (3 steps of at most lr each), far below what a wrong gradient would give (~lr)
      let diff = zip(sparse.params, dense.params).map { abs($0 - $1) }.max() ?? 0
      XCTAssertLessThanOrEqual(Double(diff), 0.01 * 3 * c.lr, "\(name): parameters after 3 steps")
      XCTAssertNotEqual(dense.losses[0], dense.losses[2], "\(name): the steps moved the model")
    }
  }

  func testSparseStepsAreBitwiseEqualForAnyKernelThreadCount() throws {
    for (name, c) in Self.configs where ["bae", "topk", "relu", "topk AuxK"].contains(name) {
      let one = try Self.train(c, policy: .always(.sparse), threads: 1)
      XCTAssertEqual(one.paths, [.sparse, .sparse, .sparse], name)
      for t in [2, 3] {
        let other = try Self.train(c, policy: .always(.sparse), threads: t)
        XCTAssertEqual(other.losses, one.losses, "\(name), T = \(t): losses")
        XCTAssertEqual(other.params, one.params, "\(name), T = \(t): parameters bit for bit")
      }
    }
  }

  func testAutomaticPolicyChoosesByMeasuredDensity() throws {
    // TopK without ReLU keeps exactly k of d' per row: density k/d'
    var c = Self.configs.first { $0.0 == "topk" }!.1
    c.topkReLU = false
    let kd = Double(c.k) / Double(Self.dl)
    let below = try Self.pass(c, policy: .automatic(crossover: kd * 0.99))
    XCTAssertEqual(below.density, kd, accuracy: 1e-12)
    XCTAssertEqual(below.path, .dense)
    XCTAssertEqual(try Self.pass(c, policy: .automatic(crossover: kd)).path, .sparse)
    // the measured crossovers: 14 % against the LUT path (a 1-bit BAE with enough rows), 25 % against dense
    XCTAssertEqual(DecoderPolicy.measuredCrossover(lut: true), 0.14)
    XCTAssertEqual(DecoderPolicy.measuredCrossover(lut: false), 0.25)
    // a BAE's density is its deviations from the rounded mean code: Σ_j min(c_j, n − c_j)/(n·d')
    let bae = Self.configs[0].1
    let model = try Self.model(bae)
    let ws = StepWorkspace(config: bae, capacity: Self.n)
    let input = Self.input()  // a Matrix does not keep its buffer alive
    _ = try withExtendedLifetime(input) { try model.forward(Matrix(input, rows: Self.n, cols: Self.d), ws) }
    var deviations = 0
    for j in 0..<Self.dl {
      var ones = 0
      for i in 0..<Self.n where ws.codes[i * Self.dl + j] != 0 { ones += 1 }
      deviations += min(ones, Self.n - ones)
    }
    XCTAssertEqual(ws.sparseDecoder.density, Double(deviations) / Double(Self.n * Self.dl), accuracy: 1e-12)
    XCTAssertGreaterThan(ws.sparseDecoder.density, 0.05, "random init: a dense-ish code")
    XCTAssertEqual(
      ws.sparseDecoder.path,
      ws.sparseDecoder.density <= DecoderPolicy.measuredCrossover(lut: Self.n >= DecoderPolicy.lutMinimumRows)
        ? .sparse : Self.n >= DecoderPolicy.lutMinimumRows ? .lut : .dense)
  }
}

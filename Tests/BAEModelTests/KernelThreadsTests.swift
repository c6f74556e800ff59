// The step's thread count never changes a result: for every architecture, training steps at T = 1, 2
// and 3 give bitwise-identical parameters, Adam state, statistics and losses; and a steady-state step
// allocates nothing on the heap (counted by the test-only malloc interposer, CAllocationCounter).
import BAEModel
import BAERandom
import BAETensor
import CAllocationCounter
import CBAEKernels
import XCTest

final class KernelThreadsTests: XCTestCase {
  struct Trace: Equatable {
    var params: [Float], m: [Float], v: [Float]
    var losses: [Double], sse: [Double], entropy: [Double], covariance: [Double?], sparsity: [Double]
    var aux: [Double], threshold: [Double?], paths: [DecoderPath]
  }

  /// Every kind, sized so each threaded phase splits into several parts (n·d' ≫ ParallelPhase.grain).
  static let kinds: [(String, ModelConfig)] = {
    var out: [(String, ModelConfig)] = []
    for bits in [1, 2] {
      var c = ModelConfig.bae(inputDim: 24, latentDim: 200, bitsPerFeature: bits)
      c.entropyWeight = 1e-3
      c.covarianceWeight = 1e-3
      c.lr = 2e-3
      out.append(("bae k=\(bits)", c))
    }
    var sign = out[0].1
    sign.estimator = .sign
    out.append(("bae sign", sign))
    func sae(_ a: Architecture, _ edit: (inout ModelConfig) -> Void = { _ in }) -> ModelConfig {
      var c = ModelConfig()
      c.architecture = a
      c.inputDim = 24
      c.latentDim = 300
      c.lr = 2e-3
      c.k = 8
      edit(&c)
      return c
    }
    out.append(("relu", sae(.relu)))
    out.append(("relu decoder-norm L1", sae(.relu) { $0.l1Form = .decoderNorm }))
    out.append(
      (
        "topk + AuxK",
        sae(.topk) {
          $0.auxkWeight = 1 / 32
          $0.deadAfterRows = 1
        }
      ))
    out.append(("batchtopk", sae(.batchtopk)))
    out.append(("jumprelu learned", sae(.jumprelu) { $0.learnThreshold = true }))
    return out
  }()

  func run(_ c: ModelConfig, threads: Int, steps: Int = 4) throws -> Trace {
    let model = Autoencoder(config: c)
    model.initialise(seed: 5)
    let n = 130, d = c.inputDim
    var rng = SplitMix64(seed: 9)
    let x = AlignedBuffer<Float>(count: n * d)
    for i in 0..<x.count { x[i] = Float(rng.nextGaussian()) }
    let step = TrainingStep(model: model, rowsPerRank: [n], collectives: SingleProcess())
    step.workspace.kernelThreads = threads
    var t = Trace(
      params: [], m: [], v: [], losses: [], sse: [], entropy: [], covariance: [], sparsity: [], aux: [], threshold: [],
      paths: [])
    for s in 0..<steps {
      let o = try step.run(Matrix(x, rows: n, cols: d), step: s, rowsPerRank: [n])
      t.losses.append(o.loss)
      t.sse.append(o.statistics.sumSquaredError)
      t.entropy.append(o.statistics.entropy)
      t.covariance.append(o.statistics.covariance)
      t.sparsity.append(o.statistics.sparsityLoss)
      t.aux.append(o.statistics.auxLoss)
      t.threshold.append(o.statistics.batchThreshold)
      t.paths.append(step.workspace.sparseDecoder.path)
    }
    t.params = model.parameters.toArray()
    t.m = step.adam.m.toArray()
    t.v = step.adam.v.toArray()
    return t
  }

  func testStepsAreBitwiseEqualForAnyThreadCount() throws {
    for (name, c) in Self.kinds {
      let one = try run(c, threads: 1)
      XCTAssertNotEqual(one.losses[0], one.losses[3], "\(name): the steps moved the model")
      if c.architecture == .bae && c.bitsPerFeature == 1 {
        XCTAssertEqual(one.paths, [.lut, .lut, .lut, .lut], "\(name): n = 130 takes the LUT decoder")
      }
      for t in [2, 3] {
        let other = try run(c, threads: t)
        XCTAssertEqual(other.losses, one.losses, "\(name), T = \(t): losses")
        XCTAssertEqual(other.sse, one.sse, "\(name), T = \(t): Σ(x̂ − x)²")
        XCTAssertEqual(other.entropy, one.entropy, "\(name), T = \(t): entropy")
        XCTAssertEqual(other.covariance, one.covariance, "\(name), T = \(t): covariance")
        XCTAssertEqual(other.sparsity, one.sparsity, "\(name), T = \(t): sparsity term")
        XCTAssertEqual(other.aux, one.aux, "\(name), T = \(t): AuxK loss")
        XCTAssertEqual(other.threshold, one.threshold, "\(name), T = \(t): BatchTopK threshold")
        XCTAssertTrue(other.params == one.params, "\(name), T = \(t): parameters bit for bit")
        XCTAssertTrue(other.m == one.m && other.v == one.v, "\(name), T = \(t): Adam m and v bit for bit")
      }
    }
  }

  /// A BAE step (k = 1: entropy, covariance, sign_s; the LUT decoder) after warm-up makes no heap
  /// allocation at T = 1 and T = 2. OpenBLAS runs on one thread here: its threaded sgemm mallocs a few job buffers per call.
  func testBAEStepAllocatesNothing() throws {
    try XCTSkipUnless(allocation_counter_supported() != 0, "allocation counting needs glibc")
    // the counter must see allocations at all, or a zero below would prove nothing
    allocation_counter_start()
    let probe = [Int](repeating: 7, count: 100 + Int.random(in: 0..<3))
    let seen = allocation_counter_stop()
    XCTAssertGreaterThan(seen, 0, "the allocation counter saw no allocation of a fresh array (\(probe.count))")
    let blasThreads = BLAS.threads
    BLAS.threads = 1
    defer { BLAS.threads = blasThreads }
    // the automatic kernels, then (where the CPU has AVX2) the AVX2 path with its H·S table form forced:
    // at n = 128 the automatic choice is the popcount form, so the table form's scratch is checked here
    var settings = [(Int32(BAE_PATH_AUTO), Int32(BAE_PRODUCT_AUTO))]
    if bae_kernels_path_supported(Int32(BAE_PATH_AVX2)) != 0 {
      settings.append((Int32(BAE_PATH_AVX2), Int32(BAE_PRODUCT_TABLES)))
    }
    defer {
      _ = bae_kernels_force_path(Int32(BAE_PATH_AUTO))
      _ = bae_kernels_set_product_form(Int32(BAE_PRODUCT_AUTO))
    }
    for (path, form) in settings {
      XCTAssertEqual(bae_kernels_force_path(path), 0)
      XCTAssertEqual(bae_kernels_set_product_form(form), 0)
      try checkStepAllocatesNothing(label: "path \(path), H·S form \(form)")
    }
  }

  func checkStepAllocatesNothing(label: String) throws {
    for bits in [1] {
      for threads in [1, 2] {
        let c = Self.kinds[bits - 1].1
        let model = Autoencoder(config: c)
        model.initialise(seed: 5)
        let n = 128, d = c.inputDim
        let x = AlignedBuffer<Float>(count: n * d)
        var rng = SplitMix64(seed: 3)
        for i in 0..<x.count { x[i] = Float(rng.nextGaussian()) }
        let step = TrainingStep(model: model, rowsPerRank: [n], collectives: SingleProcess())
        step.workspace.kernelThreads = threads
        let xm = Matrix(x, rows: n, cols: d), rows = [n]
        for s in 0..<2 { _ = try step.run(xm, step: s, rowsPerRank: rows) }  // warm-up: pool threads, BLAS buffers
        allocation_counter_start()
        for s in 2..<5 { _ = try step.run(xm, step: s, rowsPerRank: rows) }
        let allocations = allocation_counter_stop()
        XCTAssertEqual(allocations, 0, "\(label), k = \(bits), T = \(threads): heap allocations in 3 steps")
        XCTAssertEqual(step.workspace.sparseDecoder.path, .lut, "n = \(n): the LUT decoder ran")
      }
    }
  }
}

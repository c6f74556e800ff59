// The LUT decoder in the model (SparseDecoderTests' harness with the LUT path forced): a 1-bit BAE's x̂,
// moments, every gradient and Adam steps agree with the dense path up to float rounding; steps are
// bitwise equal at 1, 2 and 3 kernel threads; the automatic policy takes it for a dense 1-bit BAE code
// from `lutMinimumRows` local rows, and other models fall back to dense.
import BAERandom
import BAETensor
import XCTest

@testable import BAEModel

final class LUTDecoderTests: XCTestCase {
  typealias Harness = SparseDecoderTests

  static func config(_ name: String) -> ModelConfig { Harness.configs.first { $0.0 == name }!.1 }

  func testLUTMatchesDenseForwardAndEveryGradient() throws {
    for name in ["bae", "bae no decoder bias"] {
      let c = Self.config(name)
      let dense = try Harness.pass(c, policy: .always(.dense))
      let lut = try Harness.pass(c, policy: .always(.lut))
      XCTAssertEqual(lut.path, .lut, name)
      assertClose(lut.xhat, dense.xhat, tol: 1e-5, "\(name): x̂")
      assertClose(lut.moments[0], dense.moments[0], rel: 1e-5, "\(name): SSE")
      XCTAssertTrue(lut.xhat != dense.xhat, "\(name): another summation order (else the LUT did not run)")
      let model = try Harness.model(c)
      for t in model.layout.tensors {
        let a = Array(lut.grads[t.range]), b = Array(dense.grads[t.range])
        assertClose(a, b, tol: 1e-5, "\(name): ∂\(t.name)")
        XCTAssertTrue(b.contains { $0 != 0 } || t.name == "decoder.bias", "\(name): ∂\(t.name) is not all zero")
      }
    }
  }

  func testLUTMatchesDenseOverAdamSteps() throws {
    let c = Self.config("bae")
    let dense = try Harness.train(c, policy: .always(.dense), steps: 4)
    let lut = try Harness.train(c, policy: .always(.lut), steps: 4)
    XCTAssertEqual(lut.paths, [.lut, .lut, .lut, .lut])
    for (a, b) in zip(lut.losses, dense.losses) { assertClose(a, b, rel: 1e-5, "loss") }
    XCTAssertNotEqual(dense.losses[0], dense.losses[3], "the steps moved the model")
    // as in SparseDecoderTests: Adam's 1/√v turns rounding in tiny gradients into up to lr-sized moves
    let diff = zip(lut.params, dense.params).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(Double(diff), 0.01 * 4 * c.lr, "parameters after 4 steps")
  }

  func testLUTStepsAreBitwiseEqualForAnyKernelThreadCount() throws {
    let c = Self.config("bae")
    let one = try Harness.train(c, policy: .always(.lut), threads: 1)
    for t in [2, 3] {
      let other = try Harness.train(c, policy: .always(.lut), threads: t)
      XCTAssertEqual(other.paths, one.paths)
      XCTAssertEqual(other.losses, one.losses, "T = \(t): losses")
      XCTAssertTrue(other.params == one.params, "T = \(t): parameters bit for bit")
    }
  }

  /// The path a forward on `rows` random rows takes under `policy`.
  static func path(_ c: ModelConfig, _ policy: DecoderPolicy, rows: Int) throws -> DecoderPath {
    let model = try Harness.model(c)
    let ws = StepWorkspace(config: c, capacity: rows)
    ws.sparseDecoder.policy = policy
    var rng = SplitMix64(seed: 4)
    let x = AlignedBuffer<Float>(count: rows * c.inputDim)
    for i in 0..<x.count { x[i] = Float(rng.nextGaussian()) }
    try withExtendedLifetime(x) { _ = try model.forward(Matrix(x, rows: rows, cols: c.inputDim), ws) }
    return ws.sparseDecoder.path
  }

  func testAutomaticPolicyTakesLUTOnlyForADenseOneBitBAEWithEnoughRows() throws {
    let bae = Self.config("bae"), enough = DecoderPolicy.lutMinimumRows
    XCTAssertEqual(try Self.path(bae, .standard, rows: enough), .lut, "n = \(enough)")
    XCTAssertEqual(try Self.path(bae, .standard, rows: enough - 1), .dense, "n = \(enough - 1)")
    XCTAssertEqual(try Self.path(bae, .automatic(crossover: 1), rows: enough), .sparse, "below the sparse crossover")
    for name in ["bae k=2", "topk", "relu"] {
      let c = Self.config(name)
      XCTAssertEqual(try Self.path(c, .always(.lut), rows: enough), .dense, "\(name): falls back to dense")
      XCTAssertNotEqual(try Self.path(c, .standard, rows: enough), .lut, "\(name): never chosen")
    }
  }
}

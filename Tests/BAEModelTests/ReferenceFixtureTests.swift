import BAETensor
import XCTest

// The Swift BAE against an independent PyTorch autograd implementation (fixtures in Fixtures/):
// forward, every loss term, every gradient, and 10 Adam steps, for sign_s/sign, λ on/off, k = 1/2,
// n = 70 and 64, an entropy start step and a threshold; on the default decoder path (dense at these n)
// and with the LUT decoder forced (a 1-bit BAE's x̂ and ∂W_dec from lookup tables).
@testable import BAEModel

final class ReferenceFixtureTests: XCTestCase {
  func testFixturesArePresent() throws {
    let all = try ReferenceFixture.all
    XCTAssertGreaterThanOrEqual(all.count, 10, "expected the 10 committed reference cases")
    XCTAssertTrue(all.contains { $0.int("bitsPerFeature") == 2 })
    XCTAssertTrue(all.contains { $0.int("rows") % 64 != 0 })
  }

  /// The decoder policies every fixture runs under.
  static let policies: [DecoderPolicy] = [.standard, .always(.lut)]

  func testForwardLossesAndGradients() throws {
    for policy in Self.policies { try forwardLossesAndGradients(policy) }
  }

  func forwardLossesAndGradients(_ policy: DecoderPolicy) throws {
    for f in try ReferenceFixture.all {
      let model = f.makeModel()
      let n = f.int("rows"), d = f.int("inputDim"), m = model.codeBits
      let xb = f.input()
      let x = Matrix(xb, rows: n, cols: d)
      let ws = StepWorkspace(config: model.config, capacity: n, covariance: true)
      ws.sparseDecoder.policy = policy
      let moments = try model.forward(x, ws)
      if policy == .always(.lut) && model.bitsPerFeature == 1 { XCTAssertEqual(ws.sparseDecoder.path, .lut) }
      // codes are exact (the fixture keeps every |z| ≥ 1e-3)
      XCTAssertEqual(Array(ws.codes.buffer[0..<(n * m)]), f.array("h"), "\(f.name): codes h")
      assertClose(Array(ws.reconstruction.buffer[0..<(n * d)]), f.array("xhat"), tol: 1e-5, "\(f.name): xhat")
      let s = try model.globalStatistics(
        ws, localMoments: moments, batch: BatchContext(rowsPerRank: [n], collectives: SingleProcess()), covariance: true
      )
      let w = LossWeights.scheduled(f.baseConfig, step: 0, entropy: s.entropy)
      assertClose(s.mse(inputDim: d), f.scalar("mse"), rel: 1e-5, "\(f.name): mse")
      assertClose(s.entropy, f.scalar("entropy"), rel: 1e-5, "\(f.name): entropy")
      assertClose(s.covariance!, f.scalar("covariance"), rel: 1e-6, "\(f.name): covariance")
      assertClose(w.loss(s, inputDim: d), f.scalar("loss"), rel: 1e-5, "\(f.name): loss")
      let rates = (0..<m).map { Float(Double(ws.counts[$0]) / Double(n)) }
      assertClose(rates, f.array("p"), tol: 1e-6, "\(f.name): p")

      let grads = AlignedBuffer<Float>(count: model.layout.count)
      model.backward(x, ws, statistics: s, weights: w, into: grads)
      let gz = model.bitsPerFeature == 1 ? ws.valueGrad : ws.codeGrad
      assertClose(Array(gz.buffer[0..<(n * m)]), f.array("grad_z"), tol: 1e-5, "\(f.name): ∂L/∂z")
      for t in model.layout.tensors {
        assertClose(Array(grads.buffer[t.range]), f.array("grad." + t.name), tol: 1e-5, "\(f.name): grad \(t.name)")
      }
    }
  }

  func testTenAdamStepsMatchReferenceTrajectory() throws {
    for policy in Self.policies { try tenAdamStepsMatchReferenceTrajectory(policy) }
  }

  func tenAdamStepsMatchReferenceTrajectory(_ policy: DecoderPolicy) throws {
    for f in try ReferenceFixture.all {
      let model = f.makeModel()
      let n = f.int("rows"), d = f.int("inputDim")
      let xb = f.input()
      let x = Matrix(xb, rows: n, cols: d)
      let cfg = f.baseConfig
      let ws = StepWorkspace(config: model.config, capacity: n, covariance: true)
      ws.sparseDecoder.policy = policy
      let grads = AlignedBuffer<Float>(count: model.layout.count)
      let adam = Adam(count: model.layout.count, lr: cfg.lr)
      let refLosses = f.list("losses"), refEntropies = f.list("entropies")
      let applied = (f.json["entropyApplied"] as! [Bool])
      for step in 0..<f.int("adamSteps") {
        let mo = try model.forward(x, ws)
        let s = try model.globalStatistics(
          ws, localMoments: mo, batch: BatchContext(rowsPerRank: [n], collectives: SingleProcess()),
          covariance: cfg.covarianceWeight != 0)
        let w = LossWeights.scheduled(cfg, step: step, entropy: s.entropy)
        XCTAssertEqual(
          w.entropy != 0, applied[step] && cfg.entropyWeight != 0, "\(f.name): entropy schedule at step \(step)")
        assertClose(w.loss(s, inputDim: d), refLosses[step], rel: 2e-5, "\(f.name): loss at step \(step)")
        assertClose(s.entropy, refEntropies[step], rel: 1e-5, "\(f.name): entropy at step \(step)")
        model.backward(x, ws, statistics: s, weights: w, into: grads)
        adam.update(parameters: model.parameters, gradients: grads)
      }
      for t in model.layout.tensors {
        assertClose(
          Array(model.parameters.buffer[t.range]), f.array("final." + t.name), tol: 2e-5,
          "\(f.name): \(t.name) after 10 Adam steps")
      }
    }
  }
}

// The bit kernels' thread count never changes a result: training steps at T = 1 and T = 2 (and 3)
// give bitwise-identical parameters, statistics and losses.
import BAEModel
import BAERandom
import BAETensor
import XCTest

final class KernelThreadsTests: XCTestCase {
  func run(threads: Int, bits: Int) throws -> (params: [Float], losses: [Double]) {
    var c = ModelConfig.bae(inputDim: 24, latentDim: 200, bitsPerFeature: bits)
    c.entropyWeight = 1e-3
    c.covarianceWeight = 1e-3
    c.lr = 2e-3
    let model = Autoencoder(config: c)
    model.initialise(seed: 5)
    let n = 130
    var rng = SplitMix64(seed: 9)
    let x = AlignedBuffer<Float>(count: n * 24)
    for i in 0..<x.count { x[i] = Float(rng.nextGaussian()) }
    let step = TrainingStep(model: model, rowsPerRank: [n], collectives: SingleProcess())
    step.workspace.kernelThreads = threads
    var losses: [Double] = []
    for s in 0..<4 { losses.append(try step.run(Matrix(x, rows: n, cols: 24), step: s, rowsPerRank: [n]).loss) }
    return (model.parameters.toArray(), losses)
  }

  func testStepsAreBitwiseEqualForAnyKernelThreadCount() throws {
    for bits in [1, 2] {
      let one = try run(threads: 1, bits: bits)
      for t in [2, 3] {
        let other = try run(threads: t, bits: bits)
        XCTAssertEqual(other.losses, one.losses, "k = \(bits), T = \(t): losses")
        XCTAssertEqual(other.params, one.params, "k = \(bits), T = \(t): parameters bit for bit")
      }
      XCTAssertNotEqual(one.losses[0], one.losses[3], "the steps moved the model")
    }
  }
}

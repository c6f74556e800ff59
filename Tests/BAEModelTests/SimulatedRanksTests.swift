import BAERandom
import BAETensor
import Foundation
import XCTest

// Data parallelism in one process: R threads act as ranks over shared-memory collectives, each with a
// slice of the global batch. Exactness (spec §6) means their summed gradient equals the single-process
// full-batch gradient and every rank sees the same global entropy and covariance.
@testable import BAEModel

/// An all-gather rendezvous for R threads; every collective is built on it.
final class SharedMemoryWorld: @unchecked Sendable {
  let size: Int
  private let cond = NSCondition()
  private var slots: [[UInt8]]
  private var arrived = 0
  private var generation = 0
  private var published: [[UInt8]] = []
  init(size: Int) {
    self.size = size
    slots = Array(repeating: [], count: size)
  }

  func exchange(rank: Int, _ bytes: [UInt8]) -> [[UInt8]] {
    cond.lock()
    defer { cond.unlock() }
    slots[rank] = bytes
    arrived += 1
    let gen = generation
    if arrived == size {
      published = slots
      arrived = 0
      generation += 1
      cond.broadcast()
    } else {
      while generation == gen { cond.wait() }
    }
    return published
  }
}

final class SharedMemoryRank: Collectives {
  let world: SharedMemoryWorld
  let rank: Int
  var worldSize: Int { world.size }
  init(_ world: SharedMemoryWorld, rank: Int) {
    self.world = world
    self.rank = rank
  }

  private func allGather<T: BitwiseCopyable>(_ x: UnsafeBufferPointer<T>) -> [[T]] {
    let bytes = Array(UnsafeRawBufferPointer(x))
    return world.exchange(rank: rank, bytes).map { b in b.withUnsafeBytes { Array($0.bindMemory(to: T.self)) } }
  }
  private func reduce<T: BitwiseCopyable>(_ x: UnsafeMutableBufferPointer<T>, _ op: (T, T) -> T) {
    let all = allGather(UnsafeBufferPointer(x))
    for i in 0..<x.count {
      var acc = all[0][i]
      for r in 1..<all.count { acc = op(acc, all[r][i]) }
      x[i] = acc
    }
  }
  func sum(_ x: UnsafeMutableBufferPointer<Float>) { reduce(x, +) }
  func sum(_ x: UnsafeMutableBufferPointer<Double>) { reduce(x, +) }
  func sum(_ x: UnsafeMutableBufferPointer<Int64>) { reduce(x, +) }
  func sum(_ x: UnsafeMutableBufferPointer<UInt64>) { reduce(x, &+) }
  func max(_ x: UnsafeMutableBufferPointer<Double>) { reduce(x) { Swift.max($0, $1) } }
  func gather(_ local: UnsafeBufferPointer<UInt64>, into global: UnsafeMutableBufferPointer<UInt64>, counts: [Int]) {
    let all = allGather(local).flatMap { $0 }
    XCTAssertEqual(all.count, counts.reduce(0, +))
    _ = global.initialize(from: all)
  }
}

final class SimulatedRanksTests: XCTestCase {
  struct Outcome {
    var grads: [Float]
    var entropy: Double
    var covariance: Double
    var loss: Double
  }

  func runStep(
    world: Int, n: Int, k: Int, model src: Autoencoder, x xAll: [Float], decoder: DecoderPolicy = .always(.dense)
  ) throws -> [Outcome] {
    let shared = SharedMemoryWorld(size: world)
    let d = src.inputDim
    let rowsPerRank = (0..<world).map { (($0 + 1) * n / world) - ($0 * n / world) }
    final class Box: @unchecked Sendable {
      var outcomes: [Outcome?] = []
      let lock = NSLock()
    }
    let box = Box()
    box.outcomes = Array(repeating: nil, count: world)
    // one real thread per rank: the rendezvous needs all ranks running at once (a pool may have fewer threads)
    let done = DispatchGroup()
    for r in 0..<world {
      done.enter()
      Thread {
        defer { done.leave() }
        let comm = SharedMemoryRank(shared, rank: r)
        let model = Autoencoder(config: src.config)
        model.parameters.copy(from: src.parameters)
        let lo = r * n / world, rows = rowsPerRank[r]
        let xb = AlignedBuffer<Float>(count: max(1, rows) * d)
        for i in 0..<(rows * d) { xb[i] = xAll[lo * d + i] }
        let x = Matrix(xb, rows: rows, cols: d)
        let ws = StepWorkspace(config: model.config, capacity: max(1, rows), globalCapacity: n)
        ws.sparseDecoder.policy = decoder
        let grads = AlignedBuffer<Float>(count: model.layout.count)
        let mo = try! model.forward(x, ws)
        let s = try! model.globalStatistics(
          ws, localMoments: mo, batch: BatchContext(rowsPerRank: rowsPerRank, collectives: comm), covariance: true)
        let w = LossWeights(entropy: 3e-2, covariance: 5e-2, estimator: .sign_s)
        model.backward(x, ws, statistics: s, weights: w, into: grads)
        comm.sum(grads.buffer)
        box.lock.lock()
        box.outcomes[r] = Outcome(
          grads: grads.toArray(), entropy: s.entropy, covariance: s.covariance!, loss: w.loss(s, inputDim: d))
        box.lock.unlock()
      }.start()
    }
    done.wait()
    return box.outcomes.map { $0! }
  }

  /// The split-batch tests' case: a d = 6, d' = 40 BAE with k bits per feature (seed 7) and n Gaussian rows.
  func splitCase(n: Int, k: Int) -> (Autoencoder, [Float]) {
    let d = 6
    let model = Autoencoder(config: .bae(inputDim: d, latentDim: 40, bitsPerFeature: k))
    model.initialise(seed: 7)
    var rng = SplitMix64(seed: UInt64(n))
    return (model, (0..<(n * d)).map { _ in Float(rng.nextGaussian()) })
  }

  func testSplitBatchGivesTheFullBatchGradient() throws {
    for (n, k) in [(70, 1), (131, 2), (256, 1)] {
      let (model, x) = splitCase(n: n, k: k)
      let single = try runStep(world: 1, n: n, k: k, model: model, x: x)[0]
      for world in [2, 3, 4] {
        let ranks = try runStep(world: world, n: n, k: k, model: model, x: x)
        for (r, o) in ranks.enumerated() {
          XCTAssertEqual(o.entropy, single.entropy, "n \(n) world \(world) rank \(r): global entropy must be exact")
          XCTAssertEqual(
            o.covariance, single.covariance, "n \(n) world \(world) rank \(r): global covariance must be exact")
          // The loss's MSE part sums float32 reconstructions, and OpenBLAS's sgemm may round a row
          // differently with the rows per call (the AVX-512 Cooperlake kernel: 1.1e-9 relative here; Zen and
          // Haswell kernels: within 1e-9). The bound is float32's resolution, not the luck of one kernel.
          XCTAssertEqual(o.loss, single.loss, accuracy: Double(Float.ulpOfOne) * abs(single.loss))
          XCTAssertEqual(o.grads, ranks[0].grads, "all ranks hold the same summed gradient")
          assertClose(o.grads, single.grads, tol: 1e-5, "n \(n) world \(world): summed gradient vs full batch")
        }
      }
    }
  }

  /// The sparse decoder's centre (the rounded mean code) is each rank's own, so x̂ rounds differently per
  /// split: the loss agrees to 1e-6 relative instead of the dense path's float32 resolution.
  func testSplitBatchWithTheSparseDecoderGivesTheFullBatchGradient() throws {
    for (n, k) in [(70, 1), (256, 1)] {
      let (model, x) = splitCase(n: n, k: k)
      let dense = try runStep(world: 1, n: n, k: k, model: model, x: x)[0]
      for world in [1, 2, 3, 4] {
        for o in try runStep(world: world, n: n, k: k, model: model, x: x, decoder: .always(.sparse)) {
          XCTAssertEqual(o.entropy, dense.entropy, "n \(n) world \(world): global entropy must be exact")
          XCTAssertEqual(o.covariance, dense.covariance, "n \(n) world \(world): global covariance must be exact")
          XCTAssertEqual(o.loss, dense.loss, accuracy: 1e-6 * abs(dense.loss))
          assertClose(o.grads, dense.grads, tol: 1e-5, "n \(n) world \(world): sparse summed gradient vs dense")
        }
      }
    }
  }
}

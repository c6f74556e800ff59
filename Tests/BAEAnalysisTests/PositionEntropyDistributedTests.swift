// The per-position trainer under real MPI (scripts/test_mpi.sh runs this class with mpirun -np 2, 3
// and 4; plain `swift test` runs it as a world of one): the R-rank run must take the same steps, reach the
// same parameters (up to float summation order) and the same Ĥ per bucket as a single-process run of
// the same batches computed inside the same process on every rank.
import BAEAnalysis
import BAEComm
import BAEModel
import BAEStore
import BAETrain
import XCTest

final class PositionEntropyDistributedTests: XCTestCase {
  func testRanksAgreeWithOneProcess() throws {
    let comm = try Communicator.world()
    let d = 12, n = 900
    let values = SyntheticData.generate(bits: 6, dim: d, rows: n, noise: 0.05, seed: 9)
    // three buckets of 150, 300 and 450 rows, interleaved like positions within documents
    let positions = (0..<n).map { Int32([1, 2, 3, 5, 6, 9][$0 % 6]) }
    var model = TrainConfig()
    model.model.latentDim = 24
    model.model.lr = 5e-3
    model.model.entropyWeight = 1e-3
    model.model.covarianceWeight = 1e-3
    model.seed = 4
    var options = PositionEntropyOptions(buckets: PositionBuckets(edges: [1, 2, 4]), model: model)
    options.steps = 25
    options.bucketBatch = 64
    let source = InMemoryRowSource(values: values, inputDim: d)
    let mpi = try PositionEntropyTrainer(
      source: source, positions: positions, options: options, collectives: MPICollectives(comm))
    let mpiResult = try mpi.run()
    let one = try PositionEntropyTrainer(
      source: source, positions: positions, options: options, collectives: SingleProcess())
    let oneResult = try one.run()

    XCTAssertEqual(mpiResult.ranks, comm.size)
    XCTAssertEqual(mpi.bucketSteps, [25, 25, 25])
    XCTAssertEqual(mpiResult.buckets.map(\.rows), [150, 300, 450])
    XCTAssertEqual(mpiResult.buckets.map(\.evalRows), [150, 150, 150])
    for b in 0..<3 {
      let a = mpi.models[b].parameters.buffer, c = one.models[b].parameters.buffer
      let diff = zip(a, c).map { abs($0 - $1) }.max() ?? 0
      XCTAssertLessThan(diff, 1e-4, "bucket \(b): parameters differ by \(diff) with \(comm.size) ranks")
      XCTAssertEqual(
        try XCTUnwrap(mpiResult.buckets[b].entropyBits), try XCTUnwrap(oneResult.buckets[b].entropyBits),
        accuracy: 0.05, "bucket \(b)")
    }
  }
}

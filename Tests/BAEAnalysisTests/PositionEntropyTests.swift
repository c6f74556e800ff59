// Per-position BAEs in one run: bucket lookup, equal steps per bucket whatever its size, and routing
// checked through Ĥ — rows of a constant bucket must give exactly 0 bits, a bucket of 8 random fair bits
// must give more.
import BAEAnalysis
import BAEModel
import BAEStore
import BAETrain
import XCTest

final class PositionEntropyTests: XCTestCase {
  func testBuckets() {
    let b = PositionBuckets.powersOfTwo(from: 1, upTo: 300)
    XCTAssertEqual(b.edges, [1, 2, 4, 8, 16, 32, 64, 128, 256])
    XCTAssertEqual(PositionBuckets.powersOfTwo(from: 0, upTo: 4).edges, [0, 1, 2, 4])
    XCTAssertEqual(PositionBuckets.powersOfTwo(from: 3, upTo: 9).edges, [3, 4, 8])
    XCTAssertNil(b.bucket(of: 0))
    XCTAssertEqual([1, 2, 3, 4, 255, 256, 10_000].map { b.bucket(of: $0) }, [0, 1, 1, 2, 7, 8, 8])
    XCTAssertEqual(b.label(1), "[2, 4)")
    XCTAssertEqual(b.label(8), "[256, ∞)")
  }

  func testConstantBucketHasZeroEntropyAndRandomBucketDoesNot() throws {
    let d = 16, n = 1536
    let random = SyntheticData.generate(bits: 8, dim: d, rows: n, noise: 0, seed: 3)
    let constant = (0..<d).map { Float($0) * 0.25 - 1 }
    var values = [Float](), positions = [Int32]()
    for r in 0..<n {  // every third row is position 0 (constant), the others position 5 (random)
      if r % 3 == 0 {
        values += constant
        positions.append(0)
      } else {
        values += random[(r * d)..<((r + 1) * d)]
        positions.append(5)
      }
    }
    var model = TrainConfig()
    model.model.latentDim = 32
    model.model.lr = 1e-2
    var options = PositionEntropyOptions(buckets: PositionBuckets(edges: [0, 4]), model: model)
    options.steps = 60
    options.bucketBatch = 64
    let trainer = try PositionEntropyTrainer(
      source: InMemoryRowSource(values: values, inputDim: d), positions: positions,
      options: options, collectives: SingleProcess())
    let result = try trainer.run()
    XCTAssertEqual(result.buckets.map(\.rows), [512, 1024])
    XCTAssertEqual(result.buckets.map(\.evalRows), [512, 512])  // equalised to the smaller bucket
    // equal steps although bucket 1 holds twice the rows: 60 × 64 rows = 7.5 epochs of bucket 0, 3.75 of 1
    XCTAssertEqual(trainer.bucketSteps, [60, 60])
    XCTAssertEqual(result.buckets.map(\.steps), [60, 60])
    XCTAssertEqual(result.buckets.map(\.epochs), [7.5, 3.75])
    XCTAssertEqual(result.buckets[0].entropyBits, 0)
    XCTAssertGreaterThan(try XCTUnwrap(result.buckets[1].entropyBits), 4)
    XCTAssertEqual(result.buckets[1].upperPosition, nil)
  }

  func testABucketSmallerThanABatchIsSkipped() throws {
    let d = 4
    let values = SyntheticData.generate(bits: 2, dim: d, rows: 200, noise: 0, seed: 1)
    let positions = (0..<200).map { Int32($0 == 7 ? 9 : 1) }  // one row in the second bucket
    var options = PositionEntropyOptions(buckets: PositionBuckets(edges: [0, 8]), model: TrainConfig())
    options.steps = 3
    options.bucketBatch = 32
    let result = try PositionEntropyTrainer(
      source: InMemoryRowSource(values: values, inputDim: d), positions: positions,
      options: options, collectives: SingleProcess()
    ).run()
    XCTAssertNotNil(result.buckets[0].entropyBits)
    XCTAssertNil(result.buckets[1].entropyBits)
    XCTAssertEqual(result.buckets[1].skipped, "1 rows: fewer than one bucket batch of 32 distinct rows")
    XCTAssertEqual(result.buckets[0].evalRows, 199)
    XCTAssertEqual(result.buckets.map(\.steps), [3, 0])
  }
}

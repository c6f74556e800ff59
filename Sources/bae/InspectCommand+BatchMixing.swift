// `bae inspect DIR --batch-mixing`: how the shuffled sampler that `bae train` builds for this dataset
// mixes documents over its first epoch, against a uniform shuffle of the same rows.
import ArgumentParser
import BAEStore
import BAETrain
import Foundation

extension InspectCommand {
  func runBatchMixing() throws {
    let dir = URL(fileURLWithPath: dataset)
    let manifest = try DatasetManifest.read(directory: dir)
    let documents = try BatchMixingReport.documents(ofDataset: dir)
    // The train split and window exactly as the trainer makes them (default validation fraction).
    let n = manifest.rows
    let trainRows = n - Int((Double(n) * TrainConfig().validationFraction).rounded(.down))
    guard batchSize >= 1 && batchSize <= trainRows else {
      throw ValidationError("--batch-size \(batchSize) must be in 1...\(trainRows) (the train split of \(n) rows)")
    }
    let sampler = GlobalBatchSampler(
      rows: 0..<trainRows, globalBatch: batchSize, seed: seed, order: .shuffled,
      blockRows: manifest.rowsPerFrame,
      windowBlocks: BatchMixing.windowBlocks(rowsPerBlock: manifest.rowsPerFrame))
    let r = BatchMixingReport.measure(sampler: sampler, documents: documents)
    if json {
      let enc = JSONEncoder()
      enc.outputFormatting = [.prettyPrinted, .sortedKeys]
      print(String(decoding: try enc.encode(r), as: UTF8.self))
      return
    }
    print("dataset       \(dataset)")
    print(
      "sampler       shuffled, seed \(r.seed), batch \(r.globalBatch), \(r.batches) batches over \(r.rows) train rows, "
        + "\(r.documents) documents, window \(r.windowBlocks) frames of \(r.rowsPerBlock) rows")
    print(
      String(
        format: "documents     %.2f distinct per batch; uniform shuffle %.2f; mixing_ratio %.4f",
        r.meanDistinctDocuments, r.uniformDistinctDocuments, r.mixingRatio))
    print(
      String(
        format: "same-doc pairs %.5f of a batch's pairs; uniform %.5f; ratio %.3f",
        r.sameDocumentPairRate, r.uniformSameDocumentPairRate, r.pairRateRatio))
  }
}

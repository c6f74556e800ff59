// Opening the training data: a `.npy` (loaded, scanned for NaN/Inf) or a dataset directory, its width
// checked against the config, and the train/validation split in file order (spec §4).
import BAEIO
import BAEModel
import BAEStore
import Foundation

/// Bad training input, with the file, what was found and what to do.
public struct DataError: Error, CustomStringConvertible {
  public let file: String
  public let message: String
  public init(file: String, message: String) { self.file = file; self.message = message }
  public var description: String { "\(file): \(message)" }
}

/// The rows a run trains and validates on.
public struct TrainingData {
  public let source: any RowSource
  /// Training rows (the first rows in file order).
  public let trainRows: Range<Int>
  /// Validation rows (the last `validationFraction` of the rows).
  public let validationRows: Range<Int>
  /// Rows dropped because they held NaN/Inf (only with `skipNonFinite`).
  public let skippedNonFinite: Int

  public var inputDim: Int { source.inputDim }

  /// Frames per shuffling window of a dataset (the sampler's two-level permutation): a batch touches
  /// at most 2× this many frames, so the reader caches 2W + 2 decoded frames.
  public static let shuffleWindowFrames = 8

  /// Opens `config.data`. A `.npy` is scanned for non-finite values: an error names the first bad row,
  /// or with `skipNonFinite` such rows are dropped and counted. Datasets are checked batch by batch.
  public static func open(_ config: BAEConfig) throws -> TrainingData {
    guard !config.data.isEmpty else {
      throw DataError(file: "--data", message: "no data given; pass --data FILE.npy or a dataset directory made by `bae pack`")
    }
    let url = URL(fileURLWithPath: config.data)
    guard FileManager.default.fileExists(atPath: url.path) else {
      throw DataError(file: config.data, message: "does not exist; check the path (bae synth or bae pack make inputs)")
    }
    var source = try openRowSource(url, cacheFrames: 2 * shuffleWindowFrames + 2)
    var skipped = 0
    if let mem = source as? InMemoryRowSource {
      let (clean, bad) = try Self.scanFinite(mem, file: config.data, skip: config.skipNonFinite)
      source = clean
      skipped = bad
    }
    if config.inputDim != 0 && config.inputDim != source.inputDim {
      throw DataError(file: config.data, message: "rows have width \(source.inputDim) but the config has inputDim \(config.inputDim); use data of width \(config.inputDim) or fix inputDim in the config")
    }
    let n = source.rowCount
    let valCount = Int((Double(n) * config.validationFraction).rounded(.down))
    let trainCount = n - valCount
    guard trainCount >= config.batchSize else {
      throw DataError(file: config.data, message: "\(trainCount) training rows (of \(n), validation fraction \(config.validationFraction)) is fewer than one global batch of \(config.batchSize); lower --batch-size or use more rows")
    }
    return TrainingData(source: source, trainRows: 0..<trainCount, validationRows: trainCount..<n,
                        skippedNonFinite: skipped)
  }

  static func scanFinite(_ mem: InMemoryRowSource, file: String, skip: Bool) throws -> (InMemoryRowSource, Int) {
    let d = mem.inputDim
    var badRows: [Int] = []
    mem.values.withUnsafeBufferPointer { v in
      for r in 0..<mem.rowCount {
        for c in 0..<d where !v[r * d + c].isFinite { badRows.append(r); break }
      }
    }
    if badRows.isEmpty { return (mem, 0) }
    if !skip {
      let r = badRows[0]
      let col = (0..<d).first { !mem.values[r * d + $0].isFinite }!
      throw DataError(file: file, message: "row \(r) column \(col) is \(mem.values[r * d + col]) (\(badRows.count) rows hold NaN/Inf); clean the data or pass --skip-non-finite to drop and count them")
    }
    let bad = Set(badRows)
    var kept = [Float]()
    kept.reserveCapacity((mem.rowCount - bad.count) * d)
    for r in 0..<mem.rowCount where !bad.contains(r) { kept.append(contentsOf: mem.values[(r * d)..<((r + 1) * d)]) }
    return (InMemoryRowSource(values: kept, inputDim: d), bad.count)
  }
}

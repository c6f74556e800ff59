// Opening the training data: a `.npy` (loaded, scanned for NaN/Inf) or a dataset directory, its width
// checked against the config, and the train/validation split in file order (spec §4).
import BAEIO
import BAEModel
import BAEStore
import Foundation

/// The rows a run trains and validates on.
public struct TrainingData {
  /// Where rows come from: the dataset or the loaded .npy.
  public let source: any RowSource
  /// Training rows (the first rows in file order).
  public let trainRows: Range<Int>
  /// Validation rows (the last `validationFraction` of the rows).
  public let validationRows: Range<Int>
  /// Rows dropped because they held NaN/Inf (only with `skipNonFinite`).
  public let skippedNonFinite: Int

  /// Width d of a row.
  public var inputDim: Int { source.inputDim }

  /// Opens `config.data`. A `.npy` is scanned for non-finite values: an error names the first bad row,
  /// or with `skipNonFinite` such rows are dropped and counted. Datasets are checked batch by batch.
  public static func open(_ config: TrainConfig) throws -> TrainingData {
    guard !config.data.isEmpty else {
      throw TrainDataError.noData
    }
    let url = URL(fileURLWithPath: config.data)
    guard FileManager.default.fileExists(atPath: url.path) else {
      throw TrainDataError.missing(path: config.data)
    }
    // shuffled batches come from the reader's window gathers (BatchMixing); the frame cache serves
    // sequential order and validation, which read runs of consecutive rows
    var source = try openRowSource(url, cacheFrames: 4)
    var skipped = 0
    if let mem = source as? InMemoryRowSource {
      let (clean, bad) = try Self.scanFinite(mem, file: config.data, skip: config.skipNonFinite)
      source = clean
      skipped = bad
    }
    if config.model.inputDim != 0 && config.model.inputDim != source.inputDim {
      throw TrainDataError.widthMismatch(path: config.data, found: source.inputDim, expected: config.model.inputDim)
    }
    let n = source.rowCount
    let valCount = Int((Double(n) * config.validationFraction).rounded(.down))
    let trainCount = n - valCount
    guard trainCount >= config.batchSize else {
      throw TrainDataError.tooFewRows(
        path: config.data, trainRows: trainCount, totalRows: n,
        validationFraction: config.validationFraction, batchSize: config.batchSize)
    }
    return TrainingData(
      source: source, trainRows: 0..<trainCount, validationRows: trainCount..<n,
      skippedNonFinite: skipped)
  }

  static func scanFinite(_ mem: InMemoryRowSource, file: String, skip: Bool) throws -> (InMemoryRowSource, Int) {
    let d = mem.inputDim
    var badRows: [Int] = []
    mem.values.withUnsafeBufferPointer { v in
      for r in 0..<mem.rowCount {
        for c in 0..<d where !v[r * d + c].isFinite {
          badRows.append(r)
          break
        }
      }
    }
    if badRows.isEmpty { return (mem, 0) }
    if !skip {
      let r = badRows[0]
      let col = (0..<d).first { !mem.values[r * d + $0].isFinite }!
      throw TrainDataError.nonFinite(
        path: file, row: r, column: col, value: mem.values[r * d + col], rows: badRows.count, step: nil)
    }
    let bad = Set(badRows)
    var kept = [Float]()
    kept.reserveCapacity((mem.rowCount - bad.count) * d)
    for r in 0..<mem.rowCount where !bad.contains(r) { kept.append(contentsOf: mem.values[(r * d)..<((r + 1) * d)]) }
    return (InMemoryRowSource(values: kept, inputDim: d), bad.count)
  }
}

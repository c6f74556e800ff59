// Typed errors of the training layer: bad training data, bad run or checkpoint directories, and
// failures of a run itself. Each names the file (or flag) and says what to do.
import Foundation

/// Training input that cannot be used.
public enum TrainDataError: Error, CustomStringConvertible, Equatable {
  /// No --data given.
  case noData
  /// The path does not exist.
  case missing(path: String)
  /// The rows' width differs from the config's or the model's.
  case widthMismatch(path: String, found: Int, expected: Int)
  /// Fewer training rows than one global batch.
  case tooFewRows(path: String, trainRows: Int, totalRows: Int, validationFraction: Double, batchSize: Int)
  /// A row holds NaN/Inf (`rows` of them in all, when known).
  case nonFinite(path: String, row: Int, column: Int, value: Float, rows: Int?, step: Int?)

  public var description: String {
    switch self {
    case .noData:
      return "--data: no data given; pass --data FILE.npy or a dataset directory made by `bae pack`"
    case let .missing(path):
      return "\(path): does not exist; check the path (bae synth or bae pack make inputs)"
    case let .widthMismatch(path, found, expected):
      return "\(path): rows have width \(found) but the model has inputDim \(expected); use activations of width \(expected) (same model and layer) or fix inputDim"
    case let .tooFewRows(path, train, total, fraction, batch):
      return "\(path): \(train) training rows (of \(total), validation fraction \(fraction)) is fewer than one global batch of \(batch); lower --batch-size or use more rows"
    case let .nonFinite(path, row, column, value, rows, step):
      let at = step.map { "step \($0): " } ?? ""
      let count = rows.map { " (\($0) rows hold NaN/Inf)" } ?? ""
      return "\(path): \(at)row \(row) column \(column) is \(value)\(count); clean the data, re-pack it, or pass --skip-non-finite to drop and count such rows"
    }
  }
}

/// A run or checkpoint directory that cannot be used.
public enum RunDirectoryError: Error, CustomStringConvertible, Equatable {
  /// A file the directory must hold is missing.
  case missingFile(path: String, hint: String)
  /// A file is there but cannot be decoded.
  case unreadable(path: String, reason: String)
  /// config.json describes a model that cannot exist (field and value named).
  case invalidModel(path: String, field: String, reason: String)
  /// The checkpoint was trained with other settings.
  case settingsDiffer(path: String, differences: [String])
  /// A stored tensor has the wrong size.
  case tensorSize(path: String, name: String, found: Int, expected: Int)
  /// --init-from weights that do not fit the model.
  case initFrom(path: String, problem: String)

  public var description: String {
    switch self {
    case let .missingFile(path, hint): return "\(path): missing; \(hint)"
    case let .unreadable(path, reason): return "\(path): cannot be read (\(reason)); was it written by `bae train`?"
    case let .invalidModel(path, field, reason):
      return "\(path): field '\(field)' \(reason); the file is damaged or not a `bae train` config"
    case let .settingsDiffer(path, diffs):
      return "\(path): cannot resume: the checkpoint was trained with different settings: \(diffs.joined(separator: "; ")). Resume with the original settings or start a new --out directory"
    case let .initFrom(path, problem):
      return "--init-from (initFrom) \(path): \(problem); give a model.safetensors of the same architecture and shape"
    case let .tensorSize(path, name, found, expected):
      return "\(path): '\(name)' has \(found) values, the model needs \(expected); the checkpoint is damaged or from another model"
    }
  }
}

/// Failures of a run that are not about input files.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
  case replicasDiverged(step: Int, minChecksum: Double, maxChecksum: Double)
  /// The loss became NaN/Inf.
  case nonFiniteLoss(step: Int, lastCheckpoint: String?)

  public var description: String {
    switch self {
    case let .replicasDiverged(step, lo, hi):
      return "replicas diverged at step \(step): parameter checksums range from \(lo) to \(hi); ranks must run the same binary, BLAS and config (set BLAS threads identically)"
    case let .nonFiniteLoss(step, last):
      let resume = last.map { "the last good checkpoint is \($0) (resume from it with a lower --lr)" } ?? "no checkpoint was written; rerun with a lower --lr"
      return "the loss is not finite at step \(step): training diverged; \(resume)"
    }
  }
}

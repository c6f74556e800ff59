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
      return
        "\(path): rows have width \(found) but the model has inputDim \(expected); use activations of width \(expected) (same model and layer) or fix inputDim"
    case let .tooFewRows(path, train, total, fraction, batch):
      return
        "\(path): \(train) training rows (of \(total), validation fraction \(fraction)) is fewer than one global batch of \(batch); lower --batch-size or use more rows"
    case let .nonFinite(path, row, column, value, rows, step):
      let at = step.map { "step \($0): " } ?? ""
      let count = rows.map { " (\($0) rows hold NaN/Inf)" } ?? ""
      return
        "\(path): \(at)row \(row) column \(column) is \(value)\(count); clean the data, re-pack it, or pass --skip-non-finite to drop and count such rows"
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
      return
        "\(path): cannot resume: the checkpoint was trained with different settings: \(diffs.joined(separator: "; ")). Resume with the original settings or start a new --out directory"
    case let .initFrom(path, problem):
      return "--init-from (initFrom) \(path): \(problem); give a model.safetensors of the same architecture and shape"
    case let .tensorSize(path, name, found, expected):
      return
        "\(path): '\(name)' has \(found) values, the model needs \(expected); the checkpoint is damaged or from another model"
    }
  }
}

/// Failures of a run that are not about input files.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
  case replicasDiverged(step: Int, minChecksum: Double, maxChecksum: Double)
  /// The loss became NaN/Inf.
  case nonFiniteLoss(step: Int, lastCheckpoint: String?)
  /// Ranks started with different settings, data or binaries; `field` is the first that differs.
  case ranksDisagree(field: String, rootValue: String, rank: Int?, value: String?)
  /// Another rank failed `phase` (that rank reports its own error); this rank stops too.
  case rankFailed(phase: String)

  public var description: String {
    switch self {
    case let .replicasDiverged(step, lo, hi):
      return
        "replicas diverged at step \(step): parameter checksums range from \(lo) to \(hi); ranks must run the same binary, BLAS and config (set BLAS threads identically)"
    case let .nonFiniteLoss(step, last):
      let resume =
        last.map { "the last good checkpoint is \($0) (resume from it with a lower --lr)" }
        ?? "no checkpoint was written; rerun with a lower --lr"
      return "the loss is not finite at step \(step): training diverged; \(resume)"
    case let .ranksDisagree(field, rootValue, rank, value):
      let mine = rank.map { r in " but rank \(r) has \(value ?? "nothing")" } ?? " and another rank differs"
      return
        "ranks disagree on '\(field)' at start-up: rank 0 has \(rootValue)\(mine); start every rank with the same arguments, data and `bae` binary"
    case let .rankFailed(phase):
      return "another rank failed during \(phase) (its message says why); stopping this rank too"
    }
  }
}

/// A `--resume` that would continue from the wrong place or on the wrong data.
public enum ResumeError: Error, CustomStringConvertible, Equatable {
  /// The checkpoint's sampler position does not exist in the current data (damaged, or the data shrank).
  case samplerOutOfRange(path: String, epoch: Int, batchInEpoch: Int, batchesPerEpoch: Int)
  /// The checkpoint was trained on other data (its fingerprint differs).
  case otherData(path: String, recorded: String, current: String)
  /// Every complete checkpoint is damaged; `problems` lists each one's.
  case noIntactCheckpoint(directory: String, problems: [String])
  /// A sweep's models have checkpoints, but at no step they all share (`steps`: each one's newest).
  case noCommonStep(directories: [String], steps: [[Int]])

  public var description: String {
    switch self {
    case let .samplerOutOfRange(path, epoch, batch, perEpoch):
      return
        "\(path): cannot resume: sampler position epoch \(epoch) batch \(batch) is outside the data (\(perEpoch) batches per epoch now); the checkpoint is damaged or the dataset shrank: resume on the original data or start a new --out directory"
    case let .otherData(path, recorded, current):
      return
        "\(path): cannot resume: the checkpoint was trained on other data (data fingerprint \(recorded), now \(current)); resume on the original --data, or pass --allow-new-data to continue on this data on purpose"
    case let .noIntactCheckpoint(dir, problems):
      return
        "\(dir): cannot resume: every complete checkpoint is damaged (\(problems.joined(separator: "; "))); remove them or start a new --out directory"
    case let .noCommonStep(dirs, steps):
      let each = zip(dirs, steps).map { "\($0): \($1.isEmpty ? "none" : $1.map(String.init).joined(separator: ", "))" }
      return
        "cannot resume the sweep: its models have no checkpoint step in common (newest steps: \(each.joined(separator: "; "))); resume each model alone with `bae train --resume`, or start the sweep afresh with --overwrite"
    }
  }
}

/// An `--out` directory this run may not write into.
public enum RunOwnershipError: Error, CustomStringConvertible, Equatable {
  /// A live process on this host holds the lock.
  case locked(path: String, host: String, pid: Int32)
  /// A process on another host holds the lock (its liveness cannot be checked from here).
  case lockedElsewhere(path: String, host: String, pid: Int32)
  /// The directory holds another run's checkpoints and neither --resume nor --overwrite was given.
  case holdsAnotherRun(directory: String, checkpoints: [String])

  public var description: String {
    switch self {
    case let .locked(path, host, pid):
      return
        "\(path): --out is in use by a running `bae train` (pid \(pid) on \(host)); wait for it, stop it, or choose another --out"
    case let .lockedElsewhere(path, host, pid):
      return
        "\(path): --out is locked by pid \(pid) on host \(host); if no run is alive there, delete \(path), else choose another --out"
    case let .holdsAnotherRun(dir, names):
      return
        "\(dir): holds another run's checkpoints (\(names.joined(separator: ", "))); pass --resume to continue that run, --overwrite to delete its checkpoints and metrics, or choose another --out"
    }
  }
}

/// Output of a run that could not be written.
public enum RunLogError: Error, CustomStringConvertible, Equatable {
  /// Appending a metrics line failed (e.g. ENOSPC); the file was cut back to its last whole line.
  case metricsWriteFailed(path: String, step: Int?, reason: String, checkpoint: String?)

  public var description: String {
    switch self {
    case let .metricsWriteFailed(path, step, reason, checkpoint):
      let at = step.map { " at step \($0)" } ?? ""
      let saved = checkpoint.map { "checkpoint \($0) written; " } ?? "no checkpoint could be written; "
      return
        "\(path): writing metrics failed\(at) (\(reason)); the file ends at its last whole line; \(saved)free space, then rerun with --resume"
    }
  }
}

// One model of a run: its config, replica and optimizer, input map, output directory with its lock,
// checkpoints and metrics, and its warnings. A `Trainer` steps a list of them on shared batches.
import BAEModel
import BAETensor
import Foundation

/// A model and everything that belongs to its output directory.
public final class ModelRun {
  /// The resolved config (inputDim, latentDim and inputScale filled in).
  public internal(set) var config: TrainConfig
  /// The replica, its optimizer and its workspace.
  public let step: TrainingStep
  /// Raw rows ↦ the rows the model trains on (folded back into every saved model).
  public internal(set) var input: InputTransform
  /// This model's rows of the current batch when its input map is not the identity: (n_r, d).
  let mapped: AlignedBuffer<Float>?
  /// Where the model's files go (`out`).
  public let outputDirectory: URL
  let checkpoints: CheckpointStore
  let lock: RunLock
  /// This model's metrics.jsonl (and its stderr lines, prefixed with its name in a sweep).
  public let log: RunLog
  /// Identifies this model's checkpoints (kept across resumes): pruning touches only these.
  var runID = UUID().uuidString
  /// The newest checkpoint written or resumed from.
  var lastCheckpoint: URL?
  /// Whether the model is learning (warnings in the log and in metrics.jsonl).
  var health: TrainingHealth
  /// The last step's record.
  var last: StepRecord?

  init(config: TrainConfig, collectives: Collectives, rowsPerRank: [Int], totalSteps: Int, log: RunLog) {
    self.config = config
    let model = Autoencoder(config: config.model)
    step = TrainingStep(model: model, rowsPerRank: rowsPerRank, collectives: collectives)
    step.workspace.kernelThreads = max(1, config.blasThreads)
    input = .identity(width: config.model.inputDim)
    mapped =
      config.inputNormalization == .none
      ? nil : AlignedBuffer(count: max(1, rowsPerRank[collectives.rank]) * config.model.inputDim)
    outputDirectory = URL(fileURLWithPath: config.out.isEmpty ? "runs/bae" : config.out)
    checkpoints = CheckpointStore(directory: outputDirectory)
    lock = RunLock(directory: outputDirectory)
    health = TrainingHealth(totalSteps: totalSteps)
    self.log = log
  }

  /// The replica.
  public var model: Autoencoder { step.model }
  /// Its optimizer state.
  public var adam: Adam { step.adam }
}

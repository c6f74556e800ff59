// The one training step every caller runs (the trainer, sweeps, the position-entropy runner and the
// step benchmark): forward, global statistics, backward, gradient sync, optimizer step, then the
// model's post-step state (unit-norm decoder, BatchTopK threshold, AuxK counters). Collectives are the
// model layer's protocol, so the step runs identically in one process and across MPI ranks.
import BAETensor

/// One replica's model, optimizer and buffers for steps on global batches.
public final class TrainingStep {
  /// The replica being trained (parameters and untrained state).
  public let model: Autoencoder
  /// The optimizer state (m, v, step count) of `model`'s parameters.
  public let adam: Adam
  /// ∂L/∂θ in the parameters' layout, summed over ranks before each update.
  public let gradients: AlignedBuffer<Float>
  /// Scratch buffers of the step (may be shared with other steps run one after another).
  public let workspace: StepWorkspace
  /// The ranks that share each global batch.
  public let collectives: Collectives

  /// - rowsPerRank: every rank's local rows per global batch (identical on all ranks), the usual case.
  public convenience init(model: Autoencoder, rowsPerRank: [Int], collectives: Collectives) {
    let ws = StepWorkspace(
      config: model.config, capacity: max(1, rowsPerRank[collectives.rank]),
      globalCapacity: rowsPerRank.reduce(0, +))
    self.init(model: model, workspace: ws, collectives: collectives)
  }

  /// A step over a workspace sized for the largest batches it will see (several models may share one
  /// workspace when they step one after another, as the position-entropy runner's buckets do).
  public init(model: Autoencoder, workspace: StepWorkspace, collectives: Collectives) {
    precondition(workspace.layout == model.layout, "workspace layout differs from the model's")
    self.model = model
    let c = model.config
    adam = Adam(count: model.layout.count, lr: c.lr, beta1: c.beta1, beta2: c.beta2, epsilon: c.adamEpsilon)
    gradients = AlignedBuffer(count: model.layout.count)
    self.workspace = workspace
    self.collectives = collectives
  }

  /// What one step reports: the global statistics and the loss weights in force.
  public struct Outcome: Sendable {
    /// Global statistics of the batch (losses, firing counts, moments).
    public var statistics: BatchStatistics
    /// The loss weights applied in this step.
    public var weights: LossWeights
    /// The loss L of the step (before the update).
    public var loss: Double
  }

  /// One optimizer step on this rank's rows x: (n_r, d) of a global batch split as `rowsPerRank`;
  /// `step` is the 0-based index of the step (the entropy schedule's clock).
  public func run(_ x: Matrix, step: Int, rowsPerRank: [Int]) throws -> Outcome {
    let batch = BatchContext(rowsPerRank: rowsPerRank, collectives: collectives)
    precondition(
      x.rows == batch.localRows && x.rows <= workspace.capacity && batch.globalRows <= workspace.globalCapacity,
      "step: x has \(x.rows) rows, slice \(batch.localRows), workspace \(workspace.capacity)/\(workspace.globalCapacity)"
    )
    let phases = workspace.phases
    phases?.begin()
    try model.forwardInPlace(x, workspace, batch: batch)  // forward
    var stats = try model.globalStatisticsInPlace(
      workspace, batch: batch, covariance: model.config.usesCovariance)  // global statistics
    stats.batchThreshold = workspace.selectedThreshold
    phases?.end(.statistics)
    let weights = LossWeights.scheduled(model.config, step: step, entropy: stats.entropy)
    model.backward(x, workspace, statistics: stats, weights: weights, into: gradients)  // backward
    // gradient sync: every term was divided by the global N, so the SUM over ranks is the full gradient
    try collectives.sum(gradients.buffer)
    phases?.end(.gradientSync)
    model.constrainGradient(gradients)  // optimizer step
    adam.update(parameters: model.parameters, gradients: gradients, threads: workspace.kernelThreads)
    model.afterOptimizerStep(
      stats, globalCounts: workspace.positiveCounts.count > 0 ? workspace.positiveCounts : workspace.counts)
    phases?.end(.update)
    return Outcome(statistics: stats, weights: weights, loss: weights.loss(stats, inputDim: model.inputDim))
  }
}

extension Autoencoder {
  /// Unit-norm decoder: removes each column gradient's component along its (unit) column.
  public func constrainGradient(_ grads: AlignedBuffer<Float>) {
    guard config.unitNormDecoder else { return }
    let w = decoderWeight, dl = latentDim
    let g = Matrix(grads, offset: layout.decoderWeight.lowerBound, rows: inputDim, cols: dl)
    var dots = [Double](repeating: 0, count: dl)
    for r in 0..<inputDim {
      let wr = w.row(r), gr = g.row(r)
      for j in 0..<dl { dots[j] += Double(gr[j]) * Double(wr[j]) }
    }
    let f = dots.map { Float($0) }
    for r in 0..<inputDim {
      let wr = w.row(r), gr = g.row(r)
      for j in 0..<dl { gr[j] -= f[j] * wr[j] }
    }
  }

  /// State after the update, from global quantities only (so every rank stays identical): renormalised
  /// decoder columns, the BatchTopK running threshold, the AuxK rows-since-fired counters
  /// (`globalCounts`: per-latent counts of positive activations).
  public func afterOptimizerStep(_ s: BatchStatistics, globalCounts: AlignedBuffer<Int64>) {
    if config.unitNormDecoder { normaliseDecoderColumns() }
    if architecture == .batchtopk, let t = s.batchThreshold {
      if let theta = batchThreshold {
        batchThreshold = theta + config.thresholdMomentum * (t - theta)
      } else {
        batchThreshold = t
      }
    }
    if !bufferLayout.rowsSinceFired.isEmpty {
      let since = buffers.baseAddress + bufferLayout.rowsSinceFired.lowerBound
      // counters stop at the dead limit, so they stay exact in a float32 checkpoint tensor too
      let limit = Double(config.deadAfterRows)
      for j in 0..<latentDim { since[j] = globalCounts[j] > 0 ? 0 : Swift.min(limit, since[j] + Double(s.rows)) }
    }
  }
}

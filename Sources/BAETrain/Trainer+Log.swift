// A step's metrics line and progress line, per model: the record built from global statistics (and the
// model's warnings), written by rank 0 to the model's metrics.jsonl and, every `logEvery` steps, to stderr.
import BAEModel
import Foundation

extension Trainer {
  func makeRecord(
    _ run: ModelRun, _ o: TrainingStep.Outcome, step: Int, elapsed: Double, comm: Double, wait: Double,
    runSeconds: Double
  ) -> StepRecord {
    let s = o.statistics
    let n = Double(s.rows)
    let counts = run.step.workspace.counts
    let model = run.model
    var l0 = 0.0, dead = 0, dense = 0, nearConst = 0, constant = 0
    for j in 0..<model.codeBits {
      let c = Double(counts[j])
      let p = c / n
      l0 += c
      if c == 0 { dead += 1 }
      if p > 0.5 { dense += 1 }
      if min(p, 1 - p) < 1e-3 { nearConst += 1 }
      if c == 0 || c == n { constant += 1 }
    }
    let d = run.config.model.inputDim
    let warnings = run.health.update(fvu: s.fvu, constantBits: constant, codeBits: model.codeBits)
    for w in warnings.new { run.log.warning(run.health.message(w, step: step, fvu: s.fvu, config: run.config)) }
    return StepRecord(
      step: step, loss: o.loss, mse: s.mse(inputDim: d), fvu: s.fvu, entropy: s.entropy,
      covariance: s.covariance, entropyWeight: o.weights.entropy,
      sparsityLoss: model.architecture.isBinary ? nil : s.sparsityLoss,
      auxLoss: model.architecture.isBinary ? nil : s.auxLoss,
      threshold: model.batchThreshold,
      l0: l0 / n, deadBits: dead, denseBits: dense, nearConstantBits: nearConst,
      rowsPerSecond: n / elapsed, computeSeconds: max(0, elapsed - comm - wait),
      communicationSeconds: comm, inputWaitSeconds: wait, elapsedSeconds: runSeconds,
      decoderPath: run.step.workspace.sparseDecoder.path.rawValue,
      decoderDensity: run.step.workspace.sparseDecoder.density,
      warnings: warnings.current.isEmpty ? nil : warnings.current)
  }

  func logStep(_ run: ModelRun, _ r: StepRecord, done: Int, runSeconds: Double) {
    run.log.record(r, step: r.step)
    guard r.step % config.logEvery == 0 || r.step == totalSteps else { return }
    let rate = Double(done * config.batchSize) / max(runSeconds, 1e-9)
    let eta = Double(totalSteps - r.step) * Double(config.batchSize) / max(rate, 1e-9)
    run.log.info(
      String(
        format: "step %d/%d  %.0f tok/s  loss %.6g  mse %.5g  fvu %.4f  H %.2f bits  L0 %.1f  ETA %@",
        r.step, totalSteps, rate, r.loss, r.mse, r.fvu, r.entropy, r.l0, formatDuration(eta)))
  }
}

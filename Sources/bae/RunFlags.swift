// What `bae train` and `bae sweep` share beyond the config: the flags for --out and time limits, and
// the one way both start a run (signals, the trainer over a list of models, the closing lines).
import ArgumentParser
import BAETrain
import Foundation

struct RunFlags: ParsableArguments {
  @Flag(help: "Continue from the newest complete checkpoint in --out (a sweep: the newest step every model has).")
  var resume = false
  @Flag(help: "With --resume: continue even if the checkpoint was trained on other data.") var allowNewData = false
  @Flag(help: "Start afresh in an --out holding another run: delete its checkpoints and metrics first.") var overwrite =
    false
  @Option(help: "Abort (status 3) when one step takes longer than this many seconds (default 600; 0 = never).")
  var stepTimeout: Double = 600

  func validate() throws {
    if resume && overwrite {
      throw ValidationError("--resume continues the run in --out; --overwrite deletes it: give one of them")
    }
    if allowNewData && !resume { throw ValidationError("--allow-new-data applies to --resume only") }
    // below 10 ms the watchdog polls in a busy loop (it waits a quarter of the timeout) and can starve the
    // step it watches: `--step-timeout 1e-320` hung instead of ending
    if !(stepTimeout == 0 || (stepTimeout >= 0.01 && stepTimeout <= 1e7)) {
      throw ValidationError("--step-timeout \(stepTimeout): must be 0 (never) or in 0.01 … 10^7 seconds")
    }
  }

  /// Trains `configs` (one model: `bae train`; several: `bae sweep`) in one process or under MPI.
  func train(_ configs: [TrainConfig]) throws {
    let timeout = stepTimeout
    let options = RunOptions(resume: resume, allowNewData: allowNewData, overwrite: overwrite, stepTimeout: timeout) {
      step, seconds in
      Launch.forceExit(
        String(
          format:
            "step %d has run for %.0f s, over --step-timeout %g s (stuck in I/O, in a collective with a stopped or dead rank, or in BLAS); leaving without a checkpoint",
          step, seconds, timeout))
    }
    try Launch.run { collectives, log in
      if configs[0].blasThreads > 0 { BAETensorThreads.set(configs[0].blasThreads) }
      let stop = StopRequest()
      Signals.onStop(
        { stop.set() },
        again: { sig in
          Launch.forceExit(
            "second stop signal (\(sig == SIGTERM ? "SIGTERM" : "SIGUSR1")): leaving now without a checkpoint; the last complete checkpoint stays usable with --resume"
          )
        })
      let trainer = try Trainer(
        configs: configs, collectives: collectives, log: log, options: options, stopRequest: stop)
      let summaries = try trainer.runAll()
      for (run, summary) in zip(trainer.runs, summaries) { Self.report(summary, log: run.log) }
    }
  }

  /// The closing lines of one model.
  static func report(_ summary: TrainSummary, log: RunLog) {
    if let r = summary.lastRecord {
      log.info(
        String(
          format: "done: %d steps, loss %.6g, mse %.5g, fvu %.4f, H %.2f bits", summary.steps, r.loss, r.mse, r.fvu,
          r.entropy))
    }
    if let v = summary.validation {
      log.info(
        String(
          format: "validation: %d rows, mse %.5g, fvu %.4f, Ĥ %.2f bits, L0 %.1f, dead %d",
          v.rows, v.mse, v.fvu, v.entropyBits, v.l0, v.deadBits))
    }
    if summary.stoppedEarly {
      log.info(
        "stopped at step \(summary.steps): continue with --resume (outputs: checkpoint and metrics.jsonl in \(summary.outputDirectory.path))"
      )
    } else {
      log.info("outputs: \(summary.outputDirectory.path)/{model.safetensors,config.json,metrics.jsonl}")
    }
  }
}

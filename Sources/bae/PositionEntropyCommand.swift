// `bae entropy-position`: one BAE per token-position bucket, all trained in one distributed run with
// equal steps per bucket, then Ĥ per bucket on equal rows: the entropy-vs-position curve of spec §7.
import ArgumentParser
import BAEAnalysis
import BAEModel
import BAEStore
import BAETrain
import Foundation

struct PositionEntropyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "entropy-position",
    abstract: "Train one BAE per token-position bucket (equal steps) and write the entropy-vs-position curve.",
    discussion: """
      Positions come from the tokens TSV (--tokens, else the dataset's sidecars, else P.tokens.tsv next to P.npy).
      Every bucket's BAE takes exactly --steps exact global steps of --bucket-batch rows, drawn from the
      bucket's own rows (a seeded uniform shuffle per epoch; each rank reads its slice); buckets with fewer
      rows than one batch are skipped. Ĥ is then measured per bucket on the same number of rows
      (--eval-rows). Run several --seed values and pass all JSONs to the plot for error bars.
      Writes OUT/entropy_vs_position.json and
      OUT/bucket_NN/{model.safetensors,config.json}. Plot with scripts/plot_entropy_position.py.
      See Documentation/Analysis.md.
      """)

  @Option(help: "Dataset directory (bae pack) or a .npy.") var data: String
  @Option(help: "Tokens TSV with one line per row (for the position column).") var tokens: String?
  @Option(
    help:
      "Bucket lower edges, increasing, comma-separated (default: the smallest position, then powers of two up to the largest)."
  )
  var buckets: String?
  @OptionGroup(title: "Model (every bucket's)") var modelOptions: ModelOptions
  @Option(help: "Steps of every bucket's BAE (the same for all buckets).") var steps: Int = 1000
  @Option(help: "Rows (over all ranks) of every step of every bucket.") var bucketBatch: Int = 512
  @Option(help: "Rows per bucket for Ĥ (0 = the smallest trained bucket's size).") var evalRows: Int = 0
  @Option(help: "Seed (bucket b's model uses seed + b).") var seed: UInt64 = 0
  @Option(help: "Output directory.") var out: String

  func validate() throws {
    guard steps >= 1, bucketBatch >= 2, evalRows >= 0 else {
      throw ValidationError("--steps >= 1, --bucket-batch >= 2, --eval-rows >= 0")
    }
    try FlagCheck.nonEmpty(out, "--out", "an output directory")
    try FlagCheck.nonEmpty(tokens, "--tokens", "a tokens TSV (or omit it to use the dataset's sidecars)")
    if let b = buckets {
      let e = b.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
      guard e.count == b.split(separator: ",").count, !e.isEmpty, e[0] >= 0,
        zip(e, e.dropFirst()).allSatisfy({ $0 < $1 })
      else {
        throw ValidationError("--buckets \(b): expected increasing non-negative integers, e.g. 1,2,4,8,16")
      }
    }
  }

  func run() throws {
    let dataURL = URL(fileURLWithPath: data)
    let outDir = URL(fileURLWithPath: out)
    let tokenArg = tokens
    let this = self
    try Launch.run { collectives, log in
      let source = try openRowSource(dataURL, cacheFrames: 18)
      guard let files = try TokenContexts.tokenFiles(forData: dataURL, explicit: tokenArg) else {
        throw ValidationError(
          "--data \(this.data): no token positions: pass --tokens P.tokens.tsv or pack the dataset with --tokens")
      }
      let positions = try TokenContexts.positions(from: files, expectedRows: source.rowCount)
      let edges =
        this.buckets.map {
          PositionBuckets(edges: $0.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces))! })
        }
        ?? PositionBuckets.powersOfTwo(from: Int(positions.min() ?? 0), upTo: Int(positions.max() ?? 0))
      var model = TrainConfig()
      try this.modelOptions.apply(to: &model.model)
      model.seed = this.seed
      var options = PositionEntropyOptions(buckets: edges, model: model)
      options.steps = this.steps
      options.bucketBatch = this.bucketBatch
      options.evalRows = this.evalRows
      log.info(
        "entropy-position: \(source.rowCount) rows, buckets \((0..<edges.count).map { edges.label($0) }.joined(separator: " ")), \(this.steps) steps of \(this.bucketBatch) rows per bucket"
      )
      let trainer = try PositionEntropyTrainer(
        source: source, positions: positions, options: options, collectives: collectives)
      var result = try trainer.run { log.info($0) }
      result.data = this.data
      guard collectives.rank == 0 else { return }
      try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
      for (b, m) in trainer.models.enumerated() where trainer.bucketSteps[b] > 0 {
        let dir = outDir.appendingPathComponent(String(format: "bucket_%02d", b))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var c = model
        c.model = m.config
        c.data = this.data
        try ModelFiles.saveWeights(m, to: dir.appendingPathComponent("model.safetensors"))
        try ModelFiles.saveJSON(c, to: dir.appendingPathComponent("config.json"))
      }
      let json = outDir.appendingPathComponent("entropy_vs_position.json")
      try ModelFiles.saveJSON(result, to: json)
      for r in result.buckets {
        if let h = r.entropyBits {
          log.info(
            String(
              format: "  positions %-12@ rows %7d  steps %5d  Ĥ %8.2f bits on %d rows  fvu %.3f", r.label, r.rows,
              r.steps, h, r.evalRows, r.fvu ?? .nan))
        } else {
          log.info("  positions \(r.label) rows \(r.rows): skipped (\(r.skipped ?? ""))")
        }
      }
      log.info(String(format: "wrote %@ (%.1f s)", json.path, result.seconds))
    }
  }
}

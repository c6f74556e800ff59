// The step shape flags shared by `bae bench step` and `bae bench scaling`: one declaration, so the
// two benchmarks time the same default shape and cannot drift.
import ArgumentParser
import BAEModel
import BAETrain

/// The shape and regularisation of the benchmarked step, and how many timed repetitions to take.
struct StepShapeOptions: ParsableArguments {
  @Option(help: "Input width d.") var dim: Int = 2048
  @Option(help: "Features d'.") var latent: Int = 8192
  @Option(help: "Rows per step on each rank, n_local (in one process: n).") var rows: Int = 512
  @Option(help: "Timed repetitions (median reported), 1…10,000.") var repeats: Int = 5
  @Option(help: "λ_e = λ_c for the regularised step (finite, > 0: the λ = 0 step is always timed beside it).")
  var lambda: Double = 1e-7

  func validate() throws {
    guard dim > 0, latent > 0, rows > 0, repeats > 0 else {
      throw ValidationError("--dim, --latent, --rows, --repeats must be ≥ 1")
    }
    // a median of more than 10,000 steps says nothing fewer would not; 2^32 ran for days (the flag fuzzer's "long")
    guard repeats <= 10_000 else {
      throw ValidationError("--repeats \(repeats): at most 10,000 timed repetitions (the median settles long before)")
    }
    // the step's buffers (the model, its Adam state, a workspace of --rows rows) and the covariance's dense
    // float form (d'² floats, twice), in Double so no size can overflow, before anything is allocated:
    // --dim/--latent/--rows 2^31 failed to allocate (SIGABRT) and 2^63 − 1 overflowed (SIGILL)
    let limit = MemoryBudget.limitBytes
    let dense = 8 * Double(latent) * Double(latent)
    var c = ModelConfig()
    c.inputDim = dim
    c.latentDim = latent
    let rough = 16 * MemoryBudget.parameterCount(c) + 4 * Double(rows) * (9 * Double(latent) + 3 * Double(dim)) + dense
    let need = rough > limit ? rough : MemoryBudget.bytes(c, rows: rows, training: true) + dense
    guard need <= limit else {
      let gib = { (b: Double) in String(format: "%.1f GiB", b / 1_073_741_824) }
      throw ValidationError(
        "--dim \(dim) --latent \(latent) --rows \(rows): the step needs about \(gib(need)), more than this machine's \(gib(limit)); choose a smaller shape (or set BAE_MEMORY_LIMIT_BYTES)"
      )
    }
    // λ = 0 would build the regularised step without the covariance buffers its timing reads
    guard lambda.isFinite, lambda > 0 else {
      throw ValidationError(
        "--lambda \(lambda): must be a finite number > 0 (the λ = 0 step is always timed beside the regularised one)")
    }
  }
}

// The step shape flags shared by `bae bench step` and `bae bench scaling`: one declaration, so the
// two benchmarks time the same default shape and cannot drift.
import ArgumentParser

/// The shape and regularisation of the benchmarked step, and how many timed repetitions to take.
struct StepShapeOptions: ParsableArguments {
  @Option(help: "Input width d.") var dim: Int = 2048
  @Option(help: "Features d'.") var latent: Int = 8192
  @Option(help: "Rows per step on each rank, n_local (in one process: n).") var rows: Int = 512
  @Option(help: "Timed repetitions (median reported).") var repeats: Int = 5
  @Option(help: "λ_e = λ_c for the regularised step (finite, > 0: the λ = 0 step is always timed beside it).")
  var lambda: Double = 1e-7

  func validate() throws {
    guard dim > 0, latent > 0, rows > 0, repeats > 0 else {
      throw ValidationError("--dim, --latent, --rows, --repeats must be ≥ 1")
    }
    // λ = 0 would build the regularised step without the covariance buffers its timing reads
    guard lambda.isFinite, lambda > 0 else {
      throw ValidationError(
        "--lambda \(lambda): must be a finite number > 0 (the λ = 0 step is always timed beside the regularised one)")
    }
  }
}

// `bae bench`: benchmarks that print ratios against baselines measured in the same run.
import ArgumentParser
import BAEBench
import BAEModel
import BAETensor
import BAETrain
import Foundation

struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench", abstract: "Benchmarks (medians of repeated runs; ratios against in-run baselines).",
    subcommands: [BenchStepCommand.self, StoreBenchCommand.self, BenchScalingCommand.self])
}

struct BenchStepCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "step",
    abstract: "Time one training step vs the sgemm bound, and the covariance term vs its dense float form.")
  @OptionGroup var shape: StepShapeOptions
  @Option(help: "BLAS threads.") var threads: Int = 1
  @Option(help: "Architecture: bae (default: the full BAE analysis) or an SAE kind (its step vs the BAE core step).")
  var architecture: Architecture = .bae
  @Flag(help: "Print JSON.") var json = false

  func run() throws {
    BLAS.threads = threads
    let paths = MachineInfo.kernelPaths.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
      separator: ", ")
    FileHandle.standardError.write(
      Data("  cpu: \(MachineInfo.cpuModel)  OpenBLAS core: \(BLAS.coreName)  bit kernels: \(paths)\n".utf8))
    if architecture != .bae {
      let r = try StepBenchmark.runArchitecture(
        architecture, inputDim: shape.dim, latentDim: shape.latent, rows: shape.rows, repeats: shape.repeats
      ) {
        FileHandle.standardError.write(Data(("  " + $0 + "\n").utf8))
      }
      if json {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try enc.encode(r), as: UTF8.self))
      } else {
        print(
          String(
            format:
              "step benchmark  %@  d=%d d'=%d n=%d  BLAS threads %d  (median of %d)\n  step %8.1f ms   BAE step with λ = 0 %8.1f ms   ratio %.2f\n  cpu %@  OpenBLAS %@",
            r.architecture, r.inputDim, r.latentDim, r.rows, r.blasThreads, r.repeats, r.stepMs, r.baeCoreStepMs,
            r.ratioToBAECore, r.cpu, r.blasCore))
      }
      return
    }
    let r = try StepBenchmark.run(
      inputDim: shape.dim, latentDim: shape.latent, rows: shape.rows, repeats: shape.repeats, lambda: shape.lambda
    ) {
      FileHandle.standardError.write(Data(("  " + $0 + "\n").utf8))
    }
    if json {
      let enc = JSONEncoder()
      enc.outputFormatting = [.prettyPrinted, .sortedKeys]
      print(String(decoding: try enc.encode(r), as: UTF8.self))
      return
    }
    print(
      String(
        format: """
          step benchmark  d=%d d'=%d n=%d  BLAS threads %d  (median of %d)
            sgemm rate                   %8.1f GFLOP/s
            ideal step 10·n·d·d'/rate    %8.1f ms
            step, λ = 0                  %8.1f ms   efficiency (ideal/actual) %.2f
            step, λ = %-8g          %8.1f ms
            covariance term (popcount)   %8.1f ms   share of step %.1f %%   (AVX-512 popcount: %@)
            dense float covariance       %8.1f ms   speed-up %.1fx
            Adam (replicated per rank)   %8.1f ms   %.1f GB/s
            cpu %@  OpenBLAS %@  bit kernels on %d thread(s)
          """, r.inputDim, r.latentDim, r.rows, r.blasThreads, r.repeats, r.sgemmGflops, r.idealStepMs,
        r.stepMsNoRegularizer, r.denseCoreEfficiency, shape.lambda, r.stepMsWithRegularizer, r.covarianceMs,
        100 * r.covarianceShare, r.avx512Popcount ? "yes" : "no", r.denseCovarianceMs, r.covarianceSpeedup,
        r.adamMs, r.adamGBps, r.cpu, r.blasCore, r.blasThreads))
  }
}

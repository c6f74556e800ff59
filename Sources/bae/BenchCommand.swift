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
  @Option(
    help:
      "Decoder path of the timed steps: auto (sparse when the code's density is at most the measured crossover, else lut for a 1-bit BAE with at least 128 rows, else dense), dense, sparse or lut (lookup tables of subset sums for x̂ and ∂W_dec; a 1-bit BAE only, dense elsewhere)."
  )
  var decoder: DecoderChoice = .auto
  @Flag(
    help:
      "Time the decoder paths against each other: BAE steps (λ = 0) on synthetic codes of 1/5/10/30 % deviation density on the dense, sparse and LUT decoders and the path auto takes, vs the dense bound 10·n·d·d'/sgemm-rate; and TopK on both paths vs the BAE core step."
  )
  var decoderSweep = false
  @Option(
    help: ArgumentHelp(
      "Deviation densities of the decoder sweep, comma-separated, each in (0, 0.5] (default 0.01,0.05,0.1,0.3).",
      valueName: "list"))
  var densities: String? = nil
  @Flag(help: "Print JSON.") var json = false
  @Option(
    help:
      "Also write the codes whose H·S product the covariance lines time to this file (int64 n, d', words per row, then the row words; scripts/bench_kernels.c reads it: `forms n m reps FILE`)."
  )
  var dumpCodes: String? = nil

  enum DecoderChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, dense, sparse, lut
    var policy: DecoderPolicy? {
      switch self {
      case .auto: return nil
      case .dense: return .always(.dense)
      case .sparse: return .always(.sparse)
      case .lut: return .always(.lut)
      }
    }
  }

  /// Pretty, key-sorted JSON of a result on stdout.
  func printJSON<T: Encodable>(_ r: T) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try enc.encode(r), as: UTF8.self))
  }

  func validate() throws {
    guard (1...1024).contains(threads) else {
      throw ValidationError(
        "--threads \(threads): must be between 1 and 1024 (BLAS and kernel threads of this process)")
    }
    if densities != nil {
      guard decoderSweep else { throw ValidationError("--densities: only with --decoder-sweep") }
      _ = try sweepDensities()
    }
  }

  /// The sweep's densities: --densities parsed, or the standard list.
  func sweepDensities() throws -> [Double] {
    guard let text = densities else { return SparseDecoderBenchmark.standardDensities }
    let fields = text.split(separator: ",", omittingEmptySubsequences: false)
    var out: [Double] = []
    for f in fields {
      let t = f.trimmingCharacters(in: .whitespaces)
      guard let v = Double(t), v > 0, v <= 0.5 else {
        throw ValidationError(
          "--densities '\(text)': '\(t)' is not a density in (0, 0.5] (a deviation from the rounded mean code is at most half of the entries); give e.g. 0.01,0.1")
      }
      out.append(v)
    }
    return out
  }

  func run() throws {
    BLAS.threads = threads
    let paths = MachineInfo.kernelPaths.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
      separator: ", ")
    FileHandle.standardError.write(
      Data("  cpu: \(MachineInfo.cpuModel)  OpenBLAS core: \(BLAS.coreName)  bit kernels: \(paths)\n".utf8))
    if decoderSweep {
      let r = try SparseDecoderBenchmark.run(
        inputDim: shape.dim, latentDim: shape.latent, rows: shape.rows, repeats: shape.repeats,
        densities: try sweepDensities()
      ) {
        FileHandle.standardError.write(Data(("  " + $0 + "\n").utf8))
      }
      if json { return try printJSON(r) }
      print(
        String(
          format: "sparse decoder sweep  d=%d d'=%d n=%d  BLAS threads %d  (median of %d)  sparse kernels %@",
          r.inputDim, r.latentDim, r.rows, r.blasThreads, r.repeats, r.sparseKernelPath))
      print(
        String(
          format: "  sgemm %.1f GFLOP/s   dense bound 10·n·d·d'/rate %.1f ms (median over the rounds; each row's own bound)",
          r.sgemmGflops, r.denseBoundMs))
      for p in r.points {
        print(
          String(
            format:
              "  BAE λ=0  density %.3f   bound %5.1f ms   dense %8.1f ms (%.2f× bound)   sparse %8.1f ms (%.2f× bound)   lut %8.1f ms (%.2f× bound)   auto: %@ (%.2f× bound)",
            p.measuredDensity, p.boundMs, p.denseStepMs, p.denseToBound, p.sparseStepMs, p.sparseToBound,
            p.lutStepMs, p.lutToBound, p.automaticPath, p.automaticToBound))
      }
      let labels = StepPhases.Phase.allCases.map(\.label)
      print("  phases (median ms)      " + labels.map { $0.padding(toLength: 8, withPad: " ", startingAt: 0) }.joined())
      for p in r.points {
        for path in ["dense", "sparse", "lut"] {
          guard let ph = p.phases[path] else { continue }
          let row = labels.map { String(format: "%-8.2f", ph[$0] ?? .nan) }.joined()
          print(String(format: "    %.3f %@", p.measuredDensity, path.padding(toLength: 7, withPad: " ", startingAt: 0)) + "    " + row)
        }
      }
      let show = { (x: Double?) in x.map { String(format: "%.3f", $0) } ?? "none in range" }
      print("  crossover density: sparse vs dense \(show(r.crossoverDensity)), sparse vs lut \(show(r.lutCrossoverDensity))")
      print(
        String(
          format:
            "  TopK (density %.4f): dense %.1f ms, sparse %.1f ms; BAE core (%@) %.1f ms; TopK sparse / BAE core %.2f",
          r.topkDensity, r.topkDenseMs, r.topkSparseMs, r.baeCorePath, r.baeCoreMs, r.topkToBAECore))
      return
    }
    if architecture != .bae {
      let r = try StepBenchmark.runArchitecture(
        architecture, inputDim: shape.dim, latentDim: shape.latent, rows: shape.rows, repeats: shape.repeats,
        decoder: decoder.policy
      ) {
        FileHandle.standardError.write(Data(("  " + $0 + "\n").utf8))
      }
      if json {
        try printJSON(r)
      } else {
        print(
          String(
            format:
              "step benchmark  %@  d=%d d'=%d n=%d  BLAS threads %d  (median of %d)\n  step %8.1f ms (%@ decoder)   BAE step with λ = 0 %8.1f ms (%@ decoder)   ratio %.2f\n  cpu %@  OpenBLAS %@",
            r.architecture, r.inputDim, r.latentDim, r.rows, r.blasThreads, r.repeats, r.stepMs, r.decoderPath,
            r.baeCoreStepMs, r.baeCoreDecoderPath, r.ratioToBAECore, r.cpu, r.blasCore))
      }
      return
    }
    let r = try StepBenchmark.run(
      inputDim: shape.dim, latentDim: shape.latent, rows: shape.rows, repeats: shape.repeats, lambda: shape.lambda,
      decoder: decoder.policy, dumpCodes: dumpCodes
    ) {
      FileHandle.standardError.write(Data(("  " + $0 + "\n").utf8))
    }
    if json { return try printJSON(r) }
    print(
      String(
        format: """
          step benchmark  d=%d d'=%d n=%d  BLAS threads %d  (median of %d)
            sgemm rate                   %8.1f GFLOP/s
            ideal step 10·n·d·d'/rate    %8.1f ms
            step, λ = 0                  %8.1f ms   efficiency (ideal/actual) %.2f   decoder %@
            step, λ = %-8g          %8.1f ms
            covariance term (popcount)   %8.1f ms   share of step %.1f %%   (AVX-512 popcount: %@)
            dense float covariance       %8.1f ms   speed-up %.1fx
            Adam (replicated per rank)   %8.1f ms   %.1f GB/s
            LUT decoder (%@): x̂ %.2f ms vs sgemm %.2f ms (%.2fx)   ∂W_dec %.2f ms vs sgemm %.2f ms (%.2fx)
            step, λ = 0, decoder lut     %8.1f ms   decoder dense %.1f ms   (%.2fx)
            cpu %@  OpenBLAS %@  bit kernels on %d thread(s)
          """, r.inputDim, r.latentDim, r.rows, r.blasThreads, r.repeats, r.sgemmGflops, r.idealStepMs,
        r.stepMsNoRegularizer, r.denseCoreEfficiency, r.decoderPath, shape.lambda, r.stepMsWithRegularizer,
        r.covarianceMs, 100 * r.covarianceShare, r.avx512Popcount ? "yes" : "no", r.denseCovarianceMs,
        r.covarianceSpeedup, r.adamMs, r.adamGBps, r.lut.path, r.lut.xhatMs, r.lut.denseXhatMs,
        r.lut.denseXhatMs / r.lut.xhatMs, r.lut.decoderGradientMs, r.lut.denseDecoderGradientMs,
        r.lut.denseDecoderGradientMs / r.lut.decoderGradientMs, r.lut.stepMs, r.lut.denseStepMs,
        r.lut.denseStepMs / r.lut.stepMs, r.cpu, r.blasCore, r.blasThreads))
  }
}

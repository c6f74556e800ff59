// `bae bench scaling`: measured weak scaling (from real `bae train` runs' metrics), α/β fits of the
// collectives, the per-rank compute profile, and the projected step time and efficiency at larger R.
// Run it under `mpirun -np 2` (scripts/bench_scaling.sh) so the collectives are measured; alone it
// projects over the cluster link only.
import ArgumentParser
import BAEBench
import BAEComm
import BAETensor
import BAETrain
import Foundation

struct BenchScalingCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "scaling",
    abstract: "Weak scaling: measured runs, collective α/β fits, compute profile, projection to 16–256 ranks.")

  @OptionGroup var shape: StepShapeOptions
  @Option(help: "World sizes to project, comma-separated.") var ranks: String = "2,16,64,256"
  @Option(help: "A measured run as RANKS=PATH/metrics.jsonl (repeatable), e.g. 1=runs/w1/metrics.jsonl.")
  var weak: [String] = []
  @Option(help: "Steps of each --weak run skipped as warm-up.") var warmup: Int = 3
  @Option(help: "Cluster link latency α in seconds (100 Gb/s InfiniBand ≈ 2e-6).") var clusterLatency: Double = 2e-6
  @Option(help: "Cluster link bandwidth β in bytes/s (100 Gb/s InfiniBand ≈ 12e9).") var clusterBandwidth: Double = 12e9
  @Flag(help: "Skip the compute profile (collectives and measured runs only).") var noCompute = false
  @Flag(help: "Print JSON.") var json = false

  struct Report: Codable {
    var loadAverage: String
    var worldSize: Int
    var weakScaling: [WeakScalingRun]
    var allreduce: [CollectiveTiming]
    var allgather: [CollectiveTiming]
    var sharedMemoryAllreduce: LinkModel?
    var sharedMemoryAllgather: LinkModel?
    var cluster: LinkModel
    var profile: ComputeProfile?
    var projections: [String: [ScalingProjection]]
  }

  /// The largest world size a projection is made for.
  static let maxRanks = 1 << 16

  func validate() throws {
    guard worldSizes != nil else {
      throw ValidationError("--ranks '\(ranks)': expected a comma-separated list of integers in 2…\(Self.maxRanks)")
    }
    for w in weak where parseWeak(w) == nil {
      throw ValidationError("--weak '\(w)': expected RANKS=PATH, e.g. 2=runs/w2/metrics.jsonl")
    }
    guard warmup >= 0 else { throw ValidationError("--warmup \(warmup): must be ≥ 0 steps") }
    guard clusterLatency.isFinite, clusterLatency >= 0 else {
      throw ValidationError("--cluster-latency \(clusterLatency): must be a finite number of seconds ≥ 0")
    }
    guard clusterBandwidth.isFinite, clusterBandwidth > 0 else {
      throw ValidationError("--cluster-bandwidth \(clusterBandwidth): must be a finite number of bytes/s > 0")
    }
  }

  var worldSizes: [Int]? {
    let v = ranks.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    // a projection is computed per rank: 99999999999 ranks failed to allocate (SIGABRT)
    guard !v.isEmpty, v.allSatisfy({ (2...Self.maxRanks).contains($0 ?? 0) }) else { return nil }
    return v.compactMap { $0 }
  }

  func parseWeak(_ s: String) -> (Int, String)? {
    guard let eq = s.firstIndex(of: "="), let r = Int(s[..<eq]), r >= 1 else { return nil }
    return (r, String(s[s.index(after: eq)...]))
  }

  func run() throws {
    try Launch.run { collectives, log in
      BLAS.threads = 1
      let weakRuns = try weak.compactMap(parseWeak).map {
        try WeakScalingRun.summarize(metrics: URL(fileURLWithPath: $0.1), ranks: $0.0, warmupSteps: warmup)
      }
      var report = Report(
        loadAverage: Self.loadAverage(), worldSize: collectives.worldSize, weakScaling: weakRuns,
        allreduce: [], allgather: [],
        cluster: LinkModel(
          name: String(format: "cluster α=%.1f µs β=%.1f GB/s", clusterLatency * 1e6, clusterBandwidth / 1e9),
          latency: clusterLatency, bandwidth: clusterBandwidth),
        projections: [:])
      let say: (String) -> Void = { line in
        if log.isRoot { FileHandle.standardError.write(Data(("  " + line + "\n").utf8)) }
      }
      if let mpi = collectives as? MPICollectives, mpi.worldSize >= 2 {
        say("timing allreduce and allgather on \(mpi.worldSize) ranks…")
        let c = try ScalingBenchmark.measureCollectives(mpi.comm)
        report.allreduce = c.allreduce
        report.allgather = c.allgather
        if mpi.worldSize == 2 {
          report.sharedMemoryAllreduce = LinkModel.fitAllreduce(c.allreduce, name: "shared memory (this machine)")
          report.sharedMemoryAllgather = LinkModel.fitAllgather(c.allgather, name: "shared memory (this machine)")
        }
      }
      if !noCompute {
        say("compute profile at d=\(shape.dim) d'=\(shape.latent) n=\(shape.rows) on every rank at once…")
        let p = try ScalingBenchmark.measureCompute(
          inputDim: shape.dim, latentDim: shape.latent, localRows: shape.rows,
          ranks: worldSizes ?? [], repeats: shape.repeats, lambda: shape.lambda, progress: say)
        report.profile = p
        for design in ScalingBenchmark.Design.allCases {
          if let ar = report.sharedMemoryAllreduce, let ag = report.sharedMemoryAllgather {
            report.projections["shared memory, " + design.rawValue] = ScalingBenchmark.project(
              p, allreduce: ar, allgather: ag, design: design)
          }
          report.projections["cluster, " + design.rawValue] = ScalingBenchmark.project(
            p, allreduce: report.cluster, allgather: report.cluster, design: design)
        }
      }
      report.loadAverage += " → " + Self.loadAverage()
      guard log.isRoot else { return }
      if json {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try enc.encode(report), as: UTF8.self))
      } else {
        print(text(report))
      }
    }
  }

  static func loadAverage() -> String {
    guard let s = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
    return s.split(separator: " ").prefix(3).joined(separator: " ")
  }

  func text(_ r: Report) -> String {
    var out = String(
      format: "scaling benchmark  d=%d d'=%d n_local=%d  world %d  BLAS threads 1  load average %@\n",
      shape.dim, shape.latent, shape.rows, r.worldSize, r.loadAverage)
    if !r.weakScaling.isEmpty {
      out += "\nmeasured weak scaling (bae train, medians after \(warmup) warm-up steps)\n"
      out += "  ranks  steps   step ms  compute ms  comm ms  wait ms  efficiency t1/tR\n"
      let t1 = r.weakScaling.first { $0.ranks == 1 }?.stepSeconds
      for w in r.weakScaling {
        let eff = t1.map { String(format: "%.1f %%", 100 * $0 / w.stepSeconds) } ?? "-"
        out += String(
          format: "  %5d  %5d  %8.1f  %10.1f  %7.1f  %7.2f  %@\n", w.ranks, w.steps, w.stepSeconds * 1e3,
          w.computeSeconds * 1e3, w.communicationSeconds * 1e3, w.inputWaitSeconds * 1e3, eff)
      }
    }
    if !r.allreduce.isEmpty {
      out += "\ncollectives on \(r.worldSize) ranks (slowest rank's mean per call)\n"
      out += "  operation  bytes/rank      time   model\n"
      for (op, timings, link, steps) in [
        ("allreduce", r.allreduce, r.sharedMemoryAllreduce, 2.0),
        ("allgather", r.allgather, r.sharedMemoryAllgather, 1.0),
      ] {
        for t in timings {
          let model = link.map { fmtTime(steps * $0.latency + Double(t.bytes) / $0.bandwidth) } ?? "-"
          out += String(format: "  %-9@ %11d  %@  %@\n", op, t.bytes, fmtTime(t.secondsPerCall), model)
        }
      }
      if let a = r.sharedMemoryAllreduce, let g = r.sharedMemoryAllgather {
        out += String(
          format:
            "  fit (2 ranks): allreduce t = 2α + b/β: α = %.2f µs, β = %.2f GB/s;  allgather t = α + b/β: α = %.2f µs, β = %.2f GB/s\n",
          a.latency * 1e6, a.bandwidth / 1e9, g.latency * 1e6, g.bandwidth / 1e9)
      }
    }
    if let p = r.profile {
      let traffic = StepTraffic(inputDim: p.inputDim, latentDim: p.latentDim, localRows: p.localRows)
      out += String(
        format: "\ncompute profile (rank 0, %d rank(s) computing at once; medians of %d)\n", r.worldSize, p.repeats)
      out += String(format: "  step, λ on (1 rank)            %8.1f ms\n", p.stepSeconds * 1e3)
      out += String(format: "  dense core, λ = 0               %8.1f ms   per-rank constant\n", p.coreSeconds * 1e3)
      out += String(
        format: "  H·S, q, λ terms                 %8.1f ms   per-rank constant\n", p.constantRegularizerSeconds * 1e3)
      out +=
        "      R  n_global  transpose ms  regather ms  pairs ms (busiest)  tiles busiest / mean  pairs ms (tile-balanced)\n"
      for s in p.points {
        out += String(
          format: "  %5d  %8d  %12.1f  %11.1f  %18.1f  %10d / %-8.1f  %12.1f\n", s.ranks, s.globalRows,
          s.transposeSeconds * 1e3,
          s.regatherSeconds * 1e3, s.pairSeconds * 1e3, s.busiestTiles, s.meanTiles, s.balancedPairSeconds * 1e3)
      }
      out += String(
        format:
          "  traffic per step: gradient allreduce %.1f MiB, sign-plane allreduce %.1f MiB, codes %.0f KiB per rank (allgatherv, ×R in total), 4 small allreduces (%.0f KiB)\n",
        traffic.gradientBytes / 1_048_576, traffic.signPlaneBytes / 1_048_576, traffic.codeBytesPerRank / 1024,
        traffic.smallAllreduces.reduce(0, +) / 1024)
    }
    let keys = ["shared memory", "cluster"].flatMap { net in
      ScalingBenchmark.Design.allCases.map { net + ", " + $0.rawValue }
    }
    for key in keys {
      guard let rows = r.projections[key] else { continue }
      let link =
        key.hasPrefix("cluster")
        ? r.cluster.name
        : String(
          format: "this machine's fit: allreduce α=%.2f µs β=%.2f GB/s, allgather α=%.2f µs β=%.2f GB/s",
          (r.sharedMemoryAllreduce?.latency ?? 0) * 1e6, (r.sharedMemoryAllreduce?.bandwidth ?? 0) / 1e9,
          (r.sharedMemoryAllgather?.latency ?? 0) * 1e6, (r.sharedMemoryAllgather?.bandwidth ?? 0) / 1e9)
      out += "\nprojection: \(key)  [\(link)]\n"
      out += "      R   compute ms  (transpose  pairs)  allreduce ms  allgather ms    step ms  efficiency\n"
      for p in rows {
        out += String(
          format: "  %5d  %10.1f  (%9.1f %6.1f)  %12.1f  %12.1f  %9.1f  %8.1f %%\n", p.ranks, p.computeSeconds * 1e3,
          p.transposeSeconds * 1e3, p.pairSeconds * 1e3, p.allreduceSeconds * 1e3, p.allgatherSeconds * 1e3,
          p.stepSeconds * 1e3, 100 * p.efficiency)
      }
    }
    return out
  }

  func fmtTime(_ s: Double) -> String {
    s < 1e-3 ? String(format: "%7.2f µs", s * 1e6) : String(format: "%7.3f ms", s * 1e3)
  }
}

// The readable page of a feature report: summary tables, then per feature its rate and its samples
// with the token highlighted. Context text is escaped so Markdown renders it literally.
import Foundation

extension FeatureReport {
  /// The report as Markdown; at most `shownFeatures` interpretable features are detailed (judged ones first).
  public func markdown(shownFeatures: Int = 100) -> String {
    let s = settings
    let kind = s.kind ?? "bae"
    var o = kind == "random" ? "# Feature report: random-code baseline\n\n" : "# Feature report: \(kind)\n\n"
    o += "| | |\n|---|---|\n"
    o += "| model | `\(s.model)` |\n| data | `\(s.data)` (\(s.rows) rows × \(s.inputDim)) |\n"
    o +=
      "| tokens | \(s.tokens.isEmpty ? "none (no contexts)" : s.tokens.count == 1 ? "`\(s.tokens[0])`" : "\(s.tokens.count) shard sidecars") |\n"
    o += "| features | \(s.features) code bits (k = \(s.bitsPerFeature)) |\n"
    if kind == "random" {
      o +=
        "| codes | Gaussian random codes, seed \(s.randomSeed ?? 0), independent of the data (a feature \"fires\" where its value is > 0) |\n"
    }
    o += String(
      format: "| Ĥ over the corpus | %.2f bits |\n| MSE / FVU | %@ / %@ |\n| L0 | %.2f active features per token |\n",
      corpus.entropyBits, corpus.mse.map { String(format: "%.5g", $0) } ?? "n/a",
      corpus.fvu.map { String(format: "%.4f", $0) } ?? "n/a", corpus.l0)
    o +=
      "| ComSem | top-\(s.topK) features per token by \(Self.scoringText(s.scoring)); first \(s.describeCount) samples describe, next ≤ \(s.testCount) test |\n\n"

    let a = summary.activity
    o += "## Activity (firing rate p over all \(s.rows) tokens)\n\n"
    o += "| class | definition | features |\n|---|---|---|\n"
    o += "| dead | p = 0 (never fires) | \(a.dead) |\n"
    o += "| always on | p = 1 | \(a.alwaysOn) |\n"
    o += "| dense | p > \(s.denseRate) | \(a.dense) |\n"
    o += "| near-constant | min(p, 1 − p) < \(s.nearConstantRate) (incl. dead, always on) | \(a.nearConstant) |\n"
    o += "| sparse and alive | p ≤ \(s.denseRate) and min(p, 1 − p) ≥ \(s.nearConstantRate) | \(a.sparseAndAlive) |\n\n"
    o += "min(p, 1 − p) histogram (features per bin):\n\n| bin | features |\n|---|---|\n"
    let edges: [Double] = [0, 1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5000001]
    let labels = ["0 – 1e-4", "1e-4 – 1e-3", "1e-3 – 0.01", "0.01 – 0.05", "0.05 – 0.2", "0.2 – 0.5"]
    for b in 0..<labels.count {
      let n = features.filter { $0.activity.minorityRate >= edges[b] && $0.activity.minorityRate < edges[b + 1] }.count
      o += "| \(labels[b]) | \(n) |\n"
    }
    o += "\n" + Self.indexList("Dead features", features.filter(\.activity.dead).map(\.index))
    o += Self.indexList("Always-on features", features.filter(\.activity.alwaysOn).map(\.index))

    o += "## Interpretability\n\n"
    o += "\(summary.interpretable) of \(s.features) features have ≥ \(s.describeCount + 1) samples (interpretable).\n"
    if summary.judged > 0 || summary.judgeFailures > 0 {
      o += "Judged by `\(s.judgeModel ?? "?")` at `\(s.judgeURL ?? "?")`: \(summary.judged) features"
      o += summary.meanScore.map { String(format: ", mean score %.3f", $0) } ?? ""
      o += summary.judgeFailures > 0 ? ", \(summary.judgeFailures) failed" : ""
      o += "."
      if let sent = s.judgeRequests {
        o +=
          " \(sent) requests sent (\(s.judgeConcurrency ?? 1) in flight at most), \(s.judgeCacheHits ?? 0) answers from the cache."
      }
      o += "\n\n| score | features |\n|---|---|\n"
      for (b, n) in summary.scoreHistogram.enumerated() {
        o += String(format: "| %.1f – %.1f | %d |\n", Double(b) / 5, Double(b + 1) / 5, n)
      }
    } else {
      o += "No judge was run (pass `--judge-url` and `--judge-model`).\n"
    }
    o += "\n## Features\n\n"
    let interpretable = features.filter(\.interpretable)
    let shown = (interpretable.filter { $0.judge != nil } + interpretable.filter { $0.judge == nil }).prefix(
      shownFeatures)
    o +=
      "\(shown.count) of \(interpretable.count) interpretable features shown (judged first, then by index; report.json has all). "
    o += "Samples are in corpus order; the token is **⟦highlighted⟧**.\n\n"
    for f in shown { o += feature(f) }
    return o
  }

  func feature(_ f: Feature) -> String {
    var o = String(
      format: "### Feature %d\n\np = %.5f, min(p, 1 − p) = %.5f, assigned to %d tokens%@\n\n",
      f.index, f.activity.rate, f.activity.minorityRate, f.assigned,
      f.activity.dense ? " (dense: its event is being **off**)" : "")
    if let j = f.judge {
      o += String(
        format: "Judge: *%@*, score %.2f (%d/%d Yes)\n\n", Self.escape(j.phrase), j.score,
        j.verdicts.filter { $0 }.count, j.verdicts.count)
    } else if let e = f.judgeError {
      o += "Judge failed: \(Self.escape(e))\n\n"
    }
    var testIndex = 0
    for (i, smp) in f.samples.enumerated() {
      let tag: String
      if smp.role == "describe" {
        tag = "D\(i + 1)"
      } else {
        let v = f.judge.flatMap { testIndex < $0.verdicts.count ? ($0.verdicts[testIndex] ? " ✓" : " ✗") : nil } ?? ""
        tag = "T\(testIndex + 1)\(v)"
        testIndex += 1
      }
      if let c = smp.context {
        o +=
          "- \(tag) · row \(smp.row), doc \(c.documentId), pos \(c.position): …\(Self.escape(c.before))**⟦\(Self.escape(c.token))⟧**\(Self.escape(c.after))…\n"
      } else {
        o += "- \(tag) · row \(smp.row)\n"
      }
    }
    return o + "\n"
  }

  /// The ranking rule in words.
  static func scoringText(_ scoring: String?) -> String {
    switch scoring.flatMap(FeatureScoring.init(rawValue:)) ?? .beta {
    case .beta: return "β = log2(\\|h − p\\| + 1e-6)"
    case .activation: return "raw activation (latents with a > 0 only)"
    case .zscore: return "per-latent z-score (a − μ)/σ (latents with a > 0 only)"
    }
  }

  static func indexList(_ title: String, _ idx: [Int]) -> String {
    guard !idx.isEmpty else { return "" }
    let head = idx.prefix(200).map(String.init).joined(separator: ", ")
    return "\(title) (\(idx.count)): \(head)\(idx.count > 200 ? ", …" : "")\n\n"
  }

  /// Escapes Markdown syntax and line breaks so context text shows literally.
  static func escape(_ s: String) -> String {
    var o = ""
    for c in s {
      switch c {
      case "\\", "`", "*", "_", "[", "]", "<", ">", "#", "|", "~":
        o.append("\\")
        o.append(c)
      case "\n", "\r": o += "↵"
      case "\t": o += " "
      default: o.append(c)
      }
    }
    return o
  }
}

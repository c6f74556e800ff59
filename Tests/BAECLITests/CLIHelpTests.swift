// `--help` of the root command and of every subcommand, found by walking the SUBCOMMANDS sections of
// the generated help (so a command added later is covered without editing this file): each exits 0,
// `help <path>` prints the same, an unknown option is a usage error, and the commands listed below
// mention the options scripts rely on, so help can never drift from the parser unnoticed.
import XCTest

final class CLIHelpTests: XCTestCase {
  /// Command paths with the options (or subcommands) their help must list. Every path here must also
  /// be found by walking the help, so a removed or renamed command fails too.
  static let expectations: [(command: [String], mentions: [String])] = [
    (
      [],
      [
        "train", "sweep", "synth", "entropy", "entropy-position", "features", "features-compare", "pack", "inspect",
        "bench", "--version",
      ]
    ),
    (
      ["train"],
      [
        "--data", "--latent-dim", "--batch-size", "--steps", "--epochs", "--lr", "--entropy-weight",
        "--covariance-weight", "--entropy-start-step", "--entropy-threshold", "--estimator",
        "--bits-per-feature", "--seed", "--init-from", "--batch-order", "--validation-fraction",
        "--checkpoint-every", "--keep-last", "--skip-non-finite", "--resume", "--config", "--out",
        "--input-normalization", "--decoder-bias-init",
      ]
    ),
    (["sweep"], ["--config", "--resume", "--overwrite", "--allow-new-data", "--step-timeout", "shared", "models"]),
    (["synth"], ["--bits", "--dim", "--rows", "--noise", "--seed", "--out"]),
    (["entropy"], ["--model", "--data", "--json", "--chunk"]),
    (
      ["entropy-position"],
      [
        "--data", "--tokens", "--buckets", "--latent-dim", "--steps",
        "--bucket-batch", "--eval-rows", "--lr", "--entropy-weight", "--covariance-weight",
        "--seed", "--out",
      ]
    ),
    (["features-compare"], ["--labels", "--bootstrap", "--confidence", "--seed", "--out"]),
    (
      ["features"],
      [
        "--model", "--data", "--tokens", "--top", "--describe", "--test", "--context", "--max-rows",
        "--chunk", "--show", "--out", "--judge-url", "--judge-model", "--judge-timeout",
        "--judge-retries", "--judge-max-features", "--sae-scoring", "--random-codes", "--random-seed",
      ]
    ),
    (
      ["pack"],
      ["--input", "--tensor", "--tokens", "--dtype", "--rows-per-frame", "--rows-per-shard", "--meta", "--out"]
    ),
    (["inspect"], ["<dataset>", "--verify", "--json"]),
    (["bench"], ["step", "store", "scaling"]),
    (["bench", "step"], ["--dim", "--latent", "--rows", "--repeats", "--threads", "--lambda", "--json"]),
    (["bench", "store"], ["--rows", "--dim", "--npy", "--rows-per-frame", "--seconds", "--json"]),
    (
      ["bench", "scaling"],
      [
        "--dim", "--latent", "--rows", "--repeats", "--lambda", "--ranks", "--weak", "--warmup",
        "--cluster-latency", "--cluster-bandwidth", "--no-compute", "--json",
      ]
    ),
  ]

  /// Subcommand names listed in a help text's SUBCOMMANDS section (name lines are indented by two
  /// spaces; wrapped descriptions by more).
  static func subcommands(inHelp help: String) -> [String] {
    var names: [String] = []
    var inSection = false
    for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.hasPrefix("SUBCOMMANDS:") {
        inSection = true
        continue
      }
      guard inSection else { continue }
      if line.trimmingCharacters(in: .whitespaces).isEmpty { break }
      guard line.hasPrefix("  "), let first = line.dropFirst(2).first, first != " " else { continue }
      names.append(String(line.dropFirst(2).split(separator: " ")[0]))
    }
    return names
  }

  /// Every command path reachable from the root's help, root first, each with its help text.
  static func allCommands() throws -> [(path: [String], help: CLIResult)] {
    var found: [(path: [String], help: CLIResult)] = []
    var queue: [[String]] = [[]]
    while !queue.isEmpty {
      let path = queue.removeFirst()
      let r = try CLI.run(path + ["--help"])
      found.append((path, r))
      queue += subcommands(inHelp: r.stdout).filter { $0 != "help" }.map { path + [$0] }
      if found.count > 100 { break }  // a help that lists itself would otherwise loop
    }
    return found
  }

  func testSubcommandParserReadsWrappedHelp() {
    let help = """
      USAGE: x <subcommand>

      SUBCOMMANDS:
        train                   Train a thing on
                                several lines.
        a-very-long-command-name
                                Described on the next line.
        bench (default)         Benchmarks.

        See 'x help <subcommand>' for detailed help.
      """
    XCTAssertEqual(Self.subcommands(inHelp: help), ["train", "a-very-long-command-name", "bench"])
  }

  func testEveryCommandFoundInHelpHasWorkingHelp() throws {
    let all = try Self.allCommands()
    let paths = all.map { $0.path.joined(separator: " ") }
    for (command, _) in Self.expectations {
      XCTAssertTrue(
        paths.contains(command.joined(separator: " ")),
        "`bae \(command.joined(separator: " "))` is not listed by the help walk; found: \(paths)")
    }
    XCTAssertGreaterThanOrEqual(all.count, Self.expectations.count, "found only \(paths)")
    for (path, r) in all {
      let name = (["bae"] + path).joined(separator: " ")
      XCTAssertEqual(r.status, 0, r.transcript)
      XCTAssertTrue(r.stdout.contains("USAGE: \(name)"), "no usage line for `\(name)`:\n\(r.transcript)")
      XCTAssertTrue(r.stdout.contains("-h, --help"), r.transcript)
      XCTAssertFalse(r.stdout.contains("OVERVIEW: \n"), "`\(name)` has no abstract:\n\(r.transcript)")

      let viaHelp = try CLI.run(["help"] + path)
      XCTAssertEqual(viaHelp.status, 0, viaHelp.transcript)
      XCTAssertEqual(
        viaHelp.stdout, r.stdout, "`bae help \(path.joined(separator: " "))` differs from `\(name) --help`")

      let bad = try CLI.run(path + ["--no-such-option"])
      XCTAssertEqual(
        bad.status, 64, "an unknown option to `\(name)` must be a usage error (EX_USAGE 64):\n\(bad.transcript)")
      // (a command with required options reports the first missing one instead)
      XCTAssertTrue(bad.stderr.contains("Error: "), bad.transcript)
      XCTAssertFalse(bad.stderr.contains("Fatal error"), bad.transcript)
    }
  }

  func testListedCommandsMentionTheirOptions() throws {
    for (command, mentions) in Self.expectations {
      let r = try CLI.run(command + ["--help"])
      XCTAssertEqual(r.status, 0, r.transcript)
      for m in mentions {
        XCTAssertTrue(
          r.stdout.contains(m), "`bae \(command.joined(separator: " ")) --help` should mention \(m):\n\(r.transcript)")
      }
    }
  }

  func testHelpSubcommandMatchesHelpFlag() throws {
    let viaFlag = try CLI.succeed(["train", "--help"])
    let viaCommand = try CLI.succeed(["help", "train"])
    XCTAssertEqual(viaFlag.stdout, viaCommand.stdout)
    XCTAssertTrue(viaCommand.stdout.contains("--entropy-weight"), viaCommand.transcript)
  }

  func testUnknownOptionIsAUsageError() throws {
    let r = try CLI.run(["train", "--no-such-option", "3"])
    XCTAssertEqual(r.status, 64, "ArgumentParser's usage errors exit with EX_USAGE (64):\n\(r.transcript)")
    XCTAssertTrue(r.stderr.contains("--no-such-option"), r.transcript)
  }

  func testTrainWithoutOutIsAUsageError() throws {
    let r = try CLI.run(["train", "--data", "/nonexistent.npy"])
    XCTAssertEqual(r.status, 64, r.transcript)
    XCTAssertTrue(r.stderr.contains("--out"), r.transcript)
  }
}

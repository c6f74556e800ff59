// `--help` of the root command and every subcommand: exit 0 and the options scripts rely on (issue 2,
// "CLI surface") appear in the generated help, so help can never drift from the parser unnoticed.
import XCTest

final class CLIHelpTests: XCTestCase {
  /// Each command path with options its help must list.
  static let expectations: [(command: [String], mentions: [String])] = [
    ([], ["train", "synth", "entropy", "pack", "inspect", "bench"]),
    (["train"], ["--data", "--latent-dim", "--batch-size", "--steps", "--epochs", "--lr", "--entropy-weight",
                 "--covariance-weight", "--entropy-start-step", "--entropy-threshold", "--estimator",
                 "--bits-per-feature", "--seed", "--init-from", "--batch-order", "--validation-fraction",
                 "--checkpoint-every", "--keep-last", "--skip-non-finite", "--resume", "--config", "--out"]),
    (["synth"], ["--bits", "--dim", "--rows", "--noise", "--seed", "--out"]),
    (["entropy"], ["--model", "--data", "--json", "--chunk"]),
    (["pack"], ["--input", "--tensor", "--tokens", "--dtype", "--rows-per-frame", "--rows-per-shard", "--meta", "--out"]),
    (["inspect"], ["<dataset>", "--verify", "--json"]),
    (["bench"], ["step", "store"]),
    (["bench", "step"], ["--dim", "--latent", "--rows", "--repeats", "--threads", "--lambda", "--json"]),
    (["bench", "store"], ["--rows", "--dim", "--npy", "--rows-per-frame", "--seconds", "--json"]),
  ]

  func testEveryCommandsHelpExitsZeroAndListsItsOptions() throws {
    for (command, mentions) in Self.expectations {
      let r = try CLI.run(command + ["--help"])
      XCTAssertEqual(r.status, 0, r.transcript)
      XCTAssertTrue(r.stdout.contains("USAGE:"), "no usage line:\n\(r.transcript)")
      for m in mentions {
        XCTAssertTrue(r.stdout.contains(m), "`bae \(command.joined(separator: " ")) --help` should mention \(m):\n\(r.transcript)")
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

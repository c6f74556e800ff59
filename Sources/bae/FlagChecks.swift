// Checks shared by several commands' validate(): each throws a ValidationError that names the flag,
// the value given and what to give instead (found by scripts/fuzz_flags.py: "" for a path resolved to
// the working directory, and non-finite or enormous seconds reached Dispatch and trapped).
import ArgumentParser

enum FlagCheck {
  /// A path or a name must not be empty: "" would name the working directory or nothing at all.
  static func nonEmpty(_ value: String?, _ flag: String, _ what: String) throws {
    if let v = value, v.isEmpty { throw ValidationError("\(flag) is empty: give \(what)") }
  }

  /// A number of seconds: finite and within `range`.
  static func seconds(_ value: Double, _ flag: String, in range: ClosedRange<Double>) throws {
    guard value.isFinite, range.contains(value) else {
      throw ValidationError(
        "\(flag) \(value): must be a finite number of seconds in \(range.lowerBound) … \(range.upperBound)")
    }
  }
}

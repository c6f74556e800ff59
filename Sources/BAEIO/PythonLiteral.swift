// A parser for the subset of Python literal syntax an .npy header uses: a dict of strings, bools
// and tuples of ints. It stands in for numpy's ast.literal_eval; anything outside the subset is a
// malformed header rather than code to evaluate. Nesting is capped (`Limits.npyLiteralDepth`) so a
// header of thousands of brackets is an error, not a stack overflow in this recursive parser.

/// A parsed Python literal value.
indirect enum PythonLiteral: Equatable, Sendable, CustomStringConvertible {
  case dict([(key: PythonLiteral, value: PythonLiteral)])
  case tuple([PythonLiteral])
  case list([PythonLiteral])
  case string(String)
  case int(Int)
  case bool(Bool)
  case none

  static func == (lhs: PythonLiteral, rhs: PythonLiteral) -> Bool { lhs.description == rhs.description }

  /// Python's repr of the value (used in error messages and by the npy writer).
  var description: String {
    switch self {
    case let .dict(items): return "{" + items.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
    case let .tuple(items):
      return items.count == 1 ? "(\(items[0]),)" : "(" + items.map(\.description).joined(separator: ", ") + ")"
    case let .list(items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
    case let .string(s): return "'\(s)'"
    case let .int(i): return String(i)
    case let .bool(b): return b ? "True" : "False"
    case .none: return "None"
    }
  }

  /// Parses `text`, which must hold exactly one literal (surrounding whitespace allowed).
  static func parse(_ text: String) throws(PythonLiteralError) -> PythonLiteral {
    var parser = Parser(chars: Array(text.unicodeScalars))
    let value = try parser.value()
    parser.skipSpace()
    guard parser.position == parser.chars.count else { throw parser.fail("unexpected text after the literal") }
    return value
  }

  private struct Parser {
    let chars: [Unicode.Scalar]
    var position = 0
    var depth = 0

    func fail(_ message: String) -> PythonLiteralError {
      PythonLiteralError(message: "\(message) at character \(position)")
    }

    mutating func skipSpace() {
      while position < chars.count, [" ", "\t", "\n", "\r"].contains(chars[position]) { position += 1 }
    }

    mutating func consume(_ c: Unicode.Scalar) -> Bool {
      skipSpace()
      if position < chars.count, chars[position] == c {
        position += 1
        return true
      }
      return false
    }

    mutating func value() throws(PythonLiteralError) -> PythonLiteral {
      skipSpace()
      guard position < chars.count else { throw fail("unexpected end of header") }
      let c = chars[position]
      if c == "{" || c == "(" || c == "[" {
        guard depth < Limits.npyLiteralDepth else {
          throw fail("brackets nested deeper than \(Limits.npyLiteralDepth) levels")
        }
        depth += 1
      }
      defer { if c == "{" || c == "(" || c == "[" { depth -= 1 } }
      switch c {
      case "{":
        position += 1
        var items: [(key: PythonLiteral, value: PythonLiteral)] = []
        while !consume("}") {
          let key = try value()
          guard consume(":") else { throw fail("expected ':'") }
          items.append((key, try value()))
          if !consume(",") {
            guard consume("}") else { throw fail("expected ',' or '}'") }
            break
          }
        }
        return .dict(items)
      case "(", "[":
        position += 1
        let close: Unicode.Scalar = c == "(" ? ")" : "]"
        var items: [PythonLiteral] = []
        var sawComma = false
        while !consume(close) {
          items.append(try value())
          if consume(",") {
            sawComma = true
            continue
          }
          guard consume(close) else { throw fail("expected ',' or '\(close)'") }
          break
        }
        // Python: "(x)" is just x, "(x,)" and "()" are tuples.
        if c == "(" && items.count == 1 && !sawComma { return items[0] }
        return c == "(" ? .tuple(items) : .list(items)
      case "'", "\"":
        return .string(try string(quote: c))
      case "-", "0"..."9":
        return .int(try integer())
      default:
        for (word, literal) in [("True", PythonLiteral.bool(true)), ("False", .bool(false)), ("None", .none)] {
          let scalars = Array(word.unicodeScalars)
          if position + scalars.count <= chars.count, Array(chars[position..<position + scalars.count]) == scalars {
            position += scalars.count
            return literal
          }
        }
        throw fail("unexpected character '\(c)'")
      }
    }

    mutating func string(quote: Unicode.Scalar) throws(PythonLiteralError) -> String {
      position += 1
      var result = String.UnicodeScalarView()
      while position < chars.count {
        let c = chars[position]
        position += 1
        if c == quote { return String(result) }
        if c == "\\" {
          guard position < chars.count else { break }
          let escaped = chars[position]
          position += 1
          switch escaped {
          case "n": result.append("\n")
          case "t": result.append("\t")
          default: result.append(escaped)
          }
        } else {
          result.append(c)
        }
      }
      throw fail("unterminated string")
    }

    mutating func integer() throws(PythonLiteralError) -> Int {
      var negative = false
      if chars[position] == "-" {
        negative = true
        position += 1
      }
      var magnitude = 0
      var digits = 0
      while position < chars.count, ("0"..."9").contains(chars[position]) {
        let digit = Int(chars[position].value - 48)
        let (scaled, o1) = magnitude.multipliedReportingOverflow(by: 10)
        let (sum, o2) = scaled.addingReportingOverflow(digit)
        guard !o1, !o2 else { throw fail("integer too large") }
        magnitude = sum
        digits += 1
        position += 1
      }
      guard digits > 0 else { throw fail("expected digits") }
      // Python 2 wrote long integers as "3L".
      if position < chars.count, chars[position] == "L" { position += 1 }
      return negative ? -magnitude : magnitude
    }
  }
}

/// Why a header did not parse as a Python literal.
struct PythonLiteralError: Error { let message: String }

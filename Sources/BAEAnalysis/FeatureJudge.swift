// The interpretation step of ComSem (spec §7): a judge LLM names what a feature's first samples have in
// common in one short phrase, then answers Yes/No for each further sample; the score is the fraction
// of Yes. The highlighted token is written as [[token]] inside its context in every prompt.
import Foundation

/// A judge's verdict on one feature.
public struct JudgeResult: Codable, Sendable, Equatable {
  /// The commonality of the describe samples, as named by the judge.
  public var phrase: String
  /// Yes (true) / No (false) per test sample, in order.
  public var verdicts: [Bool]
  /// The judge's raw answers to the test prompts.
  public var answers: [String]
  /// Fraction of Yes over the test samples.
  public var score: Double
}

/// Runs the two ComSem prompts through a chat client.
public struct FeatureJudge: Sendable {
  /// The OpenAI-compatible server that answers both prompts.
  public let client: ChatClient

  /// A judge that asks `client`.
  public init(client: ChatClient) { self.client = client }

  /// Names the commonality of `describe`, then judges each of `test` against it.
  public func judge(describe: [TokenContext], test: [TokenContext]) throws -> JudgeResult {
    precondition(
      !describe.isEmpty && !test.isEmpty, "judge needs describe and test samples (\(describe.count), \(test.count))")
    let phrase = Self.cleanPhrase(try client.complete(Self.describePrompt(describe)))
    var verdicts: [Bool] = [], answers: [String] = []
    for s in test {
      let a = try client.complete(Self.testPrompt(phrase: phrase, sample: s), maxTokens: Self.verdictTokens)
      answers.append(a)
      verdicts.append(Self.parseVerdict(a))
    }
    return JudgeResult(
      phrase: phrase, verdicts: verdicts, answers: answers,
      score: Double(verdicts.filter { $0 }.count) / Double(verdicts.count))
  }

  /// Answer budget of a Yes/No prompt: only the first word counts, and a small local model would
  /// otherwise spend the whole budget explaining itself (3× the time of a verdict on llama_cpp.server).
  public static let verdictTokens = 8

  static let system = ChatMessage(
    role: "system", content: "You analyse features of a language model's hidden states. Be brief and specific.")

  /// One sample as prompt text: the token, its position, and its context with the token in [[ ]].
  public static func format(_ s: TokenContext) -> String {
    "token \"\(oneLine(s.token))\" (position \(s.position)): \(oneLine(s.before))[[\(oneLine(s.token))]]\(oneLine(s.after))"
  }

  /// The first prompt: name the commonality of the samples in one short phrase.
  public static func describePrompt(_ samples: [TokenContext]) -> [ChatMessage] {
    let list = samples.enumerated().map { "\($0.offset + 1). \(format($0.element))" }.joined(separator: "\n")
    return [
      system,
      ChatMessage(
        role: "user",
        content: """
          Each line shows a token (marked [[like this]]) on which one feature of a language model fires, with its context.
          \(list)
          What do the marked tokens have in common? Answer with one short, specific linguistic phrase only.
          """),
    ]
  }

  /// A test prompt: does this sample fit the phrase? Answer Yes or No.
  public static func testPrompt(phrase: String, sample: TokenContext) -> [ChatMessage] {
    [
      system,
      ChatMessage(
        role: "user",
        content: """
          Feature description: \(phrase)
          Sample: \(format(sample))
          Does the marked token fit the description? Answer Yes or No only.
          """),
    ]
  }

  /// Yes when the answer's first word is "yes" (case and punctuation ignored); anything else is No.
  public static func parseVerdict(_ answer: String) -> Bool {
    answer.drop { !$0.isLetter }.prefix { $0.isLetter }.lowercased() == "yes"
  }

  /// The first line of an answer without a trailing period or quotes/bold markers wrapping the whole
  /// phrase (quotes inside, as in `the suffix "-ing"`, stay), at most 160 characters.
  public static func cleanPhrase(_ answer: String) -> String {
    var s = (answer.split(whereSeparator: \.isNewline).first.map(String.init) ?? "").trimmingCharacters(
      in: .whitespaces)
    let pairs: [(Character, Character)] = [("\"", "\""), ("'", "'"), ("`", "`"), ("*", "*"), ("“", "”")]
    var changed = true
    while changed {
      changed = false
      if s.hasSuffix("."), !s.hasSuffix("..") {
        s.removeLast()
        changed = true
      }
      if s.count >= 2, let f = s.first, let l = s.last, pairs.contains(where: { $0 == (f, l) }) {
        s = String(s.dropFirst().dropLast())
        changed = true
      }
      s = s.trimmingCharacters(in: .whitespaces)
    }
    return String(s.prefix(160))
  }

  static func oneLine(_ s: String) -> String {
    s.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: "↵")
  }
}

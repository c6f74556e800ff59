import BAEIO
import BAERandom
import XCTest

@testable import BAEStore

/// In-process volume fuzzing of every reader BAEIO and BAEStore own: `.npy` headers, safetensors
/// headers, shard headers and frames, manifests and token TSVs. Seeds are valid files made here
/// plus `fuzz/corpus/KIND/*`; kept crash files in `fuzz/crashes/KIND/*` run first, unmutated.
/// Each case must return or throw a StoreError / BAEIOError: another error fails the test, and a
/// trap or signal kills the process (scripts/fuzz.sh reports it and keeps the case file).
///
/// Environment: BAE_FUZZ_CASES (default 500), BAE_FUZZ_SEED, BAE_FUZZ_CASE_SECONDS (per-case
/// time limit, default 10: a case over it ends the process with status 124), BAE_FUZZ_SANDBOX (a
/// directory under the system temporary directory; default a new one). Every file is written
/// inside the sandbox by `Sandbox.put`, which refuses any other path.
final class FuzzCorpusTests: XCTestCase {
  func testMutatedInputsGiveTypedErrors() throws {
    let env = ProcessInfo.processInfo.environment
    let cases = Int(env["BAE_FUZZ_CASES"] ?? "") ?? 500
    let seed = UInt64(env["BAE_FUZZ_SEED"] ?? "") ?? 20_261_201
    let limit = Double(env["BAE_FUZZ_CASE_SECONDS"] ?? "") ?? 10
    let sandbox = try Sandbox(env["BAE_FUZZ_SANDBOX"])
    defer { if env["BAE_FUZZ_SANDBOX"] == nil { sandbox.remove() } }
    let seeds = try makeSeeds(sandbox)
    let watchdog = Watchdog(seconds: limit, sandbox: sandbox)
    defer { watchdog.stop() }

    var outcomes: [String: Int] = [:]
    var rng = SplitMix64(state: seed)
    var work: [(kind: FuzzKind, bytes: [UInt8], label: String)] = []
    for kind in FuzzKind.allCases {
      for (name, bytes) in FuzzCorpus.files(kind: kind, in: "crashes") { work.append((kind, bytes, "kept \(name)")) }
    }
    let kept = work.count
    for i in 0..<cases {
      let kind = FuzzKind.allCases[i % FuzzKind.allCases.count]
      let pool = seeds[kind]!
      let base = pool[Int(rng.next(below: UInt64(pool.count)))]
      work.append((kind, Mutator.mutate(base, text: kind.isText, rng: &rng), "seed \(seed) case \(i)"))
    }
    for (index, item) in work.enumerated() {
      try sandbox.put("current.txt", Array("\(item.kind.rawValue) \(item.label)\n".utf8))
      watchdog.start(index)
      let outcome = run(item.kind, item.bytes, sandbox: sandbox)
      watchdog.finish()
      if outcome.hasPrefix("unexpected") { XCTFail("\(item.kind) \(item.label): \(outcome)") }
      outcomes["\(item.kind.rawValue) \(outcome.hasPrefix("unexpected") ? "unexpected" : outcome)", default: 0] += 1
    }
    let summary = outcomes.keys.sorted().map { "\($0): \(outcomes[$0]!)" }.joined(separator: ", ")
    print("fuzz in-process: \(work.count) cases (\(kept) kept, \(cases) mutated, seed \(seed)): \(summary)")
    XCTAssertEqual(work.count, kept + cases)
    for kind in FuzzKind.allCases where cases >= 50 {
      XCTAssertGreaterThan(outcomes["\(kind.rawValue) refused", default: 0], 0, "\(kind): no mutation was refused")
    }
  }

  /// Runs one case: "accepted", "refused" (a typed error) or "unexpected ..." (any other error).
  private func run(_ kind: FuzzKind, _ bytes: [UInt8], sandbox: Sandbox) -> String {
    do {
      switch kind {
      case .npy:
        let url = try sandbox.put("case.npy", bytes)
        let a = try Npy.read(url)
        if a.shape.count == 2 { _ = try Npy.readRows(url, rows: 0..<min(2, a.shape[0])) }
      case .safetensors:
        let file = try SafeTensorsFile(contentsOf: try sandbox.put("case.safetensors", bytes))
        for (name, info) in file.tensors {
          if info.dtype.rawValue.hasPrefix("F") || info.dtype == .BF16 {
            _ = try? file.floats(name)  // F64/F8 are refused with a typed error
            if info.shape.count == 2 { _ = try file.floats(name, rows: 0..<min(1, info.shape[0])) }
          } else if info.dtype != .BOOL && info.dtype != .C64 {
            _ = try file.int64s(name)
          }
        }
      case .shard:
        let shard = try ShardFile(url: try sandbox.put("case.baes", bytes))
        if let e = shard.verify().first { throw e }
        _ = try shard.contentHash()
      case .manifest:
        let dir = try sandbox.dataset()
        try sandbox.put("ds/manifest.json", bytes)
        let ds = try ShardDataset(directory: dir, cacheFrames: 2)
        if ds.rowCount > 0 {
          var out = [Float](repeating: 0, count: 2 * ds.inputDim)
          try out.withUnsafeMutableBufferPointer { try ds.readRows([0, ds.rowCount - 1], into: $0) }
        }
        for e in ds.manifest.shards { if let t = e.tokens { _ = try TokenTable.read(dir.appendingPathComponent(t)) } }
        let report = try DatasetInspector.inspect(dir, verify: true)
        if !report.problems.isEmpty { return "refused" }
      case .tokens:
        _ = try TokenTable.read(try sandbox.put("case.tsv", bytes))
      }
      return "accepted"
    } catch is StoreError {
      return "refused"
    } catch is BAEIOError {
      return "refused"
    } catch {
      return "unexpected \(type(of: error)): \(error)"
    }
  }

  /// Valid files of every kind (plus the committed corpus), and the dataset the manifest cases use.
  private func makeSeeds(_ sandbox: Sandbox) throws -> [FuzzKind: [[UInt8]]] {
    var seeds: [FuzzKind: [[UInt8]]] = [:]
    let x = gaussianRows(24, 4, seed: 77)
    let npy = sandbox.url("seed.npy")
    try Npy.write(x, shape: [24, 4], dtype: .float16, to: npy)
    seeds[.npy] = [[UInt8](try Data(contentsOf: npy))]
    var w = SafeTensorsWriter(metadata: ["model": "fuzz"])
    w.add("acts", shape: [6, 4], floats: Array(x[0..<24]), as: .BF16)
    w.add("bias", shape: [4], floats: [1, 2, 3, 4])
    w.add("step", shape: [], int64s: [7])
    let st = sandbox.url("seed.safetensors")
    try w.write(to: st)
    seeds[.safetensors] = [[UInt8](try Data(contentsOf: st))]
    let dir = try sandbox.dataset()
    let m = try DatasetManifest.read(directory: dir)
    seeds[.shard] = try m.shards.map { [UInt8](try Data(contentsOf: dir.appendingPathComponent($0.file))) }
    seeds[.manifest] = [[UInt8](m.encoded())] + FuzzCorpus.hostileManifests(m)
    seeds[.tokens] = [
      [UInt8](
        TokenTable.encode((0..<5).map { TokenRecord(tokenId: $0, documentId: 0, position: $0, text: "t\\\($0)\t") }))
    ]
    for kind in FuzzKind.allCases { seeds[kind]! += FuzzCorpus.files(kind: kind, in: "corpus").map(\.bytes) }
    return seeds
  }
}

/// The input kinds this harness covers.
enum FuzzKind: String, CaseIterable {
  case npy, safetensors, shard, manifest, tokens
  var isText: Bool { self == .manifest || self == .tokens }
}

/// The scratch directory of one fuzz run. Every write goes through `put`, which accepts only
/// names of files inside it (no `..`, no absolute path, no symlink followed).
final class Sandbox {
  let root: URL
  private var datasetMade = false

  init(_ given: String?) throws {
    let tmp = URL(fileURLWithPath: NSTemporaryDirectory()).standardizedFileURL.path
    if let given {
      let url = URL(fileURLWithPath: given).standardizedFileURL
      precondition(
        url.path.hasPrefix(tmp) || url.path.hasPrefix("/tmp/"),
        "BAE_FUZZ_SANDBOX \(given) is not under the temporary directory: refusing to write there")
      root = url
      try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    } else {
      root = makeTempDir("fuzz-corpus")
    }
  }

  func url(_ name: String) -> URL {
    let parts = name.split(separator: "/", omittingEmptySubsequences: false)
    precondition(
      !name.hasPrefix("/") && parts.allSatisfy { !$0.isEmpty && $0 != ".." && $0 != "." },
      "sandbox name \(name) could leave the sandbox: refusing")
    return root.appendingPathComponent(name)
  }

  @discardableResult
  func put(_ name: String, _ bytes: [UInt8]) throws -> URL {
    let target = url(name)
    if (try? FileManager.default.destinationOfSymbolicLink(atPath: target.path)) != nil {
      try FileManager.default.removeItem(at: target)
    }
    try Data(bytes).write(to: target)
    return target
  }

  /// A small valid dataset at `ds/` (2 shards with token sidecars), made once.
  func dataset() throws -> URL {
    let dir = url("ds")
    if !datasetMade {
      let toks = (0..<20).map { TokenRecord(tokenId: $0, documentId: $0 / 8, position: $0 % 8, text: "w\($0)") }
      try writeDataset(
        gaussianRows(20, 3, seed: 5), dim: 3, rowsPerShard: 12,
        options: ShardOptions(dtype: .bf16, rowsPerFrame: 4), at: dir, tokens: toks)
      datasetMade = true
    }
    return dir
  }

  func remove() { try? FileManager.default.removeItem(at: root) }
}

/// The committed corpus: `fuzz/corpus/KIND/*` seeds and `fuzz/crashes/KIND/*` kept crash files.
enum FuzzCorpus {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fuzz")

  static func files(kind: FuzzKind, in folder: String) -> [(name: String, bytes: [UInt8])] {
    let dir = root.appendingPathComponent(folder).appendingPathComponent(kind.rawValue)
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
    return names.compactMap { name in
      (try? Data(contentsOf: dir.appendingPathComponent(name))).map { (name, [UInt8]($0)) }
    }
  }

  /// Manifests with hostile entries, built as strings: nothing is ever written where they point.
  static func hostileManifests(_ m: DatasetManifest) -> [[UInt8]] {
    var out: [[UInt8]] = []
    for name in ["../../etc/passwd", "..", "/dev/zero", "a/../../b", "manifest.json"] {
      var t = m
      t.shards[0].tokens = name
      out.append([UInt8](t.encoded()))
      t = m
      t.shards[1].file = name
      out.append([UInt8](t.encoded()))
    }
    var big = m
    big.shards[0].rows = Int.max
    out.append([UInt8](big.encoded()))
    return out
  }
}

/// Seeded mutations: bit flips, interesting bytes and integers, truncation, junk, block copies
/// and deletions; for text, numbers swapped for extreme ones and hostile tokens inserted.
enum Mutator {
  static let integers: [UInt64] = [
    0, 1, 7, 8, 255, 256, 65535, 65536, 1 << 31, (1 << 32) - 1, 1 << 32,
    1 << 62, UInt64(Int64.max), 1 << 63, UInt64.max,
  ]
  static let tokens = [
    "0", "-1", "1e9", "1e308", "4611686018427387904", "9223372036854775808", "\"\"", "null", "[]",
    "\r\n", "\r", "\\", "\\x", "\t", "\u{0}", "\"../../outside\"", String(repeating: "[", count: 3000),
    String(repeating: "(", count: 3000), "\u{FFFD}",
  ]

  static func mutate(_ seed: [UInt8], text: Bool, rng: inout SplitMix64) -> [UInt8] {
    var b = seed
    let rounds = [1, 1, 1, 2, 3, 8][Int(rng.next(below: 6))]
    for _ in 0..<rounds {
      if b.isEmpty {
        b.append(UInt8(truncatingIfNeeded: rng.next()))
        continue
      }
      let p = Int(rng.next(below: UInt64(b.count)))
      switch Int(rng.next(below: text ? 9 : 7)) {
      case 0: b[p] ^= 1 << UInt8(rng.next(below: 8))
      case 1: b[p] = [0, 1, 0x7F, 0x80, 0xFF, 0x0A, 0x0D, 0x22, 0x5B][Int(rng.next(below: 9))]
      case 2:
        let width = [2, 4, 8][Int(rng.next(below: 3))]
        let v = integers[Int(rng.next(below: UInt64(integers.count)))]
        for k in 0..<width where p + k < b.count { b[p + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
      case 3: b.removeSubrange(p...)
      case 4: b += (0..<(1 + Int(rng.next(below: 64)))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      case 5:
        let q = Int(rng.next(below: UInt64(b.count)))
        b.insert(contentsOf: b[q..<min(b.count, q + 1 + Int(rng.next(below: 256)))], at: p)
      case 6: b.removeSubrange(p..<min(b.count, p + 1 + Int(rng.next(below: 64))))
      case 7:
        guard let i = b.indices.filter({ (0x30...0x39).contains(b[$0]) }).randomElement(using: &rng) else { continue }
        var j = i
        while j < b.count, (0x30...0x39).contains(b[j]) || b[j] == UInt8(ascii: ".") || b[j] == UInt8(ascii: "e") {
          j += 1
        }
        b.replaceSubrange(i..<j, with: Array(tokens[Int(rng.next(below: 5))].utf8))
      default:
        b.insert(contentsOf: Array(tokens[Int(rng.next(below: UInt64(tokens.count)))].utf8), at: p)
      }
    }
    if b == seed { b.append(0) }
    return b
  }
}

/// Ends the process (status 124, naming the case) when one case runs longer than the limit: a
/// hang is a failure the harness must report, not wait out.
final class Watchdog: @unchecked Sendable {
  private let lock = NSLock()
  private var started: Date?
  private var index = -1
  private var stopped = false

  init(seconds: Double, sandbox: Sandbox) {
    let current = sandbox.url("current.txt").path
    Thread { [self] in
      while true {
        Thread.sleep(forTimeInterval: 0.25)
        lock.lock()
        let (s, i, done) = (started, index, stopped)
        lock.unlock()
        if done { return }
        if let s, Date().timeIntervalSince(s) > seconds {
          let what = (try? String(contentsOfFile: current, encoding: .utf8)) ?? "case \(i)"
          FileHandle.standardError.write(Data("fuzz: TIME-OUT after \(seconds) s in \(what)".utf8))
          exit(124)
        }
      }
    }.start()
  }

  func start(_ i: Int) {
    lock.lock()
    started = Date()
    index = i
    lock.unlock()
  }
  func finish() {
    lock.lock()
    started = nil
    lock.unlock()
  }
  func stop() {
    lock.lock()
    stopped = true
    lock.unlock()
  }
}

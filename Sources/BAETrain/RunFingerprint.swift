// What every rank must agree on before step 1, and what a checkpoint records about its data: the
// resolved config field by field, a data fingerprint and the binary's identity. Rank 0 broadcasts
// its fingerprint; each rank compares, and all ranks learn the first differing field together.
import BAEBuildInfo
import BAEModel
import BAEStore
import Foundation

/// A cheap, bounded content fingerprint of the training data.
public enum DataFingerprint {
  /// A `.npy` up to this size is hashed whole; a larger one as its first and last half of this
  /// many bytes plus its size (a change only in the middle of a larger file goes unnoticed).
  public static let wholeFileLimit = 64 << 20

  /// "manifest:<xxh64>" for a dataset directory (the manifest lists each shard's content hash),
  /// "npy:<bytes>:<xxh64>" for a file.
  public static func of(_ path: String) throws -> String {
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
      let url = URL(fileURLWithPath: path).appendingPathComponent(DatasetManifest.fileName)
      guard let data = FileManager.default.contents(atPath: url.path) else {
        throw RunDirectoryError.missingFile(
          path: url.path, hint: "the dataset has no manifest; re-pack it with `bae pack`")
      }
      return "manifest:" + hex(data.withUnsafeBytes { XXH64.hash($0) })
    }
    guard let h = FileHandle(forReadingAtPath: path) else {
      throw TrainDataError.missing(path: path)
    }
    defer { try? h.close() }
    let size = Int(try h.seekToEnd())
    var chunkHashes: [UInt64] = []
    // 1 MiB chunks, each hashed, then the list of chunk hashes hashed: streaming, bounded memory
    func hashRange(_ start: Int, _ end: Int) throws {
      try h.seek(toOffset: UInt64(start))
      var at = start
      while at < end {
        let data = try h.read(upToCount: Swift.min(1 << 20, end - at)) ?? Data()
        if data.isEmpty { break }
        chunkHashes.append(data.withUnsafeBytes { XXH64.hash($0) })
        at += data.count
      }
    }
    if size <= wholeFileLimit {
      try hashRange(0, size)
    } else {
      try hashRange(0, wholeFileLimit / 2)
      try hashRange(size - wholeFileLimit / 2, size)
    }
    let total = chunkHashes.withUnsafeBytes { XXH64.hash($0) }
    return "npy:\(size):" + hex(total)
  }

  static func hex(_ x: UInt64) -> String {
    let s = String(x, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
  }
}

/// The fields every rank compares at start-up, as (name, value) in a fixed order.
public struct RunFingerprint: Codable, Equatable, Sendable {
  /// Field name to value, as text; ranks that disagree on any field refuse to start and name it.
  public var fields: [String: String]

  /// The resolved config (every field but the data path, whose content is compared instead),
  /// the data fingerprint and the binary.
  public init(config: TrainConfig, data: String) throws {
    let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as? [String: Any] ?? [:]
    var f: [String: String] = [:]
    for (k, v) in json where k != "data" { f[k] = "\(v)" }
    f["initFrom"] = f["initFrom"] ?? "none"  // encoded only when set; every rank must hold the key
    f["(data fingerprint)"] = data
    f["(bae version)"] = "\(BuildInfo.version) \(BuildInfo.gitCommit)"
    fields = f
  }

  /// Rank 0's fingerprint compared on every rank; throws `TrainingError.ranksDisagree` on all ranks
  /// when any rank differs (the differing rank names its own value).
  public func agree(_ collectives: Collectives) throws {
    guard collectives.worldSize > 1 else { return }
    let root = try collectives.broadcastFromRoot(Array(JSONEncoder().encode(self)))
    let rootPrint = try JSONDecoder().decode(RunFingerprint.self, from: Data(root))
    // indices refer to rank 0's sorted field names, which every rank now holds
    let names = rootPrint.fields.keys.sorted()
    let mine =
      names.firstIndex { rootPrint.fields[$0] != fields[$0] }
      ?? (Set(fields.keys).isSubset(of: names) ? nil : names.count)
    // the smallest differing index over ranks (max of the negated index; −∞ when none differs)
    var worst: [Double] = [mine.map { -Double($0) } ?? -Double.infinity]
    try worst.withUnsafeMutableBufferPointer { try collectives.max($0) }
    guard worst[0].isFinite else { return }
    let index = Int(-worst[0])
    let agreed = index < names.count ? names[index] : "(a field rank 0 does not have)"
    let differsHere = mine == index
    throw TrainingError.ranksDisagree(
      field: agreed, rootValue: rootPrint.fields[agreed] ?? "nothing",
      rank: differsHere ? collectives.rank : nil,
      value: differsHere ? fields[agreed] : nil)
  }
}

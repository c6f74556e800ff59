// A dataset directory opened for reading: the manifest checked against every shard's header, and
// row access through a small LRU cache of decoded frames (the reader's bounded memory).
import Foundation

/// A packed dataset (directory with manifest.json), readable by row.
public final class ShardDataset: RowSource, @unchecked Sendable {
  /// The dataset directory (holding manifest.json and the shards).
  public let directory: URL
  /// The manifest, already checked against every shard's header.
  public let manifest: DatasetManifest
  /// The opened shards, in manifest (row) order.
  public let shards: [ShardFile]
  /// Width d of a row.
  public var inputDim: Int { manifest.inputDim }
  /// Total rows over all shards.
  public var rowCount: Int { manifest.rows }
  /// Rows per compressed frame: the unit a read decodes.
  public var rowsPerBlock: Int { manifest.rowsPerFrame }
  /// Decoded frames kept in memory (each rowsPerFrame·inputDim floats).
  public let cacheFrames: Int

  private let shardStart: [Int]  // shardStart[s] = first global row of shard s; last = rowCount
  private let lock = NSLock()
  private let decoder = FrameDecoder()
  private var scratch: [UInt8] = []
  private var cache: [FrameKey: CachedFrame] = [:]
  private var clock = 0

  private struct FrameKey: Hashable {
    var shard: Int
    var frame: Int
  }
  private final class CachedFrame {
    var values: [Float]
    var lastUse: Int
    init(values: [Float], lastUse: Int) {
      self.values = values
      self.lastUse = lastUse
    }
  }

  /// Opens `directory`, reading the manifest and validating every shard's header against it
  /// (missing shard, width, dtype, rows, frame size, file size). Frames are checked when decoded.
  public init(directory: URL, cacheFrames: Int = 16) throws {
    precondition(cacheFrames >= 1, "cacheFrames \(cacheFrames) must be >= 1")
    self.directory = directory
    self.cacheFrames = cacheFrames
    let m = try DatasetManifest.read(directory: directory)
    manifest = m
    let manifestPath = directory.appendingPathComponent(DatasetManifest.fileName).path
    var opened: [ShardFile] = []
    var starts = [0]
    for e in m.shards {
      let url = directory.appendingPathComponent(e.file)
      guard FileManager.default.fileExists(atPath: url.path) else {
        throw StoreError.missingShard(manifest: manifestPath, shard: e.file)
      }
      let s = try ShardFile(url: url)
      let h = s.header
      func check(_ field: String, _ expected: String, _ found: String) throws {
        guard expected == found else {
          throw StoreError.shardMismatch(file: url.path, field: field, expected: expected, found: found)
        }
      }
      try check("inputDim", "\(m.inputDim)", "\(h.inputDim)")
      try check("dtype", "\(m.dtype)", "\(h.dtype)")
      try check("rowsPerFrame", "\(m.rowsPerFrame)", "\(h.rowsPerFrame)")
      try check("rows", "\(e.rows)", "\(h.rows)")
      try check("file size", "\(e.bytes)", "\(s.fileSize)")
      opened.append(s)
      starts.append(starts.last! + h.rows)
    }
    shards = opened
    shardStart = starts
  }

  /// (shard, row within shard) of global row `r`.
  public func locate(_ r: Int) -> (shard: Int, row: Int) {
    precondition(r >= 0 && r < rowCount, "row \(r) out of 0..<\(rowCount)")
    var lo = 0, hi = shardStart.count - 1
    while hi - lo > 1 {
      let mid = (lo + hi) / 2
      if shardStart[mid] <= r { lo = mid } else { hi = mid }
    }
    return (lo, r - shardStart[lo])
  }

  /// Copies rows `indices` into `out`. Rows are gathered frame by frame (each needed frame is
  /// decoded at most once per call, even if the cache is smaller than the frames touched).
  public func readRows(_ indices: [Int], into out: UnsafeMutableBufferPointer<Float>) throws {
    let d = inputDim
    precondition(out.count == indices.count * d, "out has \(out.count) floats, need \(indices.count) x \(d)")
    let rpf = manifest.rowsPerFrame
    // (key, row in frame, output slot), sorted so rows of one frame are consecutive.
    var work: [(key: FrameKey, row: Int, slot: Int)] = indices.enumerated().map { slot, r in
      let (s, local) = locate(r)
      return (FrameKey(shard: s, frame: local / rpf), local % rpf, slot)
    }
    work.sort { ($0.key.shard, $0.key.frame) < ($1.key.shard, $1.key.frame) }
    lock.lock()
    defer { lock.unlock() }
    var i = 0
    while i < work.count {
      let key = work[i].key
      let frame = try frameLocked(key)
      frame.values.withUnsafeBufferPointer { v in
        while i < work.count && work[i].key == key {
          (out.baseAddress! + work[i].slot * d).update(from: v.baseAddress! + work[i].row * d, count: d)
          i += 1
        }
      }
    }
  }

  /// The decoded frame `key`, from the cache or decoded now (evicting the least recently used).
  private func frameLocked(_ key: FrameKey) throws -> CachedFrame {
    clock += 1
    if let f = cache[key] {
      f.lastUse = clock
      return f
    }
    var values: [Float] = []
    if cache.count >= cacheFrames, let victim = cache.min(by: { $0.value.lastUse < $1.value.lastUse }) {
      cache[victim.key] = nil
      values = victim.value.values  // reuse the buffer when the sizes match
      victim.value.values = []  // sole owner now: no copy on write
    }
    // Resized only after the frame's checksum and declared size were checked.
    try shards[key.shard].decodeFrame(key.frame, into: &values, decoder: decoder, scratch: &scratch)
    let f = CachedFrame(values: values, lastUse: clock)
    cache[key] = f
    return f
  }

  /// Number of decoded frames currently cached (for tests of the memory bound).
  public var cachedFrameCount: Int {
    lock.lock()
    defer { lock.unlock() }
    return cache.count
  }
}

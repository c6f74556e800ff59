// Writes one shard: frames compressed in parallel (one zstd context per worker), then header,
// index and frames streamed into an atomically renamed file.
import BAEIO
import Dispatch
import Foundation

/// How shards are encoded.
public struct ShardOptions: Sendable, Equatable {
  /// Element type on disk.
  public var dtype: StoreDType
  /// Rows per independently decodable frame (the reader's unit of decoding and caching).
  public var rowsPerFrame: Int
  /// Byte-shuffle before compression (almost always better; off only for benchmarks).
  public var shuffle: Bool
  /// zstd level (1 is as small as 3 or 9 on activations and decodes fastest).
  public var level: Int32

  /// Settings for one dataset; traps when `rowsPerFrame <= 0` (the CLI validates it first).
  public init(dtype: StoreDType, rowsPerFrame: Int = 256, shuffle: Bool = true, level: Int32 = 1) {
    precondition(rowsPerFrame > 0, "rowsPerFrame \(rowsPerFrame) must be > 0")
    self.dtype = dtype
    self.rowsPerFrame = rowsPerFrame
    self.shuffle = shuffle
    self.level = level
  }
}

/// Writes one shard file: rows compressed into frames in parallel, then header, index and frames atomically.
public enum ShardWriter {
  /// Compresses `rows` (rowCount·inputDim floats, row-major) into frames, in parallel.
  static func compressFrames(_ rows: UnsafeBufferPointer<Float>, inputDim: Int, options: ShardOptions) -> [[UInt8]] {
    precondition(
      inputDim > 0 && rows.count % inputDim == 0, "rows.count \(rows.count) not a multiple of inputDim \(inputDim)")
    let rowCount = rows.count / inputDim
    let frames = ShardHeader.frameCount(rows: rowCount, rowsPerFrame: options.rowsPerFrame)
    // One slot per frame in raw memory: each worker writes only its own slots, and no worker
    // touches a shared Array (writing elements of one Array from several threads races on its
    // storage's uniqueness check and copy-on-write).
    let slots = UnsafeMutableBufferPointer<[UInt8]>.allocate(capacity: frames)
    slots.initialize(repeating: [])
    defer { slots.deinitialize().deallocate() }
    let workers = max(1, min(frames, ProcessInfo.processInfo.activeProcessorCount))
    nonisolated(unsafe) let base = rows.baseAddress
    nonisolated(unsafe) let out = slots
    DispatchQueue.concurrentPerform(iterations: workers) { w in
      let encoder = FrameEncoder(level: options.level)
      var k = w
      while k < frames {
        let lo = k * options.rowsPerFrame, hi = min(rowCount, lo + options.rowsPerFrame)
        let frame = UnsafeBufferPointer(start: base! + lo * inputDim, count: (hi - lo) * inputDim)
        out[k] = encoder.encode(frame, dtype: options.dtype, shuffle: options.shuffle)
        k += workers
      }
    }
    return Array(slots)
  }

  /// Writes a shard of `rows` to `url` atomically; returns its header (with the frame index).
  @discardableResult
  public static func write(
    _ rows: UnsafeBufferPointer<Float>, inputDim: Int, options: ShardOptions,
    metadata: [String: String], to url: URL
  ) throws -> ShardHeader {
    let frames = compressFrames(rows, inputDim: inputDim, options: options)
    let rowCount = rows.count / inputDim
    let meta = metadata
    let metaLen = ShardHeader.metadataJSON(meta).count
    var offset = ShardHeader.headerEnd(metadataBytes: metaLen, frameCount: frames.count)
    var entries: [FrameEntry] = []
    for f in frames {
      entries.append(FrameEntry(offset: offset, bytes: f.count, xxh64: XXH64.hash(f)))
      offset += f.count
    }
    let header = ShardHeader(
      dtype: options.dtype, shuffled: options.shuffle, inputDim: inputDim, rows: rowCount,
      rowsPerFrame: options.rowsPerFrame, metadata: meta, frames: entries)
    let head = header.encode()
    precondition(head.count == entries.first?.offset ?? head.count, "header size \(head.count) != first frame offset")
    do {
      try AtomicFile.write(to: url) { sink in
        try head.withUnsafeBytes { try sink.write($0) }
        for f in frames { try f.withUnsafeBytes { try sink.write($0) } }
      }
    } catch {
      throw StoreError.io(file: url.path, operation: "write", reason: "\(error)")
    }
    return header
  }
}

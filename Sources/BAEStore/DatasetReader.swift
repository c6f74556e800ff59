// One reader's view of the global batch sequence: a background thread runs its own copy of the
// sampler ahead of the trainer, gathers this reader's slice of each upcoming global minibatch
// (decoding a shuffling window's frames once for many batches) into a bounded queue, and
// `nextBatch` just copies the next one out.
import Foundation

/// Streams this reader's slices of the global minibatches, decoded ahead on a background thread.
///
/// Memory: `prefetchBatches` batch buffers (localBatch·inputDim floats each), the source's own
/// cache (a dataset's `cacheFrames` decoded frames) and, for shuffled packed data, one gather of at
/// most `gatherBatches` batches of this reader's rows (default `BatchMixing.defaultGatherBytes`).
public final class DatasetReader: @unchecked Sendable {
  /// Where the rows come from (a packed dataset or an in-memory matrix).
  public let source: any RowSource
  /// This reader's index in 0..<readers (its MPI rank in training).
  public let rank: Int
  /// Readers sharing each global minibatch (the MPI world size in training).
  public let readers: Int
  /// Rows this reader returns per batch: the length of its slice of the global minibatch.
  public let localBatch: Int
  /// Width d of a row (the source's).
  public var inputDim: Int { source.inputDim }
  /// Rows in the whole source, all splits included.
  public var rowCount: Int { source.rowCount }

  private let pipeline: Pipeline

  /// Starts the background thread. `sampler` carries the start state (fresh or from a checkpoint)
  /// and must be built identically on every reader.
  ///
  /// A shuffled sampler over blocks of several rows (a packed dataset) is read a window at a time:
  /// the thread gathers this reader's rows of up to `gatherBatches` upcoming batches, never across a
  /// shuffling window, in one `readRows` call, so each frame of a window is decoded once per gather
  /// (once per epoch when a window fits). Other samplers read batch by batch.
  public init(
    source: any RowSource, rank: Int, readers: Int, sampler: GlobalBatchSampler, prefetchBatches: Int = 2,
    gatherBatches: Int? = nil
  ) {
    precondition(prefetchBatches >= 1, "prefetchBatches \(prefetchBatches) must be >= 1")
    precondition(
      sampler.rows.upperBound <= source.rowCount,
      "sampler rows \(sampler.rows) exceed the source's \(source.rowCount) rows")
    precondition(
      sampler.state.epoch >= 0 && sampler.state.batchInEpoch >= 0
        && sampler.state.batchInEpoch < sampler.batchesPerEpoch,
      "sampler state \(sampler.state) out of range (validate a resumed state with GlobalBatchSampler.validate)")
    self.source = source
    self.rank = rank
    self.readers = readers
    let slice = GlobalBatchSampler.slice(globalBatch: sampler.globalBatch, rank: rank, readers: readers)
    localBatch = slice.count
    pipeline = Pipeline(depth: prefetchBatches, start: sampler.state)
    let p = pipeline, src = source, d = source.inputDim
    let gathered = sampler.order == .shuffled && source.rowsPerBlock > 1
    let perGather = gatherBatches ?? BatchMixing.gatherBatches(localBatch: slice.count, inputDim: d)
    precondition(perGather >= 1, "gatherBatches \(perGather) must be >= 1")
    let thread = Thread {
      var s = sampler
      var gather = WindowGather(slice: slice, inputDim: d, maxBatches: perGather, sampler: sampler)
      while let buffer = p.takeFreeBuffer(count: slice.count * d) {
        var buf = buffer
        do {
          if gathered {
            try gather.next(into: &buf, sampler: &s, source: src)
          } else {
            let rows = Array(s.nextGlobalBatch()[slice])
            try buf.withUnsafeMutableBufferPointer { try src.readRows(rows, into: $0) }
          }
        } catch {
          p.fail(error)
          return
        }
        p.push(buf, state: s.state)
      }
    }
    thread.name = "bae-reader-\(rank)"
    thread.start()
  }

  deinit { pipeline.stop() }

  /// Fills `out` with this reader's slice of the next global minibatch (localBatch·inputDim floats,
  /// row-major) and returns the number of rows. Throws the source's error (e.g. a corrupt frame)
  /// when the batch it belongs to is reached.
  public func nextBatch(into out: UnsafeMutableBufferPointer<Float>) throws -> Int {
    precondition(out.count >= localBatch * inputDim, "out has \(out.count) floats, need \(localBatch) x \(inputDim)")
    try pipeline.pop { buf in
      out.baseAddress!.update(from: buf.withUnsafeBufferPointer { $0.baseAddress! }, count: buf.count)
    }
    return localBatch
  }

  /// Sampler state after the last batch returned by `nextBatch`: store it in a checkpoint and
  /// pass it to `GlobalBatchSampler(state:)` to continue with the next batch.
  public var samplerState: SamplerState { pipeline.consumedState }

  /// Seconds `nextBatch` spent waiting for the background thread (input-pipeline stall time).
  public var waitSeconds: Double { pipeline.waitSeconds }

  /// Stops the background thread (also done on deinit).
  public func close() { pipeline.stop() }
}

/// This reader's rows of upcoming batches, decoded a window (or `maxBatches` batches) at a time and
/// handed out in batch order. Its position is its own: the sampler's state is advanced in step.
private struct WindowGather {
  let slice: Range<Int>
  let inputDim: Int
  let maxBatches: Int
  private var values: [Float] = []  // gathered rows, row-major; rows before `cursor` are consumed
  private var cursor = 0
  private var epoch: Int  // epoch and next position not yet gathered
  private var position: Int

  init(slice: Range<Int>, inputDim: Int, maxBatches: Int, sampler: GlobalBatchSampler) {
    self.slice = slice
    self.inputDim = inputDim
    self.maxBatches = maxBatches
    epoch = sampler.state.epoch
    position = sampler.state.batchInEpoch * sampler.globalBatch
  }

  private var available: Int { values.count / inputDim - cursor }

  /// Copies this reader's slice of the sampler's next batch into `out` and advances the sampler.
  mutating func next(into out: inout [Float], sampler s: inout GlobalBatchSampler, source: any RowSource) throws {
    while available < slice.count { try refill(sampler: &s, source: source) }
    let d = inputDim
    out.withUnsafeMutableBufferPointer { o in
      values.withUnsafeBufferPointer { v in
        o.baseAddress!.update(from: v.baseAddress! + cursor * d, count: slice.count * d)
      }
    }
    cursor += slice.count
    s.skipBatch()
  }

  /// Gathers this reader's rows of positions [position, end): end is the window's end, the epoch's
  /// last whole batch, or `maxBatches` batches on, whichever comes first.
  private mutating func refill(sampler s: inout GlobalBatchSampler, source: any RowSource) throws {
    let b = s.globalBatch, epochEnd = s.batchesPerEpoch * b
    if position == epochEnd {
      epoch += 1
      position = 0
    }
    let window = s.windowPositions(containing: position, epoch: epoch)
    let end = min(window.upperBound, epochEnd, position + maxBatches * b)
    let all = s.epochRows(position..<end, epoch: epoch)
    var mine: [Int] = []
    mine.reserveCapacity(all.count * slice.count / b + slice.count)
    for (i, row) in all.enumerated() where slice.contains((position + i) % b) { mine.append(row) }
    position = end
    // Keep the unconsumed rows (less than one batch) and free the rest before decoding, in a buffer
    // of exactly the needed size (growing the old one could double it past the budget).
    let d = inputDim
    let remnant = Array(values[(cursor * d)...])
    values = []
    cursor = 0
    let kept = remnant.count
    var next = [Float]()
    next.reserveCapacity(kept + mine.count * d)
    next += remnant
    next += repeatElement(0, count: mine.count * d)
    try next.withUnsafeMutableBufferPointer {
      try source.readRows(mine, into: UnsafeMutableBufferPointer(rebasing: $0[kept...]))
    }
    values = next
  }
}

/// The bounded queue between the decode thread and the consumer.
private final class Pipeline: @unchecked Sendable {
  private let cond = NSCondition()
  private let depth: Int
  private var ready: [(values: [Float], state: SamplerState)] = []
  private var free: [[Float]] = []
  private var error: Error?
  private var stopped = false
  private var _consumed: SamplerState
  private var _wait: Double = 0

  init(depth: Int, start: SamplerState) {
    self.depth = depth
    _consumed = start
  }

  var consumedState: SamplerState {
    cond.lock()
    defer { cond.unlock() }
    return _consumed
  }
  var waitSeconds: Double {
    cond.lock()
    defer { cond.unlock() }
    return _wait
  }

  /// Blocks while the queue is full; nil once stopped.
  func takeFreeBuffer(count: Int) -> [Float]? {
    cond.lock()
    defer { cond.unlock() }
    while ready.count >= depth && !stopped { cond.wait() }
    if stopped { return nil }
    return free.popLast() ?? [Float](repeating: 0, count: count)
  }

  func push(_ values: [Float], state: SamplerState) {
    cond.lock()
    defer { cond.unlock() }
    ready.append((values, state))
    cond.broadcast()
  }

  func fail(_ e: Error) {
    cond.lock()
    defer { cond.unlock() }
    error = e
    cond.broadcast()
  }

  func stop() {
    cond.lock()
    defer { cond.unlock() }
    stopped = true
    cond.broadcast()
  }

  func pop(_ body: ([Float]) -> Void) throws {
    cond.lock()
    defer { cond.unlock() }
    if ready.isEmpty {
      let t0 = DispatchTime.now().uptimeNanoseconds
      while ready.isEmpty && error == nil && !stopped { cond.wait() }
      _wait += Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
    }
    guard !ready.isEmpty else {
      if let e = error { throw e }
      preconditionFailure("DatasetReader.nextBatch after close()")
    }
    let b = ready.removeFirst()
    body(b.values)
    _consumed = b.state
    free.append(b.values)
    cond.broadcast()
  }
}

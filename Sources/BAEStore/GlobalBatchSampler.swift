// The deterministic, resumable order in which every reader visits the rows: one global sequence of
// minibatches per (seed, epoch), computed identically by every reader, each of which keeps a contiguous
// slice. The number of readers never enters the sequence, so 1 or 64 readers train on the same batches.

import BAERandom

/// A resumed sampler state that does not fit the dataset and batch size it is resumed with.
public enum SamplerStateError: Error, Equatable, CustomStringConvertible {
  /// The saved epoch is negative (a damaged or hand-edited checkpoint).
  case negativeEpoch(source: String, epoch: Int)
  /// The saved batch index is not below the epoch's batch count for the current rows and batch size.
  case batchOutOfRange(source: String, batchInEpoch: Int, batchesPerEpoch: Int, rows: Int, globalBatch: Int)

  /// What is wrong with the saved sampler state, and to resume from another checkpoint or start afresh.
  public var description: String {
    switch self {
    case let .negativeEpoch(source, epoch):
      return
        "\(source): sampler field epoch is \(epoch), must be >= 0; the checkpoint is damaged, resume from an earlier one or start without --resume"
    case let .batchOutOfRange(source, batch, perEpoch, rows, globalBatch):
      return
        "\(source): sampler field batchInEpoch is \(batch) but \(rows) training rows in batches of \(globalBatch) give \(perEpoch) batches per epoch; "
        + "the dataset or the batch size changed since the checkpoint: resume with the same data and --batch-size, or start without --resume"
    }
  }
}

/// How rows are ordered within an epoch.
public enum BatchOrder: String, Codable, Sendable {
  /// A pseudo-random permutation per epoch, a function of (seed, epoch) only.
  case shuffled
  /// File order: batch k of every epoch is rows [k·B, (k+1)·B).
  case sequential
}

/// Where the sampler is in its sequence: the whole resumable state (goes into checkpoints).
public struct SamplerState: Codable, Equatable, Sendable {
  /// Epochs completed so far (0-based index of the current epoch).
  public var epoch: Int
  /// Index of the next global minibatch within the epoch, in 0..<batchesPerEpoch.
  public var batchInEpoch: Int

  /// The position `batchInEpoch` batches into epoch `epoch`; the sampler checks the range.
  public init(epoch: Int, batchInEpoch: Int) {
    self.epoch = epoch
    self.batchInEpoch = batchInEpoch
  }
}

/// Yields global minibatches of row indices.
///
/// The shuffled order is a two-level permutation so that a reader of compressed frames touches few
/// frames per batch (Documentation/ActivationStore.md): the rows are cut into blocks of `blockRows`
/// consecutive rows (a block = one compressed frame), the blocks are permuted, consecutive groups of
/// `windowBlocks` permuted blocks form windows, and the rows inside each window are permuted. With
/// `blockRows == 1` and the default window (everything), this is a plain uniform permutation of all rows.
/// Every row appears exactly once per epoch; the tail of `rows.count % globalBatch` positions of the
/// permutation is dropped each epoch (a different set of rows each shuffled epoch).
public struct GlobalBatchSampler: Sendable {
  /// The dataset rows this sampler draws from, e.g. the train split `0..<trainRows`, in file order.
  public let rows: Range<Int>
  /// Rows per global minibatch (summed over all readers).
  public let globalBatch: Int
  /// Seed of the permutations; epoch e's order depends only on (seed, e).
  public let seed: UInt64
  /// Sequential (file order) or shuffled (the two-level permutation).
  public let order: BatchOrder
  /// Rows per block of the two-level permutation (the dataset's rows per frame; 1 for in-memory data).
  public let blockRows: Int
  /// Blocks per shuffling window, clamped to the number of blocks.
  public let windowBlocks: Int
  /// The resumable position: save it with a checkpoint, pass it back to `init` to continue.
  public var state: SamplerState

  /// floor(rows.count / globalBatch): the incomplete tail batch is dropped each epoch.
  public var batchesPerEpoch: Int { rows.count / globalBatch }

  // Per-epoch cache (pure function of seed and epoch; rebuilt on demand, never part of the state).
  private var cachedEpoch = -1
  private var blockOrder: [Int] = []  // permuted block indices (empty = identity: one window)
  private var windowStarts: [Int] = []  // windowStarts[w] = first epoch position of window w; last = n
  private var cachedWindow = -1
  private var windowRows: [Int] = []  // the shuffled row indices of `cachedWindow`

  /// - Parameters:
  ///   - rows: the dataset rows to draw from, in file order (e.g. the train split `0..<trainRows`).
  ///   - globalBatch: rows per global minibatch, 1...rows.count.
  ///   - blockRows: rows per block; pass the dataset's rows per frame so a batch touches few frames.
  ///   - windowBlocks: blocks per shuffling window (more = closer to a uniform permutation, but more
  ///     decoded frames held by a reader); `Int.max` = one window over all rows.
  ///   - state: where to start; a saved `state` resumes the identical sequence.
  public init(
    rows: Range<Int>, globalBatch: Int, seed: UInt64, order: BatchOrder,
    blockRows: Int = 1, windowBlocks: Int = .max,
    state: SamplerState = .init(epoch: 0, batchInEpoch: 0)
  ) {
    precondition(rows.lowerBound >= 0, "rows \(rows) must start at >= 0")
    precondition(
      globalBatch > 0 && globalBatch <= rows.count,
      "globalBatch \(globalBatch) must be in 1...\(rows.count) (rows \(rows))")
    precondition(blockRows > 0 && windowBlocks > 0, "blockRows \(blockRows), windowBlocks \(windowBlocks) must be > 0")
    precondition(
      state.epoch >= 0 && state.batchInEpoch >= 0 && state.batchInEpoch < rows.count / globalBatch,
      "state \(state) out of range: batchInEpoch must be < \(rows.count / globalBatch)")
    self.rows = rows
    self.globalBatch = globalBatch
    self.seed = seed
    self.order = order
    self.blockRows = blockRows
    let blocks = (rows.count + blockRows - 1) / blockRows
    self.windowBlocks = min(windowBlocks, blocks)
    self.state = state
  }

  /// Row indices of the next global minibatch (length `globalBatch`), advancing the state
  /// (rolls into the next epoch after `batchesPerEpoch` batches).
  public mutating func nextGlobalBatch() -> [Int] {
    let start = state.batchInEpoch * globalBatch
    let out = epochRows(start..<(start + globalBatch), epoch: state.epoch)
    skipBatch()
    return out
  }

  /// Advances the state by one batch without computing it (a reader that gathered the rows already).
  public mutating func skipBatch() {
    state.batchInEpoch += 1
    if state.batchInEpoch == batchesPerEpoch {
      state.batchInEpoch = 0
      state.epoch += 1
    }
  }

  /// The rows at `positions` of epoch `epoch`'s order (position p = slot p mod B of batch p div B),
  /// without touching the state. A reader uses it to gather many batches' rows in one pass.
  public mutating func epochRows(_ positions: Range<Int>, epoch: Int) -> [Int] {
    precondition(
      positions.lowerBound >= 0 && positions.upperBound <= rows.count && epoch >= 0,
      "positions \(positions) of epoch \(epoch) out of 0..<\(rows.count)")
    var out = [Int]()
    out.reserveCapacity(positions.count)
    switch order {
    case .sequential:
      for p in positions { out.append(rows.lowerBound + p) }
    case .shuffled:
      prepareEpoch(epoch)
      var p = positions.lowerBound
      while p < positions.upperBound {
        let w = window(containing: p)
        loadWindow(w, epoch: epoch)
        let ws = windowStarts[w], we = windowStarts[w + 1]
        let take = min(positions.upperBound, we) - p
        out.append(contentsOf: windowRows[(p - ws)..<(p - ws + take)])
        p += take
      }
    }
    return out
  }

  /// The positions of epoch `epoch` that share a shuffling window with `position`: their rows are
  /// a permutation of the window's frames, so gathering them decodes each of those frames once.
  /// Sequential order is one window.
  public mutating func windowPositions(containing position: Int, epoch: Int) -> Range<Int> {
    precondition(position >= 0 && position < rows.count, "position \(position) out of 0..<\(rows.count)")
    guard order == .shuffled else { return 0..<rows.count }
    prepareEpoch(epoch)
    let w = window(containing: position)
    return windowStarts[w]..<windowStarts[w + 1]
  }

  /// Checks a state read back from a checkpoint against this sampler (whose rows and batch come
  /// from the current dataset and config): throws if it points outside the epoch, e.g. because the
  /// dataset shrank or the batch grew since the checkpoint was written. `source` names the file.
  public func validate(_ resumed: SamplerState, source: String) throws {
    guard resumed.epoch >= 0 else {
      throw SamplerStateError.negativeEpoch(source: source, epoch: resumed.epoch)
    }
    guard resumed.batchInEpoch >= 0 && resumed.batchInEpoch < batchesPerEpoch else {
      throw SamplerStateError.batchOutOfRange(
        source: source, batchInEpoch: resumed.batchInEpoch,
        batchesPerEpoch: batchesPerEpoch, rows: rows.count,
        globalBatch: globalBatch)
    }
  }

  /// The contiguous slice [lo, hi) of a global minibatch that reader `rank` of `readers` takes:
  /// lo = ⌊rank·B/readers⌋, hi = ⌊(rank+1)·B/readers⌋. Slices are disjoint and cover 0..<B.
  public static func slice(globalBatch: Int, rank: Int, readers: Int) -> Range<Int> {
    precondition(readers > 0 && rank >= 0 && rank < readers, "rank \(rank) of \(readers) readers")
    precondition(globalBatch >= 0, "globalBatch \(globalBatch) must be >= 0")
    return (rank * globalBatch / readers)..<((rank + 1) * globalBatch / readers)
  }

  // MARK: - Two-level permutation

  private var blockCount: Int { (rows.count + blockRows - 1) / blockRows }

  /// Stream 0 permutes the blocks; stream w+1 permutes the rows of window w.
  private mutating func prepareEpoch(_ epoch: Int) {
    guard cachedEpoch != epoch else { return }
    let nb = blockCount
    if windowBlocks >= nb {
      blockOrder = []  // one window: its row shuffle alone is the permutation
      windowStarts = [0, rows.count]
    } else {
      var perm = Array(0..<nb)
      var rng = SplitMix64(seed: seed, epoch: epoch, stream: 0)
      rng.shuffle(&perm)
      blockOrder = perm
      var starts = [0]
      starts.reserveCapacity(nb / windowBlocks + 2)
      var pos = 0
      var b = 0
      while b < nb {
        for k in b..<min(b + windowBlocks, nb) { pos += blockLength(perm[k]) }
        starts.append(pos)
        b += windowBlocks
      }
      windowStarts = starts
    }
    cachedEpoch = epoch
    cachedWindow = -1
  }

  private func blockLength(_ block: Int) -> Int {
    min(blockRows, rows.count - block * blockRows)
  }

  /// Binary search: the window w with windowStarts[w] <= p < windowStarts[w+1].
  private func window(containing p: Int) -> Int {
    var lo = 0, hi = windowStarts.count - 1
    while hi - lo > 1 {
      let mid = (lo + hi) / 2
      if windowStarts[mid] <= p { lo = mid } else { hi = mid }
    }
    return lo
  }

  private mutating func loadWindow(_ w: Int, epoch: Int) {
    guard cachedWindow != w else { return }
    var r = [Int]()
    if blockOrder.isEmpty {
      r = Array(rows)
    } else {
      r.reserveCapacity(windowBlocks * blockRows)
      for k in (w * windowBlocks)..<min((w + 1) * windowBlocks, blockOrder.count) {
        let b = blockOrder[k]
        let lo = rows.lowerBound + b * blockRows
        r.append(contentsOf: lo..<(lo + blockLength(b)))
      }
    }
    var rng = SplitMix64(seed: seed, epoch: epoch, stream: UInt64(w) + 1)
    rng.shuffle(&r)
    windowRows = r
    cachedWindow = w
  }
}

// MPI counts are C ints: a buffer longer than Int32.max elements is sent as consecutive chunks.
// The limit is a parameter so tests can exercise the chunked paths with tiny buffers.

/// Consecutive element ranges of at most `limit` elements covering `0..<count`. A count of 0
/// yields one empty range: every rank must still make the collective call (and MPI still checks
/// its arguments). Iterating allocates nothing.
struct ChunkPlan: Sequence {
  /// The largest count one MPI call accepts.
  static let mpiCountLimit = Int(Int32.max)

  let count: Int
  let limit: Int

  init(count: Int, limit: Int = ChunkPlan.mpiCountLimit) {
    precondition(count >= 0, "ChunkPlan: negative element count \(count)")
    precondition(
      limit >= 1 && limit <= ChunkPlan.mpiCountLimit,
      "ChunkPlan: chunk limit \(limit) must be in 1...\(ChunkPlan.mpiCountLimit)")
    self.count = count
    self.limit = limit
  }

  /// Number of MPI calls the plan makes (at least one).
  var chunkCount: Int { count == 0 ? 1 : (count + limit - 1) / limit }

  struct Iterator: IteratorProtocol {
    let count: Int
    let limit: Int
    var position = 0
    var emittedEmpty = false

    mutating func next() -> Range<Int>? {
      if count == 0 {
        if emittedEmpty { return nil }
        emittedEmpty = true
        return 0..<0
      }
      guard position < count else { return nil }
      let start = position
      position = start + Swift.min(limit, count - start)
      return start..<position
    }
  }

  func makeIterator() -> Iterator { Iterator(count: count, limit: limit) }
}

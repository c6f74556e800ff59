// All-gather of equal-size blocks (MPI_Allgather) and of rank-dependent sizes (MPI_Allgatherv).
// Results are rank-major: rank 0's block, then rank 1's, ... Counts or offsets beyond the per-call
// limit go through a chunked path that gathers round by round into a scratch buffer.
import CMPI

extension Communicator {
  /// `MPI_Allgather`: every rank contributes `send.count` elements (the same count on all ranks);
  /// `recv` (count `send.count * size`) receives rank r's block at `r * send.count`.
  public func allgather<T: MPIElement>(
    _ send: UnsafeBufferPointer<T>,
    into recv: UnsafeMutableBufferPointer<T>
  ) throws {
    let block = send.count
    precondition(
      recv.count == block * size,
      "allgather: recv.count \(recv.count) != send.count \(block) × size \(size)")
    guard block > maxElementsPerCall else {
      let comm = self.comm
      let datatype = T.mpiDatatype.handle
      try mpiCall("MPI_Allgather") {
        MPI_Allgather(
          send.baseAddress, Int32(block), datatype,
          recv.baseAddress, Int32(block), datatype, comm)
      }
      return
    }
    try allgathervChunked(send, counts: Array(repeating: block, count: size), into: recv)
  }

  /// `MPI_Allgather` of arrays of the same length on every rank; returns the rank-major concatenation.
  public func allgather<T: MPIElement>(_ send: [T]) throws -> [T] {
    try send.withUnsafeBufferPointer { send in
      try [T](unsafeUninitializedCapacity: send.count * size) { recv, initialized in
        try allgather(send, into: recv)
        initialized = send.count * size
      }
    }
  }

  /// Every rank's local element count, indexed by rank.
  public func allgatherCounts(_ localCount: Int) throws -> [Int] {
    precondition(localCount >= 0, "allgatherCounts: negative count \(localCount)")
    return try allgather([localCount])
  }

  /// `MPI_Allgatherv`: rank r contributes `counts[r]` elements (`counts` must be identical on
  /// every rank and `counts[rank] == send.count`); `recv` (count `counts.sum`) receives rank r's
  /// block at `counts[0..<r].sum`.
  public func allgatherv<T: MPIElement>(
    _ send: UnsafeBufferPointer<T>, counts: [Int],
    into recv: UnsafeMutableBufferPointer<T>
  ) throws {
    precondition(counts.count == size, "allgatherv: \(counts.count) counts for world size \(size)")
    precondition(
      counts[rank] == send.count,
      "allgatherv: counts[\(rank)] = \(counts[rank]) but send.count = \(send.count)")
    let total = counts.reduce(0, +)
    precondition(recv.count == total, "allgatherv: recv.count \(recv.count) != Σcounts \(total)")
    // Displacements are C ints too, so the single-call path needs the total under the limit.
    guard total > maxElementsPerCall else {
      var displacements = [Int32](repeating: 0, count: size)
      for r in 1..<max(size, 1) { displacements[r] = displacements[r - 1] + Int32(counts[r - 1]) }
      let cCounts = counts.map { Int32($0) }
      let comm = self.comm
      let datatype = T.mpiDatatype.handle
      try mpiCall("MPI_Allgatherv") {
        MPI_Allgatherv(
          send.baseAddress, Int32(send.count), datatype,
          recv.baseAddress, cCounts, displacements, datatype, comm)
      }
      return
    }
    try allgathervChunked(send, counts: counts, into: recv)
  }

  /// `MPI_Allgatherv` of arrays whose length differs by rank: gathers the counts first, then the
  /// values. Returns the rank-major concatenation and each rank's count.
  public func allgatherv<T: MPIElement>(_ send: [T]) throws -> (values: [T], counts: [Int]) {
    let counts = try allgatherCounts(send.count)
    let total = counts.reduce(0, +)
    let values = try send.withUnsafeBufferPointer { send in
      try [T](unsafeUninitializedCapacity: total) { recv, initialized in
        try allgatherv(send, counts: counts, into: recv)
        initialized = total
      }
    }
    return (values, counts)
  }

  /// Round k gathers elements `k*q ..< (k+1)*q` of every rank's block, with q chosen so that one
  /// round's total (and so every displacement) fits one call; then copies them into place.
  func allgathervChunked<T: MPIElement>(
    _ send: UnsafeBufferPointer<T>, counts: [Int],
    into recv: UnsafeMutableBufferPointer<T>
  ) throws {
    let perRank = max(1, min(maxElementsPerCall / size, counts.max() ?? 0))
    let rounds = ChunkPlan(count: counts.max() ?? 0, limit: perRank).chunkCount
    var offsets = [Int](repeating: 0, count: size)
    for r in 1..<max(size, 1) { offsets[r] = offsets[r - 1] + counts[r - 1] }
    let scratch = UnsafeMutableBufferPointer<T>.allocate(capacity: perRank * size)
    defer { scratch.deallocate() }
    var roundCounts = [Int32](repeating: 0, count: size)
    var roundDisplacements = [Int32](repeating: 0, count: size)
    let comm = self.comm
    let datatype = T.mpiDatatype.handle
    for round in 0..<rounds {
      let start = round * perRank
      for r in 0..<size {
        roundCounts[r] = Int32(min(perRank, max(0, counts[r] - start)))
        roundDisplacements[r] = r == 0 ? 0 : roundDisplacements[r - 1] + roundCounts[r - 1]
      }
      let mine = Int(roundCounts[rank])
      let sendStart = mine > 0 ? send.baseAddress.map { $0 + start } : send.baseAddress
      try mpiCall("MPI_Allgatherv") {
        MPI_Allgatherv(
          sendStart, Int32(mine), datatype, scratch.baseAddress,
          roundCounts, roundDisplacements, datatype, comm)
      }
      for r in 0..<size where roundCounts[r] > 0 {
        let from = UnsafeMutableBufferPointer(
          rebasing:
            scratch[Int(roundDisplacements[r])..<Int(roundDisplacements[r] + roundCounts[r])])
        let to = offsets[r] + start
        _ = UnsafeMutableBufferPointer(rebasing: recv[to..<(to + from.count)])
          .initialize(fromContentsOf: from)
      }
    }
  }
}

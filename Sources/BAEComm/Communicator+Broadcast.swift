// Broadcast from a root rank (MPI_Bcast): raw buffers, arrays whose length only the root knows,
// and Codable values that the root alone produces (e.g. reads a config file) and sends as JSON.
import CMPI
import Foundation

extension Communicator {
  /// `MPI_Bcast`: copies the root's `buffer` into every rank's `buffer` (same count everywhere).
  /// An invalid `root` is reported by MPI as `MPIError` (`MPI_ERR_ROOT`) on every rank.
  public func broadcast<T: MPIElement>(
    _ buffer: UnsafeMutableBufferPointer<T>,
    root: Int = 0
  ) throws {
    let comm = self.comm
    let cRoot = cRank(root)
    let datatype = T.mpiDatatype.handle
    for chunk in ChunkPlan(count: buffer.count, limit: maxElementsPerCall) {
      let start = buffer.baseAddress.map { $0 + chunk.lowerBound }
      try mpiCall("MPI_Bcast") { MPI_Bcast(start, Int32(chunk.count), datatype, cRoot, comm) }
    }
  }

  /// Broadcasts the root's array; other ranks' arrays are resized to the root's length first.
  public func broadcast<T: MPIElement>(_ array: inout [T], root: Int = 0) throws {
    let count = try broadcastCount(rank == root ? array.count : 0, root: root)
    if rank != root {
      array = [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }
    try array.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
  }

  /// Runs `produce` on the root only, broadcasts the result as JSON and returns the decoded value
  /// on every rank (the root decodes too, so all ranks hold bit-identical values).
  /// If `produce` throws, the root rethrows its error and every other rank throws
  /// `CommError.rootFailed`, so no rank is left waiting.
  public func broadcast<V: Codable>(root: Int = 0, _ produce: () throws -> V) throws -> V {
    var payload: [UInt8] = []
    var rootError: (any Error)? = nil
    if rank == root {
      do { payload = Array(try JSONEncoder().encode(produce())) } catch { rootError = error }
    }
    // A negative length tells the other ranks that the root failed.
    var header: [Int64] = [rootError == nil ? Int64(payload.count) : -1]
    try header.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    guard header[0] >= 0 else {
      if let rootError { throw rootError }
      throw CommError.rootFailed(root: root, operation: "broadcast of \(V.self)")
    }
    if rank != root { payload = [UInt8](repeating: 0, count: Int(header[0])) }
    try payload.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    do {
      return try JSONDecoder().decode(V.self, from: Data(payload))
    } catch {
      throw CommError.decodingFailed(type: "\(V.self)", reason: "\(error)")
    }
  }

  private func broadcastCount(_ count: Int, root: Int) throws -> Int {
    var value = [Int64(count)]
    try value.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    return Int(value[0])
  }
}

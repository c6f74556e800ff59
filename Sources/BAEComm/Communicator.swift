// A typed MPI communicator: a private duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN, so every
// failure becomes an `MPIError`. In a single process (no mpirun) it is a world of size 1 and every
// collective is a cheap local copy, so callers need no special case.
import CMPI

/// Owns one `MPI_Comm` handle; shared by the `Communicator` values that use it.
final class CommHandle: @unchecked Sendable {
  var comm: MPI_Comm?
  init(_ comm: MPI_Comm?) { self.comm = comm }
}

/// A communicator over all ranks of the job. All calls must come from the thread that initialised
/// MPI (see `ThreadLevel`). Collectives must be called by every rank in the same order.
public final class Communicator: @unchecked Sendable {
  /// This process's rank, `0..<size`.
  public let rank: Int
  /// Number of ranks (1 without mpirun).
  public let size: Int
  /// Whether this is rank 0, the one that logs and writes files.
  public var isRoot: Bool { rank == 0 }

  let handle: CommHandle
  /// Most elements one MPI call carries; lowered only by tests to exercise chunking.
  let maxElementsPerCall: Int

  init(handle: CommHandle, rank: Int, size: Int, maxElementsPerCall: Int) {
    self.handle = handle
    self.rank = rank
    self.size = size
    self.maxElementsPerCall = maxElementsPerCall
  }

  /// The communicator for tests and for code called inside `MPIRuntime.run`: initialises MPI on
  /// first use (world size 1 without mpirun) and finalises it at process exit. Inside
  /// `MPIRuntime.run` it returns the body's communicator.
  public static func world() throws -> Communicator {
    try MPIState.shared.lazyWorld()
  }

  /// `MPI_Comm_dup` of `MPI_COMM_WORLD` with `MPI_ERRORS_RETURN` set on the duplicate.
  static func duplicateWorld(checked: Bool) throws(MPIError) -> Communicator {
    var dup: MPI_Comm? = nil
    try mpiCall("MPI_Comm_dup", checked: checked) { MPI_Comm_dup(bae_mpi_comm_world(), &dup) }
    try mpiCall("MPI_Comm_set_errhandler", checked: checked) {
      MPI_Comm_set_errhandler(dup, bae_mpi_errors_return())
    }
    var rank: Int32 = 0
    var size: Int32 = 0
    try mpiCall("MPI_Comm_rank", checked: checked) { MPI_Comm_rank(dup, &rank) }
    try mpiCall("MPI_Comm_size", checked: checked) { MPI_Comm_size(dup, &size) }
    return Communicator(
      handle: CommHandle(dup), rank: Int(rank), size: Int(size),
      maxElementsPerCall: ChunkPlan.mpiCountLimit)
  }

  /// The same communicator with a smaller per-call element limit (tests of the chunked paths).
  func withChunkLimit(_ limit: Int) -> Communicator {
    precondition(
      limit >= 1 && limit <= ChunkPlan.mpiCountLimit,
      "chunk limit \(limit) must be in 1...\(ChunkPlan.mpiCountLimit)")
    return Communicator(handle: handle, rank: rank, size: size, maxElementsPerCall: limit)
  }

  /// The live handle; using a freed communicator is a programmer error.
  var comm: MPI_Comm {
    guard let comm = handle.comm else {
      preconditionFailure("Communicator used after MPIRuntime.run returned (its MPI_Comm is freed)")
    }
    return comm
  }

  /// `MPI_Comm_free`; called by `MPIRuntime.run` when the body returns.
  func free() throws(MPIError) {
    guard handle.comm != nil else { return }
    try mpiCall("MPI_Comm_free") { MPI_Comm_free(&handle.comm) }
    handle.comm = nil
  }

  /// `MPI_Barrier`: returns once every rank has entered it.
  public func barrier() throws {
    let comm = self.comm
    try mpiCall("MPI_Barrier") { MPI_Barrier(comm) }
  }

  /// `MPI_Abort` on `MPI_COMM_WORLD`: terminates every rank of the job with `code`. For a rank
  /// that cannot continue, so that no other rank hangs in a collective. Log before calling.
  public func abort(code: Int32) -> Never {
    _ = try? mpiCall("MPI_Abort") { MPI_Abort(bae_mpi_comm_world(), code) }
    fatalError("MPI_Abort(\(code)) returned; terminating this rank")
  }

  /// Converts a rank argument to a C int. Whether it is a valid rank is left to MPI, which
  /// reports `MPI_ERR_ROOT` consistently on every rank.
  func cRank(_ root: Int) -> Int32 {
    guard let value = Int32(exactly: root) else {
      preconditionFailure("root rank \(root) does not fit a C int (world size \(size))")
    }
    return value
  }
}

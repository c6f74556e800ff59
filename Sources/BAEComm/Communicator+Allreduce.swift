// In-place all-reduce (MPI_Allreduce with MPI_IN_PLACE) over buffers, arrays and scalars, plus
// logical OR/AND of flags. Buffers longer than the per-call limit are reduced chunk by chunk.
import CMPI

extension Communicator {
  /// `MPI_Allreduce` in place: afterwards every rank's `buffer` holds the element-wise `op` over
  /// all ranks. Every rank must pass the same count.
  public func allreduce<T: MPIReducible>(
    _ buffer: UnsafeMutableBufferPointer<T>,
    _ op: ReduceOp
  ) throws {
    try allreduceInPlace(
      UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count,
      elementSize: MemoryLayout<T>.stride, datatype: T.mpiDatatype.handle,
      op: op.handle)
  }

  /// `MPI_Allreduce` in place over a whole array (same count on every rank).
  public func allreduce<T: MPIReducible>(_ array: inout [T], _ op: ReduceOp) throws {
    try array.withUnsafeMutableBufferPointer { try allreduce($0, op) }
  }

  /// `MPI_Allreduce` of one value: `op` over every rank's `value`.
  public func allreduce<T: MPIReducible>(_ value: T, _ op: ReduceOp) throws -> T {
    var result = value
    try withUnsafeMutablePointer(to: &result) {
      try allreduce(UnsafeMutableBufferPointer(start: $0, count: 1), op)
    }
    return result
  }

  /// Sum of `value` over all ranks.
  public func allreduceSum<T: MPIReducible>(_ value: T) throws -> T { try allreduce(value, .sum) }
  /// Minimum of `value` over all ranks.
  public func allreduceMin<T: MPIReducible>(_ value: T) throws -> T { try allreduce(value, .min) }
  /// Maximum of `value` over all ranks.
  public func allreduceMax<T: MPIReducible>(_ value: T) throws -> T { try allreduce(value, .max) }

  /// Logical OR over all ranks (`MPI_LOR`): true if any rank passes true, e.g. "stop requested".
  public func allreduceOr(_ flag: Bool) throws -> Bool {
    try allreduceFlag(flag, op: bae_mpi_op_lor())
  }

  /// Logical AND over all ranks (`MPI_LAND`): true only if every rank passes true.
  public func allreduceAnd(_ flag: Bool) throws -> Bool {
    try allreduceFlag(flag, op: bae_mpi_op_land())
  }

  private func allreduceFlag(_ flag: Bool, op: MPI_Op) throws -> Bool {
    var value: Int32 = flag ? 1 : 0
    try withUnsafeMutablePointer(to: &value) {
      try allreduceInPlace(
        UnsafeMutableRawPointer($0), count: 1, elementSize: 4,
        datatype: bae_mpi_int32(), op: op)
    }
    return value != 0
  }

  /// The chunked core: one MPI_Allreduce per chunk of at most `maxElementsPerCall` elements.
  func allreduceInPlace(
    _ base: UnsafeMutableRawPointer?, count: Int, elementSize: Int,
    datatype: MPI_Datatype, op: MPI_Op
  ) throws(MPIError) {
    let comm = self.comm
    for chunk in ChunkPlan(count: count, limit: maxElementsPerCall) {
      let start = base.map { $0 + chunk.lowerBound * elementSize }
      try mpiCall("MPI_Allreduce") {
        MPI_Allreduce(bae_mpi_in_place(), start, Int32(chunk.count), datatype, op, comm)
      }
    }
  }
}

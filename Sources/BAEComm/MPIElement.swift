// Element types the collectives accept, mapped to MPI datatypes without exposing C handles in
// the public API.
import CMPI

/// The MPI datatypes BAEComm uses.
public enum MPIDatatypeKind: Sendable {
  case float32, float64, int32, int64, uint64, byte

  var handle: MPI_Datatype {
    switch self {
    case .float32: return bae_mpi_float()
    case .float64: return bae_mpi_double()
    case .int32: return bae_mpi_int32()
    case .int64: return bae_mpi_int64()
    case .uint64: return bae_mpi_uint64()
    case .byte: return bae_mpi_byte()
    }
  }
}

/// A plain value type that can be sent with MPI (broadcast, allgather).
public protocol MPIElement: BitwiseCopyable {
  /// The MPI datatype of one element.
  static var mpiDatatype: MPIDatatypeKind { get }
}

/// An element type on which MPI_SUM, MPI_MIN and MPI_MAX are defined (so not raw bytes).
public protocol MPIReducible: MPIElement {}

extension Float: MPIReducible {
  /// `MPI_FLOAT`: 4-byte IEEE single.
  public static var mpiDatatype: MPIDatatypeKind { .float32 }
}
extension Double: MPIReducible {
  /// `MPI_DOUBLE`: 8-byte IEEE double.
  public static var mpiDatatype: MPIDatatypeKind { .float64 }
}
extension Int32: MPIReducible {
  /// `MPI_INT32_T`.
  public static var mpiDatatype: MPIDatatypeKind { .int32 }
}
extension Int64: MPIReducible {
  /// `MPI_INT64_T`.
  public static var mpiDatatype: MPIDatatypeKind { .int64 }
}
extension UInt64: MPIReducible {
  /// `MPI_UINT64_T` (packed code words and sign planes).
  public static var mpiDatatype: MPIDatatypeKind { .uint64 }
}
/// `Int` travels as `MPI_INT64_T`; the package supports 64-bit platforms only.
extension Int: MPIReducible {
  /// `MPI_INT64_T` (traps on a platform whose `Int` is not 8 bytes).
  public static var mpiDatatype: MPIDatatypeKind {
    precondition(MemoryLayout<Int>.size == 8, "BAEComm maps Int to MPI_INT64_T: needs 64-bit Int")
    return .int64
  }
}
extension UInt8: MPIElement {
  /// `MPI_BYTE`: raw bytes, sent and gathered but never reduced.
  public static var mpiDatatype: MPIDatatypeKind { .byte }
}

/// Reduction operators for `Communicator.allreduce`.
public enum ReduceOp: Sendable {
  case sum, min, max

  var handle: MPI_Op {
    switch self {
    case .sum: return bae_mpi_op_sum()
    case .min: return bae_mpi_op_min()
    case .max: return bae_mpi_op_max()
    }
  }
}

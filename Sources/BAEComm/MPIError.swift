// Typed errors of the MPI layer: `MPIError` for a failed MPI call (produced only by the funnel in
// MPICall.swift), `CommError` for problems BAEComm detects itself.
import CMPI

/// A failed MPI call: the C function, its return code, the code's error class and the
/// library's own message (`MPI_Error_string`).
public struct MPIError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The C function that failed, e.g. `"MPI_Bcast"`.
  public let function: String
  /// The raw return code.
  public let code: Int32
  /// `MPI_Error_class` of `code` (e.g. `MPI_ERR_ROOT`); equals `code` for Open MPI's predefined codes.
  public let errorClass: Int32
  /// `MPI_Error_string` of `code`.
  public let message: String

  /// The one-line message the CLI prints: function, code, class, MPI's text, and what to check.
  public var description: String {
    "\(function) failed with MPI error \(code) (class \(errorClass)): \(message). "
      + "If this is a bad argument (root, count, buffer), fix the caller; if a peer rank died or the "
      + "transport failed, check the other ranks' logs and the mpirun/srun launch (OMPI_MCA_pml, "
      + "OMPI_MCA_btl), then restart from the last checkpoint."
  }
}

/// Failures that BAEComm detects without an MPI return code.
public enum CommError: Error, Sendable, Equatable, CustomStringConvertible {
  /// `MPI_Init_thread` cannot be called again once MPI has been finalised in this process.
  case alreadyFinalized
  /// The library granted a lower thread level than requested (values are `MPI_THREAD_*`).
  case threadLevelUnavailable(requested: Int32, provided: Int32)
  /// The root rank failed to produce the value of a broadcast (its own error was thrown there).
  case rootFailed(root: Int, operation: String)
  /// A broadcast JSON payload could not be decoded on this rank.
  case decodingFailed(type: String, reason: String)

  /// What went wrong and what to do, in one line for the CLI.
  public var description: String {
    switch self {
    case .alreadyFinalized:
      return "MPI was already finalised in this process and cannot be initialised again: call "
        + "MPIRuntime.run once per process, or use Communicator.world() in tests"
    case .threadLevelUnavailable(let requested, let provided):
      return "MPI_Init_thread granted thread level \(provided) but \(requested) was requested: "
        + "use an MPI build with thread support (Open MPI 4.x has it) or request a lower level"
    case .rootFailed(let root, let operation):
      return "\(operation): rank \(root) failed to produce the value to broadcast; see rank \(root)'s "
        + "error for the cause"
    case .decodingFailed(let type, let reason):
      return "broadcast of \(type): the JSON sent by the root could not be decoded (\(reason)); "
        + "all ranks must run the same binary"
    }
  }
}

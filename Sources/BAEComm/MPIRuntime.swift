// Entry point of a distributed program: initialise MPI, hand the body a private duplicate of
// MPI_COMM_WORLD, always finalise. Also the library's version strings for checkpoints.
import CMPI

/// Process-wide MPI lifecycle and version queries.
public enum MPIRuntime {
  /// Initialises MPI (`MPI_Init_thread`), runs `body` with a duplicate of `MPI_COMM_WORLD`
  /// (`MPI_Comm_dup`, errors set to `MPI_ERRORS_RETURN`), then frees it and calls `MPI_Finalize`,
  /// also when `body` throws. Call it once per process: MPI cannot be initialised again after
  /// finalising (`CommError.alreadyFinalized`). Without `mpirun` the process is an Open MPI
  /// singleton of world size 1. If MPI was already initialised lazily by `Communicator.world()`
  /// (tests), the body gets a fresh duplicate and finalisation is left to process exit.
  ///
  /// MPI_Finalize is collective: if `body` throws on some ranks only, the others may be blocked in
  /// a collective and this rank would then block in MPI_Finalize. A body that cannot go on should
  /// log with its rank prefix and call `Communicator.abort(code:)` when `size > 1`.
  public static func run<T>(
    threadLevel: ThreadLevel = .funneled,
    _ body: (Communicator) throws -> T
  ) throws -> T {
    let ownsInit = try MPIState.shared.beginRun(threadLevel)
    let comm: Communicator
    do {
      comm = try Communicator.duplicateWorld(checked: true)
    } catch {
      try? MPIState.shared.endRun(finalize: ownsInit)
      throw error
    }
    MPIState.shared.setRunWorld(comm)
    let result: T
    do {
      result = try body(comm)
    } catch {
      MPIState.shared.setRunWorld(nil)
      try? comm.free()
      try? MPIState.shared.endRun(finalize: ownsInit)
      throw error
    }
    MPIState.shared.setRunWorld(nil)
    do {
      try comm.free()
    } catch {
      try? MPIState.shared.endRun(finalize: ownsInit)
      throw error
    }
    try MPIState.shared.endRun(finalize: ownsInit)
    return result
  }

  /// `MPI_Get_library_version`: the implementation's version text, e.g. "Open MPI v4.1.4, ...".
  /// Valid before initialisation and after finalisation; record it in checkpoints.
  public static var libraryVersion: String {
    get throws {
      var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_LIBRARY_VERSION_STRING) + 1)
      var length: Int32 = 0
      try mpiCall("MPI_Get_library_version", checked: false) {
        MPI_Get_library_version(&buffer, &length)
      }
      let bytes = buffer.prefix(Int(max(0, length))).map { UInt8(bitPattern: $0) }
      // Open MPI ends the text with a newline; strip trailing whitespace and NULs.
      var text = String(decoding: bytes, as: UTF8.self)
      while let last = text.last, last.isWhitespace || last == "\0" { text.removeLast() }
      return text
    }
  }

  /// `MPI_Get_version`: the MPI standard version the library implements, e.g. "3.1".
  public static var standardVersion: String {
    get throws {
      var major: Int32 = 0
      var minor: Int32 = 0
      try mpiCall("MPI_Get_version", checked: false) { MPI_Get_version(&major, &minor) }
      return "\(major).\(minor)"
    }
  }
}

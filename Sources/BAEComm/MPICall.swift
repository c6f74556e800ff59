// The one funnel every MPI call goes through: lifecycle and thread checks before the call,
// return-code check after it. Communicators use MPI_ERRORS_RETURN, so failures reach here
// instead of aborting the process.
import CMPI

/// Runs one MPI call and turns a non-success return code into `MPIError`.
/// `function` names the C function for the error; `call` must contain exactly that call.
/// `checked: false` skips the lifecycle/thread check; only the lifecycle code (which holds the
/// state lock) and the calls MPI allows at any time (version queries) use it.
@inline(__always)
func mpiCall(_ function: StaticString, checked: Bool = true, _ call: () -> Int32) throws(MPIError) {
  if checked { MPIState.shared.assertCallable(function) }
  let code = call()
  if code != MPI_SUCCESS { throw MPIError(function: "\(function)", code: code) }
}

extension MPIError {
  /// Builds the error from a return code, asking the library for its class and message.
  /// `MPI_Error_string` and `MPI_Error_class` are local and their own failure would only lose the
  /// text, so their return codes are not checked. Open MPI aborts the process if they are called
  /// before MPI_Init or after MPI_Finalize, so outside that window only the code is kept.
  init(function: String, code: Int32) {
    var initialized: Int32 = 0
    var finalized: Int32 = 0
    _ = MPI_Initialized(&initialized)
    _ = MPI_Finalized(&finalized)
    guard initialized != 0, finalized == 0 else {
      self.init(
        function: function, code: code, errorClass: code,
        message: "MPI is not initialised, so the error text is unavailable")
      return
    }
    var errorClass: Int32 = code
    _ = MPI_Error_class(code, &errorClass)
    var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
    var length: Int32 = 0
    _ = MPI_Error_string(code, &buffer, &length)
    let message = String(
      decoding: buffer.prefix(Int(max(0, length))).map { UInt8(bitPattern: $0) },
      as: UTF8.self)
    self.init(
      function: function, code: code, errorClass: errorClass,
      message: message.isEmpty ? "unknown MPI error" : message)
  }
}

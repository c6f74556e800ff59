// Process-wide MPI lifecycle: MPI_Init_thread may run once per process and MPI_Finalize once after
// it. Two owners are possible: `MPIRuntime.run` (init, body, finalise) and the lazy
// `Communicator.world()` used by tests (init on first use, finalise at process exit via atexit).
import CMPI
import Foundation

/// How MPI calls are spread over threads (`MPI_THREAD_FUNNELED` / `MPI_THREAD_SERIALIZED`).
public enum ThreadLevel: Sendable {
  /// Every MPI call is made on the thread that initialised MPI (checked by a precondition).
  case funneled
  /// Any thread may call MPI, one at a time; the caller serialises (not checked).
  case serialized

  var mpiValue: Int32 {
    switch self {
    case .funneled: return Int32(MPI_THREAD_FUNNELED)
    case .serialized: return Int32(MPI_THREAD_SERIALIZED)
    }
  }
}

/// The lifecycle state machine, guarded by one lock. MPI calls made while holding the lock use
/// `mpiCall(checked: false)` so the funnel does not take the lock again.
final class MPIState: @unchecked Sendable {
  static let shared = MPIState()

  enum Owner { case run, lazy }
  enum Phase {
    case uninitialized
    case initialized(Owner)
    case finalized
  }

  private let lock = NSLock()
  private var phase = Phase.uninitialized
  private var level = ThreadLevel.funneled
  private var initThread = pthread_self()
  /// The communicator handed out by `Communicator.world()`: the lazy one, or the one of the
  /// running `MPIRuntime.run` body.
  private var world: Communicator?
  private var runActive = false

  /// Called by the funnel before every MPI call: MPI must be live, and under FUNNELED the
  /// calling thread must be the one that initialised it.
  func assertCallable(_ function: StaticString) {
    lock.lock()
    let live: Bool
    if case .initialized = phase { live = true } else { live = false }
    let funneled = level == .funneled
    let thread = initThread
    lock.unlock()
    precondition(
      live,
      "\(function) called while MPI is not initialised (or already finalised): "
        + "get a Communicator from MPIRuntime.run or Communicator.world()")
    if funneled {
      precondition(
        pthread_equal(pthread_self(), thread) != 0,
        "\(function) called from a thread other than the one that initialised MPI "
          + "(MPI_THREAD_FUNNELED): make every MPI call on that thread")
    }
  }

  /// Initialises MPI if needed and returns the world duplicate for `Communicator.world()`.
  func lazyWorld() throws -> Communicator {
    lock.lock()
    defer { lock.unlock() }
    switch phase {
    case .finalized:
      throw CommError.alreadyFinalized
    case .initialized:
      if let world { return world }
    case .uninitialized:
      try initialize(.funneled)
      phase = .initialized(.lazy)
      atexit { MPIState.shared.finalizeAtExit() }
    }
    // Reached after a fresh initialisation, or when an earlier duplication failed.
    let comm = try Communicator.duplicateWorld(checked: false)
    world = comm
    return comm
  }

  /// Starts a `MPIRuntime.run` body. Returns whether this run initialised MPI (and so finalises it).
  func beginRun(_ requested: ThreadLevel) throws -> Bool {
    lock.lock()
    defer { lock.unlock() }
    precondition(!runActive, "MPIRuntime.run called inside another MPIRuntime.run body")
    switch phase {
    case .finalized:
      throw CommError.alreadyFinalized
    case .initialized:
      runActive = true
      return false
    case .uninitialized:
      try initialize(requested)
      phase = .initialized(.run)
      runActive = true
      return true
    }
  }

  /// Records the communicator of the running body so `Communicator.world()` returns it.
  func setRunWorld(_ comm: Communicator?) {
    lock.lock()
    defer { lock.unlock() }
    if case .initialized(.run) = phase { world = comm }
  }

  /// Ends a `MPIRuntime.run` body, finalising MPI if the run initialised it.
  func endRun(finalize: Bool) throws {
    lock.lock()
    defer { lock.unlock() }
    runActive = false
    guard finalize else { return }
    world = nil
    phase = .finalized
    try mpiCall("MPI_Finalize", checked: false) { MPI_Finalize() }
  }

  private func initialize(_ requested: ThreadLevel) throws {
    var provided: Int32 = 0
    // Errors in MPI_Init_thread go to MPI_ERRORS_ARE_FATAL (no communicator exists yet); the
    // return-code check is for implementations that do return.
    try mpiCall("MPI_Init_thread", checked: false) {
      MPI_Init_thread(nil, nil, requested.mpiValue, &provided)
    }
    level = requested
    initThread = pthread_self()
    if provided < requested.mpiValue {
      _ = MPI_Finalize()
      phase = .finalized
      throw CommError.threadLevelUnavailable(requested: requested.mpiValue, provided: provided)
    }
  }

  private func finalizeAtExit() {
    lock.lock()
    defer { lock.unlock() }
    guard case .initialized(.lazy) = phase else { return }
    phase = .finalized
    world = nil
    // Best effort at process exit: there is nobody left to report an error to.
    _ = MPI_Finalize()
  }
}

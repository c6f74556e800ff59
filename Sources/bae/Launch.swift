// Starting a command in one process or under MPI. Under mpirun/srun (detected from the launcher's
// environment) MPI is initialised and a failing rank aborts the whole job so no rank hangs;
// otherwise the command runs as a world of one without touching MPI.
import ArgumentParser
import BAEComm
import BAEModel
import BAETensor
import BAETrain
import Foundation

enum Launch {
  /// True when started by mpirun (Open MPI) or srun with PMIx.
  static var underMPILauncher: Bool {
    let env = ProcessInfo.processInfo.environment
    return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil || env["BAE_FORCE_MPI"] == "1"
  }

  /// The job's communicator while a command runs under MPI (for `forceExit` from other threads).
  nonisolated(unsafe) static var activeComm: Communicator?
  /// Exit status of a forced exit (second stop signal, step watchdog).
  static let forcedExitStatus: Int32 = 3

  static func run(_ body: (Collectives, RunLog) throws -> Void) throws {
    // a closed stdout/stderr pipe (`bae train | head -1`) must give EPIPE, not kill the process
    signal(SIGPIPE, SIG_IGN)
    if !underMPILauncher {
      let log = RunLog(rank: 0, worldSize: 1)
      do { try body(SingleProcess(), log) } catch {
        log.error("\(error)")
        throw ExitCode.failure
      }
      return
    }
    try MPIRuntime.run { comm in
      activeComm = comm
      defer { activeComm = nil }
      let log = RunLog(rank: comm.rank, worldSize: comm.size)
      do { try body(MPICollectives(comm), log) } catch {
        log.error("\(error)")
        if comm.size > 1 { comm.abort(code: 1) }
        throw ExitCode.failure
      }
    }
  }

  /// Leaves at once from any thread: logs `message` (rank-prefixed under MPI) and `_exit`s with
  /// `forcedExitStatus`, writing no checkpoint. Not `MPI_Abort`: this runs on the watchdog or signal
  /// thread, and MPI (initialised FUNNELED) may only be called from the main thread. mpirun ends the
  /// whole job when one rank exits non-zero without MPI_Finalize (srun needs --kill-on-bad-exit=1).
  static func forceExit(_ message: String) -> Never {
    let prefix = activeComm.map { $0.size > 1 ? "[rank \($0.rank)/\($0.size)] " : "" } ?? ""
    RunLog.writeStderr(prefix + "error: " + message)
    _exit(forcedExitStatus)
  }
}

enum BAETensorThreads {
  static func set(_ n: Int) { BLAS.threads = n }
}

/// SIGTERM / SIGUSR1 → a stop request, handled off the training thread by Dispatch. A later one
/// (either signal) runs `again`, which does not return. Signals within `duplicateWindow` seconds of
/// the first count as that same request: `scancel` signals the ranks itself while the batch script
/// forwards its own signal, so one request often arrives twice.
enum Signals {
  nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []
  nonisolated(unsafe) static var firstAt: DispatchTime?
  static let duplicateWindow = 2.0
  static let queue = DispatchQueue(label: "bae.signals")

  static func onStop(_ first: @escaping @Sendable () -> Void, again: @escaping @Sendable (Int32) -> Void) {
    for sig in [SIGTERM, SIGUSR1] {
      signal(sig, SIG_IGN)
      let src = DispatchSource.makeSignalSource(signal: sig, queue: queue)
      src.setEventHandler {
        let t = DispatchTime.now()
        guard let start = firstAt else {
          firstAt = t
          first()
          return
        }
        if Double(t.uptimeNanoseconds - start.uptimeNanoseconds) * 1e-9 >= duplicateWindow { again(sig) }
      }
      src.resume()
      sources.append(src)
    }
  }
}

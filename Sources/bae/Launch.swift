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

  static func run(_ body: (Collectives, RunLog) throws -> Void) throws {
    if !underMPILauncher {
      let log = RunLog(rank: 0, worldSize: 1)
      do { try body(SingleProcess(), log) } catch {
        log.error("\(error)")
        throw ExitCode.failure
      }
      return
    }
    try MPIRuntime.run { comm in
      let log = RunLog(rank: comm.rank, worldSize: comm.size)
      do { try body(MPICollectives(comm), log) } catch {
        log.error("\(error)")
        if comm.size > 1 { comm.abort(code: 1) }
        throw ExitCode.failure
      }
    }
  }
}

enum BAETensorThreads {
  static func set(_ n: Int) { BLAS.threads = n }
}

/// SIGTERM / SIGUSR1 → a stop request, handled off the training thread by Dispatch.
enum Signals {
  nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []
  static func onStop(_ handler: @escaping @Sendable () -> Void) {
    for sig in [SIGTERM, SIGUSR1] {
      signal(sig, SIG_IGN)
      let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
      src.setEventHandler(handler: handler)
      src.resume()
      sources.append(src)
    }
  }
}

// The judge pass of a feature report: interpretable features are handed to `concurrency` worker threads
// (so at most that many requests are in flight), results land by feature index, so the report does not
// depend on the concurrency. Only the caller's thread touches the report and the progress callback.
import Foundation

extension FeatureReportBuilder {
  /// Judges up to `maxFeatures` interpretable features (0 = all) in index order, `concurrency` at a
  /// time. A feature whose calls fail (after the client's retries) records the error; `giveUpAfter`
  /// failures in a row (in completion order) stop handing out features (at most `concurrency − 1` more
  /// are still in flight and recorded) and throw `judgeGaveUp`, with `report` holding everything so far.
  public static func judge(
    _ report: inout FeatureReport, with judge: FeatureJudge, maxFeatures: Int = 0,
    concurrency: Int = 1, giveUpAfter: Int = 3, progress: Progress = { _, _, _ in }
  ) throws {
    precondition(concurrency >= 1 && giveUpAfter >= 1, "concurrency \(concurrency), giveUpAfter \(giveUpAfter)")
    let client = judge.client
    report.settings.judgeURL = client.endpoint.absoluteString
    report.settings.judgeModel = client.model
    report.settings.judgeConcurrency = concurrency
    report.settings.judgeCache = client.cache?.url.path
    let attempts0 = client.attemptsMade, hits0 = client.cacheHits
    defer {
      report.settings.judgeRequests = client.attemptsMade - attempts0
      report.settings.judgeCacheHits = client.cacheHits - hits0
      report.updateSummary()
    }
    var todo = report.features.indices.filter { report.features[$0].interpretable }
    if maxFeatures > 0 { todo = Array(todo.prefix(maxFeatures)) }
    guard !todo.isEmpty else { return }
    guard report.features[todo[0]].samples.allSatisfy({ $0.context != nil }) else {
      throw AnalysisError.judgeNeedsTokens(data: report.settings.data)
    }
    let jobs = todo.map { i -> JudgeJob in
      let f = report.features[i]
      return JudgeJob(
        feature: i, describe: f.samples.filter { $0.role == "describe" }.compactMap(\.context),
        test: f.samples.filter { $0.role == "test" }.compactMap(\.context))
    }
    let queue = JudgeQueue(jobs, giveUpAfter: giveUpAfter)
    for _ in 0..<min(concurrency, jobs.count) {
      Thread { queue.work(judge) }.start()
    }
    var done = 0
    while let (job, outcome) = queue.nextResult() {
      switch outcome {
      case let .success(r):
        report.features[job.feature].judge = r
        report.features[job.feature].judgeError = nil
      case let .failure(error):
        report.features[job.feature].judgeError = "\(error)"
      }
      done += 1
      progress("judge", done, jobs.count)
    }
    if let gaveUp = queue.gaveUp { throw gaveUp }
  }
}

/// One feature's samples, as the worker threads see them.
struct JudgeJob: Sendable {
  var feature: Int
  var describe: [TokenContext]
  var test: [TokenContext]
}

/// Hands jobs to workers and results back to the caller's thread. Failures in a row are counted here,
/// as results arrive, so no worker takes a job after the one that made the run give up.
final class JudgeQueue: @unchecked Sendable {
  private let lock = NSLock()
  private let ready = DispatchSemaphore(value: 0)
  private let jobs: [JudgeJob]
  private var next = 0, taken = 0, delivered = 0
  private var stopped = false
  private let giveUpAfter: Int
  private var failuresInRow = 0
  private var _gaveUp: AnalysisError?
  private var results: [(JudgeJob, Result<JudgeResult, Error>)] = []

  init(_ jobs: [JudgeJob], giveUpAfter: Int) {
    self.jobs = jobs
    self.giveUpAfter = giveUpAfter
  }

  /// Set once `giveUpAfter` failures came in a row.
  var gaveUp: AnalysisError? {
    lock.lock()
    defer { lock.unlock() }
    return _gaveUp
  }

  /// A worker's loop: take the next job, judge it, post the result, until none are left or stopped.
  func work(_ judge: FeatureJudge) {
    while true {
      lock.lock()
      guard !stopped, next < jobs.count else {
        lock.unlock()
        return
      }
      let job = jobs[next]
      next += 1
      taken += 1
      lock.unlock()
      let r = Result { try judge.judge(describe: job.describe, test: job.test) }
      lock.lock()
      results.append((job, r))
      switch r {
      case .success: failuresInRow = 0
      case let .failure(error):
        failuresInRow += 1
        if failuresInRow >= giveUpAfter, _gaveUp == nil {
          _gaveUp = .judgeGaveUp(consecutiveFailures: failuresInRow, last: "\(error)")
          stopped = true
        }
      }
      lock.unlock()
      ready.signal()
    }
  }

  /// The next finished job (blocking), or nil once every handed-out job has been delivered.
  func nextResult() -> (JudgeJob, Result<JudgeResult, Error>)? {
    while true {
      lock.lock()
      if !results.isEmpty {
        let r = results.removeFirst()
        delivered += 1
        lock.unlock()
        return r
      }
      // all jobs delivered, or stopped with nothing left in flight
      let finished = delivered == jobs.count || (stopped && delivered == taken)
      lock.unlock()
      if finished { return nil }
      ready.wait()
    }
  }
}

// Runs a Swift phase on the `--blas-threads` threads through the kernels' C pool (bae_run_parts), so Swift
// phases and the C phases (phases.c, the bit kernels) share the same sleeping workers. Used by the SAE
// kinds' and the multi-bit BAE's elementwise passes; handing a closure to C costs one small heap context
// per threaded call (withoutActuallyEscaping), which is why the BAE's per-step phases are in phases.c.
// Every phase splits its OUTPUT into disjoint ranges and keeps each element's arithmetic order, so
// results never depend on the thread count.
import CBAEKernels

enum ParallelPhase {
  /// Elements below which one part runs alone: waking a pool thread costs a few microseconds.
  static let grain = 1 << 14

  /// Runs `body(range)` over disjoint ranges covering 0..<count, on up to `threads` threads (fewer when
  /// count·cost is small). Ranges start at multiples of `align` elements (false sharing, vector width).
  /// `cost`: elements of work per index (e.g. the row length when indices are rows).
  static func run(
    threads: Int, count: Int, cost: Int = 1, align: Int = 16, _ body: (Range<Int>) -> Void
  ) {
    let parts = Swift.max(1, Swift.min(threads, count * cost / grain, (count + align - 1) / align))
    if parts == 1 {
      if count > 0 { body(0..<count) }
      return
    }
    withoutActuallyEscaping(body) { escapable in
      var job = Job(body: escapable, count: count, align: align)
      withUnsafeMutablePointer(to: &job) { p in
        bae_run_parts(
          { ctx, part, parts in
            let job = ctx!.assumingMemoryBound(to: Job.self)
            let r = ParallelPhase.range(
              part: Int(part), of: Int(parts), count: job.pointee.count, align: job.pointee.align)
            if !r.isEmpty { job.pointee.body(r) }
          }, p, Int32(parts))
      }
    }
  }

  /// Part `part` of `parts` over 0..<count, boundaries rounded down to multiples of `align`.
  static func range(part: Int, of parts: Int, count: Int, align: Int) -> Range<Int> {
    let lo = Swift.min(count, count * part / parts / align * align)
    let hi = part + 1 == parts ? count : Swift.min(count, count * (part + 1) / parts / align * align)
    return lo..<Swift.max(lo, hi)
  }

  private struct Job {
    let body: (Range<Int>) -> Void
    let count: Int
    let align: Int
  }
}

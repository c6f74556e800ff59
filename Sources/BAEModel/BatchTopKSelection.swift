// Exact global selection for BatchTopK (Documentation/Baselines.md): the N·k largest values of
// r = max(z, 0) over the whole global batch, by a distributed radix select over 32-bit keys whose
// unsigned order is the float order (r ≥ 0, so the key is the bit pattern). Four rounds of an
// all-reduced 256-bin histogram over the positive candidates (narrowed to the prefix found so far after
// each round) find the exact key of the (N·k)-th largest value; ties at that key are
// taken in global (row, latent) order, with rank order = global row order. Identical for any rank count.

extension Autoencoder {
  /// Fills ws.mask (n, d') with the selection ∧ z > 0 and returns the smallest selected positive value
  /// over all ranks (nil if none). Every rank must call it (it holds collectives).
  func batchTopKSelect(_ ws: StepWorkspace, rows n: Int, batch: BatchContext) throws -> Double? {
    let dl = latentDim
    let total = n * dl
    let z = ws.codes.baseAddress, mask = ws.mask.baseAddress
    @inline(__always) func key(_ i: Int) -> UInt32 { z[i] > 0 ? z[i].bitPattern : 0 }
    var need = Int64(batch.globalRows) * Int64(config.k)
    // candidates: the positive keys (zeros never pass); each round keeps those matching the prefix
    let cand = ws.selectionKeys.baseAddress
    var c = 0
    for i in 0..<total {
      let kv = key(i)
      if kv != 0 {
        cand[c] = kv
        c += 1
      }
    }
    var positives = [Int64(c)]
    try positives.withUnsafeMutableBufferPointer { try batch.collectives.sum($0) }
    var prefix: UInt32 = 0
    if need < positives[0] {
      // four interleaved histograms break the store-to-load chains of values sharing a bin
      var histogram = [Int64](repeating: 0, count: 4 * 256)
      for shift in stride(from: 24, through: 0, by: -8) {
        let sh = UInt32(shift)
        histogram.withUnsafeMutableBufferPointer { h in
          for b in 0..<(4 * 256) { h[b] = 0 }
          for i in 0..<c { h[(i & 3) * 256 + Int((cand[i] >> sh) & 255)] &+= 1 }
          for b in 0..<256 { h[b] = h[b] &+ h[256 + b] &+ h[512 + b] &+ h[768 + b] }
        }
        try histogram.withUnsafeMutableBufferPointer {
          try batch.collectives.sum(UnsafeMutableBufferPointer(rebasing: $0[0..<256]))
        }
        var above: Int64 = 0
        var chosen = 0
        for b in stride(from: 255, through: 0, by: -1) {
          if above + histogram[b] >= need {
            chosen = b
            break
          }
          above += histogram[b]
        }
        prefix |= UInt32(chosen) << sh
        need -= above
        // keep the candidates whose bits above `shift` now match the prefix
        let high: UInt32 = shift == 0 ? ~0 : ~UInt32(0) << sh
        var kept = 0
        for i in 0..<c where cand[i] & high == prefix {
          cand[kept] = cand[i]
          kept += 1
        }
        c = kept
      }
    } else {
      // every positive value is selected: the threshold key is 0 and zeros pass nothing
      need = 0
    }
    // prefix is the threshold key T; `need` values equal to T are still to take, in global order
    // after the last round the candidates left are exactly this rank's values equal to T (none when T = 0)
    let localTies = Int64(prefix == 0 ? 0 : c)
    var ties = [Int64](repeating: 0, count: batch.collectives.worldSize)
    ties[batch.rank] = localTies
    try ties.withUnsafeMutableBufferPointer { try batch.collectives.sum($0) }
    let before = ties[0..<batch.rank].reduce(0, +)
    var take = Swift.max(0, Swift.min(need - before, localTies))
    var smallest = Double.infinity
    for i in 0..<total {
      let kv = key(i)
      var selected = kv > prefix
      if kv == prefix && take > 0 {
        selected = true
        take -= 1
      }
      let pass = selected && z[i] > 0
      mask[i] = pass ? 1 : 0
      if pass { smallest = Swift.min(smallest, Double(z[i])) }
    }
    var m = [-smallest]
    try m.withUnsafeMutableBufferPointer { try batch.collectives.max($0) }
    return m[0] == -Double.infinity ? nil : -m[0]
  }
}

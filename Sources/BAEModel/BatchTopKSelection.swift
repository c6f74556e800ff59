// Exact global selection for BatchTopK (Documentation/Baselines.md): the N·k largest values of
// r = max(z, 0) over the whole global batch, by a distributed radix select over 32-bit keys whose
// unsigned order is the float order (r ≥ 0, so the key is the bit pattern). Four rounds of an
// all-reduced 256-bin histogram find the exact key of the (N·k)-th largest value; ties at that key are
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
    var prefix: UInt32 = 0
    var histogram = [Int64](repeating: 0, count: 256)
    for shift in stride(from: 24, through: 0, by: -8) {
      let high: UInt32 = shift == 24 ? 0 : ~UInt32(0) << UInt32(shift + 8)
      for b in 0..<256 { histogram[b] = 0 }
      for i in 0..<total {
        let kv = key(i)
        if kv & high == prefix { histogram[Int((kv >> UInt32(shift)) & 255)] += 1 }
      }
      try histogram.withUnsafeMutableBufferPointer { try batch.collectives.sum($0) }
      var above: Int64 = 0
      var chosen = 0
      for b in stride(from: 255, through: 0, by: -1) {
        if above + histogram[b] >= need { chosen = b; break }
        above += histogram[b]
      }
      prefix |= UInt32(chosen) << UInt32(shift)
      need -= above
    }
    // prefix is the threshold key T; `need` values equal to T are still to take, in global order
    var localTies: Int64 = 0
    for i in 0..<total where key(i) == prefix { localTies += 1 }
    var ties = [Int64](repeating: 0, count: batch.collectives.worldSize)
    ties[batch.rank] = localTies
    try ties.withUnsafeMutableBufferPointer { try batch.collectives.sum($0) }
    let before = ties[0..<batch.rank].reduce(0, +)
    var take = Swift.max(0, Swift.min(need - before, localTies))
    var smallest = Double.infinity
    for i in 0..<total {
      let kv = key(i)
      var selected = kv > prefix
      if kv == prefix && take > 0 { selected = true; take -= 1 }
      let pass = selected && z[i] > 0
      mask[i] = pass ? 1 : 0
      if pass { smallest = Swift.min(smallest, Double(z[i])) }
    }
    var m = [-smallest]
    try m.withUnsafeMutableBufferPointer { try batch.collectives.max($0) }
    return m[0] == -Double.infinity ? nil : -m[0]
  }
}

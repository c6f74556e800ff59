// The SAE code functions (Documentation/Baselines.md). Each is a = z ⊙ M with a 0/1 pass mask M that is
// also ∂a/∂z: ReLU (z > 0), TopK (per-row selection), BatchTopK (global selection, or z > θ at
// inference), JumpReLU (z > θ_j). Then the sparsity terms (L1, L0) and the AuxK dead-latent loss.
import BAETensor
import Foundation

extension Autoencoder {
  /// z (ws.codes) → M (ws.mask), a = z ⊙ M (ws.activations), local counts of a ≠ 0.
  func sparseCode(_ ws: StepWorkspace, rows n: Int, batch: BatchContext?) throws {
    let dl = latentDim
    let z = ws.codes.baseAddress, mask = ws.mask.baseAddress, a = ws.activations.baseAddress
    ws.counts.zero()
    ws.positiveCounts.zero()
    let counts = ws.counts.baseAddress
    switch architecture {
    case .bae:
      preconditionFailure("sparseCode on a BAE")
    case .relu:
      passAbove(
        z, mask, a, counts, rows: n, threads: ws.kernelThreads, thresholds: [Float](repeating: 0, count: dl))
    case .topk:
      // the selection marks k entries per row: only those are written and counted
      var heap = TopKHeap(k: config.k)
      a.update(repeating: 0, count: n * dl)
      for i in 0..<n {
        let o = i * dl
        selectTopK(z + o, count: dl, k: config.k, relu: config.topkReLU, allowed: nil, heap: &heap, into: mask + o)
        for s in 0..<config.k {
          let j = heap.indices[s]
          if mask[o + j] != 0 {
            a[o + j] = z[o + j]
            if z[o + j] != 0 { counts[j] += 1 }
          }
        }
      }
    case .batchtopk:
      if let batch {
        ws.selectedThreshold = try batchTopKSelect(ws, rows: n, batch: batch)
        // threads own latent (column) ranges, so each count is summed in row order
        ParallelPhase.run(threads: ws.kernelThreads, count: dl, cost: n) { js in
          for i in 0..<n {
            let o = i * dl
            for j in js {
              let v = z[o + j] * mask[o + j]
              a[o + j] = v
              counts[j] &+= v != 0 ? 1 : 0
            }
          }
        }
      } else {
        passAbove(
          z, mask, a, counts, rows: n, threads: ws.kernelThreads,
          thresholds: [Float](repeating: Float(batchThreshold ?? 0), count: dl))
      }
    case .jumprelu:
      passAbove(z, mask, a, counts, rows: n, threads: ws.kernelThreads, thresholds: thresholds())
    }
    if ws.positiveCounts.count > 0 {
      let pc = ws.positiveCounts.baseAddress
      ParallelPhase.run(threads: ws.kernelThreads, count: dl, cost: n) { js in
        for i in 0..<n { for j in js where a[i * dl + j] > 0 { pc[j] += 1 } }
      }
    }
  }

  /// M = 1[z > θ_j], a = z ⊙ M and the per-latent counts in one pass (ReLU is θ = 0); threads own
  /// latent (column) ranges.
  private func passAbove(
    _ z: UnsafeMutablePointer<Float>, _ mask: UnsafeMutablePointer<Float>,
    _ a: UnsafeMutablePointer<Float>, _ counts: UnsafeMutablePointer<Int64>,
    rows n: Int, threads: Int, thresholds theta: [Float]
  ) {
    let dl = latentDim
    theta.withUnsafeBufferPointer { t in
      ParallelPhase.run(threads: threads, count: dl, cost: n) { js in
        for i in 0..<n {
          let o = i * dl
          for j in js {
            let pass = z[o + j] > t[j]
            mask[o + j] = pass ? 1 : 0
            a[o + j] = pass ? z[o + j] : 0
            counts[j] &+= pass ? 1 : 0
          }
        }
      }
    }
  }

  /// θ_j for every latent: exp(log θ_j) when learned, else the configured θ.
  public func thresholds() -> [Float] {
    if layout.learnedThreshold {
      let lt = logThreshold
      return (0..<latentDim).map { Float(Foundation.exp(Double(lt[$0]))) }
    }
    return [Float](repeating: Float(config.threshold), count: latentDim)
  }

  /// Local sum inside the sparsity term: Σa (L1), Σ_j (Σ_i a_ij)·‖w_j‖ (decoder-norm L1), ΣM (L0).
  func sparsitySum(_ ws: StepWorkspace, rows n: Int) -> Double {
    let dl = latentDim, total = n * dl
    let a = ws.activations.baseAddress, mask = ws.mask.baseAddress
    switch architecture {
    case .relu where config.l1Form == .sum:
      var s = 0.0
      for i in 0..<total { s += Double(a[i]) }
      return s
    case .relu:
      let norms = decoderColumnNorms()
      var col = [Double](repeating: 0, count: dl)
      for i in 0..<n { for j in 0..<dl { col[j] += Double(a[i * dl + j]) } }
      return zip(col, norms).reduce(0) { $0 + $1.0 * $1.1 }
    case .jumprelu where layout.learnedThreshold:
      var s = 0.0
      for i in 0..<total { s += Double(mask[i]) }
      return s
    default:
      return 0
    }
  }

  /// The weighted sparsity term from its global sum: λ·Σ (L1, summed over the batch) or λ_0·ΣM/N.
  func sparsityLoss(globalSum: Double, rows n: Int) -> Double {
    switch architecture {
    case .relu: return config.l1Weight * globalSum
    case .jumprelu where layout.learnedThreshold: return n > 0 ? config.l0Weight * globalSum / Double(n) : 0
    default: return 0
    }
  }

  /// AuxK forward for local rows: with the dead set D from the rows-since-fired counters, a_aux keeps
  /// each row's k_aux largest max(z, 0) among D; ê = a_aux·W_decᵀ; leaves ê − e = ê + x̂ − x in
  /// ws.auxResidual and returns its local Σ(ê − e)². 0 when AuxK is off or nothing is dead.
  func auxiliaryForward(_ x: Matrix, _ ws: StepWorkspace) -> Double {
    ws.auxActive = false
    guard architecture == .topk, config.auxkWeight != 0 else { return 0 }
    let n = x.rows, d = inputDim, dl = latentDim
    let since = buffers.baseAddress + bufferLayout.rowsSinceFired.lowerBound
    let dead = (0..<dl).map { since[$0] >= Double(config.deadAfterRows) }
    let deadCount = dead.reduce(0) { $0 + ($1 ? 1 : 0) }
    guard deadCount > 0 else { return 0 }
    ws.auxActive = true
    let kAux = Swift.min(config.auxkLatents, deadCount)
    let z = ws.codes.baseAddress, am = ws.auxMask.baseAddress, aa = ws.auxActivations.baseAddress
    var heap = TopKHeap(k: kAux)
    for i in 0..<n {
      selectTopK(z + i * dl, count: dl, k: kAux, relu: true, allowed: dead, heap: &heap, into: am + i * dl)
    }
    for o in 0..<(n * dl) { aa[o] = z[o] * am[o] }
    let e = Matrix(ws.auxResidual, rows: n, cols: d)
    BLAS.gemm(Matrix(ws.auxActivations, rows: n, cols: dl), .none, decoderWeight, .transposed, into: e)
    var sse = 0.0
    for i in 0..<n {
      let er = e.row(i), xr = x.row(i), hr = ws.reconstruction.baseAddress + i * d
      for c in 0..<d {
        er[c] += hr[c] - xr[c]
        sse += Double(er[c]) * Double(er[c])
      }
    }
    return sse
  }

  /// AuxK: ∂L_aux/∂ê = 2α(ê − e)/(N·d) in place; returns it with a_aux, or nil when inactive.
  func auxiliaryGradient(_ ws: StepWorkspace, rows n: Int, globalRows bigN: Int) -> (
    residualGrad: Matrix, activations: Matrix
  )? {
    guard ws.auxActive else { return nil }
    let d = inputDim
    let scale = Float(2 * config.auxkWeight / Double(bigN * d))
    let r = ws.auxResidual.baseAddress
    for o in 0..<(n * d) { r[o] *= scale }
    return (Matrix(ws.auxResidual, rows: n, cols: d), Matrix(ws.auxActivations, rows: n, cols: latentDim))
  }

  /// ∂L/∂z = (∂L/∂a + ∂S/∂a) ⊙ M (+ ∂L_aux/∂a_aux ⊙ M_aux), in place over `upstream`; also the
  /// sparsity term's pull on W_dec (decoder-norm L1) and on log θ (learned JumpReLU) into `grads`.
  func sparseCodeBackward(
    _ ws: StepWorkspace, rows n: Int, globalRows bigN: Int, upstream ga: Matrix,
    aux: (residualGrad: Matrix, activations: Matrix)?, into grads: AlignedBuffer<Float>
  ) {
    let dl = latentDim, d = inputDim
    let g = ga.base, mask = ws.mask.baseAddress
    if layout.learnedThreshold {
      // ∂L/∂θ_j = Σ_i [g_ij·(−θ_j/ε) − λ_0/(N·ε)]·K((z_ij − θ_j)/ε); ∂L/∂log θ_j = θ_j·∂L/∂θ_j
      let theta = thresholds(), eps = config.bandwidth
      let z = ws.codes.baseAddress
      var gTheta = [Double](repeating: 0, count: dl)
      let l0 = config.l0Weight / (Double(bigN) * eps)
      for i in 0..<n {
        for j in 0..<dl {
          let o = i * dl + j
          if abs(Double(z[o]) - Double(theta[j])) < eps / 2 {
            gTheta[j] += Double(g[o]) * (-Double(theta[j]) / eps) - l0
          }
        }
      }
      let out = grads.baseAddress + layout.logThreshold.lowerBound
      for j in 0..<dl { out[j] = Float(Double(theta[j]) * gTheta[j]) }
    }
    if architecture == .relu {
      if config.l1Form == .sum {
        let lam = Float(config.l1Weight)
        ParallelPhase.run(threads: ws.kernelThreads, count: n * dl) { range in for o in range { g[o] += lam } }
      } else {
        let norms = decoderColumnNorms()
        let lamNorm = norms.map { Float(config.l1Weight * $0) }
        for i in 0..<n { for j in 0..<dl { g[i * dl + j] += lamNorm[j] } }
        // ∂S/∂W_dec[:, j] = λ·(Σ_i a_ij)·w_j/‖w_j‖ (local rows; the rank sum is the global term)
        let a = ws.activations.baseAddress
        var col = [Double](repeating: 0, count: dl)
        for i in 0..<n { for j in 0..<dl { col[j] += Double(a[i * dl + j]) } }
        let coef = (0..<dl).map { norms[$0] > 0 ? Float(config.l1Weight * col[$0] / norms[$0]) : 0 }
        let gW = grads.baseAddress + layout.decoderWeight.lowerBound, w = decoderWeight
        for r in 0..<d {
          let wr = w.row(r), gr = gW + r * dl
          for j in 0..<dl { gr[j] += coef[j] * wr[j] }
        }
      }
    }
    ParallelPhase.run(threads: ws.kernelThreads, count: n * dl) { range in for o in range { g[o] *= mask[o] } }
    if let aux {
      // ∂L_aux/∂a_aux = ∂ê·W_dec: (n, d'), into a_aux's buffer (no longer needed), then masked
      let gAux = Matrix(ws.auxActivations, rows: n, cols: dl)
      BLAS.gemm(aux.residualGrad, .none, decoderWeight, .none, into: gAux)
      let am = ws.auxMask.baseAddress, ga2 = gAux.base
      ParallelPhase.run(threads: ws.kernelThreads, count: n * dl) { range in
        for o in range { g[o] += ga2[o] * am[o] }
      }
    }
  }
}

/// Scratch for `selectTopK`: k values and k indices (a min-heap whose root is the worst kept entry).
struct TopKHeap {
  var values: [Float]
  var indices: [Int]
  init(k: Int) {
    values = [Float](repeating: 0, count: k)
    indices = [Int](repeating: 0, count: k)
  }
  var k: Int { values.count }
}

/// Marks in `out` (count values, 0/1) the k largest entries of `v` (or of max(v, 0) when `relu`)
/// among `allowed` latents (nil = all), ties to the lower index; with `relu` a selected entry ≤ 0
/// is marked 0 (it passes no value and no gradient). `heap` is reused, not reallocated.
func selectTopK(
  _ v: UnsafeMutablePointer<Float>, count: Int, k: Int, relu: Bool, allowed: [Bool]?,
  heap: inout TopKHeap, into out: UnsafeMutablePointer<Float>
) {
  precondition(heap.k == k && k >= 1, "selectTopK heap \(heap.k) k \(k)")
  heap.values.withUnsafeMutableBufferPointer { hv in
    heap.indices.withUnsafeMutableBufferPointer { hi in
      // worse(a, b): slot a ranks below slot b (smaller value, or equal value and larger index)
      @inline(__always) func worse(_ a: Int, _ b: Int) -> Bool {
        hv[a] < hv[b] || (hv[a] == hv[b] && hi[a] > hi[b])
      }
      @inline(__always) func siftDown(_ start: Int, _ size: Int) {
        var i = start
        while true {
          let l = 2 * i + 1, r = l + 1
          var w = i
          if l < size && worse(l, w) { w = l }
          if r < size && worse(r, w) { w = r }
          if w == i { return }
          hv.swapAt(i, w)
          hi.swapAt(i, w)
          i = w
        }
      }
      out.update(repeating: 0, count: count)
      var size = 0
      var j = 0
      // fill the first k allowed entries, then heapify
      while j < count && size < k {
        if allowed == nil || allowed![j] {
          hv[size] = relu ? Swift.max(v[j], 0) : v[j]
          hi[size] = j
          size += 1
        }
        j += 1
      }
      if size == k {
        for s in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(s, k) }
        // later entries have larger indices, so they replace the root only when strictly larger
        var floor = hv[0]
        while j < count {
          let x = relu ? Swift.max(v[j], 0) : v[j]
          if x > floor && (allowed == nil || allowed![j]) {
            hv[0] = x
            hi[0] = j
            siftDown(0, k)
            floor = hv[0]
          }
          j += 1
        }
      }
      for s in 0..<size {
        let idx = hi[s]
        out[idx] = (!relu || v[idx] > 0) ? 1 : 0
      }
    }
  }
}

// Adam with PyTorch semantics (torch.optim.Adam, single-tensor path): m.lerp_(g, 1−β1),
// v = β2·v + (1−β2)·g², p −= (lr/(1−β1^t))·m / (√v/√(1−β2^t) + ε). No weight decay, no clipping.
import BAETensor
import CBAEKernels
import Foundation

/// Adam state in two flat buffers with the parameters' layout.
public final class Adam: @unchecked Sendable {
  /// First moments m, one per parameter (zero at the start).
  public let m: AlignedBuffer<Float>
  /// Second moments v, one per parameter (zero at the start).
  public let v: AlignedBuffer<Float>
  /// Number of steps taken (PyTorch's `step`).
  public private(set) var step: Int = 0
  /// Learning rate; may change between steps (it is read at each `update`).
  public var lr: Double
  public let beta1: Double, beta2: Double, epsilon: Double

  /// Zeroed moments for `count` parameters, with PyTorch's defaults β1 0.9, β2 0.999, ε 1e-8.
  public init(count: Int, lr: Double, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) {
    m = AlignedBuffer(count: count)
    v = AlignedBuffer(count: count)
    self.lr = lr
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
  }

  /// Restores a saved state (checkpoint resume).
  public func restore(step: Int, m mValues: [Float], v vValues: [Float]) {
    precondition(mValues.count == m.count && vValues.count == v.count, "Adam restore size mismatch")
    self.step = step
    _ = m.buffer.update(fromContentsOf: mValues)
    _ = v.buffer.update(fromContentsOf: vValues)
  }

  /// One Adam step on `p` with gradients `g` (all three the same length) on `threads` threads: updates m and v,
  /// then p −= lr/(1−β1^t)·m/(√v/√(1−β2^t) + ε). Each thread owns an index range and every element's arithmetic
  /// is the same whatever the thread count, so results are bitwise identical.
  public func update(parameters p: AlignedBuffer<Float>, gradients g: AlignedBuffer<Float>, threads: Int = 1) {
    precondition(
      p.count == m.count && g.count == m.count, "Adam sizes: params \(p.count) grads \(g.count) state \(m.count)")
    step += 1
    let t = Double(step)
    let bc1 = 1 - Foundation.pow(beta1, t)
    let bc2 = 1 - Foundation.pow(beta2, t)
    let stepSize = Float(lr / bc1)
    let bc2Sqrt = Float(bc2.squareRoot())
    let w1 = Float(1 - beta1), b2 = Float(beta2), w2 = Float(1 - beta2), eps = Float(epsilon)
    bae_adam_update_mt(
      p.baseAddress, g.baseAddress, m.baseAddress, v.baseAddress, Int64(m.count), w1, b2, w2, stepSize, bc2Sqrt, eps,
      Int32(threads))
  }
}

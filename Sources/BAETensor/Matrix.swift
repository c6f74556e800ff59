// Row-major matrix views over flat Float storage. A view does not own memory.

/// A row-major (rows, cols) view with leading dimension `ld` (>= cols) over Float storage.
public struct Matrix: @unchecked Sendable {
  public let base: UnsafeMutablePointer<Float>
  public let rows: Int
  public let cols: Int
  public let ld: Int

  public init(_ base: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int? = nil) {
    precondition(rows >= 0 && cols >= 0, "Matrix shape (\(rows), \(cols)) negative")
    self.base = base
    self.rows = rows
    self.cols = cols
    self.ld = ld ?? cols
    precondition(self.ld >= cols, "Matrix ld \(self.ld) < cols \(cols)")
  }

  public init(_ buffer: AlignedBuffer<Float>, offset: Int = 0, rows: Int, cols: Int) {
    precondition(
      offset + rows * cols <= buffer.count,
      "Matrix (\(rows), \(cols)) at \(offset) exceeds buffer of \(buffer.count)")
    self.init(buffer.baseAddress + offset, rows: rows, cols: cols)
  }

  public subscript(r: Int, c: Int) -> Float {
    get { base[r * ld + c] }
    nonmutating set { base[r * ld + c] = newValue }
  }

  public func row(_ r: Int) -> UnsafeMutablePointer<Float> { base + r * ld }

  public var count: Int { rows * cols }
}

/// A flat vector view.
public struct Vector: @unchecked Sendable {
  public let base: UnsafeMutablePointer<Float>
  public let count: Int
  public init(_ base: UnsafeMutablePointer<Float>, count: Int) {
    self.base = base
    self.count = count
  }
  public init(_ buffer: AlignedBuffer<Float>, offset: Int = 0, count: Int) {
    precondition(offset + count <= buffer.count, "Vector \(count) at \(offset) exceeds \(buffer.count)")
    self.init(buffer.baseAddress + offset, count: count)
  }
  public subscript(i: Int) -> Float {
    get { base[i] }
    nonmutating set { base[i] = newValue }
  }
  public var buffer: UnsafeMutableBufferPointer<Float> { .init(start: base, count: count) }
}

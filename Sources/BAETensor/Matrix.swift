// Row-major matrix views over flat Float storage. A view does not own memory.

/// A row-major (rows, cols) view with leading dimension `ld` (>= cols) over Float storage.
public struct Matrix: @unchecked Sendable {
  /// Element (0, 0); element (r, c) is at `base[r * ld + c]`. The view does not own it.
  public let base: UnsafeMutablePointer<Float>
  /// Number of rows (the batch dimension n for activations).
  public let rows: Int
  /// Number of columns in use (the feature dimension: d or d').
  public let cols: Int
  /// Leading dimension: floats from one row's start to the next (>= `cols`; larger for a sub-view).
  public let ld: Int

  /// A view of `rows`×`cols` floats at `base`, rows `ld` apart (default `cols`, i.e. packed).
  public init(_ base: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int? = nil) {
    precondition(rows >= 0 && cols >= 0, "Matrix shape (\(rows), \(cols)) negative")
    self.base = base
    self.rows = rows
    self.cols = cols
    self.ld = ld ?? cols
    precondition(self.ld >= cols, "Matrix ld \(self.ld) < cols \(cols)")
  }

  /// A packed `rows`×`cols` view of `buffer` starting at element `offset`; traps when it does not fit.
  public init(_ buffer: AlignedBuffer<Float>, offset: Int = 0, rows: Int, cols: Int) {
    precondition(
      offset + rows * cols <= buffer.count,
      "Matrix (\(rows), \(cols)) at \(offset) exceeds buffer of \(buffer.count)")
    self.init(buffer.baseAddress + offset, rows: rows, cols: cols)
  }

  /// Element (row `r`, column `c`); not bounds-checked.
  public subscript(r: Int, c: Int) -> Float {
    get { base[r * ld + c] }
    nonmutating set { base[r * ld + c] = newValue }
  }

  /// Pointer to the first element of row `r`.
  public func row(_ r: Int) -> UnsafeMutablePointer<Float> { base + r * ld }

  /// Elements in the view, `rows * cols` (padding between rows not counted).
  public var count: Int { rows * cols }
}

/// A flat vector view.
public struct Vector: @unchecked Sendable {
  /// First element; the view does not own it.
  public let base: UnsafeMutablePointer<Float>
  /// Number of elements.
  public let count: Int
  /// A view of `count` floats at `base`.
  public init(_ base: UnsafeMutablePointer<Float>, count: Int) {
    self.base = base
    self.count = count
  }
  /// A view of `count` floats of `buffer` starting at element `offset`; traps when it does not fit.
  public init(_ buffer: AlignedBuffer<Float>, offset: Int = 0, count: Int) {
    precondition(offset + count <= buffer.count, "Vector \(count) at \(offset) exceeds \(buffer.count)")
    self.init(buffer.baseAddress + offset, count: count)
  }
  /// Element `i`; not bounds-checked.
  public subscript(i: Int) -> Float {
    get { base[i] }
    nonmutating set { base[i] = newValue }
  }
  /// The view as a buffer pointer, for the standard library's algorithms.
  public var buffer: UnsafeMutableBufferPointer<Float> { .init(start: base, count: count) }
}

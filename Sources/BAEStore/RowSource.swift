// What the trainer reads rows from: a packed dataset directory or, for small runs, a `.npy` matrix
// held in memory. Both sit behind one protocol so the batch reader does not care which.
import BAEIO
import Foundation

/// Random access to rows of a (rowCount, inputDim) float matrix.
public protocol RowSource: AnyObject, Sendable {
  /// Width of a row.
  var inputDim: Int { get }
  /// Number of rows.
  var rowCount: Int { get }
  /// Rows per independently decoded block (a dataset's rows per frame; 1 in memory). Pass it to
  /// `GlobalBatchSampler(blockRows:)` so batches touch few blocks.
  var rowsPerBlock: Int { get }
  /// Copies rows `indices` into `out` (indices.count·inputDim floats, row-major, in the given order).
  func readRows(_ indices: [Int], into out: UnsafeMutableBufferPointer<Float>) throws
}

/// A matrix held in memory (small runs, tests).
public final class InMemoryRowSource: RowSource {
  /// Width d of a row.
  public let inputDim: Int
  /// Number of rows (`values.count / inputDim`).
  public let rowCount: Int
  /// Always 1: any row is as cheap to reach as any other.
  public var rowsPerBlock: Int { 1 }
  /// Row-major values, rowCount·inputDim.
  public let values: [Float]

  /// Wraps `values` (row-major, a multiple of `inputDim` long); traps when the count does not divide.
  public init(values: [Float], inputDim: Int) {
    precondition(
      inputDim > 0 && values.count % inputDim == 0,
      "values.count \(values.count) not a multiple of inputDim \(inputDim)")
    self.values = values
    self.inputDim = inputDim
    self.rowCount = values.count / inputDim
  }

  /// Copies the rows `indices` into `out` in that order; traps on a size mismatch or an index out of range.
  public func readRows(_ indices: [Int], into out: UnsafeMutableBufferPointer<Float>) throws {
    precondition(
      out.count == indices.count * inputDim, "out has \(out.count) floats, need \(indices.count) x \(inputDim)")
    let d = inputDim
    values.withUnsafeBufferPointer { v in
      for (j, r) in indices.enumerated() {
        precondition(r >= 0 && r < rowCount, "row \(r) out of 0..<\(rowCount)")
        (out.baseAddress! + j * d).update(from: v.baseAddress! + r * d, count: d)
      }
    }
  }
}

/// Opens `url` as a row source: a dataset directory (with manifest.json) or a 2-D `.npy` file
/// (float32/float16, loaded whole). `cacheFrames` bounds a dataset's decoded-frame cache.
public func openRowSource(_ url: URL, cacheFrames: Int = 16) throws -> any RowSource {
  var isDir: ObjCBool = false
  if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
    return try ShardDataset(directory: url, cacheFrames: cacheFrames)
  }
  guard url.pathExtension.lowercased() == "npy" else {
    throw StoreError.badInput(
      file: url.path,
      detail: "not a dataset directory or a .npy file; pass a directory made by `bae pack` or a 2-D .npy")
  }
  let a = try Npy.read(url)
  guard a.shape.count == 2, a.shape[1] > 0 else {
    throw StoreError.badInput(
      file: url.path, detail: "shape \(a.shape) is not 2-D (rows, inputDim); reshape to (tokens, width) before saving")
  }
  return InMemoryRowSource(values: a.values, inputDim: a.shape[1])
}

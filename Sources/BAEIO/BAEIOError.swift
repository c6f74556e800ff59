// Typed errors for everything BAEIO reads or writes. Each case carries the file path and what was
// found; `description` reads "<path>: <what was found>; <what to do>".

/// A problem with a file on disk: unreadable, malformed, or in a format BAEIO does not support.
public enum BAEIOError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The operating system refused to open, stat or read the file (`reason` is the OS message).
  case cannotRead(path: String, reason: String)
  /// The path names a FIFO, socket, device or directory (`kind`), which readers refuse so that they
  /// can neither block in `open` nor read an endless stream.
  case notRegularFile(path: String, kind: String)
  /// A size read from the file (`field`) is above a cap (see `Limits`); `variable` is the
  /// environment variable that raises the cap, nil when it is fixed.
  case limitExceeded(path: String, field: String, found: Int, limit: Int, variable: String?)
  /// An environment variable that sets a cap holds something other than a positive integer.
  case badLimit(variable: String, value: String)
  /// The operating system refused to create, write, sync or rename the file.
  case cannotWrite(path: String, reason: String)
  /// The file does not start with the format's magic bytes (`found` is the first bytes, hex).
  case badMagic(path: String, format: String, found: String)
  /// An `.npy` format version other than 1.0, 2.0 or 3.0.
  case unsupportedVersion(path: String, found: String)
  /// The header text could not be parsed or lacks a required field.
  case malformedHeader(path: String, problem: String)
  /// An `.npy` dtype other than little-endian float32/float16 (e.g. `'<f8'`, `'<i4'`).
  case unsupportedDType(path: String, found: String)
  /// A big-endian `.npy` array (e.g. `'>f4'`).
  case bigEndian(path: String, found: String)
  /// A Fortran-ordered (column-major) `.npy` array.
  case fortranOrder(path: String, shape: [Int])
  /// The file ends before the header or the data it declares (`expectedBytes` is the size needed).
  case truncated(path: String, expectedBytes: Int, foundBytes: Int)
  /// The file is longer than its header says: header and data disagree.
  case dataSizeMismatch(path: String, shape: [Int], expectedBytes: Int, foundBytes: Int)
  /// `Npy.readRows` on an array that is not 2-D.
  case notTwoDimensional(path: String, shape: [Int])
  /// `Npy.readRows` with a row range outside `0..<rowCount`.
  case rowRangeOutOfBounds(path: String, rows: Range<Int>, rowCount: Int)
  /// A safetensors header length that is zero, absurdly large, or past the end of the file.
  case headerLengthInvalid(path: String, length: UInt64, fileSize: Int)
  /// A safetensors tensor whose dtype string BAEIO does not know.
  case unknownTensorDType(path: String, tensor: String, found: String)
  /// A safetensors tensor entry that is inconsistent (offsets, overlap, size versus shape).
  case invalidTensor(path: String, tensor: String, problem: String)
  /// No tensor with this name in the safetensors file.
  case tensorNotFound(path: String, tensor: String, available: [String])
  /// The tensor exists but its dtype cannot be read as requested (e.g. `floats` on `I64`).
  case tensorDTypeMismatch(path: String, tensor: String, found: String, wanted: String)

  /// "<path>: <what was found>; <what to do>", as the CLI prints it.
  public var description: String {
    switch self {
    case let .cannotRead(path, reason):
      return "\(path): cannot read (\(reason)); check that the path exists and is readable"
    case let .notRegularFile(path, kind):
      return
        "\(path): is a \(kind), not a regular file; pass the path of a regular file (copy a stream to a file first)"
    case let .limitExceeded(path, field, found, limit, variable):
      let hint =
        variable.map { "if the file is genuine, raise the cap with \($0)=N" }
        ?? "the file is corrupt or not of this format"
      return "\(path): \(field) is \(found), above the cap of \(limit); \(hint)"
    case let .badLimit(variable, value):
      return
        "environment variable \(variable)=\(value.debugDescription) is not a positive integer; unset it or set a byte count such as 1048576"
    case let .cannotWrite(path, reason):
      return "\(path): cannot write (\(reason)); check that the directory exists, is writable and has free space"
    case let .badMagic(path, format, found):
      let writer = format == "npy" ? "numpy.save" : "the safetensors package"
      return "\(path): not a \(format) file (first bytes \(found)); pass a file written by \(writer)"
    case let .unsupportedVersion(path, found):
      return "\(path): .npy format version \(found) is not supported (only 1.0, 2.0, 3.0); re-save with numpy.save"
    case let .malformedHeader(path, problem):
      return "\(path): malformed header: \(problem); re-save the file with numpy / safetensors"
    case let .unsupportedDType(path, found):
      return "\(path): dtype '\(found)' is not supported; save float32 or float16 (np.asarray(x, np.float32))"
    case let .bigEndian(path, found):
      return "\(path): dtype '\(found)' is big-endian; save little-endian (x.astype('<f4'))"
    case let .fortranOrder(path, shape):
      return "\(path): array \(shape) is stored in Fortran (column-major) order; save C order (np.ascontiguousarray(x))"
    case let .truncated(path, expected, found):
      return
        "\(path): file is truncated: needs \(expected) bytes but has \(found); the write was interrupted, regenerate the file"
    case let .dataSizeMismatch(path, shape, expected, found):
      return "\(path): header shape \(shape) needs \(expected) bytes of data but the file holds \(found); "
        + "the header does not match the data, regenerate the file"
    case let .notTwoDimensional(path, shape):
      return "\(path): row reads need a 2-D array but the shape is \(shape); reshape to (rows, cols) before saving"
    case let .rowRangeOutOfBounds(path, rows, rowCount):
      return "\(path): rows \(rows.lowerBound)..<\(rows.upperBound) requested but the array has \(rowCount) rows; "
        + "request a range inside 0..<\(rowCount)"
    case let .headerLengthInvalid(path, length, fileSize):
      return "\(path): safetensors header length \(length) is invalid for a file of \(fileSize) bytes; "
        + "the file is corrupt or not safetensors, regenerate it"
    case let .unknownTensorDType(path, tensor, found):
      return "\(path): tensor '\(tensor)' has unknown dtype '\(found)'; save it as F32, F16 or BF16"
    case let .invalidTensor(path, tensor, problem):
      return "\(path): tensor '\(tensor)': \(problem); the file is corrupt, regenerate it"
    case let .tensorNotFound(path, tensor, available):
      let shown = available.sorted().prefix(8).joined(separator: ", ")
      return
        "\(path): no tensor named '\(tensor)' (file has \(available.count): \(shown)\(available.count > 8 ? ", ..." : ""));"
        + " check the name or the file"
    case let .tensorDTypeMismatch(path, tensor, found, wanted):
      return "\(path): tensor '\(tensor)' has dtype \(found) but \(wanted) was requested; "
        + "read it with the matching accessor or re-save it as \(wanted)"
    }
  }
}

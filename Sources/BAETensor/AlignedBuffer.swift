// One flat, 64-byte aligned allocation per state kind (parameters, gradients, Adam moments, workspaces).
// Row-major views over it are taken with `Matrix`; nothing here allocates after init.
import Foundation

/// A fixed-size, zero-initialised, 64-byte aligned buffer of `Element`s.
/// A reference type so views stay valid while the owner lives; not thread-safe by design
/// (each buffer has one writer at a time), hence `@unchecked Sendable`.
public final class AlignedBuffer<Element: BitwiseCopyable>: @unchecked Sendable {
  /// Number of elements (not bytes).
  public let count: Int
  /// First element; 64-byte aligned, owned by this buffer and freed when it is deallocated.
  public let baseAddress: UnsafeMutablePointer<Element>

  /// `count` zeroed elements on a 64-byte boundary; traps when `count < 0`.
  public init(count: Int) {
    precondition(count >= 0, "AlignedBuffer count \(count) < 0")
    self.count = count
    let bytes = max(1, count * MemoryLayout<Element>.stride)
    let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
    baseAddress = raw.bindMemory(to: Element.self, capacity: max(1, count))
  }

  deinit { UnsafeMutableRawPointer(baseAddress).deallocate() }

  /// All `count` elements as a buffer pointer (valid while this object lives).
  public var buffer: UnsafeMutableBufferPointer<Element> {
    UnsafeMutableBufferPointer(start: baseAddress, count: count)
  }

  /// Element `i`, bounds-checked (traps outside `0..<count`).
  public subscript(i: Int) -> Element {
    get {
      precondition(i >= 0 && i < count, "index \(i) out of 0..<\(count)")
      return baseAddress[i]
    }
    set {
      precondition(i >= 0 && i < count, "index \(i) out of 0..<\(count)")
      baseAddress[i] = newValue
    }
  }

  /// Sets every byte to zero (0.0 for floats).
  public func zero() {
    UnsafeMutableRawPointer(baseAddress).initializeMemory(
      as: UInt8.self, repeating: 0, count: count * MemoryLayout<Element>.stride)
  }

  /// Copies `other`'s elements into this buffer; both must hold `count` elements.
  public func copy(from other: AlignedBuffer<Element>) {
    precondition(other.count == count, "copy: count \(other.count) != \(count)")
    baseAddress.update(from: other.baseAddress, count: count)
  }

  /// A copy of the elements as a Swift array (for tests, checkpoints and JSON).
  public func toArray() -> [Element] { Array(buffer) }
}

// Swift-written files for scripts/check_io_interop.py to read with numpy and safetensors.
// Runs only when BAE_INTEROP_OUT names a directory (the script sets it); otherwise it is skipped
// and shows as skipped.
import BAEIO
import Foundation
import XCTest

final class InteropTests: XCTestCase {
  func testWriteFilesForPythonCheck() throws {
    guard let out = ProcessInfo.processInfo.environment["BAE_INTEROP_OUT"], !out.isEmpty else {
      throw XCTSkip(
        "BAE_INTEROP_OUT not set; run scripts/check_io_interop.py to check Swift-written files with numpy/safetensors")
    }
    let directory = URL(fileURLWithPath: out, isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    // Values covering signs, scales, float16 overflow and subnormals, and round-to-even ties.
    let specials: [Float] = [
      0, -0.0, 1, -1, 65504, 65520, 1e-8, 0x1p-24, 1 + 0x1p-11, 1 + 0x1p-8, .infinity, -.infinity,
    ]
    let values =
      specials + (0..<(7 * 13 - specials.count)).map { Float(sin(Double($0) * 1.7)) * pow(10, Float($0 % 9) - 4) }
    let shape = [7, 13]
    let bits = values.map { Int($0.bitPattern) }

    try Npy.write(values, shape: shape, dtype: .float32, to: directory.appendingPathComponent("swift_f32.npy"))
    try Npy.write(values, shape: shape, dtype: .float16, to: directory.appendingPathComponent("swift_f16.npy"))
    try Npy.write(Array(values[0..<5]), shape: [5], to: directory.appendingPathComponent("swift_1d.npy"))
    var writer = SafeTensorsWriter(metadata: ["format": "pt", "written_by": "BAEIO"])
    writer.add("encoder.weight", shape: shape, floats: values)
    writer.add("half", shape: shape, floats: values, as: .F16)
    writer.add("brain", shape: shape, floats: values, as: .BF16)
    writer.add("step", shape: [], int64s: [42])
    try writer.write(to: directory.appendingPathComponent("swift.safetensors"))

    let manifest: [String: Any] = [
      "shape": shape, "source_f32_bits": bits, "step": 42,
      "metadata": ["format": "pt", "written_by": "BAEIO"],
    ]
    try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys])
      .write(to: directory.appendingPathComponent("manifest.json"))
    XCTAssertEqual(
      try Npy.read(directory.appendingPathComponent("swift_f32.npy")).values.map(\.bitPattern), values.map(\.bitPattern)
    )
  }
}

// What every benchmark prints about the machine it ran on.
import CBAEKernels
import Foundation

/// Facts about this machine for benchmark output.
public enum MachineInfo {
  /// The ISA path each bit kernel runs ("avx2", "avx512-vpopcntdq", "popcnt", "portable").
  public static var kernelPaths: [String: String] {
    let kernels = [
      ("binarize", BAE_KERNEL_BINARIZE), ("transpose", BAE_KERNEL_TRANSPOSE),
      ("covariance", BAE_KERNEL_COVARIANCE), ("product", BAE_KERNEL_PRODUCT), ("lut decoder", BAE_KERNEL_LUT),
    ]
    var out: [String: String] = [:]
    for (name, k) in kernels { out[name] = String(cString: bae_kernels_path_name(bae_kernels_path_of(Int32(k)))) }
    out["sparse decoder"] = String(cString: bae_kernels_path_name(bae_sparse_path()))
    return out
  }

  /// The brand string from CPUID (the kernels' own view of the CPU).
  public static var cpuidModel: String { String(cString: bae_kernels_cpu_model()) }

  /// The CPU model from /proc/cpuinfo ("model name"), or "unknown".
  public static var cpuModel: String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
      let colon = line.firstIndex(of: ":")
    else { return "unknown" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
  }
}

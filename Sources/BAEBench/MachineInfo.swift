// What every benchmark prints about the machine it ran on.
import Foundation

/// Facts about this machine for benchmark output.
public enum MachineInfo {
  /// The CPU model from /proc/cpuinfo ("model name"), or "unknown".
  public static var cpuModel: String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
          let colon = line.firstIndex(of: ":") else { return "unknown" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
  }
}

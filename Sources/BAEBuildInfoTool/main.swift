// Build-time helper of BuildInfoPlugin: writes the Swift file that holds the commit the build came from.
//   BAEBuildInfoTool <output.swift> <package directory>
// The commit is `git rev-parse HEAD` of the package's own checkout, or "unknown" when the directory has
// no .git of its own (a tarball; an enclosing repository is never asked) or git fails.
import Foundation

/// HEAD of `directory`'s own checkout, if it has one and git answers with a commit id.
func headCommit(of directory: URL) -> String? {
  guard FileManager.default.fileExists(atPath: directory.appendingPathComponent(".git").path) else { return nil }
  let p = Process()
  p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  p.arguments = ["git", "-C", directory.path, "rev-parse", "--verify", "HEAD"]
  let out = Pipe()
  p.standardOutput = out
  p.standardError = FileHandle.nullDevice
  p.standardInput = FileHandle.nullDevice
  do { try p.run() } catch { return nil }
  let data = out.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  guard p.terminationStatus == 0 else { return nil }
  let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  // the id goes into a string literal: only lowercase hex is accepted
  let isCommitId = text.count >= 40 && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
  return isCommitId ? text : nil
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
  FileHandle.standardError.write(Data("usage: BAEBuildInfoTool <output.swift> <package directory>\n".utf8))
  exit(2)
}
let commit = headCommit(of: URL(fileURLWithPath: arguments[2])) ?? "unknown"
let text = """
  // Generated at build time by Plugins/BuildInfoPlugin; not in the repository.
  let generatedGitCommit = "\(commit)"

  """
do {
  try Data(text.utf8).write(to: URL(fileURLWithPath: arguments[1]), options: .atomic)
} catch {
  FileHandle.standardError.write(Data("BAEBuildInfoTool: cannot write \(arguments[1]): \(error)\n".utf8))
  exit(1)
}

// Build-time helper of BuildInfoPlugin: writes the Swift file that holds the commit the build came from.
//   BAEBuildInfoTool <output.swift> <commit>
// The commit is written into a string literal, so anything but lowercase hex or "unknown" is refused.
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
  FileHandle.standardError.write(Data("usage: BAEBuildInfoTool <output.swift> <commit>\n".utf8))
  exit(2)
}
let commit = arguments[2]
guard commit == "unknown" || (!commit.isEmpty && commit.allSatisfy { $0.isHexDigit && !$0.isUppercase }) else {
  FileHandle.standardError.write(Data("BAEBuildInfoTool: '\(commit)' is not a commit id\n".utf8))
  exit(2)
}
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

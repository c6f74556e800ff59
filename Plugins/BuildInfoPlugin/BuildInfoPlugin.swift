// Records the git commit the package is built from, at build time: SwiftPM runs this plugin whenever it
// plans a build, and the commit is an argument of the generated command, so a new commit re-runs it.
// A tree without its own .git (a tarball, or a copy inside some other repository) records "unknown".
import Foundation
import PackagePlugin

@main
struct BuildInfoPlugin: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let commit = Self.headCommit(of: context.package.directoryURL) ?? "unknown"
    let output = context.pluginWorkDirectoryURL.appendingPathComponent("BuildInfo+Generated.swift")
    return [
      .buildCommand(
        displayName: "Recording git commit \(commit.prefix(12)) for \(target.name)",
        executable: try context.tool(named: "BAEBuildInfoTool").url,
        arguments: [output.path, commit],
        inputFiles: [],
        outputFiles: [output])
    ]
  }

  /// `git rev-parse HEAD` in `directory`, only if `directory/.git` exists (a directory, or the file
  /// a worktree or submodule has), so an enclosing repository is never mistaken for this one.
  static func headCommit(of directory: URL) -> String? {
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
    let isHex = text.count >= 40 && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    return isHex ? text : nil
  }
}

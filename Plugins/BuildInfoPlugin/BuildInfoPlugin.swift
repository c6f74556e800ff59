// Records the git commit the package is built from, at build time. SwiftPM runs this plugin only when it
// re-plans the build (files added or removed, manifest changed), so the commit is not read here: the
// generated command reads it when it runs, and lists the git files that change whenever HEAD moves as
// its inputs, so a new commit, checkout or reset re-runs it on the next `swift build`.
// A tree without its own .git (a tarball, or a copy inside some other repository) records "unknown".
import Foundation
import PackagePlugin

@main
struct BuildInfoPlugin: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let package = context.package.directoryURL
    let output = context.pluginWorkDirectoryURL.appendingPathComponent("BuildInfo+Generated.swift")
    return [
      .buildCommand(
        displayName: "Recording the git commit for \(target.name)",
        executable: try context.tool(named: "BAEBuildInfoTool").url,
        arguments: [output.path, package.path],
        inputFiles: Self.headFiles(of: package),
        outputFiles: [output])
    ]
  }

  /// The files of `directory`'s own repository that change when its HEAD commit changes: HEAD, its
  /// reflog, the branch's ref file and packed-refs (those that exist). Handles the `.git` file of a
  /// worktree or submodule ("gitdir: …") and a worktree's shared `commondir`.
  static func headFiles(of directory: URL) -> [URL] {
    let fm = FileManager.default
    let dotGit = directory.appendingPathComponent(".git")
    var isDirectory: ObjCBool = false
    guard fm.fileExists(atPath: dotGit.path, isDirectory: &isDirectory) else { return [] }
    var gitDir = dotGit
    if !isDirectory.boolValue {
      guard let text = try? String(contentsOf: dotGit, encoding: .utf8),
        let line = text.split(separator: "\n").first, line.hasPrefix("gitdir: ")
      else { return [] }
      let path = String(line.dropFirst("gitdir: ".count))
      gitDir = path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path)
    }
    var commonDir = gitDir
    if let text = try? String(contentsOf: gitDir.appendingPathComponent("commondir"), encoding: .utf8) {
      let path = text.trimmingCharacters(in: .whitespacesAndNewlines)
      commonDir = path.hasPrefix("/") ? URL(fileURLWithPath: path) : gitDir.appendingPathComponent(path)
    }
    var files = [
      gitDir.appendingPathComponent("HEAD"), gitDir.appendingPathComponent("logs/HEAD"),
      commonDir.appendingPathComponent("packed-refs"),
    ]
    if let head = try? String(contentsOf: gitDir.appendingPathComponent("HEAD"), encoding: .utf8),
      head.hasPrefix("ref: ")
    {
      let ref = head.dropFirst("ref: ".count).trimmingCharacters(in: .whitespacesAndNewlines)
      files.append(gitDir.appendingPathComponent(ref))
      files.append(commonDir.appendingPathComponent(ref))
    }
    return files.map(\.standardizedFileURL).filter { fm.fileExists(atPath: $0.path) }
  }
}

import ArgumentParser
import Foundation
import HostSys

/// `runsc do`: runs a command in a sandbox whose root is the host's root, read-only, with no
/// bundle (gVisor's `runsc do`). The command sees the host's files but none of its syscalls
/// reach the host; writes fail with EROFS until the writable overlay lands.
struct DoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "do", abstract: "Run a command in a sandbox over the host's root filesystem (read-only).")

    @Option(help: "The working directory of the command (default: the current directory).")
    var cwd: String?

    @OptionGroup var options: SandboxOptions

    @Argument(parsing: .postTerminator, help: "The command and its arguments.")
    var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("a command is required after --") }
        if let cwd, !cwd.hasPrefix("/") { throw ValidationError("--cwd must be absolute") }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let passed = ["PATH", "HOME", "TERM", "LANG", "USER"].compactMap { name in environment[name].map { "\(name)=\($0)" } }
        let status = try runSandbox(
            rootfs: "/", overlay: options.overlay, network: try options.networkMode(bundle: .new), arguments: command,
            environment: passed,
            workingDirectory: cwd ?? FileManager.default.currentDirectoryPath, options: options)
        throw ExitCode(status.shellCode)
    }
}

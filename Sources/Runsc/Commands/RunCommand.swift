import ArgumentParser
import Foundation
import Glibc
import HostSys
import LinuxABI

/// `runsc run`: runs a container from an OCI bundle and exits with its status.
///
/// Starts the two processes of the sandbox from this executable (`/proc/self/exe`): the
/// gofer (`runsc gofer`, in new mount and network namespaces, serving the bundle's rootfs)
/// and the Sentry (`runsc boot`, in new pid, mount, ipc, uts and network namespaces, with this
/// process's stdio), waits for the Sentry, stops the gofer, and exits with the program's
/// status (128 + the signal when a signal killed it). Nothing is left behind: no process, no
/// state file (the create/start lifecycle and its state directory come next).
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Create and run a container from an OCI bundle, and wait for it.")

    @Option(name: [.customShort("b"), .long], help: "The bundle directory (default: the current directory).")
    var bundle: String?

    @Flag(help: "Do not install the Sentry's seccomp filter (for debugging).")
    var noSentrySeccomp = false

    @Argument(help: "The container id.")
    var id: String

    func validate() throws {
        guard !id.isEmpty, id.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw ValidationError("the container id must be letters, digits, '-', '_' or '.'")
        }
    }

    func run() throws {
        let bundle = URL(fileURLWithPath: self.bundle ?? FileManager.default.currentDirectoryPath).standardizedFileURL.path
        let spec = try loadSpec(bundle: bundle)
        guard let process = spec.process, let arguments = process.args, !arguments.isEmpty else {
            throw ValidationError("\(bundle)/config.json: process.args is required")
        }
        guard let root = spec.root else { throw ValidationError("\(bundle)/config.json: root is required") }
        let rootfs = root.path.hasPrefix("/") ? root.path : bundle + "/" + root.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: rootfs, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("\(rootfs): the root filesystem is not a directory")
        }

        let status = try runSandbox(
            rootfs: rootfs, readOnly: root.readonly == true, arguments: arguments, environment: process.env ?? [],
            workingDirectory: process.cwd, sentrySeccomp: !noSentrySeccomp)
        throw ExitCode(status.shellCode)
    }
}

/// Starts the gofer on `rootfs` and the Sentry running `arguments`, waits for the Sentry,
/// stops the gofer, and returns how the program ended (shared by `run` and `do`).
func runSandbox(
    rootfs: String, readOnly: Bool, arguments: [String], environment: [String], workingDirectory: String, sentrySeccomp: Bool
) throws -> ExitStatus {
        let sockets = try UnixSocket.pair()
        var gofer = try ChildProcess.spawn(
            path: "/proc/self/exe",
            arguments: ["runsc", "gofer", "--root", rootfs, "--socket-fd", "3"] + (readOnly ? ["--read-only"] : []),
            descriptors: [(sockets.second.rawValue, 3), (2, 2)], options: .dieWithParent, namespaces: [.mount, .network])
        _ = consume sockets.second
        defer {
            try? gofer.kill(.SIGKILL)
            _ = try? gofer.wait()
        }
        var bootArguments = ["runsc", "boot", "--gofer-fd", "3", "--cwd", workingDirectory]
        for variable in environment { bootArguments += ["--env", variable] }
        if !sentrySeccomp { bootArguments.append("--no-seccomp") }
        var sentry = try ChildProcess.spawn(
            path: "/proc/self/exe", arguments: bootArguments + ["--"] + arguments,
            descriptors: [(0, 0), (1, 1), (2, 2), (sockets.first.rawValue, 3)], options: .dieWithParent,
            namespaces: [.pid, .mount, .ipc, .uts, .network])
        _ = consume sockets.first
        return try sentry.wait()
}

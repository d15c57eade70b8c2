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

    @OptionGroup var options: SandboxOptions

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
            workingDirectory: process.cwd, options: options)
        throw ExitCode(status.shellCode)
    }
}

/// Starts the gofer on `rootfs` and the Sentry running `arguments`, waits for the Sentry,
/// stops the gofer, and returns how the program ended (shared by `run` and `do`).
func runSandbox(
    rootfs: String, readOnly: Bool, arguments: [String], environment: [String], workingDirectory: String, options: SandboxOptions
) throws -> ExitStatus {
        // The debug log stays open here until the Sentry is done with its copy.
        var logFD: Int32 = -1
        if let path = options.debugLog {
            logFD = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_APPEND, mode: 0o644).release()
        }
        defer { if logFD >= 0 { Glibc.close(logFD) } }
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
        if options.noSentrySeccomp { bootArguments.append("--no-seccomp") }
        if options.strace { bootArguments.append("--strace") }
        var descriptors: [(parent: Int32, child: Int32)] = [(0, 0), (1, 1), (2, 2), (sockets.first.rawValue, 3)]
        if logFD >= 0 {
            descriptors.append((logFD, 4))
            bootArguments += ["--log-fd", "4"]
        }
        var sentry = try ChildProcess.spawn(
            path: "/proc/self/exe", arguments: bootArguments + ["--"] + arguments,
            descriptors: descriptors, options: .dieWithParent,
            namespaces: [.pid, .mount, .ipc, .uts, .network])
        _ = consume sockets.first
        return try sentry.wait()
}

/// Options of the commands that start a sandbox (run, do), as gVisor's global flags.
struct SandboxOptions: ParsableArguments {
    @Flag(help: "Log every syscall of the program, decoded, with its result (to --debug-log, else stderr).")
    var strace = false

    @Option(help: "A file the Sentry appends its debug output (--strace lines) to.")
    var debugLog: String?

    @Flag(help: "Do not install the Sentry's seccomp filter (for debugging).")
    var noSentrySeccomp = false
}

import ArgumentParser
import Foundation
import Glibc
import HostSys

/// `runsc create`: sets up a container from an OCI bundle without starting its program.
///
/// Starts a monitor (`runsc monitor`, in a session of its own) that starts the gofer and the
/// Sentry, with this process's stdio, and waits for them; the Sentry waits at the container's
/// start FIFO until `runsc start`. Returns once the container is created (its state says so),
/// or fails and leaves nothing behind.
struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a container from an OCI bundle; `start` runs its program.")

    @Option(name: [.customShort("b"), .long], help: "The bundle directory (default: the current directory).")
    var bundle: String?

    @Option(help: "A file to write the container's pid to.")
    var pidFile: String?

    @OptionGroup var state: StateOptions
    @OptionGroup var options: SandboxOptions

    @Argument(help: "The container id.")
    var id: String

    func validate() throws { try ContainerDirectory.validate(id) }

    func run() throws {
        let directory = try state.directory(id)
        let config = try ContainerConfig(bundle: bundle)
        try directory.create()
        do {
            let readiness = try UnixSocket.pair()
            var arguments = ["runsc", "monitor", "--root", state.root, "--bundle", config.bundle, "--ready-fd", "3"]
            arguments += options.arguments + [id]
            let monitor = try ChildProcess.spawn(
                path: "/proc/self/exe", arguments: arguments,
                descriptors: [(0, 0), (1, 1), (2, 2), (readiness.second.rawValue, 3)], options: .newSession)
            _ = consume readiness.second
            // The monitor reports "ok", or what went wrong, then closes its end.
            var report: [UInt8] = []
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
            defer { buffer.deallocate() }
            while true {
                let count = try readiness.first.read(into: buffer)
                if count == 0 { break }
                report += buffer[0..<count]
            }
            guard report == Array("ok".utf8) else {
                var failed = monitor
                _ = try? failed.wait()
                throw RuntimeError(report.isEmpty ? "the monitor of container \(id) failed" : String(decoding: report, as: UTF8.self))
            }
            _ = monitor.disown()
            if let pidFile {
                try String(try directory.load().pid).write(toFile: pidFile, atomically: true, encoding: .utf8)
            }
        } catch {
            try? directory.remove()
            throw error
        }
    }
}

/// `runsc monitor`: the process behind a created container (started by `create`, not by
/// hand). Starts the sandbox gated on the start FIFO, records the state, tells `create` it is
/// ready, waits for the Sentry, and records how the program ended.
struct MonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor", abstract: "Run a created container's sandbox (internal).", shouldDisplay: false)

    @Option(help: "The bundle directory.")
    var bundle: String

    @Option(help: "The inherited fd to report readiness on.")
    var readyFD: Int32

    @OptionGroup var state: StateOptions
    @OptionGroup var options: SandboxOptions

    @Argument(help: "The container id.")
    var id: String

    func run() throws {
        var reported = false
        func report(_ message: String) {
            guard !reported else { return }
            reported = true
            let ready = FileDescriptor(owning: readyFD)  // closed when this ends: create reads to end of file
            try? Array(message.utf8).withUnsafeBytes { try ready.writeAll($0) }
        }
        let directory = try state.directory(id)
        var record = ContainerState(
            id: id, status: .creating, pid: 0, bundle: bundle, monitorPID: getpid(),
            created: ISO8601DateFormatter().string(from: Date()))
        let status: ExitStatus
        do {
            let config = try ContainerConfig(bundle: bundle)
            guard mkfifo(directory.startFIFO, 0o600) == 0 else { throw RuntimeError("\(directory.startFIFO): \(Errno.current)") }
            // Read-write: the Sentry's read blocks until `start` writes, never sees end of file.
            let gate = try FileDescriptor.open(directory.startFIFO, flags: O_RDWR | O_CLOEXEC)
            status = try runSandbox(
                rootfs: config.rootfs, overlay: options.overlay && !config.readOnly,
                network: try options.networkMode(bundle: config.network), arguments: config.arguments,
                environment: config.environment,
                workingDirectory: config.workingDirectory, user: config.user, hostname: config.hostname, options: options,
                startGate: gate.rawValue
            ) { pid in
                record.pid = pid
                record.status = .created
                try directory.save(record)
                report("ok")
            }
        } catch {
            report("\(error)")
            throw error
        }
        record.status = .stopped
        record.exitStatus = status.shellCode
        try? directory.save(record)  // the container may be deleted already
    }
}

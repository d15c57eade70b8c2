import ArgumentParser
import Glibc
import HostSys
import Sentry

/// `runsc boot`: the Sentry of a sandbox (started by `runsc run`, not by hand).
struct BootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot",
        abstract: "Run a program in the Sentry, with its root served by a gofer (internal).",
        shouldDisplay: false)

    @Option(help: "The inherited fd of the gofer's lisafs socket.")
    var goferFD: Int32

    @Option(help: "The inherited fd of the control socket to the Netstack (none: a loopback stack in the Sentry).")
    var netstackFD: Int32?

    @Option(help: "The program's working directory.")
    var cwd = "/"

    @Option(help: "An environment variable of the program (repeatable).")
    var env: [String] = []

    @Option(help: "The user id the program runs as.")
    var uid: UInt32 = 0

    @Option(help: "The group id the program runs as.")
    var gid: UInt32 = 0

    @Option(help: "A supplementary group of the program (repeatable).")
    var additionalGid: [UInt32] = []

    @Option(help: "The program's file mode creation mask, in octal.")
    var umask = "022"

    @Option(help: "The program's capability sets as hex masks: bounding,effective,inheritable,permitted,ambient.")
    var capabilities: String?

    @Flag(help: "No execve of the program gains ids or capabilities (no_new_privs).")
    var noNewPrivileges = false

    @Option(help: "The sandbox's hostname.")
    var hostname = "runsc"

    @Flag(help: "Do not install the Sentry's seccomp filter (for debugging).")
    var noSeccomp = false

    @Flag(help: "Log every syscall of the program, decoded, with its result.")
    var strace = false

    @Flag(help: "Put a tmpfs layer in the Sentry over the gofer's tree, which takes the root's writes.")
    var overlay = false

    @Option(help: "The inherited fd of the debug log (default: stderr).")
    var logFD: Int32 = 2

    @Option(help: "An inherited fd to read one byte from before the program starts (runsc start).")
    var startFD: Int32?

    @Argument(parsing: .postTerminator, help: "The program and its arguments.")
    var arguments: [String] = []

    func validate() throws {
        guard goferFD > 2 else { throw ValidationError("--gofer-fd must be an inherited fd above 2") }
        guard let first = arguments.first, !first.isEmpty else { throw ValidationError("a program to run is required after --") }
        guard cwd.hasPrefix("/") else { throw ValidationError("--cwd must be absolute") }
        if let startFD, startFD <= 2 { throw ValidationError("--start-fd must be an inherited fd above 2") }
        if let netstackFD, netstackFD <= 2 { throw ValidationError("--netstack-fd must be an inherited fd above 2") }
        guard let mask = UInt32(umask, radix: 8), mask <= 0o777 else { throw ValidationError("--umask must be octal, at most 777") }
        if capabilities != nil && capabilitySets == nil { throw ValidationError("--capabilities must be five hex masks") }
        guard hostname.utf8.count <= 64 else { throw ValidationError("--hostname must be at most 64 bytes") }
    }

    /// --capabilities, parsed.
    var capabilitySets: Kernel.CapabilitySets? {
        guard let masks = capabilities?.split(separator: ",").compactMap({ UInt64($0, radix: 16) }), masks.count == 5 else { return nil }
        return Kernel.CapabilitySets(bounding: masks[0], effective: masks[1], inheritable: masks[2], permitted: masks[3], ambient: masks[4])
    }

    func run() throws {
        let code = try SentryProcess.run(
            goferSocket: FileDescriptor(owning: goferFD), path: arguments[0], arguments: arguments, environment: env,
            workingDirectory: cwd,
            user: Kernel.ProgramUser(
                uid: uid, gid: gid, additionalGIDs: additionalGid, umask: UInt32(umask, radix: 8) ?? 0o022, capabilities: capabilitySets,
                noNewPrivileges: noNewPrivileges),
            hostname: hostname, overlay: overlay, netstack: netstackFD, filter: !noSeccomp, strace: strace, logFD: logFD,
            startGate: startFD)
        throw ExitCode(code)
    }
}

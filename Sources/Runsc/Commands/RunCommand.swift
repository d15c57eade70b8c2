import ArgumentParser
import Foundation
import Glibc
import HostSys
import LinuxABI
import Netstack
import Sentry

/// `runsc run`: runs a container from an OCI bundle and exits with its status.
///
/// Starts the two processes of the sandbox from this executable (`/proc/self/exe`): the
/// gofer (`runsc gofer`, in new mount and network namespaces, serving the bundle's rootfs)
/// and the Sentry (`runsc boot`, in new pid, mount, ipc, uts and network namespaces, with this
/// process's stdio), waits for the Sentry, stops the gofer, and exits with the program's
/// status (128 + the signal when a signal killed it). Nothing is left behind: no process, no
/// state file (`create` and `start` keep state; `run` needs none).
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Create and run a container from an OCI bundle, and wait for it.")

    @Option(name: [.customShort("b"), .long], help: "The bundle directory (default: the current directory).")
    var bundle: String?

    @OptionGroup var options: SandboxOptions

    @Argument(help: "The container id.")
    var id: String

    func validate() throws { try ContainerDirectory.validate(id) }

    func run() throws {
        let container = try ContainerConfig(bundle: bundle)
        let status = try runSandbox(
            rootfs: container.rootfs, overlay: options.overlay && !container.readOnly,
            network: try options.networkMode(bundle: container.network), arguments: container.arguments,
            environment: container.environment, workingDirectory: container.workingDirectory, user: container.user,
            hostname: container.hostname, options: options)
        throw ExitCode(status.shellCode)
    }
}

/// What runsc needs from a bundle's config.json to start its container, checked.
struct ContainerConfig {
    let bundle: String
    let rootfs: String
    let readOnly: Bool
    let arguments: [String]
    let environment: [String]
    let workingDirectory: String
    /// process.user, process.capabilities and process.noNewPrivileges: the ids, groups, umask
    /// and capabilities the program starts with.
    let user: Kernel.ProgramUser
    /// The sandbox's hostname (uname's nodename).
    let hostname: String
    /// The network namespace the bundle asks for (linux.namespaces' "network" entry).
    let network: BundleNetwork

    /// What linux.namespaces says of the network.
    enum BundleNetwork: Equatable {
        /// No entry: the container would share runsc's namespace, which a sandbox never
        /// does; it gets the loopback only.
        case none
        /// An entry without a path: a namespace of its own.
        case new
        /// An entry with a path: that namespace.
        case path(String)
    }

    /// Reads `bundle`/config.json (the current directory when nil): process.args and root are
    /// required, and the root must be a directory.
    init(bundle: String?) throws {
        let bundle = URL(fileURLWithPath: bundle ?? FileManager.default.currentDirectoryPath).standardizedFileURL.path
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
        self.bundle = bundle
        self.rootfs = rootfs
        self.readOnly = root.readonly == true
        self.arguments = arguments
        self.environment = process.env ?? []
        self.workingDirectory = process.cwd
        let owner = process.user
        guard (owner.umask ?? 0) <= 0o777 else { throw ValidationError("\(bundle)/config.json: process.user.umask is more than 0777") }
        let capabilities = process.capabilities.map { sets in
            Kernel.CapabilitySets(
                bounding: Spec.capabilityMask(sets.bounding), effective: Spec.capabilityMask(sets.effective),
                inheritable: Spec.capabilityMask(sets.inheritable), permitted: Spec.capabilityMask(sets.permitted),
                ambient: Spec.capabilityMask(sets.ambient))
        }
        self.user = Kernel.ProgramUser(
            uid: owner.uid, gid: owner.gid, additionalGIDs: owner.additionalGids ?? [], umask: owner.umask ?? 0o022,
            capabilities: capabilities, noNewPrivileges: process.noNewPrivileges ?? false)
        self.hostname = spec.hostname ?? "runsc"
        switch spec.linux?.namespaces?.first(where: { $0.type == .network }) {
        case nil: network = .none
        case let entry?:
            guard let path = entry.path else {
                network = .new
                break
            }
            guard path.hasPrefix("/") else { throw ValidationError("\(bundle)/config.json: the network namespace path '\(path)' is not absolute") }
            network = .path(path)
        }
    }
}

/// Starts the gofer on `rootfs`, the Netstack, and the Sentry running `arguments`, waits for
/// the Sentry, stops the other two, and returns how the program ended (shared by `run`, `do` and the monitor
/// of `create`). `network` says whether the Netstack has the loopback only or a veth into a
/// network namespace made for the sandbox (removed at the end). With `overlay`, the program's
/// root is the tree under a writable tmpfs layer
/// in the Sentry; without, it is read-only. Either way the gofer serves the tree read-only:
/// no write of the program reaches it. With `startGate` (an fd), the Sentry waits for a byte
/// on it before the program starts; `started` gets the Sentry's pid once it runs.
func runSandbox(
    rootfs: String, overlay: Bool, network: NetworkMode, arguments: [String], environment: [String], workingDirectory: String,
    user: Kernel.ProgramUser = .root, hostname: String = "runsc", options: SandboxOptions,
    startGate: Int32? = nil, started: (pid_t) throws -> Void = { _ in }
) throws -> ExitStatus {
        // Signals to runsc itself (^C, kill) go to the Sentry, which passes them to the
        // program's init; runsc stays to clean up (the veth, the processes) when it ends.
        let forwarded: [LinuxSignal] = [.SIGHUP, .SIGINT, .SIGQUIT, .SIGTERM]
        try HostSignals.block(forwarded)
        // The debug log stays open here until the Sentry is done with its copy.
        var logFD: Int32 = -1
        if let path = options.debugLog {
            logFD = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_APPEND, mode: 0o644).release()
        }
        defer { if logFD >= 0 { Glibc.close(logFD) } }
        let sockets = try UnixSocket.pair()
        var gofer = try ChildProcess.spawn(
            path: "/proc/self/exe",
            arguments: ["runsc", "gofer", "--root", rootfs, "--socket-fd", "3", "--read-only"],
            descriptors: [(sockets.second.rawValue, 3), (2, 2)], options: .dieWithParent, namespaces: [.mount, .network])
        _ = consume sockets.second
        defer {
            try? gofer.kill(.SIGKILL)
            _ = try? gofer.wait()
        }
        // The Netstack: its own process, in a new mount namespace and a new network namespace
        // (with --network=sandbox, runsc then moves a veth's end into it), or in the bundle's.
        var sandboxNetwork: SandboxNetwork?
        if case .sandbox(let block) = network { sandboxNetwork = try SandboxNetwork(block: block) }
        defer { sandboxNetwork?.remove() }
        let netstackSockets = try UnixSocket.pair()
        var netstackArguments = ["runsc", "netstack", "--control-fd", "3"]
        var netstackDescriptors: [(parent: Int32, child: Int32)] = [(netstackSockets.second.rawValue, 3), (2, 2)]
        var netstackNamespaces: ChildProcess.Namespaces = [.mount, .network]
        let ready = try FileDescriptor.pipe()
        var joinedNamespace: Int32 = -1
        defer { if joinedNamespace >= 0 { Glibc.close(joinedNamespace) } }
        if case .joined(let path) = network {
            let namespace: FileDescriptor
            do {
                namespace = try FileDescriptor.open(path, flags: O_RDONLY | O_CLOEXEC)
            } catch {
                throw RuntimeError("the bundle's network namespace \(path): \(error)")
            }
            // NSFS_MAGIC: a namespace file (as /run/netns/NAME or /proc/PID/ns/net), not any file.
            guard (try? namespace.fileSystemStatistics().type) == 0x6e73_6673 else {
                throw RuntimeError("the bundle's network namespace \(path): not a namespace file")
            }
            joinedNamespace = namespace.release()
            netstackDescriptors.append((joinedNamespace, 4))
            netstackArguments += ["--netns-fd", "4"]
            netstackNamespaces = [.mount]
        }
        if let sandboxNetwork {
            netstackDescriptors.append((ready.first.rawValue, 4))
            netstackArguments += [
                "--ready-fd", "4", "--interface", "eth0", "--address", "\(sandboxNetwork.sandboxAddress)",
                "--gateway", "\(sandboxNetwork.hostAddress)",
            ]
        }
        var captureFile: Int32 = -1
        if let path = options.pcapLog {
            captureFile = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode: 0o644).release()
            netstackDescriptors.append((captureFile, 5))
            netstackArguments += ["--pcap-fd", "5"]
        }
        defer { if captureFile >= 0 { Glibc.close(captureFile) } }
        var netstack = try ChildProcess.spawn(
            path: "/proc/self/exe", arguments: netstackArguments, descriptors: netstackDescriptors, options: .dieWithParent,
            namespaces: netstackNamespaces)
        _ = consume netstackSockets.second
        defer {
            try? netstack.kill(.SIGKILL)
            _ = try? netstack.wait()
        }
        if let sandboxNetwork {
            try sandboxNetwork.create(intoNamespaceOf: netstack.pid)
            var byte: UInt8 = 1
            _ = try withUnsafeBytes(of: &byte) { (bytes) throws(Errno) in try ready.second.write(bytes) }
        }
        _ = consume ready
        var bootArguments = ["runsc", "boot", "--gofer-fd", "3", "--netstack-fd", "6", "--cwd", workingDirectory]
        for variable in environment { bootArguments += ["--env", variable] }
        if user != .root {
            bootArguments += ["--uid", String(user.uid), "--gid", String(user.gid), "--umask", String(user.umask, radix: 8)]
            for group in user.additionalGIDs { bootArguments += ["--additional-gid", String(group)] }
            if let sets = user.capabilities {
                let masks = [sets.bounding, sets.effective, sets.inheritable, sets.permitted, sets.ambient]
                bootArguments += ["--capabilities", masks.map { String($0, radix: 16) }.joined(separator: ",")]
            }
            if user.noNewPrivileges { bootArguments.append("--no-new-privileges") }
        }
        if hostname != "runsc" { bootArguments += ["--hostname", hostname] }
        if options.noSentrySeccomp { bootArguments.append("--no-seccomp") }
        if options.strace { bootArguments.append("--strace") }
        if overlay { bootArguments.append("--overlay") }
        var descriptors: [(parent: Int32, child: Int32)] = [
            (0, 0), (1, 1), (2, 2), (sockets.first.rawValue, 3), (netstackSockets.first.rawValue, 6),
        ]
        if logFD >= 0 {
            descriptors.append((logFD, 4))
            bootArguments += ["--log-fd", "4"]
        }
        if let startGate {
            descriptors.append((startGate, 5))
            bootArguments += ["--start-fd", "5"]
        }
        var sentry = try ChildProcess.spawn(
            path: "/proc/self/exe", arguments: bootArguments + ["--"] + arguments,
            descriptors: descriptors, options: .dieWithParent,
            namespaces: [.pid, .mount, .ipc, .uts, .network])
        _ = consume sockets.first
        _ = consume netstackSockets.first
        let sentryPID = sentry.pid
        try HostThread.detach {
            while true {
                let signal = HostSignals.wait(forwarded)
                _ = Glibc.kill(sentryPID, signal.rawValue)
            }
        }
        do {
            try started(sentry.pid)
        } catch {
            try? sentry.kill(.SIGKILL)
            _ = try? sentry.wait()
            throw error
        }
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

    @Option(
        help: """
            Where the root's writes go: root:memory (a tmpfs layer in the Sentry over the container's \
            tree, as gVisor's default) or none (the root is read-only). A bundle whose root is \
            readonly gets no overlay.
            """)
    var overlay2 = "root:memory"

    /// Whether the root gets a memory overlay.
    var overlay: Bool { overlay2 == "root:memory" }

    @Option(
        help: """
            The sandbox's network: sandbox (a veth pair into a network namespace of its own, \
            which the Netstack takes over) or none (loopback only). A bundle without a network \
            namespace gets none.
            """)
    var network = "sandbox"

    @Option(help: "With --network=sandbox: the /30 of 198.18.0.0/15 for the veth pair (default: a free one).")
    var networkAddress: String?

    @Option(help: "Write what the Netstack sends and receives to this file as a pcap capture.")
    var pcapLog: String?

    /// The network mode for a sandbox whose bundle asks for `bundle`.
    func networkMode(bundle: ContainerConfig.BundleNetwork) throws -> NetworkMode {
        guard network == "sandbox", bundle != .none else { return .none }
        if case .path(let path) = bundle { return .joined(path: path) }
        guard let networkAddress else { return .sandbox(block: nil) }
        guard let block = IPv4Subnet(parsing: networkAddress) else { throw ValidationError("--network-address must look like 198.18.7.0/30") }
        return .sandbox(block: block)
    }

    func validate() throws {
        guard ["root:memory", "none"].contains(overlay2) else {
            throw ValidationError("--overlay2 must be root:memory or none, not '\(overlay2)'")
        }
        guard ["sandbox", "none"].contains(network) else { throw ValidationError("--network must be sandbox or none, not '\(network)'") }
        if let networkAddress, IPv4Subnet(parsing: networkAddress) == nil {
            throw ValidationError("--network-address must look like 198.18.7.0/30")
        }
    }

    /// The same options as command-line arguments (to pass them on to `runsc monitor`).
    var arguments: [String] {
        (strace ? ["--strace"] : []) + (debugLog.map { ["--debug-log", $0] } ?? []) + (noSentrySeccomp ? ["--no-sentry-seccomp"] : [])
            + ["--overlay2", overlay2, "--network", network] + (networkAddress.map { ["--network-address", $0] } ?? [])
            + (pcapLog.map { ["--pcap-log", $0] } ?? [])
    }
}

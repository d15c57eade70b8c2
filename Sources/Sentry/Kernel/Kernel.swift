import Glibc
import Gofer
import HostSys
import LinuxABI
import Netstack

/// Entry points that start programs in the Sentry.
public enum Kernel {
    /// The result of running a program.
    public struct Outcome: Sendable {
        public let status: ExitStatus
        /// Syscalls the program made that the Sentry does not implement, with their counts.
        public let unimplementedCalls: [Sysno: Int]
    }

    /// Where a program's standard streams go.
    public enum Stdio {
        /// fd 0 at end of file; what the program writes to 1 and 2 goes to the closure.
        case captured((Int32, [UInt8]) -> Void)
        /// The host fds 0, 1 and 2 of the Sentry process (runsc passes the caller's stdio).
        case host
    }

    /// Runs the static executable `executable` as pid 1 in a new ptrace stub, on the calling
    /// thread (which becomes the stub's tracer), until it ends. With `root`, the program's
    /// file system is the tree that gofer serves: read-only, or with `overlay` under a tmpfs
    /// layer that takes the writes. Every syscall the program makes is served by the Sentry.
    public static func runStatic(
        executable: [UInt8], arguments: [String], environment: [String] = [], root: LisafsClient? = nil, overlay: Bool = false,
        network: (any SocketCalls)? = nil, user: ProgramUser = .root, hostname: String = "runsc", executableStatus: LinuxStat? = nil,
        workingDirectory: String = "/", executablePath: String = "", stdio: Stdio,
        trace: (@Sendable (String) -> Void)? = nil, started: ((Sandbox) -> Void)? = nil
    ) throws(LinuxErrno) -> Outcome {
        let memory = try MemoryFile()
        var tree: (any Inode)? = root.map { GoferInode(root: $0) }
        if overlay, let lower = tree { tree = try OverlayInode.makeRoot(lower: lower, device: Sandbox.overlayDevice) }
        let sandbox = Sandbox(memory: memory, root: tree.map { Dentry(root: $0) }, hostname: hostname)
        if let network { sandbox.useNetwork(network) }
        let context = try PtraceStub.start(memory: memory.fd)
        let pid = sandbox.addProcess(parent: 0)
        // The user's credentials as the OCI runtime sets them, then the exec of the program.
        var credentials = Credentials(uid: user.uid, gid: user.gid, groups: user.additionalGIDs)
        if let sets = user.capabilities {
            (credentials.bounding, credentials.effective, credentials.inheritable) = (sets.bounding, sets.effective, sets.inheritable)
            credentials.permitted = sets.permitted
            credentials.ambient = sets.ambient & sets.permitted & sets.inheritable
        }
        credentials.noNewPrivileges = user.noNewPrivileges
        if let executableStatus { credentials = credentials.afterExec(of: executableStatus) }
        let group = ThreadGroup(
            sandbox: sandbox, pid: pid, parent: 0, mm: MemoryManager(file: memory, platform: context.process), credentials: credentials)
        group.umask = user.umask
        let task = Task(group: group, tid: pid, context: context, registers: context.initialRegisters, name: [])
        group.add(task)
        defer { sandbox.killAll() }
        task.trace = trace
        let interpreter = try Loader.interpreter(of: executable) { (path) throws(LinuxErrno) in try task.readWholeFile(path) }
        try task.loadImage(
            executable, interpreter: interpreter, path: Array(executablePath.utf8), arguments: arguments.map { Array($0.utf8) },
            environment: environment.map { Array($0.utf8) })
        if let tree = sandbox.root, workingDirectory != "/" {
            task.cwd = try PathResolution.resolve(Array(workingDirectory.utf8), root: tree, start: tree, followFinal: true)
        }
        switch stdio {
        case .captured(let output):
            _ = try task.fds.add(FileDescription(EmptyInput(), flags: .readOnly))
            _ = try task.fds.add(FileDescription(OutputStream(inode: 2) { output(1, $0) }, flags: .writeOnly))
            _ = try task.fds.add(FileDescription(OutputStream(inode: 3) { output(2, $0) }, flags: .writeOnly))
        case .host:
            if Glibc.isatty(0) == 1, let devices = sandbox.mounts[Array("/dev".utf8)] as? TmpfsInode {
                Devices.addTerminal(to: devices) { () throws(LinuxErrno) in
                    HostStream(fd: try onBehalfOfGuest { () throws(Errno) in try FileDescriptor(owning: 0).duplicateAndRelease() })
                }
            }
            let flags: [OpenFlags] = [.readOnly, .writeOnly, .writeOnly]
            for fd in Int32(0)...2 {
                let copy = try onBehalfOfGuest { () throws(Errno) in try FileDescriptor(owning: fd).duplicateAndRelease() }
                _ = try task.fds.add(FileDescription(HostStream(fd: copy), flags: flags[Int(fd)]))
            }
        }
        sandbox.attach(group, stub: context.process.pid)
        started?(sandbox)
        task.runUntilEnd()
        let status = group.waitForEnd()
        return Outcome(status: status, unimplementedCalls: group.unimplementedCalls)
    }

    /// The user a sandbox's first program runs as (the OCI process.user): its ids, its
    /// supplementary groups and its file mode creation mask.
    public struct ProgramUser: Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        public var additionalGIDs: [UInt32]
        public var umask: UInt32
        /// The capability sets it is given before its program starts (the OCI
        /// process.capabilities); nil: root has every capability, another user none.
        public var capabilities: CapabilitySets?
        /// process.noNewPrivileges: no execve gains ids or capabilities.
        public var noNewPrivileges: Bool

        public init(
            uid: UInt32, gid: UInt32, additionalGIDs: [UInt32] = [], umask: UInt32 = 0o022, capabilities: CapabilitySets? = nil,
            noNewPrivileges: Bool = false
        ) {
            (self.uid, self.gid, self.additionalGIDs, self.umask) = (uid, gid, additionalGIDs, umask)
            (self.capabilities, self.noNewPrivileges) = (capabilities, noNewPrivileges)
        }

        public static let root = ProgramUser(uid: 0, gid: 0)
    }

    /// Capability sets as masks (bit n for capability n).
    public struct CapabilitySets: Sendable, Equatable {
        public var bounding: UInt64, effective: UInt64, inheritable: UInt64, permitted: UInt64, ambient: UInt64

        public init(bounding: UInt64, effective: UInt64, inheritable: UInt64, permitted: UInt64, ambient: UInt64) {
            (self.bounding, self.effective, self.inheritable, self.permitted, self.ambient) = (bounding, effective, inheritable, permitted, ambient)
        }
    }

    /// The PATH a program name without a slash is searched in when the environment has none.
    public static let defaultSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Runs the program at `path` in the tree `root` serves: reads the executable through
    /// the gofer and runs it as `runStatic` does. A name without a slash is searched in the
    /// PATH of `environment`, inside the tree (execvp(3)'s rule). ELF executables load, with
    /// their interpreter (ld.so) read from the same tree.
    public static func run(
        path: String, arguments: [String], environment: [String], root: LisafsClient, overlay: Bool = false,
        network: (any SocketCalls)? = nil, user: ProgramUser = .root, hostname: String = "runsc",
        workingDirectory: String, stdio: Stdio,
        trace: (@Sendable (String) -> Void)? = nil, started: ((Sandbox) -> Void)? = nil
    ) throws(LinuxErrno) -> Outcome {
        let tree = Dentry(root: GoferInode(root: root))
        var candidates = [path]
        if !path.contains("/") {
            let search = environment.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? defaultSearchPath
            candidates = search.split(separator: ":").map { "\($0)/\(path)" }
        }
        var found: Dentry?
        var lastError = LinuxErrno.ENOENT
        for candidate in candidates where found == nil {
            do {
                found = try PathResolution.resolve(Array(candidate.utf8), root: tree, start: tree, followFinal: true)
            } catch {
                lastError = error
            }
        }
        guard var dentry = found else { throw lastError }
        guard try dentry.inode.fileType() == FileMode.regular else { throw .EACCES }
        var arguments = arguments
        // A script: run its interpreter with the script's path, as execve does.
        let head = try dentry.inode.open(flags: .readOnly).read(count: 256, at: 0)
        if head.starts(with: [0x23, 0x21]) {
            let (interpreter, argument) = try Syscalls.scriptInterpreter(head)
            arguments = [String(decoding: interpreter, as: UTF8.self)] + (argument.map { [String(decoding: $0, as: UTF8.self)] } ?? [])
                + [String(decoding: dentry.path, as: UTF8.self)] + arguments.dropFirst()
            dentry = try PathResolution.resolve(interpreter, root: tree, start: tree, followFinal: true)
            guard try dentry.inode.fileType() == FileMode.regular else { throw .EACCES }
        }
        let file = try dentry.inode.open(flags: .readOnly)
        var executable: [UInt8] = []
        while true {
            let chunk = try file.read(count: 1 << 20, at: Int64(executable.count))
            if chunk.isEmpty { break }
            executable += chunk
        }
        return try runStatic(
            executable: executable, arguments: arguments, environment: environment, root: root, overlay: overlay, network: network, user: user,
            hostname: hostname, executableStatus: try dentry.inode.stat(),
            workingDirectory: workingDirectory, executablePath: String(decoding: dentry.path, as: UTF8.self), stdio: stdio,
            trace: trace, started: started)
    }
}

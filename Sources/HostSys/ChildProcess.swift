import CShim
import Glibc
import LinuxABI

/// How a child process ended (wait4(2) status, decoded).
public enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(LinuxSignal)

    /// The shell's convention: the exit code, or 128 + the signal number.
    public var shellCode: Int32 {
        switch self {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal.rawValue
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): return "exited \(code)"
        case .signaled(let signal): return "killed by \(signal)"
        }
    }

    /// Decodes a wait(2) status of a child that ended (not one that stopped).
    public init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(LinuxSignal(signal))
    }
}

/// A child process this process spawned and must reap. If it is still unreaped when the value
/// ends, it is killed with SIGKILL and reaped, so no child outlives its owner by accident.
public struct ChildProcess: ~Copyable {
    public let pid: pid_t
    private var reaped = false

    /// Options for `spawn`.
    public struct Options: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        /// SIGKILL the child when the spawning *thread* exits (PR_SET_PDEATHSIG): use it only
        /// from a thread that outlives the child (not a pool thread that may retire).
        public static let dieWithParent = Options(rawValue: Int32(CSHIM_SPAWN_DIE_WITH_PARENT))
        /// Run the child in a new session.
        public static let newSession = Options(rawValue: Int32(CSHIM_SPAWN_NEW_SESSION))
    }

    /// Namespaces a child leaves before exec (unshare(2) CLONE_NEW* flags).
    public struct Namespaces: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let mount = Namespaces(rawValue: 0x0002_0000)
        public static let uts = Namespaces(rawValue: 0x0400_0000)
        public static let ipc = Namespaces(rawValue: 0x0800_0000)
        public static let user = Namespaces(rawValue: 0x1000_0000)
        public static let pid = Namespaces(rawValue: 0x2000_0000)
        public static let network = Namespaces(rawValue: 0x4000_0000)
    }

    /// Runs `path` to its end with its standard output in a pipe (and `descriptors` mapped as
    /// for `spawn`); returns how it ended and what it wrote.
    public static func run(
        path: String, arguments: [String], environment: [String] = [], descriptors: [(parent: Int32, child: Int32)] = []
    ) throws(Errno) -> (status: ExitStatus, output: [UInt8]) {
        let pipe = try FileDescriptor.pipe()
        let reader = pipe.first
        let writer = pipe.second
        var child = try spawn(path: path, arguments: arguments, environment: environment, descriptors: descriptors + [(writer.rawValue, 1)])
        _ = consume writer
        let output = try reader.readToEnd()
        return (try child.wait(), output)
    }

    /// Starts `path` with `arguments` (argv[0] included) and `environment` ("K=V" strings).
    /// `descriptors` maps fds of this process to the fd numbers the child sees; no other fd
    /// of this process reaches the child. The child leaves `namespaces` first; with `.pid` the
    /// program runs as pid 1 of the new namespace under a process that waits for it and ends
    /// as it ends (this value tracks that process). No Swift code runs in the child: fork and exec
    /// happen in C (`cshim_spawn`), and a failed exec is reported as the errno of the step.
    public static func spawn(
        path: String, arguments: [String], environment: [String] = [],
        descriptors: [(parent: Int32, child: Int32)] = [], options: Options = [], namespaces: Namespaces = []
    ) throws(Errno) -> ChildProcess {
        let argv = CStringArray(arguments)
        let envp = CStringArray(environment)
        let map = descriptors.flatMap { [$0.parent, $0.child] }
        var pid: pid_t = 0
        let code = path.withCString { cPath in
            cshim_spawn(
                cPath, argv.pointers, envp.pointers, map, Int32(descriptors.count), options.rawValue, namespaces.rawValue, &pid)
        }
        try checkReturnedErrno(code)
        precondition(pid > 0, "cshim_spawn succeeded without a pid")
        return ChildProcess(pid: pid)
    }

    private init(pid: pid_t) { self.pid = pid }

    deinit {
        if !reaped {
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = try? hostCall { waitpid(pid, &status, 0) }
        }
    }

    /// Gives the child up without reaping it: it outlives this value (a daemon that this
    /// process starts and then leaves to run; init reaps it once this process is gone).
    public consuming func disown() -> pid_t {
        reaped = true
        return pid
    }

    /// Sends `signal` to the child (kill(2)).
    public func kill(_ signal: LinuxSignal) throws(Errno) {
        let pid = self.pid
        _ = try hostCall { Glibc.kill(pid, signal.rawValue) }
    }

    /// Waits for the child to end and reaps it (wait4(2)). ECHILD (someone else reaped it,
    /// or SIGCHLD is ignored) marks it reaped, so `deinit` never signals a reused pid.
    public mutating func wait() throws(Errno) -> ExitStatus {
        precondition(!reaped, "wait() on a reaped child")
        let pid = self.pid
        var status: Int32 = 0
        do {
            _ = try hostCall { waitpid(pid, &status, 0) }
        } catch {
            if error == .ECHILD { reaped = true }
            throw error
        }
        reaped = true
        return ExitStatus(waitStatus: status)
    }

    /// Reaps the child if it has ended; nil while it runs (WNOHANG).
    public mutating func poll() throws(Errno) -> ExitStatus? {
        precondition(!reaped, "poll() on a reaped child")
        let pid = self.pid
        var status: Int32 = 0
        let result: Int32
        do {
            result = try hostCall { waitpid(pid, &status, WNOHANG) }
        } catch {
            if error == .ECHILD { reaped = true }
            throw error
        }
        guard result == pid else { return nil }
        reaped = true
        return ExitStatus(waitStatus: status)
    }
}

/// A NULL-terminated array of C strings that lives as long as the value.
private final class CStringArray {
    let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>

    init(_ strings: [String]) {
        pointers = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() { pointers[index] = strdup(string) }
        pointers[strings.count] = nil
    }

    deinit {
        var index = 0
        while let string = pointers[index] {
            free(string)
            index += 1
        }
        pointers.deallocate()
    }
}

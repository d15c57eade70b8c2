import Glibc
import HostSys
import LinuxABI

/// Runs `sandbox-test-helper`, the second process of the HostSys and Flipcall tests.
public enum Helper {
    /// The directory SwiftPM builds executables into: the test bundle's.
    public static let buildDirectory: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        precondition(count > 0, "readlink /proc/self/exe")
        let exe = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)])
    }()

    /// The helper executable, built by SwiftPM next to the test bundle.
    public static var path: String { buildDirectory + "/sandbox-test-helper" }

    /// Starts the helper in `mode` with `arguments`; `descriptors` maps our fds to its fd numbers.
    /// Its standard output goes to the returned pipe end (read it with `readAll`).
    public static func start(
        _ mode: String, _ arguments: [String] = [], descriptors: [(parent: Int32, child: Int32)] = []
    ) throws -> RunningHelper {
        try startExecutable("sandbox-test-helper", [mode] + arguments, descriptors: descriptors)
    }

    /// Starts the executable `name` from the build directory (runsc, the helper) with
    /// `arguments`, in `namespaces`; its standard output goes to the returned pipe end.
    public static func startExecutable(
        _ name: String, _ arguments: [String], descriptors: [(parent: Int32, child: Int32)] = [],
        namespaces: ChildProcess.Namespaces = []
    ) throws -> RunningHelper {
        let output = try FileDescriptor.pipe()
        let child = try ChildProcess.spawn(
            path: buildDirectory + "/" + name, arguments: [name] + arguments,
            descriptors: descriptors + [(output.second.rawValue, 1), (2, 2)], namespaces: namespaces)
        return RunningHelper(process: child, output: output.first)
    }

    /// Runs the helper to the end and returns how it ended and what it printed.
    public static func run(_ mode: String, _ arguments: [String] = []) throws -> (status: ExitStatus, output: String) {
        let helper = try start(mode, arguments)
        let output = try helper.readAll()
        return (try helper.wait(), output)
    }
}

/// A helper process and the read end of its standard output.
public final class RunningHelper {
    private var process: ChildProcess
    public let output: FileDescriptor

    init(process: consuming ChildProcess, output: consuming FileDescriptor) {
        self.process = process
        self.output = output
    }

    public var pid: pid_t { process.pid }

    /// Waits for the helper to end and reaps it.
    public func wait() throws -> ExitStatus { try process.wait() }

    /// Reads the helper's output up to end of file (its exit, or its closing stdout).
    public func readAll() throws -> String {
        String(decoding: try output.readToEnd(), as: UTF8.self)
    }

    /// Reads one line (without the newline), or nil at end of file.
    public func readLine() throws -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while try withUnsafeMutableBytes(of: &byte, { try output.read(into: $0) }) == 1 {
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
    }
}

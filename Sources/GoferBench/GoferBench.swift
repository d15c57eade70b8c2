import ArgumentParser
import Glibc
import Gofer
import HostSys
import LinuxABI

/// gofer-bench: file operations through the lisafs client and a gofer process, beside the
/// same operations done with host syscalls in the same run.
@main
struct GoferBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gofer-bench",
        abstract: "Measure stat, open+read+close, getdents and sequential reads through the gofer beside the host.",
        subcommands: [Run.self, Serve.self], defaultSubcommand: Run.self)
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Build the tree, start a gofer and print the table.")

    @Option(help: "Where to build the served tree (removed afterwards).")
    var directory = "/tmp/gofer-bench-tree"

    @Option(help: "Small files in the big directory.")
    var files = 10_000

    @Option(help: "Size of the big file in MiB.")
    var bigFileMiB = 256

    @Option(help: "Milliseconds measured per row and side.")
    var milliseconds = 1000

    @Flag(help: "Serve with this benchmark's own unconfined server instead of `runsc gofer`.")
    var unconfined = false

    @Option(help: "Rows to run, comma-separated, from: stat, open, getdents, read.")
    var rows = "stat,open,getdents,read"

    func validate() throws {
        guard files > 0, bigFileMiB > 0, milliseconds > 0 else { throw ValidationError("counts must be positive") }
        guard directory.hasPrefix("/") else { throw ValidationError("--directory must be absolute") }
    }

    func run() throws {
        let tree = try Tree(path: directory, files: files, bigFileBytes: bigFileMiB << 20)
        defer { tree.remove() }
        let confined = !unconfined && getuid() == 0
        let sockets = try UnixSocket.pair()
        var process = try startGofer(root: tree.path, confined: confined, socket: sockets.second.rawValue)
        defer {
            _ = try? process.kill(.SIGKILL)
            _ = try? process.wait()
        }
        _ = consume sockets.second
        let client = try LisafsClient(socket: sockets.first, channels: 1)
        print("gofer-bench: \(confined ? "runsc gofer (confined, seccomp)" : "unconfined server"), \(files) files, \(bigFileMiB) MiB file, \(milliseconds) ms per row")
        let measure = Measure(client: client, tree: tree, nanoseconds: UInt64(milliseconds) * 1_000_000)
        let wanted = Set(rows.split(separator: ",").map(String.init))
        var results: [Row] = []
        if wanted.contains("stat") { results.append(try measure.stat()) }
        if wanted.contains("open") { results.append(try measure.openReadClose()) }
        if wanted.contains("getdents") { results.append(try measure.getdents()) }
        if wanted.contains("read") { results += try measure.sequentialReads() }
        Report.print(results)
    }

    /// Starts `runsc gofer` (confined) or `gofer-bench serve` on `socket`.
    func startGofer(root: String, confined: Bool, socket: Int32) throws -> ChildProcess {
        if confined {
            return try ChildProcess.spawn(
                path: executableDirectory() + "/runsc", arguments: ["runsc", "gofer", "--root", root, "--socket-fd", "3"],
                descriptors: [(socket, 3), (2, 2)], namespaces: [.mount, .network])
        }
        return try ChildProcess.spawn(
            path: "/proc/self/exe", arguments: ["gofer-bench", "serve", root], descriptors: [(socket, 3), (2, 2)])
    }
}

/// The unconfined server the benchmark uses without root (or with --unconfined).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(shouldDisplay: false)

    @Argument var root: String

    func run() throws {
        let tree = try FileDescriptor.open(root, flags: OpenFlags([.path, .directory]).rawValue)
        LisafsConnection(server: try LisafsServer(root: tree, readOnly: false), socket: FileDescriptor(owning: 3)).serve()
    }
}

/// The directory of this executable (where SwiftPM also put runsc).
func executableDirectory() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let path = String(decoding: buffer[0..<max(0, count)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
}

import Glibc
import Gofer
import HostSys
import LinuxABI
import TestSupport

/// A directory tree on the host, served by a gofer in a separate process, with a client.
///
/// ```
/// ROOT/file.txt            "hello gofer\n"
/// ROOT/dir/nested.bin      12 KiB of pattern bytes
/// ROOT/dir/sub/
/// ROOT/empty/
/// ROOT/link-passwd  -> /etc/passwd
/// ROOT/link-up      -> ../../
/// ROOT/link-rel     -> dir/nested.bin
/// ROOT/fifo
/// ROOT/hardlink-outside    a hard link to OUTSIDE/secret.txt
/// OUTSIDE/secret.txt       "outside\n"
/// ```
final class GoferFixture {
    let base: String
    var root: String { base + "/root" }
    var outside: String { base + "/outside" }
    let client: LisafsClient
    let gofer: RunningHelper

    /// Builds the tree and starts its gofer: `runsc gofer` confined in its own mount and
    /// network namespaces when `confined` (which needs root), else the test helper's
    /// unconfined server.
    init(readOnly: Bool = false, channels: Int = 2, confined: Bool = false) throws {
        var template = Array("/tmp/gofer-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Errno.current }
        base = String(cString: made)
        try Self.build(base: base)
        let sockets = try UnixSocket.pair()
        if confined {
            gofer = try Helper.startExecutable(
                "runsc", ["gofer", "--root", base + "/root", "--socket-fd", "3"] + (readOnly ? ["--read-only"] : []),
                descriptors: [(sockets.second.rawValue, 3)], namespaces: [.mount, .network])
        } else {
            gofer = try Helper.start(
                "gofer-serve", [base + "/root"] + (readOnly ? ["ro"] : []), descriptors: [(sockets.second.rawValue, 3)])
        }
        _ = consume sockets.second
        if !confined { guard try gofer.readLine() == "serving" else { throw Errno.EIO } }
        client = try LisafsClient(socket: sockets.first, channels: channels)
    }

    deinit {
        var remover = try? ChildProcess.spawn(path: "/bin/rm", arguments: ["rm", "-rf", base])
        _ = try? remover?.wait()
    }

    private static func build(base: String) throws {
        for directory in ["root", "root/dir", "root/dir/sub", "root/empty", "outside"] {
            guard mkdir(base + "/" + directory, 0o755) == 0 else { throw Errno.current }
        }
        try write(base + "/root/file.txt", Array("hello gofer\n".utf8))
        try write(base + "/root/dir/nested.bin", (0..<12288).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })
        try write(base + "/outside/secret.txt", Array("outside\n".utf8))
        guard symlink("/etc/passwd", base + "/root/link-passwd") == 0, symlink("../../", base + "/root/link-up") == 0,
            symlink("dir/nested.bin", base + "/root/link-rel") == 0, mkfifo(base + "/root/fifo", 0o644) == 0,
            link(base + "/outside/secret.txt", base + "/root/hardlink-outside") == 0
        else { throw Errno.current }
    }

    static func write(_ path: String, _ bytes: [UInt8]) throws {
        let fd = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        try bytes.withUnsafeBytes { try fd.writeAll($0) }
    }

    /// The host's statx of `relative` (inside the root), not following a symlink.
    func hostStat(_ relative: String) throws -> LinuxStatx {
        let fd = try FileDescriptor.open(root + (relative.isEmpty ? "" : "/" + relative), flags: OpenFlags([.path, .noFollow]).rawValue)
        return try fd.statx()
    }

    /// Walks `path` (components split at "/") from the root and returns the last inode.
    func walk(_ path: String) throws -> LisafsInode {
        let names = path.split(separator: "/").map { SizedString(String($0))! }
        let answer = try client.call(WalkRequest(dirFD: client.root.controlFD, path: names))
        guard answer.status == .success || answer.status == .componentSymlink, let last = answer.inodes.last,
            answer.inodes.count == names.count
        else { throw LinuxErrno.ENOENT }
        return last
    }

    /// The number of fds open in this process.
    static func openDescriptorCount(pid: pid_t) -> Int {
        guard let directory = opendir("/proc/\(pid)/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while readdir(directory) != nil { count += 1 }
        return count - 3  // ".", "..", and the fd of the listing itself
    }
}

/// Compares a statx from the gofer with the host's for the fields lisafs carries.
func sameFile(_ gofer: LisafsStatx, _ host: LinuxStatx) -> Bool {
    gofer.inode == host.ino && gofer.mode == host.mode && gofer.linkCount == host.nlink && gofer.uid == host.uid
        && gofer.gid == host.gid && gofer.size == host.size && gofer.modificationTime.seconds == host.mtime.seconds
        && gofer.modificationTime.nanoseconds == host.mtime.nanoseconds && gofer.devMajor == host.devMajor
        && gofer.devMinor == host.devMinor
}

import Glibc
import HostSys
import LinuxABI

/// The served tree: `small/` with many 4 KiB files, and `big.bin`.
struct Tree {
    let path: String
    let names: [String]
    let bigFileBytes: Int

    init(path: String, files: Int, bigFileBytes: Int) throws {
        self.path = path
        self.bigFileBytes = bigFileBytes
        names = (0..<files).map { "f" + String($0) }
        Tree.removeTree(path)
        guard mkdir(path, 0o755) == 0, mkdir(path + "/small", 0o755) == 0 else { throw Errno.current }
        let directory = try FileDescriptor.open(path + "/small", flags: OpenFlags([.directory]).rawValue)
        let block = [UInt8](repeating: 0x61, count: 4096)
        for name in names {
            let file = try directory.openAt(HostPath(name), flags: [.writeOnly, .create, .exclusive], mode: 0o644)
            try block.withUnsafeBytes { try file.writeAll($0) }
        }
        let big = try FileDescriptor.open(path + "/big.bin", flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        let chunk = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        for _ in 0..<(bigFileBytes >> 20) { try chunk.withUnsafeBytes { try big.writeAll($0) } }
    }

    func remove() { Tree.removeTree(path) }

    static func removeTree(_ path: String) {
        var remover = try? ChildProcess.spawn(path: "/bin/rm", arguments: ["rm", "-rf", path])
        _ = try? remover?.wait()
    }
}

import LinuxABI
import Synchronization

/// The device files of `/dev` (DESIGN.md): null, zero, full, random and urandom, as Linux's
/// memory devices (mem(4), null(4), random(4)) behave.
enum Devices {
    /// Makes the `/dev` tree: the devices, `shm` (a tmpfs directory), and the standard links.
    static func makeTree(device: UInt64) -> TmpfsInode {
        let root = TmpfsInode.makeRoot(device: device, mode: FileMode.directory | 0o755)
        let devices: [([UInt8], UInt64, @Sendable () throws(LinuxErrno) -> any FileOperations)] = [
            (Array("null".utf8), 1 << 8 | 3, { NullDevice() }),
            (Array("zero".utf8), 1 << 8 | 5, { ZeroDevice() }),
            (Array("full".utf8), 1 << 8 | 7, { FullDevice() }),
            (Array("random".utf8), 1 << 8 | 8, { RandomDevice() }),
            (Array("urandom".utf8), 1 << 8 | 9, { RandomDevice() }),
        ]
        // Made before the directory's lock is taken: making a child reads the directory's mode.
        var entries: [([UInt8], TmpfsInode)] = devices.map { name, rdev, factory in
            (name, root.child(mode: FileMode.character | 0o666, contents: .special(factory), rdev: rdev))
        }
        entries.append((Array("shm".utf8), root.child(mode: FileMode.directory | 0o1777, contents: .directory([:]))))
        for (name, target) in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")] {
            entries.append((Array(name.utf8), root.child(mode: FileMode.symlink | 0o777, contents: .symlink(Array(target.utf8)))))
        }
        root.state.withLock { state in
            guard case .directory(var children) = state.contents else { return }
            for (name, inode) in entries { children[name] = inode }
            state.contents = .directory(children)
        }
        return root
    }
}

extension Devices {
    /// Adds `/dev/tty` to the tree made by `makeTree`: the controlling terminal, for a sandbox
    /// whose stdio is a terminal; each open gets its own `open()`.
    static func addTerminal(to root: TmpfsInode, open: @escaping @Sendable () throws(LinuxErrno) -> any FileOperations) {
        let terminal = root.child(mode: FileMode.character | 0o666, contents: .special(open), rdev: 5 << 8 | 0)
        root.state.withLock { state in
            guard case .directory(var children) = state.contents else { return }
            children[Array("tty".utf8)] = terminal
            state.contents = .directory(children)
        }
    }
}

/// The stat of a character device in the sandbox's devtmpfs.
private func deviceStat(_ rdev: UInt64) -> LinuxStat {
    var stat = LinuxStat()
    stat.mode = FileMode.character | 0o666
    stat.rdev = rdev
    stat.nlink = 1
    stat.blksize = 4096
    return stat
}

/// /dev/null: reads are end of file, writes vanish.
final class NullDevice: FileOperations {
    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { [] }
    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { bytes.count }
    func stat() throws(LinuxErrno) -> LinuxStat { deviceStat(1 << 8 | 3) }
    func seek(offset: Int64, whence: Int32) throws(LinuxErrno) -> Int64 { 0 }
}

/// Zeroes the program's memory in place: a read of /dev/zero or /dev/full needs no buffer,
/// however large it is.
private func zero(_ buffers: [UnsafeMutableRawBufferPointer]) -> Int {
    for buffer in buffers { buffer.initializeMemory(as: UInt8.self, repeating: 0) }
    return buffers.reduce(0) { $0 + $1.count }
}

/// /dev/zero: reads are zeros, writes vanish.
final class ZeroDevice: FileOperations {
    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { [UInt8](repeating: 0, count: count) }
    func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: Int64?) throws(LinuxErrno) -> Int? { zero(buffers) }
    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { bytes.count }
    func stat() throws(LinuxErrno) -> LinuxStat { deviceStat(1 << 8 | 5) }
    func seek(offset: Int64, whence: Int32) throws(LinuxErrno) -> Int64 { 0 }
}

/// /dev/full: reads are zeros, writes fail with ENOSPC.
final class FullDevice: FileOperations {
    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { [UInt8](repeating: 0, count: count) }
    func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: Int64?) throws(LinuxErrno) -> Int? { zero(buffers) }
    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { throw .ENOSPC }
    func stat() throws(LinuxErrno) -> LinuxStat { deviceStat(1 << 8 | 7) }
    func seek(offset: Int64, whence: Int32) throws(LinuxErrno) -> Int64 { 0 }
}

/// /dev/random and /dev/urandom: reads are random bytes from the host's generator; writes
/// (entropy the program offers) are accepted and ignored.
final class RandomDevice: FileOperations {
    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { fill($0) }
        return bytes
    }

    /// Fills the program's memory in place, eight bytes per draw from the generator.
    func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: Int64?) throws(LinuxErrno) -> Int? {
        for buffer in buffers { fill(buffer) }
        return buffers.reduce(0) { $0 + $1.count }
    }

    private func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        var generator = SystemRandomNumberGenerator()
        var index = 0
        while index < buffer.count {
            let word = generator.next()
            let count = min(8, buffer.count - index)
            withUnsafeBytes(of: word) { buffer[index..<(index + count)].copyBytes(from: $0.prefix(count)) }
            index += count
        }
    }
    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { bytes.count }
    func stat() throws(LinuxErrno) -> LinuxStat { deviceStat(1 << 8 | 9) }
    func seek(offset: Int64, whence: Int32) throws(LinuxErrno) -> Int64 { 0 }
}

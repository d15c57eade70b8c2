import LinuxABI
import Synchronization

/// The device files of `/dev` (DESIGN.md): null, zero, full, random and urandom, as Linux's
/// memory devices (mem(4), null(4), random(4)) behave.
enum Devices {
    /// Makes the `/dev` tree: the devices, `shm` (a tmpfs directory), and the standard links.
    static func makeTree(device: UInt64) -> TmpfsInode {
        let root = TmpfsInode.makeRoot(device: device, mode: FileMode.directory | 0o755)
        let devices: [([UInt8], UInt64, @Sendable () -> any FileOperations)] = [
            (Array("null".utf8), 1 << 8 | 3, { NullDevice() }),
            (Array("zero".utf8), 1 << 8 | 5, { ZeroDevice() }),
            (Array("full".utf8), 1 << 8 | 7, { FullDevice() }),
            (Array("random".utf8), 1 << 8 | 8, { RandomDevice() }),
            (Array("urandom".utf8), 1 << 8 | 9, { RandomDevice() }),
        ]
        root.state.withLock { state in
            guard case .directory(var children) = state.contents else { return }
            for (name, rdev, factory) in devices {
                children[name] = root.child(mode: FileMode.character | 0o666, contents: .special(factory), rdev: rdev)
            }
            let shm = root.child(mode: FileMode.directory | 0o1777, contents: .directory([:]))
            children[Array("shm".utf8)] = shm
            for (name, target) in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")] {
                children[Array(name.utf8)] = root.child(mode: FileMode.symlink | 0o777, contents: .symlink(Array(target.utf8)))
            }
            state.contents = .directory(children)
        }
        return root
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

/// /dev/zero: reads are zeros, writes vanish.
final class ZeroDevice: FileOperations {
    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { [UInt8](repeating: 0, count: count) }
    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { bytes.count }
    func stat() throws(LinuxErrno) -> LinuxStat { deviceStat(1 << 8 | 5) }
    func seek(offset: Int64, whence: Int32) throws(LinuxErrno) -> Int64 { 0 }
}

/// /dev/full: reads are zeros, writes fail with ENOSPC.
final class FullDevice: FileOperations {
    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { [UInt8](repeating: 0, count: count) }
    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { throw .ENOSPC }
    func stat() throws(LinuxErrno) -> LinuxStat { deviceStat(1 << 8 | 7) }
    func seek(offset: Int64, whence: Int32) throws(LinuxErrno) -> Int64 { 0 }
}

/// /dev/random and /dev/urandom: reads are random bytes from the host's generator; writes
/// (entropy the program offers) are accepted and ignored.
final class RandomDevice: FileOperations {
    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { bytes.count }
    func stat() throws(LinuxErrno) -> LinuxStat { deviceStat(1 << 8 | 9) }
    func seek(offset: Int64, whence: Int32) throws(LinuxErrno) -> Int64 { 0 }
}

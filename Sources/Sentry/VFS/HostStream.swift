import Glibc
import HostSys
import LinuxABI

/// A host fd the Sentry holds for the program: the sandbox's stdio, inherited from runsc.
/// The Sentry reads and writes it on the program's behalf; the program's own syscalls never
/// reach the host.
final class HostStream: FileOperations {
    let fd: FileDescriptor

    init(fd: consuming FileDescriptor) {
        self.fd = fd
    }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] {
        if offset != nil { throw .ESPIPE }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 8)
        defer { buffer.deallocate() }
        let n = try onBehalfOfGuest { () throws(Errno) in try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])) }
        return Array(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }

    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int {
        if offset != nil { throw .ESPIPE }
        return try bytes.withUnsafeBytes { buffer in Result { () throws(Errno) in try fd.write(buffer) } }
            .mapError { $0.linuxErrno }.get()
    }

    /// The host file's type and size; ids and times as the host reports them.
    func stat() throws(LinuxErrno) -> LinuxStat {
        let statx = try onBehalfOfGuest { () throws(Errno) in try fd.statx() }
        var stat = LinuxStat()
        stat.mode = UInt32(statx.mode)
        stat.ino = statx.ino
        stat.nlink = UInt64(statx.nlink)
        stat.uid = statx.uid
        stat.gid = statx.gid
        stat.size = Int64(bitPattern: statx.size)
        stat.blksize = Int64(statx.blksize)
        stat.rdev = UInt64(statx.rdevMajor) << 8 | UInt64(statx.rdevMinor)
        return stat
    }

    func readiness(_ events: PollEvents) -> PollEvents {
        (try? fd.poll(events, timeoutMilliseconds: 0)) ?? .error
    }
}

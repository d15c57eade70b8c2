import CShim
import Glibc
import HostSys
import LinuxABI

/// A host fd the Sentry holds for the program: the sandbox's stdio, inherited from runsc.
/// The Sentry reads and writes it on the program's behalf; the program's own syscalls never
/// reach the host. On a terminal, the Sentry also passes on the few terminal requests a
/// program needs (its settings and window size, as gVisor's host TTY does), copying each
/// structure between the program's memory and its own.
final class HostStream: FileOperations {
    let fd: FileDescriptor
    private let isTerminal: Bool

    init(fd: consuming FileDescriptor) {
        isTerminal = Glibc.isatty(fd.rawValue) == 1
        self.fd = fd
    }

    /// The terminal requests passed on, with the size of the structure each reads or writes
    /// (`struct termios` of the kernel ABI: 36 bytes; `struct winsize`: 8) and its direction.
    private static let terminalRequests: [UInt64: (size: Int, fromProgram: Bool)] = [
        0x5401: (36, false),  // TCGETS
        0x5402: (36, true),  // TCSETS
        0x5403: (36, true),  // TCSETSW
        0x5404: (36, true),  // TCSETSF
        0x5413: (8, false),  // TIOCGWINSZ
        0x5414: (8, true),  // TIOCSWINSZ
    ]

    func ioctl(request: UInt64, argument: UInt64, mm: MemoryManager) throws(LinuxErrno) -> Int64 {
        guard isTerminal, let (size, fromProgram) = Self.terminalRequests[request] else { throw .ENOTTY }
        var buffer = fromProgram ? try mm.copyIn(from: argument, count: size) : [UInt8](repeating: 0, count: size)
        let fd = fd.rawValue
        let result = buffer.withUnsafeMutableBytes { bytes in cshim_ioctl(fd, UInt(request), bytes.baseAddress) }
        if result < 0 { throw Errno.current.linuxErrno }
        if !fromProgram { try mm.copyOut(buffer, to: argument) }
        return 0
    }

    /// Waits until the host fd is ready for `events` (or in error), in 20 ms polls, so that a
    /// signal for the calling task ends the wait as it ends an interruptible sleep
    /// (ERESTARTSYS): a thread reading a terminal does not outlive its process's end.
    private func waitUntilReady(_ events: PollEvents) throws(LinuxErrno) {
        let fd = fd.rawValue
        while true {
            let ready = try onBehalfOfGuest { () throws(Errno) in try FileDescriptor.poll(fd, events, timeoutMilliseconds: 20) }
            if !ready.isEmpty { return }
            if let task = Task.current, task.signalQueue.hasPending(in: task.interruptingSignals) { throw .ERESTARTSYS }
        }
    }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] {
        if offset != nil { throw .ESPIPE }
        try waitUntilReady(.input)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 8)
        defer { buffer.deallocate() }
        let n = try onBehalfOfGuest { () throws(Errno) in try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])) }
        return Array(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }

    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int {
        if offset != nil { throw .ESPIPE }
        try waitUntilReady(.output)
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

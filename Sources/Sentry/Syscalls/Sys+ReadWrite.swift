import LinuxABI

extension Syscalls {
    /// The most bytes one read or write moves (Linux's MAX_RW_COUNT: INT_MAX rounded down to a
    /// page); larger counts are clipped.
    static let maxReadWriteCount = 0x7fff_f000
    /// The most iovecs one call takes (UIO_MAXIOV).
    static let maxIOVecs: UInt64 = 1024

    static func readable(_ task: Task, _ fd: UInt64) throws(LinuxErrno) -> FileDescription {
        let file = try task.fds.get(Int32(truncatingIfNeeded: fd))
        guard file.isReadable else { throw .EBADF }
        return file
    }

    static func writable(_ task: Task, _ fd: UInt64) throws(LinuxErrno) -> FileDescription {
        let file = try task.fds.get(Int32(truncatingIfNeeded: fd))
        guard file.isWritable else { throw .EBADF }
        return file
    }

    /// An offset argument of pread64/pwrite64: negative is EINVAL.
    static func offset(_ value: UInt64) throws(LinuxErrno) -> Int64 {
        let offset = Int64(bitPattern: value)
        guard offset >= 0 else { throw .EINVAL }
        return offset
    }

    /// Implements Linux read(2).
    static func read(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try readable(task, arguments[0])
        return .value(Int64(try read(task, file, into: arguments[1], count: Int(min(arguments[2], UInt64(maxReadWriteCount))), at: nil)))
    }

    /// Reads `count` bytes of `file` into the program's memory at `address`: straight into it
    /// when the file can (a donated host fd, a Netstack socket; the range stays pinned while
    /// the read runs, waits included), else through a copy.
    static func read(_ task: Task, _ file: FileDescription, into address: UInt64, count: Int, at offset: Int64?) throws(LinuxErrno) -> Int {
        if count > 0, (try? task.mm.requireMapped(address, address &+ UInt64(count))) != nil,
            let n = try task.mm.withPinnedRanges(address, count, { (ranges) throws(LinuxErrno) in try file.read(into: ranges, at: offset) })
        {
            return n
        }
        let bytes = try file.read(count: count, at: offset)
        try task.mm.copyOut(bytes, to: address)
        return bytes.count
    }

    /// Implements Linux write(2). An unmapped buffer is EFAULT; a write to a pipe with no
    /// reader raises SIGPIPE (which, by default, ends the process) and fails with EPIPE.
    static func write(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try writable(task, arguments[0])
        let bytes = try task.mm.copyIn(from: arguments[1], count: Int(min(arguments[2], UInt64(maxReadWriteCount))))
        return try brokenPipe(task) { () throws(LinuxErrno) in Int64(try file.write(bytes, at: nil)) }
    }

    /// Runs a write; on EPIPE, sends SIGPIPE to the writer first, as Linux does.
    static func brokenPipe(_ task: Task, _ body: () throws(LinuxErrno) -> Int64) throws(LinuxErrno) -> SyscallOutcome {
        do {
            return .value(try body())
        } catch {
            guard error == .EPIPE else { throw error }
            if case .killed(let signal) = try signalSelf(task, 13) { return .killed(signal) }
            throw error
        }
    }

    /// Implements Linux pread64(2).
    static func pread64(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try readable(task, arguments[0])
        let count = Int(min(arguments[2], UInt64(maxReadWriteCount)))
        return .value(Int64(try read(task, file, into: arguments[1], count: count, at: try offset(arguments[3]))))
    }

    /// Implements Linux pwrite64(2).
    static func pwrite64(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try writable(task, arguments[0])
        let bytes = try task.mm.copyIn(from: arguments[1], count: Int(min(arguments[2], UInt64(maxReadWriteCount))))
        return .value(Int64(try file.operations.write(bytes, at: try offset(arguments[3]))))
    }

    /// The (base, length) pairs of an iovec array; more than UIO_MAXIOV is EINVAL.
    static func iovecs(_ task: Task, _ address: UInt64, _ count: UInt64) throws(LinuxErrno) -> [(UInt64, Int)] {
        guard count <= maxIOVecs else { throw .EINVAL }
        let raw = try task.mm.copyIn(from: address, count: Int(count) * 16)
        func word(_ at: Int) -> UInt64 {
            raw[at..<(at + 8)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        }
        var vectors: [(UInt64, Int)] = []
        var total = 0
        for index in 0..<Int(count) {
            let length = word(index * 16 + 8)
            guard length <= UInt64(Int.max) else { throw .EINVAL }
            let take = min(Int(length), maxReadWriteCount - total)
            vectors.append((word(index * 16), take))
            total += take
        }
        return vectors
    }

    /// Implements Linux readv(2): one read of the total length, scattered over the buffers.
    static func readv(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try readable(task, arguments[0])
        let vectors = try iovecs(task, arguments[1], arguments[2])
        let bytes = try file.read(count: vectors.reduce(0) { $0 + $1.1 }, at: nil)
        var done = 0
        for (base, length) in vectors where done < bytes.count {
            let part = min(length, bytes.count - done)
            try task.mm.copyOut(Array(bytes[done..<(done + part)]), to: base)
            done += part
        }
        return .value(Int64(bytes.count))
    }

    /// Implements Linux writev(2): the buffers gathered in order, as one write.
    static func writev(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try writable(task, arguments[0])
        var bytes: [UInt8] = []
        for (base, length) in try iovecs(task, arguments[1], arguments[2]) where length > 0 {
            bytes += try task.mm.copyIn(from: base, count: length)
        }
        return try brokenPipe(task) { () throws(LinuxErrno) in Int64(try file.write(bytes, at: nil)) }
    }

    /// Implements Linux lseek(2) (pipes and the sandbox's stdio are ESPIPE).
    static func lseek(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try task.fds.get(Int32(truncatingIfNeeded: arguments[0]))
        return .value(try file.operations.seek(offset: Int64(bitPattern: arguments[1]), whence: Int32(truncatingIfNeeded: arguments[2])))
    }

    /// Implements Linux preadv(2): readv at `offset` (the file position stays), one read.
    static func preadv(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try readable(task, arguments[0])
        let at = try offset(arguments[3])
        let vectors = try iovecs(task, arguments[1], arguments[2])
        let bytes = try file.read(count: min(vectors.reduce(0) { $0 + $1.1 }, maxReadWriteCount), at: at)
        var done = 0
        for (base, length) in vectors where done < bytes.count {
            let part = min(length, bytes.count - done)
            try task.mm.copyOut(Array(bytes[done..<(done + part)]), to: base)
            done += part
        }
        return .value(Int64(bytes.count))
    }

    /// Implements Linux pwritev(2): writev at `offset` (the file position stays), one write.
    static func pwritev(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try writable(task, arguments[0])
        let at = try offset(arguments[3])
        var bytes: [UInt8] = []
        for (base, length) in try iovecs(task, arguments[1], arguments[2]) where length > 0 {
            bytes += try task.mm.copyIn(from: base, count: length)
        }
        return .value(Int64(try file.operations.write(bytes, at: at)))
    }

    /// preadv2(2) and pwritev2(2) flags: RWF_HIPRI, RWF_DSYNC and RWF_SYNC (no-ops: the
    /// Sentry's files are in memory, and every write is as durable as they get on return),
    /// RWF_NOWAIT (the call fails with EAGAIN rather than wait) and RWF_APPEND (ignored by
    /// reads; not served for writes).
    static let rwfHighPriority: UInt64 = 1, rwfDataSync: UInt64 = 2, rwfSync: UInt64 = 4, rwfNoWait: UInt64 = 8, rwfAppend: UInt64 = 0x10

    /// Implements Linux preadv2(2): preadv, or readv from the file position when the offset
    /// is -1; unknown flags are EOPNOTSUPP.
    static func preadv2(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let flags = arguments[5]
        guard flags & ~(rwfHighPriority | rwfDataSync | rwfSync | rwfNoWait | rwfAppend) == 0 else { throw .EOPNOTSUPP }
        let file = try readable(task, arguments[0])
        let at: Int64? = Int64(bitPattern: arguments[3]) == -1 ? nil : try offset(arguments[3])
        let vectors = try iovecs(task, arguments[1], arguments[2])
        let count = min(vectors.reduce(0) { $0 + $1.1 }, maxReadWriteCount)
        let bytes = flags & rwfNoWait != 0 || file.flags.contains(.nonBlocking)
            ? try file.operations.read(count: count, at: at, nonBlocking: true) : try file.read(count: count, at: at)
        var done = 0
        for (base, length) in vectors where done < bytes.count {
            let part = min(length, bytes.count - done)
            try task.mm.copyOut(Array(bytes[done..<(done + part)]), to: base)
            done += part
        }
        return .value(Int64(bytes.count))
    }

    /// Implements Linux pwritev2(2): pwritev, or writev at the file position when the offset
    /// is -1. RWF_APPEND is EOPNOTSUPP (an append must be one step with the write, which the
    /// file operations do only for O_APPEND), as are unknown flags.
    static func pwritev2(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let flags = arguments[5]
        guard flags & ~(rwfHighPriority | rwfDataSync | rwfSync | rwfNoWait) == 0 else { throw .EOPNOTSUPP }
        let file = try writable(task, arguments[0])
        let at: Int64? = Int64(bitPattern: arguments[3]) == -1 ? nil : try offset(arguments[3])
        var bytes: [UInt8] = []
        for (base, length) in try iovecs(task, arguments[1], arguments[2]) where length > 0 {
            bytes += try task.mm.copyIn(from: base, count: length)
        }
        let nonBlocking = flags & rwfNoWait != 0 || file.flags.contains(.nonBlocking)
        return try brokenPipe(task) { () throws(LinuxErrno) in Int64(try file.operations.write(bytes, at: at, nonBlocking: nonBlocking)) }
    }

    /// Implements Linux sendfile(2): copies up to `count` bytes from `in_fd` (from *offset,
    /// which moves, when given; else from its position, which moves by what was sent) to
    /// `out_fd`, in pieces of at most 1 MiB, and returns how many went; a short read or write
    /// ends it early, and an error after some bytes went returns their count. EBADF for an
    /// fd not open for its direction, EINVAL for an out_fd with O_APPEND or a range past the
    /// largest offset; a write to a pipe with no reader raises SIGPIPE, as write does.
    static func sendfile(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let output = try writable(task, arguments[0])
        let input = try readable(task, arguments[1])
        guard !output.flags.contains(.append) else { throw .EINVAL }
        let total = Int(min(arguments[3], UInt64(maxReadWriteCount)))
        var explicit: Int64? = nil
        if arguments[2] != 0 { explicit = Int64(bitPattern: word(try task.mm.copyIn(from: arguments[2], count: 8))) }
        // Without an offset, a seekable input is read at its position, which then moves by
        // what went (not by what was read); a pipe is read as it comes.
        let start = explicit ?? (try? input.operations.seek(offset: 0, whence: 1))
        if let start, start < 0 || start > Int64.max - Int64(total) { throw .EINVAL }
        var sent = 0
        let outcome = try brokenPipe(task) { () throws(LinuxErrno) -> Int64 in
            do throws(LinuxErrno) {
                while sent < total {
                    let piece = try input.read(count: min(total - sent, 1 << 20), at: start.map { $0 + Int64(sent) })
                    if piece.isEmpty { break }
                    let written = try output.write(piece, at: nil)
                    sent += written
                    if written < piece.count { break }
                }
            } catch {
                if sent == 0 { throw error }
            }
            return Int64(sent)
        }
        if let start {
            if explicit != nil {
                try task.mm.copyOut(bytes(UInt64(start + Int64(sent))), to: arguments[2])
            } else {
                _ = try input.operations.seek(offset: start + Int64(sent), whence: 0)
            }
        }
        return outcome
    }
}

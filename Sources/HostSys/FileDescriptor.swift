import CShim
import Glibc
import LinuxABI

/// A host file descriptor this process owns. Closed when the value ends, unless released.
///
/// `~Copyable`: exactly one owner, so no fd is closed twice or leaked by a copy. Borrow it to
/// use it; `release()` hands the number to someone else (a child process, a mapping's owner).
public struct FileDescriptor: ~Copyable, Sendable {
    /// The fd number. Valid while this value lives.
    public let rawValue: Int32

    /// Takes ownership of `rawValue`, which must be an open fd nobody else closes.
    public init(owning rawValue: Int32) {
        precondition(rawValue >= 0, "FileDescriptor(owning: \(rawValue))")
        self.rawValue = rawValue
    }

    deinit { closeOwned(rawValue) }

    /// Gives up ownership without closing and returns the number.
    public consuming func release() -> Int32 {
        let fd = rawValue
        discard self
        return fd
    }

    /// A close-on-exec duplicate of this fd, and this one given up without closing (for fds
    /// a process inherited and must not lose, such as its stdio).
    public consuming func duplicateAndRelease() throws(Errno) -> FileDescriptor {
        let copy = try duplicate(minimum: 3)
        _ = release()
        return copy
    }

    /// Closes the fd now.
    public consuming func close() {
        closeOwned(release())
    }

    /// A new fd for the same open file (F_DUPFD_CLOEXEC), at `minimum` or above.
    public borrowing func duplicate(minimum: Int32 = 0) throws(Errno) -> FileDescriptor {
        let fd = rawValue
        return FileDescriptor(owning: try hostCall { cshim_fcntl_int(fd, F_DUPFD_CLOEXEC, minimum) })
    }

    /// Reads up to `buffer.count` bytes; 0 means end of file.
    public borrowing func read(into buffer: UnsafeMutableRawBufferPointer, retryOnInterrupt: Bool = true) throws(Errno) -> Int {
        let fd = rawValue
        return try hostCall(retryOnInterrupt: retryOnInterrupt) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Writes up to `buffer.count` bytes and returns how many were written.
    public borrowing func write(_ buffer: UnsafeRawBufferPointer) throws(Errno) -> Int {
        let fd = rawValue
        return try hostCall { Glibc.write(fd, buffer.baseAddress, buffer.count) }
    }

    /// Writes all of `buffer`, looping over short writes.
    public borrowing func writeAll(_ buffer: UnsafeRawBufferPointer) throws(Errno) {
        var done = 0
        while done < buffer.count {
            done += try write(UnsafeRawBufferPointer(rebasing: buffer[done...]))
        }
    }

    /// Reads exactly `buffer.count` bytes; returns false on end of file before the first byte
    /// and throws EIO on end of file in the middle.
    public borrowing func readExactly(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Bool {
        var done = 0
        while done < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            if n == 0 {
                if done == 0 { return false }
                throw .EIO
            }
            done += n
        }
        return true
    }

    /// Reads until end of file (a pipe's writers all gone) and returns every byte.
    public borrowing func readToEnd() throws(Errno) -> [UInt8] {
        var bytes: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let count = try read(into: buffer)
            if count == 0 { return bytes }
            bytes += UnsafeRawBufferPointer(rebasing: buffer[0..<count])
        }
    }

    /// Reads at `offset` without moving the file position (pread(2)).
    public borrowing func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        let fd = rawValue
        return try hostCall { Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// Writes at `offset` without moving the file position (pwrite(2)).
    public borrowing func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        let fd = rawValue
        return try hostCall { Glibc.pwrite(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// The file's size in bytes (fstat(2) st_size).
    public borrowing func size() throws(Errno) -> Int64 {
        let fd = rawValue
        var st = stat()
        _ = try hostCall { fstat(fd, &st) }
        return Int64(st.st_size)
    }

    /// Sets the file's size (ftruncate(2)).
    public borrowing func truncate(to size: Int64) throws(Errno) {
        let fd = rawValue
        _ = try hostCall { ftruncate(fd, off_t(size)) }
    }

    /// Sets or clears O_NONBLOCK.
    public borrowing func setNonBlocking(_ on: Bool) throws(Errno) {
        let fd = rawValue
        let flags = try hostCall { cshim_fcntl_int(fd, F_GETFL, 0) }
        let wanted = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        if wanted != flags { _ = try hostCall { cshim_fcntl_int(fd, F_SETFL, wanted) } }
    }

    /// Waits up to `timeoutMilliseconds` (-1 forever) for `events`; returns the events seen
    /// (empty on timeout). POLLHUP and POLLERR are reported whether asked for or not.
    public borrowing func poll(_ events: PollEvents, timeoutMilliseconds: Int32) throws(Errno) -> PollEvents {
        try FileDescriptor.poll(rawValue, events, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// poll(2) on an fd number held elsewhere (see the instance method).
    public static func poll(_ fd: Int32, _ events: PollEvents, timeoutMilliseconds: Int32) throws(Errno) -> PollEvents {
        var entry = pollfd(fd: fd, events: events.rawValue, revents: 0)
        let n = try hostCall { Glibc.poll(&entry, 1, timeoutMilliseconds) }
        return n == 0 ? [] : PollEvents(rawValue: entry.revents)
    }

    /// A new pipe, both ends close-on-exec: `first` reads, `second` writes.
    public static func pipe() throws(Errno) -> DescriptorPair {
        var fds: [Int32] = [-1, -1]
        _ = try hostCall { cshim_pipe2(&fds, O_CLOEXEC) }
        return DescriptorPair(first: FileDescriptor(owning: fds[0]), second: FileDescriptor(owning: fds[1]))
    }

    /// Opens `path` (open(2)); close-on-exec is always added.
    public static func open(_ path: String, flags: Int32, mode: mode_t = 0) throws(Errno) -> FileDescriptor {
        FileDescriptor(owning: try hostCall { Glibc.open(path, flags | O_CLOEXEC, mode) })
    }
}

/// Two fds made together (a pipe's ends, a socket pair). Take them apart with `consume`:
/// `let pair = try UnixSocket.pair(); let a = pair.first; let b = pair.second`.
@frozen
public struct DescriptorPair: ~Copyable {
    public var first: FileDescriptor
    public var second: FileDescriptor

    public init(first: consuming FileDescriptor, second: consuming FileDescriptor) {
        self.first = first
        self.second = second
    }
}

import LinuxABI
import Synchronization

/// What a kind of open file does (gVisor's FileDescriptionImpl): the VFS, pipes and sockets
/// implement it. Offsets are nil for calls that use and move the file position.
public protocol FileOperations: AnyObject {
    /// Reads up to `count` bytes; an empty result is end of file.
    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8]
    /// Writes `bytes` and returns how many were taken.
    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int
    /// fstat(2) of the open file.
    func stat() throws(LinuxErrno) -> LinuxStat
    /// ioctl(2), with the caller's memory for the argument's structure; files that are not
    /// terminals answer ENOTTY to terminal requests.
    func ioctl(request: UInt64, argument: UInt64, mm: MemoryManager) throws(LinuxErrno) -> Int64
    /// lseek(2); pipes and sockets are ESPIPE.
    func seek(offset: Int64, whence: Int32) throws(LinuxErrno) -> Int64
    /// The next directory entries from the file's position, at most `maximumBytes` of
    /// `linux_dirent64` records (getdents64(2)); files that are not directories are ENOTDIR.
    func readDirectory(maximumBytes: Int) throws(LinuxErrno) -> [UInt8]
    /// Which of `events` the file is ready for now (poll(2)); POLLERR and POLLHUP are reported
    /// whether asked for or not.
    func readiness(_ events: PollEvents) -> PollEvents
    /// Reads straight into `buffers` (views of the program's memory), in order, and returns
    /// the byte count; nil if this file has no such path (the caller then uses `read`).
    func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: Int64?) throws(LinuxErrno) -> Int?
    /// `read(count:at:)` for an open file description with O_NONBLOCK: a read that would
    /// wait fails with EAGAIN instead. Files whose reads never wait keep the default.
    func read(count: Int, at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> [UInt8]
    /// `read(into:at:)` with O_NONBLOCK, as `read(count:at:nonBlocking:)`.
    func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> Int?
    /// `write(_:at:)` with O_NONBLOCK: what fits is written, and a write that could take
    /// nothing fails with EAGAIN.
    func write(_ bytes: [UInt8], at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> Int
    /// A count that goes up with each event of the file (data, room, a peer gone: what wakes
    /// its wait queue on Linux): an edge-triggered epoll entry reports again only after it
    /// moved past `stampedReadiness`'s stamp at its last report. Files without their own
    /// count give the Sentry's readiness generation, which moves with every event anywhere
    /// (more reports than Linux, never fewer).
    var eventStamp: UInt64 { get }
    /// `readiness` with the event stamp it reflects: every event up to that stamp is in it.
    func stampedReadiness(_ events: PollEvents) -> (events: PollEvents, stamp: UInt64)
}

extension FileOperations {
    public func ioctl(request: UInt64, argument: UInt64, mm: MemoryManager) throws(LinuxErrno) -> Int64 { throw .ENOTTY }
    public func seek(offset: Int64, whence: Int32) throws(LinuxErrno) -> Int64 { throw .ESPIPE }
    public func readDirectory(maximumBytes: Int) throws(LinuxErrno) -> [UInt8] { throw .ENOTDIR }
    public func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: Int64?) throws(LinuxErrno) -> Int? { nil }
    public func read(count: Int, at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> [UInt8] {
        try read(count: count, at: offset)
    }
    public func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> Int? {
        try read(into: buffers, at: offset)
    }
    public func write(_ bytes: [UInt8], at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> Int {
        try write(bytes, at: offset)
    }
    /// Regular files and directories are always ready, as on Linux.
    public func readiness(_ events: PollEvents) -> PollEvents { events.intersection([.input, .output, .priority]) }
    public var eventStamp: UInt64 { Readiness.current() }
    /// The stamp read first: an event during `readiness` may be in it and still counts as new.
    public func stampedReadiness(_ events: PollEvents) -> (events: PollEvents, stamp: UInt64) {
        let stamp = eventStamp
        return (readiness(events), stamp)
    }
}

/// An open file: what an fd refers to (dup'ed fds and forked processes share one), with its
/// status flags. Locks: `flagsLock` guards the flags (F_SETFL from any sharer).
public final class FileDescription: @unchecked Sendable {
    public let operations: any FileOperations
    private let flagsLock = Mutex<OpenFlags>([])
    /// The access mode and the status flags (O_APPEND, O_NONBLOCK...), as F_GETFL reports them.
    public var flags: OpenFlags {
        get { flagsLock.withLock { $0 } }
        set { flagsLock.withLock { $0 = newValue } }
    }
    /// Where the file was opened in the tree (nil for pipes, sockets, the sandbox's stdio):
    /// the start of *at(2) calls relative to this fd, and fchdir(2).
    public let dentry: Dentry?

    public init(_ operations: any FileOperations, flags: OpenFlags, dentry: Dentry? = nil) {
        self.operations = operations
        self.dentry = dentry
        self.flags = flags
    }

    /// Its last close releases its flock(2) locks and its open-file-description record locks.
    deinit {
        FileLocks.shared.release(owner: ObjectIdentifier(self))
        RecordLocks.shared.release(.description(ObjectIdentifier(self)))
    }

    /// The key its file's locks go by (device and inode, as its name shows them).
    var lockKey: FileLocks.Key? {
        guard let status = try? stat() else { return nil }
        return FileLocks.Key(device: status.dev, inode: status.ino)
    }

    /// Reads with the description's O_NONBLOCK (read(2), readv(2)).
    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] {
        try operations.read(count: count, at: offset, nonBlocking: flags.contains(.nonBlocking))
    }

    /// Reads straight into the program's memory with the description's O_NONBLOCK; nil if
    /// the file has no such path.
    func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: Int64?) throws(LinuxErrno) -> Int? {
        try operations.read(into: buffers, at: offset, nonBlocking: flags.contains(.nonBlocking))
    }

    /// Writes with the description's O_NONBLOCK (write(2), writev(2)).
    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int {
        try operations.write(bytes, at: offset, nonBlocking: flags.contains(.nonBlocking))
    }

    /// fstat(2): the attributes of the file as its name shows them (stat(2) of the path
    /// gives the same device and inode, as programs check: an overlay file opened from its
    /// lower layer is the overlay's), else the open file's own.
    func stat() throws(LinuxErrno) -> LinuxStat {
        if let dentry { return try dentry.inode.stat() }
        return try operations.stat()
    }

    var accessMode: Int32 { flags.rawValue & OpenFlags.accessModeMask }
    /// An O_PATH descriptor: the name only, neither readable nor writable.
    var isPathOnly: Bool { operations is PathOnlyFile }
    var isReadable: Bool { !isPathOnly && (accessMode == OpenFlags.readOnly.rawValue || accessMode == OpenFlags.readWrite.rawValue) }
    var isWritable: Bool { !isPathOnly && (accessMode == OpenFlags.writeOnly.rawValue || accessMode == OpenFlags.readWrite.rawValue) }
}

/// The sandbox's standard output or error until host stdio is wired through: a write-only
/// stream whose bytes go to a sink, seen by the program as a FIFO (as a pipe from runsc is).
final class OutputStream: FileOperations {
    let sink: ([UInt8]) -> Void
    let inode: UInt64

    init(inode: UInt64, sink: @escaping ([UInt8]) -> Void) {
        self.inode = inode
        self.sink = sink
    }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { throw .EBADF }

    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int {
        if offset != nil { throw .ESPIPE }
        sink(bytes)
        return bytes.count
    }

    func stat() throws(LinuxErrno) -> LinuxStat { fifoStat(inode: inode) }
}

/// The sandbox's standard input until host stdio is wired through: a FIFO at end of file.
final class EmptyInput: FileOperations {
    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] {
        if offset != nil { throw .ESPIPE }
        return []
    }

    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { throw .EBADF }

    func stat() throws(LinuxErrno) -> LinuxStat { fifoStat(inode: 1) }
}

/// The stat of a pipe: S_IFIFO with mode 0600, on the pipe file system's device.
func fifoStat(inode: UInt64) -> LinuxStat { pseudoFileStat(mode: FileMode.fifo | 0o600, inode: inode, device: 0xd) }

/// The stat of a socket: S_IFSOCK with mode 0777, on the socket file system's device.
func socketStat(inode: UInt64) -> LinuxStat { pseudoFileStat(mode: FileMode.socket | 0o777, inode: inode, device: 0x8) }

/// The stat of a file of a kernel-internal file system (pipefs, sockfs): one link, a page as
/// block size, no size or times.
private func pseudoFileStat(mode: UInt32, inode: UInt64, device: UInt64) -> LinuxStat {
    var stat = LinuxStat()
    stat.mode = mode
    stat.ino = inode
    stat.nlink = 1
    stat.dev = device
    stat.blksize = 4096
    return stat
}

/// What an O_PATH open gives (open(2)): a name to start *at(2) calls from, fstat, fchdir and
/// close, without opening the file itself. Reading, writing, ioctl, seeking and listing are
/// EBADF, as on Linux.
final class PathOnlyFile: FileOperations, @unchecked Sendable {
    private let inode: any Inode

    init(_ inode: any Inode) { self.inode = inode }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { throw .EBADF }
    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { throw .EBADF }
    func stat() throws(LinuxErrno) -> LinuxStat { try inode.stat() }
    func ioctl(request: UInt64, argument: UInt64, mm: MemoryManager) throws(LinuxErrno) -> Int64 { throw .EBADF }
    func seek(offset: Int64, whence: Int32) throws(LinuxErrno) -> Int64 { throw .EBADF }
    func readDirectory(maximumBytes: Int) throws(LinuxErrno) -> [UInt8] { throw .EBADF }
    /// poll(2) of an O_PATH descriptor is POLLNVAL, as of a closed one.
    func readiness(_ events: PollEvents) -> PollEvents { .invalid }
}

import Gofer
import HostSys
import LinuxABI
import Synchronization

/// A file of the root file system, served by the gofer over lisafs (DESIGN.md, "FSImpl/").
///
/// Lookups and attributes are cached here (the dentry cache), so a second stat or lookup of
/// the same name does not go to the gofer. Regular files open with the host fd the gofer
/// donates, so reads skip the gofer. The tree is read-only until the overlay lands: opening
/// for writing is EROFS.
///
/// Locks: `cache` guards the children and the link target; processes of the sandbox look
/// names up from their own threads. The lisafs call of a miss runs outside the lock (two
/// threads may both walk a new name; the second result wins, both are the same file).
final class GoferInode: Inode, @unchecked Sendable {
    let client: LisafsClient
    let controlFD: LisafsFDID
    private let attributes: LinuxStat
    private let cache = Mutex<(children: [[UInt8]: GoferInode], target: [UInt8]?)>(([:], nil))

    init(client: LisafsClient, inode: LisafsInode) {
        self.client = client
        self.controlFD = inode.controlFD
        self.attributes = LinuxStat(inode.stat)
    }

    /// The root of the served tree.
    convenience init(root client: LisafsClient) {
        self.init(client: client, inode: client.root)
    }

    func stat() throws(LinuxErrno) -> LinuxStat { attributes }

    func lookup(_ name: [UInt8]) throws(LinuxErrno) -> any Inode {
        guard attributes.mode & FileMode.typeMask == FileMode.directory else { throw .ENOTDIR }
        if let child = cache.withLock({ $0.children[name] }) { return child }
        guard let sized = SizedString(bytes: name) else { throw .ENAMETOOLONG }
        let answer = try client.call(WalkRequest(dirFD: controlFD, path: [sized]))
        guard answer.status != .componentDoesNotExist, let inode = answer.inodes.first else { throw .ENOENT }
        let child = GoferInode(client: client, inode: inode)
        cache.withLock { $0.children[name] = child }
        return child
    }

    func readLink() throws(LinuxErrno) -> [UInt8] {
        guard attributes.mode & FileMode.typeMask == FileMode.symlink else { throw .EINVAL }
        if let target = cache.withLock({ $0.target }) { return target }
        let answer = try client.call(ReadLinkAtRequest(fd: controlFD)).target.bytes
        cache.withLock { $0.target = answer }
        return answer
    }

    func open(flags: OpenFlags) throws(LinuxErrno) -> any FileOperations {
        let access = flags.rawValue & OpenFlags.accessModeMask
        guard access == OpenFlags.readOnly.rawValue, !flags.contains(.truncate) else { throw .EROFS }
        switch attributes.mode & FileMode.typeMask {
        case FileMode.directory:
            let answer = try client.call(OpenAtRequest(fd: controlFD, flags: UInt32(OpenFlags.directory.rawValue)))
            return GoferDirectory(client: client, openFD: answer.openFD)
        case FileMode.regular:
            var answer = try client.callReceivingDescriptors(OpenAtRequest(fd: controlFD, flags: 0))
            guard let donated = answer.descriptors.take() else {
                return GoferFile(client: client, openFD: answer.response.openFD, attributes: attributes)
            }
            _ = try? client.call(CloseRequest(fds: [answer.response.openFD]))  // the host fd is all we need
            return HostFile(fd: donated, attributes: attributes)
        case FileMode.symlink:
            throw .ELOOP
        default:
            throw .ENXIO
        }
    }
}

extension LinuxStat {
    /// A `struct stat` from lisafs's statx.
    init(_ statx: LisafsStatx) {
        self.init()
        dev = UInt64(statx.devMajor) << 8 | UInt64(statx.devMinor & 0xff) | UInt64(statx.devMinor & ~0xff) << 12
        ino = statx.inode
        nlink = UInt64(statx.linkCount)
        mode = UInt32(statx.mode)
        uid = statx.uid
        gid = statx.gid
        rdev = UInt64(statx.rdevMajor) << 8 | UInt64(statx.rdevMinor & 0xff) | UInt64(statx.rdevMinor & ~0xff) << 12
        size = Int64(bitPattern: statx.size)
        blksize = Int64(statx.blockSize)
        blocks = Int64(bitPattern: statx.blocks)
        atime = LinuxTimespec(seconds: statx.accessTime.seconds, nanoseconds: Int64(statx.accessTime.nanoseconds))
        mtime = LinuxTimespec(seconds: statx.modificationTime.seconds, nanoseconds: Int64(statx.modificationTime.nanoseconds))
        ctime = LinuxTimespec(seconds: statx.changeTime.seconds, nanoseconds: Int64(statx.changeTime.nanoseconds))
    }
}

/// A regular file read through the host fd the gofer donated: reads are host preads, no
/// lisafs call at all. Keeps the open file's position.
final class HostFile: FileOperations, @unchecked Sendable {
    let fd: FileDescriptor
    let attributes: LinuxStat
    private let position = FilePosition()

    init(fd: consuming FileDescriptor, attributes: LinuxStat) {
        self.fd = fd
        self.attributes = attributes
    }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 8)
        defer { buffer.deallocate() }
        let n = try read(into: [UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])], at: offset)
        return Array(UnsafeRawBufferPointer(rebasing: buffer[0..<(n ?? 0)]))
    }

    /// Reads with host preads straight into the program's memory: no copy in the Sentry.
    func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: Int64?) throws(LinuxErrno) -> Int? {
        func readAll(from start: Int64) throws(LinuxErrno) -> Int {
            try onBehalfOfGuest { () throws(Errno) in
                var total = 0
                for buffer in buffers {
                    let n = try fd.read(into: buffer, at: start + Int64(total))
                    total += n
                    if n < buffer.count { break }
                }
                return total
            }
        }
        if let offset { return try readAll(from: offset) }
        return try position.withLock { (position) throws(LinuxErrno) in
            let n = try readAll(from: position)
            position += Int64(n)
            return n
        }
    }

    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { throw .EBADF }

    func stat() throws(LinuxErrno) -> LinuxStat { attributes }

    func seek(offset: Int64, whence: Int32) throws(LinuxErrno) -> Int64 {
        try position.seek(offset: offset, whence: whence, size: attributes.size)
    }
}

/// A regular file read over lisafs PRead (when the gofer donated no fd).
final class GoferFile: FileOperations, @unchecked Sendable {
    let client: LisafsClient
    let openFD: LisafsFDID
    let attributes: LinuxStat
    private let position = FilePosition()

    init(client: LisafsClient, openFD: LisafsFDID, attributes: LinuxStat) {
        self.client = client
        self.openFD = openFD
        self.attributes = attributes
    }

    deinit { _ = try? client.call(CloseRequest(fds: [openFD])) }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] {
        if let offset { return try client.read(openFD, offset: UInt64(offset), count: count) }
        return try position.withLock { (position) throws(LinuxErrno) in
            let data = try client.read(openFD, offset: UInt64(position), count: count)
            position += Int64(data.count)
            return data
        }
    }

    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { throw .EBADF }

    func stat() throws(LinuxErrno) -> LinuxStat { attributes }

    func seek(offset: Int64, whence: Int32) throws(LinuxErrno) -> Int64 {
        try position.seek(offset: offset, whence: whence, size: attributes.size)
    }
}

/// A directory open for getdents64, listed over lisafs Getdents64. Entries fetched but not
/// yet returned wait here for the next call.
final class GoferDirectory: FileOperations, @unchecked Sendable {
    let client: LisafsClient
    let openFD: LisafsFDID
    /// Guards the listing state below: processes that share the open directory list it in turn.
    private let lock = Monitor()
    private var pending: [LisafsDirent64] = []
    private var finished = false
    private var rewind = false

    init(client: LisafsClient, openFD: LisafsFDID) {
        self.client = client
        self.openFD = openFD
    }

    deinit { _ = try? client.call(CloseRequest(fds: [openFD])) }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { throw .EISDIR }
    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { throw .EBADF }

    func stat() throws(LinuxErrno) -> LinuxStat {
        LinuxStat(try client.call(FStatRequest(fd: openFD)).stat)
    }

    /// lseek to 0 rewinds the listing; other positions are EINVAL (directory offsets are
    /// opaque cookies this file does not hand out yet).
    func seek(offset: Int64, whence: Int32) throws(LinuxErrno) -> Int64 {
        guard whence == 0, offset == 0 else { throw .EINVAL }
        lock.locked {
            pending = []
            finished = false
            rewind = true
        }
        return 0
    }

    func readDirectory(maximumBytes: Int) throws(LinuxErrno) -> [UInt8] {
        try lock.locked { Result { () throws(LinuxErrno) in try readDirectoryLocked(maximumBytes: maximumBytes) } }.get()
    }

    private func readDirectoryLocked(maximumBytes: Int) throws(LinuxErrno) -> [UInt8] {
        var output: [UInt8] = []
        while true {
            if pending.isEmpty && !finished {
                let answer = try client.call(Getdents64Request(dirFD: openFD, count: rewind ? -65536 : 65536))
                rewind = false
                pending = answer.dirents
                finished = answer.dirents.isEmpty
            }
            guard let entry = pending.first else { return output }
            let record = linuxDirent64(entry)
            guard output.count + record.count <= maximumBytes else {
                if output.isEmpty { throw .EINVAL }  // the buffer cannot hold even one entry
                return output
            }
            output += record
            pending.removeFirst()
        }
    }

    /// `struct linux_dirent64`: ino u64, off i64, reclen u16, type u8, name, NUL, padded to 8.
    private func linuxDirent64(_ entry: LisafsDirent64) -> [UInt8] {
        let length = (19 + entry.name.bytes.count + 1 + 7) & ~7
        var record: [UInt8] = []
        record.reserveCapacity(length)
        withUnsafeBytes(of: entry.inode.littleEndian) { record += $0 }
        withUnsafeBytes(of: entry.offset.littleEndian) { record += $0 }
        withUnsafeBytes(of: UInt16(length).littleEndian) { record += $0 }
        record.append(entry.type)
        record += entry.name.bytes
        record += Array(repeating: 0, count: length - record.count)
        return record
    }
}

import LinuxABI

/// One directory entry as getdents64(2) reports it.
public struct DirectoryEntry: Equatable, Sendable {
    public var inode: UInt64
    public var type: UInt8
    public var name: [UInt8]
}

/// A change of a file's attributes (chmod(2), chown(2), utimensat(2)): what is nil stays.
public struct AttributeChange: Sendable {
    /// A new time: now, or a given one.
    public enum Time: Sendable {
        case now
        case at(LinuxTimespec)
    }

    /// The permission bits (07777), the file type staying.
    public var mode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    public var accessTime: Time?
    public var modificationTime: Time?
    /// chown(2), even of -1 and -1: set-user-ID goes, and set-group-ID with group execute,
    /// on a file that is not a directory.
    public var ownerChange = false

    public init(mode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil, accessTime: Time? = nil, modificationTime: Time? = nil) {
        (self.mode, self.uid, self.gid, self.accessTime, self.modificationTime) = (mode, uid, gid, accessTime, modificationTime)
    }

    /// chown's change: `uid` and `gid` (nil: kept), and the set-ID bits' removal.
    public static func owner(uid: UInt32?, gid: UInt32?) -> AttributeChange {
        var change = AttributeChange(uid: uid, gid: gid)
        change.ownerChange = true
        return change
    }
}

/// A file in some file system, as the VFS sees it (gVisor's FilesystemImpl dentry operations,
/// cut down to what path resolution and open need). File systems (the gofer, tmpfs, proc)
/// implement it.
public protocol Inode: AnyObject {
    /// statx-like attributes as `struct stat`.
    func stat() throws(LinuxErrno) -> LinuxStat
    /// The child named `name` of this directory, or ENOENT (ENOTDIR if not a directory).
    func lookup(_ name: [UInt8]) throws(LinuxErrno) -> any Inode
    /// A symlink's target (EINVAL if this is not a symlink).
    func readLink() throws(LinuxErrno) -> [UInt8]
    /// Opens the file for I/O with `flags` (the access mode and status flags of open(2)).
    func open(flags: OpenFlags) throws(LinuxErrno) -> any FileOperations
    /// Creates a regular file `name` in this directory (EEXIST if the name exists).
    func create(_ name: [UInt8], mode: UInt32) throws(LinuxErrno) -> any Inode
    /// Creates a directory `name` in this directory.
    func makeDirectory(_ name: [UInt8], mode: UInt32) throws(LinuxErrno)
    /// Creates a symlink `name` to `target` in this directory.
    func makeSymlink(_ name: [UInt8], target: [UInt8]) throws(LinuxErrno)
    /// Creates the socket file `name` (bind(2) of an AF_UNIX socket to a path): opening it is
    /// ENXIO, as on Linux.
    func makeSocket(_ name: [UInt8], mode: UInt32) throws(LinuxErrno)
    /// Creates the FIFO `name` (mknod(2), mkfifo(3)).
    func makeFifo(_ name: [UInt8], mode: UInt32) throws(LinuxErrno)
    /// Removes `name` from this directory: a non-directory, or (`directory`) an empty directory.
    func remove(_ name: [UInt8], directory: Bool) throws(LinuxErrno)
    /// Moves `name` of this directory to `newName` in `newParent` (same file system: else EXDEV).
    func rename(_ name: [UInt8], to newParent: any Inode, as newName: [UInt8]) throws(LinuxErrno)
    /// Sets the size of a regular file (truncate(2)).
    func truncate(to size: Int64) throws(LinuxErrno)
    /// Makes `name` in this directory another name of `target` (link(2)): EXDEV for a file of
    /// another file system, EPERM for a directory, EEXIST if the name exists.
    func link(_ target: any Inode, as name: [UInt8]) throws(LinuxErrno)
    /// Changes the mode, owner or times (the change time moves with any of them).
    func setAttributes(_ change: AttributeChange) throws(LinuxErrno)
    /// statfs(2) of the file system the file is on.
    func fileSystemStatistics() throws(LinuxErrno) -> LinuxStatfs
}

extension Inode {
    /// Whether the file is on a read-only file system (nothing of it can change). Only the
    /// gofer's tree without an overlay is.
    var isOnReadOnlyFileSystem: Bool { self is GoferInode }

    /// The S_IFMT bits of the file's mode.
    func fileType() throws(LinuxErrno) -> UInt32 { try stat().mode & FileMode.typeMask }

    // A file system that does not implement a change is read-only: EROFS, as Linux answers
    // for a read-only mount.
    public func create(_ name: [UInt8], mode: UInt32) throws(LinuxErrno) -> any Inode { throw .EROFS }
    public func makeDirectory(_ name: [UInt8], mode: UInt32) throws(LinuxErrno) { throw .EROFS }
    public func makeSymlink(_ name: [UInt8], target: [UInt8]) throws(LinuxErrno) { throw .EROFS }
    public func makeSocket(_ name: [UInt8], mode: UInt32) throws(LinuxErrno) { throw .EROFS }
    public func makeFifo(_ name: [UInt8], mode: UInt32) throws(LinuxErrno) { throw .EROFS }
    public func remove(_ name: [UInt8], directory: Bool) throws(LinuxErrno) { throw .EROFS }
    public func rename(_ name: [UInt8], to newParent: any Inode, as newName: [UInt8]) throws(LinuxErrno) { throw .EROFS }
    public func truncate(to size: Int64) throws(LinuxErrno) { throw .EROFS }
    public func setAttributes(_ change: AttributeChange) throws(LinuxErrno) { throw .EROFS }
    public func link(_ target: any Inode, as name: [UInt8]) throws(LinuxErrno) { throw .EROFS }
    /// A file system that keeps no statistics (the gofer's tree without an overlay: lisafs
    /// carries no statfs yet).
    public func fileSystemStatistics() throws(LinuxErrno) -> LinuxStatfs { throw .ENOSYS }
}

/// File system types (statfs(2)'s f_type), as Linux's magic numbers.
public enum FileSystemMagic {
    public static let tmpfs: Int64 = 0x0102_1994
    public static let overlay: Int64 = 0x794c_7630
    public static let proc: Int64 = 0x9fa0
    public static let pipe: Int64 = 0x5049_5045
    public static let socket: Int64 = 0x534f_434b
    public static let anonymousInode: Int64 = 0x0904_1934

    /// The statistics of a file system of kernel objects (proc, pipefs): 4 KiB blocks, no
    /// space or files counted, names up to 255 bytes.
    public static func empty(type: Int64, device: UInt64) -> LinuxStatfs {
        var statistics = LinuxStatfs()
        statistics.type = type
        statistics.flags = 0x20  // ST_VALID: the flags say the mount's (none set: read-write)
        statistics.blockSize = 4096
        statistics.fragmentSize = 4096
        statistics.nameLength = 255
        statistics.fsid = (Int32(truncatingIfNeeded: device), 0)
        return statistics
    }
}

/// A name in the tree: an inode and where it was reached from, so `..` and getcwd(2) can
/// walk back up. The root's parent is itself.
public final class Dentry {
    public let inode: any Inode
    public let name: [UInt8]
    private let parentLink: Dentry?

    /// The root of a tree.
    public init(root inode: any Inode) {
        self.inode = inode
        self.name = []
        self.parentLink = nil
    }

    init(inode: any Inode, name: [UInt8], parent: Dentry) {
        self.inode = inode
        self.name = name
        self.parentLink = parent
    }

    public var parent: Dentry { parentLink ?? self }
    public var isRoot: Bool { parentLink == nil }

    /// The absolute path from the root ("/" for the root).
    public var path: [UInt8] {
        var components: [[UInt8]] = []
        var current = self
        while !current.isRoot {
            components.append(current.name)
            current = current.parent
        }
        return components.isEmpty ? [0x2f] : components.reversed().flatMap { [0x2f] + $0 }
    }
}

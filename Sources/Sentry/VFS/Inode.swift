import LinuxABI

/// One directory entry as getdents64(2) reports it.
public struct DirectoryEntry: Equatable, Sendable {
    public var inode: UInt64
    public var type: UInt8
    public var name: [UInt8]
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
    /// Removes `name` from this directory: a non-directory, or (`directory`) an empty directory.
    func remove(_ name: [UInt8], directory: Bool) throws(LinuxErrno)
    /// Moves `name` of this directory to `newName` in `newParent` (same file system: else EXDEV).
    func rename(_ name: [UInt8], to newParent: any Inode, as newName: [UInt8]) throws(LinuxErrno)
    /// Sets the size of a regular file (truncate(2)).
    func truncate(to size: Int64) throws(LinuxErrno)
}

extension Inode {
    /// The S_IFMT bits of the file's mode.
    func fileType() throws(LinuxErrno) -> UInt32 { try stat().mode & FileMode.typeMask }

    // A file system that does not implement a change is read-only: EROFS, as Linux answers
    // for a read-only mount.
    public func create(_ name: [UInt8], mode: UInt32) throws(LinuxErrno) -> any Inode { throw .EROFS }
    public func makeDirectory(_ name: [UInt8], mode: UInt32) throws(LinuxErrno) { throw .EROFS }
    public func makeSymlink(_ name: [UInt8], target: [UInt8]) throws(LinuxErrno) { throw .EROFS }
    public func makeSocket(_ name: [UInt8], mode: UInt32) throws(LinuxErrno) { throw .EROFS }
    public func remove(_ name: [UInt8], directory: Bool) throws(LinuxErrno) { throw .EROFS }
    public func rename(_ name: [UInt8], to newParent: any Inode, as newName: [UInt8]) throws(LinuxErrno) { throw .EROFS }
    public func truncate(to size: Int64) throws(LinuxErrno) { throw .EROFS }
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

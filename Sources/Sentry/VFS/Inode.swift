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
}

extension Inode {
    /// The S_IFMT bits of the file's mode.
    func fileType() throws(LinuxErrno) -> UInt32 { try stat().mode & FileMode.typeMask }
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

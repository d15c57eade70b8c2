import LinuxABI

/// Path resolution, as path_resolution(7) describes it: component by component from the root
/// (absolute paths) or a starting directory, `.` and `..` (which never climbs above the
/// root), symlinks followed (absolute targets restart at the root) up to 40 of them (ELOOP),
/// a non-directory in the middle is ENOTDIR, an empty path ENOENT, a component over
/// NAME_MAX ENAMETOOLONG, a directory the caller may not search (execute permission, by the
/// credentials of the task the calling thread runs) EACCES.
public enum PathResolution {
    /// The most symlinks one resolution follows (Linux's MAXSYMLINKS).
    public static let maxSymlinks = 40
    public static let maxPathLength = 4096
    public static let maxNameLength = 255

    /// Resolves `path` from `start` (for relative paths) within the tree of `root`. The final
    /// component's symlink is followed only if `followFinal`.
    /// `mounts` maps absolute paths to the roots of file systems mounted there (tmpfs on
    /// /tmp, the devices on /dev): a walk that reaches such a path enters the mounted tree.
    public static func resolve(
        _ path: [UInt8], root: Dentry, start: Dentry, followFinal: Bool, mounts: [[UInt8]: any Inode] = [:]
    ) throws(LinuxErrno) -> Dentry {
        guard !path.isEmpty else { throw .ENOENT }
        guard path.count < maxPathLength else { throw .ENAMETOOLONG }
        var symlinks = 0
        return try walk(
            path, root: root, start: start, followFinal: followFinal, mounts: mounts, credentials: Credentials.current, symlinks: &symlinks)
    }

    /// The child `name` of `directory`: the root of a file system mounted there, or the
    /// directory's own child.
    static func child(_ name: [UInt8], of directory: Dentry, mounts: [[UInt8]: any Inode]) throws(LinuxErrno) -> Dentry {
        if !mounts.isEmpty {
            let path = (directory.isRoot ? [] : directory.path) + [0x2f] + name
            if let mounted = mounts[path] { return Dentry(inode: mounted, name: name, parent: directory) }
        }
        return Dentry(inode: try directory.inode.lookup(name), name: name, parent: directory)
    }

    /// Resolves all but the last component of `path` (for calls that create or remove a name)
    /// and returns that directory with the last component. A path ending in `.` or `..` has
    /// no name to create: EEXIST, as Linux answers for mkdir("..").
    public static func resolveParent(
        _ path: [UInt8], root: Dentry, start: Dentry, mounts: [[UInt8]: any Inode] = [:]
    ) throws(LinuxErrno) -> (Dentry, [UInt8]) {
        guard !path.isEmpty else { throw .ENOENT }
        guard path.count < maxPathLength else { throw .ENAMETOOLONG }
        var trimmed = path
        while trimmed.count > 1 && trimmed.last == 0x2f { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: 0x2f) else {
            guard trimmed != [0x2e] && trimmed != [0x2e, 0x2e] else { throw .EEXIST }
            let status = try start.inode.stat()
            guard status.mode & FileMode.typeMask == FileMode.directory else { throw .ENOTDIR }
            try Credentials.current.require(.execute, to: status)  // the lookup of the name in it
            return (start, trimmed)
        }
        let name = Array(trimmed[(slash + 1)...])
        guard !name.isEmpty, name != [0x2e], name != [0x2e, 0x2e] else { throw .EEXIST }
        guard name.count <= maxNameLength else { throw .ENAMETOOLONG }
        let directoryPath = slash == 0 ? [UInt8(0x2f)] : Array(trimmed[..<slash])
        let directory = try resolve(directoryPath, root: root, start: start, followFinal: true, mounts: mounts)
        let status = try directory.inode.stat()
        guard status.mode & FileMode.typeMask == FileMode.directory else { throw .ENOTDIR }
        try Credentials.current.require(.execute, to: status)  // the lookup of the name in it
        return (directory, name)
    }

    private static func walk(
        _ path: [UInt8], root: Dentry, start: Dentry, followFinal: Bool, mounts: [[UInt8]: any Inode], credentials: Credentials,
        symlinks: inout Int
    ) throws(LinuxErrno) -> Dentry {
        var current = path.first == 0x2f ? root : start
        let components = path.split(separator: 0x2f, omittingEmptySubsequences: true)
        // A trailing slash asks for a directory: the final component is followed then.
        let trailingSlash = path.last == 0x2f
        for (index, slice) in components.enumerated() {
            let name = Array(slice)
            let isFinal = index == components.count - 1
            guard name.count <= maxNameLength else { throw .ENAMETOOLONG }
            let status = try current.inode.stat()
            guard status.mode & FileMode.typeMask == FileMode.directory else { throw .ENOTDIR }
            try credentials.require(.execute, to: status)
            if name == [0x2e] { continue }
            if name == [0x2e, 0x2e] {
                current = current.parent
                continue
            }
            let child = try Self.child(name, of: current, mounts: mounts)
            if try child.inode.fileType() == FileMode.symlink && (!isFinal || followFinal || trailingSlash) {
                symlinks += 1
                guard symlinks <= maxSymlinks else { throw .ELOOP }
                let target = try child.inode.readLink()
                guard !target.isEmpty else { throw .ENOENT }
                current = try walk(
                    target, root: root, start: current, followFinal: true, mounts: mounts, credentials: credentials, symlinks: &symlinks)
            } else {
                current = child
            }
        }
        if trailingSlash, try current.inode.fileType() != FileMode.directory { throw .ENOTDIR }
        return current
    }
}

import LinuxABI

/// Path resolution, as path_resolution(7) describes it: component by component from the root
/// (absolute paths) or a starting directory, `.` and `..` (which never climbs above the
/// root), symlinks followed (absolute targets restart at the root) up to 40 of them (ELOOP),
/// a non-directory in the middle is ENOTDIR, an empty path ENOENT, a component over
/// NAME_MAX ENAMETOOLONG.
public enum PathResolution {
    /// The most symlinks one resolution follows (Linux's MAXSYMLINKS).
    public static let maxSymlinks = 40
    public static let maxPathLength = 4096
    public static let maxNameLength = 255

    /// Resolves `path` from `start` (for relative paths) within the tree of `root`. The final
    /// component's symlink is followed only if `followFinal`.
    public static func resolve(_ path: [UInt8], root: Dentry, start: Dentry, followFinal: Bool) throws(LinuxErrno) -> Dentry {
        guard !path.isEmpty else { throw .ENOENT }
        guard path.count < maxPathLength else { throw .ENAMETOOLONG }
        var symlinks = 0
        return try walk(path, root: root, start: start, followFinal: followFinal, symlinks: &symlinks)
    }

    private static func walk(
        _ path: [UInt8], root: Dentry, start: Dentry, followFinal: Bool, symlinks: inout Int
    ) throws(LinuxErrno) -> Dentry {
        var current = path.first == 0x2f ? root : start
        let components = path.split(separator: 0x2f, omittingEmptySubsequences: true)
        // A trailing slash asks for a directory: the final component is followed then.
        let trailingSlash = path.last == 0x2f
        for (index, slice) in components.enumerated() {
            let name = Array(slice)
            let isFinal = index == components.count - 1
            guard name.count <= maxNameLength else { throw .ENAMETOOLONG }
            guard try current.inode.fileType() == FileMode.directory else { throw .ENOTDIR }
            if name == [0x2e] { continue }
            if name == [0x2e, 0x2e] {
                current = current.parent
                continue
            }
            let child = Dentry(inode: try current.inode.lookup(name), name: name, parent: current)
            if try child.inode.fileType() == FileMode.symlink && (!isFinal || followFinal || trailingSlash) {
                symlinks += 1
                guard symlinks <= maxSymlinks else { throw .ELOOP }
                let target = try child.inode.readLink()
                guard !target.isEmpty else { throw .ENOENT }
                current = try walk(target, root: root, start: current, followFinal: true, symlinks: &symlinks)
            } else {
                current = child
            }
        }
        if trailingSlash, try current.inode.fileType() != FileMode.directory { throw .ENOTDIR }
        return current
    }
}

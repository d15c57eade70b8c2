import HostSys
import LinuxABI

/// The root overlay (gVisor's default `--overlay2=root:memory`, Linux's overlayfs): the
/// container's tree from the gofer as a read-only lower layer under a tmpfs upper layer that
/// takes every change, so writes stay in the sandbox and never reach the host.
///
/// - A name is looked up in the upper layer, then in the lower one; an upper non-directory
///   hides the lower name, an upper directory merges with a lower directory of that name
///   unless it is opaque (made over a removed name).
/// - The first change to a lower file copies it up: its parents as directories, then the file
///   itself (contents, mode, or symlink target). Opening a lower file read-only does not.
/// - Removing a lower name leaves a whiteout (kept here, in the overlay's memory).
/// - Renaming a lower directory is EXDEV, as overlayfs without `redirect_dir` answers (mv
///   then copies); files and upper directories rename.
/// - stat shows the overlay's device; a copied-up file keeps its lower inode number, files
///   made in the sandbox have numbers of their own (high bit set, apart from the host's).
///
/// Locks: one `lock` per overlay guards every overlay inode's layers, children and
/// whiteouts; it is held across the layers' calls (including gofer RPCs on a lookup miss),
/// and never taken from inside a layer.
final class OverlayInode: Inode, @unchecked Sendable {
    /// What the inodes of one overlay share.
    final class Volume: @unchecked Sendable {
        let lock = Monitor()
        let device: UInt64
        /// The upper layer's root, whose tmpfs holds every write (statfs reports its space).
        weak var upperRoot: TmpfsInode?
        init(device: UInt64) { self.device = device }
    }

    private let volume: Volume
    // Guarded by `volume.lock`:
    private var upper: TmpfsInode?
    private let lower: (any Inode)?
    private weak var parent: OverlayInode?
    private var name: [UInt8]
    private var children: [[UInt8]: OverlayInode] = [:]
    private var whiteouts: Set<[UInt8]> = []
    /// A directory made where a lower name was removed: the lower directory's entries stay hidden.
    private var opaque = false

    private init(volume: Volume, upper: TmpfsInode?, lower: (any Inode)?, parent: OverlayInode?, name: [UInt8]) {
        self.volume = volume
        self.upper = upper
        self.lower = lower
        self.parent = parent
        self.name = name
    }

    /// The root of an overlay of `lower` (a directory) under an empty tmpfs.
    static func makeRoot(lower: any Inode, device: UInt64) throws(LinuxErrno) -> OverlayInode {
        let attributes = try lower.stat()
        let upper = TmpfsInode.makeRoot(device: device, mode: attributes.mode)
        let volume = Volume(device: device)
        volume.upperRoot = upper
        return OverlayInode(volume: volume, upper: upper, lower: lower, parent: nil, name: [])
    }

    private var top: any Inode {
        // Every overlay inode has a layer: made from a lookup that found one, or by a creation.
        if let upper { return upper }
        return lower!
    }

    func stat() throws(LinuxErrno) -> LinuxStat {
        try volume.lock.locked { () throws(LinuxErrno) -> LinuxStat in try attributes() }
    }

    /// stat(2) of the file (lock held).
    private func attributes() throws(LinuxErrno) -> LinuxStat {
        var attributes = try top.stat()
        if let lower {
            attributes.ino = try lower.stat().ino
        } else if let origin = upper?.copiedUpFrom {
            attributes.ino = origin  // another name of a copied-up file (a hard link made since)
        } else {
            attributes.ino |= 1 << 63
        }
        attributes.dev = volume.device
        return attributes
    }

    func lookup(_ name: [UInt8]) throws(LinuxErrno) -> any Inode {
        try volume.lock.locked { () throws(LinuxErrno) -> any Inode in try child(name) }
    }

    /// The child `name` in the merged view (lock held).
    private func child(_ name: [UInt8]) throws(LinuxErrno) -> OverlayInode {
        guard try top.fileType() == FileMode.directory else { throw .ENOTDIR }
        if let known = children[name] { return known }
        if whiteouts.contains(name) { throw .ENOENT }
        var upperChild: TmpfsInode?
        if let upper {
            do {
                upperChild = try upper.lookup(name) as? TmpfsInode
            } catch .ENOENT {
                upperChild = nil
            }
        }
        var lowerChild: (any Inode)?
        var mergesBelow = true
        if let upperChild { mergesBelow = try upperChild.fileType() == FileMode.directory }
        if !opaque, let lower, mergesBelow {
            do {
                lowerChild = try lower.lookup(name)
            } catch .ENOENT {
                lowerChild = nil
            }
            // A lower non-directory under an upper directory is hidden by it.
            if upperChild != nil, let found = lowerChild, try found.fileType() != FileMode.directory { lowerChild = nil }
        }
        guard upperChild != nil || lowerChild != nil else { throw .ENOENT }
        let made = OverlayInode(volume: volume, upper: upperChild, lower: lowerChild, parent: self, name: name)
        children[name] = made
        return made
    }

    func readLink() throws(LinuxErrno) -> [UInt8] {
        try volume.lock.locked { () throws(LinuxErrno) -> [UInt8] in try top.readLink() }
    }

    func open(flags: OpenFlags) throws(LinuxErrno) -> any FileOperations {
        try volume.lock.locked { () throws(LinuxErrno) -> any FileOperations in
            let type = try top.fileType()
            if type == FileMode.directory {
                return DirectoryListing(stat: { () throws(LinuxErrno) in try self.stat() }) { () throws(LinuxErrno) in
                    try self.volume.lock.locked { () throws(LinuxErrno) in try self.entries() }
                }
            }
            let writes = flags.rawValue & OpenFlags.accessModeMask != OpenFlags.readOnly.rawValue || flags.contains(.truncate)
            // O_TRUNC empties the file anyway: its bytes are not copied up.
            if writes && type == FileMode.regular { try copyUp(contents: !flags.contains(.truncate)) }
            return try top.open(flags: flags)
        }
    }

    /// The merged listing: ".", "..", the upper entries, then the lower ones neither shadowed
    /// nor whited out (lock held).
    private func entries() throws(LinuxErrno) -> [DirectoryListing.Entry] {
        let own = try attributes().ino
        let up = try parent?.attributes().ino ?? own
        var list: [DirectoryListing.Entry] = [(own, 4, [0x2e]), (up, 4, [0x2e, 0x2e])]
        var seen: Set<[UInt8]> = [[0x2e], [0x2e, 0x2e]]
        for layer in [upper as (any Inode)?, opaque ? nil : lower] {
            guard let layer else { continue }
            var listing: [DirectoryListing.Entry] = []
            let file = try layer.open(flags: .readOnly)
            while true {
                let chunk = try file.readDirectory(maximumBytes: 1 << 16)
                if chunk.isEmpty { break }
                listing += direntEntries(chunk)
            }
            for entry in listing where !seen.contains(entry.name) && !whiteouts.contains(entry.name) {
                seen.insert(entry.name)
                // The number stat will show: a sandbox-made file's has the high bit set.
                let inode = layer === lower ? entry.inode : (try? child(entry.name).attributes().ino) ?? entry.inode
                list.append((inode, entry.type, entry.name))
            }
        }
        return list
    }

    // MARK: Changes

    /// Gives this file an upper copy if it has none: its parents first, then a directory,
    /// a symlink, or a regular file with the lower file's contents (unless `contents` is
    /// false: the caller truncates it) (lock held).
    private func copyUp(contents: Bool = true) throws(LinuxErrno) {
        if upper != nil { return }
        guard let parent, let lower else { throw .ENOENT }
        try parent.copyUp()
        guard let directory = parent.upper else { throw .ENOENT }
        let attributes = try lower.stat()
        // Copying up is no change of the parent directory: its times stay, as overlayfs keeps them.
        let parentTimes = try directory.stat()
        defer {
            try? directory.setAttributes(AttributeChange(accessTime: .at(parentTimes.atime), modificationTime: .at(parentTimes.mtime)))
        }
        switch attributes.mode & FileMode.typeMask {
        case FileMode.directory:
            try directory.makeDirectory(name, mode: attributes.mode)
        case FileMode.symlink:
            try directory.makeSymlink(name, target: try lower.readLink())
        case FileMode.regular:
            let copy = try directory.create(name, mode: attributes.mode)
            do {
                guard contents else { break }
                let source = try lower.open(flags: .readOnly)
                let destination = try copy.open(flags: .writeOnly)
                var offset: Int64 = 0
                while true {
                    let chunk = try source.read(count: 1 << 20, at: offset)
                    if chunk.isEmpty { break }
                    _ = try destination.write(chunk, at: offset)
                    offset += Int64(chunk.count)
                }
            } catch {
                try? directory.remove(name, directory: false)
                throw error
            }
        default:
            throw .EPERM  // devices, FIFOs and sockets of the image are not copied
        }
        upper = try directory.lookup(name) as? TmpfsInode
        upper?.copiedUpFrom = attributes.ino
        // The copy keeps the lower file's owner and times, as overlayfs's copy-up does.
        try upper?.setAttributes(
            AttributeChange(uid: attributes.uid, gid: attributes.gid, accessTime: .at(attributes.atime), modificationTime: .at(attributes.mtime)))
    }

    /// The upper directory new names go into, after the checks creation makes (lock held).
    private func prepareCreation(_ name: [UInt8]) throws(LinuxErrno) -> TmpfsInode {
        guard try top.fileType() == FileMode.directory else { throw .ENOTDIR }
        if (try? child(name)) != nil { throw .EEXIST }
        try copyUp()
        guard let upper else { throw .EROFS }
        return upper
    }

    /// Records a name made in the upper layer (lock held). Made over a whiteout, it does not
    /// merge with the removed lower file: a directory made there is opaque.
    private func created(_ name: [UInt8]) {
        children[name] = nil
        guard whiteouts.remove(name) != nil, let made = try? upper?.lookup(name) as? TmpfsInode else { return }
        let fresh = OverlayInode(volume: volume, upper: made, lower: nil, parent: self, name: name)
        fresh.opaque = true
        children[name] = fresh
    }

    func create(_ name: [UInt8], mode: UInt32) throws(LinuxErrno) -> any Inode {
        try volume.lock.locked { () throws(LinuxErrno) -> any Inode in
            let directory = try prepareCreation(name)
            _ = try directory.create(name, mode: mode)
            created(name)
            return try child(name)
        }
    }

    func makeDirectory(_ name: [UInt8], mode: UInt32) throws(LinuxErrno) {
        try volume.lock.locked { () throws(LinuxErrno) in
            try prepareCreation(name).makeDirectory(name, mode: mode)
            created(name)
        }
    }

    func makeSymlink(_ name: [UInt8], target: [UInt8]) throws(LinuxErrno) {
        try volume.lock.locked { () throws(LinuxErrno) in
            try prepareCreation(name).makeSymlink(name, target: target)
            created(name)
        }
    }

    func makeSocket(_ name: [UInt8], mode: UInt32) throws(LinuxErrno) {
        try volume.lock.locked { () throws(LinuxErrno) in
            try prepareCreation(name).makeSocket(name, mode: mode)
            created(name)
        }
    }

    func makeFifo(_ name: [UInt8], mode: UInt32) throws(LinuxErrno) {
        try volume.lock.locked { () throws(LinuxErrno) in
            try prepareCreation(name).makeFifo(name, mode: mode)
            created(name)
        }
    }

    func remove(_ name: [UInt8], directory: Bool) throws(LinuxErrno) {
        try volume.lock.locked { () throws(LinuxErrno) in
            let target = try child(name)
            let isDirectory = try target.top.fileType() == FileMode.directory
            if directory && !isDirectory { throw .ENOTDIR }
            if !directory && isDirectory { throw .EISDIR }
            if isDirectory, try target.entries().count > 2 { throw .ENOTEMPTY }
            if let upperChild = target.upper {
                try copyUp()
                guard let upper, (try? upper.lookup(name)) === upperChild else { throw .ENOENT }
                try upper.remove(name, directory: isDirectory)
            }
            if hidesLower(name) { whiteouts.insert(name) }
            children[name] = nil
        }
    }

    /// Whether the lower layer has `name` here, so that removing or moving the upper name
    /// must leave a whiteout lest the lower file show again (lock held).
    private func hidesLower(_ name: [UInt8]) -> Bool {
        guard !opaque, let lower else { return false }
        return (try? lower.lookup(name)) != nil
    }

    func rename(_ name: [UInt8], to newParent: any Inode, as newName: [UInt8]) throws(LinuxErrno) {
        guard let destination = newParent as? OverlayInode, destination.volume === volume else { throw .EXDEV }
        try volume.lock.locked { () throws(LinuxErrno) in
            let moving = try child(name)
            if destination === self && name == newName { return }
            let isDirectory = try moving.top.fileType() == FileMode.directory
            if isDirectory && moving.lower != nil { throw .EXDEV }
            if let existing = try? destination.child(newName) {
                if existing === moving { return }
                let replacesDirectory = try existing.top.fileType() == FileMode.directory
                if isDirectory && !replacesDirectory { throw .ENOTDIR }
                if !isDirectory && replacesDirectory { throw .EISDIR }
                if replacesDirectory && existing.lower != nil { throw .EXDEV }
                if replacesDirectory, try existing.entries().count > 2 { throw .ENOTEMPTY }
            }
            try moving.copyUp()
            try destination.copyUp()
            guard let from = upper, let to = destination.upper else { throw .EROFS }
            try from.rename(name, to: to, as: newName)
            if hidesLower(name) { whiteouts.insert(name) }
            children[name] = nil
            // What the new name hid in the lower layer stays hidden: the upper file is there now.
            destination.whiteouts.remove(newName)
            destination.children[newName] = moving
            moving.parent = destination
            moving.name = newName
        }
    }

    func truncate(to size: Int64) throws(LinuxErrno) {
        try volume.lock.locked { () throws(LinuxErrno) in
            try copyUp()
            try upper?.truncate(to: size)
        }
    }

    /// link(2): the target is copied up (a lower file first), then linked in the upper layer.
    func link(_ target: any Inode, as name: [UInt8]) throws(LinuxErrno) {
        guard let file = target as? OverlayInode, file.volume === volume else { throw .EXDEV }
        try volume.lock.locked { () throws(LinuxErrno) in
            guard try file.top.fileType() != FileMode.directory else { throw .EPERM }
            let directory = try prepareCreation(name)
            try file.copyUp()
            guard let upperFile = file.upper else { throw .ENOENT }
            try directory.link(upperFile, as: name)
            created(name)
        }
    }

    /// statfs: an overlay whose space is its upper tmpfs's.
    func fileSystemStatistics() throws(LinuxErrno) -> LinuxStatfs {
        guard let root = volume.upperRoot else { return FileSystemMagic.empty(type: FileSystemMagic.overlay, device: volume.device) }
        var statistics = try root.fileSystemStatistics()
        statistics.type = FileSystemMagic.overlay
        return statistics
    }

    /// chmod, chown, utimensat: on the upper copy (made first for a lower file).
    func setAttributes(_ change: AttributeChange) throws(LinuxErrno) {
        try volume.lock.locked { () throws(LinuxErrno) in
            try copyUp()
            try upper?.setAttributes(change)
        }
    }
}

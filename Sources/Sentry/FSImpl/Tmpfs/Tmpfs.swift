import HostSys
import LinuxABI
import Synchronization

/// tmpfs: files that live in the Sentry's memory (DESIGN.md: `/tmp` and `/dev/shm`). Writes
/// stay in the sandbox; nothing reaches the host.
///
/// Locks: each inode's `state` mutex guards its contents; a rename takes the two directories'
/// locks one after the other, never both at once (it checks and inserts, then removes).
final class TmpfsInode: Inode, @unchecked Sendable {
    /// What all the inodes of one tmpfs share: inode numbers and the space its files use,
    /// bounded as Linux bounds a tmpfs (`size=`, by default half of the memory: here of what
    /// the sandbox reports in /proc/meminfo): writes past it are ENOSPC.
    final class Volume: Sendable {
        let capacity: Int
        private let used = Atomic<Int>(0)
        private let lastInode = Atomic<UInt64>(1)

        init(capacity: Int) { self.capacity = capacity }

        static let defaultCapacity = Sandbox.memoryBytes / 2

        func nextInode() -> UInt64 { lastInode.add(1, ordering: .relaxed).newValue }

        /// Takes `bytes` of space; false (take nothing) if the volume has not that much left.
        func charge(_ bytes: Int) -> Bool {
            guard bytes > 0 else { return true }
            let total = used.add(bytes, ordering: .relaxed).newValue
            if total > capacity || total < 0 {
                used.subtract(bytes, ordering: .relaxed)
                return false
            }
            return true
        }

        var usedBytes: Int { used.load(ordering: .relaxed) }

        func release(_ bytes: Int) {
            if bytes > 0 { used.subtract(bytes, ordering: .relaxed) }
        }
    }

    enum Contents {
        case directory([[UInt8]: TmpfsInode])
        case regular([UInt8])
        case symlink([UInt8])
        /// A FIFO: every open of it is an end of this one pipe.
        case fifo(Pipe)
        /// A device or other special file: its operations are opened from the factory.
        case special(@Sendable () throws(LinuxErrno) -> any FileOperations)
    }

    struct State {
        var contents: Contents
        var mode: UInt32
        var nlink: UInt64
        var mtime: LinuxTimespec
        var ctime: LinuxTimespec
        var atime: LinuxTimespec
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    let ino: UInt64
    let device: UInt64
    let rdev: UInt64
    /// Set by an overlay whose upper layer this is: the inode number of the lower file this
    /// one copies, which every name of it reports (set once, under the overlay's lock).
    var copiedUpFrom: UInt64?
    let state: Mutex<State>
    let volume: Volume

    init(ino: UInt64, device: UInt64, mode: UInt32, contents: Contents, rdev: UInt64 = 0, volume: Volume) {
        self.ino = ino
        self.device = device
        self.rdev = rdev
        self.volume = volume
        let now = Self.now()
        state = Mutex(State(contents: contents, mode: mode, nlink: 1, mtime: now, ctime: now, atime: now))
    }

    /// The file's bytes go back to the volume when the last name and the last open file are gone.
    deinit {
        if case .regular(let bytes) = state.withLock({ $0.contents }) { volume.release(bytes.count) }
    }

    /// A new empty tmpfs with its root directory.
    static func makeRoot(
        device: UInt64, mode: UInt32 = FileMode.directory | 0o1777, capacity: Int = Volume.defaultCapacity
    ) -> TmpfsInode {
        let root = TmpfsInode(ino: 1, device: device, mode: mode, contents: .directory([:]), volume: Volume(capacity: capacity))
        root.state.withLock { $0.nlink = 2 }
        return root
    }

    static func now() -> LinuxTimespec {
        (try? Syscalls.now(Syscalls.clockRealtime)) ?? LinuxTimespec(seconds: 0, nanoseconds: 0)
    }

    /// A child made here (shares the inode numbering).
    /// A new file for this directory, owned by the creator's file-system ids (Linux's
    /// inode_init_owner): in a set-group-ID directory it takes the directory's group, and a
    /// new directory keeps the bit; a file's own set-group-ID bit goes if its group is not the
    /// creator's (without CAP_FSETID).
    func child(mode: UInt32, contents: Contents, rdev: UInt64 = 0) -> TmpfsInode {
        let credentials = Credentials.current
        let (directoryMode, directoryGID) = state.withLock { ($0.mode, $0.gid) }
        var (mode, gid) = (mode, credentials.fileSystemGID)
        if directoryMode & FileMode.setGID != 0 {
            gid = directoryGID
            if mode & FileMode.typeMask == FileMode.directory { mode |= FileMode.setGID }
        }
        if mode & FileMode.typeMask != FileMode.directory, mode & FileMode.setGID != 0, mode & 0o010 != 0, !credentials.inGroup(gid),
            !credentials.has(Capability.fsetid)
        {
            mode &= ~FileMode.setGID
        }
        let file = TmpfsInode(ino: volume.nextInode(), device: device, mode: mode, contents: contents, rdev: rdev, volume: volume)
        file.state.withLock { ($0.uid, $0.gid) = (credentials.fileSystemUID, gid) }
        return file
    }

    func stat() throws(LinuxErrno) -> LinuxStat {
        state.withLock { state in
            var stat = LinuxStat()
            stat.dev = device
            stat.ino = ino
            stat.mode = state.mode
            stat.nlink = state.nlink
            stat.rdev = rdev
            stat.blksize = 4096
            if case .regular(let bytes) = state.contents { stat.size = Int64(bytes.count) }
            if case .symlink(let target) = state.contents { stat.size = Int64(target.count) }
            stat.blocks = (stat.size + 511) / 512
            stat.atime = state.atime
            stat.mtime = state.mtime
            stat.ctime = state.ctime
            stat.uid = state.uid
            stat.gid = state.gid
            return stat
        }
    }

    func lookup(_ name: [UInt8]) throws(LinuxErrno) -> any Inode {
        let result: Result<TmpfsInode, LinuxErrno> = state.withLock { state in
            guard case .directory(let children) = state.contents else { return .failure(.ENOTDIR) }
            guard let child = children[name] else { return .failure(.ENOENT) }
            return .success(child)
        }
        return try result.get()
    }

    func readLink() throws(LinuxErrno) -> [UInt8] {
        let result: Result<[UInt8], LinuxErrno> = state.withLock { state in
            guard case .symlink(let target) = state.contents else { return .failure(.EINVAL) }
            return .success(target)
        }
        return try result.get()
    }

    func open(flags: OpenFlags) throws(LinuxErrno) -> any FileOperations {
        let contents = state.withLock { $0.contents }
        switch contents {
        case .directory:
            return DirectoryListing(stat: { () throws(LinuxErrno) in try self.stat() }) { self.entries(parent: self.ino) }
        case .regular:
            if flags.contains(.truncate) && flags.rawValue & OpenFlags.accessModeMask != 0 { try truncate(to: 0) }
            return TmpfsFile(self, append: flags.contains(.append))
        case .symlink: throw .ELOOP
        case .special(let factory): return try factory()
        case .fifo(let pipe): return try FifoEnd.open(pipe, flags: flags)
        }
    }

    /// Inserts a new child under `name`, or EEXIST.
    private func insert(_ name: [UInt8], _ child: TmpfsInode, isDirectory: Bool = false) throws(LinuxErrno) {
        let result: Result<Void, LinuxErrno> = state.withLock { state in
            guard case .directory(var children) = state.contents else { return .failure(.ENOTDIR) }
            guard children[name] == nil else { return .failure(.EEXIST) }
            children[name] = child
            state.contents = .directory(children)
            if isDirectory { state.nlink += 1 }
            state.mtime = Self.now()
            state.ctime = state.mtime
            return .success(())
        }
        try result.get()
    }

    func create(_ name: [UInt8], mode: UInt32) throws(LinuxErrno) -> any Inode {
        let file = child(mode: FileMode.regular | (mode & 0o7777), contents: .regular([]))
        try insert(name, file)
        return file
    }

    func makeDirectory(_ name: [UInt8], mode: UInt32) throws(LinuxErrno) {
        let directory = child(mode: FileMode.directory | (mode & 0o7777), contents: .directory([:]))
        directory.state.withLock { $0.nlink = 2 }
        try insert(name, directory, isDirectory: true)
    }

    func makeSymlink(_ name: [UInt8], target: [UInt8]) throws(LinuxErrno) {
        try insert(name, child(mode: FileMode.symlink | 0o777, contents: .symlink(target)))
    }

    /// link(2): `name` becomes another name of `target`, whose link count and change time move.
    func link(_ target: any Inode, as name: [UInt8]) throws(LinuxErrno) {
        guard let file = target as? TmpfsInode, file.device == device else { throw .EXDEV }
        guard try file.fileType() != FileMode.directory else { throw .EPERM }
        // A file whose last name is gone (AT_EMPTY_PATH of an open, unlinked file) is ENOENT.
        let counted: Bool = file.state.withLock { state in
            guard state.nlink > 0 else { return false }
            state.nlink += 1  // counted before the name exists, so an unlink meanwhile never goes below 0
            state.ctime = Self.now()
            return true
        }
        guard counted else { throw .ENOENT }
        do {
            try insert(name, file)
        } catch {
            file.state.withLock { $0.nlink -= 1 }
            throw error
        }
    }

    func makeFifo(_ name: [UInt8], mode: UInt32) throws(LinuxErrno) {
        // (The pipe's own inode number is never shown: fstat of a FIFO goes by its name.)
        try insert(name, child(mode: FileMode.fifo | (mode & 0o7777), contents: .fifo(Pipe(inode: volume.nextInode()))))
    }

    func makeSocket(_ name: [UInt8], mode: UInt32) throws(LinuxErrno) {
        try insert(name, child(mode: FileMode.socket | (mode & 0o7777), contents: .special({ () throws(LinuxErrno) in throw .ENXIO })))
    }

    func remove(_ name: [UInt8], directory: Bool) throws(LinuxErrno) {
        let target = try lookup(name) as? TmpfsInode
        guard let target else { throw .ENOENT }
        let isDirectory = try target.fileType() == FileMode.directory
        if directory && !isDirectory { throw .ENOTDIR }
        if !directory && isDirectory { throw .EISDIR }
        if isDirectory, case .directory(let children) = target.state.withLock({ $0.contents }), !children.isEmpty { throw .ENOTEMPTY }
        try unlinkChild(name, target, isDirectory: isDirectory)
        target.state.withLock { $0.nlink = isDirectory ? 0 : $0.nlink - 1 }
    }

    /// Removes `name` if it still names `target` (another process may have removed or
    /// replaced it since the lookup: then ENOENT, and no link count changes).
    private func unlinkChild(_ name: [UInt8], _ target: TmpfsInode, isDirectory: Bool) throws(LinuxErrno) {
        let removed: Bool = state.withLock { state in
            guard case .directory(var children) = state.contents, children[name] === target else { return false }
            state.contents = .directory([:])  // so that `children` is the only reference: no copy
            children.removeValue(forKey: name)
            state.contents = .directory(children)
            if isDirectory { state.nlink -= 1 }
            state.mtime = Self.now()
            return true
        }
        guard removed else { throw .ENOENT }
    }

    func rename(_ name: [UInt8], to newParent: any Inode, as newName: [UInt8]) throws(LinuxErrno) {
        guard let destination = newParent as? TmpfsInode, destination.device == device else { throw .EXDEV }
        guard let moving = try lookup(name) as? TmpfsInode else { throw .ENOENT }
        if destination === self && name == newName { return }
        let isDirectory = try moving.fileType() == FileMode.directory
        // Replace what the destination holds, as rename(2) does: a directory only with a
        // directory (and only an empty one), a non-directory only with a non-directory.
        if let existing = try? destination.lookup(newName) as? TmpfsInode {
            if existing === moving { return }  // two names of one file: nothing to do
            let replacesDirectory = try existing.fileType() == FileMode.directory
            if isDirectory && !replacesDirectory { throw .ENOTDIR }
            if !isDirectory && replacesDirectory { throw .EISDIR }
            try destination.remove(newName, directory: replacesDirectory)
        }
        try destination.insert(newName, moving, isDirectory: isDirectory)
        do {
            try unlinkChild(name, moving, isDirectory: isDirectory)
        } catch {
            // Someone else moved or removed it meanwhile: undo the insert.
            try? destination.unlinkChild(newName, moving, isDirectory: isDirectory)
            throw error
        }
    }

    /// statfs: the volume's capacity and what is left of it, in 4 KiB blocks (free and
    /// available alike, as Linux's tmpfs reports them).
    func fileSystemStatistics() throws(LinuxErrno) -> LinuxStatfs {
        var statistics = FileSystemMagic.empty(type: FileSystemMagic.tmpfs, device: device)
        statistics.blocks = UInt64(volume.capacity / 4096)
        statistics.blocksFree = UInt64(max(volume.capacity - volume.usedBytes, 0) / 4096)
        statistics.blocksAvailable = statistics.blocksFree
        return statistics
    }

    /// chmod, chown and the times of utimensat; the change time becomes now.
    func setAttributes(_ change: AttributeChange) throws(LinuxErrno) {
        let now = Self.now()
        state.withLock { state in
            if let mode = change.mode { state.mode = state.mode & FileMode.typeMask | mode & 0o7777 }
            if let uid = change.uid { state.uid = uid }
            if let gid = change.gid { state.gid = gid }
            // chown clears set-user-ID, and set-group-ID with group execute, on a file that is
            // not a directory (root included, as Linux since 2.2.13; -1 and -1 too).
            if change.ownerChange, state.mode & FileMode.typeMask != FileMode.directory {
                state.mode &= ~UInt32(0o4000)
                if state.mode & 0o010 != 0 { state.mode &= ~UInt32(0o2000) }
            }
            switch change.accessTime {
            case .now?: state.atime = now
            case .at(let time)?: state.atime = time
            case nil: break
            }
            switch change.modificationTime {
            case .now?: state.mtime = now
            case .at(let time)?: state.mtime = time
            case nil: break
            }
            state.ctime = now
        }
    }

    /// What a write or truncation by the calling task does to the set-ID bits (Linux's
    /// file_remove_privs): without CAP_FSETID, set-user-ID goes, and set-group-ID with group
    /// execute.
    static func droppingSetID(_ mode: UInt32) -> UInt32 {
        guard mode & (FileMode.setUID | FileMode.setGID) != 0, !Credentials.current.has(Capability.fsetid) else { return mode }
        var mode = mode & ~FileMode.setUID
        if mode & 0o010 != 0 { mode &= ~FileMode.setGID }
        return mode
    }

    func truncate(to size: Int64) throws(LinuxErrno) {
        guard size >= 0 else { throw .EINVAL }
        guard size <= Int64(volume.capacity) else { throw .ENOSPC }
        let result: Result<Void, LinuxErrno> = state.withLock { state in
            guard case .regular(var bytes) = state.contents else { return .failure(.EINVAL) }
            state.contents = .regular([])  // so that `bytes` is the only reference: no copy
            defer {
                state.contents = .regular(bytes)
                state.mtime = Self.now()
                state.mode = Self.droppingSetID(state.mode)
            }
            if Int(size) < bytes.count {
                volume.release(bytes.count - Int(size))
                bytes.removeLast(bytes.count - Int(size))
            } else if Int(size) > bytes.count {
                guard volume.charge(Int(size) - bytes.count) else { return .failure(.ENOSPC) }
                bytes += repeatElement(0, count: Int(size) - bytes.count)
            }
            return .success(())
        }
        try result.get()
    }

    /// The entries for getdents64, "." and ".." first.
    func entries(parent: UInt64) -> [(UInt64, UInt8, [UInt8])] {
        state.withLock { state in
            guard case .directory(let children) = state.contents else { return [] }
            var list: [(UInt64, UInt8, [UInt8])] = [(ino, 4, [0x2e]), (parent, 4, [0x2e, 0x2e])]
            for (name, child) in children.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                let type: UInt8
                switch child.state.withLock({ $0.mode }) & FileMode.typeMask {
                case FileMode.directory: type = 4
                case FileMode.symlink: type = 10
                case FileMode.character: type = 2
                case FileMode.fifo: type = 1
                default: type = 8
                }
                list.append((child.ino, type, name))
            }
            return list
        }
    }
}

/// A tmpfs regular file open for I/O, with its position.
final class TmpfsFile: FileOperations, @unchecked Sendable {
    let inode: TmpfsInode
    let append: Bool
    private let position = FilePosition()

    init(_ inode: TmpfsInode, append: Bool) {
        self.inode = inode
        self.append = append
    }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] {
        try position.withLock { position in
            let start = Int(offset ?? position)
            let bytes: [UInt8] = inode.state.withLock { state in
                guard case .regular(let contents) = state.contents, start < contents.count else { return [] }
                return Array(contents[start..<min(contents.count, start + count)])
            }
            if offset == nil { position += Int64(bytes.count) }
            return bytes
        }
    }

    /// Writes at the position (or `offset`; at the end with O_APPEND), filling a gap with
    /// zeros. Growing past the volume's space is ENOSPC, as on a full tmpfs.
    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int {
        try position.withLock { (position) throws(LinuxErrno) in
            let result: Result<Int, LinuxErrno> = inode.state.withLock { state in
                guard case .regular(var contents) = state.contents else { return .success(0) }
                state.contents = .regular([])  // so that `contents` is the only reference: no copy
                defer { state.contents = .regular(contents) }
                var start = Int(offset ?? position)
                if append && offset == nil { start = contents.count }
                guard start <= inode.volume.capacity else { return .failure(.ENOSPC) }
                let growth = start + bytes.count - contents.count
                guard inode.volume.charge(growth) else { return .failure(.ENOSPC) }
                if start > contents.count { contents += repeatElement(0, count: start - contents.count) }
                let overlap = min(bytes.count, contents.count - start)
                contents.replaceSubrange(start..<(start + overlap), with: bytes)
                state.mtime = TmpfsInode.now()
                if !bytes.isEmpty { state.mode = TmpfsInode.droppingSetID(state.mode) }
                if offset == nil { position = Int64(start + bytes.count) }
                return .success(bytes.count)
            }
            return try result.get()
        }
    }

    func stat() throws(LinuxErrno) -> LinuxStat { try inode.stat() }

    func seek(offset: Int64, whence: Int32) throws(LinuxErrno) -> Int64 {
        try position.seek(offset: offset, whence: whence, size: try inode.stat().size)
    }
}

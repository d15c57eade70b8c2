import HostSys
import LinuxABI

// Mount, Walk, WalkStat, FStat, Close: finding files and naming them by FD ids.

extension LisafsServer {
    /// Mount: hands out a control FD for the root.
    func mount() throws(LinuxErrno) -> MountResponse {
        let fd = try onBehalfOfGuest { () throws(Errno) in try root.fd.duplicate() }
        let node = ControlNode(fd: fd, fileType: FileMode.directory, parent: nil, name: "")
        return MountResponse(
            root: try inode(for: node), maxMessageSize: maxMessageSize, supportedMessages: Self.supportedMessages)
    }

    /// Stores `node` under a fresh id and returns its inode (id and statx).
    func inode(for node: ControlNode) throws(LinuxErrno) -> LisafsInode {
        let stat = try onBehalfOfGuest { () throws(Errno) in try node.fd.statx() }
        return LisafsInode(controlFD: table.insert(.control(node)), stat: LisafsStatx(stat))
    }

    /// Opens `name` in `directory` as a new control node, without following a symlink.
    func lookUp(_ name: HostPath, in directory: ControlNode) throws(Errno) -> (ControlNode, LinuxStatx) {
        let fd = try directory.fd.openAt(name, flags: [.path, .noFollow])
        let stat = try fd.statx()
        return (ControlNode(fd: fd, fileType: UInt32(stat.mode) & FileMode.typeMask, parent: directory, name: name), stat)
    }

    /// Walks `names` from `start` one component at a time (each checked by `component`, opened
    /// with O_NOFOLLOW) and calls `visit` with each node found. Stops at a missing component
    /// or after a symlink, and says why it stopped.
    func walk(
        from start: ControlNode, _ names: some Sequence<SizedString>, visit: (ControlNode, LinuxStatx) -> Void
    ) throws(LinuxErrno) -> LisafsWalkStatus {
        var current = start
        for name in names {
            guard current.isDirectory else { throw .ENOTDIR }
            let path = try component(name)
            let found: (ControlNode, LinuxStatx)
            do {
                found = try lookUp(path, in: current)
            } catch {
                if error == .ENOENT { return .componentDoesNotExist }
                throw error.linuxErrno
            }
            visit(found.0, found.1)
            if found.0.isSymlink { return .componentSymlink }
            current = found.0
        }
        return .success
    }

    /// Walk: one control FD per component, stopping at a missing component or a symlink.
    func walk(_ request: WalkRequest) throws(LinuxErrno) -> WalkResponse {
        var inodes: [LisafsInode] = []
        let status = try walk(from: try control(request.dirFD), request.path) { node, stat in
            inodes.append(LisafsInode(controlFD: table.insert(.control(node)), stat: LisafsStatx(stat)))
        }
        return WalkResponse(status: status, inodes: inodes)
    }

    /// WalkStat: the stats along a path without handing out FD ids. A first empty name asks
    /// for the starting directory's stat too. Stops at a missing component or a symlink.
    func walkStat(_ request: WalkStatRequest) throws(LinuxErrno) -> WalkStatResponse {
        let start = try control(request.dirFD)
        var stats: [LisafsStatx] = []
        var names = request.path[...]
        if names.first == .empty {
            stats.append(LisafsStatx(try onBehalfOfGuest { () throws(Errno) in try start.fd.statx() }))
            names = names.dropFirst()
        }
        _ = try walk(from: start, names) { _, stat in stats.append(LisafsStatx(stat)) }
        return WalkStatResponse(stats: stats)
    }

    /// FStat: statx of a control or open FD.
    func fstat(_ request: FStatRequest) throws(LinuxErrno) -> FStatResponse {
        let stat: LinuxStatx
        switch try anyNode(request.fd) {
        case .control(let node): stat = try onBehalfOfGuest { () throws(Errno) in try node.fd.statx() }
        case .open(let open): stat = try onBehalfOfGuest { () throws(Errno) in try open.fd.statx() }
        }
        return FStatResponse(stat: LisafsStatx(stat))
    }

    /// Close: forgets the ids; ids the server never issued (or already closed) are ignored,
    /// as lisafs does, so a close of many ids never half-fails.
    func close(_ request: CloseRequest) -> CloseResponse {
        for id in request.fds { table.remove(id) }
        return CloseResponse()
    }

    /// ReadLinkAt: the target of a symlink control FD.
    func readLink(_ request: ReadLinkAtRequest) throws(LinuxErrno) -> ReadLinkAtResponse {
        let node = try control(request.fd)
        guard node.isSymlink else { throw .EINVAL }
        let target = try onBehalfOfGuest { () throws(Errno) in try node.fd.readLink() }
        guard let string = SizedString(bytes: target) else { throw .ENAMETOOLONG }
        return ReadLinkAtResponse(target: string)
    }

    /// FStatFS: statfs of the file system holding an FD.
    func fstatfs(_ request: FStatFSRequest) throws(LinuxErrno) -> FStatFSResponse {
        let result: LinuxStatfs
        switch try anyNode(request.fd) {
        case .control(let node): result = try onBehalfOfGuest { () throws(Errno) in try node.fd.fileSystemStatistics() }
        case .open(let open): result = try onBehalfOfGuest { () throws(Errno) in try open.fd.fileSystemStatistics() }
        }
        var statfs = LisafsStatfs()
        statfs.type = UInt64(bitPattern: result.type)
        statfs.blockSize = result.blockSize
        statfs.blocks = result.blocks
        statfs.blocksFree = result.blocksFree
        statfs.blocksAvailable = result.blocksAvailable
        statfs.files = result.files
        statfs.filesFree = result.filesFree
        statfs.nameLength = UInt64(bitPattern: result.nameLength)
        return FStatFSResponse(statfs: statfs)
    }
}

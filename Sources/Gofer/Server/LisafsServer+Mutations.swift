import HostSys
import LinuxABI

// MkdirAt, MknodAt, SymlinkAt, LinkAt, UnlinkAt, RenameAt, RenameAt2: changes to directories.

extension LisafsServer {
    /// MkdirAt: mkdirat(2) of `name` in a directory.
    func mkdirAt(_ request: MkdirAtRequest) throws(LinuxErrno) -> MkdirAtResponse {
        try writable()
        let directory = try directory(request.dirFD)
        let name = try component(request.name)
        try onBehalfOfGuest { () throws(Errno) in try directory.fd.makeDirectory(name, mode: UInt32(request.mode) & 0o7777) }
        let (node, _) = try created(name, in: directory, uid: request.uid, gid: request.gid)
        return MkdirAtResponse(child: try inode(for: node))
    }

    /// MknodAt: mknodat(2) of a regular file, FIFO or socket `name` (device nodes are refused
    /// with EPERM: a sandbox never makes them on the host).
    func mknodAt(_ request: MknodAtRequest) throws(LinuxErrno) -> MknodAtResponse {
        try writable()
        let directory = try directory(request.dirFD)
        let name = try component(request.name)
        let mode = UInt32(request.mode)
        let type = mode & FileMode.typeMask
        guard type == FileMode.regular || type == FileMode.fifo || type == FileMode.socket || type == 0 else {
            throw .EPERM
        }
        try onBehalfOfGuest { () throws(Errno) in try directory.fd.makeNode(name, mode: (type == 0 ? FileMode.regular : type) | (mode & 0o7777)) }
        let (node, _) = try created(name, in: directory, uid: request.uid, gid: request.gid)
        return MknodAtResponse(child: try inode(for: node))
    }

    /// SymlinkAt: symlinkat(2). The target is stored as given: the server never resolves it.
    func symlinkAt(_ request: SymlinkAtRequest) throws(LinuxErrno) -> SymlinkAtResponse {
        try writable()
        let directory = try directory(request.dirFD)
        let name = try component(request.name)
        guard !request.target.bytes.isEmpty, let target = HostPath(bytes: request.target.bytes) else { throw .ENOENT }
        try onBehalfOfGuest { () throws(Errno) in try directory.fd.makeSymlink(name, target: target) }
        let (node, _) = try created(name, in: directory, uid: request.uid, gid: request.gid)
        return SymlinkAtResponse(symlink: try inode(for: node))
    }

    /// LinkAt: a new name in a directory for the file behind a control FD (not a directory).
    func linkAt(_ request: LinkAtRequest) throws(LinuxErrno) -> LinkAtResponse {
        try writable()
        let directory = try directory(request.dirFD)
        let target = try control(request.target)
        let name = try component(request.name)
        guard !target.isDirectory else { throw .EPERM }
        guard let parent = target.parent else { throw .EPERM }
        // By name from the target's parent, then checked to be the same inode: linkat with
        // AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH.
        try onBehalfOfGuest { () throws(Errno) in try directory.fd.makeLink(name, to: target.name, in: parent.fd) }
        let node = try onBehalfOfGuest { () throws(Errno) in
            let (node, stat) = try lookUp(name, in: directory)
            let expected = try target.fd.statx(mask: LinuxStatx.inoBit)
            guard stat.ino == expected.ino, stat.devMajor == expected.devMajor, stat.devMinor == expected.devMinor else {
                try? directory.fd.unlink(name)
                throw Errno(116)  // ESTALE: the name led to another file by now
            }
            return node
        }
        return LinkAtResponse(link: try inode(for: node))
    }

    /// UnlinkAt: unlinkat(2); `flags` may hold AT_REMOVEDIR.
    func unlinkAt(_ request: UnlinkAtRequest) throws(LinuxErrno) -> UnlinkAtResponse {
        try writable()
        let directory = try directory(request.dirFD)
        let name = try component(request.name)
        guard request.flags & ~UInt32(AtFlags.removeDirectory) == 0 else { throw .EINVAL }
        try onBehalfOfGuest { () throws(Errno) in
            try directory.fd.unlink(name, directory: request.flags & UInt32(AtFlags.removeDirectory) != 0)
        }
        return UnlinkAtResponse()
    }

    /// RenameAt: renameat(2) between two directories.
    func renameAt(_ request: RenameAtRequest) throws(LinuxErrno) -> RenameAtResponse {
        try rename(from: request.oldDir, request.oldName, to: request.newDir, request.newName, flags: 0)
        return RenameAtResponse()
    }

    /// RenameAt2: renameat2(2) with RENAME_NOREPLACE or RENAME_EXCHANGE (RENAME_WHITEOUT is
    /// refused: it makes a device node).
    func renameAt2(_ request: RenameAt2Request) throws(LinuxErrno) -> RenameAt2Response {
        guard request.flags & ~(RenameFlags.noReplace | RenameFlags.exchange) == 0 else { throw .EINVAL }
        try rename(from: request.oldDir, request.oldName, to: request.newDir, request.newName, flags: request.flags)
        return RenameAt2Response()
    }

    /// Renames on the host, then moves the names of the control nodes that were found under
    /// the old name (and, for an exchange, those under the new one).
    private func rename(
        from oldID: LisafsFDID, _ oldName: SizedString, to newID: LisafsFDID, _ newName: SizedString, flags: UInt32
    ) throws(LinuxErrno) {
        try writable()
        let oldDirectory = try directory(oldID)
        let newDirectory = try directory(newID)
        let from = try component(oldName)
        let to = try component(newName)
        try onBehalfOfGuest { () throws(Errno) in try oldDirectory.fd.rename(from, to: to, in: newDirectory.fd, flags: flags) }
        let nodes = table.controlNodes
        let moved = nodes.filter { $0.isNamed(from, in: oldDirectory) }
        let swapped = flags & RenameFlags.exchange != 0 ? nodes.filter { $0.isNamed(to, in: newDirectory) } : []
        for node in moved { node.move(to: newDirectory, name: to) }
        for node in swapped { node.move(to: oldDirectory, name: from) }
    }
}

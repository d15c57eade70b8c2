import HostSys
import LinuxABI

// OpenAt, OpenCreateAt, PRead, PWrite, FSync, Flush, FAllocate, SetStat, Getdents64.

/// open(2) flags a client may pass to OpenAt and OpenCreateAt; the server adds its own
/// (O_NOFOLLOW, O_CLOEXEC) and drops everything else.
let allowedOpenFlags = OpenFlags([.writeOnly, .readWrite, .truncate, .append, .nonBlocking, .directory])

extension LisafsServer {
    /// OpenAt: opens the file behind a control FD for I/O. The file is reopened by name from
    /// its parent with O_NOFOLLOW and must still be the same inode (a rename or a swap for a
    /// symlink between walk and open gives ESTALE, not another file). Regular files and FIFOs
    /// are donated: the client gets the host fd and reads and writes it directly.
    func openAt(_ request: OpenAtRequest) throws(LinuxErrno) -> (OpenAtResponse, OpenNode?) {
        let node = try control(request.fd)
        var flags = OpenFlags(rawValue: Int32(bitPattern: request.flags)).intersection(allowedOpenFlags)
        let writes = flags.rawValue & OpenFlags.accessModeMask != 0 || flags.contains(.truncate)
        if writes { try writable() }
        switch node.fileType {
        case FileMode.symlink: throw .ELOOP
        case FileMode.socket: throw .ENXIO
        case FileMode.directory where writes: throw .EISDIR
        case FileMode.fifo where !writes: flags.insert(.nonBlocking)  // a reader must not block the gofer
        default: break
        }
        let fd = try onBehalfOfGuest { () throws(Errno) in try reopen(node, flags: flags) }
        let open = OpenNode(node: node, fd: fd, flags: flags)
        let id = table.insert(.open(open))
        let donate = node.fileType == FileMode.regular || node.fileType == FileMode.fifo
        return (OpenAtResponse(openFD: id), donate ? open : nil)
    }

    /// Opens `node` again with `flags`, by name from its parent (or itself, for the root), and
    /// checks that the name still leads to the same inode.
    func reopen(_ node: ControlNode, flags: OpenFlags) throws(Errno) -> FileDescriptor {
        let flags = flags.union(.noFollow)
        let fd: FileDescriptor
        if let parent = node.parent {
            fd = try parent.fd.openAt(node.name, flags: flags)
        } else {
            fd = try node.fd.openAt(".", flags: flags)
        }
        let expected = try node.fd.statx(mask: LinuxStatx.inoBit)
        let actual = try fd.statx(mask: LinuxStatx.inoBit)
        guard expected.ino == actual.ino, expected.devMajor == actual.devMajor, expected.devMinor == actual.devMinor else {
            throw Errno(116)  // ESTALE
        }
        return fd
    }

    /// OpenCreateAt: creates a regular file `name` in a directory (O_CREAT|O_EXCL, never
    /// through a symlink), owned by `uid`/`gid`, and returns both a control FD and an open FD.
    func openCreateAt(_ request: OpenCreateAtRequest) throws(LinuxErrno) -> (OpenCreateAtResponse, OpenNode?) {
        try writable()
        let directory = try directory(request.dirFD)
        let name = try component(request.name)
        let flags = OpenFlags(rawValue: Int32(bitPattern: request.flags)).intersection(allowedOpenFlags)
            .union([.create, .exclusive, .noFollow])
        let mode = UInt32(request.mode) & 0o7777
        let fd = try onBehalfOfGuest { () throws(Errno) in try directory.fd.openAt(name, flags: flags, mode: mode) }
        let (node, _) = try created(name, in: directory, uid: request.uid, gid: request.gid)
        let open = OpenNode(node: node, fd: fd, flags: flags)
        let child = try inode(for: node)
        let openID = table.insert(.open(open))
        return (OpenCreateAtResponse(child: child, openFD: openID), open)
    }

    /// Opens the file just made as `name` in `directory` and gives it the requested owner;
    /// on failure the file is removed again, so a failed create leaves nothing behind.
    func created(_ name: HostPath, in directory: ControlNode, uid: LisafsUID, gid: LisafsGID) throws(LinuxErrno) -> (ControlNode, LinuxStatx) {
        do {
            let (node, stat) = try lookUp(name, in: directory)
            let wantedUID = uid.isValid && uid.rawValue != stat.uid ? uid.rawValue : UInt32.max
            let wantedGID = gid.isValid && gid.rawValue != stat.gid ? gid.rawValue : UInt32.max
            if wantedUID != .max || wantedGID != .max { try node.fd.changeOwner(uid: wantedUID, gid: wantedGID) }
            return (node, stat)
        } catch {
            try? directory.fd.unlink(name, directory: false)
            try? directory.fd.unlink(name, directory: true)
            throw error.linuxErrno
        }
    }

    /// PRead: up to `count` bytes (at most what fits one message) from an open FD at `offset`.
    func pread(_ request: PReadRequest) throws(LinuxErrno) -> PReadResponse {
        let limit = Int(maxMessageSize) - LisafsChannelHeader.size - 8
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(Int(request.count), limit), alignment: 8)
        defer { buffer.deallocate() }
        let n = try pread(request, into: buffer)
        return PReadResponse(data: Array(UnsafeRawBufferPointer(rebasing: buffer[0..<n])))
    }

    /// PRead into `buffer` (at most its size): the channel's fast path reads straight into the
    /// packet window, with no copy of the data in between.
    func pread(_ request: PReadRequest, into buffer: UnsafeMutableRawBufferPointer) throws(LinuxErrno) -> Int {
        let open = try open(request.fd)
        guard open.isReadable else { throw .EBADF }
        guard request.offset <= UInt64(Int64.max) else { throw .EINVAL }
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(Int(request.count), buffer.count)])
        return try onBehalfOfGuest { () throws(Errno) in try open.fd.read(into: target, at: Int64(request.offset)) }
    }

    /// PWrite: writes the bytes to an open FD at `offset`.
    func pwrite(_ request: PWriteRequest) throws(LinuxErrno) -> PWriteResponse {
        let open = try open(request.fd)
        guard open.isWritable else { throw .EBADF }
        guard request.offset <= UInt64(Int64.max) else { throw .EINVAL }
        let written = request.data.withUnsafeBytes { buffer in
            Result { () throws(Errno) in try open.fd.write(buffer, at: Int64(request.offset)) }
        }
        return PWriteResponse(count: UInt64(try onBehalfOfGuest { () throws(Errno) in try written.get() }))
    }

    /// FSync: fsync(2) of each open FD; ids that are not open FDs are EBADF.
    func fsync(_ request: FSyncRequest) throws(LinuxErrno) -> FSyncResponse {
        for id in request.fds {
            let open = try open(id)
            try onBehalfOfGuest { () throws(Errno) in try open.fd.sync() }
        }
        return FSyncResponse()
    }

    /// Flush: nothing is buffered in the server; checks the id only.
    func flush(_ request: FlushRequest) throws(LinuxErrno) -> FlushResponse {
        _ = try open(request.fd)
        return FlushResponse()
    }

    /// FAllocate: fallocate(2) on a writable open FD.
    func fallocate(_ request: FAllocateRequest) throws(LinuxErrno) -> FAllocateResponse {
        try writable()
        let open = try open(request.fd)
        guard open.isWritable else { throw .EBADF }
        guard request.offset <= UInt64(Int64.max), request.length <= UInt64(Int64.max), request.mode <= UInt64(Int32.max)
        else { throw .EINVAL }
        try onBehalfOfGuest { () throws(Errno) in
            try open.fd.allocate(mode: Int32(request.mode), offset: Int64(request.offset), length: Int64(request.length))
        }
        return FAllocateResponse()
    }

    /// SetStat: the changes `mask` selects, each applied to the file itself (never by name).
    /// Like lisafs, a failed change does not stop the others: the answer says which failed.
    func setStat(_ request: SetStatRequest) throws(LinuxErrno) -> SetStatResponse {
        try writable()
        let node: ControlNode
        let openFD: OpenNode?
        switch try anyNode(request.fd) {
        case .control(let control): (node, openFD) = (control, nil)
        case .open(let open): (node, openFD) = (open.node, open)
        }
        var failureMask: UInt32 = 0
        var failureErrno: UInt32 = 0
        func attempt(_ bit: UInt32, _ change: () throws(Errno) -> Void) {
            guard request.mask & bit != 0 else { return }
            do {
                try change()
            } catch {
                failureMask |= bit
                failureErrno = UInt32(bitPattern: error.rawValue)
            }
        }
        attempt(LinuxStatx.modeBit) { () throws(Errno) in try node.fd.changeMode(request.mode & 0o7777) }
        attempt(LinuxStatx.uidBit | LinuxStatx.gidBit) { () throws(Errno) in
            let uid = request.mask & LinuxStatx.uidBit != 0 ? request.uid.rawValue : .max
            let gid = request.mask & LinuxStatx.gidBit != 0 ? request.gid.rawValue : .max
            try node.fd.changeOwner(uid: uid, gid: gid)
        }
        attempt(LinuxStatx.sizeBit) { () throws(Errno) in
            guard request.size <= UInt64(Int64.max) else { throw .EINVAL }
            if let openFD, openFD.isWritable {
                try openFD.fd.truncate(to: Int64(request.size))
            } else {
                guard node.fileType == FileMode.regular else { throw node.isDirectory ? .EISDIR : .EINVAL }
                try reopen(node, flags: .writeOnly).truncate(to: Int64(request.size))
            }
        }
        attempt(LinuxStatx.atimeBit | LinuxStatx.mtimeBit) { () throws(Errno) in
            let omit = LinuxTimespec(seconds: 0, nanoseconds: (1 << 30) - 2)  // UTIME_OMIT
            let access = request.mask & LinuxStatx.atimeBit != 0 ? request.accessTime : omit
            let modification = request.mask & LinuxStatx.mtimeBit != 0 ? request.modificationTime : omit
            try node.fd.setTimes(access: access, modification: modification)
        }
        return SetStatResponse(failureMask: failureMask, failureErrno: failureErrno)
    }

    /// Getdents64: directory entries from an open directory FD, at most `|count|` bytes of
    /// host records (and at most what fits one message). A negative count rewinds first.
    func getdents64(_ request: Getdents64Request) throws(LinuxErrno) -> Getdents64Response {
        let open = try open(request.dirFD)
        guard open.node.isDirectory else { throw .ENOTDIR }
        if request.count < 0 { _ = try onBehalfOfGuest { () throws(Errno) in try open.fd.seek(to: 0) } }
        let requested = request.count == Int32.min ? Int(Int32.max) : Int(abs(request.count))
        // Each host record (19 bytes + name + NUL, 8-aligned) encodes in fewer bytes than it
        // occupies (27 + name), so a buffer of the reply's room never yields a reply too big.
        let room = Int(maxMessageSize) - LisafsChannelHeader.size - 2
        let size = min(requested, room)
        guard size > 0 else { return Getdents64Response(dirents: []) }
        let directoryStat = try onBehalfOfGuest { () throws(Errno) in try open.fd.statx() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        let count = try onBehalfOfGuest { () throws(Errno) in try open.fd.readDirectoryEntries(into: buffer) }
        var dirents: [LisafsDirent64] = []
        var offset = 0
        // linux_dirent64: d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name (NUL-terminated).
        while offset + 19 <= count {
            let inode = buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            let next = buffer.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
            let length = Int(buffer.loadUnaligned(fromByteOffset: offset + 16, as: UInt16.self))
            let type = buffer[offset + 18]
            guard length >= 20, offset + length <= count else { throw .EIO }
            let nameBytes = buffer[(offset + 19)..<(offset + length)]
            let name = nameBytes.prefix { $0 != 0 }
            if let sized = SizedString(bytes: name) {
                dirents.append(
                    LisafsDirent64(
                        inode: inode, devMinor: directoryStat.devMinor, devMajor: directoryStat.devMajor,
                        offset: next, type: type, name: sized))
            }
            offset += length
        }
        return Getdents64Response(dirents: dirents)
    }
}

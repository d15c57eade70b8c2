import LinuxABI

/// System V shared memory (shmget(2), shmat(2), shmdt(2), shmctl(2)) over the sandbox's
/// `SystemVSharedMemory`. Semaphores and message queues are not served yet (ENOSYS).
extension Syscalls {
    static let ipcCreate: UInt64 = 0o1000, ipcExclusive: UInt64 = 0o2000
    static let shmReadOnly: UInt64 = 0o10000, shmRound: UInt64 = 0o20000, shmRemap: UInt64 = 0o40000, shmExecute: UInt64 = 0o100000
    static let ipcRemove: UInt64 = 0, ipcSet: UInt64 = 1, ipcStat: UInt64 = 2

    /// The sandbox's seconds since the epoch, for the segments' times.
    private static func ipcNow() -> Int64 { (try? now(clockRealtime).seconds) ?? 0 }

    /// Implements Linux shmget(2): the segment of `key` (IPC_PRIVATE: always a new one), made
    /// with IPC_CREAT (the low 9 bits of the flags are its mode). EEXIST with IPC_EXCL when it
    /// exists, ENOENT without IPC_CREAT when it does not, EINVAL for a size outside SHMMIN to
    /// SHMMAX or above an existing segment's, EACCES without the permission the mode bits ask
    /// for, ENOSPC past SHMMNI segments.
    static func shmget(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let key = Int32(truncatingIfNeeded: arguments[0])
        let (size, flags) = (arguments[1], arguments[2])
        let table = task.sandbox.sharedMemorySegments
        let credentials = task.group.credentials
        return try table.locked { () throws(LinuxErrno) -> SyscallOutcome in
            if key != SystemVSharedMemory.privateKey, let existing = table.segment(key: key) {
                if flags & ipcCreate != 0 && flags & ipcExclusive != 0 { throw .EEXIST }
                guard size <= existing.size else { throw .EINVAL }
                let asked = Access(rawValue: UInt32(((flags >> 6) | (flags >> 3) | flags) & 7))  // ipcperms' reading of the flags
                guard existing.permits(asked, credentials) else { throw .EACCES }
                return .value(Int64(existing.id))
            }
            guard key == SystemVSharedMemory.privateKey || flags & ipcCreate != 0 else { throw .ENOENT }
            guard size >= SystemVSharedMemory.minimumSize, size <= SystemVSharedMemory.maximumSize, let rounded = roundUpToPage(size) else {
                throw .EINVAL
            }
            let file = task.mm.file
            let segment = try table.add { (id) throws(LinuxErrno) in
                let memory = SharedMemory(file: file, offset: try file.allocate(rounded), length: rounded, systemVKey: key)
                return SystemVSharedMemory.Segment(
                    id: id, key: key, memory: memory, size: size, mode: UInt32(flags & 0o777), credentials: credentials, pid: task.pid,
                    now: ipcNow())
            }
            return .value(Int64(segment.id))
        }
    }

    /// Implements Linux shmat(2): maps the segment at an address of the Sentry's choosing
    /// (NULL) or at `shmaddr` (page-aligned, or rounded down with SHM_RND; a range already
    /// mapped is EINVAL unless SHM_REMAP), read-only with SHM_RDONLY, executable with SHM_EXEC.
    /// EACCES without read (and write) permission; EINVAL for no such segment.
    static func shmat(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let id = Int32(truncatingIfNeeded: arguments[0])
        var address = arguments[1]
        let flags = arguments[2]
        let table = task.sandbox.sharedMemorySegments
        let credentials = task.group.credentials
        // The address first, as do_shmat: SHM_REMAP needs one, and it must be aligned.
        if flags & shmRound != 0 { address &= ~(page - 1) }
        guard pageAligned(address), address != 0 || flags & shmRemap == 0 else { throw .EINVAL }
        var access: Access = .read
        var protection: MemoryProtection = .read
        if flags & shmReadOnly == 0 {
            access.insert(.write)
            protection.insert(.write)
        }
        if flags & shmExecute != 0 {
            access.insert(.execute)
            protection.insert(.exec)
        }
        let (segment, memory) = try table.locked { () throws(LinuxErrno) -> (SystemVSharedMemory.Segment, SharedMemory) in
            let segment = try table.segment(id)
            guard segment.permits(access, credentials), let memory = segment.memory else { throw .EACCES }
            return (segment, memory)
        }
        let mm = task.mm
        let attached = try mm.locked { () throws(LinuxErrno) -> UInt64 in
            let length = memory.length
            if address == 0 {
                address = try mm.findFreeRange(length: length)
            } else {
                guard pageAligned(address), address <= ELFFile.userAddressSpaceEnd, length <= ELFFile.userAddressSpaceEnd - address else {
                    throw .EINVAL
                }
                if mm.vmas.contains(where: { $0.start < address + length && address < $0.end }) {
                    guard flags & shmRemap != 0 else { throw .EINVAL }
                    try mm.unmap(address: address, length: length)
                }
            }
            try mm.attach(memory, at: address, protection: protection, mayWrite: protection.contains(.write))
            return address
        }
        table.locked {
            segment.attachTime = ipcNow()
            segment.lastPID = task.pid
        }
        return .value(Int64(attached))
    }

    /// Implements Linux shmdt(2): unmaps the segment attached at `shmaddr` (EINVAL if no
    /// attachment begins there).
    static func shmdt(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let address = arguments[0]
        guard pageAligned(address) else { throw .EINVAL }
        let mm = task.mm
        let memory = try mm.locked { () throws(LinuxErrno) -> SharedMemory in
            guard let vma = mm.vma(containing: address), vma.start == address, let memory = vma.sharedMemory,
                memory.systemVKey != nil, vma.fileOffset == memory.offset
            else { throw .EINVAL }
            // Every piece of this attachment (mprotect may have split it) goes.
            for piece in mm.vmas where piece.sharedMemory === memory && piece.start >= address && piece.start < address + memory.length {
                try mm.unmap(address: piece.start, length: piece.end - piece.start)
            }
            return memory
        }
        let table = task.sandbox.sharedMemorySegments
        table.locked {
            // (An anonymous MAP_SHARED mapping is no segment: nothing to note then.)
            guard let segment = table.segment(of: memory) else { return }
            segment.detachTime = ipcNow()
            segment.lastPID = task.pid
        }
        return .value(0)
    }

    /// Implements Linux shmctl(2) IPC_STAT (read permission: `struct shmid_ds`), IPC_SET (the
    /// owner, the creator or CAP_SYS_ADMIN: the owner's ids and the mode's low 9 bits) and
    /// IPC_RMID (the same: the key goes at once, the segment with its last attachment).
    /// Other commands (IPC_INFO, SHM_INFO, SHM_STAT, SHM_LOCK) are EINVAL.
    static func shmctl(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let id = Int32(truncatingIfNeeded: arguments[0])
        let command = arguments[1] & ~0x100  // IPC_64
        let table = task.sandbox.sharedMemorySegments
        let credentials = task.group.credentials
        switch command {
        case ipcStat:
            let bytes: [UInt8] = try table.locked { () throws(LinuxErrno) -> [UInt8] in
                let segment = try table.segment(id)
                guard segment.permits(.read, credentials) else { throw .EACCES }
                let attached = table.attachments(segment, in: task.sandbox)
                var bytes = [UInt8](repeating: 0, count: 112)
                func put(_ value: UInt64, at offset: Int, size: Int) {
                    withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + size), with: $0.prefix(size)) }
                }
                put(UInt64(UInt32(bitPattern: segment.key)), at: 0, size: 4)
                put(UInt64(segment.uid), at: 4, size: 4)
                put(UInt64(segment.gid), at: 8, size: 4)
                put(UInt64(segment.creatorUID), at: 12, size: 4)
                put(UInt64(segment.creatorGID), at: 16, size: 4)
                put(UInt64(segment.mode | (segment.removed ? 0o1000 : 0)), at: 20, size: 2)  // SHM_DEST
                put(UInt64(UInt16(truncatingIfNeeded: segment.id)), at: 24, size: 2)
                put(segment.size, at: 48, size: 8)
                put(UInt64(bitPattern: segment.attachTime), at: 56, size: 8)
                put(UInt64(bitPattern: segment.detachTime), at: 64, size: 8)
                put(UInt64(bitPattern: segment.changeTime), at: 72, size: 8)
                put(UInt64(UInt32(bitPattern: segment.creatorPID)), at: 80, size: 4)
                put(UInt64(UInt32(bitPattern: segment.lastPID)), at: 84, size: 4)
                put(UInt64(attached), at: 88, size: 8)
                return bytes
            }
            try task.mm.copyOut(bytes, to: arguments[2])
        case ipcSet:
            let raw = try task.mm.copyIn(from: arguments[2], count: 112)  // the whole shmid64_ds, as Linux copies it
            try table.locked { () throws(LinuxErrno) in
                let segment = try table.segment(id)
                guard segment.mayChange(credentials) else { throw .EPERM }
                segment.uid = UInt32(word(Array(raw[4..<8])))
                segment.gid = UInt32(word(Array(raw[8..<12])))
                segment.mode = UInt32(word(Array(raw[20..<22]))) & 0o777
                segment.changeTime = ipcNow()
            }
        case ipcRemove:
            try table.locked { () throws(LinuxErrno) in
                let segment = try table.segment(id)
                guard segment.mayChange(credentials) else { throw .EPERM }
                segment.remove()
                segment.changeTime = ipcNow()
            }
        default:
            throw .EINVAL
        }
        return .value(0)
    }
}

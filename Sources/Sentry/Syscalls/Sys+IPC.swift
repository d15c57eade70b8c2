import HostSys
import LinuxABI

/// System V IPC: shared memory (shmget(2), shmat(2), shmdt(2), shmctl(2)) over the
/// sandbox's `SystemVSharedMemory`, semaphores (semget(2), semop(2), semtimedop(2),
/// semctl(2)) over its `SystemVSemaphores`, and message queues (msgget(2), msgsnd(2),
/// msgrcv(2), msgctl(2)) over its `SystemVMessageQueues`.
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

extension Syscalls {
    static let semUndo: UInt64 = 0x1000, ipcNoWait: UInt64 = 0o4000
    static let semGetPID: UInt64 = 11, semGetValue: UInt64 = 12, semGetAll: UInt64 = 13, semGetWaitingToGrow: UInt64 = 14
    static let semGetWaitingForZero: UInt64 = 15, semSetValue: UInt64 = 16, semSetAll: UInt64 = 17

    /// Implements Linux semget(2): the set of `key` (IPC_PRIVATE: always a new one) of
    /// `nsems` semaphores, made with IPC_CREAT (the low 9 bits of the flags are its mode).
    /// EEXIST with IPC_EXCL when it exists, ENOENT without IPC_CREAT when it does not, EINVAL
    /// for a count outside 1 to SEMMSL (0 is fine for an existing set) or above an existing
    /// set's, EACCES without the permission the mode bits ask for.
    static func semget(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let key = Int32(truncatingIfNeeded: arguments[0])
        let count = Int32(truncatingIfNeeded: arguments[1])
        let flags = arguments[2]
        guard count >= 0, Int(count) <= SystemVSemaphores.maximumSemaphores else { throw .EINVAL }
        let table = task.sandbox.semaphores
        let credentials = task.group.credentials
        return try table.monitor.locked { () throws(LinuxErrno) -> SyscallOutcome in
            if key != SystemVSharedMemory.privateKey, let existing = table.set(key: key) {
                if flags & ipcCreate != 0 && flags & ipcExclusive != 0 { throw .EEXIST }
                guard existing.permits(Access(rawValue: UInt32(((flags >> 6) | (flags >> 3) | flags) & 7)), credentials) else { throw .EACCES }
                guard Int(count) <= existing.values.count else { throw .EINVAL }
                return .value(Int64(existing.id))
            }
            guard key == SystemVSharedMemory.privateKey || flags & ipcCreate != 0 else { throw .ENOENT }
            guard count > 0 else { throw .EINVAL }
            let set = try table.add(count: Int(count)) { id in
                SystemVSemaphores.Set(id: id, key: key, count: Int(count), mode: UInt32(flags & 0o777), credentials: credentials, now: ipcNow())
            }
            return .value(Int64(set.id))
        }
    }

    /// Implements Linux semop(2): semtimedop without a timeout.
    static func semop(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try semaphoreOperations(task, id: arguments[0], operations: arguments[1], count: arguments[2], timeout: nil)
    }

    /// Implements Linux semtimedop(2): the operations at `sops` all at once, waiting until
    /// they can be (EAGAIN with IPC_NOWAIT on the one that would wait, or when the timeout
    /// passes); a signal ends the wait with EINTR (never restarted), the set's removal with
    /// EIDRM. E2BIG past SEMOPM operations, EFBIG for a semaphore past the set, ERANGE for a
    /// value past SEMVMX, EACCES without read (waiting for zero) or write permission.
    static func semtimedop(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try semaphoreOperations(task, id: arguments[0], operations: arguments[1], count: arguments[2], timeout: arguments[3])
    }

    /// The operations are checked and copied in before the timeout is read, as Linux does.
    private static func semaphoreOperations(_ task: Task, id raw: UInt64, operations address: UInt64, count wide: UInt64, timeout: UInt64?)
        throws(LinuxErrno) -> SyscallOutcome
    {
        let id = Int32(truncatingIfNeeded: raw)
        let count = UInt64(UInt32(truncatingIfNeeded: wide))  // nsops is an unsigned int
        guard id >= 0, count > 0 else { throw .EINVAL }
        guard count <= UInt64(SystemVSemaphores.maximumOperations) else { throw .E2BIG }
        let raw = try task.mm.copyIn(from: address, count: Int(count) * 6)
        var operations: [SystemVSemaphores.Operation] = []
        var alters = false
        for index in 0..<Int(count) {
            let field = { (at: Int) in UInt16(raw[index * 6 + at]) | UInt16(raw[index * 6 + at + 1]) << 8 }
            let flags = UInt64(field(4))
            let change = Int32(Int16(bitPattern: field(2)))
            alters = alters || change != 0
            operations.append(.init(number: Int(field(0)), change: change, noWait: flags & ipcNoWait != 0, undo: flags & semUndo != 0))
        }
        var wakeBy: UInt64?
        if let timeout, timeout != 0 { wakeBy = deadline(after: try readTimespec(task, timeout).totalNanoseconds) }
        let table = task.sandbox.semaphores
        let credentials = task.group.credentials
        try table.monitor.locked { () throws(LinuxErrno) in
            let set = try table.set(id)
            guard operations.allSatisfy({ $0.number < set.values.count }) else { throw .EFBIG }
            guard set.permits(alters ? .write : .read, credentials) else { throw .EACCES }
            try waitAndApply(task, table, set, operations, until: wakeBy)
        }
        return .value(0)
    }

    /// Applies `operations` to `set`, sleeping (in the table's monitor, which the caller
    /// holds) until they can be: EAGAIN for IPC_NOWAIT or a timeout, EINTR for a signal,
    /// EIDRM for the set's removal.
    private static func waitAndApply(
        _ task: Task, _ table: SystemVSemaphores, _ set: SystemVSemaphores.Set, _ operations: [SystemVSemaphores.Operation], until wakeBy: UInt64?
    ) throws(LinuxErrno) {
        while true {
            guard let blocking = try table.attempt(operations, on: set, pid: task.pid) else {
                set.operationTime = ipcNow()
                return
            }
            if blocking.noWait { throw .EAGAIN }
            let zero = blocking.change == 0
            if zero { set.waitingForZero[blocking.number] += 1 } else { set.waitingToGrow[blocking.number] += 1 }
            let woke = Task.sleep(on: table.monitor, deadline: wakeBy)
            if zero { set.waitingForZero[blocking.number] -= 1 } else { set.waitingToGrow[blocking.number] -= 1 }
            if set.removed { throw .EIDRM }
            switch woke {
            case .interrupted: throw .EINTR
            case .timedOut:
                guard try table.attempt(operations, on: set, pid: task.pid) == nil else { throw .EAGAIN }
                set.operationTime = ipcNow()
                return
            case .woken: continue
            }
        }
    }

    /// Implements Linux semctl(2): IPC_STAT (`struct semid_ds`), IPC_SET and IPC_RMID (the
    /// owner, the creator or CAP_SYS_ADMIN; waiters get EIDRM), GETVAL, SETVAL, GETALL, SETALL
    /// (which clear the SEM_UNDO records of what they set; ERANGE past SEMVMX), GETPID,
    /// GETNCNT and GETZCNT, with read or write permission as Linux asks. IPC_INFO, SEM_INFO
    /// and SEM_STAT are EINVAL.
    static func semctl(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let id = Int32(truncatingIfNeeded: arguments[0])
        let number = Int(Int32(truncatingIfNeeded: arguments[1]))
        let command = arguments[2] & ~0x100  // IPC_64
        let argument = arguments[3]
        let table = task.sandbox.semaphores
        let credentials = task.group.credentials
        // Checked or copied in before the lock: SETVAL's value (ERANGE first, as Linux), the
        // values SETALL sets (after its permission check) and IPC_SET's owner and mode.
        if command == semSetValue, !(0...SystemVSemaphores.maximumValue).contains(Int32(truncatingIfNeeded: argument)) { throw .ERANGE }
        var given: [UInt8] = []
        if command == semSetAll {
            let count = try table.monitor.locked { () throws(LinuxErrno) -> Int in
                let set = try table.set(id)
                guard set.permits(.write, credentials) else { throw .EACCES }
                return set.values.count
            }
            given = try task.mm.copyIn(from: argument, count: count * 2)
        } else if command == ipcSet {
            given = try task.mm.copyIn(from: argument, count: 104)
            guard UInt32(word(Array(given[4..<8]))) != UInt32.max, UInt32(word(Array(given[8..<12]))) != UInt32.max else { throw .EINVAL }
        }
        enum Answer {
            case value(Int64)
            case bytes([UInt8])
        }
        let answer = try table.monitor.locked { () throws(LinuxErrno) -> Answer in
            guard let set = try? table.set(id) else { throw command == semSetAll ? .EIDRM : .EINVAL }  // SETALL: removed while copying
            func require(_ access: Access) throws(LinuxErrno) { guard set.permits(access, credentials) else { throw .EACCES } }
            func semaphore() throws(LinuxErrno) -> Int {
                guard number >= 0, number < set.values.count else { throw .EINVAL }
                return number
            }
            switch command {
            case ipcStat:
                try require(.read)
                var bytes = [UInt8](repeating: 0, count: 104)
                func put(_ value: UInt64, at offset: Int, size: Int) {
                    withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + size), with: $0.prefix(size)) }
                }
                put(UInt64(UInt32(bitPattern: set.key)), at: 0, size: 4)
                put(UInt64(set.uid), at: 4, size: 4)
                put(UInt64(set.gid), at: 8, size: 4)
                put(UInt64(set.creatorUID), at: 12, size: 4)
                put(UInt64(set.creatorGID), at: 16, size: 4)
                put(UInt64(set.mode), at: 20, size: 2)
                put(UInt64(UInt16(truncatingIfNeeded: set.id)), at: 24, size: 2)
                put(UInt64(bitPattern: set.operationTime), at: 48, size: 8)
                put(UInt64(bitPattern: set.changeTime), at: 64, size: 8)
                put(UInt64(set.values.count), at: 80, size: 8)
                return .bytes(bytes)
            case ipcSet:
                guard set.mayChange(credentials) else { throw .EPERM }
                set.uid = UInt32(word(Array(given[4..<8])))
                set.gid = UInt32(word(Array(given[8..<12])))
                set.mode = UInt32(word(Array(given[20..<22]))) & 0o777
                set.changeTime = ipcNow()
            case ipcRemove:
                guard set.mayChange(credentials) else { throw .EPERM }
                table.remove(set)
            case semGetValue:
                try require(.read)
                return .value(Int64(set.values[try semaphore()]))
            case semGetPID:
                try require(.read)
                return .value(Int64(set.lastPIDs[try semaphore()]))
            case semGetWaitingToGrow:
                try require(.read)
                return .value(Int64(set.waitingToGrow[try semaphore()]))
            case semGetWaitingForZero:
                try require(.read)
                return .value(Int64(set.waitingForZero[try semaphore()]))
            case semGetAll:
                try require(.read)
                return .bytes(set.values.flatMap { bytes(UInt64($0)).prefix(2) })
            case semSetValue:
                let index = try semaphore()
                try require(.write)
                set.values[index] = Int32(truncatingIfNeeded: argument)
                set.lastPIDs[index] = task.pid
                table.clearUndo(set, number: index)
                set.changeTime = ipcNow()
                table.monitor.broadcast()
            case semSetAll:
                try require(.write)
                let values = stride(from: 0, to: given.count, by: 2).map { Int32(UInt16(given[$0]) | UInt16(given[$0 + 1]) << 8) }
                guard values.count == set.values.count, values.allSatisfy({ $0 <= SystemVSemaphores.maximumValue }) else { throw .ERANGE }
                set.values = values
                set.lastPIDs = Array(repeating: task.pid, count: values.count)
                table.clearUndo(set)
                set.changeTime = ipcNow()
                table.monitor.broadcast()
            default:
                throw .EINVAL
            }
            return .value(0)
        }
        switch answer {
        case .value(let value): return .value(value)
        case .bytes(let bytes):
            try task.mm.copyOut(bytes, to: argument)
            return .value(0)
        }
    }
}

extension Syscalls {
    static let msgNoError: UInt64 = 0o10000, msgExcept: UInt64 = 0o20000, msgCopy: UInt64 = 0o40000

    /// Implements Linux msgget(2): the queue of `key` (IPC_PRIVATE: always a new one), made
    /// with IPC_CREAT (the low 9 bits of the flags are its mode); EEXIST, ENOENT, EACCES and
    /// ENOSPC as semget.
    static func msgget(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let key = Int32(truncatingIfNeeded: arguments[0])
        let flags = arguments[1]
        let table = task.sandbox.messageQueues
        let credentials = task.group.credentials
        return try table.monitor.locked { () throws(LinuxErrno) -> SyscallOutcome in
            if key != SystemVSharedMemory.privateKey, let existing = table.queue(key: key) {
                if flags & ipcCreate != 0 && flags & ipcExclusive != 0 { throw .EEXIST }
                guard existing.permits(Access(rawValue: UInt32(((flags >> 6) | (flags >> 3) | flags) & 7)), credentials) else { throw .EACCES }
                return .value(Int64(existing.id))
            }
            guard key == SystemVSharedMemory.privateKey || flags & ipcCreate != 0 else { throw .ENOENT }
            let queue = try table.add { id in
                SystemVMessageQueues.Queue(id: id, key: key, mode: UInt32(flags & 0o777), credentials: credentials, now: ipcNow())
            }
            return .value(Int64(queue.id))
        }
    }

    /// Implements Linux msgsnd(2): queues the message at `msgp` (a positive type, then
    /// `msgsz` bytes), waiting for room in the queue (EAGAIN with IPC_NOWAIT); a signal ends
    /// the wait with EINTR, the queue's removal with EIDRM. EINVAL for a size past MSGMAX or
    /// a type below 1, EACCES without write permission.
    static func msgsnd(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let id = Int32(truncatingIfNeeded: arguments[0])
        let size = Int64(bitPattern: arguments[2])
        let flags = arguments[3]
        let type = Int64(bitPattern: word(try task.mm.copyIn(from: arguments[1], count: 8)))  // EFAULT first, as ksys_msgsnd
        guard id >= 0, size >= 0, size <= Int64(SystemVMessageQueues.maximumMessage), type >= 1 else { throw .EINVAL }
        let text = try task.mm.copyIn(from: arguments[1] + 8, count: Int(size))
        let table = task.sandbox.messageQueues
        let credentials = task.group.credentials
        let cost = SystemVMessageQueues.cost(text.count)
        try table.monitor.locked { () throws(LinuxErrno) in
            let queue = try table.queue(id)
            while true {
                guard queue.permits(.write, credentials) else { throw .EACCES }  // again after each wait, as Linux
                // Full: its bytes, its count (each message counts as a byte, as Linux's), or the Sentry's bound.
                if queue.bytes + text.count <= queue.limit && queue.messages.count + 1 <= queue.limit
                    && table.total + cost <= SystemVMessageQueues.maximumTotal
                {
                    break
                }
                if flags & ipcNoWait != 0 { throw .EAGAIN }
                let woke = Task.sleep(on: table.monitor)
                if queue.removed { throw .EIDRM }
                if woke == .interrupted { throw .ERESTARTNOHAND }  // EINTR after a handler, a restart after a stop
            }
            queue.messages.append((Int(type), text))
            queue.bytes += text.count
            table.total += cost
            queue.sendTime = ipcNow()
            queue.lastSender = task.pid
            table.monitor.broadcast()
        }
        return .value(0)
    }

    /// Implements Linux msgrcv(2): takes the message `msgtyp` selects (0: the first; positive:
    /// the first of that type, or with MSG_EXCEPT of another; negative: the first of the
    /// lowest type at most its magnitude) into `msgp` (its type, then its text), waiting for
    /// one (ENOMSG with IPC_NOWAIT); a longer text is E2BIG and stays queued, unless
    /// MSG_NOERROR cuts it. EINTR, EIDRM and EACCES as msgsnd; MSG_COPY is not served (EINVAL).
    static func msgrcv(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let id = Int32(truncatingIfNeeded: arguments[0])
        let size = Int64(bitPattern: arguments[2])
        let type = Int(Int64(bitPattern: arguments[3]))
        let flags = arguments[4]
        guard id >= 0, size >= 0, flags & msgCopy == 0 else { throw .EINVAL }
        let table = task.sandbox.messageQueues
        let credentials = task.group.credentials
        let message = try table.monitor.locked { () throws(LinuxErrno) -> (type: Int, text: [UInt8]) in
            let queue = try table.queue(id)
            while true {
                guard queue.permits(.read, credentials) else { throw .EACCES }  // again after each wait, as Linux
                if let index = queue.select(type, except: flags & msgExcept != 0) {
                    let found = queue.messages[index]
                    guard found.text.count <= size || flags & msgNoError != 0 else { throw .E2BIG }
                    queue.messages.remove(at: index)
                    queue.bytes -= found.text.count
                    table.total -= SystemVMessageQueues.cost(found.text.count)
                    queue.receiveTime = ipcNow()
                    queue.lastReceiver = task.pid
                    table.monitor.broadcast()
                    return (found.type, Array(found.text.prefix(Int(size))))
                }
                if flags & ipcNoWait != 0 { throw .ENOMSG }
                let woke = Task.sleep(on: table.monitor)
                if queue.removed { throw .EIDRM }
                if woke == .interrupted { throw .ERESTARTNOHAND }
            }
        }
        try task.mm.copyOut(bytes(UInt64(bitPattern: Int64(message.type))) + message.text, to: arguments[1])
        return .value(Int64(message.text.count))
    }

    /// Implements Linux msgctl(2) IPC_STAT (read permission: `struct msqid_ds`), IPC_SET (the
    /// owner, the creator or CAP_SYS_ADMIN: the owner's ids, the mode's low 9 bits, and the
    /// byte limit, which only CAP_SYS_RESOURCE raises past MSGMNB) and IPC_RMID. IPC_INFO,
    /// MSG_INFO and MSG_STAT are EINVAL.
    static func msgctl(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let id = Int32(truncatingIfNeeded: arguments[0])
        let command = arguments[1] & ~0x100  // IPC_64
        let table = task.sandbox.messageQueues
        let credentials = task.group.credentials
        switch command {
        case ipcStat:
            let bytes = try table.monitor.locked { () throws(LinuxErrno) -> [UInt8] in
                let queue = try table.queue(id)
                guard queue.permits(.read, credentials) else { throw .EACCES }
                var bytes = [UInt8](repeating: 0, count: 120)
                func put(_ value: UInt64, at offset: Int, size: Int) {
                    withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + size), with: $0.prefix(size)) }
                }
                put(UInt64(UInt32(bitPattern: queue.key)), at: 0, size: 4)
                put(UInt64(queue.uid), at: 4, size: 4)
                put(UInt64(queue.gid), at: 8, size: 4)
                put(UInt64(queue.creatorUID), at: 12, size: 4)
                put(UInt64(queue.creatorGID), at: 16, size: 4)
                put(UInt64(queue.mode), at: 20, size: 2)
                put(UInt64(UInt16(truncatingIfNeeded: queue.id)), at: 24, size: 2)
                put(UInt64(bitPattern: queue.sendTime), at: 48, size: 8)
                put(UInt64(bitPattern: queue.receiveTime), at: 56, size: 8)
                put(UInt64(bitPattern: queue.changeTime), at: 64, size: 8)
                put(UInt64(queue.bytes), at: 72, size: 8)
                put(UInt64(queue.messages.count), at: 80, size: 8)
                put(UInt64(queue.limit), at: 88, size: 8)
                put(UInt64(UInt32(bitPattern: queue.lastSender)), at: 96, size: 4)
                put(UInt64(UInt32(bitPattern: queue.lastReceiver)), at: 100, size: 4)
                return bytes
            }
            try task.mm.copyOut(bytes, to: arguments[2])
        case ipcSet:
            guard id >= 0 else { throw .EINVAL }
            let given = try task.mm.copyIn(from: arguments[2], count: 120)
            let (uid, gid) = (UInt32(word(Array(given[4..<8]))), UInt32(word(Array(given[8..<12]))))
            let limit = UInt64(UInt32(truncatingIfNeeded: word(Array(given[88..<96]))) & 0x7fff_ffff)  // an int, as msgctl_down reads it
            try table.monitor.locked { () throws(LinuxErrno) in
                let queue = try table.queue(id)
                guard queue.mayChange(credentials) else { throw .EPERM }
                if limit > UInt64(SystemVMessageQueues.defaultQueueBytes) && !credentials.has(Capability.sysResource) { throw .EPERM }
                guard uid != UInt32.max, gid != UInt32.max else { throw .EINVAL }
                (queue.uid, queue.gid) = (uid, gid)
                queue.mode = UInt32(word(Array(given[20..<22]))) & 0o777
                queue.limit = Int(limit)
                queue.changeTime = ipcNow()
                table.monitor.broadcast()  // more room, perhaps
            }
        case ipcRemove:
            try table.monitor.locked { () throws(LinuxErrno) in
                let queue = try table.queue(id)
                guard queue.mayChange(credentials) else { throw .EPERM }
                table.remove(queue)
            }
        default:
            throw .EINVAL
        }
        return .value(0)
    }
}

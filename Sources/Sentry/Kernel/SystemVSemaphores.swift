import HostSys
import LinuxABI

/// The sandbox's System V semaphore sets (semget(2), semop(2), semctl(2), sysvipc(7)): its
/// IPC namespace's. A set is an array of counters that semop changes all at once or not at
/// all, waiting (interruptibly, with a timeout for semtimedop) until it can; SEM_UNDO
/// changes are undone when the process that made them ends.
///
/// Locks: `monitor` guards every set and the undo records; waiters sleep on it and every
/// change wakes them all to look again (sets are small and waiters few).
final class SystemVSemaphores: @unchecked Sendable {
    final class Set {
        let id: Int32
        var key: Int32
        var values: [Int32]
        /// The pid of the last process to change each semaphore (GETPID).
        var lastPIDs: [Int32]
        /// Tasks waiting for each semaphore to grow (GETNCNT) or to be zero (GETZCNT).
        var waitingToGrow: [Int]
        var waitingForZero: [Int]
        var uid: UInt32, gid: UInt32, mode: UInt32
        let creatorUID: UInt32, creatorGID: UInt32
        var operationTime: Int64 = 0, changeTime: Int64
        var removed = false

        init(id: Int32, key: Int32, count: Int, mode: UInt32, credentials: Credentials, now: Int64) {
            (self.id, self.key, self.mode) = (id, key, mode)
            values = Array(repeating: 0, count: count)
            lastPIDs = Array(repeating: 0, count: count)
            waitingToGrow = Array(repeating: 0, count: count)
            waitingForZero = Array(repeating: 0, count: count)
            (uid, gid, creatorUID, creatorGID) = (credentials.effectiveUID, credentials.effectiveGID, credentials.effectiveUID, credentials.effectiveGID)
            changeTime = now
        }

        /// ipcperms(): the owner's or creator's bits, the group's, or the others', else CAP_IPC_OWNER.
        func permits(_ access: Access, _ credentials: Credentials) -> Bool {
            let bits: UInt32
            if credentials.effectiveUID == uid || credentials.effectiveUID == creatorUID {
                bits = (mode >> 6) & 7
            } else if credentials.inGroup(gid) || credentials.inGroup(creatorGID) {
                bits = (mode >> 3) & 7
            } else {
                bits = mode & 7
            }
            return access.rawValue & ~bits == 0 || credentials.has(Capability.ipcOwner)
        }

        /// IPC_SET and IPC_RMID: the owner, the creator, or CAP_SYS_ADMIN.
        func mayChange(_ credentials: Credentials) -> Bool {
            credentials.effectiveUID == uid || credentials.effectiveUID == creatorUID || credentials.has(Capability.sysAdmin)
        }
    }

    /// One operation of semop: add `change` to semaphore `number`, or (0) wait for it to be zero.
    struct Operation {
        var number: Int
        var change: Int32
        var noWait: Bool
        var undo: Bool
    }

    /// Linux's limits: SEMMSL semaphores a set, SEMMNI sets, SEMOPM operations a call,
    /// SEMVMX the largest value and SEMAEM the largest SEM_UNDO adjustment. SEMMNS, the
    /// semaphores of all sets, is the Sentry's own: what its memory affords (Linux's default
    /// would let a program claim gigabytes of it).
    static let maximumSemaphores = 32000, maximumSets = 32000, maximumOperations = 500, maximumTotal = 1 << 22
    static let maximumValue: Int32 = 32767, maximumAdjustment: Int32 = 32767

    let monitor = Monitor()
    private var sets: [Int32: Set] = [:]
    private var nextID: Int32 = 0
    private var total = 0
    /// SEM_UNDO adjustments, by process, set and semaphore: what to add back to each
    /// semaphore when the process ends (only those it changed with SEM_UNDO are recorded).
    private var undo: [Int32: [Int32: [Int: Int32]]] = [:]

    /// The set `id` (EINVAL if there is none). Call under `monitor`.
    func set(_ id: Int32) throws(LinuxErrno) -> Set {
        guard id >= 0, let set = sets[id], !set.removed else { throw .EINVAL }
        return set
    }

    /// The set with `key` (not IPC_PRIVATE), if any. Call under `monitor`.
    func set(key: Int32) -> Set? { sets.values.first { $0.key == key && !$0.removed } }

    /// Adds a set made by `make` with the next free id (ENOSPC past SEMMNI). Call under `monitor`.
    func add(count: Int, _ make: (Int32) -> Set) throws(LinuxErrno) -> Set {
        guard sets.count < Self.maximumSets, total + count <= Self.maximumTotal else { throw .ENOSPC }
        while sets[nextID] != nil { nextID = nextID == Int32.max ? 0 : nextID + 1 }
        let set = make(nextID)
        sets[set.id] = set
        total += set.values.count
        nextID = nextID == Int32.max ? 0 : nextID + 1
        return set
    }

    /// Removes a set (IPC_RMID): its waiters wake to EIDRM. Call under `monitor`.
    func remove(_ set: Set) {
        set.removed = true
        sets.removeValue(forKey: set.id)
        total -= set.values.count
        for pid in undo.keys { undo[pid]?.removeValue(forKey: set.id) }
        monitor.broadcast()
    }

    /// Forgets every process's SEM_UNDO adjustment of semaphore `number` of `set` (or of all of
    /// them), as SETVAL and SETALL do. Call under `monitor`.
    func clearUndo(_ set: Set, number: Int? = nil) {
        for pid in undo.keys {
            if let number { undo[pid]?[set.id]?.removeValue(forKey: number) } else { undo[pid]?.removeValue(forKey: set.id) }
        }
    }

    /// Tries `operations` on `set` all at once (Linux's perform_atomic_semop): applies them
    /// and returns nil, or returns the operation that would have to wait (nothing changed);
    /// ERANGE if a value would pass SEMVMX or a SEM_UNDO adjustment SEMAEM. Call under
    /// `monitor`.
    func attempt(_ operations: [Operation], on set: Set, pid: Int32) throws(LinuxErrno) -> Operation? {
        var changed: [Int: Int32] = [:]  // the tentative values of the semaphores touched
        var adjustments = undo[pid]?[set.id] ?? [:]
        for operation in operations {
            let current = changed[operation.number] ?? set.values[operation.number]
            if operation.change == 0 {
                if current != 0 { return operation }
                continue
            }
            let result = current + operation.change  // both within ±32767: no overflow
            if result < 0 { return operation }
            guard result <= Self.maximumValue else { throw .ERANGE }
            if operation.undo {
                let adjustment = (adjustments[operation.number] ?? 0) - operation.change
                guard abs(adjustment) <= Self.maximumAdjustment + (adjustment < 0 ? 1 : 0) else { throw .ERANGE }
                adjustments[operation.number] = adjustment
            }
            changed[operation.number] = result
        }
        for (number, value) in changed { set.values[number] = value }
        for operation in operations { set.lastPIDs[operation.number] = pid }
        if operations.contains(where: { $0.undo && $0.change != 0 }) { undo[pid, default: [:]][set.id] = adjustments }
        monitor.broadcast()
        return nil
    }

    /// Process `pid` ended: its SEM_UNDO adjustments are applied (each value kept within 0
    /// and SEMVMX, nothing waited for), and waiters look again.
    func exited(_ pid: Int32) {
        monitor.locked {
            guard let records = undo.removeValue(forKey: pid) else { return }
            for (id, adjustments) in records {
                guard let set = sets[id] else { continue }
                for (number, adjustment) in adjustments where adjustment != 0 {
                    set.values[number] = min(max(set.values[number] + adjustment, 0), Self.maximumValue)
                    set.lastPIDs[number] = pid
                }
            }
            monitor.broadcast()
        }
    }
}

import HostSys
import LinuxABI

/// The sandbox's System V shared memory segments (shmget(2), shmat(2), shmdt(2),
/// shmctl(2), sysvipc(7)): its IPC namespace's. A segment is a `SharedMemory` range that
/// shmat maps into a process and fork passes on; IPC_RMID takes its key away at once and
/// frees it when the last attachment goes.
///
/// Locks: `monitor` guards the table and every segment's fields; address spaces are read
/// (for attach counts) under it, and it is never taken under an address space's lock.
final class SystemVSharedMemory: @unchecked Sendable {
    final class Segment {
        let id: Int32
        var key: Int32
        /// The memory: held here until IPC_RMID, then only by the mappings of it (the
        /// segment is gone with the last of them, as Linux's shm_destroy at the last close).
        private var held: SharedMemory?
        private weak var mapped: SharedMemory?
        var memory: SharedMemory? { held ?? mapped }
        /// The size shmget asked for (shm_segsz); the memory is that rounded up to pages.
        let size: UInt64
        var uid: UInt32, gid: UInt32, mode: UInt32
        let creatorUID: UInt32, creatorGID: UInt32, creatorPID: Int32
        var lastPID: Int32 = 0
        var attachTime: Int64 = 0, detachTime: Int64 = 0, changeTime: Int64
        /// IPC_RMID was asked for: freed when nothing has it attached.
        var removed = false

        /// IPC_RMID: the key goes, and the memory stays only while mapped.
        func remove() {
            removed = true
            key = SystemVSharedMemory.privateKey
            held = nil
        }

        init(id: Int32, key: Int32, memory: SharedMemory, size: UInt64, mode: UInt32, credentials: Credentials, pid: Int32, now: Int64) {
            (self.id, self.key, self.held, self.size, self.mode) = (id, key, memory, size, mode)
            mapped = memory
            (uid, gid, creatorUID, creatorGID, creatorPID) = (credentials.effectiveUID, credentials.effectiveGID, credentials.effectiveUID, credentials.effectiveGID, pid)
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

    /// Linux's limits: SHMMNI segments, SHMMIN and SHMMAX bytes.
    static let maximumSegments = 4096, minimumSize: UInt64 = 1, maximumSize: UInt64 = 1 << 32
    static let privateKey: Int32 = 0

    private let monitor = Monitor()
    private var segments: [Int32: Segment] = [:]
    private var nextID: Int32 = 0

    func locked<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        try monitor.locked(body)
    }

    /// The segment `id` (EINVAL if there is none, or it was removed and its last mapping
    /// went). Call under `locked`.
    func segment(_ id: Int32) throws(LinuxErrno) -> Segment {
        guard id >= 0, let segment = segments[id] else { throw .EINVAL }
        guard segment.memory != nil else {
            segments.removeValue(forKey: id)
            throw .EINVAL
        }
        return segment
    }

    /// The segment whose memory `memory` is, if any. Call under `locked`.
    func segment(of memory: SharedMemory) -> Segment? {
        segments.values.first { $0.memory === memory }
    }

    /// The live segment with `key`, if any. Call under `locked`.
    func segment(key: Int32) -> Segment? {
        segments.values.first { $0.key == key && !$0.removed }
    }

    /// Adds a segment of `size` bytes made by `make` with the next free id. Call under `locked`.
    func add(_ make: (Int32) throws(LinuxErrno) -> Segment) throws(LinuxErrno) -> Segment {
        segments = segments.filter { $0.value.memory != nil }  // removed segments whose memory is gone
        guard segments.count < Self.maximumSegments else { throw .ENOSPC }
        while segments[nextID] != nil { nextID = nextID == Int32.max ? 0 : nextID + 1 }
        let segment = try make(nextID)
        segments[segment.id] = segment
        nextID = nextID == Int32.max ? 0 : nextID + 1
        return segment
    }

    /// How many attachments `segment` has across the sandbox's processes (shm_nattch).
    func attachments(_ segment: Segment, in sandbox: Sandbox) -> Int {
        guard let memory = segment.memory else { return 0 }
        return sandbox.liveProcesses().reduce(0) { $0 + $1.mm.attachments(of: memory) }
    }
}

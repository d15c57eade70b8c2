import HostSys
import LinuxABI

/// The sandbox's System V message queues (msgget(2), msgsnd(2), msgrcv(2), msgctl(2),
/// sysvipc(7)): its IPC namespace's. A queue holds typed messages up to its byte limit
/// (msg_qbytes); senders wait for room and receivers for a message, interruptibly.
///
/// Locks: `monitor` guards every queue; waiters sleep on it and every change wakes them all.
final class SystemVMessageQueues: @unchecked Sendable {
    final class Queue {
        let id: Int32
        var key: Int32
        var messages: [(type: Int, text: [UInt8])] = []
        var bytes = 0
        var limit: Int
        var uid: UInt32, gid: UInt32, mode: UInt32
        let creatorUID: UInt32, creatorGID: UInt32
        var sendTime: Int64 = 0, receiveTime: Int64 = 0, changeTime: Int64
        var lastSender: Int32 = 0, lastReceiver: Int32 = 0
        var removed = false

        init(id: Int32, key: Int32, mode: UInt32, credentials: Credentials, now: Int64) {
            (self.id, self.key, self.mode, limit) = (id, key, mode, SystemVMessageQueues.defaultQueueBytes)
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

        /// The index of the message msgrcv(2) takes for `type`: the first (0), the first of
        /// that type (or, with MSG_EXCEPT, of another), or (negative) the first of the lowest
        /// type at most its magnitude.
        func select(_ type: Int, except: Bool) -> Int? {
            if type == 0 { return messages.isEmpty ? nil : 0 }
            if type > 0 { return messages.firstIndex { except ? $0.type != type : $0.type == type } }
            let bound = type == Int.min ? Int.max : -type  // convert_mode's reading of LONG_MIN
            var best: Int?
            for (index, message) in messages.enumerated() where message.type <= bound {
                if best == nil || message.type < messages[best!].type { best = index }
            }
            return best
        }
    }

    /// Linux's limits: MSGMNI queues, MSGMAX bytes a message, MSGMNB bytes a queue by default.
    /// The Sentry also bounds what all queues hold together (each message costing its text
    /// and a header, as Linux's struct msg_msg), which Linux leaves to MSGMNI x MSGMNB.
    static let maximumQueues = 32000, maximumMessage = 8192, defaultQueueBytes = 16384
    static let maximumTotal = 64 << 20, messageOverhead = 64

    /// What a message of `count` bytes costs against `maximumTotal`.
    static func cost(_ count: Int) -> Int { count + messageOverhead }

    let monitor = Monitor()
    private var queues: [Int32: Queue] = [:]
    private var nextID: Int32 = 0
    /// What all queues hold, in bytes.
    var total = 0

    /// The queue `id` (EINVAL if there is none). Call under `monitor`.
    func queue(_ id: Int32) throws(LinuxErrno) -> Queue {
        guard id >= 0, let queue = queues[id], !queue.removed else { throw .EINVAL }
        return queue
    }

    /// The queue with `key` (not IPC_PRIVATE), if any. Call under `monitor`.
    func queue(key: Int32) -> Queue? { queues.values.first { $0.key == key && !$0.removed } }

    /// Adds a queue made by `make` with the next free id (ENOSPC past MSGMNI). Call under `monitor`.
    func add(_ make: (Int32) -> Queue) throws(LinuxErrno) -> Queue {
        guard queues.count < Self.maximumQueues else { throw .ENOSPC }
        while queues[nextID] != nil { nextID = nextID == Int32.max ? 0 : nextID + 1 }
        let queue = make(nextID)
        queues[queue.id] = queue
        nextID = nextID == Int32.max ? 0 : nextID + 1
        return queue
    }

    /// Removes a queue (IPC_RMID): its messages go, its waiters wake to EIDRM. Call under `monitor`.
    func remove(_ queue: Queue) {
        queue.removed = true
        total -= queue.messages.reduce(0) { $0 + Self.cost($1.text.count) }
        queues.removeValue(forKey: queue.id)
        monitor.broadcast()
    }
}

import HostSys
import LinuxABI
import Synchronization

/// A signalfd (signalfd(2)): reads take the reading thread's pending signals that are in the
/// file's mask, as 128-byte `struct signalfd_siginfo` records, as many as fit; a read with
/// none pending waits (EAGAIN with O_NONBLOCK) until one comes, and another signal that
/// would interrupt ends it to be delivered (ERESTARTSYS). poll and epoll report it readable
/// while such a signal is pending for the polling thread. The mask never holds SIGKILL or
/// SIGSTOP; signalfd4 on the fd replaces it. Writes are EINVAL.
///
/// Locks: the mask is atomic; the signals are the task's queue's.
final class SignalFD: FileOperations, Sendable {
    static let recordSize = 128
    let inode: UInt64
    private let maskStorage: Atomic<UInt64>

    init(mask: UInt64, inode: UInt64) {
        self.inode = inode
        self.maskStorage = Atomic(mask & ~SignalState.unblockable)
    }

    var mask: UInt64 {
        get { maskStorage.load(ordering: .acquiring) }
        set { maskStorage.store(newValue & ~SignalState.unblockable, ordering: .releasing) }
    }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { try read(count: count, at: offset, nonBlocking: false) }

    func read(count: Int, at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> [UInt8] {
        guard count >= Self.recordSize else { throw .EINVAL }
        guard let task = Task.current else { throw .EINVAL }
        let mask = self.mask
        var records: [UInt8] = []
        while records.count + Self.recordSize <= count, let signal = task.signalQueue.take(blocked: ~mask) {
            records += Self.record(signal)
        }
        if !records.isEmpty || nonBlocking {
            guard !records.isEmpty else { throw .EAGAIN }
            return records
        }
        while true {
            let mask = self.mask  // signalfd4 may change it while the read waits
            let others = task.interruptingSignals & ~mask
            if task.signalQueue.hasPending(in: others) { throw .ERESTARTSYS }
            _ = task.signalQueue.wait(for: mask | others, until: nil)
            if let signal = task.signalQueue.take(blocked: ~mask) {
                records = Self.record(signal)
                while records.count + Self.recordSize <= count, let more = task.signalQueue.take(blocked: ~mask) { records += Self.record(more) }
                return records
            }
        }
    }

    /// `struct signalfd_siginfo`: the siginfo's fields at their own offsets.
    static func record(_ signal: PendingSignal) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: recordSize)
        func put(_ value: UInt64, at offset: Int, size: Int) {
            withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + size), with: $0.prefix(size)) }
        }
        put(UInt64(UInt32(bitPattern: signal.number)), at: 0, size: 4)
        put(UInt64(UInt32(bitPattern: signal.code)), at: 8, size: 4)
        if let given = signal.given {
            bytes.replaceSubrange(12..<20, with: given[16..<24])  // ssi_pid, ssi_uid
            bytes.replaceSubrange(44..<48, with: given[24..<28])  // ssi_int
            bytes.replaceSubrange(48..<56, with: given[24..<32])  // ssi_ptr
        } else if let address = signal.address {
            put(address, at: 72, size: 8)  // ssi_addr
        } else if let timer = signal.timer {
            put(UInt64(UInt32(bitPattern: timer.id)), at: 24, size: 4)  // ssi_tid
            put(UInt64(UInt32(bitPattern: signal.overrun)), at: 32, size: 4)  // ssi_overrun
            put(timer.value & 0xffff_ffff, at: 44, size: 4)  // ssi_int
            put(timer.value, at: 48, size: 8)  // ssi_ptr
        } else {
            put(UInt64(UInt32(bitPattern: signal.pid)), at: 12, size: 4)  // ssi_pid
            put(UInt64(signal.uid), at: 16, size: 4)  // ssi_uid
            put(UInt64(UInt32(bitPattern: signal.status)), at: 40, size: 4)  // ssi_status
        }
        return bytes
    }

    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { throw .EINVAL }

    /// An anonymous inode, as Linux's anon_inode: mode 0600, no file type.
    func stat() throws(LinuxErrno) -> LinuxStat {
        var stat = LinuxStat()
        stat.mode = 0o600
        stat.ino = inode
        stat.nlink = 1
        stat.blksize = 4096
        return stat
    }

    func readiness(_ events: PollEvents) -> PollEvents {
        guard let task = Task.current, task.signalQueue.hasPending(in: mask) else { return [] }
        return PollEvents.input.intersection(events)
    }
}

import HostSys
import LinuxABI

/// A timerfd (timerfd_create(2)): a `KernelTimer` whose expirations add to a count that a read
/// of 8 bytes takes whole (waiting while it is 0; EAGAIN with O_NONBLOCK); poll and epoll
/// report it readable while the count is not 0. Setting the timer clears the count. Writes
/// are EINVAL, as Linux's timerfd has no write.
///
/// Locks: `monitor` guards the count; readers sleep on it. The timer's expirations take it;
/// the timer's own lock (`Timers`') is taken under it.
final class TimerFD: FileOperations, @unchecked Sendable {
    let inode: UInt64
    /// The clock its absolute times are read on (clock_gettime(2)'s id).
    let clock: UInt64
    private(set) var timer: KernelTimer! = nil
    private let monitor = Monitor()
    private var expirations: UInt64 = 0
    /// Counts expirations and reads, for edge-triggered epoll entries.
    let events = ReadinessEvents()

    init(clock: UInt64, inode: UInt64) {
        self.clock = clock
        self.inode = inode
        timer = KernelTimer { [weak self] count, generation in self?.expired(count, generation: generation) }
    }

    /// Its last close disarms the timer.
    deinit { timer.cancel() }

    private func expired(_ count: UInt64, generation: UInt64) {
        let counted: Bool = monitor.locked {
            guard timer.isCurrent(generation) else { return false }  // of a setting since replaced
            expirations = expirations &+ count
            monitor.broadcast()
            return true
        }
        if counted { events.changed() }
    }

    /// Arms (or disarms) the timer as timerfd_settime(2) does: the count starts again from 0,
    /// and no expiration of the old setting is counted after.
    func set(deadline: UInt64?, interval: UInt64) -> (remaining: UInt64, interval: UInt64) {
        let old = monitor.locked {
            expirations = 0
            return timer.set(deadline: deadline, interval: interval)
        }
        events.changed()
        return old
    }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { try read(count: count, at: offset, nonBlocking: false) }

    func read(count: Int, at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> [UInt8] {
        guard count >= 8 else { throw .EINVAL }
        let result: Result<UInt64, LinuxErrno> = monitor.locked {
            while expirations == 0 {
                if nonBlocking { return .failure(.EAGAIN) }
                if Task.sleep(on: monitor) == .interrupted { return .failure(.ERESTARTSYS) }
            }
            defer { expirations = 0 }
            return .success(expirations)
        }
        let taken = try result.get()
        events.changed()
        return withUnsafeBytes(of: taken.littleEndian) { Array($0) }
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
        monitor.locked { expirations > 0 ? PollEvents.input.intersection(events) : [] }
    }

    var eventStamp: UInt64 { events.stamp }
}

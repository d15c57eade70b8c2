import HostSys
import LinuxABI

/// An eventfd (eventfd(2)): a 64-bit counter that writes add to and reads take. A read of an
/// empty counter waits (EAGAIN with O_NONBLOCK) and then takes the whole count, or 1 in
/// semaphore mode (EFD_SEMAPHORE); a write that would carry the counter past 2^64-2 waits
/// for room. Reads and writes move exactly 8 bytes (EINVAL for less); writing 2^64-1 is
/// EINVAL.
///
/// Locks: `monitor` guards the counter; readers and writers sleep on it.
final class EventFD: FileOperations, @unchecked Sendable {
    static let maximum = UInt64.max - 1
    let inode: UInt64
    let semaphore: Bool
    private let monitor = Monitor()
    private var counter: UInt64
    /// Counts arrivals and room made, for edge-triggered epoll entries.
    let events = ReadinessEvents()

    init(initial: UInt64, semaphore: Bool, inode: UInt64) {
        self.counter = initial
        self.semaphore = semaphore
        self.inode = inode
    }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { try read(count: count, at: offset, nonBlocking: false) }

    func read(count: Int, at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> [UInt8] {
        guard count >= 8 else { throw .EINVAL }
        let result: Result<UInt64, LinuxErrno> = monitor.locked {
            while counter == 0 {
                if nonBlocking { return .failure(.EAGAIN) }
                if Task.sleep(on: monitor) == .interrupted { return .failure(.ERESTARTSYS) }
            }
            let taken = semaphore ? 1 : counter
            counter -= taken
            monitor.broadcast()
            return .success(taken)
        }
        let taken = try result.get()
        events.changed()
        return withUnsafeBytes(of: taken.littleEndian) { Array($0) }
    }

    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { try write(bytes, at: offset, nonBlocking: false) }

    func write(_ bytes: [UInt8], at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> Int {
        guard bytes.count >= 8 else { throw .EINVAL }
        let value = bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard value != UInt64.max else { throw .EINVAL }
        let result: Result<Void, LinuxErrno> = monitor.locked {
            while Self.maximum - counter < value {
                if nonBlocking { return .failure(.EAGAIN) }
                if Task.sleep(on: monitor) == .interrupted { return .failure(.ERESTARTSYS) }
            }
            counter += value
            monitor.broadcast()
            return .success(())
        }
        try result.get()
        events.changed()
        return 8
    }

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
        monitor.locked {
            var ready: PollEvents = []
            if counter > 0 { ready.insert(.input) }
            if counter < Self.maximum { ready.insert(.output) }
            return ready.intersection(events)
        }
    }

    var eventStamp: UInt64 { events.stamp }
}

import HostSys
import LinuxABI

/// fcntl(2) record locks: read and write locks on byte ranges of a file, held by a process
/// (F_SETLK: released when the process closes any fd of the file, or ends) or by an open
/// file description (F_OFD_SETLK: released with its last close). A range is [start, end),
/// `end` nil meaning to the end of the file and beyond. A process's own locks never conflict
/// with each other; setting one replaces (and splits) what it held there, and locks of one
/// type that touch merge, as Linux's do. One table for the Sentry, which serves one sandbox.
///
/// Locks: `monitor` guards the table; F_SETLKW waiters sleep on it (interruptibly).
final class RecordLocks: @unchecked Sendable {
    static let shared = RecordLocks()

    enum Owner: Hashable {
        case process(Int32)
        case description(ObjectIdentifier)
    }

    struct Lock: Equatable {
        var owner: Owner
        var start: UInt64
        var end: UInt64?
        var write: Bool
        /// What F_GETLK reports (-1 for a description's lock).
        var pid: Int32

        func overlaps(_ start: UInt64, _ end: UInt64?) -> Bool {
            (end.map { self.start < $0 } ?? true) && (self.end.map { start < $0 } ?? true)
        }
    }

    private let monitor = Monitor()
    private var table: [FileLocks.Key: [Lock]] = [:]

    /// Whether any lock is held (closing an fd looks up its file's key only then).
    var hasLocks: Bool { monitor.locked { !table.isEmpty } }

    /// The first lock of another owner on `key` that a lock of `write` over [start, end) would
    /// conflict with (F_GETLK), or nil.
    func conflict(_ key: FileLocks.Key, start: UInt64, end: UInt64?, write: Bool, owner: Owner) -> Lock? {
        monitor.locked { conflictLocked(key, start: start, end: end, write: write, owner: owner) }
    }

    private func conflictLocked(_ key: FileLocks.Key, start: UInt64, end: UInt64?, write: Bool, owner: Owner) -> Lock? {
        table[key]?.first { $0.owner != owner && $0.overlaps(start, end) && (write || $0.write) }
    }

    /// F_SETLK and F_SETLKW: `write` or read lock (`unlock`: none) on [start, end) for `owner`.
    /// A conflict is EAGAIN, or a wait with `wait` (ERESTARTSYS when a signal ends it).
    func set(_ key: FileLocks.Key, start: UInt64, end: UInt64?, write: Bool, unlock: Bool, owner: Owner, pid: Int32, wait: Bool) throws(LinuxErrno) {
        let result: Result<Void, LinuxErrno> = monitor.locked {
            if !unlock {
                while conflictLocked(key, start: start, end: end, write: write, owner: owner) != nil {
                    if !wait { return .failure(.EAGAIN) }
                    if Task.sleep(on: monitor) == .interrupted { return .failure(.ERESTARTSYS) }
                }
            }
            var locks = table[key] ?? []
            // The owner's pieces over the range go; what lies outside it stays.
            var kept: [Lock] = []
            for lock in locks {
                guard lock.owner == owner, lock.overlaps(start, end) else {
                    kept.append(lock)
                    continue
                }
                if lock.start < start { kept.append(Lock(owner: owner, start: lock.start, end: start, write: lock.write, pid: lock.pid)) }
                if let end, lock.end.map({ $0 > end }) ?? true {
                    kept.append(Lock(owner: owner, start: end, end: lock.end, write: lock.write, pid: lock.pid))
                }
            }
            locks = kept
            if !unlock {
                var added = Lock(owner: owner, start: start, end: end, write: write, pid: pid)
                // Merge with the owner's locks of the same type that touch it.
                locks.removeAll { lock in
                    guard lock.owner == owner, lock.write == write else { return false }
                    let touches = (added.end.map { lock.start <= $0 } ?? true) && (lock.end.map { added.start <= $0 } ?? true)
                    guard touches else { return false }
                    added.start = min(added.start, lock.start)
                    if let mine = added.end, let theirs = lock.end { added.end = max(mine, theirs) } else { added.end = nil }
                    return true
                }
                locks.append(added)
            }
            table[key] = locks.isEmpty ? nil : locks
            monitor.broadcast()
            return .success(())
        }
        try result.get()
    }

    /// Drops `owner`'s locks: on `key` only, or (nil) on every file.
    func release(_ owner: Owner, key: FileLocks.Key? = nil) {
        monitor.locked {
            for candidate in key.map({ [$0] }) ?? Array(table.keys) {
                guard let locks = table[candidate], locks.contains(where: { $0.owner == owner }) else { continue }
                let kept = locks.filter { $0.owner != owner }
                table[candidate] = kept.isEmpty ? nil : kept
                monitor.broadcast()
            }
        }
    }
}

import HostSys
import LinuxABI

/// flock(2) locks: shared or exclusive, held by an open file description (dup'ed fds and
/// forked processes share it) on a file, named by its device and inode numbers. A lock goes
/// with LOCK_UN or when its description is closed for the last time. Converting a lock drops
/// it first and then takes the new one, as Linux does (not atomically). One table for the
/// Sentry, which serves one sandbox.
///
/// Locks: `monitor` guards the table; waiters sleep on it (interruptibly).
final class FileLocks: @unchecked Sendable {
    static let shared = FileLocks()

    struct Key: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    private struct Holders {
        var exclusive: ObjectIdentifier?
        var shared: Set<ObjectIdentifier> = []
        var isEmpty: Bool { exclusive == nil && shared.isEmpty }
    }

    private let monitor = Monitor()
    private var table: [Key: Holders] = [:]
    /// Which keys each description holds, so that closing it releases them.
    private var held: [ObjectIdentifier: Set<Key>] = [:]

    /// flock(2) operations.
    static let lockShared: Int32 = 1, lockExclusive: Int32 = 2, lockNonBlocking: Int32 = 4, lockUnlock: Int32 = 8

    /// Takes (`exclusive` or shared) or, with `unlock`, drops `owner`'s lock on `key`. Waits
    /// while another description's lock conflicts, unless `nonBlocking` (EWOULDBLOCK); a
    /// signal ends the wait (ERESTARTSYS).
    func lock(_ key: Key, owner: ObjectIdentifier, exclusive: Bool, nonBlocking: Bool) throws(LinuxErrno) {
        let result: Result<Void, LinuxErrno> = monitor.locked {
            drop(key, owner: owner)
            while true {
                let holders = table[key] ?? Holders()
                let conflict = holders.exclusive != nil || (exclusive && !holders.shared.isEmpty)
                if !conflict {
                    var updated = holders
                    if exclusive { updated.exclusive = owner } else { updated.shared.insert(owner) }
                    table[key] = updated
                    held[owner, default: []].insert(key)
                    return .success(())
                }
                if nonBlocking { return .failure(.EAGAIN) }  // EWOULDBLOCK
                if Task.sleep(on: monitor) == .interrupted { return .failure(.ERESTARTSYS) }
            }
        }
        try result.get()
    }

    /// LOCK_UN: drops `owner`'s lock on `key`, if it holds one.
    func unlock(_ key: Key, owner: ObjectIdentifier) {
        monitor.locked { drop(key, owner: owner) }
    }

    /// Drops every lock `owner` holds (its description is closed).
    func release(owner: ObjectIdentifier) {
        monitor.locked {
            guard let keys = held[owner] else { return }
            for key in keys { drop(key, owner: owner) }
        }
    }

    /// (Lock held.) Drops `owner` from `key`'s holders and wakes the waiters.
    private func drop(_ key: Key, owner: ObjectIdentifier) {
        guard var holders = table[key] else { return }
        if holders.exclusive == owner { holders.exclusive = nil }
        holders.shared.remove(owner)
        table[key] = holders.isEmpty ? nil : holders
        held[owner]?.remove(key)
        if held[owner]?.isEmpty == true { held[owner] = nil }
        monitor.broadcast()
    }
}

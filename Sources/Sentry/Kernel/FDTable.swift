import Synchronization
import LinuxABI

/// A process's file descriptor table: fd numbers to open files, with the close-on-exec flag
/// of each fd. New fds take the lowest free number, as Linux allocates them.
///
/// Locks: `entries` is a mutex: the process's own thread changes the table, and /proc readers
/// in other processes list it (/proc/PID/fd).
public final class FDTable: @unchecked Sendable {
    struct Entry {
        let file: FileDescription
        var closeOnExec: Bool
    }

    private let entries: Mutex<[Int32: Entry]>
    /// RLIMIT_NOFILE: fds must stay below it.
    var limit: Int32 = 1 << 20
    /// The process the table belongs to: closing any of its fds of a file drops the
    /// process's record locks on that file (POSIX), whichever call closes it.
    var owner: Int32 = 0

    /// Drops `owner`'s record locks on the files of `closed` fds.
    private func released(_ closed: [FileDescription]) {
        guard owner != 0, !closed.isEmpty, RecordLocks.shared.hasLocks else { return }
        for file in closed {
            if let key = file.lockKey { RecordLocks.shared.release(.process(owner), key: key) }
        }
    }

    public init() { entries = Mutex([:]) }

    private init(entries: [Int32: Entry], limit: Int32) {
        self.entries = Mutex(entries)
        self.limit = limit
    }

    /// The open file of `fd`, or EBADF.
    func get(_ fd: Int32) throws(LinuxErrno) -> FileDescription {
        guard let entry = entries.withLock({ $0[fd] }) else { throw .EBADF }
        return entry.file
    }

    /// The open file of `fd` for a call that acts on the file itself (locks, attributes,
    /// syncing): EBADF for an O_PATH descriptor too, as Linux's fdget() skips them.
    func getOpened(_ fd: Int32) throws(LinuxErrno) -> FileDescription {
        let file = try get(fd)
        guard !file.isPathOnly else { throw .EBADF }
        return file
    }

    func closeOnExec(_ fd: Int32) throws(LinuxErrno) -> Bool {
        guard let entry = entries.withLock({ $0[fd] }) else { throw .EBADF }
        return entry.closeOnExec
    }

    func setCloseOnExec(_ fd: Int32, _ value: Bool) throws(LinuxErrno) {
        let found = entries.withLock { entries in
            entries[fd]?.closeOnExec = value
            return entries[fd] != nil
        }
        guard found else { throw .EBADF }
    }

    /// Installs `file` at the lowest free fd at or above `minimum`; EMFILE when none is left.
    func add(_ file: FileDescription, minimum: Int32 = 0, closeOnExec: Bool = false) throws(LinuxErrno) -> Int32 {
        let limit = limit
        let fd: Int32? = entries.withLock { entries in
            var fd = max(0, minimum)
            while entries[fd] != nil { fd += 1 }
            guard fd < limit else { return nil }
            entries[fd] = Entry(file: file, closeOnExec: closeOnExec)
            return fd
        }
        guard let fd else { throw .EMFILE }
        return fd
    }

    /// Installs `file` at exactly `fd`, replacing (closing) what was there.
    func set(_ fd: Int32, _ file: FileDescription, closeOnExec: Bool) throws(LinuxErrno) {
        guard fd >= 0, fd < limit else { throw .EBADF }
        // The replaced file is returned, so it is released (and maybe closed) after the lock.
        let replaced = entries.withLock { $0.updateValue(Entry(file: file, closeOnExec: closeOnExec), forKey: fd) }
        if let replaced, replaced.file !== file { released([replaced.file]) }
    }

    /// Removes `fd`; EBADF if it is not open.
    func remove(_ fd: Int32) throws(LinuxErrno) {
        guard let removed = entries.withLock({ $0.removeValue(forKey: fd) }) else { throw .EBADF }
        released([removed.file])
    }

    /// The open fd numbers, in order.
    var descriptors: [Int32] { entries.withLock { $0.keys.sorted() } }

    /// A copy for a forked child: the same open files at the same numbers.
    func copy() -> FDTable {
        FDTable(entries: entries.withLock { $0 }, limit: limit)
    }

    /// Closes the fds marked close-on-exec (execve(2)).
    func closeOnExec() {
        // The closed files are returned, so they are released after the lock.
        let closed = entries.withLock { entries in
            defer { entries = entries.filter { !$0.value.closeOnExec } }
            return entries.filter { $0.value.closeOnExec }
        }
        released(closed.values.map(\.file))
    }

    /// Closes every fd (the process's exit: its files close before its parent hears of it).
    func closeAll() {
        // Released after the lock, as in `closeOnExec`.
        _ = entries.withLock { entries in
            defer { entries = [:] }
            return entries
        }
    }
}

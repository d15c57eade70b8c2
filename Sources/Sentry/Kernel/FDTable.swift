import LinuxABI

/// A process's file descriptor table: fd numbers to open files, with the close-on-exec flag
/// of each fd. New fds take the lowest free number, as Linux allocates them.
///
/// Locks: none yet; one task uses it (shared tables come with clone(CLONE_FILES)).
public final class FDTable {
    struct Entry {
        let file: FileDescription
        var closeOnExec: Bool
    }

    private var entries: [Int32: Entry] = [:]
    /// RLIMIT_NOFILE: fds must stay below it.
    var limit: Int32 = 1 << 20

    public init() {}

    /// The open file of `fd`, or EBADF.
    func get(_ fd: Int32) throws(LinuxErrno) -> FileDescription {
        guard let entry = entries[fd] else { throw .EBADF }
        return entry.file
    }

    func closeOnExec(_ fd: Int32) throws(LinuxErrno) -> Bool {
        guard let entry = entries[fd] else { throw .EBADF }
        return entry.closeOnExec
    }

    func setCloseOnExec(_ fd: Int32, _ value: Bool) throws(LinuxErrno) {
        guard entries[fd] != nil else { throw .EBADF }
        entries[fd]?.closeOnExec = value
    }

    /// Installs `file` at the lowest free fd at or above `minimum`; EMFILE when none is left.
    func add(_ file: FileDescription, minimum: Int32 = 0, closeOnExec: Bool = false) throws(LinuxErrno) -> Int32 {
        var fd = max(0, minimum)
        while entries[fd] != nil { fd += 1 }
        guard fd < limit else { throw .EMFILE }
        entries[fd] = Entry(file: file, closeOnExec: closeOnExec)
        return fd
    }

    /// Installs `file` at exactly `fd`, replacing (closing) what was there.
    func set(_ fd: Int32, _ file: FileDescription, closeOnExec: Bool) throws(LinuxErrno) {
        guard fd >= 0, fd < limit else { throw .EBADF }
        entries[fd] = Entry(file: file, closeOnExec: closeOnExec)
    }

    /// Removes `fd`; EBADF if it is not open.
    func remove(_ fd: Int32) throws(LinuxErrno) {
        guard entries.removeValue(forKey: fd) != nil else { throw .EBADF }
    }

    /// The open fd numbers, in order.
    var descriptors: [Int32] { entries.keys.sorted() }

    /// A copy for a forked child: the same open files at the same numbers.
    func copy() -> FDTable {
        let table = FDTable()
        table.entries = entries
        table.limit = limit
        return table
    }

    /// Closes the fds marked close-on-exec (execve(2)).
    func closeOnExec() {
        entries = entries.filter { !$0.value.closeOnExec }
    }
}

import LinuxABI

/// How far the Sentry implements one Linux system call (the support levels of gVisor's
/// syscall table, which `runsc syscalls` prints).
public enum SyscallSupport: Hashable, Sendable {
    /// Implemented as Linux behaves.
    case supported
    /// Implemented, with the deviations the note lists.
    case partial(note: String)
    /// Not implemented: the program gets `errno` (ENOSYS) and the call is counted.
    case unimplemented(note: String)

    /// "supported", "partial" or "unimplemented".
    public var level: String {
        switch self {
        case .supported: return "supported"
        case .partial: return "partial"
        case .unimplemented: return "unimplemented"
        }
    }

    /// The note, empty for a supported call.
    public var note: String {
        switch self {
        case .supported: return ""
        case .partial(let note), .unimplemented(let note): return note
        }
    }

    /// The error an unimplemented call returns without running anything: ENOSYS, as Linux
    /// returns for a number it does not know. Nil for calls that run.
    public var errno: LinuxErrno? {
        if case .unimplemented = self { return .ENOSYS }
        return nil
    }
}

/// The Sentry's system call table: one entry per Linux call, as data.
public struct SyscallTable: Sendable {
    /// One row: the kernel's name and number, and what the Sentry does with it.
    public struct Entry: Hashable, Sendable {
        public let name: String
        public let sysno: Sysno
        public let support: SyscallSupport
    }

    /// Every row, ordered by number.
    public let entries: [Entry]

    private let index: [Int: Int]

    public init(entries: [Entry]) {
        self.entries = entries.sorted { $0.sysno < $1.sysno }
        var index: [Int: Int] = [:]
        for (position, entry) in self.entries.enumerated() { index[entry.sysno.rawValue] = position }
        self.index = index
    }

    /// The row for `sysno`, or nil for a number x86-64 Linux does not define.
    public func entry(for sysno: Sysno) -> Entry? {
        index[sysno.rawValue].map { entries[$0] }
    }

    /// The x86-64 table: every call in `Sysno.amd64`, with the support of its handler; calls
    /// without one are unimplemented and return ENOSYS.
    public static let amd64: SyscallTable = {
        let support = Dictionary(uniqueKeysWithValues: Syscalls.implemented.map { ($0.0, $0.1) })
        return SyscallTable(
            entries: Sysno.amd64.map {
                Entry(name: $0.name, sysno: $0.sysno, support: support[$0.sysno] ?? .unimplemented(note: ""))
            })
    }()
}

/// An error number as a Linux program sees it (the value a failed syscall returns, negated).
///
/// Total: every `Int32` is a valid `LinuxErrno`, so an unknown value from a peer or from the
/// host never traps. Constants use the kernel's spellings (`LinuxErrno.ENOENT`). Values 512–516
/// are the kernel's internal restart codes: the Sentry uses them to restart an interrupted
/// syscall, and they never reach a program (`isInternalRestart`).
public struct LinuxErrno: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// Restart the syscall if the signal handler has SA_RESTART or there is no handler;
    /// otherwise the program sees EINTR.
    public static let ERESTARTSYS = LinuxErrno(512)
    /// Always restart the syscall, whatever the handler says.
    public static let ERESTARTNOINTR = LinuxErrno(513)
    /// Restart only if no handler ran; otherwise the program sees EINTR.
    public static let ERESTARTNOHAND = LinuxErrno(514)
    /// An ioctl handler does not know the command (becomes ENOTTY).
    public static let ENOIOCTLCMD = LinuxErrno(515)
    /// Restart through restart_syscall(2) with the saved restart block (nanosleep, poll).
    public static let ERESTART_RESTARTBLOCK = LinuxErrno(516)

    /// Whether this is one of the kernel-internal codes (512–516) that must be translated
    /// before a program sees the result.
    public var isInternalRestart: Bool { (512...516).contains(rawValue) }

    /// The kernel's name (`"ENOENT"`), or nil for a value Linux does not define.
    public var name: String? {
        switch self {
        case .ERESTARTSYS: return "ERESTARTSYS"
        case .ERESTARTNOINTR: return "ERESTARTNOINTR"
        case .ERESTARTNOHAND: return "ERESTARTNOHAND"
        case .ENOIOCTLCMD: return "ENOIOCTLCMD"
        case .ERESTART_RESTARTBLOCK: return "ERESTART_RESTARTBLOCK"
        default: return Self.entry(rawValue)?.name
        }
    }

    /// "ENOENT (No such file or directory)", or "errno 999" for an undefined value.
    public var description: String {
        if let entry = Self.entry(rawValue) { return "\(entry.name) (\(entry.text))" }
        return name ?? "errno \(rawValue)"
    }

    /// The errno named `name` in the kernel's spelling, including the internal restart codes.
    public init?(name: String) {
        let restart: [LinuxErrno] = [.ERESTARTSYS, .ERESTARTNOINTR, .ERESTARTNOHAND, .ENOIOCTLCMD, .ERESTART_RESTARTBLOCK]
        if let code = restart.first(where: { $0.name == name }) {
            self = code
        } else if let entry = Self.table.first(where: { $0.name == name }) {
            self.init(entry.value)
        } else {
            return nil
        }
    }

    private static func entry(_ value: Int32) -> (name: String, value: Int32, text: String)? {
        // The table is dense from 1 to 133 except for the two values Linux never assigned.
        guard value > 0, let index = table.firstIndex(where: { $0.value >= value }),
            table[index].value == value
        else { return nil }
        return table[index]
    }
}

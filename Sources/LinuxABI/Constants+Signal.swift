// Signals: x86-64 numbers (signal(7)).

/// A Linux signal number (1–64). Total: any value is representable; `isValid` says whether
/// Linux defines it.
public struct LinuxSignal: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let SIGHUP = LinuxSignal(1)
    public static let SIGINT = LinuxSignal(2)
    public static let SIGQUIT = LinuxSignal(3)
    public static let SIGILL = LinuxSignal(4)
    public static let SIGTRAP = LinuxSignal(5)
    public static let SIGABRT = LinuxSignal(6)
    public static let SIGBUS = LinuxSignal(7)
    public static let SIGFPE = LinuxSignal(8)
    public static let SIGKILL = LinuxSignal(9)
    public static let SIGUSR1 = LinuxSignal(10)
    public static let SIGSEGV = LinuxSignal(11)
    public static let SIGUSR2 = LinuxSignal(12)
    public static let SIGPIPE = LinuxSignal(13)
    public static let SIGALRM = LinuxSignal(14)
    public static let SIGTERM = LinuxSignal(15)
    public static let SIGSTKFLT = LinuxSignal(16)
    public static let SIGCHLD = LinuxSignal(17)
    public static let SIGCONT = LinuxSignal(18)
    public static let SIGSTOP = LinuxSignal(19)
    public static let SIGTSTP = LinuxSignal(20)
    public static let SIGTTIN = LinuxSignal(21)
    public static let SIGTTOU = LinuxSignal(22)
    public static let SIGURG = LinuxSignal(23)
    public static let SIGXCPU = LinuxSignal(24)
    public static let SIGXFSZ = LinuxSignal(25)
    public static let SIGVTALRM = LinuxSignal(26)
    public static let SIGPROF = LinuxSignal(27)
    public static let SIGWINCH = LinuxSignal(28)
    public static let SIGIO = LinuxSignal(29)
    public static let SIGPWR = LinuxSignal(30)
    public static let SIGSYS = LinuxSignal(31)
    /// The first real-time signal number as the kernel counts (glibc reserves 32 and 33).
    public static let SIGRTMIN = LinuxSignal(32)
    public static let SIGRTMAX = LinuxSignal(64)

    private static let names = [
        "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
        "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD",
        "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ",
        "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ]

    /// Whether Linux defines this signal number (1–64).
    public var isValid: Bool { (1...64).contains(rawValue) }

    public var description: String {
        if (1...31).contains(rawValue) { return Self.names[Int(rawValue) - 1] }
        if isValid { return "SIGRTMIN+\(rawValue - 32)" }
        return "signal \(rawValue)"
    }
}

// ptrace(2) requests, options and stop encodings the ptrace platform uses.

/// A ptrace(2) request.
public struct PtraceRequest: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let traceMe = PtraceRequest(rawValue: 0)
    public static let cont = PtraceRequest(rawValue: 7)
    public static let kill = PtraceRequest(rawValue: 8)
    public static let attach = PtraceRequest(rawValue: 16)
    public static let detach = PtraceRequest(rawValue: 17)
    public static let getRegisters = PtraceRequest(rawValue: 12)
    public static let setRegisters = PtraceRequest(rawValue: 13)
    public static let getFPRegisters = PtraceRequest(rawValue: 14)
    public static let setFPRegisters = PtraceRequest(rawValue: 15)
    /// Resume until the next syscall entry, which is reported and never executed.
    public static let sysemu = PtraceRequest(rawValue: 31)
    public static let setOptions = PtraceRequest(rawValue: 0x4200)
    public static let getSignalInfo = PtraceRequest(rawValue: 0x4202)
}

/// PTRACE_SETOPTIONS bits.
public struct PtraceOptions: OptionSet, Hashable, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Syscall stops report SIGTRAP | 0x80, so they differ from a real SIGTRAP.
    public static let traceSysGood = PtraceOptions(rawValue: 0x1)
    /// The tracee is killed when the tracer exits.
    public static let exitKill = PtraceOptions(rawValue: 0x10_0000)
}

// Sockets: the families, types and control-message constants HostSys and the Sentry use.

/// Address families (socket(2) `domain`).
public enum AddressFamily {
    public static let unix: Int32 = 1
    public static let inet: Int32 = 2
    public static let inet6: Int32 = 10
    public static let netlink: Int32 = 16
    public static let packet: Int32 = 17
}

/// Socket types (socket(2) `type`), with the flags that may be or-ed in.
public enum SocketType {
    public static let stream: Int32 = 1
    public static let datagram: Int32 = 2
    public static let raw: Int32 = 3
    public static let seqpacket: Int32 = 5
    public static let nonBlockFlag: Int32 = 0o4000
    public static let closeOnExecFlag: Int32 = 0o2000000
}

/// Socket option levels and control-message types.
public enum SocketLevel {
    public static let socket: Int32 = 1
    /// SCM_RIGHTS: the control message carries file descriptors.
    public static let rights: Int32 = 1
    /// SCM_CREDENTIALS: the control message carries a `ucred`.
    public static let credentials: Int32 = 2
}

/// Flags for sendmsg(2)/recvmsg(2).
public struct MessageFlags: OptionSet, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let peek = MessageFlags(rawValue: 0x2)
    /// Control data was truncated (a received fd did not fit and was closed by the kernel).
    public static let controlTruncated = MessageFlags(rawValue: 0x8)
    public static let truncated = MessageFlags(rawValue: 0x20)
    public static let dontWait = MessageFlags(rawValue: 0x40)
    public static let waitAll = MessageFlags(rawValue: 0x100)
    public static let noSignal = MessageFlags(rawValue: 0x4000)
    public static let closeOnExec = MessageFlags(rawValue: 0x4000_0000)
}

/// poll(2) event bits.
public struct PollEvents: OptionSet, Hashable, Sendable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    public static let input = PollEvents(rawValue: 0x001)
    public static let priority = PollEvents(rawValue: 0x002)
    public static let output = PollEvents(rawValue: 0x004)
    public static let error = PollEvents(rawValue: 0x008)
    public static let hangUp = PollEvents(rawValue: 0x010)
    public static let invalid = PollEvents(rawValue: 0x020)
    public static let readHangUp = PollEvents(rawValue: 0x2000)
}

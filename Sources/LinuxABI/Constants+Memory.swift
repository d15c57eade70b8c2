// Memory: mmap(2), memfd_create(2) and file seals (fcntl(2) F_ADD_SEALS), x86-64 values.

/// Page protection bits for mmap(2) and mprotect(2).
public struct MemoryProtection: OptionSet, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let none = MemoryProtection([])
    public static let read = MemoryProtection(rawValue: 0x1)
    public static let write = MemoryProtection(rawValue: 0x2)
    public static let exec = MemoryProtection(rawValue: 0x4)
}

/// Mapping flags for mmap(2).
public struct MapFlags: OptionSet, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let shared = MapFlags(rawValue: 0x01)
    public static let `private` = MapFlags(rawValue: 0x02)
    public static let sharedValidate = MapFlags(rawValue: 0x03)
    public static let fixed = MapFlags(rawValue: 0x10)
    public static let anonymous = MapFlags(rawValue: 0x20)
    public static let growsDown = MapFlags(rawValue: 0x0100)
    public static let locked = MapFlags(rawValue: 0x2000)
    public static let noReserve = MapFlags(rawValue: 0x4000)
    public static let populate = MapFlags(rawValue: 0x8000)
    public static let stack = MapFlags(rawValue: 0x20000)
    public static let fixedNoReplace = MapFlags(rawValue: 0x100000)
}

/// Flags for memfd_create(2).
public struct MemfdFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let closeOnExec = MemfdFlags(rawValue: 0x1)
    public static let allowSealing = MemfdFlags(rawValue: 0x2)
}

/// File seals of a memfd (fcntl(2) F_ADD_SEALS / F_GET_SEALS).
public struct FileSeals: OptionSet, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// No further seals may be added.
    public static let seal = FileSeals(rawValue: 0x1)
    /// The file may not shrink: a peer mapping it can never fault by truncation.
    public static let shrink = FileSeals(rawValue: 0x2)
    /// The file may not grow.
    public static let grow = FileSeals(rawValue: 0x4)
    /// The contents may not change.
    public static let write = FileSeals(rawValue: 0x8)
    /// Existing writable mappings stay; new ones are refused.
    public static let futureWrite = FileSeals(rawValue: 0x10)
}

/// fcntl(2) commands used for seals.
public enum FcntlSealCommand {
    public static let addSeals: Int32 = 1033
    public static let getSeals: Int32 = 1034
}

/// The page size of x86-64 Linux (4 KiB; the Sentry does not support huge base pages).
public let linuxPageSize = 4096

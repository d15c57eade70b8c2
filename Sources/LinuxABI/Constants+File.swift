// Files: open(2) flags, the *at(2) flags, renameat2(2) flags.

/// Flags of open(2) and openat(2) (x86-64 values).
public struct OpenFlags: OptionSet, Hashable, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let readOnly = OpenFlags([])
    public static let writeOnly = OpenFlags(rawValue: 0o1)
    public static let readWrite = OpenFlags(rawValue: 0o2)
    public static let accessModeMask: Int32 = 0o3
    public static let create = OpenFlags(rawValue: 0o100)
    public static let exclusive = OpenFlags(rawValue: 0o200)
    public static let noControllingTTY = OpenFlags(rawValue: 0o400)
    public static let truncate = OpenFlags(rawValue: 0o1000)
    public static let append = OpenFlags(rawValue: 0o2000)
    public static let nonBlocking = OpenFlags(rawValue: 0o4000)
    public static let directory = OpenFlags(rawValue: 0o200000)
    public static let noFollow = OpenFlags(rawValue: 0o400000)
    public static let closeOnExec = OpenFlags(rawValue: 0o2000000)
    /// A handle for walking and stat, not for reading or writing.
    public static let path = OpenFlags(rawValue: 0o10000000)
}

/// Flags and the special directory fd of the *at(2) calls.
public enum AtFlags {
    /// The `dirfd` meaning "the current directory".
    public static let currentDirectory: Int32 = -100
    public static let symlinkNoFollow: Int32 = 0x100
    public static let removeDirectory: Int32 = 0x200
    public static let symlinkFollow: Int32 = 0x400
    /// Operate on `dirfd` itself when the path is "".
    public static let emptyPath: Int32 = 0x1000
}

/// Flags of renameat2(2).
public enum RenameFlags {
    public static let noReplace: UInt32 = 1
    public static let exchange: UInt32 = 2
    public static let whiteout: UInt32 = 4
}

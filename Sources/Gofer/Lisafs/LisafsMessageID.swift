/// A lisafs message ID (gVisor `lisafs.MID`, a `uint16` on the wire).
///
/// Total: every `UInt16` is a valid `LisafsMessageID`, so an ID a peer sends that this build
/// does not know is a value to reject with an error, never a trap. The named constants carry
/// gVisor's numbering from `pkg/lisafs/message.go`; IDs 0–31 are checked against it. 32 and 33
/// (`connectWithCreds`, `renameAt2`) are newer than the gVisor sources we read, so their
/// payload layouts are our own (see `ConnectWithCredsRequest`, `RenameAt2Request`).
public struct LisafsMessageID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Only in responses: the request failed and the payload is an `ErrorResponse`.
    public static let error = Self(0)
    /// Binds the connection to the server's mount point; must be the first RPC.
    public static let mount = Self(1)
    /// Asks for a new flipcall channel.
    public static let channel = Self(2)
    public static let fstat = Self(3)
    /// fchmod/fchown/ftruncate/utimensat in one call.
    public static let setStat = Self(4)
    /// Walks several path components from a directory FD, stopping at symlinks.
    public static let walk = Self(5)
    public static let walkStat = Self(6)
    public static let openAt = Self(7)
    public static let openCreateAt = Self(8)
    /// Closes several FDs at once.
    public static let close = Self(9)
    public static let fsync = Self(10)
    public static let pwrite = Self(11)
    public static let pread = Self(12)
    public static let mkdirAt = Self(13)
    public static let mknodAt = Self(14)
    public static let symlinkAt = Self(15)
    public static let linkAt = Self(16)
    public static let fstatFS = Self(17)
    public static let fallocate = Self(18)
    public static let readLinkAt = Self(19)
    public static let flush = Self(20)
    public static let connect = Self(21)
    public static let unlinkAt = Self(22)
    public static let renameAt = Self(23)
    public static let getdents64 = Self(24)
    public static let fgetXattr = Self(25)
    public static let fsetXattr = Self(26)
    public static let flistXattr = Self(27)
    public static let fremoveXattr = Self(28)
    public static let bindAt = Self(29)
    public static let listen = Self(30)
    public static let accept = Self(31)
    public static let connectWithCreds = Self(32)
    public static let renameAt2 = Self(33)

    /// gVisor's names, indexed by raw value.
    private static let names: [String] = [
        "Error", "Mount", "Channel", "FStat", "SetStat", "Walk", "WalkStat", "OpenAt",
        "OpenCreateAt", "Close", "FSync", "PWrite", "PRead", "MkdirAt", "MknodAt", "SymlinkAt",
        "LinkAt", "FStatFS", "FAllocate", "ReadLinkAt", "Flush", "Connect", "UnlinkAt", "RenameAt",
        "Getdents64", "FGetXattr", "FSetXattr", "FListXattr", "FRemoveXattr", "BindAt", "Listen",
        "Accept", "ConnectWithCreds", "RenameAt2",
    ]

    /// Every message ID this build names, in numeric order.
    public static let allKnown: [Self] = names.indices.map { Self(UInt16($0)) }

    /// gVisor's name for the message ("Walk"), or nil for an ID this build does not know.
    public var name: String? {
        Int(rawValue) < Self.names.count ? Self.names[Int(rawValue)] : nil
    }

    public var description: String { name ?? "MID(\(rawValue))" }
}

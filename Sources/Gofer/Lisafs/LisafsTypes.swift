import LinuxABI

// The wire types lisafs messages are built from, laid out as gVisor's `pkg/lisafs` and
// `pkg/abi/linux` marshal them: little-endian, packed, explicit padding written as zero.

extension Lisafs {
    /// Longest file name (a path component) the decoder accepts: Linux NAME_MAX.
    public static let maxNameLength = 255
    /// Longest symlink target the decoder accepts: Linux PATH_MAX less its NUL.
    public static let maxPathLength = 4095
    /// Longest extended attribute name the decoder accepts: Linux XATTR_NAME_MAX.
    public static let maxXattrNameLength = 255
    /// Longest socket peer address the decoder accepts: the size of `sockaddr_un.sun_path`.
    public static let maxSocketAddressLength = 108
}

/// The id of a file the server holds for this connection (gVisor `FDID`, a `uint64`). The
/// server hands ids out; the client never invents one, and 0 is never valid.
public struct LisafsFDID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    /// The id no file ever has.
    public static let invalid = Self(0)

    public var description: String { "FD#\(rawValue)" }
}

/// A user id in a lisafs message (gVisor `UID`, a `uint32`); `none` (`NoUID`) means "no
/// change" or "not given".
public struct LisafsUID: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// gVisor's `NoUID` sentinel.
    public static let none = Self(.max)

    /// Whether this is a real id rather than the sentinel.
    public var isValid: Bool { self != .none }
}

/// A group id in a lisafs message (gVisor `GID`, a `uint32`); `none` (`NoGID`) means "no
/// change" or "not given".
public struct LisafsGID: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// gVisor's `NoGID` sentinel.
    public static let none = Self(.max)

    /// Whether this is a real id rather than the sentinel.
    public var isValid: Bool { self != .none }
}

/// A lisafs `SizedString`: a `uint16` byte count, then the bytes, with no terminator.
///
/// The bytes are kept as bytes, not decoded: Linux file names need not be UTF-8. A value never
/// holds more than `maxLength` bytes, so every `SizedString` can be encoded.
public struct SizedString: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The most bytes a `uint16` length can describe.
    public static let maxLength = Int(UInt16.max)

    /// The string's bytes.
    public let bytes: [UInt8]

    /// The empty string (WalkStat's "stat the starting directory too" marker).
    public static let empty = SizedString(unchecked: [])

    /// `bytes` as a string, or nil if there are more than `maxLength` of them.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count <= Self.maxLength else { return nil }
        self.bytes = Array(bytes)
    }

    /// The UTF-8 bytes of `string`, or nil if there are more than `maxLength` of them.
    public init?(_ string: String) {
        self.init(bytes: string.utf8)
    }

    /// A literal in our own source; a literal longer than `maxLength` is our bug.
    public init(stringLiteral value: String) {
        precondition(value.utf8.count <= Self.maxLength, "SizedString literal too long")
        self.bytes = Array(value.utf8)
    }

    /// Bytes whose count the caller has checked.
    init(unchecked bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The bytes as a Swift string, or nil if they are not valid UTF-8.
    public var string: String? { String(validating: bytes, as: UTF8.self) }

    /// Bytes on the wire: the length field and the bytes.
    public var encodedSize: Int { 2 + bytes.count }

    /// The bytes, with invalid UTF-8 shown as U+FFFD.
    public var description: String { String(decoding: bytes, as: UTF8.self) }
}

/// A fixed-size struct inside lisafs messages (Statx, Inode, ...): its size is known ahead,
/// so arrays of it are checked against the remaining bytes in one multiplication.
public protocol LisafsWireStruct: Hashable, Sendable {
    /// Bytes on the wire.
    static var wireSize: Int { get }
    /// Appends exactly `wireSize` bytes.
    func encode(into writer: inout ByteWriter)
    /// Reads exactly `wireSize` bytes or throws.
    init(decoding reader: inout ByteReader) throws(LisafsDecodeError)
}

/// `struct statx_timestamp` (16 bytes): `tv_sec int64, tv_nsec uint32, _ int32`.
public struct LisafsStatxTimestamp: LisafsWireStruct {
    public static let wireSize = 16

    public var seconds: Int64
    public var nanoseconds: UInt32

    public init(seconds: Int64 = 0, nanoseconds: UInt32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public func encode(into writer: inout ByteWriter) {
        writer.writeInteger(seconds)
        writer.writeInteger(nanoseconds)
        writer.writeZeros(4)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        seconds = try reader.require()
        nanoseconds = try reader.require()
        try reader.requirePadding(4)
    }
}

/// `struct statx` as lisafs carries it (gVisor `linux.Statx`, 144 bytes: the kernel's 256-byte
/// struct without its trailing spare fields).
///
/// Layout: `mask u32, blksize u32, attributes u64, nlink u32, uid u32, gid u32, mode u16,
/// _ u16, ino u64, size u64, blocks u64, attributes_mask u64, atime, btime, ctime, mtime
/// (statx_timestamp), rdev_major u32, rdev_minor u32, dev_major u32, dev_minor u32`.
public struct LisafsStatx: LisafsWireStruct {
    public static let wireSize = 144

    /// STATX_* bits saying which fields are filled in.
    public var mask: UInt32 = 0
    public var blockSize: UInt32 = 0
    /// STATX_ATTR_* bits.
    public var attributes: UInt64 = 0
    public var linkCount: UInt32 = 0
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    /// File type and permission bits (`mode_t`, truncated to 16 bits as statx does).
    public var mode: UInt16 = 0
    public var inode: UInt64 = 0
    public var size: UInt64 = 0
    public var blocks: UInt64 = 0
    public var attributesMask: UInt64 = 0
    public var accessTime = LisafsStatxTimestamp()
    public var birthTime = LisafsStatxTimestamp()
    public var changeTime = LisafsStatxTimestamp()
    public var modificationTime = LisafsStatxTimestamp()
    public var rdevMajor: UInt32 = 0
    public var rdevMinor: UInt32 = 0
    public var devMajor: UInt32 = 0
    public var devMinor: UInt32 = 0

    public init() {}

    public func encode(into writer: inout ByteWriter) {
        writer.writeInteger(mask)
        writer.writeInteger(blockSize)
        writer.writeInteger(attributes)
        writer.writeInteger(linkCount)
        writer.writeInteger(uid)
        writer.writeInteger(gid)
        writer.writeInteger(mode)
        writer.writeZeros(2)
        writer.writeInteger(inode)
        writer.writeInteger(size)
        writer.writeInteger(blocks)
        writer.writeInteger(attributesMask)
        accessTime.encode(into: &writer)
        birthTime.encode(into: &writer)
        changeTime.encode(into: &writer)
        modificationTime.encode(into: &writer)
        writer.writeInteger(rdevMajor)
        writer.writeInteger(rdevMinor)
        writer.writeInteger(devMajor)
        writer.writeInteger(devMinor)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        mask = try reader.require()
        blockSize = try reader.require()
        attributes = try reader.require()
        linkCount = try reader.require()
        uid = try reader.require()
        gid = try reader.require()
        mode = try reader.require()
        try reader.requirePadding(2)
        inode = try reader.require()
        size = try reader.require()
        blocks = try reader.require()
        attributesMask = try reader.require()
        accessTime = try LisafsStatxTimestamp(decoding: &reader)
        birthTime = try LisafsStatxTimestamp(decoding: &reader)
        changeTime = try LisafsStatxTimestamp(decoding: &reader)
        modificationTime = try LisafsStatxTimestamp(decoding: &reader)
        rdevMajor = try reader.require()
        rdevMinor = try reader.require()
        devMajor = try reader.require()
        devMinor = try reader.require()
    }
}

/// The FStatFS result (gVisor `StatFS`, 64 bytes): eight 64-bit fields of `struct statfs`.
///
/// Layout: `type u64, bsize i64, blocks u64, bfree u64, bavail u64, files u64, ffree u64,
/// namelen u64`.
public struct LisafsStatfs: LisafsWireStruct {
    public static let wireSize = 64

    /// The filesystem magic number (`f_type`).
    public var type: UInt64 = 0
    public var blockSize: Int64 = 0
    public var blocks: UInt64 = 0
    public var blocksFree: UInt64 = 0
    /// Free blocks an unprivileged user may use.
    public var blocksAvailable: UInt64 = 0
    public var files: UInt64 = 0
    public var filesFree: UInt64 = 0
    /// The longest file name (`f_namelen`).
    public var nameLength: UInt64 = 0

    public init() {}

    public func encode(into writer: inout ByteWriter) {
        writer.writeInteger(type)
        writer.writeInteger(blockSize)
        writer.writeInteger(blocks)
        writer.writeInteger(blocksFree)
        writer.writeInteger(blocksAvailable)
        writer.writeInteger(files)
        writer.writeInteger(filesFree)
        writer.writeInteger(nameLength)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        type = try reader.require()
        blockSize = try reader.require()
        blocks = try reader.require()
        blocksFree = try reader.require()
        blocksAvailable = try reader.require()
        files = try reader.require()
        filesFree = try reader.require()
        nameLength = try reader.require()
    }
}

/// A file on the server as the client learns of it (gVisor `Inode`, 152 bytes): the control
/// FD the server opened for it, then its statx (`controlFD u64, stat Statx`).
public struct LisafsInode: LisafsWireStruct {
    public static let wireSize = 8 + LisafsStatx.wireSize

    public var controlFD: LisafsFDID
    public var stat: LisafsStatx

    public init(controlFD: LisafsFDID, stat: LisafsStatx) {
        self.controlFD = controlFD
        self.stat = stat
    }

    public func encode(into writer: inout ByteWriter) {
        writer.write(controlFD)
        stat.encode(into: &writer)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        controlFD = try reader.requireFD()
        stat = try LisafsStatx(decoding: &reader)
    }
}

/// Why a Walk stopped (gVisor `WalkStatus`, a `uint8`). Total: a value this build does not
/// name is kept, and the client decides what to do with it.
public struct LisafsWalkStatus: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Every component was walked.
    public static let success = Self(rawValue: 0)
    /// A component does not exist; the inodes walked before it are returned.
    public static let componentDoesNotExist = Self(rawValue: 1)
    /// A component is a symlink, which the server never follows; the inodes walked up to and
    /// including the symlink are returned.
    public static let componentSymlink = Self(rawValue: 2)
}

/// One directory entry of a Getdents64 response (gVisor `Dirent64`), variable size:
/// `ino u64, dev_minor u32, dev_major u32, off u64, type u8, name SizedString`.
public struct LisafsDirent64: Hashable, Sendable {
    /// The smallest encoding: the fixed fields and an empty name.
    static let minimumSize = 8 + 4 + 4 + 8 + 1 + 2

    public var inode: UInt64
    /// The device of the entry's inode, so the client can tell mount points apart.
    public var devMinor: UInt32
    public var devMajor: UInt32
    /// The offset to continue reading from after this entry (`d_off`).
    public var offset: UInt64
    /// DT_* type.
    public var type: UInt8
    public var name: SizedString

    public init(inode: UInt64, devMinor: UInt32, devMajor: UInt32, offset: UInt64, type: UInt8, name: SizedString) {
        self.inode = inode
        self.devMinor = devMinor
        self.devMajor = devMajor
        self.offset = offset
        self.type = type
        self.name = name
    }

    var encodedSize: Int { Self.minimumSize - 2 + name.encodedSize }

    func encode(into writer: inout ByteWriter) {
        writer.writeInteger(inode)
        writer.writeInteger(devMinor)
        writer.writeInteger(devMajor)
        writer.writeInteger(offset)
        writer.writeInteger(type)
        writer.write(name)
    }

    init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        inode = try reader.require()
        devMinor = try reader.require()
        devMajor = try reader.require()
        offset = try reader.require()
        type = try reader.require()
        name = try reader.requireName()
    }
}

import LinuxABI

// Calls on names inside a directory: Walk (5), WalkStat (6), OpenCreateAt (8), MkdirAt (13),
// MknodAt (14), SymlinkAt (15), LinkAt (16), UnlinkAt (22), RenameAt (23), Getdents64 (24),
// RenameAt2 (33).
//
// Every name here is a single path component, decoded as at most NAME_MAX bytes with no NUL.
// Names with `/`, `.` or `..` decode fine: refusing them is the server's job.

/// The 24 bytes in front of every creating request (gVisor `createCommon`): the directory to
/// create in, and the owner and mode of the new file.
///
/// Layout: `dirFD u64, uid u32, gid u32, mode u16, _ u16, _ u32`.
struct LisafsCreateHeader {
    static let wireSize = 24

    var dirFD: LisafsFDID
    var uid: LisafsUID
    var gid: LisafsGID
    var mode: UInt16

    func encode(into writer: inout ByteWriter) {
        writer.write(dirFD)
        writer.writeInteger(uid.rawValue)
        writer.writeInteger(gid.rawValue)
        writer.writeInteger(mode)
        writer.writeZeros(6)
    }

    init(dirFD: LisafsFDID, uid: LisafsUID, gid: LisafsGID, mode: UInt16) {
        self.dirFD = dirFD
        self.uid = uid
        self.gid = gid
        self.mode = mode
    }

    init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        dirFD = try reader.requireFD()
        uid = LisafsUID(try reader.require(UInt32.self))
        gid = LisafsGID(try reader.require(UInt32.self))
        mode = try reader.require()
        try reader.requirePadding(6)
    }
}

/// Walk (gVisor `WalkReq`): walks several path components from the directory behind a control
/// FD, one control FD per component. The walk stops at a component that does not exist or is
/// a symlink (the server never follows one); the client reads the link and walks on.
///
/// Layout: `dirFD u64, count u16`, then `count` `SizedString` names (gVisor `StringArray`).
public struct WalkRequest: LisafsRequest {
    public typealias Response = WalkResponse
    public static let messageID = LisafsMessageID.walk

    public var dirFD: LisafsFDID
    public var path: [SizedString]

    public init(dirFD: LisafsFDID, path: [SizedString]) {
        self.dirFD = dirFD
        self.path = path
    }

    public var encodedSize: Int { 8 + 2 + path.reduce(0) { $0 + $1.encodedSize } }

    public func encode(into writer: inout ByteWriter) {
        writer.write(dirFD)
        writer.write(path)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        dirFD = try reader.requireFD()
        path = try reader.requireStringArray { (reader: inout ByteReader) throws(LisafsDecodeError) in try reader.requireName() }
    }
}

/// The answer to Walk (gVisor `WalkResp`): why the walk stopped, and the inode (with a new
/// control FD) of every component walked.
///
/// Layout: `status u8, count u16`, then `count` inodes of 152 bytes.
public struct WalkResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.walk

    public var status: LisafsWalkStatus
    public var inodes: [LisafsInode]

    public init(status: LisafsWalkStatus, inodes: [LisafsInode]) {
        self.status = status
        self.inodes = inodes
    }

    public var encodedSize: Int { 1 + 2 + LisafsInode.wireSize * inodes.count }

    public func encode(into writer: inout ByteWriter) {
        writer.writeInteger(status.rawValue)
        writer.write(inodes)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        status = LisafsWalkStatus(rawValue: try reader.require())
        inodes = try reader.requireArray(of: LisafsInode.self)
    }
}

/// WalkStat (gVisor `WalkReq`, the same layout as Walk): walks like Walk but opens nothing and
/// returns only the statx of each component. If the first name is empty, the statx of the
/// starting directory comes first.
///
/// Layout: `dirFD u64, count u16`, then `count` `SizedString` names.
public struct WalkStatRequest: LisafsRequest {
    public typealias Response = WalkStatResponse
    public static let messageID = LisafsMessageID.walkStat

    public var dirFD: LisafsFDID
    public var path: [SizedString]

    public init(dirFD: LisafsFDID, path: [SizedString]) {
        self.dirFD = dirFD
        self.path = path
    }

    public var encodedSize: Int { 8 + 2 + path.reduce(0) { $0 + $1.encodedSize } }

    public func encode(into writer: inout ByteWriter) {
        writer.write(dirFD)
        writer.write(path)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        dirFD = try reader.requireFD()
        path = try reader.requireStringArray { (reader: inout ByteReader) throws(LisafsDecodeError) in try reader.requireName() }
    }
}

/// The answer to WalkStat (gVisor `WalkStatResp`): the statx of each component walked.
///
/// Layout: `count u16`, then `count` Statx of 144 bytes.
public struct WalkStatResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.walkStat

    public var stats: [LisafsStatx]

    public init(stats: [LisafsStatx]) { self.stats = stats }

    public var encodedSize: Int { 2 + LisafsStatx.wireSize * stats.count }

    public func encode(into writer: inout ByteWriter) {
        writer.write(stats)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        stats = try reader.requireArray(of: LisafsStatx.self)
    }
}

/// OpenCreateAt (gVisor `OpenCreateAtReq`): openat(2) with O_CREAT|O_EXCL added to `flags`,
/// creating `name` in the directory with the given owner and mode. The server may donate a
/// host FD for the new open file.
///
/// Layout: create header (24), `flags u32, name SizedString`.
public struct OpenCreateAtRequest: LisafsRequest {
    public typealias Response = OpenCreateAtResponse
    public static let messageID = LisafsMessageID.openCreateAt

    public var dirFD: LisafsFDID
    public var uid: LisafsUID
    public var gid: LisafsGID
    public var mode: UInt16
    public var flags: UInt32
    public var name: SizedString

    public init(dirFD: LisafsFDID, name: SizedString, flags: UInt32, mode: UInt16, uid: LisafsUID, gid: LisafsGID) {
        self.dirFD = dirFD
        self.name = name
        self.flags = flags
        self.mode = mode
        self.uid = uid
        self.gid = gid
    }

    public var encodedSize: Int { LisafsCreateHeader.wireSize + 4 + name.encodedSize }

    public func encode(into writer: inout ByteWriter) {
        LisafsCreateHeader(dirFD: dirFD, uid: uid, gid: gid, mode: mode).encode(into: &writer)
        writer.writeInteger(flags)
        writer.write(name)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        let header = try LisafsCreateHeader(decoding: &reader)
        (dirFD, uid, gid, mode) = (header.dirFD, header.uid, header.gid, header.mode)
        flags = try reader.require()
        name = try reader.requireName()
    }
}

/// The answer to OpenCreateAt (gVisor `OpenCreateAtResp`, 160 bytes): the new file's inode
/// (with its control FD) and the open FD.
///
/// Layout: `child Inode (152), newFD u64`.
public struct OpenCreateAtResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.openCreateAt

    public var child: LisafsInode
    public var openFD: LisafsFDID

    public init(child: LisafsInode, openFD: LisafsFDID) {
        self.child = child
        self.openFD = openFD
    }

    public var encodedSize: Int { LisafsInode.wireSize + 8 }

    public func encode(into writer: inout ByteWriter) {
        child.encode(into: &writer)
        writer.write(openFD)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        child = try LisafsInode(decoding: &reader)
        openFD = try reader.requireFD()
    }
}

/// MkdirAt (gVisor `MkdirAtReq`): mkdirat(2) of `name` in the directory, with the given owner
/// and mode.
///
/// Layout: create header (24), `name SizedString`.
public struct MkdirAtRequest: LisafsRequest {
    public typealias Response = MkdirAtResponse
    public static let messageID = LisafsMessageID.mkdirAt

    public var dirFD: LisafsFDID
    public var uid: LisafsUID
    public var gid: LisafsGID
    public var mode: UInt16
    public var name: SizedString

    public init(dirFD: LisafsFDID, name: SizedString, mode: UInt16, uid: LisafsUID, gid: LisafsGID) {
        self.dirFD = dirFD
        self.name = name
        self.mode = mode
        self.uid = uid
        self.gid = gid
    }

    public var encodedSize: Int { LisafsCreateHeader.wireSize + name.encodedSize }

    public func encode(into writer: inout ByteWriter) {
        LisafsCreateHeader(dirFD: dirFD, uid: uid, gid: gid, mode: mode).encode(into: &writer)
        writer.write(name)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        let header = try LisafsCreateHeader(decoding: &reader)
        (dirFD, uid, gid, mode) = (header.dirFD, header.uid, header.gid, header.mode)
        name = try reader.requireName()
    }
}

/// The answer to MkdirAt (gVisor `MkdirAtResp`, 152 bytes): the new directory's inode.
public struct MkdirAtResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.mkdirAt

    public var child: LisafsInode

    public init(child: LisafsInode) { self.child = child }

    public var encodedSize: Int { LisafsInode.wireSize }

    public func encode(into writer: inout ByteWriter) {
        child.encode(into: &writer)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        child = try LisafsInode(decoding: &reader)
    }
}

/// MknodAt (gVisor `MknodAtReq`): mknodat(2) of `name` in the directory, with the given owner,
/// mode (file type included) and device number.
///
/// Layout: create header (24), `minor u32, major u32, name SizedString`.
public struct MknodAtRequest: LisafsRequest {
    public typealias Response = MknodAtResponse
    public static let messageID = LisafsMessageID.mknodAt

    public var dirFD: LisafsFDID
    public var uid: LisafsUID
    public var gid: LisafsGID
    public var mode: UInt16
    public var minor: UInt32
    public var major: UInt32
    public var name: SizedString

    public init(
        dirFD: LisafsFDID, name: SizedString, mode: UInt16, uid: LisafsUID, gid: LisafsGID,
        minor: UInt32 = 0, major: UInt32 = 0
    ) {
        self.dirFD = dirFD
        self.name = name
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.minor = minor
        self.major = major
    }

    public var encodedSize: Int { LisafsCreateHeader.wireSize + 8 + name.encodedSize }

    public func encode(into writer: inout ByteWriter) {
        LisafsCreateHeader(dirFD: dirFD, uid: uid, gid: gid, mode: mode).encode(into: &writer)
        writer.writeInteger(minor)
        writer.writeInteger(major)
        writer.write(name)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        let header = try LisafsCreateHeader(decoding: &reader)
        (dirFD, uid, gid, mode) = (header.dirFD, header.uid, header.gid, header.mode)
        minor = try reader.require()
        major = try reader.require()
        name = try reader.requireName()
    }
}

/// The answer to MknodAt (gVisor `MknodAtResp`, 152 bytes): the new file's inode.
public struct MknodAtResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.mknodAt

    public var child: LisafsInode

    public init(child: LisafsInode) { self.child = child }

    public var encodedSize: Int { LisafsInode.wireSize }

    public func encode(into writer: inout ByteWriter) {
        child.encode(into: &writer)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        child = try LisafsInode(decoding: &reader)
    }
}

/// SymlinkAt (gVisor `SymlinkAtReq`): symlinkat(2) creating `name` in the directory, pointing
/// at `target`, with the given owner. The target is a C string of at most PATH_MAX − 1 bytes;
/// what it points at is never looked at by the server.
///
/// Layout: `dirFD u64, uid u32, gid u32, name SizedString, target SizedString`.
public struct SymlinkAtRequest: LisafsRequest {
    public typealias Response = SymlinkAtResponse
    public static let messageID = LisafsMessageID.symlinkAt

    public var dirFD: LisafsFDID
    public var uid: LisafsUID
    public var gid: LisafsGID
    public var name: SizedString
    public var target: SizedString

    public init(dirFD: LisafsFDID, name: SizedString, target: SizedString, uid: LisafsUID, gid: LisafsGID) {
        self.dirFD = dirFD
        self.name = name
        self.target = target
        self.uid = uid
        self.gid = gid
    }

    public var encodedSize: Int { 16 + name.encodedSize + target.encodedSize }

    public func encode(into writer: inout ByteWriter) {
        writer.write(dirFD)
        writer.writeInteger(uid.rawValue)
        writer.writeInteger(gid.rawValue)
        writer.write(name)
        writer.write(target)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        dirFD = try reader.requireFD()
        uid = LisafsUID(try reader.require(UInt32.self))
        gid = LisafsGID(try reader.require(UInt32.self))
        name = try reader.requireName()
        target = try reader.requireSizedString(limit: Lisafs.maxPathLength, cString: true)
    }
}

/// The answer to SymlinkAt (gVisor `SymlinkAtResp`, 152 bytes): the new symlink's inode.
public struct SymlinkAtResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.symlinkAt

    public var symlink: LisafsInode

    public init(symlink: LisafsInode) { self.symlink = symlink }

    public var encodedSize: Int { LisafsInode.wireSize }

    public func encode(into writer: inout ByteWriter) {
        symlink.encode(into: &writer)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        symlink = try LisafsInode(decoding: &reader)
    }
}

/// LinkAt (gVisor `LinkAtReq`): linkat(2) creating `name` in the directory as a hard link to
/// the file behind the control FD `target`. No flags: the server never follows symlinks.
///
/// Layout: `dirFD u64, target u64, name SizedString`.
public struct LinkAtRequest: LisafsRequest {
    public typealias Response = LinkAtResponse
    public static let messageID = LisafsMessageID.linkAt

    public var dirFD: LisafsFDID
    public var target: LisafsFDID
    public var name: SizedString

    public init(dirFD: LisafsFDID, target: LisafsFDID, name: SizedString) {
        self.dirFD = dirFD
        self.target = target
        self.name = name
    }

    public var encodedSize: Int { 16 + name.encodedSize }

    public func encode(into writer: inout ByteWriter) {
        writer.write(dirFD)
        writer.write(target)
        writer.write(name)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        dirFD = try reader.requireFD()
        target = try reader.requireFD()
        name = try reader.requireName()
    }
}

/// The answer to LinkAt (gVisor `LinkAtResp`, 152 bytes): the link's inode.
public struct LinkAtResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.linkAt

    public var link: LisafsInode

    public init(link: LisafsInode) { self.link = link }

    public var encodedSize: Int { LisafsInode.wireSize }

    public func encode(into writer: inout ByteWriter) {
        link.encode(into: &writer)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        link = try LisafsInode(decoding: &reader)
    }
}

/// UnlinkAt (gVisor `UnlinkAtReq`): unlinkat(2) of `name` in the directory; `flags` may hold
/// AT_REMOVEDIR.
///
/// Layout: `dirFD u64, flags u32, name SizedString`.
public struct UnlinkAtRequest: LisafsRequest {
    public typealias Response = UnlinkAtResponse
    public static let messageID = LisafsMessageID.unlinkAt

    public var dirFD: LisafsFDID
    public var flags: UInt32
    public var name: SizedString

    public init(dirFD: LisafsFDID, name: SizedString, flags: UInt32) {
        self.dirFD = dirFD
        self.name = name
        self.flags = flags
    }

    public var encodedSize: Int { 12 + name.encodedSize }

    public func encode(into writer: inout ByteWriter) {
        writer.write(dirFD)
        writer.writeInteger(flags)
        writer.write(name)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        dirFD = try reader.requireFD()
        flags = try reader.require()
        name = try reader.requireName()
    }
}

/// The answer to UnlinkAt: empty.
public struct UnlinkAtResponse: LisafsResponse, LisafsEmptyMessage {
    public static let messageID = LisafsMessageID.unlinkAt
    public init() {}
}

/// RenameAt (gVisor `RenameAtReq`): renameat(2) of `oldName` in the directory `oldDir` to
/// `newName` in the directory `newDir`.
///
/// Layout: `oldDir u64, newDir u64, oldName SizedString, newName SizedString`.
public struct RenameAtRequest: LisafsRequest {
    public typealias Response = RenameAtResponse
    public static let messageID = LisafsMessageID.renameAt

    public var oldDir: LisafsFDID
    public var newDir: LisafsFDID
    public var oldName: SizedString
    public var newName: SizedString

    public init(oldDir: LisafsFDID, oldName: SizedString, newDir: LisafsFDID, newName: SizedString) {
        self.oldDir = oldDir
        self.oldName = oldName
        self.newDir = newDir
        self.newName = newName
    }

    public var encodedSize: Int { 16 + oldName.encodedSize + newName.encodedSize }

    public func encode(into writer: inout ByteWriter) {
        writer.write(oldDir)
        writer.write(newDir)
        writer.write(oldName)
        writer.write(newName)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        oldDir = try reader.requireFD()
        newDir = try reader.requireFD()
        oldName = try reader.requireName()
        newName = try reader.requireName()
    }
}

/// The answer to RenameAt: empty.
public struct RenameAtResponse: LisafsResponse, LisafsEmptyMessage {
    public static let messageID = LisafsMessageID.renameAt
    public init() {}
}

/// RenameAt2: renameat2(2), that is RenameAt with RENAME_NOREPLACE / RENAME_EXCHANGE /
/// RENAME_WHITEOUT `flags`.
///
/// The gVisor sources we could read predate this message, so the layout is ours, built the
/// way lisafs builds its others (fixed fields before strings, as UnlinkAt puts `flags` before
/// `name`): `oldDir u64, newDir u64, flags u32, oldName SizedString, newName SizedString`.
public struct RenameAt2Request: LisafsRequest {
    public typealias Response = RenameAt2Response
    public static let messageID = LisafsMessageID.renameAt2

    public var oldDir: LisafsFDID
    public var newDir: LisafsFDID
    public var flags: UInt32
    public var oldName: SizedString
    public var newName: SizedString

    public init(oldDir: LisafsFDID, oldName: SizedString, newDir: LisafsFDID, newName: SizedString, flags: UInt32) {
        self.oldDir = oldDir
        self.oldName = oldName
        self.newDir = newDir
        self.newName = newName
        self.flags = flags
    }

    public var encodedSize: Int { 20 + oldName.encodedSize + newName.encodedSize }

    public func encode(into writer: inout ByteWriter) {
        writer.write(oldDir)
        writer.write(newDir)
        writer.writeInteger(flags)
        writer.write(oldName)
        writer.write(newName)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        oldDir = try reader.requireFD()
        newDir = try reader.requireFD()
        flags = try reader.require()
        oldName = try reader.requireName()
        newName = try reader.requireName()
    }
}

/// The answer to RenameAt2: empty.
public struct RenameAt2Response: LisafsResponse, LisafsEmptyMessage {
    public static let messageID = LisafsMessageID.renameAt2
    public init() {}
}

/// Getdents64 (gVisor `Getdents64Req`, 16 bytes): getdents64(2) of up to |`count`| bytes of
/// entries from an open directory FD, advancing its offset. A negative `count` asks the server
/// to seek the directory back to 0 first.
///
/// Layout: `dirFD u64, count i32, _ u32`.
public struct Getdents64Request: LisafsRequest {
    public typealias Response = Getdents64Response
    public static let messageID = LisafsMessageID.getdents64

    public var dirFD: LisafsFDID
    public var count: Int32

    public init(dirFD: LisafsFDID, count: Int32) {
        self.dirFD = dirFD
        self.count = count
    }

    public var encodedSize: Int { 16 }

    public func encode(into writer: inout ByteWriter) {
        writer.write(dirFD)
        writer.writeInteger(count)
        writer.writeZeros(4)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        dirFD = try reader.requireFD()
        count = try reader.require()
        try reader.requirePadding(4)
    }
}

/// The answer to Getdents64 (gVisor `Getdents64Resp`): the entries read; none at the end of
/// the directory.
///
/// Layout: `count u16`, then `count` `Dirent64`s (27 bytes or more each).
public struct Getdents64Response: LisafsResponse {
    public static let messageID = LisafsMessageID.getdents64

    public var dirents: [LisafsDirent64]

    public init(dirents: [LisafsDirent64]) { self.dirents = dirents }

    public var encodedSize: Int { 2 + dirents.reduce(0) { $0 + $1.encodedSize } }

    public func encode(into writer: inout ByteWriter) {
        writer.writeCount16(dirents.count)
        for dirent in dirents { dirent.encode(into: &writer) }
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        let count = try reader.requireCount(UInt16.self, elementSize: LisafsDirent64.minimumSize)
        var dirents: [LisafsDirent64] = []
        dirents.reserveCapacity(count)
        for _ in 0..<count { dirents.append(try LisafsDirent64(decoding: &reader)) }
        self.dirents = dirents
    }
}

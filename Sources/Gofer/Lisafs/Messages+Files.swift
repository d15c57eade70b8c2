import LinuxABI

// Calls on one file: FStat (3), SetStat (4), OpenAt (7), Close (9), FSync (10), PWrite (11),
// PRead (12), FStatFS (17), FAllocate (18), ReadLinkAt (19), Flush (20).

/// FStat (gVisor `StatReq`, 8 bytes): statx(2) of the file behind a control or open FD.
///
/// Layout: `fd u64`.
public struct FStatRequest: LisafsRequest {
    public typealias Response = FStatResponse
    public static let messageID = LisafsMessageID.fstat

    public var fd: LisafsFDID

    public init(fd: LisafsFDID) { self.fd = fd }

    public var encodedSize: Int { 8 }

    public func encode(into writer: inout ByteWriter) {
        writer.write(fd)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        fd = try reader.requireFD()
    }
}

/// The answer to FStat: the file's `Statx` (144 bytes), nothing else.
public struct FStatResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.fstat

    public var stat: LisafsStatx

    public init(stat: LisafsStatx) { self.stat = stat }

    public var encodedSize: Int { LisafsStatx.wireSize }

    public func encode(into writer: inout ByteWriter) {
        stat.encode(into: &writer)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        stat = try LisafsStatx(decoding: &reader)
    }
}

/// SetStat (gVisor `SetStatReq`, 64 bytes): fchmod(2), fchown(2), ftruncate(2) and
/// utimensat(2) in one call on a control FD. `mask` holds STATX_MODE, STATX_UID, STATX_GID,
/// STATX_SIZE, STATX_ATIME and STATX_MTIME bits for the fields to change; only the permission
/// bits of `mode` are settable; a timestamp may carry UTIME_NOW or UTIME_OMIT.
///
/// Layout: `fd u64, mask u32, mode u32, uid u32, gid u32, size u64, atime timespec,
/// mtime timespec`.
public struct SetStatRequest: LisafsRequest {
    public typealias Response = SetStatResponse
    public static let messageID = LisafsMessageID.setStat

    public var fd: LisafsFDID
    public var mask: UInt32
    public var mode: UInt32
    public var uid: LisafsUID
    public var gid: LisafsGID
    public var size: UInt64
    public var accessTime: LinuxTimespec
    public var modificationTime: LinuxTimespec

    public init(
        fd: LisafsFDID, mask: UInt32, mode: UInt32 = 0, uid: LisafsUID = .none, gid: LisafsGID = .none,
        size: UInt64 = 0, accessTime: LinuxTimespec = LinuxTimespec(seconds: 0, nanoseconds: 0),
        modificationTime: LinuxTimespec = LinuxTimespec(seconds: 0, nanoseconds: 0)
    ) {
        self.fd = fd
        self.mask = mask
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.accessTime = accessTime
        self.modificationTime = modificationTime
    }

    public var encodedSize: Int { 64 }

    public func encode(into writer: inout ByteWriter) {
        writer.write(fd)
        writer.writeInteger(mask)
        writer.writeInteger(mode)
        writer.writeInteger(uid.rawValue)
        writer.writeInteger(gid.rawValue)
        writer.writeInteger(size)
        writer.write(accessTime)
        writer.write(modificationTime)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        fd = try reader.requireFD()
        mask = try reader.require()
        mode = try reader.require()
        uid = LisafsUID(try reader.require(UInt32.self))
        gid = LisafsGID(try reader.require(UInt32.self))
        size = try reader.require()
        accessTime = try reader.requireTimespec()
        modificationTime = try reader.requireTimespec()
    }
}

/// The answer to SetStat (gVisor `SetStatResp`, 8 bytes): the STATX_* bits of the changes that
/// failed (a failure does not stop the others) and the errno of one of them.
///
/// Layout: `failureMask u32, failureErrno u32`.
public struct SetStatResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.setStat

    public var failureMask: UInt32
    public var failureErrno: UInt32

    public init(failureMask: UInt32, failureErrno: UInt32) {
        self.failureMask = failureMask
        self.failureErrno = failureErrno
    }

    public var encodedSize: Int { 8 }

    public func encode(into writer: inout ByteWriter) {
        writer.writeInteger(failureMask)
        writer.writeInteger(failureErrno)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        failureMask = try reader.require()
        failureErrno = try reader.require()
    }
}

/// OpenAt (gVisor `OpenAtReq`, 16 bytes): opens the file behind a control FD with open(2)
/// `flags`, without any walk, creating an open FD. The server may donate a host FD opened with
/// the same flags.
///
/// Layout: `fd u64, flags u32, _ u32`.
public struct OpenAtRequest: LisafsRequest {
    public typealias Response = OpenAtResponse
    public static let messageID = LisafsMessageID.openAt

    public var fd: LisafsFDID
    public var flags: UInt32

    public init(fd: LisafsFDID, flags: UInt32) {
        self.fd = fd
        self.flags = flags
    }

    public var encodedSize: Int { 16 }

    public func encode(into writer: inout ByteWriter) {
        writer.write(fd)
        writer.writeInteger(flags)
        writer.writeZeros(4)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        fd = try reader.requireFD()
        flags = try reader.require()
        try reader.requirePadding(4)
    }
}

/// The answer to OpenAt (gVisor `OpenAtResp`, 8 bytes): the new open FD.
public struct OpenAtResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.openAt

    public var openFD: LisafsFDID

    public init(openFD: LisafsFDID) { self.openFD = openFD }

    public var encodedSize: Int { 8 }

    public func encode(into writer: inout ByteWriter) {
        writer.write(openFD)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        openFD = try reader.requireFD()
    }
}

/// Close (gVisor `CloseReq`): close(2) on several FDs at once. The server stops tracking the
/// ids; later use of them fails with EBADF.
///
/// Layout: `count u16`, then `count` FD ids of 8 bytes each (gVisor `FdArray`).
public struct CloseRequest: LisafsRequest {
    public typealias Response = CloseResponse
    public static let messageID = LisafsMessageID.close

    public var fds: [LisafsFDID]

    public init(fds: [LisafsFDID]) { self.fds = fds }

    public var encodedSize: Int { 2 + 8 * fds.count }

    public func encode(into writer: inout ByteWriter) {
        writer.write(fds)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        fds = try reader.requireFDArray()
    }
}

/// The answer to Close: empty.
public struct CloseResponse: LisafsResponse, LisafsEmptyMessage {
    public static let messageID = LisafsMessageID.close
    public init() {}
}

/// FSync (gVisor `FsyncReq`): fsync(2) on several FDs at once; errors are ignored.
///
/// Layout: `count u16`, then `count` FD ids of 8 bytes each.
public struct FSyncRequest: LisafsRequest {
    public typealias Response = FSyncResponse
    public static let messageID = LisafsMessageID.fsync

    public var fds: [LisafsFDID]

    public init(fds: [LisafsFDID]) { self.fds = fds }

    public var encodedSize: Int { 2 + 8 * fds.count }

    public func encode(into writer: inout ByteWriter) {
        writer.write(fds)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        fds = try reader.requireFDArray()
    }
}

/// The answer to FSync: empty.
public struct FSyncResponse: LisafsResponse, LisafsEmptyMessage {
    public static let messageID = LisafsMessageID.fsync
    public init() {}
}

/// PWrite (gVisor `PWriteReq`): pwrite(2) of `data` at `offset` on an open FD.
///
/// Layout: `offset u64, fd u64, count u32`, then `count` bytes.
public struct PWriteRequest: LisafsRequest {
    public typealias Response = PWriteResponse
    public static let messageID = LisafsMessageID.pwrite

    public var offset: UInt64
    public var fd: LisafsFDID
    public var data: [UInt8]

    public init(offset: UInt64, fd: LisafsFDID, data: [UInt8]) {
        self.offset = offset
        self.fd = fd
        self.data = data
    }

    public var encodedSize: Int { 20 + data.count }

    public func encode(into writer: inout ByteWriter) {
        precondition(data.count <= Int(UInt32.max), "PWrite larger than a uint32 count; split it")
        writer.writeInteger(offset)
        writer.write(fd)
        writer.writeInteger(UInt32(data.count))
        writer.writeBytes(data)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        offset = try reader.require()
        fd = try reader.requireFD()
        let count = try reader.requireCount(UInt32.self, elementSize: 1)
        data = try reader.requireBytes(count: count)
    }
}

/// The answer to PWrite (gVisor `PWriteResp`, 8 bytes): the number of bytes written.
public struct PWriteResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.pwrite

    public var count: UInt64

    public init(count: UInt64) { self.count = count }

    public var encodedSize: Int { 8 }

    public func encode(into writer: inout ByteWriter) {
        writer.writeInteger(count)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        count = try reader.require()
    }
}

/// PRead (gVisor `PReadReq`, 24 bytes): pread(2) of up to `count` bytes at `offset` on an
/// open FD. The server caps `count` at what fits its maximum message size.
///
/// Layout: `offset u64, fd u64, count u32, _ u32`.
public struct PReadRequest: LisafsRequest {
    public typealias Response = PReadResponse
    public static let messageID = LisafsMessageID.pread

    public var offset: UInt64
    public var fd: LisafsFDID
    public var count: UInt32

    public init(offset: UInt64, fd: LisafsFDID, count: UInt32) {
        self.offset = offset
        self.fd = fd
        self.count = count
    }

    public var encodedSize: Int { 24 }

    public func encode(into writer: inout ByteWriter) {
        writer.writeInteger(offset)
        writer.write(fd)
        writer.writeInteger(count)
        writer.writeZeros(4)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        offset = try reader.require()
        fd = try reader.requireFD()
        count = try reader.require()
        try reader.requirePadding(4)
    }
}

/// The answer to PRead (gVisor `PReadResp`): the bytes read (fewer than asked at end of file).
///
/// Layout: `count u64`, then `count` bytes.
public struct PReadResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.pread

    public var data: [UInt8]

    public init(data: [UInt8]) { self.data = data }

    public var encodedSize: Int { 8 + data.count }

    public func encode(into writer: inout ByteWriter) {
        writer.writeInteger(UInt64(data.count))
        writer.writeBytes(data)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        let count = try reader.requireCount(UInt64.self, elementSize: 1)
        data = try reader.requireBytes(count: count)
    }
}

/// FStatFS (gVisor `FStatFSReq`, 8 bytes): fstatfs(2) of the filesystem holding the file
/// behind a control FD.
///
/// Layout: `fd u64`.
public struct FStatFSRequest: LisafsRequest {
    public typealias Response = FStatFSResponse
    public static let messageID = LisafsMessageID.fstatFS

    public var fd: LisafsFDID

    public init(fd: LisafsFDID) { self.fd = fd }

    public var encodedSize: Int { 8 }

    public func encode(into writer: inout ByteWriter) {
        writer.write(fd)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        fd = try reader.requireFD()
    }
}

/// The answer to FStatFS: gVisor's `StatFS` (64 bytes), nothing else.
public struct FStatFSResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.fstatFS

    public var statfs: LisafsStatfs

    public init(statfs: LisafsStatfs) { self.statfs = statfs }

    public var encodedSize: Int { LisafsStatfs.wireSize }

    public func encode(into writer: inout ByteWriter) {
        statfs.encode(into: &writer)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        statfs = try LisafsStatfs(decoding: &reader)
    }
}

/// FAllocate (gVisor `FAllocateReq`, 32 bytes): fallocate(2) on an open FD, with its mode
/// (FALLOC_FL_* bits), offset and length.
///
/// Layout: `fd u64, mode u64, offset u64, length u64`.
public struct FAllocateRequest: LisafsRequest {
    public typealias Response = FAllocateResponse
    public static let messageID = LisafsMessageID.fallocate

    public var fd: LisafsFDID
    public var mode: UInt64
    public var offset: UInt64
    public var length: UInt64

    public init(fd: LisafsFDID, mode: UInt64, offset: UInt64, length: UInt64) {
        self.fd = fd
        self.mode = mode
        self.offset = offset
        self.length = length
    }

    public var encodedSize: Int { 32 }

    public func encode(into writer: inout ByteWriter) {
        writer.write(fd)
        writer.writeInteger(mode)
        writer.writeInteger(offset)
        writer.writeInteger(length)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        fd = try reader.requireFD()
        mode = try reader.require()
        offset = try reader.require()
        length = try reader.require()
    }
}

/// The answer to FAllocate: empty.
public struct FAllocateResponse: LisafsResponse, LisafsEmptyMessage {
    public static let messageID = LisafsMessageID.fallocate
    public init() {}
}

/// ReadLinkAt (gVisor `ReadLinkAtReq`, 8 bytes): readlinkat(2) of the symlink behind a control
/// FD itself, with no path walk.
///
/// Layout: `fd u64`.
public struct ReadLinkAtRequest: LisafsRequest {
    public typealias Response = ReadLinkAtResponse
    public static let messageID = LisafsMessageID.readLinkAt

    public var fd: LisafsFDID

    public init(fd: LisafsFDID) { self.fd = fd }

    public var encodedSize: Int { 8 }

    public func encode(into writer: inout ByteWriter) {
        writer.write(fd)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        fd = try reader.requireFD()
    }
}

/// The answer to ReadLinkAt (gVisor `ReadLinkAtResp`): the symlink's target, a `SizedString`
/// of at most PATH_MAX − 1 bytes without NUL.
public struct ReadLinkAtResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.readLinkAt

    public var target: SizedString

    public init(target: SizedString) { self.target = target }

    public var encodedSize: Int { target.encodedSize }

    public func encode(into writer: inout ByteWriter) {
        writer.write(target)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        target = try reader.requireSizedString(limit: Lisafs.maxPathLength, cString: true)
    }
}

/// Flush (gVisor `FlushReq`, 8 bytes): called before Close on an open FD to clean up file
/// state; what it does is up to the server.
///
/// Layout: `fd u64`.
public struct FlushRequest: LisafsRequest {
    public typealias Response = FlushResponse
    public static let messageID = LisafsMessageID.flush

    public var fd: LisafsFDID

    public init(fd: LisafsFDID) { self.fd = fd }

    public var encodedSize: Int { 8 }

    public func encode(into writer: inout ByteWriter) {
        writer.write(fd)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        fd = try reader.requireFD()
    }
}

/// The answer to Flush: empty.
public struct FlushResponse: LisafsResponse, LisafsEmptyMessage {
    public static let messageID = LisafsMessageID.flush
    public init() {}
}

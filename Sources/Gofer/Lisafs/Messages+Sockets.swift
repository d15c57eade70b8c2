import LinuxABI

// Host unix-domain sockets in the served tree: Connect (21), BindAt (29), Listen (30),
// Accept (31), ConnectWithCreds (32).

/// Connect (gVisor `ConnectReq`, 16 bytes): socket(AF_UNIX, `socketType`, 0) and connect(2) to
/// the socket file behind a control FD; the connected socket is donated. A `socketType` of 0
/// accepts whatever type the socket has.
///
/// Layout: `fd u64, sockType u32, _ u32`.
public struct ConnectRequest: LisafsRequest {
    public typealias Response = ConnectResponse
    public static let messageID = LisafsMessageID.connect

    public var fd: LisafsFDID
    public var socketType: UInt32

    public init(fd: LisafsFDID, socketType: UInt32) {
        self.fd = fd
        self.socketType = socketType
    }

    public var encodedSize: Int { 16 }

    public func encode(into writer: inout ByteWriter) {
        writer.write(fd)
        writer.writeInteger(socketType)
        writer.writeZeros(4)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        fd = try reader.requireFD()
        socketType = try reader.require()
        try reader.requirePadding(4)
    }
}

/// The answer to Connect: empty; the connected host socket comes as a donated FD.
public struct ConnectResponse: LisafsResponse, LisafsEmptyMessage {
    public static let messageID = LisafsMessageID.connect
    public init() {}
}

/// BindAt (gVisor `BindAtReq`): socket(AF_UNIX, `socketType`, 0) and bind(2) to `name` in the
/// directory, with the given owner and mode for the new socket file. The bound socket is
/// donated, so the client can poll it.
///
/// Layout: create header (24), `sockType u32, name SizedString`.
public struct BindAtRequest: LisafsRequest {
    public typealias Response = BindAtResponse
    public static let messageID = LisafsMessageID.bindAt

    public var dirFD: LisafsFDID
    public var uid: LisafsUID
    public var gid: LisafsGID
    public var mode: UInt16
    public var socketType: UInt32
    public var name: SizedString

    public init(dirFD: LisafsFDID, name: SizedString, socketType: UInt32, mode: UInt16, uid: LisafsUID, gid: LisafsGID) {
        self.dirFD = dirFD
        self.name = name
        self.socketType = socketType
        self.mode = mode
        self.uid = uid
        self.gid = gid
    }

    public var encodedSize: Int { LisafsCreateHeader.wireSize + 4 + name.encodedSize }

    public func encode(into writer: inout ByteWriter) {
        LisafsCreateHeader(dirFD: dirFD, uid: uid, gid: gid, mode: mode).encode(into: &writer)
        writer.writeInteger(socketType)
        writer.write(name)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        let header = try LisafsCreateHeader(decoding: &reader)
        (dirFD, uid, gid, mode) = (header.dirFD, header.uid, header.gid, header.mode)
        socketType = try reader.require()
        name = try reader.requireName()
    }
}

/// The answer to BindAt (gVisor `BindAtResp`, 160 bytes): the new socket file's inode and a
/// bound-socket FD for Listen and Accept.
///
/// Layout: `child Inode (152), boundSocketFD u64`.
public struct BindAtResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.bindAt

    public var child: LisafsInode
    public var boundSocketFD: LisafsFDID

    public init(child: LisafsInode, boundSocketFD: LisafsFDID) {
        self.child = child
        self.boundSocketFD = boundSocketFD
    }

    public var encodedSize: Int { LisafsInode.wireSize + 8 }

    public func encode(into writer: inout ByteWriter) {
        child.encode(into: &writer)
        writer.write(boundSocketFD)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        child = try LisafsInode(decoding: &reader)
        boundSocketFD = try reader.requireFD()
    }
}

/// Listen (gVisor `ListenReq`, 16 bytes): listen(2) with `backlog` on the host socket behind a
/// bound-socket FD.
///
/// Layout: `fd u64, backlog i32, _ u32`.
public struct ListenRequest: LisafsRequest {
    public typealias Response = ListenResponse
    public static let messageID = LisafsMessageID.listen

    public var fd: LisafsFDID
    public var backlog: Int32

    public init(fd: LisafsFDID, backlog: Int32) {
        self.fd = fd
        self.backlog = backlog
    }

    public var encodedSize: Int { 16 }

    public func encode(into writer: inout ByteWriter) {
        writer.write(fd)
        writer.writeInteger(backlog)
        writer.writeZeros(4)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        fd = try reader.requireFD()
        backlog = try reader.require()
        try reader.requirePadding(4)
    }
}

/// The answer to Listen: empty.
public struct ListenResponse: LisafsResponse, LisafsEmptyMessage {
    public static let messageID = LisafsMessageID.listen
    public init() {}
}

/// Accept (gVisor `AcceptReq`, 8 bytes): accept(2), never blocking, on the host socket behind a
/// bound-socket FD; the accepted connection is donated.
///
/// Layout: `fd u64`.
public struct AcceptRequest: LisafsRequest {
    public typealias Response = AcceptResponse
    public static let messageID = LisafsMessageID.accept

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

/// The answer to Accept (gVisor `AcceptResp`): the peer's address, the `sun_path` bytes (at
/// most 108; an abstract address starts with NUL, so NULs are allowed). The server may hide
/// it by sending an empty string.
///
/// Layout: `peerAddr SizedString`.
public struct AcceptResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.accept

    public var peerAddress: SizedString

    public init(peerAddress: SizedString) { self.peerAddress = peerAddress }

    public var encodedSize: Int { peerAddress.encodedSize }

    public func encode(into writer: inout ByteWriter) {
        writer.write(peerAddress)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        peerAddress = try reader.requireSizedString(limit: Lisafs.maxSocketAddressLength, cString: false)
    }
}

/// ConnectWithCreds: Connect, carrying the credentials of the sandboxed process that calls
/// connect(2), so the server can connect on its behalf and the listening peer can see who
/// connects (as SO_PEERCRED would show it without the sandbox).
///
/// The gVisor sources we could read predate this message, so the layout is ours: Connect's
/// 16 bytes unchanged, then the credentials, padded to 8 bytes as lisafs pads its structs.
/// Layout: `fd u64, sockType u32, _ u32, uid u32, gid u32, pid i32, _ u32` (32 bytes).
public struct ConnectWithCredsRequest: LisafsRequest {
    public typealias Response = ConnectWithCredsResponse
    public static let messageID = LisafsMessageID.connectWithCreds

    public var fd: LisafsFDID
    public var socketType: UInt32
    public var uid: LisafsUID
    public var gid: LisafsGID
    public var pid: Int32

    public init(fd: LisafsFDID, socketType: UInt32, uid: LisafsUID, gid: LisafsGID, pid: Int32) {
        self.fd = fd
        self.socketType = socketType
        self.uid = uid
        self.gid = gid
        self.pid = pid
    }

    public var encodedSize: Int { 32 }

    public func encode(into writer: inout ByteWriter) {
        ConnectRequest(fd: fd, socketType: socketType).encode(into: &writer)
        writer.writeInteger(uid.rawValue)
        writer.writeInteger(gid.rawValue)
        writer.writeInteger(pid)
        writer.writeZeros(4)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        let connect = try ConnectRequest(decoding: &reader)
        (fd, socketType) = (connect.fd, connect.socketType)
        uid = LisafsUID(try reader.require(UInt32.self))
        gid = LisafsGID(try reader.require(UInt32.self))
        pid = try reader.require()
        try reader.requirePadding(4)
    }
}

/// The answer to ConnectWithCreds: empty; the connected host socket comes as a donated FD.
public struct ConnectWithCredsResponse: LisafsResponse, LisafsEmptyMessage {
    public static let messageID = LisafsMessageID.connectWithCreds
    public init() {}
}

import LinuxABI

// Connection setup: Error (MID 0), Mount (1), Channel (2).

/// The payload of an `Error` response (gVisor `ErrorResp`): the Linux errno the request failed
/// with, as a `uint32`. A failed request has no side effects on the server.
public struct ErrorResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.error

    public var errno: UInt32

    public init(errno: UInt32) { self.errno = errno }

    public var encodedSize: Int { 4 }

    public func encode(into writer: inout ByteWriter) {
        writer.writeInteger(errno)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        errno = try reader.require()
    }
}

/// Mount (gVisor `MountReq`, empty): binds the connection to the mount point the server was
/// configured with for it. It must be the connection's first RPC; the client cannot choose
/// the path.
public struct MountRequest: LisafsRequest, LisafsEmptyMessage {
    public typealias Response = MountResponse
    public static let messageID = LisafsMessageID.mount
    public init() {}
}

/// The answer to Mount (gVisor `MountResp`): the root's inode (its control FD becomes the root
/// of the connection), the largest message the server accepts (header included), and every
/// MID the server supports.
///
/// Layout: `root Inode (152), maxMessageSize u32, count u16, count × MID u16`.
public struct MountResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.mount

    public var root: LisafsInode
    public var maxMessageSize: UInt32
    public var supportedMessages: [LisafsMessageID]

    public init(root: LisafsInode, maxMessageSize: UInt32, supportedMessages: [LisafsMessageID]) {
        self.root = root
        self.maxMessageSize = maxMessageSize
        self.supportedMessages = supportedMessages
    }

    public var encodedSize: Int { LisafsInode.wireSize + 4 + 2 + 2 * supportedMessages.count }

    public func encode(into writer: inout ByteWriter) {
        root.encode(into: &writer)
        writer.writeInteger(maxMessageSize)
        writer.writeCount16(supportedMessages.count)
        for id in supportedMessages { writer.writeInteger(id.rawValue) }
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        root = try LisafsInode(decoding: &reader)
        maxMessageSize = try reader.require()
        let count = try reader.requireCount(UInt16.self, elementSize: 2)
        var ids: [LisafsMessageID] = []
        ids.reserveCapacity(count)
        for _ in 0..<count { ids.append(LisafsMessageID(try reader.require(UInt16.self))) }
        supportedMessages = ids
    }
}

/// Channel (gVisor `ChannelReq`, empty): asks for a new flipcall channel. The server answers
/// ENOMEM when it has reached its channel limit.
public struct ChannelRequest: LisafsRequest, LisafsEmptyMessage {
    public typealias Response = ChannelResponse
    public static let messageID = LisafsMessageID.channel
    public init() {}
}

/// The answer to Channel (gVisor `ChannelResp`, 16 bytes): where in the donated shared-memory
/// file this channel's packet window lies. Donates two FDs with it: the memory file and the
/// socket the server will donate FDs over on this channel.
///
/// Layout: `dataOffset i64, dataLength u64`. Whether the region lies inside the donated file
/// is the client's check, made when it maps it.
public struct ChannelResponse: LisafsResponse {
    public static let messageID = LisafsMessageID.channel

    public var dataOffset: Int64
    public var dataLength: UInt64

    public init(dataOffset: Int64, dataLength: UInt64) {
        self.dataOffset = dataOffset
        self.dataLength = dataLength
    }

    public var encodedSize: Int { 16 }

    public func encode(into writer: inout ByteWriter) {
        writer.writeInteger(dataOffset)
        writer.writeInteger(dataLength)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        dataOffset = try reader.require()
        dataLength = try reader.require()
    }
}

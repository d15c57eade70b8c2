import LinuxABI

/// Connection-wide lisafs limits.
public enum Lisafs {
    /// gVisor's recommended maximum message size, header included: a 2 MiB huge page less one
    /// 4 KiB page, so a flipcall window of this size plus its headers fits one huge page.
    public static let maxMessageSize: UInt32 = 2 * 1024 * 1024 - 4096
}

/// The header in front of every lisafs message on the unix socket (gVisor `sockHeader`).
///
/// Wire layout, little-endian, 8 bytes: `payloadLen uint32, message MID (uint16), _ uint16`.
/// The length counts the payload only; gVisor's first versions stored the whole message size
/// there instead. The padding is written as zero and ignored on receipt, as gVisor does.
public struct LisafsSocketHeader: Hashable, Sendable {
    /// Size of the header on the wire.
    public static let size = 8

    /// Bytes of payload that follow the header.
    public var payloadLength: UInt32
    /// The message the payload holds.
    public var messageID: LisafsMessageID

    public init(messageID: LisafsMessageID, payloadLength: UInt32) {
        self.messageID = messageID
        self.payloadLength = payloadLength
    }

    /// Appends the 8 header bytes.
    public func encode(into writer: inout ByteWriter) {
        writer.writeInteger(payloadLength)
        writer.writeInteger(messageID.rawValue)
        writer.writeZeros(2)
    }

    /// Reads a header and rejects one whose message (header plus payload) would exceed
    /// `maxMessageSize`, before the receiver sizes a buffer for the payload.
    public init(decoding reader: inout ByteReader, maxMessageSize: UInt32 = Lisafs.maxMessageSize) throws(LisafsDecodeError) {
        guard reader.readableBytes >= Self.size else {
            throw .truncated(needed: Self.size, available: reader.readableBytes)
        }
        let length: UInt32 = try reader.require()
        let id: UInt16 = try reader.require()
        reader.skip(2)
        let total = UInt64(length) + UInt64(Self.size)
        guard total <= UInt64(maxMessageSize) else {
            throw .messageTooLarge(size: total, limit: maxMessageSize)
        }
        self.init(messageID: LisafsMessageID(id), payloadLength: length)
    }
}

/// The header in front of every lisafs message in a flipcall packet window (gVisor
/// `channelHeader`).
///
/// Wire layout, 4 bytes: `message MID (uint16), numFDs uint8, _ uint8`. The message length is
/// not in the header: flipcall delivers it as the data length of the packet, which the
/// receiver checks against the header size and the maximum (`decodeMessage`).
public struct LisafsChannelHeader: Hashable, Sendable {
    /// Size of the header on the wire.
    public static let size = 4

    /// The message the payload holds.
    public var messageID: LisafsMessageID
    /// Host FDs donated with this message over the channel's FD socket.
    public var fdCount: UInt8

    public init(messageID: LisafsMessageID, fdCount: UInt8 = 0) {
        self.messageID = messageID
        self.fdCount = fdCount
    }

    /// Appends the 4 header bytes.
    public func encode(into writer: inout ByteWriter) {
        writer.writeInteger(messageID.rawValue)
        writer.writeInteger(fdCount)
        writer.writeZeros(1)
    }

    /// Splits a received packet into header and payload.
    ///
    /// `dataLength` is the length the peer announced through flipcall; it must cover the
    /// header, stay within `maxMessageSize`, and lie inside `window` (the bytes actually
    /// copied out of the packet window). The payload comes back as a reader positioned just
    /// after the header, holding exactly the message's bytes: the window itself when it holds
    /// exactly the message (no copy), a copy of the message otherwise.
    public static func decodeMessage(
        _ window: ByteReader, dataLength: UInt32, maxMessageSize: UInt32 = Lisafs.maxMessageSize
    ) throws(LisafsDecodeError) -> (header: Self, payload: ByteReader) {
        guard dataLength >= Self.size else {
            throw .messageTooSmall(size: dataLength, minimum: Self.size)
        }
        guard dataLength <= maxMessageSize else {
            throw .messageTooLarge(size: UInt64(dataLength), limit: maxMessageSize)
        }
        let start = window.readerIndex
        guard let id = window.integer(at: start, as: UInt16.self), let fds = window.integer(at: start + 2, as: UInt8.self),
            window.readableBytes >= Int(dataLength)
        else {
            throw .truncated(needed: Int(dataLength), available: window.readableBytes)
        }
        var payload: ByteReader
        if window.readableBytes == Int(dataLength) {
            payload = window  // the window holds exactly this message: no copy
        } else {
            payload = ByteReader(Array(window.bytes[start..<(start + Int(dataLength))]))
        }
        payload.skip(Self.size)
        return (Self(messageID: LisafsMessageID(id), fdCount: fds), payload)
    }
}

/// A lisafs message payload: its ID, its marshaler, and its checked unmarshaler.
///
/// Layouts follow gVisor's `pkg/lisafs/message.go` byte for byte (little-endian, packed).
/// `init(decoding:)` consumes exactly the message's bytes from the reader and throws on short
/// or inconsistent input; it never traps and never allocates from an unchecked count.
public protocol LisafsMessage: Hashable, Sendable {
    /// The ID this payload travels under.
    static var messageID: LisafsMessageID { get }
    /// The payload size `encode(into:)` writes.
    var encodedSize: Int { get }
    /// Appends the payload.
    func encode(into writer: inout ByteWriter)
    /// Reads the payload from the reader's current position.
    init(decoding reader: inout ByteReader) throws(LisafsDecodeError)
}

extension LisafsMessage {
    /// The payload bytes.
    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: encodedSize)
        encode(into: &writer)
        return writer.bytes
    }

    /// Decodes a whole payload and rejects bytes left over after the message.
    public init(decodingPayload payload: [UInt8]) throws(LisafsDecodeError) {
        var reader = ByteReader(payload)
        try self.init(decoding: &reader)
        guard reader.isAtEnd else { throw .trailingBytes(count: reader.readableBytes) }
    }
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

/// The payload of an `Error` response (gVisor `ErrorResp`): the Linux errno the request failed
/// with, as a `uint32`.
public struct ErrorResponse: LisafsMessage {
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

/// The payload of a `Close` request (gVisor `CloseReq`): close(2) on several FDs at once.
///
/// Wire layout: `count uint32`, then `count` FD ids of 8 bytes each. The response is empty.
public struct CloseRequest: LisafsMessage {
    public static let messageID = LisafsMessageID.close

    public var fds: [LisafsFDID]

    public init(fds: [LisafsFDID]) { self.fds = fds }

    public var encodedSize: Int { 4 + 8 * fds.count }

    public func encode(into writer: inout ByteWriter) {
        writer.writeInteger(UInt32(fds.count))
        for fd in fds { writer.writeInteger(fd.rawValue) }
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        let count = try reader.requireCount(elementSize: 8)
        var fds: [LisafsFDID] = []
        fds.reserveCapacity(count)
        for _ in 0..<count { fds.append(LisafsFDID(try reader.require(UInt64.self))) }
        self.fds = fds
    }
}

/// The payload of an `FStat` request (gVisor `StatReq`): the control FD to stat.
public struct FStatRequest: LisafsMessage {
    public static let messageID = LisafsMessageID.fstat

    public var fd: LisafsFDID

    public init(fd: LisafsFDID) { self.fd = fd }

    public var encodedSize: Int { 8 }

    public func encode(into writer: inout ByteWriter) {
        writer.writeInteger(fd.rawValue)
    }

    public init(decoding reader: inout ByteReader) throws(LisafsDecodeError) {
        fd = LisafsFDID(try reader.require(UInt64.self))
    }
}

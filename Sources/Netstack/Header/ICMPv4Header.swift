/// A checked view of an ICMPv4 message (RFC 792; gVisor `header.ICMPv4`): type, code,
/// checksum over the whole message, then four bytes whose meaning depends on the type
/// (identifier and sequence for echo; the next-hop MTU for "fragmentation needed").
public struct ICMPv4Header: Sendable {
    public static let minimumSize = 8

    /// The message types the stack sends or answers.
    public enum MessageType: UInt8, Sendable {
        case echoReply = 0
        case destinationUnreachable = 3
        case echoRequest = 8
        case timeExceeded = 11
    }

    /// Codes of destination unreachable.
    public static let codePortUnreachable: UInt8 = 3
    public static let codeFragmentationNeeded: UInt8 = 4

    /// The whole message.
    public let message: ArraySlice<UInt8>

    /// A view over `bytes`, or nil if they are shorter than a header.
    public init?(_ bytes: ArraySlice<UInt8>) {
        guard bytes.count >= Self.minimumSize else { return nil }
        message = bytes
    }

    public var type: UInt8 { message.byte(at: 0) }
    public var code: UInt8 { message.byte(at: 1) }
    /// Echo: the identifier and sequence number.
    public var identifier: UInt16 { message.bigEndianUInt16(at: 4) }
    public var sequence: UInt16 { message.bigEndianUInt16(at: 6) }
    /// The bytes after the 8-byte header.
    public var payload: ArraySlice<UInt8> { message.relative(Self.minimumSize..<message.count) }
    /// Whether the message sums to 0xffff with its checksum included.
    public var isChecksumValid: Bool { InternetChecksum.sum(message) == 0xffff }

    /// A whole message with its checksum: `type`, `code`, the four type-specific bytes
    /// `rest`, then `payload`.
    public static func encode(type: MessageType, code: UInt8 = 0, rest: UInt32 = 0, payload: some Collection<UInt8>) -> [UInt8] {
        var bytes: [UInt8] = [type.rawValue, code, 0, 0]
        bytes.reserveCapacity(minimumSize + payload.count)
        bytes.appendBigEndian(UInt16(rest >> 16))
        bytes.appendBigEndian(UInt16(truncatingIfNeeded: rest))
        bytes += payload
        let sum = InternetChecksum.checksum(bytes)
        bytes[2] = UInt8(sum >> 8)
        bytes[3] = UInt8(truncatingIfNeeded: sum)
        return bytes
    }
}

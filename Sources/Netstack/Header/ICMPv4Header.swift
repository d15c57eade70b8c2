import LinuxABI

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
    /// Fragmentation needed: the next hop's MTU (RFC 1191; 0 from a router that predates it).
    public var nextHopMTU: UInt16 { message.bigEndianUInt16(at: 6) }
    /// The bytes after the 8-byte header.
    public var payload: ArraySlice<UInt8> { message.relative(Self.minimumSize..<message.count) }
    /// Whether the message sums to 0xffff with its checksum included.
    public var isChecksumValid: Bool { InternetChecksum.sum(message) == 0xffff }

    /// What a destination-unreachable `code` means to a socket, as Linux's icmp_err_convert:
    /// its errno, and whether it is a hard error (one that ends a connect, or reaches a
    /// connected UDP socket); nil for a code beyond the table.
    public static func unreachableError(code: UInt8) -> (errno: LinuxErrno, hard: Bool)? {
        let table: [(LinuxErrno, Bool)] = [
            (.ENETUNREACH, false), (.EHOSTUNREACH, false), (.ENOPROTOOPT, true), (.ECONNREFUSED, true), (.EMSGSIZE, false),
            (.EOPNOTSUPP, false), (.ENETUNREACH, true), (.EHOSTDOWN, true), (.ENONET, true), (.ENETUNREACH, true),
            (.EHOSTUNREACH, true), (.ENETUNREACH, false), (.EHOSTUNREACH, false), (.EHOSTUNREACH, true), (.EHOSTUNREACH, true),
            (.EHOSTUNREACH, true),
        ]
        return Int(code) < table.count ? table[Int(code)] : nil
    }

    /// The packet an error message quotes (its IP header and the first 8 bytes of its
    /// payload, RFC 792), or nil when the quote is too short or not IPv4.
    public var quoted: QuotedPacket? { QuotedPacket(payload) }

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

/// The start of a packet quoted by an ICMP error: its IPv4 header (checked for version and
/// length, not for its total length, which the quote cuts) and the first 8 bytes of its
/// payload, enough for the ports of TCP and UDP and TCP's sequence number.
public struct QuotedPacket: Sendable {
    public let `protocol`: IPProtocolNumber
    public let source: IPv4Address
    public let destination: IPv4Address
    /// The first 8 bytes of the transport header.
    private let transport: ArraySlice<UInt8>

    public init?(_ bytes: ArraySlice<UInt8>) {
        guard bytes.count >= IPv4Header.minimumSize, bytes.byte(at: 0) >> 4 == 4 else { return nil }
        let headerLength = Int(bytes.byte(at: 0) & 0x0f) * 4
        guard headerLength >= IPv4Header.minimumSize, bytes.count >= headerLength + 8 else { return nil }
        `protocol` = IPProtocolNumber(rawValue: bytes.byte(at: 9))
        source = IPv4Address(rawValue: bytes.bigEndianUInt32(at: 12))
        destination = IPv4Address(rawValue: bytes.bigEndianUInt32(at: 16))
        transport = bytes.relative(headerLength..<(headerLength + 8))
    }

    public var sourcePort: UInt16 { transport.bigEndianUInt16(at: 0) }
    public var destinationPort: UInt16 { transport.bigEndianUInt16(at: 2) }
    /// TCP: the quoted segment's sequence number.
    public var sequenceNumber: UInt32 { transport.bigEndianUInt32(at: 4) }
}

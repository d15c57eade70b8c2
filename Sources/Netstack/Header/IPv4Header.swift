/// An IP protocol number: the protocol of an IPv4 payload (IANA "Assigned Internet Protocol
/// Numbers").
public struct IPProtocolNumber: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let icmp = IPProtocolNumber(rawValue: 1)
    public static let tcp = IPProtocolNumber(rawValue: 6)
    public static let udp = IPProtocolNumber(rawValue: 17)
}

/// A checked view of an IPv4 header at named offsets (RFC 791; gVisor `header.IPv4`).
///
/// The init accepts a packet only if the version is 4, the IHL is at least 5 (20 bytes), the
/// header fits in the buffer, and the total length covers the header and fits in the buffer,
/// the checks Linux's `ip_rcv_core` makes before looking further. Bytes past the total length
/// (Ethernet padding of short frames) are not part of `payload`. The checksum is not checked
/// by the init; `isChecksumValid` says whether it holds.
public struct IPv4Header: Sendable {
    /// Size of a header without options.
    public static let minimumSize = 20

    private static let versionIHLOffset = 0
    private static let tosOffset = 1
    private static let totalLengthOffset = 2
    private static let identificationOffset = 4
    private static let flagsFragmentOffset = 6
    private static let ttlOffset = 8
    private static let protocolOffset = 9
    private static let checksumOffset = 10
    private static let sourceOffset = 12
    private static let destinationOffset = 16

    /// The packet, header included, cut at its total length.
    public let packet: ArraySlice<UInt8>

    /// A view over `bytes`, or nil if they do not start with a well-formed IPv4 header.
    public init?(_ bytes: ArraySlice<UInt8>) {
        guard bytes.count >= Self.minimumSize else { return nil }
        let versionIHL = bytes.byte(at: Self.versionIHLOffset)
        let headerLength = Int(versionIHL & 0x0f) * 4
        let totalLength = Int(bytes.bigEndianUInt16(at: Self.totalLengthOffset))
        guard versionIHL >> 4 == 4, headerLength >= Self.minimumSize, headerLength <= bytes.count,
            totalLength >= headerLength, totalLength <= bytes.count
        else { return nil }
        packet = bytes.relative(0..<totalLength)
    }

    /// A view over `bytes`, or nil if they do not start with a well-formed IPv4 header.
    public init?(_ bytes: [UInt8]) {
        self.init(bytes[...])
    }

    /// Always 4.
    public var version: UInt8 { packet.byte(at: Self.versionIHLOffset) >> 4 }
    /// Header length in bytes (IHL × 4), 20 to 60.
    public var headerLength: Int { Int(packet.byte(at: Self.versionIHLOffset) & 0x0f) * 4 }
    /// Type of service (DSCP and ECN).
    public var tos: UInt8 { packet.byte(at: Self.tosOffset) }
    /// Header plus payload, in bytes.
    public var totalLength: UInt16 { packet.bigEndianUInt16(at: Self.totalLengthOffset) }
    public var identification: UInt16 { packet.bigEndianUInt16(at: Self.identificationOffset) }
    /// DF: the packet must not be fragmented.
    public var dontFragment: Bool { packet.byte(at: Self.flagsFragmentOffset) & 0x40 != 0 }
    /// MF: more fragments follow.
    public var moreFragments: Bool { packet.byte(at: Self.flagsFragmentOffset) & 0x20 != 0 }
    /// Offset of this fragment's data in the original payload, in bytes (the field × 8).
    public var fragmentOffset: Int { Int(packet.bigEndianUInt16(at: Self.flagsFragmentOffset) & 0x1fff) * 8 }
    public var ttl: UInt8 { packet.byte(at: Self.ttlOffset) }
    public var `protocol`: IPProtocolNumber { IPProtocolNumber(rawValue: packet.byte(at: Self.protocolOffset)) }
    /// The header checksum field as sent.
    public var checksum: UInt16 { packet.bigEndianUInt16(at: Self.checksumOffset) }
    public var source: IPv4Address { IPv4Address(rawValue: packet.bigEndianUInt32(at: Self.sourceOffset)) }
    public var destination: IPv4Address { IPv4Address(rawValue: packet.bigEndianUInt32(at: Self.destinationOffset)) }

    /// The header bytes, options included.
    public var header: ArraySlice<UInt8> { packet.relative(0..<headerLength) }
    /// The options (empty when IHL is 5).
    public var options: ArraySlice<UInt8> { packet.relative(Self.minimumSize..<headerLength) }
    /// The transport-layer bytes, up to the total length.
    public var payload: ArraySlice<UInt8> { packet.relative(headerLength..<packet.count) }

    /// Whether the header sums to 0xffff with its checksum field included (RFC 1071).
    public var isChecksumValid: Bool { InternetChecksum.sum(header) == 0xffff }

    /// A 20-byte header (no options) with its checksum filled in, for a packet of
    /// `payloadLength` bytes of `protocol` from `source` to `destination`: by default DF and
    /// no fragmentation, or a fragment at `fragmentOffset` (a multiple of 8) with MF when
    /// `moreFragments`. The payload must fit in the 16-bit total length.
    public static func encode(
        source: IPv4Address, destination: IPv4Address, protocol: IPProtocolNumber, payloadLength: Int,
        ttl: UInt8 = 64, identification: UInt16 = 0, tos: UInt8 = 0, dontFragment: Bool = true, fragmentOffset: Int = 0,
        moreFragments: Bool = false
    ) -> [UInt8] {
        precondition(payloadLength >= 0 && payloadLength <= Int(UInt16.max) - minimumSize, "IPv4 payload too long")
        precondition(fragmentOffset % 8 == 0 && fragmentOffset / 8 <= 0x1fff, "fragment offsets are multiples of 8 below 64 KiB")
        var bytes: [UInt8] = [0x45, tos]
        bytes.reserveCapacity(minimumSize)
        bytes.appendBigEndian(UInt16(minimumSize + payloadLength))
        bytes.appendBigEndian(identification)
        bytes.appendBigEndian((dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0) | UInt16(fragmentOffset / 8))
        bytes += [ttl, `protocol`.rawValue, 0, 0]
        bytes += source.bytes + destination.bytes
        let sum = InternetChecksum.checksum(bytes)
        bytes[checksumOffset] = UInt8(sum >> 8)
        bytes[checksumOffset + 1] = UInt8(truncatingIfNeeded: sum)
        return bytes
    }
}

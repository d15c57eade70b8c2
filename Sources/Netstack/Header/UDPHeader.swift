/// A checked view of a UDP datagram (RFC 768; gVisor `header.UDP`): ports, length, checksum
/// over the IPv4 pseudo-header, the header and the data. The init requires the length field
/// to cover the header and fit in the buffer; bytes past it are not part of `payload`.
public struct UDPHeader: Sendable {
    public static let size = 8

    /// The datagram, cut at its length field.
    public let datagram: ArraySlice<UInt8>

    /// A view over `bytes`, or nil if they do not hold a well-formed datagram.
    public init?(_ bytes: ArraySlice<UInt8>) {
        guard bytes.count >= Self.size else { return nil }
        let length = Int(bytes.bigEndianUInt16(at: 4))
        guard length >= Self.size, length <= bytes.count else { return nil }
        datagram = bytes.relative(0..<length)
    }

    public var sourcePort: UInt16 { datagram.bigEndianUInt16(at: 0) }
    public var destinationPort: UInt16 { datagram.bigEndianUInt16(at: 2) }
    public var checksum: UInt16 { datagram.bigEndianUInt16(at: 6) }
    public var payload: ArraySlice<UInt8> { datagram.relative(Self.size..<datagram.count) }

    /// Whether the checksum holds for a datagram from `source` to `destination`; a zero
    /// checksum means the sender computed none (allowed over IPv4).
    public func isChecksumValid(source: IPv4Address, destination: IPv4Address) -> Bool {
        checksum == 0 || TransportChecksum.sum(source: source, destination: destination, protocol: .udp, segment: datagram) == 0xffff
    }

    /// A whole datagram with its checksum.
    public static func encode(
        sourcePort: UInt16, destinationPort: UInt16, payload: some Collection<UInt8>, source: IPv4Address, destination: IPv4Address
    ) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size + payload.count)
        bytes.appendBigEndian(sourcePort)
        bytes.appendBigEndian(destinationPort)
        bytes.appendBigEndian(UInt16(size + payload.count))
        bytes.appendBigEndian(UInt16(0))
        bytes += payload
        var sum = ~TransportChecksum.sum(source: source, destination: destination, protocol: .udp, segment: bytes[...])
        if sum == 0 { sum = 0xffff }  // 0 means "no checksum": send its other form
        bytes[6] = UInt8(sum >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: sum)
        return bytes
    }
}

/// The checksum of TCP and UDP over IPv4: the pseudo-header (source, destination, zero,
/// protocol, length) followed by the segment (RFC 793 §3.1, RFC 768).
public enum TransportChecksum {
    /// The folded sum of the pseudo-header and `segment` (0xffff when a received segment's
    /// checksum holds).
    public static func sum(source: IPv4Address, destination: IPv4Address, protocol: IPProtocolNumber, segment: ArraySlice<UInt8>) -> UInt16 {
        var accumulator = InternetChecksum(initial: pseudoHeaderSum(source: source, destination: destination, protocol: `protocol`, length: segment.count))
        accumulator.add(segment)
        return accumulator.sum
    }

    /// The folded sum of the pseudo-header alone, for a segment of `length` bytes: what the
    /// checksum field holds when a link is to finish the checksum (Linux's CHECKSUM_PARTIAL).
    public static func pseudoHeaderSum(source: IPv4Address, destination: IPv4Address, protocol: IPProtocolNumber, length: Int) -> UInt16 {
        let addresses = (source.rawValue >> 16) + (source.rawValue & 0xffff) + (destination.rawValue >> 16) + (destination.rawValue & 0xffff)
        var sum = addresses + UInt32(`protocol`.rawValue) + UInt32(length & 0xffff)
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        return UInt16(sum)
    }
}

/// An EtherType: the protocol of an Ethernet frame's payload (IEEE 802.3 type field).
public struct EtherType: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let ipv4 = EtherType(rawValue: 0x0800)
    public static let arp = EtherType(rawValue: 0x0806)
    public static let ipv6 = EtherType(rawValue: 0x86dd)
}

/// A checked view of an Ethernet II frame header at named offsets (gVisor `header.Ethernet`):
/// destination MAC at 0, source MAC at 6, EtherType at 12, payload from 14. No 802.1Q tag;
/// the frame check sequence is not part of what AF_PACKET delivers.
public struct EthernetHeader: Sendable {
    /// Size of the header on the wire.
    public static let size = 14

    private static let destinationOffset = 0
    private static let sourceOffset = 6
    private static let etherTypeOffset = 12

    /// The whole frame, header included.
    public let frame: ArraySlice<UInt8>

    /// A view over `frame`, or nil if it is shorter than a header.
    public init?(_ frame: ArraySlice<UInt8>) {
        guard frame.count >= Self.size else { return nil }
        self.frame = frame
    }

    /// A view over `frame`, or nil if it is shorter than a header.
    public init?(_ frame: [UInt8]) {
        self.init(frame[...])
    }

    public var destination: MACAddress { mac(at: Self.destinationOffset) }
    public var source: MACAddress { mac(at: Self.sourceOffset) }
    public var etherType: EtherType { EtherType(rawValue: frame.bigEndianUInt16(at: Self.etherTypeOffset)) }

    /// The bytes after the header (the network-layer packet).
    public var payload: ArraySlice<UInt8> { frame.dropFirst(Self.size) }

    private func mac(at offset: Int) -> MACAddress {
        // Six bytes are always present: init checked the length.
        guard let address = MACAddress(frame.relative(offset..<(offset + 6))) else {
            preconditionFailure("six bytes make a MAC address")
        }
        return address
    }

    /// The 14 header bytes for a frame from `source` to `destination` carrying `etherType`.
    public static func encode(destination: MACAddress, source: MACAddress, etherType: EtherType) -> [UInt8] {
        var bytes = destination.bytes + source.bytes
        bytes.appendBigEndian(etherType.rawValue)
        return bytes
    }
}

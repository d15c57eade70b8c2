/// A checked view of an ARP packet for IPv4 over Ethernet (RFC 826; gVisor `header.ARP`):
/// hardware type 1, protocol type 0x0800, address lengths 6 and 4, then the operation and the
/// sender's and target's hardware and protocol addresses. Anything else is refused.
public struct ARPHeader: Sendable {
    /// Size of an ARP packet for IPv4 over Ethernet.
    public static let size = 28

    /// ARP operations.
    public enum Operation: UInt16, Sendable {
        case request = 1
        case reply = 2
    }

    public let operation: Operation
    public let senderHardware: MACAddress
    public let senderProtocol: IPv4Address
    public let targetHardware: MACAddress
    public let targetProtocol: IPv4Address

    /// A view over `bytes`, or nil if they are not an Ethernet/IPv4 request or reply.
    public init?(_ bytes: ArraySlice<UInt8>) {
        guard bytes.count >= Self.size, bytes.bigEndianUInt16(at: 0) == 1, bytes.bigEndianUInt16(at: 2) == EtherType.ipv4.rawValue,
            bytes.byte(at: 4) == 6, bytes.byte(at: 5) == 4, let operation = Operation(rawValue: bytes.bigEndianUInt16(at: 6)),
            let senderHardware = MACAddress(bytes.relative(8..<14)), let targetHardware = MACAddress(bytes.relative(18..<24))
        else { return nil }
        self.operation = operation
        self.senderHardware = senderHardware
        self.senderProtocol = IPv4Address(rawValue: bytes.bigEndianUInt32(at: 14))
        self.targetHardware = targetHardware
        self.targetProtocol = IPv4Address(rawValue: bytes.bigEndianUInt32(at: 24))
    }

    /// The 28 bytes of an ARP packet.
    public static func encode(
        operation: Operation, senderHardware: MACAddress, senderProtocol: IPv4Address, targetHardware: MACAddress,
        targetProtocol: IPv4Address
    ) -> [UInt8] {
        var bytes: [UInt8] = [0, 1, 0x08, 0x00, 6, 4]
        bytes.reserveCapacity(size)
        bytes.appendBigEndian(operation.rawValue)
        bytes += senderHardware.bytes + senderProtocol.bytes + targetHardware.bytes + targetProtocol.bytes
        return bytes
    }
}

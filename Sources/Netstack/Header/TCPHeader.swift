/// TCP header flags (RFC 9293 §3.1).
public struct TCPFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
    public static let urg = TCPFlags(rawValue: 0x20)

    public var description: String {
        let names: [(TCPFlags, String)] = [(.syn, "S"), (.fin, "F"), (.rst, "R"), (.psh, "P"), (.ack, "."), (.urg, "U")]
        return names.filter { contains($0.0) }.map(\.1).joined()
    }
}

/// The TCP options the stack reads and sends (RFC 9293 §3.2; RFC 7323 for window scale and
/// timestamps; RFC 2018 for SACK).
public struct TCPOptions: Equatable, Sendable {
    /// Maximum segment size (SYN only).
    public var maximumSegmentSize: UInt16?
    /// Window scale shift (SYN only), at most 14.
    public var windowScale: UInt8?
    public var sackPermitted = false
    /// Timestamp value and echo reply.
    public var timestamp: (value: UInt32, echo: UInt32)?
    /// SACK blocks (RFC 2018 §3): ranges [left, right) received beyond the acknowledged
    /// data, at most four.
    public var sackBlocks: [SACKBlock] = []

    public struct SACKBlock: Equatable, Sendable {
        public var left: UInt32
        public var right: UInt32
        public init(left: UInt32, right: UInt32) {
            self.left = left
            self.right = right
        }
    }

    /// The most SACK blocks an option carries (2 + 8 × 4 = 34 of the 40 option bytes).
    public static let maximumSACKBlocks = 4
    /// The most option bytes a header holds.
    public static let maximumLength = 40

    public init() {}

    public static func == (a: TCPOptions, b: TCPOptions) -> Bool {
        a.maximumSegmentSize == b.maximumSegmentSize && a.windowScale == b.windowScale && a.sackPermitted == b.sackPermitted
            && a.timestamp?.value == b.timestamp?.value && a.timestamp?.echo == b.timestamp?.echo && a.sackBlocks == b.sackBlocks
    }

    /// Parses the option bytes; nil if an option runs past the end or has a bad length (Linux
    /// then ignores the options: here the segment is dropped as malformed).
    init?(parsing bytes: ArraySlice<UInt8>) {
        var index = 0
        while index < bytes.count {
            let kind = bytes.byte(at: index)
            if kind == 0 { break }  // end of option list
            if kind == 1 {  // no-operation
                index += 1
                continue
            }
            guard index + 1 < bytes.count else { return nil }
            let length = Int(bytes.byte(at: index + 1))
            guard length >= 2, index + length <= bytes.count else { return nil }
            let body = bytes.relative((index + 2)..<(index + length))
            switch (kind, length) {
            case (2, 4): maximumSegmentSize = body.bigEndianUInt16(at: 0)
            case (3, 3): windowScale = min(body.byte(at: 0), 14)
            case (4, 2): sackPermitted = true
            case (8, 10): timestamp = (body.bigEndianUInt32(at: 0), body.bigEndianUInt32(at: 4))
            case (5, let length) where (length - 2) % 8 == 0 && (1...Self.maximumSACKBlocks).contains((length - 2) / 8):
                sackBlocks = stride(from: 0, to: length - 2, by: 8).map {
                    SACKBlock(left: body.bigEndianUInt32(at: $0), right: body.bigEndianUInt32(at: $0 + 4))
                }
            case (2, _), (3, _), (4, _), (5, _), (8, _): return nil
            default: break  // unknown options are skipped
            }
            index += length
        }
    }

    /// The option bytes, padded with no-operations to a multiple of four.
    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        if let maximumSegmentSize {
            bytes += [2, 4]
            bytes.appendBigEndian(maximumSegmentSize)
        }
        if let windowScale { bytes += [1, 3, 3, windowScale] }
        if sackPermitted { bytes += [1, 1, 4, 2] }
        if let timestamp {
            bytes += [1, 1, 8, 10]
            bytes.appendBigEndian(timestamp.value)
            bytes.appendBigEndian(timestamp.echo)
        }
        if !sackBlocks.isEmpty {
            // Beside timestamps (12 bytes with padding) only three fit.
            let blocks = sackBlocks.prefix(timestamp == nil ? Self.maximumSACKBlocks : 3)
            bytes += [1, 1, 5, UInt8(2 + 8 * blocks.count)]
            for block in blocks {
                bytes.appendBigEndian(block.left)
                bytes.appendBigEndian(block.right)
            }
        }
        while bytes.count % 4 != 0 { bytes.append(1) }
        return bytes
    }
}

/// A checked view of a TCP segment (RFC 9293 §3.1; gVisor `header.TCP`): ports, sequence
/// and acknowledgment numbers, data offset, flags, window, checksum, urgent pointer,
/// options. The init requires the data offset to be at least 5 words and to fit in the
/// buffer, and the options to parse.
public struct TCPHeader: Sendable {
    public static let minimumSize = 20

    /// The whole segment, header and data.
    public let segment: ArraySlice<UInt8>
    public let options: TCPOptions

    /// A view over `bytes` (the IPv4 payload), or nil if they do not hold a well-formed header.
    public init?(_ bytes: ArraySlice<UInt8>) {
        guard bytes.count >= Self.minimumSize else { return nil }
        let headerLength = Int(bytes.byte(at: 12) >> 4) * 4
        guard headerLength >= Self.minimumSize, headerLength <= bytes.count,
            let options = TCPOptions(parsing: bytes.relative(Self.minimumSize..<headerLength))
        else { return nil }
        segment = bytes
        self.options = options
    }

    public var sourcePort: UInt16 { segment.bigEndianUInt16(at: 0) }
    public var destinationPort: UInt16 { segment.bigEndianUInt16(at: 2) }
    public var sequenceNumber: UInt32 { segment.bigEndianUInt32(at: 4) }
    public var acknowledgmentNumber: UInt32 { segment.bigEndianUInt32(at: 8) }
    public var headerLength: Int { Int(segment.byte(at: 12) >> 4) * 4 }
    public var flags: TCPFlags { TCPFlags(rawValue: segment.byte(at: 13) & 0x3f) }
    public var window: UInt16 { segment.bigEndianUInt16(at: 14) }
    public var checksum: UInt16 { segment.bigEndianUInt16(at: 16) }
    public var payload: ArraySlice<UInt8> { segment.relative(headerLength..<segment.count) }

    /// Whether the checksum holds for a segment from `source` to `destination`.
    public func isChecksumValid(source: IPv4Address, destination: IPv4Address) -> Bool {
        TransportChecksum.sum(source: source, destination: destination, protocol: .tcp, segment: segment) == 0xffff
    }

    /// A whole segment with its checksum; with `checksumPending`, the checksum field holds
    /// only the pseudo-header's sum, for a link that finishes it (checksum offload).
    public static func encode(
        sourcePort: UInt16, destinationPort: UInt16, sequenceNumber: UInt32, acknowledgmentNumber: UInt32, flags: TCPFlags,
        window: UInt16, options: TCPOptions = TCPOptions(), payload: some Collection<UInt8>, source: IPv4Address,
        destination: IPv4Address, checksumPending: Bool = false
    ) -> [UInt8] {
        let optionBytes = options.encoded
        let headerLength = minimumSize + optionBytes.count
        var bytes: [UInt8] = []
        bytes.reserveCapacity(headerLength + payload.count)
        bytes.appendBigEndian(sourcePort)
        bytes.appendBigEndian(destinationPort)
        bytes.appendBigEndian(sequenceNumber)
        bytes.appendBigEndian(acknowledgmentNumber)
        bytes += [UInt8(headerLength / 4) << 4, flags.rawValue]
        bytes.appendBigEndian(window)
        bytes += [0, 0, 0, 0]  // checksum, urgent pointer
        bytes += optionBytes
        bytes += payload
        let field =
            checksumPending
            ? TransportChecksum.pseudoHeaderSum(source: source, destination: destination, protocol: .tcp, length: bytes.count)
            : ~TransportChecksum.sum(source: source, destination: destination, protocol: .tcp, segment: bytes[...])
        bytes.storeBigEndian(field, at: 16)
        return bytes
    }
}

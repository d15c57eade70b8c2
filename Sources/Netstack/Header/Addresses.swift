/// A 48-bit Ethernet (IEEE 802) MAC address, as it sits in a frame.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    /// The six bytes in wire order.
    public let bytes: [UInt8]

    /// An address from exactly six bytes, or nil.
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == 6 else { return nil }
        self.bytes = Array(bytes)
    }

    /// ff:ff:ff:ff:ff:ff.
    public static let broadcast = MACAddress(unchecked: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])

    private init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// Whether the group bit (least significant bit of the first byte) is set.
    public var isMulticast: Bool { bytes[0] & 1 == 1 }

    /// "02:42:ac:11:00:02".
    public var description: String {
        bytes.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: ":")
    }
}

/// An IPv4 address, held in host order; on the wire it is big-endian.
public struct IPv4Address: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// 192.168.0.1 as `IPv4Address(192, 168, 0, 1)`.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// The four bytes in wire order.
    public var bytes: [UInt8] {
        [UInt8(rawValue >> 24), UInt8(truncatingIfNeeded: rawValue >> 16),
         UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue)]
    }

    /// Dotted quad: "192.168.0.1".
    public var description: String { bytes.map(String.init).joined(separator: ".") }

    /// An address from a dotted quad ("198.18.0.1"), or nil.
    public init?(parsing text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let byte = UInt8(part) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        rawValue = value
    }
}

extension ArraySlice<UInt8> {
    /// The big-endian 16-bit value `offset` bytes from the start. The caller has checked the
    /// length (a view's init does), so an out-of-range offset is our bug and traps.
    @inline(__always)
    func bigEndianUInt16(at offset: Int) -> UInt16 {
        UInt16(self[startIndex + offset]) << 8 | UInt16(self[startIndex + offset + 1])
    }

    /// The big-endian 32-bit value `offset` bytes from the start (see `bigEndianUInt16`).
    @inline(__always)
    func bigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(bigEndianUInt16(at: offset)) << 16 | UInt32(bigEndianUInt16(at: offset + 2))
    }

    /// The byte `offset` bytes from the start (see `bigEndianUInt16`).
    @inline(__always)
    func byte(at offset: Int) -> UInt8 { self[startIndex + offset] }

    /// The bytes `range` relative to the start (see `bigEndianUInt16`).
    @inline(__always)
    func relative(_ range: Range<Int>) -> ArraySlice<UInt8> {
        self[(startIndex + range.lowerBound)..<(startIndex + range.upperBound)]
    }
}

extension Array<UInt8> {
    mutating func appendBigEndian(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    mutating func appendBigEndian(_ value: UInt32) {
        appendBigEndian(UInt16(value >> 16))
        appendBigEndian(UInt16(truncatingIfNeeded: value))
    }

    /// Overwrites the two bytes at `offset` with `value`, big-endian.
    mutating func storeBigEndian(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(value >> 8)
        self[offset + 1] = UInt8(truncatingIfNeeded: value)
    }

    /// Overwrites the four bytes at `offset` with `value`, big-endian.
    mutating func storeBigEndian(_ value: UInt32, at offset: Int) {
        storeBigEndian(UInt16(value >> 16), at: offset)
        storeBigEndian(UInt16(truncatingIfNeeded: value), at: offset + 2)
    }
}

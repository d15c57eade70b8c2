/// An append-only little-endian writer that builds wire messages (lisafs payloads, headers).
///
/// The writer only ever sees our own values, so it has no failure path; `setInteger(_:at:)`
/// back-patches a length field and treats an offset outside the written bytes as our bug.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty writer with room for `capacity` bytes before it reallocates.
    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// The number of bytes written.
    public var count: Int { bytes.count }

    /// Appends `value` in little-endian byte order.
    public mutating func writeInteger<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        for i in 0..<size {
            bytes.append(UInt8(truncatingIfNeeded: value >> (8 * i)))
        }
    }

    /// Appends raw bytes.
    public mutating func writeBytes(_ data: some Sequence<UInt8>) {
        bytes.append(contentsOf: data)
    }

    /// Appends `count` zero bytes (padding that keeps a struct packed as the peer lays it out).
    public mutating func writeZeros(_ count: Int) {
        bytes.append(contentsOf: repeatElement(0, count: count))
    }

    /// Overwrites the integer at `offset`, which must lie inside the bytes already written.
    public mutating func setInteger<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        let size = MemoryLayout<T>.size
        precondition(offset >= 0 && offset <= bytes.count - size, "setInteger outside the written bytes")
        for i in 0..<size {
            bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i))
        }
    }
}

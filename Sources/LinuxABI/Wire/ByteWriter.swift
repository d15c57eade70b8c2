/// An append-only little-endian writer that builds wire messages (lisafs payloads, headers).
///
/// The writer only ever sees our own values, so it has no failure path; `setInteger(_:at:)`
/// back-patches a length field and treats an offset outside the written bytes as our bug.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    @inlinable public var bytes: [UInt8] { storage }
    @usableFromInline var storage: [UInt8] = []

    /// An empty writer with room for `capacity` bytes before it reallocates.
    public init(capacity: Int = 0) {
        storage.reserveCapacity(capacity)
    }

    /// The number of bytes written.
    @inlinable public var count: Int { storage.count }

    /// Appends `value` in little-endian byte order.
    @inlinable
    public mutating func writeInteger<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        for i in 0..<size {
            storage.append(UInt8(truncatingIfNeeded: value >> (8 * i)))
        }
    }

    /// Appends raw bytes.
    @inlinable
    public mutating func writeBytes(_ data: some Sequence<UInt8>) {
        storage.append(contentsOf: data)
    }

    /// Appends `count` zero bytes (padding that keeps a struct packed as the peer lays it out).
    @inlinable
    public mutating func writeZeros(_ count: Int) {
        storage.append(contentsOf: repeatElement(0, count: count))
    }

    /// Overwrites the integer at `offset`, which must lie inside the bytes already written.
    @inlinable
    public mutating func setInteger<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        let size = MemoryLayout<T>.size
        precondition(offset >= 0 && offset <= bytes.count - size, "setInteger outside the written bytes")
        for i in 0..<size {
            storage[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i))
        }
    }
}

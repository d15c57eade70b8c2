/// A bounds-checked reader over untrusted bytes: lisafs payloads, ELF files, guest memory copies.
///
/// Every read checks the remaining length first and returns nil instead of trapping, so a short
/// or lying input can never crash the reader's process. Integers are little-endian (the byte
/// order of lisafs on x86-64 and of ELF64 `ELFDATA2LSB`). Sequential reads advance
/// `readerIndex`; the `at:` variants read at an absolute offset and leave it unchanged.
public struct ByteReader: Sendable {
    /// The bytes being read.
    public let bytes: [UInt8]
    /// The offset of the next sequential read.
    @inlinable public var readerIndex: Int { nextIndex }
    @usableFromInline var nextIndex = 0

    /// A reader over `bytes`, starting at offset 0.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// A reader over a copy of `buffer` (a flipcall packet window, a socket buffer): the reader
    /// keeps no pointer into memory a peer may still be writing.
    public init(copying buffer: UnsafeRawBufferPointer) {
        self.bytes = Array(buffer)
    }

    /// The number of bytes left for sequential reads.
    @inlinable public var readableBytes: Int { bytes.count - readerIndex }

    /// Whether every byte has been read.
    @inlinable public var isAtEnd: Bool { readerIndex == bytes.count }

    /// Whether `count` bytes starting at `offset` lie inside `bytes`, computed without overflow.
    @usableFromInline @inline(__always)
    func contains(offset: Int, count: Int) -> Bool {
        offset >= 0 && count >= 0 && offset <= bytes.count && count <= bytes.count - offset
    }

    /// The little-endian integer at `offset`, or nil if it does not fit.
    @inlinable
    public func integer<T: FixedWidthInteger>(at offset: Int, as type: T.Type = T.self) -> T? {
        let size = MemoryLayout<T>.size
        guard contains(offset: offset, count: size) else { return nil }
        var value: T = 0
        for i in 0..<size {
            value |= T(truncatingIfNeeded: bytes[offset + i]) << (8 * i)
        }
        return value
    }

    /// The `count` bytes at `offset`, or nil if they do not fit.
    @inlinable
    public func bytes(at offset: Int, count: Int) -> ArraySlice<UInt8>? {
        guard contains(offset: offset, count: count) else { return nil }
        return bytes[offset..<(offset + count)]
    }

    /// Reads the next little-endian integer, or returns nil (and consumes nothing) if too few
    /// bytes remain.
    @inlinable
    public mutating func readInteger<T: FixedWidthInteger>(as type: T.Type = T.self) -> T? {
        guard let value = integer(at: readerIndex, as: T.self) else { return nil }
        nextIndex += MemoryLayout<T>.size
        return value
    }

    /// Reads the next `count` bytes, or returns nil (and consumes nothing) if too few remain.
    @inlinable
    public mutating func readBytes(count: Int) -> ArraySlice<UInt8>? {
        guard let slice = bytes(at: readerIndex, count: count) else { return nil }
        nextIndex += count
        return slice
    }

    /// Skips `count` bytes; returns false (and consumes nothing) if too few remain.
    @inlinable @discardableResult
    public mutating func skip(_ count: Int) -> Bool {
        guard contains(offset: readerIndex, count: count) else { return false }
        nextIndex += count
        return true
    }
}

import LinuxABI

// The field codecs every lisafs message is built from. Readers throw `LisafsDecodeError` on
// short or inconsistent input; writers only ever see our own values.

extension ByteReader {
    /// Reads the next little-endian integer or throws `truncated`.
    public mutating func require<T: FixedWidthInteger>(_ type: T.Type = T.self) throws(LisafsDecodeError) -> T {
        guard let value = readInteger(as: T.self) else {
            throw .truncated(needed: MemoryLayout<T>.size, available: readableBytes)
        }
        return value
    }

    /// Skips `count` padding bytes (their value is ignored, as gVisor ignores it) or throws
    /// `truncated`.
    mutating func requirePadding(_ count: Int) throws(LisafsDecodeError) {
        guard skip(count) else { throw .truncated(needed: count, available: readableBytes) }
    }

    /// Reads an array or string length prefix of type `T` and checks that `count × elementSize`
    /// bytes remain, so a lying count cannot make the caller allocate. For elements of varying
    /// size, `elementSize` is the smallest one can be.
    public mutating func requireCount<T: FixedWidthInteger & UnsignedInteger>(
        _ type: T.Type, elementSize: Int
    ) throws(LisafsDecodeError) -> Int {
        precondition(elementSize > 0, "an element has at least one byte")
        let count: T = try require()
        let wide = UInt64(count)
        let (total, overflow) = wide.multipliedReportingOverflow(by: UInt64(elementSize))
        guard !overflow, total <= UInt64(readableBytes) else {
            throw .countExceedsPayload(count: wide, elementSize: elementSize, available: readableBytes)
        }
        return Int(wide)  // ≤ readableBytes, so it fits
    }

    /// Reads `count` bytes that `requireCount` has already checked.
    mutating func requireBytes(count: Int) throws(LisafsDecodeError) -> [UInt8] {
        guard let slice = readBytes(count: count) else {
            throw .truncated(needed: count, available: readableBytes)
        }
        return Array(slice)
    }

    /// Reads a `SizedString` (uint16 length, then the bytes) of at most `limit` bytes. With
    /// `cString`, the string is one the host reads as a C string (a name, a path), so a NUL
    /// byte in it is rejected.
    mutating func requireSizedString(limit: Int = SizedString.maxLength, cString: Bool) throws(LisafsDecodeError) -> SizedString {
        let length = try requireCount(UInt16.self, elementSize: 1)
        guard length <= limit else { throw .stringTooLong(length: length, limit: limit) }
        let bytes = try requireBytes(count: length)
        if cString, let nul = bytes.firstIndex(of: 0) { throw .embeddedNUL(offset: nul) }
        return SizedString(unchecked: bytes)
    }

    /// A path component: at most NAME_MAX bytes, no NUL. `/`, `.` and `..` pass here; the
    /// server refuses them.
    mutating func requireName() throws(LisafsDecodeError) -> SizedString {
        try requireSizedString(limit: Lisafs.maxNameLength, cString: true)
    }

    /// A `StringArray`: a uint16 count, then that many `SizedString`s, each checked as `element`
    /// reads it. The count is checked against the smallest possible string (2 bytes) first.
    mutating func requireStringArray(
        _ element: (inout ByteReader) throws(LisafsDecodeError) -> SizedString
    ) throws(LisafsDecodeError) -> [SizedString] {
        let count = try requireCount(UInt16.self, elementSize: 2)
        var strings: [SizedString] = []
        strings.reserveCapacity(count)
        for _ in 0..<count { strings.append(try element(&self)) }
        return strings
    }

    /// An array of fixed-size wire structs after a uint16 count.
    mutating func requireArray<T: LisafsWireStruct>(of type: T.Type) throws(LisafsDecodeError) -> [T] {
        let count = try requireCount(UInt16.self, elementSize: T.wireSize)
        var items: [T] = []
        items.reserveCapacity(count)
        for _ in 0..<count { items.append(try T(decoding: &self)) }
        return items
    }

    /// An FD id.
    mutating func requireFD() throws(LisafsDecodeError) -> LisafsFDID {
        LisafsFDID(try require(UInt64.self))
    }

    /// A `FdArray`: a uint16 count, then that many 8-byte FD ids.
    mutating func requireFDArray() throws(LisafsDecodeError) -> [LisafsFDID] {
        let count = try requireCount(UInt16.self, elementSize: 8)
        var fds: [LisafsFDID] = []
        fds.reserveCapacity(count)
        for _ in 0..<count { fds.append(try requireFD()) }
        return fds
    }

    /// A `struct timespec` (two int64s).
    mutating func requireTimespec() throws(LisafsDecodeError) -> LinuxTimespec {
        let seconds: Int64 = try require()
        let nanoseconds: Int64 = try require()
        return LinuxTimespec(seconds: seconds, nanoseconds: nanoseconds)
    }
}

extension ByteWriter {
    /// Appends an FD id.
    mutating func write(_ fd: LisafsFDID) {
        writeInteger(fd.rawValue)
    }

    /// Appends a `SizedString`: its uint16 length, then its bytes.
    mutating func write(_ string: SizedString) {
        writeInteger(UInt16(string.bytes.count))  // SizedString never holds more
        writeBytes(string.bytes)
    }

    /// Appends a uint16 array count. More than 65,535 elements cannot be expressed; a caller
    /// that builds such a message (instead of splitting it) has a bug.
    mutating func writeCount16(_ count: Int) {
        precondition(count <= Int(UInt16.max), "lisafs array of \(count) elements does not fit a uint16 count")
        writeInteger(UInt16(count))
    }

    /// Appends a `StringArray`.
    mutating func write(_ strings: [SizedString]) {
        writeCount16(strings.count)
        for string in strings { write(string) }
    }

    /// Appends a uint16 count and the fixed-size structs.
    mutating func write<T: LisafsWireStruct>(_ items: [T]) {
        writeCount16(items.count)
        for item in items { item.encode(into: &self) }
    }

    /// Appends a `FdArray`.
    mutating func write(_ fds: [LisafsFDID]) {
        writeCount16(fds.count)
        for fd in fds { write(fd) }
    }

    /// Appends a `struct timespec`.
    mutating func write(_ time: LinuxTimespec) {
        writeInteger(time.seconds)
        writeInteger(time.nanoseconds)
    }
}

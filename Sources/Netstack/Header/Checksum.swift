/// The Internet checksum of RFC 1071: the 16-bit ones' complement of the ones' complement sum
/// of the data taken as big-endian 16-bit words, an odd last byte padded with zero.
///
/// The accumulator takes data in pieces of any length (a pseudo-header, then a header, then a
/// payload split across buffers): a piece that ends on an odd byte leaves it pending, and the
/// next piece supplies the low half of that word, so the result equals the sum of the joined
/// bytes. Carries are folded back in (end-around carry) as the sum grows and at the end.
/// `sum` is the folded sum (what gVisor's `checksum.Checksum` returns); `checksum` is its
/// complement, the value a header carries.
public struct InternetChecksum: Hashable, Sendable {
    private var accumulator: UInt64
    private var pendingHighByte: UInt8?

    /// A checksum that starts from `initial`, a folded sum computed earlier (for example over a
    /// pseudo-header).
    public init(initial: UInt16 = 0) {
        accumulator = UInt64(initial)
    }

    /// Adds bytes that follow everything added so far.
    public mutating func add(_ bytes: some Sequence<UInt8>) {
        if bytes.withContiguousStorageIfAvailable({ addContiguous($0) }) != nil { return }
        var high = pendingHighByte
        var sum = accumulator
        for byte in bytes {
            if let h = high {
                sum += UInt64(h) << 8 | UInt64(byte)
                high = nil
            } else {
                high = byte
            }
        }
        pendingHighByte = high
        accumulator = Self.foldOnce(sum)
    }

    /// `add` for bytes in one buffer: four 16-bit words at a time from 8-byte loads (the sum
    /// is the same in any grouping, RFC 1071 §2), the rest byte by byte.
    private mutating func addContiguous(_ buffer: UnsafeBufferPointer<UInt8>) {
        guard let start = buffer.baseAddress, !buffer.isEmpty else { return }
        var sum = accumulator
        var index = 0
        if let high = pendingHighByte {
            sum += UInt64(high) << 8 | UInt64(buffer[0])
            pendingHighByte = nil
            index = 1
        }
        let raw = UnsafeRawPointer(start)
        // Each step adds less than 2^18: the 64-bit sum cannot overflow on any real buffer.
        while index + 8 <= buffer.count {
            let word = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            sum += (word >> 48) + (word >> 32 & 0xffff) + (word >> 16 & 0xffff) + (word & 0xffff)
            index += 8
        }
        while index + 2 <= buffer.count {
            sum += UInt64(buffer[index]) << 8 | UInt64(buffer[index + 1])
            index += 2
        }
        if index < buffer.count { pendingHighByte = buffer[index] }
        accumulator = Self.foldOnce(Self.foldOnce(sum))
    }

    /// Adds one big-endian 16-bit word at an even position.
    public mutating func add(word: UInt16) {
        add([UInt8(word >> 8), UInt8(truncatingIfNeeded: word)])
    }

    /// The ones' complement sum of everything added, folded to 16 bits.
    public var sum: UInt16 {
        var total = accumulator
        if let h = pendingHighByte { total += UInt64(h) << 8 }
        return Self.fold(total)
    }

    /// The value to store in a checksum field: the complement of `sum`.
    public var checksum: UInt16 { ~sum }

    /// The folded ones' complement sum of `bytes`.
    public static func sum(_ bytes: some Sequence<UInt8>, initial: UInt16 = 0) -> UInt16 {
        var accumulator = InternetChecksum(initial: initial)
        accumulator.add(bytes)
        return accumulator.sum
    }

    /// The checksum field value for `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>, initial: UInt16 = 0) -> UInt16 {
        ~sum(bytes, initial: initial)
    }

    /// The ones' complement sum of two folded sums (combining separately summed pieces that
    /// each start at an even offset).
    public static func combine(_ a: UInt16, _ b: UInt16) -> UInt16 {
        fold(UInt64(a) + UInt64(b))
    }

    /// The checksum after one 16-bit word under it changes from `old` to `new`, without
    /// summing the data again (RFC 1624, equation 3: HC' = ~(~HC + ~m + m')). Used when a
    /// router decrements TTL or a NAT rewrites an address.
    public static func update(checksum: UInt16, oldWord old: UInt16, newWord new: UInt16) -> UInt16 {
        ~combine(combine(~checksum, ~old), new)
    }

    /// Folds the carries above bit 32 back in, keeping the accumulator far from overflow.
    private static func foldOnce(_ value: UInt64) -> UInt64 {
        value > UInt64(UInt32.max) ? (value & 0xffff_ffff) + (value >> 32) : value
    }

    /// Folds all carries back into 16 bits.
    private static func fold(_ value: UInt64) -> UInt16 {
        var v = value
        while v > 0xffff { v = (v & 0xffff) + (v >> 16) }
        return UInt16(v)
    }
}

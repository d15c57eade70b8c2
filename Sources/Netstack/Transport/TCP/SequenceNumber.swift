/// A TCP sequence number: arithmetic and comparisons modulo 2^32 (RFC 9293 §3.4), valid
/// between numbers less than 2^31 apart, as all numbers of one window are.
struct SequenceNumber: Hashable, Sendable, CustomStringConvertible {
    var value: UInt32

    init(_ value: UInt32) { self.value = value }

    static func + (a: SequenceNumber, b: Int) -> SequenceNumber { SequenceNumber(a.value &+ UInt32(truncatingIfNeeded: b)) }
    static func += (a: inout SequenceNumber, b: Int) { a = a + b }
    /// How far `a` is after `b` (negative when before).
    static func - (a: SequenceNumber, b: SequenceNumber) -> Int { Int(Int32(bitPattern: a.value &- b.value)) }

    static func < (a: SequenceNumber, b: SequenceNumber) -> Bool { a - b < 0 }
    static func <= (a: SequenceNumber, b: SequenceNumber) -> Bool { a - b <= 0 }
    static func > (a: SequenceNumber, b: SequenceNumber) -> Bool { a - b > 0 }
    static func >= (a: SequenceNumber, b: SequenceNumber) -> Bool { a - b >= 0 }

    /// Whether the number lies in [start, start + size).
    func isIn(_ start: SequenceNumber, size: Int) -> Bool { self - start >= 0 && self - start < size }

    var description: String { String(value) }
}

import LinuxABI

/// Why a lisafs header or message from the peer was rejected.
///
/// Decoding never trusts a length or count from the wire: it is checked against the bytes
/// actually present (and the connection's maximum message size) before anything is allocated.
/// gVisor answers such input with EINVAL (`errno`), and so do we.
public enum LisafsDecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The input ended `needed` bytes into a field, with only `available` left.
    case truncated(needed: Int, available: Int)
    /// A message (header included) of `size` bytes is larger than the connection's `limit`.
    case messageTooLarge(size: UInt64, limit: UInt32)
    /// A message of `size` bytes is too short to hold its `minimum`-byte header.
    case messageTooSmall(size: UInt32, minimum: Int)
    /// An array claims `count` elements of `elementSize` bytes but only `available` bytes remain.
    case countExceedsPayload(count: UInt32, elementSize: Int, available: Int)
    /// The message was decoded but `count` bytes were left over.
    case trailingBytes(count: Int)

    /// The errno a lisafs server returns for this input (EINVAL, as gVisor does).
    public var errno: LinuxErrno { .EINVAL }

    public var description: String {
        switch self {
        case .truncated(let needed, let available):
            return "lisafs message truncated: needed \(needed) bytes, \(available) available"
        case .messageTooLarge(let size, let limit):
            return "lisafs message of \(size) bytes exceeds the maximum of \(limit)"
        case .messageTooSmall(let size, let minimum):
            return "lisafs message of \(size) bytes is smaller than its \(minimum)-byte header"
        case .countExceedsPayload(let count, let elementSize, let available):
            return "lisafs array of \(count) × \(elementSize) bytes does not fit in \(available) bytes"
        case .trailingBytes(let count):
            return "lisafs message has \(count) trailing bytes"
        }
    }
}

extension ByteReader {
    /// Reads the next little-endian integer or throws `truncated`.
    public mutating func require<T: FixedWidthInteger>(_ type: T.Type = T.self) throws(LisafsDecodeError) -> T {
        guard let value = readInteger(as: T.self) else {
            throw .truncated(needed: MemoryLayout<T>.size, available: readableBytes)
        }
        return value
    }

    /// Reads an array length prefix (`uint32`) and checks that `count × elementSize` bytes
    /// remain, so a lying count cannot make the caller allocate.
    public mutating func requireCount(elementSize: Int) throws(LisafsDecodeError) -> Int {
        let count: UInt32 = try require()
        let (total, overflow) = Int(count).multipliedReportingOverflow(by: elementSize)
        guard !overflow, total <= readableBytes else {
            throw .countExceedsPayload(count: count, elementSize: elementSize, available: readableBytes)
        }
        return Int(count)
    }
}

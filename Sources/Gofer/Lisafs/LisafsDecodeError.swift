import LinuxABI

/// Why a lisafs header or message from the peer was rejected.
///
/// Decoding never trusts a length or count from the wire: it is checked against the bytes
/// actually present (and the connection's maximum message size) before anything is allocated.
/// gVisor answers such input with EINVAL (`errno`), and so do we, except for a string longer
/// than its field allows, which is ENAMETOOLONG as the matching syscall would report it.
public enum LisafsDecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The input ended `needed` bytes into a field, with only `available` left.
    case truncated(needed: Int, available: Int)
    /// A message (header included) of `size` bytes is larger than the connection's `limit`.
    case messageTooLarge(size: UInt64, limit: UInt32)
    /// A message of `size` bytes is too short to hold its `minimum`-byte header.
    case messageTooSmall(size: UInt32, minimum: Int)
    /// An array or string claims `count` elements of (at least) `elementSize` bytes but only
    /// `available` bytes remain.
    case countExceedsPayload(count: UInt64, elementSize: Int, available: Int)
    /// A string of `length` bytes is longer than its field allows (`limit`: NAME_MAX for a
    /// file name, PATH_MAX − 1 for a symlink target, ...).
    case stringTooLong(length: Int, limit: Int)
    /// A string that the host uses as a C string (a file name, a symlink target, an xattr
    /// name) holds a NUL byte at `offset`, which would silently cut it short.
    case embeddedNUL(offset: Int)
    /// The message was decoded but `count` bytes were left over.
    case trailingBytes(count: Int)

    /// The errno a lisafs server returns for this input.
    public var errno: LinuxErrno {
        switch self {
        case .stringTooLong: return .ENAMETOOLONG
        default: return .EINVAL
        }
    }

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
        case .stringTooLong(let length, let limit):
            return "lisafs string of \(length) bytes exceeds its limit of \(limit)"
        case .embeddedNUL(let offset):
            return "lisafs name holds a NUL byte at offset \(offset)"
        case .trailingBytes(let count):
            return "lisafs message has \(count) trailing bytes"
        }
    }
}

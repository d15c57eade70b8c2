/// The layout of an endpoint channel's memfd. Little-endian, offsets in bytes.
///
/// ```
/// 0    header (written by the creator before the peer maps it, read once by each side)
///        0 magic "FLPC"   4 version   8 window capacity in bytes
/// 64   control line (the only words both sides write)
///        64 state: owner side in bits 0-1, sleeping bit, shutdown bit
///        68 data length of the message in the window, written by the owner before a flip
/// 128  packet window: `capacity` bytes
/// ```
/// The header and the control word sit on separate cache lines so that spinning on the state
/// does not bounce the line that holds the header.
enum EndpointLayout {
    static let magic: UInt32 = 0x4350_4C46  // "FLPC"
    static let version: UInt32 = 1
    static let magicOffset = 0
    static let versionOffset = 4
    static let capacityOffset = 8
    static let stateOffset = 64
    static let lengthOffset = 68
    static let windowOffset = 128

    /// The default window: 64 KiB of data.
    static let defaultCapacity = 64 * 1024
    /// The largest window a channel may have (the length field is 32-bit; keep it sane).
    static let maximumCapacity = 1 << 30

    /// Bytes of memfd for a window of `capacity` bytes, rounded up to whole pages.
    static func memorySize(capacity: Int) -> Int {
        let raw = windowOffset + capacity
        return (raw + 4095) & ~4095
    }

    // The state word.
    static let ownerMask: UInt32 = 0x3
    /// The client owns the window (it writes a request, or reads the reply).
    static let clientOwns: UInt32 = 1
    /// The server owns the window (it reads the request and writes the reply).
    static let serverOwns: UInt32 = 2
    /// The side that does not own the window sleeps on the futex and must be woken.
    static let sleepingBit: UInt32 = 0x10
    /// The channel is shut down; every wait fails.
    static let shutdownBit: UInt32 = 0x100
}

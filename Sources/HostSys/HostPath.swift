/// A path or path component as the host kernel takes it: bytes without NUL, NUL-terminated
/// here. Linux names need not be UTF-8, so a file server passes the bytes it received.
public struct HostPath: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The bytes and a terminating NUL.
    let terminated: [CChar]

    /// `bytes` as a path, or nil if they contain a NUL (the kernel would cut the name there).
    public init?(bytes: some Collection<UInt8>) {
        guard !bytes.contains(0) else { return nil }
        terminated = bytes.map { CChar(bitPattern: $0) } + [0]
    }

    /// The UTF-8 bytes of `string`, which must not contain a NUL (our own strings).
    public init(_ string: String) {
        precondition(!string.utf8.contains(0), "a host path cannot contain NUL")
        terminated = Array(string.utf8CString)
    }

    public init(stringLiteral value: String) { self.init(value) }

    /// The bytes without the terminating NUL.
    public var bytes: [UInt8] { terminated.dropLast().map { UInt8(bitPattern: $0) } }

    public var isEmpty: Bool { terminated.count == 1 }

    public var description: String { String(decoding: bytes, as: UTF8.self) }

    /// Calls `body` with the NUL-terminated C string.
    func withCString<Result>(_ body: (UnsafePointer<CChar>) -> Result) -> Result {
        terminated.withUnsafeBufferPointer { body($0.baseAddress.unsafelyUnwrapped) }
    }
}

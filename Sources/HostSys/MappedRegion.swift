import Glibc
import LinuxABI

/// A mmap(2) mapping this process owns; unmapped when the value ends.
public struct MappedRegion: ~Copyable {
    /// The first byte of the mapping.
    public let base: UnsafeMutableRawPointer
    /// Length in bytes (a multiple of the page size).
    public let length: Int

    /// Maps `length` bytes of `fd` from `offset` with `protection` and `flags`.
    public init(
        fd: borrowing FileDescriptor, length: Int, offset: Int64 = 0,
        protection: MemoryProtection = [.read, .write], flags: MapFlags = .shared
    ) throws(Errno) {
        let raw = fd.rawValue
        self.base = try hostCallPointer(
            { mmap(nil, length, protection.rawValue, flags.rawValue, raw, off_t(offset)) },
            isFailure: { $0 == MAP_FAILED })
        self.length = length
    }

    /// Maps `length` bytes of fresh anonymous memory, private to this process.
    public init(anonymous length: Int, protection: MemoryProtection = [.read, .write]) throws(Errno) {
        let flags = MapFlags([.private, .anonymous]).rawValue
        self.base = try hostCallPointer(
            { mmap(nil, length, protection.rawValue, flags, -1, 0) }, isFailure: { $0 == MAP_FAILED })
        self.length = length
    }

    deinit {
        // munmap of a range we mapped fails only on a bug of ours.
        let result = munmap(base, length)
        precondition(result == 0, "munmap(\(base), \(length)) failed: \(Errno.current)")
    }

    /// madvise(2) MADV_REMOVE on `count` bytes at `offset` of a shared file mapping: the
    /// file's pages there are freed (a hole is punched) and read back as zeros.
    public func remove(offset: Int, count: Int) throws(Errno) {
        precondition(offset >= 0 && count >= 0 && offset <= length - count)
        let start = base + offset
        _ = try hostCall { madvise(start, count, 9 /* MADV_REMOVE */) }
    }

    /// The mapping as raw bytes.
    public var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: base, count: length) }
}

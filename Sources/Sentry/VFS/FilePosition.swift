import LinuxABI
import Synchronization

/// The file position of an open file description. The descriptors that share the description
/// (dup(2), fork(2), SCM_RIGHTS) share it, so read(2), write(2) and lseek(2) without an offset
/// use and move it under one lock: two sharers never read the same bytes.
final class FilePosition: Sendable {
    private let value = Mutex<Int64>(0)

    init() {}

    /// Runs `body` with the position held; `body` may move it.
    func withLock<T: Sendable>(_ body: (inout Int64) throws(LinuxErrno) -> T) throws(LinuxErrno) -> T {
        try value.withLock { (position) throws(LinuxErrno) -> T in try body(&position) }
    }

    /// lseek(2) for a file of `size` bytes: SEEK_SET, SEEK_CUR, SEEK_END. A negative result
    /// or an unknown whence is EINVAL and leaves the position where it was.
    func seek(offset: Int64, whence: Int32, size: Int64) throws(LinuxErrno) -> Int64 {
        try withLock { (position) throws(LinuxErrno) in
            let base: Int64
            switch whence {
            case 0: base = 0
            case 1: base = position
            case 2: base = size
            default: throw .EINVAL
            }
            let (result, overflow) = base.addingReportingOverflow(offset)
            guard !overflow, result >= 0 else { throw .EINVAL }
            position = result
            return result
        }
    }
}

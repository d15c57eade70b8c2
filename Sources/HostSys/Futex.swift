import CShim
import Glibc
import LinuxABI

/// Futexes on memory that other processes may map (no FUTEX_PRIVATE_FLAG): the kernel keys
/// them by the backing page, so a wake in one process reaches a waiter in another.
public enum Futex {
    /// How a wait ended. Every outcome requires the caller to re-check the word.
    public enum WaitResult: Sendable, Equatable {
        /// Woken by FUTEX_WAKE, or spuriously.
        case woken
        /// The word no longer held `expected` when the kernel looked (EAGAIN).
        case valueChanged
        /// The timeout passed.
        case timedOut
        /// A signal interrupted the wait (EINTR).
        case interrupted
    }

    /// Sleeps while `*word == expected`, at most `timeoutNanoseconds` (nil: no limit).
    /// Implements FUTEX_WAIT on a shared mapping.
    public static func wait(
        _ word: UnsafeMutablePointer<UInt32>, expected: UInt32, timeoutNanoseconds: Int64? = nil
    ) throws(Errno) -> WaitResult {
        let result: Int
        if let timeoutNanoseconds {
            var ts = timespec(
                tv_sec: Int(timeoutNanoseconds / 1_000_000_000), tv_nsec: Int(timeoutNanoseconds % 1_000_000_000))
            result = cshim_futex(word, FutexOp.wait.rawValue, expected, &ts, nil, 0)
        } else {
            result = cshim_futex(word, FutexOp.wait.rawValue, expected, nil, nil, 0)
        }
        if result == 0 { return .woken }
        switch Errno.current {
        case .EAGAIN: return .valueChanged
        case .ETIMEDOUT: return .timedOut
        case .EINTR: return .interrupted
        case let error: throw error
        }
    }

    /// Wakes up to `count` waiters on `word` and returns how many woke (FUTEX_WAKE).
    @discardableResult
    public static func wake(_ word: UnsafeMutablePointer<UInt32>, count: UInt32 = 1) throws(Errno) -> Int {
        try hostCall { cshim_futex(word, FutexOp.wake.rawValue, count, nil, nil, 0) }
    }
}

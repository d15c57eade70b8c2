import Glibc

// The one door to the host kernel: every libc call that can fail goes through `hostCall`.
// It reads errno right after the call (the closure is not inlined into callers that might
// release objects in between) and retries EINTR unless told not to.

/// Runs `call`, a libc function that returns -1 and sets errno on failure, and returns its
/// result or throws the errno. EINTR is retried when `retryOnInterrupt` is true (the default):
/// callers that must see an interruption (to re-check a deadline or a flag) pass false.
@inline(never)
public func hostCall<Result: FixedWidthInteger>(
    retryOnInterrupt: Bool = true, _ call: () -> Result
) throws(Errno) -> Result {
    while true {
        let result = call()
        if result != -1 { return result }
        let error = Errno.current
        if retryOnInterrupt && error == .EINTR { continue }
        throw error
    }
}

/// Like `hostCall` for libc functions that return a pointer and set errno on failure
/// (`mmap` returns MAP_FAILED, which `isFailure` recognises).
@inline(never)
func hostCallPointer(
    _ call: () -> UnsafeMutableRawPointer?, isFailure: (UnsafeMutableRawPointer?) -> Bool
) throws(Errno) -> UnsafeMutableRawPointer {
    while true {
        let result = call()
        if !isFailure(result), let result { return result }
        let error = Errno.current
        if error == .EINTR { continue }
        throw error
    }
}

/// For calls that return an errno value directly instead of setting errno (pthread, libseccomp
/// with negated values, cshim_spawn): throws the errno when `code` is not 0.
@inline(__always)
func checkReturnedErrno(_ code: Int32) throws(Errno) {
    if code != 0 { throw Errno(code < 0 ? -code : code) }
}

/// Closes `fd`, for paths where the fd is ours. EBADF means we lost track of our own fd: a
/// bug in this process, so it traps. Any other error (EINTR, EIO) still released the fd.
func closeOwned(_ fd: Int32) {
    if Glibc.close(fd) == -1 && Errno.current == .EBADF {
        preconditionFailure("close(\(fd)): EBADF on an fd this process owned")
    }
}

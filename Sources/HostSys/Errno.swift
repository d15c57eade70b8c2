import Glibc
import LinuxABI

/// An error number returned by a host syscall.
///
/// Host errors are not guest errors: a host `Errno` becomes a `LinuxErrno` a program sees only
/// where a caller converts it on purpose, through `linuxErrno` (the named boundary). Total: any
/// value is representable, so nothing the host returns can trap.
public struct Errno: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's errno right now. Read it before anything else can change it.
    public static var current: Errno { Errno(Glibc.errno) }

    /// The same number as a Linux program would see it. Host and guest are both x86-64 Linux,
    /// so the values agree; the conversion exists to make the boundary visible in the code.
    public var linuxErrno: LinuxErrno { LinuxErrno(rawValue) }

    public var description: String { linuxErrno.description }

    public static let EPERM = Errno(1)
    public static let ENOENT = Errno(2)
    public static let ESRCH = Errno(3)
    public static let EINTR = Errno(4)
    public static let EIO = Errno(5)
    public static let ENXIO = Errno(6)
    public static let EBADF = Errno(9)
    public static let ECHILD = Errno(10)
    public static let EAGAIN = Errno(11)
    public static let ENOMEM = Errno(12)
    public static let EACCES = Errno(13)
    public static let EFAULT = Errno(14)
    public static let EBUSY = Errno(16)
    public static let EEXIST = Errno(17)
    public static let ENODEV = Errno(19)
    public static let EINVAL = Errno(22)
    public static let EMFILE = Errno(24)
    public static let ENOSPC = Errno(28)
    public static let EPIPE = Errno(32)
    public static let ERANGE = Errno(34)
    public static let ENAMETOOLONG = Errno(36)
    public static let ENOTDIR = Errno(20)
    public static let EISDIR = Errno(21)
    public static let ELOOP = Errno(40)
    public static let EROFS = Errno(30)
    public static let EXDEV = Errno(18)
    public static let ENOTEMPTY = Errno(39)
    public static let ENOSYS = Errno(38)
    public static let EBADMSG = Errno(74)
    public static let EMSGSIZE = Errno(90)
    public static let ENOTSUP = Errno(95)
    public static let EADDRNOTAVAIL = Errno(99)
    public static let ECONNRESET = Errno(104)
    public static let ENOTCONN = Errno(107)
    public static let ETIMEDOUT = Errno(110)
}

/// Runs host calls on a guest's behalf: the named boundary where a host failure becomes the
/// `LinuxErrno` the guest (a program, or a lisafs client) sees.
@inline(__always)
public func onBehalfOfGuest<Result: ~Copyable>(_ body: () throws(Errno) -> Result) throws(LinuxErrno) -> Result {
    do {
        return try body()
    } catch {
        throw error.linuxErrno
    }
}

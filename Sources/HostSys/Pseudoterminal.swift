import CShim
import Glibc

/// A pseudoterminal (pty(7)): the master end, which the caller keeps, and the path of the
/// slave end, which a program gets as its terminal.
public struct Pseudoterminal: ~Copyable {
    public let master: FileDescriptor
    /// /dev/pts/N.
    public let slavePath: String

    /// Opens a new master (/dev/ptmx) and unlocks its slave, as posix_openpt, unlockpt and
    /// ptsname do.
    public init() throws(Errno) {
        let master = try FileDescriptor.open("/dev/ptmx", flags: O_RDWR | O_NOCTTY | O_CLOEXEC)
        var unlock: Int32 = 0
        var number: UInt32 = 0
        _ = try hostCall { cshim_ioctl(master.rawValue, 0x4004_5431, &unlock) }  // TIOCSPTLCK
        _ = try hostCall { cshim_ioctl(master.rawValue, 0x8004_5430, &number) }  // TIOCGPTN
        self.master = master
        slavePath = "/dev/pts/\(number)"
    }
}

import CShim
import Glibc
import LinuxABI

/// Anonymous memory files (memfd_create(2)) with seals: the memory Flipcall windows and the
/// Sentry's memory file live in.
public enum MemoryFile {
    /// Creates a memfd named `name` (shown in /proc/PID/maps as `/memfd:NAME`), sized `size`
    /// bytes, close-on-exec, with sealing allowed, and applies `seals` once it has its size.
    public static func create(name: String, size: Int, seals: FileSeals = []) throws(Errno) -> FileDescriptor {
        let flags = MemfdFlags([.closeOnExec, .allowSealing]).rawValue
        let fd = FileDescriptor(owning: try hostCall { cshim_memfd_create(name, flags) })
        try fd.truncate(to: Int64(size))
        if !seals.isEmpty { try addSeals(seals, to: fd) }
        return fd
    }

    /// Adds `seals` (fcntl F_ADD_SEALS). Seals never come off.
    public static func addSeals(_ seals: FileSeals, to fd: borrowing FileDescriptor) throws(Errno) {
        let raw = fd.rawValue
        _ = try hostCall { cshim_fcntl_int(raw, FcntlSealCommand.addSeals, seals.rawValue) }
    }

    /// The seals in force on `fd` (fcntl F_GET_SEALS); EINVAL if it is not a memfd.
    public static func seals(of fd: borrowing FileDescriptor) throws(Errno) -> FileSeals {
        let raw = fd.rawValue
        return FileSeals(rawValue: try hostCall { cshim_fcntl_int(raw, FcntlSealCommand.getSeals, 0) })
    }
}

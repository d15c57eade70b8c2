import CShim
import Glibc
import LinuxABI

// Path operations relative to a directory fd: the calls a file server needs to stay inside a
// tree it holds by fd (openat(2) and friends). Names are `HostPath`s chosen by the caller;
// these functions pass them to the kernel as they are.

extension FileDescriptor {
    /// Opens `name` relative to this directory (openat(2)); close-on-exec is always added.
    public borrowing func openAt(_ name: HostPath, flags: OpenFlags, mode: UInt32 = 0) throws(Errno) -> FileDescriptor {
        let dir = rawValue
        let all = flags.union(.closeOnExec).rawValue
        return FileDescriptor(owning: try hostCall { name.withCString { Glibc.openat(dir, $0, all, mode_t(mode)) } })
    }

    /// statx(2) of `name` relative to this directory, or of the fd itself when `name` is ""
    /// (AT_EMPTY_PATH is added then). `flags` are AT_* flags; symlinks are never followed.
    public borrowing func statx(_ name: HostPath = "", flags: Int32 = 0, mask: UInt32 = LinuxStatx.basicStats) throws(Errno) -> LinuxStatx {
        let dir = rawValue
        let all = flags | AtFlags.symlinkNoFollow | (name.isEmpty ? AtFlags.emptyPath : 0)
        var result = LinuxStatx()
        _ = try withUnsafeMutablePointer(to: &result) { (buffer) throws(Errno) in
            try hostCall {
                name.withCString { path in
                    cshim_syscall6(
                        Int(SYS_statx), Int(dir), Int(bitPattern: path), Int(all), Int(mask), Int(bitPattern: buffer), 0)
                }
            }
        }
        return result
    }

    /// mkdirat(2).
    public borrowing func makeDirectory(_ name: HostPath, mode: UInt32) throws(Errno) {
        let dir = rawValue
        _ = try hostCall { name.withCString { Glibc.mkdirat(dir, $0, mode_t(mode)) } }
    }

    /// mknodat(2) for regular files, FIFOs and sockets (`mode` includes the type).
    public borrowing func makeNode(_ name: HostPath, mode: UInt32, device: UInt64 = 0) throws(Errno) {
        let dir = rawValue
        _ = try hostCall { name.withCString { Glibc.mknodat(dir, $0, mode_t(mode), dev_t(device)) } }
    }

    /// symlinkat(2): creates `name` in this directory pointing at `target` (not checked).
    public borrowing func makeSymlink(_ name: HostPath, target: HostPath) throws(Errno) {
        let dir = rawValue
        _ = try hostCall { target.withCString { target in name.withCString { Glibc.symlinkat(target, dir, $0) } } }
    }

    /// linkat(2): a new name `name` in this directory for `existing` in `directory`.
    public borrowing func makeLink(_ name: HostPath, to existing: HostPath, in directory: borrowing FileDescriptor) throws(Errno) {
        let dir = rawValue
        let sourceDir = directory.rawValue
        _ = try hostCall { existing.withCString { old in name.withCString { Glibc.linkat(sourceDir, old, dir, $0, 0) } } }
    }

    /// unlinkat(2); `directory` removes an empty directory (AT_REMOVEDIR).
    public borrowing func unlink(_ name: HostPath, directory: Bool = false) throws(Errno) {
        let dir = rawValue
        _ = try hostCall { name.withCString { Glibc.unlinkat(dir, $0, directory ? AtFlags.removeDirectory : 0) } }
    }

    /// renameat2(2) of `name` in this directory to `newName` in `newDirectory`.
    public borrowing func rename(
        _ name: HostPath, to newName: HostPath, in newDirectory: borrowing FileDescriptor, flags: UInt32 = 0
    ) throws(Errno) {
        let dir = rawValue
        let newDir = newDirectory.rawValue
        _ = try hostCall {
            name.withCString { old in
                newName.withCString { new in
                    cshim_syscall6(
                        Int(SYS_renameat2), Int(dir), Int(bitPattern: old), Int(newDir), Int(bitPattern: new), Int(flags), 0)
                }
            }
        }
    }

    /// readlinkat(2) of `name` (or of this fd itself, an O_PATH symlink, when `name` is "").
    public borrowing func readLink(_ name: HostPath = "") throws(Errno) -> [UInt8] {
        let dir = rawValue
        let capacity = Int(PATH_MAX) + 1
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        let count = try hostCall { name.withCString { Glibc.readlinkat(dir, $0, buffer, capacity) } }
        guard count < capacity else { throw .ENAMETOOLONG }
        return Array(UnsafeRawBufferPointer(start: buffer, count: count))
    }

    /// getdents64(2): fills `buffer` with `linux_dirent64` records from the directory's
    /// position and returns the byte count (0 at the end).
    public borrowing func readDirectoryEntries(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        let dir = rawValue
        return try hostCall {
            cshim_syscall6(Int(SYS_getdents64), Int(dir), Int(bitPattern: buffer.baseAddress), buffer.count, 0, 0, 0)
        }
    }

    /// Moves the file position (lseek(2)) and returns the new offset.
    @discardableResult
    public borrowing func seek(to offset: Int64, whence: Int32 = SEEK_SET) throws(Errno) -> Int64 {
        let fd = rawValue
        return Int64(try hostCall { Glibc.lseek(fd, off_t(offset), whence) })
    }
}

extension FileDescriptor {
    /// Changes the permission bits of the file this fd names, which may be an O_PATH fd
    /// (fchmodat2(2) with AT_EMPTY_PATH, Linux 6.6): no path, so no race with renames and no
    /// symlink to follow. A symlink's mode cannot change (EOPNOTSUPP).
    public borrowing func changeMode(_ mode: UInt32) throws(Errno) {
        let fd = rawValue
        _ = try hostCall {
            "".withCString { empty in
                cshim_syscall6(Sysno.fchmodat2.rawValue, Int(fd), Int(bitPattern: empty), Int(mode), Int(AtFlags.emptyPath), 0, 0)
            }
        }
    }

    /// Changes the owner of the file this fd names (fchownat(2) with AT_EMPTY_PATH, which
    /// works on O_PATH fds and never follows a symlink); `UInt32.max` leaves an id unchanged.
    public borrowing func changeOwner(uid: UInt32, gid: UInt32) throws(Errno) {
        let fd = rawValue
        _ = try hostCall { Glibc.fchownat(fd, "", uid, gid, AtFlags.emptyPath) }
    }

    /// Sets the access and modification times of the file this fd names (utimensat(2) with
    /// AT_EMPTY_PATH). A nanosecond field of UTIME_OMIT leaves that time, UTIME_NOW sets now.
    public borrowing func setTimes(access: LinuxTimespec, modification: LinuxTimespec) throws(Errno) {
        let fd = rawValue
        var times = (access, modification)
        _ = try withUnsafeMutablePointer(to: &times) { (buffer) throws(Errno) in
            try hostCall {
                "".withCString { empty in
                    cshim_syscall6(
                        Int(SYS_utimensat), Int(fd), Int(bitPattern: empty), Int(bitPattern: buffer),
                        Int(AtFlags.emptyPath | AtFlags.symlinkNoFollow), 0, 0)
                }
            }
        }
    }

    /// fsync(2).
    public borrowing func sync() throws(Errno) {
        let fd = rawValue
        _ = try hostCall { Glibc.fsync(fd) }
    }

    /// fallocate(2).
    public borrowing func allocate(mode: Int32, offset: Int64, length: Int64) throws(Errno) {
        let fd = rawValue
        _ = try hostCall {
            Int32(truncatingIfNeeded: cshim_syscall6(Int(SYS_fallocate), Int(fd), Int(mode), Int(offset), Int(length), 0, 0))
        }
    }

    /// fstatfs(2).
    public borrowing func fileSystemStatistics() throws(Errno) -> LinuxStatfs {
        let fd = rawValue
        var result = LinuxStatfs()
        _ = try withUnsafeMutablePointer(to: &result) { (buffer) throws(Errno) in
            try hostCall { cshim_syscall6(Int(SYS_fstatfs), Int(fd), Int(bitPattern: buffer), 0, 0, 0, 0) }
        }
        return result
    }
}

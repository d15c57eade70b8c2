import CShim
import Glibc
import LinuxABI

// Path operations relative to a directory fd: the calls a file server needs to stay inside a
// tree it holds by fd (openat(2) and friends). Names are single components chosen by the
// caller; these functions pass them to the kernel as they are.

extension FileDescriptor {
    /// Opens `name` relative to this directory (openat(2)); close-on-exec is always added.
    public borrowing func openAt(_ name: String, flags: OpenFlags, mode: UInt32 = 0) throws(Errno) -> FileDescriptor {
        let dir = rawValue
        let all = flags.union(.closeOnExec).rawValue
        return FileDescriptor(owning: try hostCall { Glibc.openat(dir, name, all, mode_t(mode)) })
    }

    /// statx(2) of `name` relative to this directory, or of the fd itself when `name` is ""
    /// (AT_EMPTY_PATH is added then). `flags` are AT_* flags; symlinks are never followed.
    public borrowing func statx(_ name: String = "", flags: Int32 = 0, mask: UInt32 = LinuxStatx.basicStats) throws(Errno) -> LinuxStatx {
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
    public borrowing func makeDirectory(_ name: String, mode: UInt32) throws(Errno) {
        let dir = rawValue
        _ = try hostCall { Glibc.mkdirat(dir, name, mode_t(mode)) }
    }

    /// mknodat(2) for regular files, FIFOs and sockets (`mode` includes the type).
    public borrowing func makeNode(_ name: String, mode: UInt32, device: UInt64 = 0) throws(Errno) {
        let dir = rawValue
        _ = try hostCall { Glibc.mknodat(dir, name, mode_t(mode), dev_t(device)) }
    }

    /// symlinkat(2): creates `name` in this directory pointing at `target` (not checked).
    public borrowing func makeSymlink(_ name: String, target: String) throws(Errno) {
        let dir = rawValue
        _ = try hostCall { Glibc.symlinkat(target, dir, name) }
    }

    /// linkat(2): a new name `name` in this directory for `existing` in `directory`.
    public borrowing func makeLink(_ name: String, to existing: String, in directory: borrowing FileDescriptor) throws(Errno) {
        let dir = rawValue
        let sourceDir = directory.rawValue
        _ = try hostCall { Glibc.linkat(sourceDir, existing, dir, name, 0) }
    }

    /// unlinkat(2); `directory` removes an empty directory (AT_REMOVEDIR).
    public borrowing func unlink(_ name: String, directory: Bool = false) throws(Errno) {
        let dir = rawValue
        _ = try hostCall { Glibc.unlinkat(dir, name, directory ? AtFlags.removeDirectory : 0) }
    }

    /// renameat2(2) of `name` in this directory to `newName` in `newDirectory`.
    public borrowing func rename(
        _ name: String, to newName: String, in newDirectory: borrowing FileDescriptor, flags: UInt32 = 0
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
    public borrowing func readLink(_ name: String = "") throws(Errno) -> String {
        let dir = rawValue
        let capacity = Int(PATH_MAX) + 1
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        let count = try hostCall { Glibc.readlinkat(dir, name, buffer, capacity) }
        guard count < capacity else { throw .ENAMETOOLONG }
        return String(decoding: UnsafeRawBufferPointer(start: buffer, count: count), as: UTF8.self)
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

import LinuxABI
import Testing

@testable import Sentry

@Suite("tmpfs")
struct TmpfsTests {
    /// A file named `name` in `root`, open for writing.
    func file(_ name: String, in root: TmpfsInode) throws -> TmpfsFile {
        let inode = try root.create(Array(name.utf8), mode: 0o644)
        return try #require(try inode.open(flags: .writeOnly) as? TmpfsFile)
    }

    @Test("a tmpfs holds at most its size: writes and truncates past it are ENOSPC, and removing a file frees its space")
    func capacity() throws {
        let root = TmpfsInode.makeRoot(device: 1, capacity: 64 << 10)
        let first = try file("first", in: root)
        #expect(try first.write([UInt8](repeating: 1, count: 48 << 10), at: nil) == 48 << 10)
        let second = try file("second", in: root)
        #expect(throws: LinuxErrno.ENOSPC) { try second.write([UInt8](repeating: 2, count: 32 << 10), at: nil) }
        #expect(throws: LinuxErrno.ENOSPC) { try second.write([1], at: 1 << 50) }  // a far offset, not a petabyte array
        #expect(throws: LinuxErrno.ENOSPC) { try second.inode.truncate(to: 1 << 50) }
        #expect(try second.inode.stat().size == 0)
        // Shrinking gives space back.
        try first.inode.truncate(to: 16 << 10)
        #expect(try second.write([UInt8](repeating: 2, count: 32 << 10), at: nil) == 32 << 10)
        // A removed file that is still open keeps its space (Linux: until the last close).
        try root.remove(Array("second".utf8), directory: false)
        #expect(throws: LinuxErrno.ENOSPC) { try first.write([UInt8](repeating: 3, count: 40 << 10), at: nil) }
    }

    @Test("the space of a removed file comes back when its last open file closes")
    func releaseOnLastReference() throws {
        let root = TmpfsInode.makeRoot(device: 1, capacity: 64 << 10)
        do {
            let doomed = try file("doomed", in: root)
            _ = try doomed.write([UInt8](repeating: 1, count: 60 << 10), at: nil)
            try root.remove(Array("doomed".utf8), directory: false)
        }
        let next = try file("next", in: root)
        #expect(try next.write([UInt8](repeating: 2, count: 60 << 10), at: nil) == 60 << 10)
    }

    @Test("rename replaces like with like: a directory over a file is ENOTDIR, a file over a directory EISDIR")
    func renameTypes() throws {
        let root = TmpfsInode.makeRoot(device: 1)
        try root.makeDirectory(Array("dir".utf8), mode: 0o755)
        _ = try root.create(Array("file".utf8), mode: 0o644)
        #expect(throws: LinuxErrno.ENOTDIR) { try root.rename(Array("dir".utf8), to: root, as: Array("file".utf8)) }
        #expect(throws: LinuxErrno.EISDIR) { try root.rename(Array("file".utf8), to: root, as: Array("dir".utf8)) }
        try root.rename(Array("file".utf8), to: root, as: Array("renamed".utf8))
        #expect(throws: LinuxErrno.ENOENT) { try root.lookup(Array("file".utf8)) }
        #expect(try root.stat().nlink == 3)  // ".", "..", and dir's ".."
    }
}

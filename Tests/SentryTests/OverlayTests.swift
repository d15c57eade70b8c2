import LinuxABI
import Testing

@testable import Sentry

@Suite("root overlay")
struct OverlayTests {
    func name(_ string: String) -> [UInt8] { Array(string.utf8) }

    /// A lower tree: /etc/hostname ("lower\n"), /etc/keep, /dir/inner, /link -> etc.
    func lowerTree() throws -> TmpfsInode {
        let root = TmpfsInode.makeRoot(device: 7)
        try root.makeDirectory(name("etc"), mode: 0o755)
        let etc = try root.lookup(name("etc"))
        _ = try etc.create(name("hostname"), mode: 0o644).open(flags: .writeOnly).write(name("lower\n"), at: 0)
        _ = try etc.create(name("keep"), mode: 0o600)
        try root.makeDirectory(name("dir"), mode: 0o755)
        _ = try root.lookup(name("dir")).create(name("inner"), mode: 0o644)
        try root.makeSymlink(name("link"), target: name("etc"))
        return root
    }

    func contents(_ inode: any Inode) throws -> String {
        String(decoding: try inode.open(flags: .readOnly).read(count: 1 << 16, at: 0), as: UTF8.self)
    }

    func names(_ directory: any Inode) throws -> [String] {
        direntEntries(try directory.open(flags: .readOnly).readDirectory(maximumBytes: 1 << 16)).map {
            String(decoding: $0.name, as: UTF8.self)
        }
    }

    @Test("a write copies the file up: the overlay sees it, the lower layer keeps its bytes")
    func copyUp() throws {
        let lower = try lowerTree()
        let overlay = try OverlayInode.makeRoot(lower: lower, device: 0x2b)
        let hostname = try overlay.lookup(name("etc")).lookup(name("hostname"))
        let lowerIno = try lower.lookup(name("etc")).lookup(name("hostname")).stat().ino
        #expect(try contents(hostname) == "lower\n")
        _ = try hostname.open(flags: [.writeOnly, .truncate]).write(name("upper\n"), at: 0)
        #expect(try contents(hostname) == "upper\n")
        #expect(try contents(lower.lookup(name("etc")).lookup(name("hostname"))) == "lower\n")
        #expect(try hostname.stat().ino == lowerIno)
        #expect(try hostname.stat().dev == 0x2b)
        #expect(try hostname.stat().mode == FileMode.regular | 0o644)
        try overlay.lookup(name("etc")).lookup(name("keep")).truncate(to: 3)
        #expect(try overlay.lookup(name("etc")).lookup(name("keep")).stat().size == 3)
        #expect(try lower.lookup(name("etc")).lookup(name("keep")).stat().size == 0)
    }

    @Test("removing a lower name hides it; a directory made in its place does not show the lower entries")
    func whiteouts() throws {
        let lower = try lowerTree()
        let overlay = try OverlayInode.makeRoot(lower: lower, device: 0x2b)
        #expect(throws: LinuxErrno.ENOTEMPTY) { try overlay.remove(name("dir"), directory: true) }
        try overlay.lookup(name("dir")).remove(name("inner"), directory: false)
        try overlay.remove(name("dir"), directory: true)
        #expect(throws: LinuxErrno.ENOENT) { try overlay.lookup(name("dir")) }
        #expect(try names(overlay).sorted() == [".", "..", "etc", "link"])
        try overlay.makeDirectory(name("dir"), mode: 0o700)
        #expect(try names(overlay.lookup(name("dir"))) == [".", ".."])
        #expect(try lower.lookup(name("dir")).lookup(name("inner")).stat().size == 0)
        #expect(throws: LinuxErrno.EEXIST) { try overlay.makeDirectory(name("etc"), mode: 0o700) }
    }

    @Test("a name removed, made again and removed again stays gone; so does a lower file replaced by a rename and removed")
    func whiteoutsStay() throws {
        let lower = try lowerTree()
        let overlay = try OverlayInode.makeRoot(lower: lower, device: 0x2b)
        let etc = try overlay.lookup(name("etc"))
        try etc.remove(name("keep"), directory: false)
        _ = try etc.create(name("keep"), mode: 0o644)
        try etc.remove(name("keep"), directory: false)
        #expect(throws: LinuxErrno.ENOENT) { try etc.lookup(name("keep")) }
        // sed -i: a new file renamed over the original, then removed.
        _ = try etc.create(name("hostname.tmp"), mode: 0o644).open(flags: .writeOnly).write(name("edited\n"), at: 0)
        try etc.rename(name("hostname.tmp"), to: etc, as: name("hostname"))
        #expect(try contents(etc.lookup(name("hostname"))) == "edited\n")
        try etc.remove(name("hostname"), directory: false)
        #expect(throws: LinuxErrno.ENOENT) { try etc.lookup(name("hostname")) }
        #expect(try names(etc) == [".", ".."])
    }

    @Test("opening a lower file with O_TRUNC copies none of its bytes up")
    func truncatingOpen() throws {
        let lower = try lowerTree()
        let overlay = try OverlayInode.makeRoot(lower: lower, device: 0x2b)
        let hostname = try overlay.lookup(name("etc")).lookup(name("hostname"))
        _ = try hostname.open(flags: [.writeOnly, .truncate])
        #expect(try hostname.stat().size == 0)
        #expect(try contents(lower.lookup(name("etc")).lookup(name("hostname"))) == "lower\n")
    }

    @Test("directories merge both layers; a new file shows beside the lower ones with an inode number of its own")
    func mergedListing() throws {
        let lower = try lowerTree()
        let overlay = try OverlayInode.makeRoot(lower: lower, device: 0x2b)
        let etc = try overlay.lookup(name("etc"))
        let made = try etc.create(name("new"), mode: 0o644)
        #expect(try names(etc).sorted() == [".", "..", "hostname", "keep", "new"])
        #expect(try made.stat().ino & (1 << 63) != 0)
        #expect(try overlay.lookup(name("link")).readLink() == name("etc"))
        #expect(try names(lower.lookup(name("etc"))).sorted() == [".", "..", "hostname", "keep"])
    }

    @Test("a lower file renames (and its old name stays hidden); a lower directory does not (EXDEV)")
    func renames() throws {
        let lower = try lowerTree()
        let overlay = try OverlayInode.makeRoot(lower: lower, device: 0x2b)
        let etc = try overlay.lookup(name("etc"))
        try etc.rename(name("hostname"), to: overlay, as: name("moved"))
        #expect(try contents(overlay.lookup(name("moved"))) == "lower\n")
        #expect(throws: LinuxErrno.ENOENT) { try etc.lookup(name("hostname")) }
        #expect(try names(etc).sorted() == [".", "..", "keep"])
        #expect(throws: LinuxErrno.EXDEV) { try overlay.rename(name("dir"), to: overlay, as: name("dir2")) }
        try overlay.makeDirectory(name("fresh"), mode: 0o755)
        try overlay.rename(name("fresh"), to: etc, as: name("sub"))
        #expect(try etc.lookup(name("sub")).fileType() == FileMode.directory)
        #expect(throws: LinuxErrno.ENOENT) { try lower.lookup(name("moved")) }
    }
}

import Glibc
import Gofer
import HostSys
import LinuxABI
import TestSupport
import Testing

/// Where the conformance tests run their gofer: the test helper's unconfined server, and (as
/// root) `runsc gofer`, confined as in production.
let goferModes: [Bool] = isRoot ? [false, true] : [false]

/// lisafs through the client against a gofer in another process, each result compared with
/// the same operation done directly on the host directory. Each test runs against the
/// unconfined server and, as root, against the confined `runsc gofer`.
@Suite("Gofer conformance against the host")
struct ConformanceTests {
    @Test("mount and walk return the host's stats; a missing component and a symlink stop the walk", arguments: goferModes)
    func walkAndStat(confined: Bool) throws {
        let fixture = try GoferFixture(confined: confined)
        #expect(sameFile(fixture.client.root.stat, try fixture.hostStat("")))
        for path in ["file.txt", "dir", "dir/nested.bin", "dir/sub", "empty", "fifo", "hardlink-outside"] {
            #expect(sameFile(try fixture.walk(path).stat, try fixture.hostStat(path)), "\(path)")
        }
        let missing = try fixture.client.call(WalkRequest(dirFD: fixture.client.root.controlFD, path: ["dir", "nope", "x"]))
        #expect(missing.status == .componentDoesNotExist && missing.inodes.count == 1)
        let symlink = try fixture.client.call(WalkRequest(dirFD: fixture.client.root.controlFD, path: ["link-rel", "x"]))
        #expect(symlink.status == .componentSymlink && symlink.inodes.count == 1)
        #expect(sameFile(symlink.inodes[0].stat, try fixture.hostStat("link-rel")))

        let stats = try fixture.client.call(WalkStatRequest(dirFD: fixture.client.root.controlFD, path: ["", "dir", "sub"]))
        #expect(stats.stats.count == 3)
        #expect(zip(stats.stats, ["", "dir", "dir/sub"]).allSatisfy { sameFile($0, (try? fixture.hostStat($1)) ?? LinuxStatx()) })
        let fstat = try fixture.client.call(FStatRequest(fd: try fixture.walk("dir/nested.bin").controlFD))
        #expect(sameFile(fstat.stat, try fixture.hostStat("dir/nested.bin")))
    }

    @Test("names with '/', '.', '..' or nothing are refused; stale and never-issued ids are EBADF", arguments: goferModes)
    func badNames(confined: Bool) throws {
        let fixture = try GoferFixture(confined: confined)
        let root = fixture.client.root.controlFD
        for name: SizedString in ["..", ".", "dir/nested.bin", "", "../outside", "/etc"] {
            #expect(throws: LinuxErrno.EINVAL, "\(name)") { try fixture.client.call(WalkRequest(dirFD: root, path: [name])) }
            #expect(throws: LinuxErrno.EINVAL, "\(name)") {
                try fixture.client.call(MkdirAtRequest(dirFD: root, name: name, mode: 0o755, uid: .none, gid: .none))
            }
        }
        #expect(throws: LinuxErrno.EBADF) { try fixture.client.call(FStatRequest(fd: LisafsFDID(999_999))) }
        let file = try fixture.walk("file.txt").controlFD
        _ = try fixture.client.call(CloseRequest(fds: [file]))
        #expect(throws: LinuxErrno.EBADF) { try fixture.client.call(FStatRequest(fd: file)) }
        #expect(throws: LinuxErrno.ENOTDIR) { try fixture.client.call(WalkRequest(dirFD: try fixture.walk("file.txt").controlFD, path: ["x"])) }
    }

    @Test("symlinks out of the tree are never followed by the server", arguments: goferModes)
    func symlinkEscapes(confined: Bool) throws {
        let fixture = try GoferFixture(confined: confined)
        for link in ["link-passwd", "link-up"] {
            let inode = try fixture.walk(link)
            #expect(inode.stat.mode & UInt16(FileMode.typeMask) == UInt16(FileMode.symlink))
            let target = try fixture.client.call(ReadLinkAtRequest(fd: inode.controlFD))
            #expect(target.target.bytes == Array((link == "link-passwd" ? "/etc/passwd" : "../../").utf8))
            #expect(throws: LinuxErrno.ELOOP) { try fixture.client.call(OpenAtRequest(fd: inode.controlFD, flags: 0)) }
            #expect(throws: LinuxErrno.ENOTDIR) {
                try fixture.client.call(WalkRequest(dirFD: inode.controlFD, path: ["etc"]))
            }
        }
        // A symlink swapped in after the walk: the reopen by name finds another inode.
        let file = try fixture.walk("file.txt")
        #expect(rename(fixture.root + "/file.txt", fixture.root + "/file.moved") == 0)
        #expect(symlink("/etc/passwd", fixture.root + "/file.txt") == 0)
        #expect(throws: LinuxErrno.ELOOP) { try fixture.client.call(OpenAtRequest(fd: file.controlFD, flags: 0)) }
    }

    @Test("reads through PRead and through the donated fd match the host's bytes", arguments: goferModes)
    func reads(confined: Bool) throws {
        let fixture = try GoferFixture(confined: confined)
        let expected = try readFile(fixture.root + "/dir/nested.bin")
        let node = try fixture.walk("dir/nested.bin")
        var opened = try fixture.client.callReceivingDescriptors(OpenAtRequest(fd: node.controlFD, flags: UInt32(O_RDONLY)))
        #expect(opened.descriptors.count == 1)
        let read = try fixture.client.call(PReadRequest(offset: 100, fd: opened.response.openFD, count: 5000))
        #expect(read.data == Array(expected[100..<5100]))
        let tail = try fixture.client.call(PReadRequest(offset: 12000, fd: opened.response.openFD, count: 5000))
        #expect(tail.data == Array(expected[12000...]))
        guard let donated = opened.descriptors.take() else { return }
        var bytes = [UInt8](repeating: 0, count: expected.count)
        let n = try bytes.withUnsafeMutableBytes { try donated.read(into: $0, at: 0) }
        #expect(n == expected.count && bytes == expected)
        // The hard link to a file outside the tree is the same inode: the gofer serves it.
        let outside = try fixture.walk("hardlink-outside")
        #expect(sameFile(outside.stat, try fixture.hostStat("hardlink-outside")))
        // Writes through a read-only open FD are refused.
        #expect(throws: LinuxErrno.EBADF) {
            try fixture.client.call(PWriteRequest(offset: 0, fd: opened.response.openFD, data: [1]))
        }
    }

    @Test("create, write, mkdir, symlink, link, rename, unlink and getdents match the host", arguments: goferModes)
    func mutations(confined: Bool) throws {
        let fixture = try GoferFixture(confined: confined)
        let root = fixture.client.root.controlFD
        let created = try fixture.client.call(
            OpenCreateAtRequest(dirFD: root, name: "new.txt", flags: UInt32(O_RDWR), mode: 0o640, uid: .none, gid: .none))
        let payload = Array("written through lisafs".utf8)
        let wrote = try fixture.client.call(PWriteRequest(offset: 0, fd: created.openFD, data: payload))
        #expect(wrote.count == UInt64(payload.count))
        #expect(try readFile(fixture.root + "/new.txt") == payload)
        #expect(try fixture.hostStat("new.txt").mode & 0o777 == 0o640 & ~UInt16(umaskValue()))

        let directory = try fixture.client.call(MkdirAtRequest(dirFD: root, name: "made", mode: 0o750, uid: .none, gid: .none))
        #expect(sameFile(directory.child.stat, try fixture.hostStat("made")))
        let link = try fixture.client.call(SymlinkAtRequest(dirFD: root, name: "sym", target: "new.txt", uid: .none, gid: .none))
        #expect(sameFile(link.symlink.stat, try fixture.hostStat("sym")))
        let hard = try fixture.client.call(LinkAtRequest(dirFD: directory.child.controlFD, target: created.child.controlFD, name: "hard"))
        #expect(hard.link.stat.inode == created.child.stat.inode)
        #expect(try fixture.hostStat("new.txt").nlink == 2)

        _ = try fixture.client.call(RenameAtRequest(oldDir: root, oldName: "new.txt", newDir: directory.child.controlFD, newName: "moved.txt"))
        #expect(access(fixture.root + "/made/moved.txt", F_OK) == 0 && access(fixture.root + "/new.txt", F_OK) != 0)
        // The control FD of the renamed file still opens it (its name moved with it).
        let reopened = try fixture.client.call(OpenAtRequest(fd: created.child.controlFD, flags: UInt32(O_RDONLY)))
        #expect(try fixture.client.call(PReadRequest(offset: 0, fd: reopened.openFD, count: 100)).data == payload)

        #expect(throws: LinuxErrno.EEXIST) {
            try fixture.client.call(RenameAt2Request(oldDir: root, oldName: "sym", newDir: root, newName: "file.txt", flags: 1))
        }
        #expect(throws: LinuxErrno.ENOTEMPTY) { try fixture.client.call(UnlinkAtRequest(dirFD: root, name: "made", flags: 0x200)) }
        _ = try fixture.client.call(UnlinkAtRequest(dirFD: directory.child.controlFD, name: "hard", flags: 0))
        #expect(try fixture.hostStat("made/moved.txt").nlink == 1)

        // getdents of the root: the same names as the host's readdir.
        let dir = try fixture.client.call(OpenAtRequest(fd: root, flags: UInt32(O_RDONLY | O_DIRECTORY)))
        var names: Set<String> = []
        while true {
            let entries = try fixture.client.call(Getdents64Request(dirFD: dir.openFD, count: 512))
            if entries.dirents.isEmpty { break }
            names.formUnion(entries.dirents.map(\.name.description))
        }
        #expect(names == Set(try hostNames(fixture.root)))
    }

    @Test("SetStat changes mode, times and size on the file itself", arguments: goferModes)
    func setStat(confined: Bool) throws {
        let fixture = try GoferFixture(confined: confined)
        let file = try fixture.walk("file.txt").controlFD
        let result = try fixture.client.call(
            SetStatRequest(
                fd: file, mask: LinuxStatx.modeBit | LinuxStatx.sizeBit | LinuxStatx.mtimeBit, mode: 0o600, uid: .none,
                gid: .none, size: 5, accessTime: LinuxTimespec(seconds: 0, nanoseconds: 0),
                modificationTime: LinuxTimespec(seconds: 1_000_000, nanoseconds: 42)))
        #expect(result.failureMask == 0)
        let host = try fixture.hostStat("file.txt")
        #expect(host.mode & 0o7777 == 0o600 && host.size == 5 && host.mtime.seconds == 1_000_000 && host.mtime.nanoseconds == 42)
        // A symlink's mode cannot change: the failure is reported, the target is untouched.
        let link = try fixture.walk("link-passwd").controlFD
        let before = try FileDescriptor.open("/etc/passwd", flags: OpenFlags.path.rawValue).statx()
        let failed = try fixture.client.call(
            SetStatRequest(
                fd: link, mask: LinuxStatx.modeBit, mode: 0o777, uid: .none, gid: .none, size: 0,
                accessTime: LinuxTimespec(seconds: 0, nanoseconds: 0), modificationTime: LinuxTimespec(seconds: 0, nanoseconds: 0)))
        #expect(failed.failureMask == LinuxStatx.modeBit)
        #expect(try FileDescriptor.open("/etc/passwd", flags: OpenFlags.path.rawValue).statx().mode == before.mode)
    }

    @Test("a read-only tree refuses every mutation with EROFS", arguments: goferModes)
    func readOnly(confined: Bool) throws {
        let fixture = try GoferFixture(readOnly: true, confined: confined)
        let root = fixture.client.root.controlFD
        let file = try fixture.walk("file.txt").controlFD
        let none = LinuxTimespec(seconds: 0, nanoseconds: 0)
        #expect(throws: LinuxErrno.EROFS) { try fixture.client.call(OpenAtRequest(fd: file, flags: UInt32(O_WRONLY))) }
        #expect(throws: LinuxErrno.EROFS) { try fixture.client.call(OpenAtRequest(fd: file, flags: UInt32(O_RDONLY | O_TRUNC))) }
        #expect(throws: LinuxErrno.EROFS) {
            try fixture.client.call(OpenCreateAtRequest(dirFD: root, name: "x", flags: 0, mode: 0o644, uid: .none, gid: .none))
        }
        #expect(throws: LinuxErrno.EROFS) { try fixture.client.call(MkdirAtRequest(dirFD: root, name: "x", mode: 0o755, uid: .none, gid: .none)) }
        #expect(throws: LinuxErrno.EROFS) {
            try fixture.client.call(SymlinkAtRequest(dirFD: root, name: "x", target: "y", uid: .none, gid: .none))
        }
        #expect(throws: LinuxErrno.EROFS) { try fixture.client.call(LinkAtRequest(dirFD: root, target: file, name: "x")) }
        #expect(throws: LinuxErrno.EROFS) { try fixture.client.call(UnlinkAtRequest(dirFD: root, name: "file.txt", flags: 0)) }
        #expect(throws: LinuxErrno.EROFS) {
            try fixture.client.call(RenameAtRequest(oldDir: root, oldName: "file.txt", newDir: root, newName: "y"))
        }
        #expect(throws: LinuxErrno.EROFS) {
            try fixture.client.call(
                SetStatRequest(fd: file, mask: LinuxStatx.modeBit, mode: 0o777, uid: .none, gid: .none, size: 0, accessTime: none, modificationTime: none))
        }
        // Reading still works.
        let opened = try fixture.client.call(OpenAtRequest(fd: file, flags: UInt32(O_RDONLY)))
        #expect(try fixture.client.call(PReadRequest(offset: 0, fd: opened.openFD, count: 64)).data == Array("hello gofer\n".utf8))
        #expect(try readFile(fixture.root + "/file.txt") == Array("hello gofer\n".utf8))
    }

    @Test("a gofer killed while calls are in flight fails them with EIO within a second", arguments: goferModes)
    func goferKilledMidCall(confined: Bool) throws {
        let fixture = try GoferFixture(confined: confined)
        let killer = try DelayedKill(pid: fixture.gofer.pid, afterMilliseconds: 100)
        let deadline = Clock.monotonicNanoseconds() + 10_000_000_000
        var failure: LinuxErrno?
        var calls = 0
        while failure == nil && Clock.monotonicNanoseconds() < deadline {
            do {
                _ = try fixture.client.call(WalkStatRequest(dirFD: fixture.client.root.controlFD, path: ["dir", "nested.bin"]))
                calls += 1
            } catch {
                failure = error
            }
        }
        let noticed = killer.secondsSinceKill
        #expect(failure == .EIO)
        #expect(calls > 0)
        #expect(noticed < 1.0, "noticed \(noticed) s after the kill")
        #expect(try fixture.gofer.wait() == .signaled(.SIGKILL))
    }

    @Test("a gofer killed mid-session fails calls with EIO at once")
    func goferKilled() throws {
        let fixture = try GoferFixture()
        _ = try fixture.walk("file.txt")
        kill(fixture.gofer.pid, SIGKILL)
        #expect(try fixture.gofer.wait() == .signaled(.SIGKILL))
        #expect(throws: LinuxErrno.EIO) { try fixture.walk("dir") }
        #expect(fixture.client.isBroken)
        #expect(throws: LinuxErrno.EIO) { try fixture.client.call(FStatRequest(fd: fixture.client.root.controlFD)) }
    }
}

/// The process umask (read by setting and restoring it).
func umaskValue() -> UInt32 {
    let value = umask(0o022)
    umask(value)
    return UInt32(value)
}

/// The names in a host directory, "." and ".." included, as getdents64 reports them.
func hostNames(_ path: String) throws -> [String] {
    guard let directory = opendir(path) else { throw Errno.current }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        names.append(withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
    }
    return names
}

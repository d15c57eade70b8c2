import Glibc
import Gofer
import HostSys
import LinuxABI
import TestSupport
import Testing

/// Whether this process may create namespaces and pivot_root (the confined gofer needs it).
let isRoot = getuid() == 0

/// The text of /proc/PID/FILE.
func procFile(_ pid: pid_t, _ file: String) throws -> String {
    let fd = try FileDescriptor.open("/proc/\(pid)/\(file)", flags: O_RDONLY)
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = try buffer.withUnsafeMutableBytes { try fd.read(into: $0) }
        if n == 0 { return String(decoding: bytes, as: UTF8.self) }
        bytes += buffer[0..<n]
    }
}

@Suite("runsc gofer: the confined gofer process", .enabled(if: isRoot, "needs root for namespaces and pivot_root"))
struct ConfinementTests {
    @Test("it runs under seccomp, in its own mount and network namespaces, rooted in the tree")
    func confined() throws {
        let fixture = try GoferFixture(confined: true)
        let pid = fixture.gofer.pid
        _ = try fixture.walk("dir/nested.bin")  // it serves
        let status = try procFile(pid, "status")
        #expect(status.split(separator: "\n").contains("Seccomp:\t2"), "\(status)")
        #expect(status.contains("NoNewPrivs:\t1"))
        // Only the capabilities a file server needs: chown, dac_override, dac_read_search, fowner, fsetid.
        #expect(status.split(separator: "\n").contains("CapEff:\t000000000000001f"))
        #expect(status.split(separator: "\n").contains("CapBnd:\t000000000000001f"))
        for namespace in ["mnt", "net"] {
            let ours = try FileDescriptor.open("/proc/self/ns/\(namespace)", flags: O_RDONLY).statx()
            let its = try FileDescriptor.open("/proc/\(pid)/ns/\(namespace)", flags: O_RDONLY).statx()
            #expect(ours.ino != its.ino, "\(namespace) namespace is shared")
        }
        // Its root is the tree: / of the gofer holds the tree's names and nothing else.
        #expect(Set(try hostNames("/proc/\(pid)/root")) == Set(try hostNames(fixture.root)))
        // Its network namespace is empty: only lo, and lo is down.
        let interfaces = try procFile(pid, "net/dev").split(separator: "\n").dropFirst(2).map { $0.split(separator: ":")[0].trimmingWhitespace() }
        #expect(interfaces == ["lo"])
        // A symlink to a host path leads nowhere inside its root.
        let link = try fixture.walk("link-passwd").controlFD
        #expect(throws: LinuxErrno.ELOOP) { try fixture.client.call(OpenAtRequest(fd: link, flags: 0)) }
    }

    @Test("the conformance checks hold against the confined gofer")
    func conformance() throws {
        let fixture = try GoferFixture(confined: true)
        for path in ["file.txt", "dir", "dir/nested.bin", "fifo", "hardlink-outside"] {
            #expect(sameFile(try fixture.walk(path).stat, try fixture.hostStat(path)), "\(path)")
        }
        let root = fixture.client.root.controlFD
        let created = try fixture.client.call(
            OpenCreateAtRequest(dirFD: root, name: "confined.txt", flags: UInt32(O_RDWR), mode: 0o600, uid: .none, gid: .none))
        _ = try fixture.client.call(PWriteRequest(offset: 0, fd: created.openFD, data: Array("inside".utf8)))
        #expect(try readFile(fixture.root + "/confined.txt") == Array("inside".utf8))
        let expected = try readFile(fixture.root + "/dir/nested.bin")
        let opened = try fixture.client.call(OpenAtRequest(fd: try fixture.walk("dir/nested.bin").controlFD, flags: 0))
        #expect(try fixture.client.call(PReadRequest(offset: 0, fd: opened.openFD, count: 20000)).data == expected)
        let entries = try fixture.client.call(OpenAtRequest(fd: root, flags: UInt32(O_RDONLY | O_DIRECTORY)))
        let dirents = try fixture.client.call(Getdents64Request(dirFD: entries.openFD, count: 4096))
        #expect(Set(dirents.dirents.map(\.name.description)) == Set(try hostNames(fixture.root)))
        _ = try fixture.client.call(UnlinkAtRequest(dirFD: root, name: "confined.txt", flags: 0))
        #expect(access(fixture.root + "/confined.txt", F_OK) != 0)
    }

    @Test("a read-only confined gofer refuses writes, and its tree is mounted read-only")
    func readOnly() throws {
        let fixture = try GoferFixture(readOnly: true, confined: true)
        let root = fixture.client.root.controlFD
        #expect(throws: LinuxErrno.EROFS) {
            try fixture.client.call(MkdirAtRequest(dirFD: root, name: "x", mode: 0o755, uid: .none, gid: .none))
        }
        let mounts = try procFile(fixture.gofer.pid, "mounts")
        #expect(mounts.split(separator: "\n").contains { $0.split(separator: " ").count > 3 && $0.split(separator: " ")[1] == "/" && $0.split(separator: " ")[3].hasPrefix("ro") })
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

import Dispatch
import Glibc
import Gofer
import HostSys
import LinuxABI
import TestSupport
import Testing

@Suite("Gofer: large transfers and concurrent calls")
struct ConcurrencyTests {
    @Test("reads and writes larger than a message are split and reassembled", arguments: goferModes)
    func chunking(confined: Bool) throws {
        let fixture = try GoferFixture(confined: confined)
        let size = 5 * 1024 * 1024 + 123
        let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
        let created = try fixture.client.call(
            OpenCreateAtRequest(
                dirFD: fixture.client.root.controlFD, name: "big.bin", flags: UInt32(O_RDWR), mode: 0o644, uid: .none, gid: .none))
        #expect(try fixture.client.write(created.openFD, offset: 0, data: data) == size)
        #expect(try readFile(fixture.root + "/big.bin") == data)
        #expect(try fixture.client.read(created.openFD, offset: 0, count: size + 1000) == data)
        #expect(try fixture.client.read(created.openFD, offset: UInt64(size - 10), count: 100) == Array(data[(size - 10)...]))
    }

    @Test("many threads call at once over the channels and the socket")
    func parallelCalls() throws {
        let fixture = try GoferFixture(channels: 2)
        let expected = try readFile(fixture.root + "/dir/nested.bin")
        let client = fixture.client
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<50 {
                do {
                    let walk = try client.call(WalkRequest(dirFD: client.root.controlFD, path: ["dir", "nested.bin"]))
                    guard let file = walk.inodes.last else { throw LinuxErrno.ENOENT }
                    let open = try client.call(OpenAtRequest(fd: file.controlFD, flags: 0))
                    let offset = (worker * 50 + round) % 12000
                    let data = try client.read(open.openFD, offset: UInt64(offset), count: 200)
                    if data != Array(expected[offset..<min(expected.count, offset + 200)]) { failures.add("worker \(worker) round \(round)") }
                    _ = try client.call(CloseRequest(fds: walk.inodes.map(\.controlFD) + [open.openFD]))
                } catch {
                    failures.add("worker \(worker) round \(round): \(error)")
                }
            }
        }
        #expect(failures.list.isEmpty, "\(failures.list.prefix(5))")
    }

    @Test("renames racing walks never let a walk out of the tree", arguments: goferModes)
    func renameRacesWalk(confined: Bool) throws {
        let fixture = try GoferFixture(confined: confined)
        let root = fixture.root
        // Every inode the tree can hold during the race; /etc and / are outside it.
        let outside = [try FileDescriptor.open("/etc", flags: O_RDONLY).statx().ino, try FileDescriptor.open("/", flags: O_RDONLY).statx().ino,
                       try FileDescriptor.open(fixture.outside, flags: O_RDONLY).statx().ino]
        let stop = Failures()
        let renamer = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            // Moves dir/sub up and back down, and swaps a symlink in for it, as fast as it can.
            for _ in 0..<2000 {
                rename(root + "/dir/sub", root + "/sub-moved")
                symlink("../..", root + "/dir/sub")
                unlink(root + "/dir/sub")
                rename(root + "/sub-moved", root + "/dir/sub")
            }
            renamer.signal()
        }
        var walks = 0
        while renamer.wait(timeout: .now()) == .timedOut && walks < 20000 {
            walks += 1
            // ".." is refused when the walk reaches it; a walk may also stop earlier, at a
            // missing "sub" or at the symlink swapped in for it. It never gets past "sub".
            guard let answer = try? fixture.client.call(
                WalkRequest(dirFD: fixture.client.root.controlFD, path: ["dir", "sub", "..", "etc"]))
            else { continue }
            if answer.status == .success || answer.inodes.count > 2 { stop.add("a walk went through ..") }
            for inode in answer.inodes where outside.contains(inode.stat.inode) { stop.add("walk reached an outside inode") }
            _ = try? fixture.client.call(CloseRequest(fds: answer.inodes.map(\.controlFD)))
        }
        for _ in 0..<500 {
            guard let answer = try? fixture.client.call(WalkRequest(dirFD: fixture.client.root.controlFD, path: ["dir", "sub"])) else { continue }
            for inode in answer.inodes where outside.contains(inode.stat.inode) { stop.add("walk reached an outside inode") }
            _ = try? fixture.client.call(CloseRequest(fds: answer.inodes.map(\.controlFD)))
        }
        #expect(stop.list.isEmpty, "\(stop.list.prefix(3))")
    }
}

/// Failure messages collected from several threads.
final class Failures: @unchecked Sendable {
    private var messages: [String] = []
    private let lock = NSLockLike()

    func add(_ message: String) { lock.locked { messages.append(message) } }
    var list: [String] { lock.locked { messages } }
}

/// A pthread mutex, for test bookkeeping across threads.
final class NSLockLike: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}

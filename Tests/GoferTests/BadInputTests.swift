import Flipcall
import Glibc
import Gofer
import HostSys
import LinuxABI
import TestSupport
import Testing

/// A gofer in another process, talked to with raw bytes instead of the client.
final class RawGofer {
    let fixture: GoferFixture
    let socket: FileDescriptor
    let gofer: RunningHelper

    init() throws {
        fixture = try GoferFixture()  // for the tree; its own gofer is not used here
        let sockets = try UnixSocket.pair()
        gofer = try Helper.start("gofer-serve", [fixture.root], descriptors: [(sockets.second.rawValue, 3)])
        _ = consume sockets.second
        socket = sockets.first
        guard try gofer.readLine() == "serving" else { throw Errno.EIO }
    }

    /// Sends raw bytes on the socket.
    func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try socket.writeAll($0) }
    }

    /// Sends a framed message (header with the true length) and reads the answer's MID and
    /// payload, or nil if the gofer closed the connection.
    func exchange(_ id: UInt16, _ payload: [UInt8], announcedLength: UInt32? = nil) throws -> (UInt16, [UInt8])? {
        var header = [UInt8](repeating: 0, count: 8)
        let length = announcedLength ?? UInt32(payload.count)
        for i in 0..<4 { header[i] = UInt8(truncatingIfNeeded: length >> (8 * i)) }
        header[4] = UInt8(truncatingIfNeeded: id)
        header[5] = UInt8(truncatingIfNeeded: id >> 8)
        try send(header + payload)
        var answer = [UInt8](repeating: 0, count: 8)
        guard try answer.withUnsafeMutableBytes({ try socket.readExactly(into: $0) }) else { return nil }
        let answerLength = Int(answer[0]) | Int(answer[1]) << 8 | Int(answer[2]) << 16 | Int(answer[3]) << 24
        var body = [UInt8](repeating: 0, count: answerLength)
        _ = try body.withUnsafeMutableBytes { try socket.readExactly(into: $0) }
        return (UInt16(answer[4]) | UInt16(answer[5]) << 8, body)
    }

    /// The errno of an Error answer, or nil for another answer.
    static func errno(_ answer: (UInt16, [UInt8])?) -> Int32? {
        guard let (id, body) = answer, id == 0, body.count == 4 else { return nil }
        return Int32(body[0]) | Int32(body[1]) << 8 | Int32(body[2]) << 16 | Int32(body[3]) << 24
    }

    func openDescriptors() -> Int { GoferFixture.openDescriptorCount(pid: gofer.pid) }
}

@Suite("Gofer: malformed input from the client")
struct BadInputTests {
    @Test("unknown MIDs, garbage payloads, lying counts and stale ids get Error answers; no fd leaks")
    func errorAnswers() throws {
        let raw = try RawGofer()
        let mount = try #require(try raw.exchange(1, []))
        #expect(mount.0 == 1)
        let before = raw.openDescriptors()

        #expect(RawGofer.errno(try raw.exchange(999, [1, 2, 3])) == LinuxErrno.ENOSYS.rawValue)
        #expect(RawGofer.errno(try raw.exchange(0, [])) == LinuxErrno.ENOSYS.rawValue)  // Error is not a request
        #expect(RawGofer.errno(try raw.exchange(3, [1, 2])) == LinuxErrno.EINVAL.rawValue)  // FStat, short
        #expect(RawGofer.errno(try raw.exchange(3, [UInt8](repeating: 0, count: 9))) == LinuxErrno.EINVAL.rawValue)
        // Walk whose name count says 1000 names follow, with none there.
        #expect(RawGofer.errno(try raw.exchange(5, [1, 0, 0, 0, 0, 0, 0, 0, 0xe8, 0x03])) == LinuxErrno.EINVAL.rawValue)
        // Close of ids never issued, then FStat of them.
        #expect(try raw.exchange(9, [2, 0] + [UInt8](repeating: 0x7f, count: 16))?.0 == 9)
        #expect(RawGofer.errno(try raw.exchange(3, [0x7f, 0, 0, 0, 0, 0, 0, 0])) == LinuxErrno.EBADF.rawValue)
        #expect(RawGofer.errno(try raw.exchange(3, [0, 0, 0, 0, 0, 0, 0, 0])) == LinuxErrno.EBADF.rawValue)
        // Random payloads for every MID but Channel (which opens a channel, and has its own
        // test): every answer is well-formed, the gofer stays up.
        var generator = SystemRandomNumberGenerator()
        for id in UInt16(0)...40 where id != 2 {
            for _ in 0..<20 {
                let payload = (0..<Int.random(in: 0..<64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let answer = try raw.exchange(id, payload)
                #expect(answer != nil, "MID \(id)")
            }
        }
        // Whatever the random calls made (a random Walk of the root can succeed), closing the
        // ids brings the fd count back.
        let closeAll = [UInt8](arrayLiteral: 0x00, 0x04) + (1...1024).flatMap { id in [UInt8(id & 0xff), UInt8(id >> 8), 0, 0, 0, 0, 0, 0] }
        _ = try raw.exchange(9, closeAll)
        #expect(raw.openDescriptors() <= before)
    }

    @Test("a header announcing a huge message, or a message cut short, closes the connection")
    func closesConnection() throws {
        let huge = try RawGofer()
        #expect(try huge.exchange(3, [], announcedLength: 0xffff_ff00) == nil)
        #expect(try huge.gofer.readLine() == "open files 0")
        #expect(try huge.gofer.wait() == .exited(0))

        let short = try RawGofer()
        try short.send([100, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3])  // 100 bytes announced, 3 sent
        Glibc.shutdown(short.socket.rawValue, Int32(SHUT_WR))
        #expect(try short.gofer.readLine() == "open files 0")
        #expect(try short.gofer.wait() == .exited(0))
    }

    @Test("malformed messages in a flipcall channel get Error answers")
    func channelInput() throws {
        let raw = try RawGofer()
        _ = try raw.exchange(1, [])
        // Ask for a channel over the socket; the answer carries the channel's memfd and socket.
        var header = [UInt8](repeating: 0, count: 8)
        header[4] = 2
        try raw.send(header)
        let answerHeader = UnsafeMutableRawBufferPointer.allocate(byteCount: 8, alignment: 8)
        defer { answerHeader.deallocate() }
        var message = try UnixSocket.receive(on: raw.socket, into: answerHeader, maxDescriptors: 2)
        #expect(message.count == 8 && message.descriptors.count == 2)
        var body = [UInt8](repeating: 0, count: 16)
        _ = try body.withUnsafeMutableBytes { try raw.socket.readExactly(into: $0) }
        guard let memory = message.descriptors.take(), let peer = message.descriptors.take() else { return }
        let channel = try Endpoint(files: ChannelFiles(memory: memory, socket: peer), side: .client)

        func call(_ bytes: [UInt8]) throws -> Int32? {
            try bytes.withUnsafeBytes { try channel.write($0) }
            let length = try channel.call(length: bytes.count)
            let reply = Array(channel.window[0..<length])
            guard reply.count == 8, reply[0] == 0 else { return nil }
            return Int32(reply[4]) | Int32(reply[5]) << 8 | Int32(reply[6]) << 16 | Int32(reply[7]) << 24
        }
        #expect(try call([]) == LinuxErrno.EINVAL.rawValue)  // shorter than the channel header
        #expect(try call([3, 0]) == LinuxErrno.EINVAL.rawValue)
        #expect(try call([200, 0, 0, 0]) == LinuxErrno.ENOSYS.rawValue)
        #expect(try call([3, 0, 0, 0, 1, 2, 3]) == LinuxErrno.EINVAL.rawValue)
        #expect(try call([2, 0, 0, 0]) == LinuxErrno.EINVAL.rawValue)  // Channel inside a channel
        #expect(try call([3, 0, 0, 0, 0x55, 0, 0, 0, 0, 0, 0, 0]) == LinuxErrno.EBADF.rawValue)
    }
}

import Flipcall
import Glibc
import HostSys
import LinuxABI

/// The exchanges the benchmark measures. Every one does the same work per round trip: the
/// client sends `size` bytes from its buffer, the server copies them all into its own buffer
/// and answers with an empty reply. A pipe or socket cannot send 0 bytes, so there the request
/// is at least 1 byte and the reply is 1 byte.
enum Transport: String, CaseIterable {
    case flipcallFutex = "flipcall-futex"
    case flipcallSpin = "flipcall-spin"
    case pipe = "pipe"
    case socket = "unix-socket"

    var policy: WaitPolicy { self == .flipcallSpin ? WaitPolicy(spinIterations: 10_000_000) : .futex }
}

/// Fd numbers the peer finds its channel at.
enum PeerFD {
    static let first: Int32 = 3
    static let second: Int32 = 4
    static let done: Int32 = 5
}

/// The client's end of one exchange, after the peer is started.
enum ClientEnd {
    case flipcall(Endpoint)
    /// (write requests, read replies): two pipes, or the same socket twice.
    case stream(request: Int32, reply: Int32)
}

/// Writes all of `count` bytes at `buffer` to `fd`.
func writeAll(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) throws(Errno) {
    var done = 0
    while done < count {
        done += try hostCall { Glibc.write(fd, buffer + done, count - done) }
    }
}

/// Reads exactly `count` bytes from `fd` into `buffer`; false on end of file.
func readAll(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) throws(Errno) -> Bool {
    var done = 0
    while done < count {
        let n = try hostCall { Glibc.read(fd, buffer + done, count - done) }
        if n == 0 { return false }
        done += n
    }
    return true
}

/// The peer process's side: serves requests of `size` bytes until the channel ends.
func servePeer(transport: Transport, size: Int, cpu: Int?) throws {
    if let cpu { try CPU.pinCurrentThread(to: cpu) }
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 64)
    defer { buffer.deallocate() }
    switch transport {
    case .flipcallFutex, .flipcallSpin:
        let files = ChannelFiles(memory: FileDescriptor(owning: PeerFD.first), socket: FileDescriptor(owning: PeerFD.second))
        let server = try Endpoint(files: files, side: .server, policy: transport.policy)
        var length = try server.receive()
        while true {
            // The server consumes the request: copy it out of the window.
            UnsafeMutableRawBufferPointer(start: buffer, count: size).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: server.window[0..<length]))
            do {
                length = try server.reply(length: 0)
            } catch FlipcallError.shutdown {
                return
            }
        }
    case .pipe, .socket:
        let request = PeerFD.first
        let reply = transport == .pipe ? PeerFD.second : PeerFD.first
        var ack: UInt8 = 1
        while try readAll(request, buffer, max(size, 1)) {
            try writeAll(reply, &ack, 1)
        }
    }
}

/// The peer of the one-way tests: consumes `count` messages from a ring, or reads
/// `count` × `size` bytes from a pipe, then writes one byte to the done pipe.
func consumePeer(ring: Bool, count: Int, size: Int, cpu: Int?) throws {
    if let cpu { try CPU.pinCurrentThread(to: cpu) }
    var consumed = 0
    var checksum: UInt64 = 0
    if ring {
        let files = ChannelFiles(memory: FileDescriptor(owning: PeerFD.first), socket: FileDescriptor(owning: PeerFD.second))
        let consumer = try RingConsumer(files: files, policy: WaitPolicy(spinIterations: 2000))
        while consumed < count {
            consumed += try consumer.consume { checksum &+= UInt64($0.count) }
        }
    } else {
        let capacity = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        defer { buffer.deallocate() }
        var bytes = 0
        let total = count * size
        while bytes < total {
            let n = try hostCall { Glibc.read(PeerFD.first, buffer, min(capacity, total - bytes)) }
            if n == 0 { break }
            bytes += n
        }
        checksum = UInt64(bytes)
    }
    var done = UInt8(truncatingIfNeeded: checksum)
    try writeAll(PeerFD.done, &done, 1)
}

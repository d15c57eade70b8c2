import Flipcall
import HostSys
import LinuxABI
import Synchronization

/// The client side of a lisafs connection, as the Sentry uses it: mounts over the unix
/// socket, then makes calls over a pool of flipcall channels (one per concurrently busy
/// thread), falling back to the socket when every channel is busy.
///
/// A transport failure (the gofer died, or answered with something malformed) fails that
/// call with EIO and marks the connection broken: every later call fails with EIO at once,
/// nothing waits for a gofer that is gone.
///
/// Locks: `socket` is held for a whole exchange on the socket; `freeChannels` only to take or
/// return a channel. Neither is held while the other is taken.
public final class LisafsClient: Sendable {
    /// The root of the served tree.
    public let root: LisafsInode
    /// The largest message (header included) the server accepts.
    public let maxMessageSize: UInt32
    /// The messages the server implements.
    public let supportedMessages: Set<LisafsMessageID>

    private let socket: Mutex<FileDescriptor>
    private let freeChannels = Mutex<[Endpoint]>([])
    private let allChannels: [Endpoint]
    private let broken = Atomic<Bool>(false)

    /// Mounts over `socket` and opens `channels` flipcall channels (0: socket only), whose
    /// calls wait for answers as `policy` says.
    public init(socket: consuming FileDescriptor, channels: Int = 2, policy: WaitPolicy = .lisafs) throws(LinuxErrno) {
        let mount = try Self.socketCall(MountRequest(), on: socket, maxMessageSize: Lisafs.maxMessageSize)
        root = mount.response.root
        maxMessageSize = min(mount.response.maxMessageSize, Lisafs.maxMessageSize)
        supportedMessages = Set(mount.response.supportedMessages)
        var opened: [Endpoint] = []
        for _ in 0..<channels {
            var reply = try Self.socketCall(ChannelRequest(), on: socket, maxMessageSize: maxMessageSize)
            guard reply.descriptors.count == 2, let memory = reply.descriptors.take(), let peer = reply.descriptors.take()
            else { throw .EIO }
            do {
                opened.append(try Endpoint(files: ChannelFiles(memory: memory, socket: peer), side: .client, policy: policy))
            } catch {
                throw .EIO
            }
        }
        self.socket = Mutex(socket)
        allChannels = opened
        freeChannels.withLock { $0 = opened }
    }

    deinit {
        for channel in allChannels { channel.shutdown() }
    }

    /// Whether a transport failure has ended the connection.
    public var isBroken: Bool { broken.load(ordering: .relaxed) }

    /// Makes one call. Errors the server reports come back as their errno; a transport
    /// failure is EIO. Fds the server donated with the answer are closed; use
    /// `callReceivingDescriptors` to keep them.
    public func call<Request: LisafsRequest>(_ request: Request) throws(LinuxErrno) -> Request.Response {
        try callReceivingDescriptors(request).response
    }

    /// Like `call`, and returns the fds the server donated with the answer.
    public func callReceivingDescriptors<Request: LisafsRequest>(_ request: Request) throws(LinuxErrno)
        -> LisafsAnswer<Request.Response>
    {
        if broken.load(ordering: .relaxed) { throw .EIO }
        let channel = freeChannels.withLock { $0.popLast() }
        do {
            if let channel {
                defer { freeChannels.withLock { $0.append(channel) } }
                return try Self.channelCall(request, on: channel, maxMessageSize: maxMessageSize)
            }
            let maxMessageSize = self.maxMessageSize
            return try socket.withLock { (socket) throws(LinuxErrno) in
                try Self.socketCall(request, on: socket, maxMessageSize: maxMessageSize)
            }
        } catch {
            if error == .EIO { markBroken() }
            throw error
        }
    }

    private func markBroken() {
        broken.store(true, ordering: .relaxed)
        for channel in allChannels { channel.shutdown() }
    }

    // MARK: Transports

    private static func socketCall<Request: LisafsRequest>(
        _ request: Request, on socket: borrowing FileDescriptor, maxMessageSize: UInt32
    ) throws(LinuxErrno) -> LisafsAnswer<Request.Response> {
        let message: SocketMessage
        do {
            try SocketFraming.send(on: socket, Request.messageID, payload: request.encoded())
            message = try SocketFraming.receive(on: socket, maxMessageSize: maxMessageSize)
        } catch {
            throw .EIO
        }
        var payload = ByteReader(message.payload)
        return LisafsAnswer(
            response: try decodeAnswer(Request.Response.self, id: message.messageID, payload: &payload),
            descriptors: message.descriptors)
    }

    private static func channelCall<Request: LisafsRequest>(
        _ request: Request, on channel: Endpoint, maxMessageSize: UInt32
    ) throws(LinuxErrno) -> LisafsAnswer<Request.Response> {
        var writer = ByteWriter(capacity: LisafsChannelHeader.size + request.encodedSize)
        LisafsChannelHeader(messageID: Request.messageID).encode(into: &writer)
        request.encode(into: &writer)
        guard writer.count <= channel.capacity else { throw .EINVAL }
        let bytes = writer.bytes
        let sent = bytes.withUnsafeBytes { buffer in Result { () throws(FlipcallError) in try channel.write(buffer) } }
        do {
            try sent.get()
            let length = try channel.call(length: bytes.count)
            let answer = ByteReader(copying: UnsafeRawBufferPointer(rebasing: channel.window[0..<length]))
            var (header, payload) = try decodeChannelMessage(answer, length: length, maxMessageSize: maxMessageSize)
            let descriptors = header.fdCount > 0 ? try channel.receiveDescriptors(max: Int(header.fdCount)) : ReceivedDescriptors()
            guard descriptors.count == Int(header.fdCount) else { throw LinuxErrno.EIO }
            return LisafsAnswer(
                response: try decodeAnswer(Request.Response.self, id: header.messageID, payload: &payload),
                descriptors: descriptors)
        } catch let error as LinuxErrno {
            throw error
        } catch {
            throw .EIO
        }
    }

    private static func decodeChannelMessage(_ answer: ByteReader, length: Int, maxMessageSize: UInt32) throws(LinuxErrno)
        -> (LisafsChannelHeader, ByteReader)
    {
        do {
            return try LisafsChannelHeader.decodeMessage(answer, dataLength: UInt32(length), maxMessageSize: maxMessageSize)
        } catch {
            throw .EIO
        }
    }

    /// The server's answer as `Response`, or the errno of its Error answer. Anything else
    /// (another MID, a payload that does not decode) is a broken server: EIO.
    private static func decodeAnswer<Response: LisafsResponse>(
        _ type: Response.Type, id: LisafsMessageID, payload: inout ByteReader
    ) throws(LinuxErrno) -> Response {
        if id == .error {
            guard let error = try? ErrorResponse(decodingAll: &payload) else { throw .EIO }
            throw LinuxErrno(Int32(bitPattern: error.errno))
        }
        guard id == Response.messageID, let response = try? Response(decodingAll: &payload) else { throw .EIO }
        return response
    }
}

/// An answer and the fds the server donated with it.
public struct LisafsAnswer<Response: LisafsResponse>: ~Copyable {
    public var response: Response
    public var descriptors: ReceivedDescriptors
}

extension LisafsClient {
    /// Bytes of file data one PRead answer or PWrite request can carry.
    var maxDataPerMessage: Int { Int(maxMessageSize) - LisafsChannelHeader.size - 24 }

    /// Reads up to `count` bytes at `offset` from an open FD, in as many PRead calls as the
    /// message size requires; stops early at end of file.
    public func read(_ fd: LisafsFDID, offset: UInt64, count: Int) throws(LinuxErrno) -> [UInt8] {
        if count <= maxDataPerMessage {  // one call: its answer is the result, no copy
            let answer = try call(PReadRequest(offset: offset, fd: fd, count: UInt32(count)))
            guard answer.data.count <= count else { throw .EIO }
            return answer.data
        }
        var data: [UInt8] = []
        data.reserveCapacity(count)
        while data.count < count {
            let chunk = min(count - data.count, maxDataPerMessage)
            let answer = try call(PReadRequest(offset: offset + UInt64(data.count), fd: fd, count: UInt32(chunk)))
            guard answer.data.count <= chunk else { throw .EIO }  // more than asked: a broken server
            data += answer.data
            if answer.data.count < chunk { break }
        }
        return data
    }

    /// Writes `data` at `offset` to an open FD, in as many PWrite calls as the message size
    /// requires. Returns the bytes written (short only if the server wrote short).
    public func write(_ fd: LisafsFDID, offset: UInt64, data: [UInt8]) throws(LinuxErrno) -> Int {
        var written = 0
        while written < data.count {
            let chunk = Array(data[written..<min(data.count, written + maxDataPerMessage)])
            let answer = try call(PWriteRequest(offset: offset + UInt64(written), fd: fd, data: chunk))
            guard answer.count <= UInt64(chunk.count) else { throw .EIO }
            written += Int(answer.count)
            if Int(answer.count) < chunk.count { break }
        }
        return written
    }
}

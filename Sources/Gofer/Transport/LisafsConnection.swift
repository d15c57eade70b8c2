import Flipcall
import HostSys
import LinuxABI
import Logging
import Synchronization

/// The server side of one lisafs connection: requests on a unix socket, and on the flipcall
/// channels the client asks for with Channel. One thread per channel, one for the socket.
///
/// The connection ends when the client closes its socket or sends something this side
/// refuses (a header too large, a message cut short): then every channel is shut down.
public final class LisafsConnection: Sendable {
    private static let log = Logger(label: "gofer.connection")

    public let server: LisafsServer
    /// How channel threads wait for the next request: spin briefly (a Sentry thread usually
    /// sends its next call at once), then sleep.
    public let channelPolicy: WaitPolicy
    private let socket: FileDescriptor
    private let channels = Mutex<[Endpoint]>([])
    /// The most channels one client may open.
    public static let maxChannels = 16

    public init(server: LisafsServer, socket: consuming FileDescriptor, channelPolicy: WaitPolicy = .lisafs) {
        self.server = server
        self.socket = socket
        self.channelPolicy = channelPolicy
    }

    /// Serves the socket on the calling thread until the client goes away.
    public func serve() {
        defer { shutdown() }
        while true {
            let message: SocketMessage
            do {
                message = try SocketFraming.receive(on: socket, maxMessageSize: server.maxMessageSize, maxDescriptors: 0)
            } catch {
                if error != .closed { Self.log.warning("closing lisafs connection: \(error)") }
                return
            }
            let reply: (reply: LisafsReply, descriptors: [Int32], keep: ChannelKeeper?)
            if message.messageID == .channel {
                reply = openChannel(message.payload)
            } else {
                let answer = server.handle(message.messageID, payload: message.payload)
                reply = (answer, answer.donatedDescriptors, nil)
            }
            do {
                // `reply` (and the channel files it keeps) lives until the send is done.
                try SocketFraming.send(on: socket, reply.reply.messageID, payload: reply.reply.payload, descriptors: reply.descriptors)
            } catch {
                return
            }
            withExtendedLifetime(reply.keep) {}
        }
    }

    /// Shuts every channel down (their threads end) and stops serving.
    public func shutdown() {
        for channel in channels.withLock({ $0 }) { channel.shutdown() }
    }

    /// Channel: makes a flipcall channel with a window of the largest message, starts its
    /// thread, and answers with the channel's memfd and socket as donated fds.
    private func openChannel(_ payload: [UInt8]) -> (reply: LisafsReply, descriptors: [Int32], keep: ChannelKeeper?) {
        guard payload.isEmpty else { return (LisafsReply(error: .EINVAL), [], nil) }
        guard channels.withLock({ $0.count }) < Self.maxChannels else { return (LisafsReply(error: .ENOMEM), [], nil) }
        do {
            let pair = try Endpoint.makeChannel(capacity: Int(server.maxMessageSize))
            let endpoint = try Endpoint(files: pair.local, side: .server, policy: channelPolicy)
            channels.withLock { $0.append(endpoint) }
            let server = self.server
            try HostThread.detach { serveChannel(endpoint, server: server) }
            let keeper = ChannelKeeper(pair.remote)
            let response = ChannelResponse(dataOffset: 128, dataLength: UInt64(endpoint.capacity))
            return (LisafsReply(response), keeper.descriptors, keeper)
        } catch {
            Self.log.warning("cannot open a channel: \(error)")
            return (LisafsReply(error: .ENOMEM), [], nil)
        }
    }
}

extension WaitPolicy {
    /// lisafs channels: spin about as long as a quick call takes before sleeping, so a
    /// client that waits for a stat does not pay two cross-CPU wake-ups.
    public static let lisafs = WaitPolicy(spinIterations: 4000)
}

/// Holds the client's ends of a new channel until they are sent (then they close here, so the
/// server side sees the client's death as a hang-up).
final class ChannelKeeper: Sendable {
    private let memory: FileDescriptor
    private let socket: FileDescriptor

    init(_ files: consuming ChannelFiles) {
        memory = files.memory
        socket = files.socket
    }

    var descriptors: [Int32] { [memory.rawValue, socket.rawValue] }
}

/// The loop of one channel's thread: requests in the window, answers in the window, donated
/// fds over the channel's socket before the answer.
func serveChannel(_ endpoint: Endpoint, server: LisafsServer) {
    do {
        var length = try endpoint.receive()
        while true {
            // Copy the request out first: the client could rewrite the window while we decode.
            let request = ByteReader(copying: UnsafeRawBufferPointer(rebasing: endpoint.window[0..<length]))
            let reply: LisafsReply
            switch Result(catching: { () throws(LisafsDecodeError) in
                try LisafsChannelHeader.decodeMessage(request, dataLength: UInt32(length), maxMessageSize: server.maxMessageSize)
            }) {
            case .failure(let error):
                reply = LisafsReply(error: error.errno)
            case .success(let (header, decoded)):
                var payload = decoded
                if header.messageID == .pread, let answered = readInPlace(&payload, endpoint: endpoint, server: server) {
                    length = try endpoint.reply(length: answered)
                    continue
                }
                reply = header.messageID == .channel ? LisafsReply(error: .EINVAL) : server.handle(header.messageID, payload: &payload)
            }
            let descriptors = reply.donatedDescriptors
            var header = ByteWriter(capacity: LisafsChannelHeader.size)
            LisafsChannelHeader(messageID: reply.messageID, fdCount: UInt8(descriptors.count)).encode(into: &header)
            if !descriptors.isEmpty { try endpoint.send(descriptors: descriptors) }
            let written = header.bytes.withUnsafeBytes { headerBytes in
                reply.payload.withUnsafeBytes { payloadBytes in
                    Result { () throws(FlipcallError) in
                        try endpoint.write(headerBytes)
                        try endpoint.write(payloadBytes, at: LisafsChannelHeader.size)
                    }
                }
            }
            try written.get()
            length = try endpoint.reply(length: LisafsChannelHeader.size + reply.payload.count)
        }
    } catch {
        endpoint.shutdown()
    }
}

/// PRead answered in place: the file's bytes are read straight into the window behind the
/// answer's header and count. Returns the answer's length, or nil when the request does not
/// decode or fails (then the general path answers it, with the error).
private func readInPlace(_ payload: inout ByteReader, endpoint: Endpoint, server: LisafsServer) -> Int? {
    var copy = payload
    guard let request = try? PReadRequest(decodingAll: &copy) else { return nil }
    let dataOffset = LisafsChannelHeader.size + 8
    let room = UnsafeMutableRawBufferPointer(rebasing: endpoint.window[dataOffset...])
    guard let count = try? server.pread(request, into: room) else { return nil }
    // The answer: channel header (MID, no fds), then the count, then the bytes already there.
    var prefix = ByteWriter(capacity: dataOffset)
    LisafsChannelHeader(messageID: .pread).encode(into: &prefix)
    prefix.writeInteger(UInt64(count))
    let written = prefix.bytes.withUnsafeBytes { bytes in Result { () throws(FlipcallError) in try endpoint.write(bytes) } }
    guard (try? written.get()) != nil else { return nil }
    return dataOffset + count
}

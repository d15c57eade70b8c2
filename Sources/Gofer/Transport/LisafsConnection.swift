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
            do {
                let (header, payload) = try LisafsChannelHeader.decodeMessage(
                    request, dataLength: UInt32(length), maxMessageSize: server.maxMessageSize)
                reply = header.messageID == .channel
                    ? LisafsReply(error: .EINVAL) : server.handle(header.messageID, payload: Array(payload.bytes))
            } catch {
                reply = LisafsReply(error: error.errno)
            }
            let descriptors = reply.donatedDescriptors
            var writer = ByteWriter(capacity: LisafsChannelHeader.size + reply.payload.count)
            LisafsChannelHeader(messageID: reply.messageID, fdCount: UInt8(descriptors.count)).encode(into: &writer)
            writer.writeBytes(reply.payload)
            if !descriptors.isEmpty { try endpoint.send(descriptors: descriptors) }
            let written = writer.bytes.withUnsafeBytes { bytes in
                Result { () throws(FlipcallError) in try endpoint.write(bytes) }
            }
            try written.get()
            length = try endpoint.reply(length: writer.count)
        }
    } catch {
        endpoint.shutdown()
    }
}

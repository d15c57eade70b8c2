import Flipcall
import HostSys
import LinuxABI
import Logging

/// The Netstack's side of the socket RPC (the `runsc netstack` process): it takes the
/// Sentry's Flipcall channels from the control socket, serves `SocketCalls` on each from its
/// own thread, and tells the Sentry of changes on a ring (a socket's new readiness and its
/// stamp per entry, `SocketService.Change`; a full ring waits for the Sentry to drain it).
///
/// Setup on the control socket: the Sentry sends one message per channel (the byte
/// `channelMessage` with the channel's memfd and socket), 1 to `maximumChannels` of them, then
/// the ring's (`ringMessage`).
public enum NetstackServer {
    private static let log = Logger(label: "netstack.server")
    static let maximumChannels = 8
    static let channelMessage: UInt8 = 1
    static let ringMessage: UInt8 = 2

    /// Serves `service` to the Sentry at the other end of `control` until it goes away.
    public static func serve(_ service: SocketService, control: consuming FileDescriptor) throws(LinuxErrno) {
        var endpoints: [Endpoint] = []
        while true {
            var kind: UInt8 = 0
            var received = try onBehalfOfGuest { () throws(Errno) in
                try withUnsafeMutableBytes(of: &kind) { (buffer) throws(Errno) in try UnixSocket.receive(on: control, into: buffer, maxDescriptors: 2) }
            }
            guard received.count == 1, let memory = received.descriptors.take(), let socket = received.descriptors.take() else {
                throw .EINVAL
            }
            let files = ChannelFiles(memory: memory, socket: socket)
            do throws(FlipcallError) {
                if kind == channelMessage, endpoints.count < maximumChannels {
                    endpoints.append(try Endpoint(files: files, side: .server))
                    continue
                }
                guard kind == ringMessage, !endpoints.isEmpty else { throw .shutdown }
                let ring = try RingProducer(files: files)
                guard ring.maximumMessageSize >= SocketRPC.changeEntrySize else { throw .shutdown }
                let ringLock = Monitor()
                // The client keeps every report (`NetstackClient`): only changes need telling.
                service.reportsOnlyChanges = true
                // Replies go before the frames their calls made (`serveChannel`).
                service.holdsCallOutput = true
                service.onChange = { changes in
                    // A full ring waits for the Sentry to take what it holds; a Sentry that is
                    // gone fails the ring, and the changes are dropped with it.
                    ringLock.locked {
                        for change in changes {
                            let entry = SocketRPC.encode(change)
                            let staged = entry.withUnsafeBytes { (try? ring.write($0)) ?? false }
                            if !staged {
                                try? ring.publish()
                                entry.withUnsafeBytes { try? ring.push($0) }
                            }
                        }
                        try? ring.publish()
                    }
                }
                break
            } catch {
                throw .EINVAL
            }
        }
        for endpoint in endpoints.dropFirst() {
            do {
                try HostThread.detach { serveChannel(endpoint, service) }
            } catch {
                throw error.linuxErrno
            }
        }
        if let first = endpoints.first { serveChannel(first, service) }
        for endpoint in endpoints { endpoint.shutdown() }
    }

    /// Answers the requests of one channel until the Sentry shuts it or dies.
    static func serveChannel(_ endpoint: Endpoint, _ service: SocketService) {
        do {
            var length = try endpoint.receive()
            while true {
                length = try endpoint.reply(length: answer(in: endpoint.window, length: length, service)) { service.releaseOutput() }
            }
        } catch {
            service.releaseOutput()
            log.debug("a socket channel ended: \(error)")
        }
    }

    /// Answers the request of `length` bytes in `window` with a reply in its place; returns
    /// the reply's length. The data of a send or receive moves between the window and the
    /// socket without a copy in between; every other call goes through `answerControl`.
    static func answer(in window: UnsafeMutableRawBufferPointer, length: Int, _ service: SocketService) -> Int {
        let request = UnsafeRawBufferPointer(rebasing: window[0..<min(max(length, 0), window.count)])
        let operation = request.first.flatMap(SocketRPC.Operation.init)
        guard operation == .send || operation == .receive else {
            let reply = answerControl(ByteReader(copying: request), service)
            reply.withUnsafeBytes { window.copyMemory(from: $0) }
            return reply.count
        }
        var reply = ByteWriter(capacity: SocketRPC.dataReplyHeaderSize)
        var received = 0
        do throws(LinuxErrno) {
            guard request.count >= SocketRPC.dataRequestSize else { throw .EINVAL }
            var header = ByteReader(copying: UnsafeRawBufferPointer(rebasing: request[0..<SocketRPC.dataRequestSize]))
            guard let fields = SocketRPC.readDataRequest(&header) else { throw .EINVAL }
            if operation == .send {
                // The data is the rest of the request.
                let data = UnsafeRawBufferPointer(rebasing: request[SocketRPC.dataRequestSize...])
                guard Int(fields.count) == data.count, data.count <= SocketRPC.maximumData, fields.flags == 0 else { throw .EINVAL }
                let sent = try service.send(fields.id, data, to: fields.address)
                reply.writeInteger(Int32(0))
                reply.writeInteger(UInt32(sent))
                SocketRPC.write(service.stampedReadiness(fields.id), to: &reply)
            } else {
                guard fields.address == nil, request.count == SocketRPC.dataRequestSize else { throw .EINVAL }
                let start = SocketRPC.dataReplyHeaderSize
                let room = min(Int(fields.count), SocketRPC.maximumData, window.count - start)
                let (count, from) = try service.receive(
                    fields.id, into: UnsafeMutableRawBufferPointer(rebasing: window[start..<(start + room)]), peek: fields.flags & SocketRPC.peekFlag != 0)
                SocketRPC.writeDataReplyHeader(&reply, source: from, count: count, readiness: service.stampedReadiness(fields.id))
                received = count
            }
        } catch {
            reply = ByteWriter(capacity: 4)
            reply.writeInteger(error.rawValue)
            received = 0
        }
        reply.bytes.withUnsafeBytes { window.copyMemory(from: $0) }
        return reply.count + received
    }

    /// Answers `request` as a channel would (a scratch window in place of the channel's).
    static func answer(_ request: [UInt8], _ service: SocketService) -> [UInt8] {
        let window = UnsafeMutableRawBufferPointer.allocate(byteCount: max(SocketRPC.windowCapacity, request.count), alignment: 16)
        defer { window.deallocate() }
        request.withUnsafeBytes { window.copyMemory(from: $0) }
        let length = answer(in: window, length: request.count, service)
        return Array(UnsafeRawBufferPointer(rebasing: window[0..<length]))
    }

    /// Decodes one request other than send and receive, runs it on `service`, and encodes
    /// the reply.
    static func answerControl(_ request: ByteReader, _ service: SocketService) -> [UInt8] {
        var reply = ByteWriter(capacity: 64)
        do throws(LinuxErrno) {
            var reader = request
            guard let raw = reader.readInteger(as: UInt8.self), let operation = SocketRPC.Operation(rawValue: raw),
                reader.readBytes(count: 3) != nil, let id = reader.readInteger(as: Int32.self)
            else { throw .EINVAL }
            var results = ByteWriter(capacity: 32)
            switch operation {
            case .socket:
                guard let kind = reader.readInteger(as: UInt8.self), kind <= 1 else { throw .EINVAL }
                results.writeInteger(service.socket(kind == 0 ? .stream : .datagram))
            case .bind, .connect:
                guard let address = SocketRPC.readAddress(&reader) else { throw .EINVAL }
                if operation == .bind { try service.bind(id, to: address) } else { try service.connect(id, to: address) }
            case .listen:
                guard let backlog = reader.readInteger(as: Int32.self) else { throw .EINVAL }
                try service.listen(id, backlog: Int(backlog))
            case .connectResult:
                let result = service.connectResult(id)
                results.writeInteger(UInt8(result == nil ? 0 : 1))
                results.writeInteger((result ?? nil)?.rawValue ?? 0)
            case .accept:
                let (new, peer) = try service.accept(id)
                results.writeInteger(new)
                SocketRPC.write(peer, to: &results)
            case .send, .receive:
                throw .EINVAL  // answered in place by `answer(in:length:_:)`
            case .tcpInfo:
                SocketRPC.write(try service.tcpInfo(id), to: &results)
            case .interfaces:
                service.interfaces().write(to: &results)
            case .shutdown:
                guard let read = reader.readInteger(as: UInt8.self), let write = reader.readInteger(as: UInt8.self) else { throw .EINVAL }
                try service.shutdown(id, read: read != 0, write: write != 0)
            case .close:
                service.close(id)
            case .localAddress:
                SocketRPC.write(try service.localAddress(id), to: &results)
            case .peerAddress:
                SocketRPC.write(try service.peerAddress(id), to: &results)
            case .readiness:
                SocketRPC.write(service.stampedReadiness(id), to: &results)
            case .available:
                results.writeInteger(UInt32(clamping: service.available(id)))
            case .setOption:
                guard let raw = reader.readInteger(as: UInt8.self), let option = SocketService.Option(rawValue: raw),
                    let value = reader.readInteger(as: UInt8.self)
                else { throw .EINVAL }
                try service.setOption(id, option, value != 0)
            }
            guard reader.isAtEnd else { throw .EINVAL }
            reply.writeInteger(Int32(0))
            reply.writeBytes(results.bytes)
        } catch {
            reply = ByteWriter(capacity: 4)
            reply.writeInteger(error.rawValue)
        }
        return reply.bytes
    }
}

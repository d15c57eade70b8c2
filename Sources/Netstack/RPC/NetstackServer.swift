import Flipcall
import HostSys
import LinuxABI
import Logging

/// The Netstack's side of the socket RPC (the `runsc netstack` process): it takes the
/// Sentry's Flipcall channels from the control socket, serves `SocketCalls` on each from its
/// own thread, and tells the Sentry of changes on a ring (one byte per change; a full ring
/// drops the byte, as the Sentry re-checks everything it waits for on any change).
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
                let ringLock = Monitor()
                service.onChange = {
                    ringLock.locked {
                        var byte: UInt8 = 1
                        _ = withUnsafeBytes(of: &byte) { try? ring.write($0) }
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
                let request = ByteReader(copying: UnsafeRawBufferPointer(rebasing: endpoint.window[0..<length]))
                let reply = answer(request, service)
                let sent = reply.withUnsafeBytes { bytes in
                    Result { () throws(FlipcallError) -> Int in
                        try endpoint.write(bytes)
                        return try endpoint.reply(length: bytes.count)
                    }
                }
                length = try sent.get()
            }
        } catch {
            log.debug("a socket channel ended: \(error)")
        }
    }

    /// Decodes one request, runs it on `service`, and encodes the reply.
    static func answer(_ request: ByteReader, _ service: SocketService) -> [UInt8] {
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
            case .send:
                guard let hasDestination = reader.readInteger(as: UInt8.self), let destination = SocketRPC.readAddress(&reader),
                    let bytes = SocketRPC.readBytes(&reader, limit: SocketRPC.maximumData)
                else { throw .EINVAL }
                results.writeInteger(UInt32(try service.send(id, bytes, to: hasDestination == 1 ? destination : nil)))
            case .receive:
                guard let maximum = reader.readInteger(as: UInt32.self) else { throw .EINVAL }
                let (bytes, from) = try service.receive(id, maximum: min(Int(maximum), SocketRPC.maximumData))
                results.writeInteger(UInt8(from == nil ? 0 : 1))
                SocketRPC.write(from ?? .any, to: &results)
                results.writeInteger(UInt32(bytes.count))
                results.writeBytes(bytes)
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
                results.writeInteger(service.readiness(id).rawValue)
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

import HostSys
import LinuxABI
import Testing

@testable import Netstack

/// A Netstack server on a thread of this process and a client to it, over a socket pair and
/// Flipcall channels (the same bytes that cross between the Sentry and `runsc netstack`).
final class RPCPair {
    let service = SocketService.loopbackOnly()
    let client: NetstackClient

    init() throws {
        let sockets = try UnixSocket.pair()
        let server = sockets.second.rawValue
        _ = sockets.second.release()
        let service = self.service
        try service.start()
        try HostThread.detach { try? NetstackServer.serve(service, control: FileDescriptor(owning: server)) }
        client = try NetstackClient(control: sockets.first)
        try client.start()
    }

    deinit { service.stop() }

    /// A stream socket listening on 127.0.0.1 at a port the stack chose, through the RPC.
    func loopbackListener() throws -> (id: Int32, port: UInt16) {
        let listener = try client.socket(.stream)
        try client.bind(listener, to: SocketService.Address(IPv4Address(127, 0, 0, 1), 0))
        try client.listen(listener, backlog: 4)
        return (listener, try client.localAddress(listener).port)
    }

    /// Retries `body` while it answers EAGAIN (bounded: about two seconds).
    func eventually<Result>(_ body: () throws -> Result) throws -> Result {
        for _ in 0..<2000 {
            do {
                return try body()
            } catch let error as LinuxErrno where error == .EAGAIN {
                Clock.sleep(nanoseconds: 1_000_000)
            }
        }
        throw LinuxErrno.ETIMEDOUT
    }
}

@Suite("Netstack: the socket RPC over Flipcall")
struct RPCTests {
    @Test("a TCP connection over the loopback, through the RPC: connect, accept, 3 MiB each way, end of file")
    func tcpThroughRPC() throws {
        let pair = try RPCPair()
        let client = pair.client
        let (listener, port) = try pair.loopbackListener()
        #expect(port != 0)
        let connecting = try client.socket(.stream)
        #expect(throws: LinuxErrno.EINPROGRESS) { try client.connect(connecting, to: SocketService.Address(IPv4Address(127, 0, 0, 1), port)) }
        let (accepted, peer) = try pair.eventually { try client.accept(listener) }
        #expect(peer.address == IPv4Address(127, 0, 0, 1))
        let outcome = try pair.eventually { () throws -> LinuxErrno? in
            guard let result = try client.connectResult(connecting) else { throw LinuxErrno.EAGAIN }
            return result
        }
        #expect(outcome == nil)
        let data = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 9) }
        var sent = 0
        var received: [UInt8] = []
        for _ in 0..<100_000 where received.count < data.count {
            if sent < data.count { sent += (try? client.send(connecting, Array(data[sent..<min(sent + 100_000, data.count)]), to: nil)) ?? 0 }
            if let chunk = try? client.receive(accepted, maximum: 1 << 20) { received += chunk.bytes }
        }
        #expect(received == data)
        try client.shutdown(connecting, read: false, write: true)
        let end = try pair.eventually { try client.receive(accepted, maximum: 10) }
        #expect(end.bytes.isEmpty)
        #expect(client.readiness(accepted).contains(.readHangUp))
        client.close(accepted)
        client.close(connecting)
        client.close(listener)
    }

    @Test("readiness comes from the change ring once known: data and the peer's FIN show without a call, a receive's reply drains it; TCP_INFO crosses the RPC")
    func readinessFromRing() throws {
        let pair = try RPCPair()
        let client = pair.client
        let (listener, port) = try pair.loopbackListener()
        let connecting = try client.socket(.stream)
        #expect(throws: LinuxErrno.EINPROGRESS) { try client.connect(connecting, to: SocketService.Address(IPv4Address(127, 0, 0, 1), port)) }
        let (accepted, _) = try pair.eventually { try client.accept(listener) }
        // Known from here on (this lookup asks): nothing to read yet.
        #expect(!client.readiness(accepted).contains(.input))
        // TCP_INFO crosses the RPC whole; a listener's is LISTEN with an empty accept queue.
        let info = try client.tcpInfo(accepted)
        #expect(info.state == 1 && info.sendMSS > 0 && info.congestionWindowSegments > 0 && info.sackEnabled && info.windowScaling && info.timestamps)
        let listening = try client.tcpInfo(listener)
        #expect(listening.state == 10 && listening.unacknowledgedSegments == 0)
        func eventually(_ condition: () -> Bool) -> Bool {
            for _ in 0..<2000 where !condition() { Clock.sleep(nanoseconds: 1_000_000) }
            return condition()
        }
        // Only the ring can tell the client that data arrived: the table holds a report.
        _ = try pair.eventually { try client.send(connecting, [1, 2, 3], to: nil) }
        #expect(eventually { client.readiness(accepted).contains(.input) })
        #expect(try client.receive(accepted, maximum: 10).bytes == [1, 2, 3])
        #expect(!client.readiness(accepted).contains(.input))  // the reply's report
        client.close(connecting)
        #expect(eventually { client.readiness(accepted).contains(.readHangUp) })
        client.close(accepted)
        client.close(listener)
    }

    @Test("the readiness table keeps the latest report of each open socket, the latest event from the ring apart, and forgets closed ones")
    func readinessTable() {
        var table = ReadinessTable()
        table.record(7, .input, 5)
        #expect(table.lookup(7) == .unknown)  // not open: a closed socket's late report
        table.open.insert(7)
        table.record(7, .input, 5, isEvent: true)
        table.record(7, .output, 4, isEvent: true)  // older: ignored, but an event all the same
        #expect(table.lookup(7) == .known(.input, stamp: 5))
        #expect(table.eventStamp(7) == 5)
        table.record(7, .output, 6)  // a call's answer: no event
        #expect(table.lookup(7) == .known(.output, stamp: 6))
        #expect(table.eventStamp(7) == 5)
        table.forget(7)
        #expect(table.eventStamp(7) == 0)
        table.record(7, .input, 9)
        #expect(table.lookup(7) == .unknown)
        table.down = true
        #expect(table.lookup(8) == .down)
    }

    @Test("malformed requests get EINVAL; unknown sockets EBADF; the server keeps serving")
    func malformed() throws {
        let service = SocketService.loopbackOnly()
        for request: [UInt8] in [[], [99, 0, 0, 0, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0], [7, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3]] {
            var reply = ByteReader(NetstackServer.answer(request, service))
            #expect(reply.readInteger(as: Int32.self) == LinuxErrno.EINVAL.rawValue, "\(request)")
        }
        var reply = ByteReader(NetstackServer.answer(SocketRPC.request(.listen, 42) { $0.writeInteger(Int32(1)) }, service))
        #expect(reply.readInteger(as: Int32.self) == LinuxErrno.EBADF.rawValue)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = NetstackServer.answer(bytes, service)
        }
        var socket = ByteReader(NetstackServer.answer(SocketRPC.request(.socket, 0) { $0.writeInteger(UInt8(1)) }, service))
        #expect(socket.readInteger(as: Int32.self) == 0)
    }
}

import LinuxABI
import Testing

@testable import Netstack

/// A deterministic pseudo-random sequence (xorshift), so impaired runs repeat exactly.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

/// Connects a client on `hosts.a` to a listener on `hosts.b`, port 8080, and accepts it.
func establish(_ hosts: TwoHosts) throws -> (client: TCPConnection, server: TCPConnection, listener: TCPListener) {
    let listener = try hosts.b.listenTCP(port: 8080)
    let client = try hosts.a.connectTCP(to: TwoHosts.addressB, port: 8080)
    #expect(hosts.run(until: { listener.isReadable && client.state == .established }, limit: 10 * Duration.second))
    let server = try #require(listener.accept())
    return (client, server, listener)
}

/// Sends `data` from `sender` to `receiver` through `hosts`, reading as it comes; returns
/// what arrived (bounded by `limit` of simulated time).
func transfer(_ data: [UInt8], from sender: TCPConnection, to receiver: TCPConnection, through hosts: TwoHosts, limit: UInt64) throws -> [UInt8] {
    var sent = 0
    var received: [UInt8] = []
    received.reserveCapacity(data.count)
    var passed: UInt64 = 0
    while received.count < data.count && passed < limit {
        if sent < data.count { sent += try sender.write(data[sent..<min(sent + 256 << 10, data.count)]) }
        hosts.pump()
        while true {
            let chunk = try receiver.read(maximum: 1 << 20)
            if chunk.isEmpty { break }
            received += chunk
        }
        if sent == data.count || !sender.isWritable {
            hosts.clock.advance(by: Duration.millisecond)
            passed += Duration.millisecond
            hosts.a.runTimers()
            hosts.b.runTimers()
        }
    }
    return received
}

/// Writes `data` from `client` until the peer's receive window is shut (the peer reads
/// nothing), letting simulated time pass; returns how many bytes were taken.
func fillWindow(of client: TCPConnection, with data: [UInt8], through hosts: TwoHosts) throws -> Int {
    var sent = 0
    for _ in 0..<64 {
        sent += try client.write(data[sent...])
        hosts.run(for: 20 * Duration.millisecond, step: Duration.millisecond)
    }
    return sent
}

@Suite("Netstack: TCP between two stacks")
struct TCPTests {
    @Test("the handshake, data both ways, and an orderly close through FIN-WAIT, TIME-WAIT and LAST-ACK")
    func lifecycle() throws {
        let hosts = TwoHosts()
        let (client, server, _) = try establish(hosts)
        #expect(server.state == .established)
        #expect(try client.write(Array("GET / HTTP/1.0\r\n\r\n".utf8)) == 18)
        hosts.pump()
        #expect(try server.read(maximum: 100) == Array("GET / HTTP/1.0\r\n\r\n".utf8))
        #expect(try server.write(Array("HTTP/1.0 200 OK\r\n\r\nhello".utf8)) == 24)
        server.close()
        #expect(hosts.run(until: { client.state == .closeWait }, limit: Duration.second))
        #expect(!client.isAtEndOfStream)  // the data before the FIN is read first
        #expect(try client.read(maximum: 100) == Array("HTTP/1.0 200 OK\r\n\r\nhello".utf8))
        #expect(client.isAtEndOfStream)
        #expect(try client.read(maximum: 100) == [])
        #expect(server.state == .finWait2)
        client.close()
        hosts.pump()
        #expect(client.state == .closed)
        #expect(server.state == .timeWait)
        #expect(throws: LinuxErrno.EPIPE) { try client.write([1]) }
        // TIME-WAIT lasts its 60 s, then the connection is gone.
        hosts.run(for: 59 * Duration.second, step: Duration.second)
        #expect(server.state == .timeWait)
        hosts.run(for: 2 * Duration.second, step: Duration.second)
        #expect(server.state == .closed)
        #expect(hosts.b.tcpConnections.isEmpty && hosts.a.tcpConnections.isEmpty)
    }

    @Test("a SYN to a closed port is answered with RST, and connect fails with ECONNREFUSED")
    func refused() throws {
        let hosts = TwoHosts()
        let client = try hosts.a.connectTCP(to: TwoHosts.addressB, port: 1)
        hosts.pump()
        #expect(client.state == .closed)
        #expect(client.error == .ECONNREFUSED)
        #expect(throws: LinuxErrno.ECONNREFUSED) { try client.read(maximum: 1) }
        let resets = hosts.deliveredToA.compactMap { tcpSegment($0) }.filter { $0.flags.contains(.rst) }
        #expect(resets.count == 1)
    }

    @Test("an unanswered SYN is retried with exponential backoff (1, 2, 4... s) and connect times out")
    func synBackoff() throws {
        let hosts = TwoHosts()
        hosts.linkA.impairment = { frame in EthernetHeader(frame)?.etherType == .arp ? [frame] : [] }
        let client = try hosts.a.connectTCP(to: TwoHosts.addressB, port: 80)
        var sentAt: [UInt64] = []
        var seen = 0
        let start = hosts.clock.now
        #expect(hosts.run(until: {
            if hosts.linkA.transmitted > seen {
                seen = hosts.linkA.transmitted
                sentAt.append((hosts.clock.now - start) / Duration.millisecond)
            }
            return client.state == .closed
        }, limit: 200 * Duration.second, step: 10 * Duration.millisecond))
        #expect(client.error == .ETIMEDOUT)
        // The first SYN waits for ARP; then 1, 2, 4, 8, 16, 32 s apart (6 retries), then the end.
        let gaps = zip(sentAt.dropFirst(), sentAt).map { $0 - $1 }
        #expect(gaps.suffix(6).map { ($0 + 50) / 1000 } == [1, 2, 4, 8, 16, 32], "\(sentAt)")
    }

    @Test("a lost data segment is sent again after the RTO, and the RTO doubles while it stays lost")
    func retransmissionTimer() throws {
        let hosts = TwoHosts()
        let (client, server, _) = try establish(hosts)
        var dropping = true
        var dataSentAt: [UInt64] = []
        hosts.linkA.impairment = { frame in
            guard let segment = tcpSegment(frame), !segment.payload.isEmpty else { return [frame] }
            dataSentAt.append(hosts.clock.now)
            return dropping ? [] : [frame]
        }
        _ = try client.write([1, 2, 3])
        hosts.run(for: 500 * Duration.millisecond, step: Duration.millisecond)
        dropping = false
        #expect(hosts.run(until: { server.available == 3 }, limit: 5 * Duration.second))
        // The handshake's RTT on this link is 0: the RTO is its 200 ms floor, then 400, 800.
        let gaps = zip(dataSentAt.dropFirst(), dataSentAt).map { ($0 - $1) / Duration.millisecond }
        #expect(gaps.prefix(2) == [200, 400], "\(gaps)")
        #expect(try server.read(maximum: 10) == [1, 2, 3])
    }

    @Test("a zero window stops the sender, probes keep asking, and reading reopens it")
    func zeroWindow() throws {
        let hosts = TwoHosts()
        let (client, server, _) = try establish(hosts)
        let data = [UInt8](repeating: 0x5a, count: TCPConnection.bufferSize + 300_000)
        var sent = try fillWindow(of: client, with: data, through: hosts)
        // The receiver holds a full buffer (to within the window scale's 32-byte unit) and
        // advertises nothing more.
        #expect(server.available > TCPConnection.bufferSize - 32)
        hosts.clearLog()
        hosts.run(for: 3 * Duration.second, step: 10 * Duration.millisecond)
        let probes = hosts.deliveredToB.compactMap { tcpSegment($0) }
        #expect(!probes.isEmpty && probes.allSatisfy { $0.payload.isEmpty })
        let zeroWindows = hosts.deliveredToA.compactMap { tcpSegment($0) }.filter { $0.window == 0 }
        #expect(!zeroWindows.isEmpty)
        var received = try server.read(maximum: TCPConnection.bufferSize)
        #expect(hosts.run(until: {
            if sent < data.count { sent += (try? client.write(data[sent...])) ?? 0 }
            received += (try? server.read(maximum: 1 << 20)) ?? []
            return received.count == data.count
        }, limit: 20 * Duration.second))
        #expect(received == data)
    }

    @Test("a timeout resends only data sent before: with less than an MSS of window, the peer's ACK of it is taken")
    func retransmissionStaysWithinSent() throws {
        let hosts = TwoHosts()
        let (client, server, _) = try establish(hosts)
        let data = (0..<(TCPConnection.bufferSize + 100_000)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var sent = try fillWindow(of: client, with: data, through: hosts)
        // The window is closed. Open it by less than an MSS and lose the segment that fills it.
        var received = try server.read(maximum: 960)
        var segments: [(sequence: UInt32, length: Int)] = []
        var dropNext = true
        hosts.linkA.impairment = { frame in
            guard let segment = tcpSegment(frame), !segment.payload.isEmpty else { return [frame] }
            segments.append((segment.sequenceNumber, segment.payload.count))
            if dropNext {
                dropNext = false
                return []
            }
            return [frame]
        }
        hosts.run(for: 5 * Duration.second, step: 10 * Duration.millisecond)
        let first = try #require(segments.first)
        #expect(first.length <= 960)
        // Every later segment at the same place resends at most what the first carried.
        for segment in segments.dropFirst() where segment.sequence == first.sequence {
            #expect(segment.length <= first.length, "a retransmission carried data never sent")
        }
        #expect(hosts.run(until: {
            if sent < data.count { sent += (try? client.write(data[sent...])) ?? 0 }
            received += (try? server.read(maximum: 1 << 20)) ?? []
            return received.count == data.count
        }, limit: 60 * Duration.second))
        #expect(client.error == nil)
        #expect(received == data)
    }

    @Test("8 MB arrive intact across 1% loss, reordering and duplication (fast retransmit and timeouts)")
    func impairedTransfer() throws {
        let hosts = TwoHosts()
        let (client, server, _) = try establish(hosts)
        var random = SeededRandom(state: 0x9e37_79b9_7f4a_7c15)
        var held: [UInt8]?
        let impair: ([UInt8]) -> [[UInt8]] = { frame in
            let roll = Int.random(in: 0..<1000, using: &random)
            if roll < 10 { return [] }  // 1% lost
            if roll < 20 { return [frame, frame] }  // 1% duplicated
            if roll < 40 {  // 2% held back behind the next frame
                if let earlier = held {
                    held = frame
                    return [earlier]
                }
                held = frame
                return []
            }
            if let earlier = held {
                held = nil
                return [frame, earlier]
            }
            return [frame]
        }
        hosts.linkA.impairment = impair
        hosts.linkB.impairment = { frame in Int.random(in: 0..<100, using: &random) == 0 ? [] : [frame] }
        var generator = SeededRandom(state: 42)
        let data = (0..<(8 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let received = try transfer(data, from: client, to: server, through: hosts, limit: 600 * Duration.second)
        #expect(received.count == data.count)
        #expect(received == data)
    }

    @Test("RST: an exact-sequence reset ends the connection with ECONNRESET; an in-window one gets a challenge ACK")
    func resets() throws {
        let hosts = TwoHosts()
        let (client, server, _) = try establish(hosts)
        _ = try client.write([1])
        hosts.pump()
        let last = try #require(hosts.deliveredToB.compactMap { tcpSegment($0) }.last)
        let ethernet = EthernetHeader.encode(destination: hosts.linkB.hardwareAddress!, source: hosts.linkA.hardwareAddress!, etherType: .ipv4)
        func reset(at sequence: UInt32) -> [UInt8] {
            let tcp = TCPHeader.encode(
                sourcePort: last.sourcePort, destinationPort: 8080, sequenceNumber: sequence, acknowledgmentNumber: 0, flags: .rst,
                window: 0, payload: [UInt8](), source: TwoHosts.addressA, destination: TwoHosts.addressB)
            return ethernet + IPv4Header.encode(source: TwoHosts.addressA, destination: TwoHosts.addressB, protocol: .tcp, payloadLength: tcp.count) + tcp
        }
        let next = last.sequenceNumber &+ UInt32(last.payload.count)
        hosts.clearLog()
        hosts.b.receive([reset(at: next &+ 1000)], on: 0)
        #expect(server.state == .established)
        #expect(hosts.linkA.inbox.compactMap { tcpSegment($0) }.contains { $0.flags == .ack })
        hosts.b.receive([reset(at: next)], on: 0)
        #expect(server.state == .closed)
        // What arrived before the reset is still read; then the error.
        #expect(try server.read(maximum: 10) == [1])
        #expect(throws: LinuxErrno.ECONNRESET) { try server.read(maximum: 10) }
    }

    @Test("SO_KEEPALIVE: an idle connection is probed after two hours, and ends with ETIMEDOUT once nine probes go unanswered")
    func keepalive() throws {
        let hosts = TwoHosts()
        let (client, server, _) = try establish(hosts)
        client.keepalive = true
        hosts.run(for: 7300 * Duration.second, step: 10 * Duration.second)
        #expect(client.state == .established)  // probes answered
        hosts.linkB.impairment = { _ in [] }  // the peer goes silent
        hosts.run(for: 7200 * Duration.second + 10 * 75 * Duration.second, step: 10 * Duration.second)
        #expect(client.error == .ETIMEDOUT)
        _ = server
    }

    @Test("close with unread data resets the peer; the listener's backlog bounds the connections waiting")
    func closeAndBacklog() throws {
        let hosts = TwoHosts()
        let listener = try hosts.b.listenTCP(port: 9000, backlog: 2)
        let clients = try (0..<3).map { _ in try hosts.a.connectTCP(to: TwoHosts.addressB, port: 9000) }
        hosts.pump()
        #expect(clients.filter { $0.state == .established }.count == 2)
        #expect(clients.filter { $0.state == .synSent }.count == 1)
        let accepted = try #require(listener.accept())
        // The third SYN is retried and now finds room.
        #expect(hosts.run(until: { clients.allSatisfy { $0.state == .established } }, limit: 5 * Duration.second))
        let peer = try #require(clients.first { $0.key.localPort == accepted.key.remotePort })
        _ = try peer.write([1, 2, 3])
        hosts.pump()
        accepted.close()
        hosts.pump()
        #expect(peer.error == .ECONNRESET)
        listener.close()
        hosts.pump()
        #expect(clients.filter { $0.error == .ECONNRESET }.count == 3)
    }
}

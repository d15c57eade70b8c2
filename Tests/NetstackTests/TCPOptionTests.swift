import LinuxABI
import Testing

@testable import Netstack

@Suite("Netstack: TCP timestamps (RFC 7323) and Nagle's algorithm")
struct TCPOptionTests {
    /// A frame from a's end of `hosts` to b's port 8080, as `template` (a segment the client
    /// sent) with `sequence`, `payload` and `timestamp`.
    func frame(
        _ hosts: TwoHosts, like template: TCPHeader, sequence: UInt32, flags: TCPFlags = [.ack, .psh], payload: [UInt8],
        timestamp: (value: UInt32, echo: UInt32)?
    ) -> [UInt8] {
        var options = TCPOptions()
        options.timestamp = timestamp
        let tcp = TCPHeader.encode(
            sourcePort: template.sourcePort, destinationPort: 8080, sequenceNumber: sequence,
            acknowledgmentNumber: template.acknowledgmentNumber, flags: flags, window: template.window, options: options,
            payload: payload, source: TwoHosts.addressA, destination: TwoHosts.addressB)
        return EthernetHeader.encode(destination: hosts.linkB.hardwareAddress!, source: hosts.linkA.hardwareAddress!, etherType: .ipv4)
            + IPv4Header.encode(source: TwoHosts.addressA, destination: TwoHosts.addressB, protocol: .tcp, payloadLength: tcp.count) + tcp
    }

    @Test("both SYNs offer timestamps; then every segment carries one echoing the peer's, and data is 12 bytes under the MSS")
    func negotiated() throws {
        let hosts = TwoHosts()
        let (client, server, _) = try establish(hosts)
        let data = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 3) }
        #expect(try transfer(data, from: client, to: server, through: hosts, limit: 5 * Duration.second) == data)
        let toB = hosts.deliveredToB.compactMap { tcpSegment($0) }
        let toA = hosts.deliveredToA.compactMap { tcpSegment($0) }
        let syn = try #require(toB.first { $0.flags == .syn })
        let synAck = try #require(toA.first { $0.flags == [.syn, .ack] })
        let offered = try #require(syn.options.timestamp)
        #expect(offered.echo == 0)
        #expect(synAck.options.timestamp?.echo == offered.value)
        #expect(toB.allSatisfy { $0.options.timestamp != nil } && toA.allSatisfy { $0.options.timestamp != nil })
        // Each of the server's ACKs echoes a value the client sent.
        let clientValues = Set(toB.compactMap { $0.options.timestamp?.value })
        #expect(toA.filter { $0.flags == .ack }.allSatisfy { clientValues.contains($0.options.timestamp!.echo) })
        #expect(toB.map(\.payload.count).max() == 1460 - 12)
        #expect(client.info.timestamps && server.info.timestamps && client.info.sendMSS == 1448)
    }

    @Test("a peer whose SYN has no timestamp gets a SYN-ACK without one, and segments without them")
    func notOffered() throws {
        let hosts = TwoHosts()
        let listener = try hosts.b.listenTCP(port: 8080)
        var options = TCPOptions()
        options.maximumSegmentSize = 1460
        let syn = TCPHeader.encode(
            sourcePort: 40000, destinationPort: 8080, sequenceNumber: 1000, acknowledgmentNumber: 0, flags: .syn, window: 65535, options: options,
            payload: [UInt8](), source: TwoHosts.addressA, destination: TwoHosts.addressB)
        // A resolves B first (the SYN-ACK needs a's MAC in b's cache, which the ARP teaches).
        let udp = try hosts.a.bindUDP()
        try udp.send([0], to: TwoHosts.addressB, port: 9)
        hosts.a.flush()
        hosts.pump()
        hosts.clearLog()
        hosts.b.receive(
            [EthernetHeader.encode(destination: hosts.linkB.hardwareAddress!, source: hosts.linkA.hardwareAddress!, etherType: .ipv4)
                + IPv4Header.encode(source: TwoHosts.addressA, destination: TwoHosts.addressB, protocol: .tcp, payloadLength: syn.count) + syn],
            on: 0)
        hosts.b.flush()
        let synAck = try #require(hosts.linkA.inbox.compactMap { tcpSegment($0) }.first { $0.flags == [.syn, .ack] })
        #expect(synAck.options.timestamp == nil)
        #expect(synAck.options.maximumSegmentSize == 1460)
        _ = listener
    }

    @Test("PAWS: a segment whose timestamp is older than the last one taken is dropped and answered with an ACK")
    func paws() throws {
        let hosts = TwoHosts()
        let (client, server, _) = try establish(hosts)
        _ = try client.write([1, 2, 3])
        hosts.pump()
        #expect(try server.read(maximum: 10) == [1, 2, 3])
        let last = try #require(hosts.deliveredToB.compactMap { tcpSegment($0) }.last { !$0.payload.isEmpty })
        let stamp = try #require(last.options.timestamp)
        // The next bytes in sequence, but stamped before the last segment: an old duplicate.
        let next = last.sequenceNumber &+ 3
        hosts.clearLog()
        hosts.b.receive([frame(hosts, like: last, sequence: next, payload: [9, 9], timestamp: (stamp.value &- 5000, stamp.echo))], on: 0)
        hosts.b.flush()
        #expect(server.available == 0)
        let answer = try #require(hosts.linkA.inbox.compactMap { tcpSegment($0) }.last)
        #expect(answer.flags == .ack && answer.acknowledgmentNumber == next)
        // The same bytes with a current timestamp are taken.
        hosts.b.receive([frame(hosts, like: last, sequence: next, payload: [9, 9], timestamp: (stamp.value &+ 1, stamp.echo))], on: 0)
        #expect(server.available == 2)
    }

    @Test("a blind SYN or RST in the window, stamped far ahead, gets its challenge ACK and leaves TS.Recent alone")
    func blindSegmentsKeepTimestamp() throws {
        let hosts = TwoHosts()
        let (client, server, _) = try establish(hosts)
        _ = try client.write([1])
        hosts.pump()
        let last = try #require(hosts.deliveredToB.compactMap { tcpSegment($0) }.last { !$0.payload.isEmpty })
        let stamp = try #require(last.options.timestamp)
        let ahead = (stamp.value &+ (1 << 30), stamp.echo)
        hosts.b.receive([frame(hosts, like: last, sequence: last.sequenceNumber &+ 100, flags: .syn, payload: [], timestamp: ahead)], on: 0)
        hosts.b.receive([frame(hosts, like: last, sequence: last.sequenceNumber &+ 100, flags: .rst, payload: [], timestamp: ahead)], on: 0)
        #expect(server.state == .established)
        // The client's next segment, stamped as its clock says, is still taken.
        _ = try client.write([2])
        hosts.run(for: 100 * Duration.millisecond, step: Duration.millisecond)
        #expect(try server.read(maximum: 10) == [1, 2])
    }

    @Test("timestamp echoes time a retransmitted segment, where Karn's rule gives no sample")
    func rttAfterRetransmission() throws {
        let hosts = TwoHosts()
        let (client, _, _) = try establish(hosts)
        #expect(client.info.rttMicroseconds < 2000)  // the handshake's sample: no delay
        // The first data segment is lost; the peer's ACK of its retransmission is held 100 ms.
        var dropping = true
        hosts.linkA.impairment = { frame in
            guard dropping, let segment = tcpSegment(frame), !segment.payload.isEmpty else { return [frame] }
            dropping = false
            return []
        }
        var held: [[UInt8]] = []
        hosts.linkB.impairment = { frame in
            held.append(frame)
            return []
        }
        _ = try client.write([7])
        #expect(hosts.run(until: { client.info.totalRetransmissions == 1 }, limit: 2 * Duration.second))
        hosts.run(for: 100 * Duration.millisecond, step: Duration.millisecond)
        hosts.linkB.impairment = nil
        hosts.a.receive(held, on: 0)
        // One sample of 100 ms (from the retransmission, not from the first send 200 ms
        // before it) into an SRTT near 0: SRTT = 100 ms / 8.
        let rtt = client.info.rttMicroseconds
        #expect((11_000...14_000).contains(rtt), "\(rtt)")
    }

    @Test("Nagle: a short segment waits while an earlier short one is unacknowledged; TCP_NODELAY sends each at once")
    func nagle() throws {
        for noDelay in [false, true] {
            let hosts = TwoHosts()
            let (client, server, _) = try establish(hosts)
            client.noDelay = noDelay
            hosts.clearLog()
            // Three short writes before the peer answers (its ACK is delayed 40 ms).
            for byte: UInt8 in [1, 2, 3] { _ = try client.write([byte]) }
            let sentAtOnce = hosts.linkB.inbox.compactMap { tcpSegment($0) }.filter { !$0.payload.isEmpty }
            #expect(sentAtOnce.map(\.payload.count) == (noDelay ? [1, 1, 1] : [1]), "noDelay \(noDelay)")
            // The delayed ACK comes; what waited goes in one segment.
            hosts.run(for: 100 * Duration.millisecond, step: Duration.millisecond)
            #expect(try server.read(maximum: 10) == [1, 2, 3])
            let data = hosts.deliveredToB.compactMap { tcpSegment($0) }.filter { !$0.payload.isEmpty }.map(\.payload.count)
            #expect(data == (noDelay ? [1, 1, 1] : [1, 2]), "noDelay \(noDelay)")
        }
    }

    @Test("Nagle does not hold what a timeout sends again: a lost short tail follows its lost full segment on the first ACK")
    func nagleAfterTimeout() throws {
        let hosts = TwoHosts()
        let (client, server, _) = try establish(hosts)
        var dropped = 0
        hosts.linkA.impairment = { frame in
            guard dropped < 2, let segment = tcpSegment(frame), !segment.payload.isEmpty else { return [frame] }
            dropped += 1
            return []
        }
        let data = [UInt8](repeating: 3, count: 1448 + 100)
        _ = try client.write(data)
        hosts.pump()
        #expect(dropped == 2)
        // The RTO (200 ms) sends the full segment again; its ACK, the tail. Held by Nagle, the
        // tail would wait for the next timeout, 400 ms later.
        var received: [UInt8] = []
        #expect(hosts.run(until: {
            received += (try? server.read(maximum: 4000)) ?? []
            return received.count == data.count
        }, limit: 300 * Duration.millisecond), "\(received.count) of \(data.count) bytes")
        #expect(received.allSatisfy { $0 == 3 })
    }

    @Test("Nagle holds only the short tail: full segments of a write go at once, and a FIN sends the tail")
    func nagleTail() throws {
        let hosts = TwoHosts()
        let (client, server, _) = try establish(hosts)
        _ = try client.write([0])  // a short segment in flight, its ACK delayed
        hosts.pump()
        _ = try client.write([UInt8](repeating: 5, count: 1448 * 2 + 100))
        let sent = hosts.linkB.inbox.compactMap { tcpSegment($0) }.filter { !$0.payload.isEmpty }.map(\.payload.count)
        #expect(sent.reduce(0, +) == 1448 * 2)
        client.shutdownWrite()
        let afterFIN = hosts.linkB.inbox.compactMap { tcpSegment($0) }.filter { !$0.payload.isEmpty }.map(\.payload.count)
        #expect(afterFIN.reduce(0, +) == 1448 * 2 + 100)
        hosts.run(for: 100 * Duration.millisecond, step: Duration.millisecond)
        #expect(try server.read(maximum: 10000).count == 1 + 1448 * 2 + 100)
        #expect(server.isAtEndOfStream)
    }
}

@Suite("Netstack: ICMP errors about our own packets")
struct ICMPErrorTests {
    /// An ICMP destination unreachable from b to a, quoting `frame` (one a sent).
    func unreachable(_ hosts: TwoHosts, code: UInt8, mtu: UInt16 = 0, quoting frame: [UInt8]) throws -> [UInt8] {
        let packet = try #require(ipPacket(frame))
        let icmp = ICMPv4Header.encode(type: .destinationUnreachable, code: code, rest: UInt32(mtu), payload: packet.packet.prefix(packet.headerLength + 8))
        return EthernetHeader.encode(destination: hosts.linkA.hardwareAddress!, source: hosts.linkB.hardwareAddress!, etherType: .ipv4)
            + IPv4Header.encode(source: TwoHosts.addressB, destination: TwoHosts.addressA, protocol: .icmp, payloadLength: icmp.count) + icmp
    }

    @Test("port unreachable reaches a connected UDP socket once (ECONNREFUSED), and not an unconnected one")
    func udpRefused() throws {
        let hosts = TwoHosts()
        let connected = try hosts.a.bindUDP()
        connected.peer = (TwoHosts.addressB, 9)
        try connected.send([1], to: TwoHosts.addressB, port: 9)
        let unconnected = try hosts.a.bindUDP()
        try unconnected.send([2], to: TwoHosts.addressB, port: 9)
        hosts.pump()
        #expect(connected.pendingError == .ECONNREFUSED)
        #expect(connected.takeError() == .ECONNREFUSED)
        #expect(connected.takeError() == nil)
        #expect(unconnected.pendingError == nil)
    }

    @Test("a destination unreachable about our SYN ends the connect with its errno; one quoting another sequence number is ignored")
    func connectUnreachable() throws {
        let hosts = TwoHosts()
        let udp = try hosts.a.bindUDP()  // a resolves b first, so the SYN goes out at once
        try udp.send([0], to: TwoHosts.addressB, port: 9)
        hosts.pump()
        let client = try hosts.a.connectTCP(to: TwoHosts.addressB, port: 7)
        let syn = try #require(hosts.linkB.inbox.first { tcpSegment($0)?.flags == .syn })
        hosts.linkB.inbox.removeAll()  // b never sees it
        // A sequence number one off: not ours, as a blind attacker's guess.
        var blind = syn
        let ipLength = Int(blind[EthernetHeader.size] & 0x0f) * 4
        blind[EthernetHeader.size + ipLength + 7] &+= 1
        hosts.a.receive([try unreachable(hosts, code: 1, quoting: blind)], on: 0)
        #expect(client.state == .synSent)
        hosts.a.receive([try unreachable(hosts, code: 1, quoting: syn)], on: 0)
        #expect(client.state == .closed && client.error == .EHOSTUNREACH)
    }

    @Test("fragmentation needed about the SYN takes effect once the peer's MSS is known")
    func pathMTUDuringHandshake() throws {
        let hosts = TwoHosts()
        let listener = try hosts.b.listenTCP(port: 8080)
        let udp = try hosts.a.bindUDP()  // a resolves b first, so the SYN goes out at once
        try udp.send([0], to: TwoHosts.addressB, port: 9)
        hosts.pump()
        let client = try hosts.a.connectTCP(to: TwoHosts.addressB, port: 8080)
        let syn = try #require(hosts.linkB.inbox.first { tcpSegment($0)?.flags == .syn })
        hosts.a.receive([try unreachable(hosts, code: ICMPv4Header.codeFragmentationNeeded, mtu: 1000, quoting: syn)], on: 0)
        #expect(hosts.run(until: { listener.isReadable && client.state == .established }, limit: 5 * Duration.second))
        #expect(client.info.sendMSS == 1000 - 40 - 12)
    }

    @Test("fragmentation needed lowers the MSS to the next hop's MTU and the data goes again in smaller segments")
    func pathMTU() throws {
        let hosts = TwoHosts()
        let (client, server, _) = try establish(hosts)
        hosts.clearLog()
        let data = (0..<30_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        _ = try client.write(data)
        let first = try #require(hosts.linkB.inbox.first { tcpSegment($0).map { !$0.payload.isEmpty } ?? false })
        hosts.linkB.inbox.removeAll()  // lost at the narrow hop
        hosts.a.receive([try unreachable(hosts, code: ICMPv4Header.codeFragmentationNeeded, mtu: 1000, quoting: first)], on: 0)
        #expect(client.info.sendMSS == 1000 - 40 - 12)
        var received: [UInt8] = []
        #expect(hosts.run(until: {
            received += (try? server.read(maximum: 1 << 16)) ?? []
            return received.count == data.count
        }, limit: 5 * Duration.second))
        #expect(received == data)
        let sizes = hosts.deliveredToB.compactMap { tcpSegment($0)?.payload.count }
        #expect(sizes.max() == 948, "\(sizes.prefix(8))")
    }
}

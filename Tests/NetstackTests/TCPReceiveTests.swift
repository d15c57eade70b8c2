import LinuxABI
import Synchronization
import Testing

@testable import Netstack

@Suite("Netstack: TCP's receiving side (SACK, window updates) and link offloads")
struct TCPReceiveTests {
    @Test("data held out of order is reported in SACK blocks, the block with the latest segment first (RFC 2018 §4)")
    func sackBlocks() throws {
        let hosts = TwoHosts()
        let (client, server, _) = try establish(hosts)
        // Lose the first and the fourth data segment of a burst of ten.
        var seen: [(sequence: UInt32, end: UInt32)] = []
        hosts.linkA.impairment = { frame in
            guard let segment = tcpSegment(frame), !segment.payload.isEmpty else { return [frame] }
            let index = seen.count
            seen.append((segment.sequenceNumber, segment.sequenceNumber &+ UInt32(segment.payload.count)))
            return index == 0 || index == 3 ? [] : [frame]
        }
        let data = (0..<(10 * 1460)).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        hosts.clearLog()
        #expect(try client.write(data) == data.count)
        hosts.pump()
        #expect(seen.count >= 10)
        // The duplicate ACKs for the first hole (before fast retransmit fills it); the last
        // one answers the tenth segment.
        let acks = hosts.deliveredToA.compactMap { tcpSegment($0) }.filter { $0.payload.isEmpty && $0.acknowledgmentNumber == seen[0].sequence }
        #expect(acks.count == 8)
        let last = try #require(acks.last)
        #expect(
            last.options.sackBlocks == [
                TCPOptions.SACKBlock(left: seen[4].sequence, right: seen[9].end),  // holds the latest segment
                TCPOptions.SACKBlock(left: seen[1].sequence, right: seen[2].end),
            ], "\(last.options.sackBlocks)")
        // Every duplicate ACK carried blocks.
        #expect(acks.allSatisfy { !$0.options.sackBlocks.isEmpty })
        // The holes fill in and the blocks go away.
        hosts.linkA.impairment = nil
        #expect(hosts.run(until: { server.available == data.count }, limit: 5 * Duration.second))
        #expect(try server.read(maximum: data.count) == data)
        hosts.clearLog()
        _ = try client.write([1])
        hosts.pump()
        #expect(hosts.deliveredToA.compactMap { tcpSegment($0) }.allSatisfy { $0.options.sackBlocks.isEmpty })
    }

    @Test("the SACK option round-trips; a SACK option of a bad length makes the options malformed")
    func sackOption() throws {
        var options = TCPOptions()
        options.sackBlocks = [.init(left: 1, right: 2), .init(left: 0xffff_fff0, right: 5)]
        let encoded = options.encoded
        #expect(encoded == [1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 5])
        #expect(TCPOptions(parsing: encoded[...]) == options)
        for length: UInt8 in [2, 9, 11, 42] {
            let bytes: [UInt8] = [5, length] + [UInt8](repeating: 0, count: Int(max(length, 2)) - 2)
            #expect(TCPOptions(parsing: bytes[...]) == nil, "length \(length)")
        }
        // Five blocks do not fit: four are sent.
        options.sackBlocks = (0..<5).map { TCPOptions.SACKBlock(left: UInt32($0), right: UInt32($0) + 1) }
        #expect(TCPOptions(parsing: options.encoded[...])?.sackBlocks.count == 4)
    }

    @Test("reading a window the peer saw shrink below one scale unit reopens it at once, not at the next zero-window probe")
    func windowUpdate() throws {
        let hosts = TwoHosts()
        let (client, server, _) = try establish(hosts)
        let data = [UInt8](repeating: 0x77, count: TCPConnection.bufferSize + 200_000)
        _ = try fillWindow(of: client, with: data, through: hosts)
        #expect(server.available > TCPConnection.bufferSize - 32)
        hosts.clearLog()
        let half = try server.read(maximum: TCPConnection.bufferSize / 2)
        #expect(half.count == TCPConnection.bufferSize / 2)
        hosts.pump()  // no time passes: no timer can have sent it
        let updates = hosts.deliveredToA.compactMap { tcpSegment($0) }.filter { $0.payload.isEmpty }
        let window = Int(try #require(updates.first).window) << Int(TCPConnection.windowShift)
        #expect(window >= TCPConnection.bufferSize / 2 - (1 << Int(TCPConnection.windowShift)), "\(window)")
        // The sender took the update: data flows again at once.
        #expect(hosts.deliveredToB.contains { (tcpSegment($0)?.payload.count ?? 0) > 0 })
    }

    @Test("a link that cuts segments gets TCP packets of up to 64 KiB with checksums left to it; the peer gets MSS-sized segments with valid checksums, intact")
    func segmentationOffload() throws {
        let hosts = TwoHosts()
        hosts.linkA.offloads = LinkOffloads(checksum: true, segmentationLimit: Int(UInt16.max))
        let (client, server, _) = try establish(hosts)
        let data = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
        let received = try transfer(data, from: client, to: server, through: hosts, limit: 30 * Duration.second)
        #expect(received == data)
        #expect(hosts.linkA.largestTransmitted > 60_000)
        #expect(hosts.deliveredToB.allSatisfy { $0.count <= 1514 })
        // The receiver checked every checksum the link finished, and every one held.
        #expect(hosts.b.drops["malformed TCP"] == nil, "\(hosts.b.drops)")
        // Data the other way leaves the checksum to no one: B's link does not offload.
        _ = try server.write(Array("reply".utf8))
        hosts.pump()
        #expect(try client.read(maximum: 10) == Array("reply".utf8))
    }

    @Test("a segment that leaves its checksum to the link carries the pseudo-header's sum, which the link completes")
    func checksumOffload() throws {
        let source = IPv4Address(198, 18, 0, 1), destination = IPv4Address(198, 18, 0, 2)
        let payload = (0..<1001).map { UInt8(truncatingIfNeeded: $0 * 7) }
        func segment(pending: Bool) -> [UInt8] {
            TCPHeader.encode(
                sourcePort: 1234, destinationPort: 80, sequenceNumber: 99, acknowledgmentNumber: 7, flags: [.ack, .psh], window: 512,
                payload: payload, source: source, destination: destination, checksumPending: pending)
        }
        let partial = segment(pending: true)
        #expect(TCPHeader(partial[...])?.checksum == TransportChecksum.pseudoHeaderSum(source: source, destination: destination, protocol: .tcp, length: partial.count))
        let ip = IPv4Header.encode(source: source, destination: destination, protocol: .tcp, payloadLength: partial.count)
        let frame = EthernetHeader.encode(destination: .broadcast, source: MACAddress([2, 0, 0, 0, 0, 1])!, etherType: .ipv4) + ip + partial
        let finished = SoftwareOffload.finish(OutboundFrame(frame, checksumPending: true), linkHeaderLength: EthernetHeader.size)
        #expect(finished.count == 1)
        #expect(Array(finished[0][(EthernetHeader.size + IPv4Header.minimumSize)...]) == segment(pending: false))
    }

    @Test("with segmentation offload, segments never exceed the peer's MSS, even when it is below what the MTU allows")
    func segmentsWithinPeerMSS() throws {
        let hosts = TwoHosts(mtu: 1500, mtuB: 576)  // b announces an MSS of 536
        hosts.linkA.offloads = LinkOffloads(checksum: true, segmentationLimit: Int(UInt16.max))
        let (client, server, _) = try establish(hosts)
        let data = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 11) }
        #expect(try transfer(data, from: client, to: server, through: hosts, limit: 10 * Duration.second) == data)
        let largest = hosts.deliveredToB.compactMap { tcpSegment($0)?.payload.count }.max() ?? 0
        #expect(largest == 536 - 12, "\(largest)")  // the MSS less the timestamp option each carries
        #expect(hosts.linkA.largestTransmitted > 1500)  // handed to the link whole, cut there
    }

    @Test("a connection reset before it was accepted is a change of its listener's readiness")
    func listenerLosesReadyConnection() throws {
        let hosts = TwoHosts()
        let listener = try hosts.b.listenTCP(port: 8080)
        listener.tag = 7
        let client = try hosts.a.connectTCP(to: TwoHosts.addressB, port: 8080)
        #expect(hosts.run(until: { listener.isReadable && client.state == .established }, limit: 10 * Duration.second))
        _ = hosts.b.takeChanged()
        client.abort()
        hosts.pump()
        #expect(!listener.isReadable)
        #expect(hosts.b.takeChanged().contains(7))
    }

    @Test("with reports only on change, a connect that answers EINPROGRESS reports its socket (POLLOUT gone) though no packet has come back")
    func connectInProgressIsReported() throws {
        let (link, _) = ChannelLink.pair()
        let stack = Stack(clock: ManualClock())
        stack.addInterface(link, subnets: [IPv4Subnet(IPv4Address(198, 18, 0, 1), prefixLength: 24)])
        let service = SocketService(stack: stack)
        service.reportsOnlyChanges = true
        let reports = Mutex<[SocketService.Change]>([])
        service.onChange = { changes in reports.withLock { $0 += changes } }
        let id = service.socket(.stream)
        #expect(service.stampedReadiness(id).events == [.output, .hangUp])
        #expect(throws: LinuxErrno.EINPROGRESS) { try service.connect(id, to: SocketService.Address(IPv4Address(198, 18, 0, 2), 80)) }
        let mine = reports.withLock { $0 }.filter { $0.id == id }
        #expect(mine.last?.events == [], "\(mine)")
    }

    @Test("the sender uses the peer's SACK blocks: with two holes, the second is sent again on the next duplicate ACK, before the first hole's repair is acknowledged")
    func senderFillsHolesFromSACK() throws {
        let hosts = TwoHosts()
        let (client, server, _) = try establish(hosts)
        enum Event: Equatable {
            case sent(UInt32)
            case acknowledged(UInt32)
        }
        var events: [Event] = []
        var firsts: [UInt32] = []
        hosts.linkA.impairment = { frame in
            guard let segment = tcpSegment(frame), !segment.payload.isEmpty else { return [frame] }
            events.append(.sent(segment.sequenceNumber))
            let isFirst = !firsts.contains(segment.sequenceNumber)
            if isFirst { firsts.append(segment.sequenceNumber) }
            return isFirst && (firsts.count == 1 || firsts.count == 4) ? [] : [frame]
        }
        hosts.linkB.impairment = { frame in
            if let segment = tcpSegment(frame), segment.payload.isEmpty { events.append(.acknowledged(segment.acknowledgmentNumber)) }
            return [frame]
        }
        let data = (0..<(10 * 1460)).map { UInt8(truncatingIfNeeded: $0 &* 3) }
        #expect(try client.write(data) == data.count)
        #expect(hosts.run(until: { server.available == data.count }, limit: Duration.second))
        #expect(try server.read(maximum: data.count) == data)
        let (hole1, hole2) = (firsts[0], firsts[3])
        // The first time the second hole went again (the first time it went at all was lost).
        let resent2 = try #require(events.indices.filter { events[$0] == .sent(hole2) }.dropFirst().first)
        let repaired1 = try #require(events.firstIndex { if case .acknowledged(let ack) = $0 { ack != hole1 && ack &- hole1 < 1 << 31 } else { false } })
        #expect(resent2 < repaired1, "\(events)")
    }
}

import HostSys
import LinuxABI
import Testing

@testable import Netstack

/// Two stacks on an in-memory Ethernet link, 198.18.0.1 and 198.18.0.2, with a clock the test
/// moves: `pump` delivers frames until the link is quiet, `run(for:)` lets time pass.
final class TwoHosts {
    let clock = ManualClock()
    let a: Stack
    let b: Stack
    let linkA: ChannelLink
    let linkB: ChannelLink
    static let addressA = IPv4Address(198, 18, 0, 1)
    static let addressB = IPv4Address(198, 18, 0, 2)
    /// Every frame delivered to b, then to a, in order (for inspection).
    private(set) var deliveredToB: [[UInt8]] = []
    private(set) var deliveredToA: [[UInt8]] = []

    /// `mtuB`: a smaller MTU on b's end (its MSS follows), for a peer that takes less.
    init(mtu: Int = 1500, mtuB: Int? = nil) {
        (linkA, linkB) = ChannelLink.pair(mtu: mtu, mtuB: mtuB)
        a = Stack(clock: clock)
        b = Stack(clock: clock)
        a.addInterface(linkA, subnets: [IPv4Subnet(Self.addressA, prefixLength: 24)])
        b.addInterface(linkB, subnets: [IPv4Subnet(Self.addressB, prefixLength: 24)])
    }

    /// Delivers frames both ways until none is left (bounded).
    func pump(rounds: Int = 100_000) {
        for _ in 0..<rounds {
            let toB = linkB.takeInbox()
            let toA = linkA.takeInbox()
            if toB.isEmpty && toA.isEmpty { return }
            deliveredToB += toB.prefix(64)
            deliveredToA += toA.prefix(64)
            if !toB.isEmpty { b.receive(toB, on: 0) }
            if !toA.isEmpty { a.receive(toA, on: 0) }
        }
    }

    /// Lets `nanoseconds` pass in steps of `step`, running timers and delivering frames.
    func run(for nanoseconds: UInt64, step: UInt64 = 10 * Duration.millisecond) {
        var passed: UInt64 = 0
        while passed < nanoseconds {
            clock.advance(by: step)
            passed += step
            a.runTimers()
            b.runTimers()
            pump()
        }
    }

    /// Runs until `condition` holds or `limit` of simulated time passes; returns whether it held.
    func run(until condition: () -> Bool, limit: UInt64 = 120 * Duration.second, step: UInt64 = Duration.millisecond) -> Bool {
        pump()
        var passed: UInt64 = 0
        while !condition() {
            if passed >= limit { return false }
            clock.advance(by: step)
            passed += step
            a.runTimers()
            b.runTimers()
            pump()
        }
        return true
    }

    func clearLog() {
        deliveredToA = []
        deliveredToB = []
    }
}

/// The IPv4 packet of an Ethernet frame.
func ipPacket(_ frame: [UInt8]) -> IPv4Header? {
    guard let ethernet = EthernetHeader(frame), ethernet.etherType == .ipv4 else { return nil }
    return IPv4Header(ethernet.payload)
}

/// The TCP segment of an Ethernet frame.
func tcpSegment(_ frame: [UInt8]) -> TCPHeader? {
    guard let ip = ipPacket(frame), ip.protocol == .tcp else { return nil }
    return TCPHeader(ip.payload)
}

@Suite("Netstack: ARP, IPv4, ICMP and UDP between two stacks")
struct NetworkLayerTests {
    @Test("ARP resolves the peer; an echo request gets an echo reply with the same identifier, sequence and data")
    func pingAfterARP() throws {
        let hosts = TwoHosts()
        let request = ICMPv4Header.encode(type: .echoRequest, rest: 0x1234_0007, payload: Array("ping data".utf8))
        #expect(hosts.a.sendIPv4(request, protocol: .icmp, to: TwoHosts.addressB) == nil)
        hosts.a.flush()
        hosts.pump()
        let arp = hosts.deliveredToB.compactMap { EthernetHeader($0) }.filter { $0.etherType == .arp }
        #expect(arp.count == 1)
        #expect(arp.first?.destination == .broadcast)
        let replies = hosts.deliveredToA.compactMap { ipPacket($0) }.filter { $0.protocol == .icmp }
        let reply = try #require(replies.first.flatMap { ICMPv4Header($0.payload) })
        #expect(reply.type == ICMPv4Header.MessageType.echoReply.rawValue)
        #expect(reply.identifier == 0x1234 && reply.sequence == 7)
        #expect(Array(reply.payload) == Array("ping data".utf8))
        #expect(reply.isChecksumValid)
        // The second packet goes out at once: the neighbour is known on both sides.
        hosts.clearLog()
        hosts.a.sendIPv4(request, protocol: .icmp, to: TwoHosts.addressB)
        hosts.a.flush()
        hosts.pump()
        #expect(hosts.deliveredToB.allSatisfy { EthernetHeader($0)?.etherType == .ipv4 })
    }

    @Test("an unanswered ARP request is retried twice, a second apart, then its packets drop")
    func arpGivesUp() throws {
        let hosts = TwoHosts()
        let udp = try hosts.a.bindUDP()
        try udp.send([1, 2, 3], to: IPv4Address(198, 18, 0, 99), port: 9)
        hosts.run(for: 3500 * Duration.millisecond)
        let requests = hosts.deliveredToB.compactMap { EthernetHeader($0) }.filter { $0.etherType == .arp }
        #expect(requests.count == 3)
        #expect(hosts.a.drops["unresolved next hop"] == 1)
    }

    @Test("UDP datagrams reach the bound port with their source; a closed port answers ICMP port unreachable")
    func udp() throws {
        let hosts = TwoHosts()
        let server = try hosts.b.bindUDP(port: 5353)
        let client = try hosts.a.bindUDP()
        try client.send(Array("hello".utf8), to: TwoHosts.addressB, port: 5353)
        hosts.pump()
        let datagram = try #require(server.receive())
        #expect(datagram.payload == Array("hello".utf8))
        #expect(datagram.source == TwoHosts.addressA && datagram.sourcePort == client.port)
        #expect(server.receive() == nil)
        #expect(throws: LinuxErrno.EADDRINUSE) { try hosts.b.bindUDP(port: 5353) }

        try client.send([0], to: TwoHosts.addressB, port: 5354)
        hosts.pump()
        let unreachable = hosts.deliveredToA.compactMap { ipPacket($0) }.compactMap { ICMPv4Header($0.payload) }
        #expect(unreachable.contains { $0.type == 3 && $0.code == ICMPv4Header.codePortUnreachable })
    }

    @Test("a datagram larger than the MTU leaves in fragments and is reassembled; overlapping fragments void it")
    func fragments() throws {
        let hosts = TwoHosts()
        let server = try hosts.b.bindUDP(port: 7)
        let client = try hosts.a.bindUDP()
        let payload = (0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try client.send(payload, to: TwoHosts.addressB, port: 7)
        hosts.pump()
        let fragments = hosts.deliveredToB.compactMap { ipPacket($0) }.filter { $0.protocol == .udp }
        #expect(fragments.count == 3)
        #expect(fragments.allSatisfy { Int($0.totalLength) <= 1500 })
        #expect(server.receive()?.payload == payload)

        // Two fragments of one datagram that overlap: nothing is delivered.
        let udp = UDPHeader.encode(sourcePort: 1, destinationPort: 7, payload: [UInt8](repeating: 9, count: 64), source: TwoHosts.addressA, destination: TwoHosts.addressB)
        let first = IPv4Header.encode(source: TwoHosts.addressA, destination: TwoHosts.addressB, protocol: .udp, payloadLength: 48, identification: 77, dontFragment: false, moreFragments: true)
        let overlapping = IPv4Header.encode(source: TwoHosts.addressA, destination: TwoHosts.addressB, protocol: .udp, payloadLength: 32, identification: 77, dontFragment: false, fragmentOffset: 40)
        let ethernet = EthernetHeader.encode(destination: hosts.linkB.hardwareAddress!, source: hosts.linkA.hardwareAddress!, etherType: .ipv4)
        hosts.b.receive([ethernet + first + udp[0..<48], ethernet + overlapping + udp[40..<72]], on: 0)
        #expect(server.receive() == nil)
        #expect(hosts.b.drops["bad fragment"] == 1)
    }

    @Test("a last fragment shorter than one already held voids the datagram (no trap, no zeros handed on)")
    func lastFragmentBeforeHeldPiece() throws {
        let hosts = TwoHosts()
        let server = try hosts.b.bindUDP(port: 7)
        let ethernet = EthernetHeader.encode(destination: hosts.linkB.hardwareAddress!, source: hosts.linkA.hardwareAddress!, etherType: .ipv4)
        func fragment(offset: Int, more: Bool) -> [UInt8] {
            ethernet + IPv4Header.encode(
                source: TwoHosts.addressA, destination: TwoHosts.addressB, protocol: .udp, payloadLength: 8, identification: 9,
                dontFragment: false, fragmentOffset: offset, moreFragments: more) + [UInt8](repeating: 1, count: 8)
        }
        hosts.b.receive([fragment(offset: 16, more: true), fragment(offset: 8, more: false)], on: 0)
        #expect(server.receive() == nil)
        #expect(hosts.b.drops["bad fragment"] == 1)
    }

    @Test("martians are dropped on a real link: our own or a loopback source, a loopback destination")
    func martians() throws {
        let hosts = TwoHosts()
        let server = try hosts.b.bindUDP(port: 9)
        let ethernet = EthernetHeader.encode(destination: hosts.linkB.hardwareAddress!, source: hosts.linkA.hardwareAddress!, etherType: .ipv4)
        for (source, destination) in [(TwoHosts.addressB, TwoHosts.addressB), (IPv4Address(127, 0, 0, 1), TwoHosts.addressB)] {
            let udp = UDPHeader.encode(sourcePort: 9, destinationPort: 9, payload: [1], source: source, destination: destination)
            let ip = IPv4Header.encode(source: source, destination: destination, protocol: .udp, payloadLength: udp.count)
            hosts.b.receive([ethernet + ip + udp], on: 0)
        }
        #expect(server.receive() == nil)
        #expect(hosts.b.drops["martian"] == 2)
    }

    @Test("random and truncated frames are dropped without harm")
    func garbage() throws {
        let hosts = TwoHosts()
        var generator = SystemRandomNumberGenerator()
        let own = hosts.linkB.hardwareAddress!.bytes
        for round in 0..<3000 {
            let length = Int.random(in: 0...200, using: &generator)
            var frame = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if frame.count >= 14 {
                frame.replaceSubrange(0..<6, with: own)
                frame[12] = 0x08
                frame[13] = round % 2 == 0 ? 0x00 : 0x06
                if frame.count > 14, round % 4 == 0 { frame[14] = 0x45 }
            }
            hosts.b.receive([frame], on: 0)
        }
        hosts.pump()
        #expect(hosts.b.drops.values.reduce(0, +) > 0)
    }
}

@Suite("Netstack: the network configuration read from a namespace")
struct NetworkConfigurationTests {
    @Test("Ethernet interfaces with IPv4 addresses, and their routes less the subnets' own")
    func fromNetlink() {
        let links = [
            RouteNetlink.Link(index: 1, name: "lo", type: 772, flags: InterfaceFlag.up | InterfaceFlag.loopback, hardwareAddress: [], mtu: 65536),
            RouteNetlink.Link(index: 2, name: "eth0", type: InterfaceFlag.etherType, flags: InterfaceFlag.up, hardwareAddress: [2, 0, 0, 0, 0, 1], mtu: 1500),
            RouteNetlink.Link(index: 3, name: "eth1", type: InterfaceFlag.etherType, flags: 0, hardwareAddress: [2, 0, 0, 0, 0, 2], mtu: 1500),
        ]
        let addresses = [
            RouteNetlink.Address(interfaceIndex: 1, local: [127, 0, 0, 1], prefixLength: 8, scope: 254, flags: 0),
            RouteNetlink.Address(interfaceIndex: 2, local: [198, 18, 0, 2], prefixLength: 30, scope: 0, flags: 0),
        ]
        let routes = [
            RouteNetlink.Route(destination: [198, 18, 0, 0], prefixLength: 30, gateway: nil, interfaceIndex: 2, table: 254, type: 1),
            RouteNetlink.Route(destination: nil, prefixLength: 0, gateway: [198, 18, 0, 1], interfaceIndex: 2, table: 254, type: 1),
            RouteNetlink.Route(destination: [198, 19, 0, 0], prefixLength: 16, gateway: nil, interfaceIndex: 2, table: 254, type: 1),
            RouteNetlink.Route(destination: [10, 0, 0, 0], prefixLength: 8, gateway: [10, 0, 0, 1], interfaceIndex: 3, table: 254, type: 1),
        ]
        let configuration = NetworkConfiguration(links: links, addresses: addresses, routes: routes)
        #expect(configuration.interfaces == [.init(name: "eth0", subnets: [IPv4Subnet(IPv4Address(198, 18, 0, 2), prefixLength: 30)])])
        #expect(
            configuration.routes == [
                .init(destination: IPv4Subnet(IPv4Address(rawValue: 0), prefixLength: 0), gateway: IPv4Address(198, 18, 0, 1), interface: "eth0"),
                .init(destination: IPv4Subnet(IPv4Address(198, 19, 0, 0), prefixLength: 16), gateway: nil, interface: "eth0"),
            ])
    }
}

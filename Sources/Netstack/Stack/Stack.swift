import LinuxABI

/// An IPv4 address with a prefix length, as an interface holds it.
public struct IPv4Subnet: Hashable, Sendable, CustomStringConvertible {
    public let address: IPv4Address
    public let prefixLength: Int

    public init(_ address: IPv4Address, prefixLength: Int) {
        precondition((0...32).contains(prefixLength), "an IPv4 prefix is 0 to 32 bits")
        self.address = address
        self.prefixLength = prefixLength
    }

    public var mask: UInt32 { prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - prefixLength) }

    public func contains(_ other: IPv4Address) -> Bool { other.rawValue & mask == address.rawValue & mask }

    /// The subnet's broadcast address.
    public var broadcast: IPv4Address { IPv4Address(rawValue: address.rawValue | ~mask) }

    public var description: String { "\(address)/\(prefixLength)" }

    /// A subnet from "198.18.0.2/30", or nil.
    public init?(parsing text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(parsing: parts[0]), let length = Int(parts[1]), (0...32).contains(length)
        else { return nil }
        self.init(address, prefixLength: length)
    }
}

/// The userspace TCP/IP stack (DESIGN.md, "Netstack"): interfaces over link endpoints, a
/// routing table, ARP, IPv4 with fragment reassembly, ICMPv4 echo and errors, UDP and TCP.
///
/// The stack is single-threaded: its owner calls `receive`, `runTimers` and the endpoint
/// calls from one thread (the netstack process's event loop; the test's thread), so nothing
/// here takes a lock. Time comes from `clock`.
public final class Stack {
    /// An interface: a link endpoint and the addresses the stack answers for on it.
    final class Interface {
        let id: Int
        /// What the program sees it as (`ip link`): "lo", "eth0".
        let name: String
        let link: any LinkEndpoint
        var subnets: [IPv4Subnet] = []
        /// Frames and bytes taken from and handed to the link (/proc/net/dev's counters).
        var received = (packets: UInt64(0), bytes: UInt64(0))
        var sent = (packets: UInt64(0), bytes: UInt64(0))
        /// ARP: what each neighbour's MAC address is, and when that stops being trusted.
        var neighbours: [IPv4Address: (mac: MACAddress, expires: UInt64)] = [:]
        /// Packets waiting for ARP to resolve their next hop, with the request's retry state.
        var pending: [IPv4Address: (packets: [OutboundFrame], attempts: Int, nextAttempt: UInt64)] = [:]

        init(id: Int, name: String, link: any LinkEndpoint) {
            self.id = id
            self.name = name
            self.link = link
        }
    }

    /// A route: packets for `destination` leave through `interface`, to `gateway` (nil: the
    /// destination is on the link).
    public struct Route: Sendable {
        public let destination: IPv4Subnet
        public let gateway: IPv4Address?
        public let interface: Int
    }

    public let clock: any StackClock
    var interfaces: [Interface] = []
    public private(set) var routes: [Route] = []
    /// Counters of what the stack dropped and why, for tests and debugging.
    public internal(set) var drops: [String: Int] = [:]
    var nextIdentification: UInt16 = 1
    /// Set while frames whose transport checksums the link vouches for are handled.
    var trustChecksums = false
    var reassembly = Reassembly()
    var udpEndpoints: [UInt16: UDPEndpoint] = [:]
    var tcpListeners: [UInt16: TCPListener] = [:]
    var tcpConnections: [TCPConnection.Key: TCPConnection] = [:]
    /// Frames produced while handling input or timers, sent in one batch per interface.
    private var outbox: [Int: [OutboundFrame]] = [:]
    var random = SystemRandomNumberGenerator()
    /// The tags (`TCPConnection.tag` and the like) of the endpoints whose state a packet or a timer changed
    /// since `takeChanged` last ran: whose readiness may differ.
    private var changedTags: Set<Int32> = []

    public init(clock: any StackClock) {
        self.clock = clock
    }

    // MARK: Configuration

    /// Adds an interface over `link`, named `name` (default: "lo" for a link without hardware
    /// address, a loopback, else "eth" and a number), with `subnets`; returns its id.
    @discardableResult
    public func addInterface(_ link: any LinkEndpoint, name: String? = nil, subnets: [IPv4Subnet]) -> Int {
        let ethernets = interfaces.filter { $0.link.hardwareAddress != nil }.count
        let interface = Interface(id: interfaces.count, name: name ?? (link.hardwareAddress == nil ? "lo" : "eth\(ethernets)"), link: link)
        interface.subnets = subnets
        interfaces.append(interface)
        for subnet in subnets { addRoute(IPv4Subnet(subnet.address, prefixLength: subnet.prefixLength), gateway: nil, interface: interface.id) }
        return interface.id
    }

    /// Adds a route; the longest matching prefix wins.
    public func addRoute(_ destination: IPv4Subnet, gateway: IPv4Address?, interface: Int) {
        routes.append(Route(destination: destination, gateway: gateway, interface: interface))
        routes.sort { $0.destination.prefixLength > $1.destination.prefixLength }
    }

    /// Whether `address` is one of the stack's own.
    func isLocal(_ address: IPv4Address) -> Bool {
        interfaces.contains { $0.subnets.contains { $0.address == address } }
    }

    /// The interface and next hop for `destination`, and the source address to use; nil when
    /// no route matches (EHOSTUNREACH / ENETUNREACH for the caller).
    func route(to destination: IPv4Address) -> (interface: Interface, nextHop: IPv4Address, source: IPv4Address)? {
        if isLocal(destination), let loopback = interfaces.first(where: { $0.link.hardwareAddress == nil }) {
            return (loopback, destination, destination)
        }
        guard let route = routes.first(where: { $0.destination.contains(destination) }), route.interface < interfaces.count else { return nil }
        let interface = interfaces[route.interface]
        let source = interface.subnets.first(where: { $0.contains(route.gateway ?? destination) })?.address ?? interface.subnets.first?.address
        guard let source else { return nil }
        return (interface, route.gateway ?? destination, source)
    }

    func count(drop reason: String) { drops[reason, default: 0] += 1 }

    // MARK: Input

    /// Takes in frames that arrived on interface `id`, and sends what answering them made.
    /// With `checksumsTrusted`, the link vouches for the TCP and UDP checksums (a veth's
    /// packets from the host carry them unwritten: checksum offload); IPv4's is always checked.
    public func receive(_ frames: [[UInt8]], on id: Int, checksumsTrusted: Bool = false) {
        receive(frames.map { ($0[...], checksumsTrusted) }, on: id)
    }

    /// `receive` for frames each with its own word on its checksums, answered in one batch.
    /// The frames may be views into one buffer: nothing keeps them past the call.
    public func receive(_ frames: [(bytes: ArraySlice<UInt8>, checksumTrusted: Bool)], on id: Int) {
        defer { trustChecksums = false }
        guard id < interfaces.count else { return }
        let interface = interfaces[id]
        for (frame, trusted) in frames {
            trustChecksums = trusted
            interface.received.packets &+= 1
            interface.received.bytes &+= UInt64(frame.count)
            if interface.link.hardwareAddress == nil {
                receiveIPv4(frame, on: interface)
                continue
            }
            guard let ethernet = EthernetHeader(frame) else {
                count(drop: "short frame")
                continue
            }
            guard ethernet.destination == interface.link.hardwareAddress || ethernet.destination.isMulticast else {
                count(drop: "frame for another host")
                continue
            }
            switch ethernet.etherType {
            case .arp: receiveARP(ethernet.payload, on: interface)
            case .ipv4: receiveIPv4(ethernet.payload, on: interface)
            default: count(drop: "unknown ethertype")
            }
        }
        flush()
    }

    /// Moves the loopback's packets back in until it is quiet (at most `rounds` rounds);
    /// returns whether any moved.
    @discardableResult
    public func poll(rounds: Int = 64) -> Bool {
        var movedAny = false
        for _ in 0..<rounds {
            var moved = false
            for interface in interfaces {
                guard let loopback = interface.link as? LoopbackLink, !loopback.queue.isEmpty else { continue }
                moved = true
                // The loopback does not damage packets: their checksums are not checked
                // again (Linux marks them CHECKSUM_UNNECESSARY).
                receive(loopback.drain(), on: interface.id, checksumsTrusted: true)
            }
            if !moved { break }
            movedAny = true
        }
        return movedAny
    }

    // MARK: Output

    /// Queues `frame` on `interface` for the next flush.
    func enqueue(_ frame: OutboundFrame, on interface: Interface) {
        interface.sent.packets &+= 1
        interface.sent.bytes &+= UInt64(frame.bytes.count)
        outbox[interface.id, default: []].append(frame)
    }

    /// What the link toward `destination` finishes for the stack (none without a route).
    func offloads(toward destination: IPv4Address) -> LinkOffloads {
        route(to: destination)?.interface.link.offloads ?? LinkOffloads()
    }

    /// While set, `flush` leaves the queued frames for later (`SocketService.releaseOutput`).
    var holdingOutput = false

    /// Sends the queued frames, one batch per interface (unless `holdingOutput`).
    func flush() {
        guard !holdingOutput else { return }
        let batches = outbox
        outbox = [:]
        for (id, frames) in batches.sorted(by: { $0.key < $1.key }) { interfaces[id].link.transmit(frames) }
    }

    // MARK: Timers

    /// The earliest time a timer wants to run, if any (the event loop sleeps until then).
    public var nextDeadline: UInt64? {
        var deadlines: [UInt64] = tcpConnections.values.compactMap(\.nextDeadline)
        for interface in interfaces { deadlines += interface.pending.values.map(\.nextAttempt) }
        if let reassemblyDeadline = reassembly.nextDeadline { deadlines.append(reassemblyDeadline) }
        return deadlines.min()
    }

    /// Runs the timers that are due: ARP retries, fragment timeouts, TCP retransmission,
    /// delayed ACKs, zero-window probes, keepalive and TIME_WAIT.
    public func runTimers() {
        let now = clock.now
        for interface in interfaces { retryResolution(on: interface, now: now) }
        reassembly.expire(now: now)
        for connection in Array(tcpConnections.values) { connection.runTimers(now: now) }
        flush()
    }

    /// Notes that the endpoint tagged `tag` (if tagged) changed.
    func noteChange(_ tag: Int32?) {
        if let tag { changedTags.insert(tag) }
    }

    /// The tags of the endpoints that changed since the last call.
    public func takeChanged() -> Set<Int32> {
        defer { changedTags = [] }
        return changedTags
    }

    /// A random 32-bit number (initial sequence numbers, ephemeral ports).
    func randomWord() -> UInt32 { UInt32.random(in: 0...UInt32.max, using: &random) }
}

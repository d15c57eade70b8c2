/// ARP for IPv4 over Ethernet (RFC 826): answering requests for the stack's addresses,
/// learning from what arrives, resolving next hops with retried requests.
extension Stack {
    /// How long a learned neighbour is trusted (Linux's base_reachable_time is 30 s; its
    /// entries go stale later still).
    static let neighbourLifetime = 60 * Duration.second
    /// Requests for one next hop: at most this many, a second apart; then its packets drop.
    static let resolutionAttempts = 3
    static let resolutionInterval = Duration.second
    /// Packets held per unresolved next hop (Linux's unres_qlen_bytes is larger; a count
    /// keeps the bound simple).
    static let pendingLimit = 64

    func receiveARP(_ bytes: ArraySlice<UInt8>, on interface: Interface) {
        guard let arp = ARPHeader(bytes), let mac = interface.link.hardwareAddress else {
            count(drop: "malformed ARP")
            return
        }
        let forUs = interface.subnets.contains { $0.address == arp.targetProtocol }
        // Learn the sender when the packet is for us or we already know it (RFC 826's merge).
        if forUs || interface.neighbours[arp.senderProtocol] != nil, !arp.senderHardware.isMulticast {
            learn(arp.senderProtocol, at: arp.senderHardware, on: interface)
        }
        guard forUs, arp.operation == .request else { return }
        let reply = ARPHeader.encode(
            operation: .reply, senderHardware: mac, senderProtocol: arp.targetProtocol, targetHardware: arp.senderHardware,
            targetProtocol: arp.senderProtocol)
        enqueue(OutboundFrame(EthernetHeader.encode(destination: arp.senderHardware, source: mac, etherType: .arp) + reply), on: interface)
    }

    /// The most neighbours one interface remembers (spoofed senders cannot grow it further).
    static let neighbourLimit = 1024

    /// Records `address` at `mac` and sends the packets that waited for it. A full table first
    /// forgets the expired entries, then refuses new ones.
    private func learn(_ address: IPv4Address, at mac: MACAddress, on interface: Interface) {
        let now = clock.now
        if interface.neighbours[address] == nil && interface.neighbours.count >= Self.neighbourLimit {
            interface.neighbours = interface.neighbours.filter { $0.value.expires > now }
            guard interface.neighbours.count < Self.neighbourLimit else { return }
        }
        interface.neighbours[address] = (mac, now + Self.neighbourLifetime)
        guard let waiting = interface.pending.removeValue(forKey: address), let own = interface.link.hardwareAddress else { return }
        for packet in waiting.packets {
            enqueue(packet.behind(EthernetHeader.encode(destination: mac, source: own, etherType: .ipv4)), on: interface)
        }
    }

    /// Sends the IPv4 `packet` to `nextHop` on `interface`: at once if the neighbour is known
    /// (or the link has no link layer), else after ARP resolves it.
    func transmitIPv4(_ packet: OutboundFrame, to nextHop: IPv4Address, on interface: Interface) {
        guard let own = interface.link.hardwareAddress else {
            enqueue(packet, on: interface)
            return
        }
        if interface.subnets.contains(where: { $0.broadcast == nextHop }) || nextHop == IPv4Address(rawValue: .max) {
            enqueue(packet.behind(EthernetHeader.encode(destination: .broadcast, source: own, etherType: .ipv4)), on: interface)
            return
        }
        let now = clock.now
        if let known = interface.neighbours[nextHop], known.expires > now {
            enqueue(packet.behind(EthernetHeader.encode(destination: known.mac, source: own, etherType: .ipv4)), on: interface)
            return
        }
        if var waiting = interface.pending[nextHop] {
            if waiting.packets.count < Self.pendingLimit { waiting.packets.append(packet) } else { count(drop: "ARP queue full") }
            interface.pending[nextHop] = waiting
            return
        }
        interface.pending[nextHop] = ([packet], 1, now + Self.resolutionInterval)
        requestResolution(of: nextHop, on: interface)
    }

    /// Broadcasts "who has `address`?".
    private func requestResolution(of address: IPv4Address, on interface: Interface) {
        guard let own = interface.link.hardwareAddress, let source = interface.subnets.first(where: { $0.contains(address) })?.address
            ?? interface.subnets.first?.address
        else { return }
        let request = ARPHeader.encode(
            operation: .request, senderHardware: own, senderProtocol: source, targetHardware: MACAddress([0, 0, 0, 0, 0, 0])!,
            targetProtocol: address)
        enqueue(OutboundFrame(EthernetHeader.encode(destination: .broadcast, source: own, etherType: .arp) + request), on: interface)
    }

    /// Repeats due requests; gives up on a next hop after `resolutionAttempts` (its packets
    /// are dropped, as Linux drops them when a neighbour fails).
    func retryResolution(on interface: Interface, now: UInt64) {
        for (address, waiting) in interface.pending where waiting.nextAttempt <= now {
            if waiting.attempts >= Self.resolutionAttempts {
                interface.pending[address] = nil
                drops["unresolved next hop", default: 0] += waiting.packets.count
                continue
            }
            interface.pending[address] = (waiting.packets, waiting.attempts + 1, now + Self.resolutionInterval)
            requestResolution(of: address, on: interface)
        }
    }
}

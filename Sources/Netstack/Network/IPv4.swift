import LinuxABI

/// IPv4 (RFC 791): checked input for the stack's own addresses, fragment reassembly within
/// limits, output with fragmentation to the interface's MTU, and the ICMPv4 the stack
/// answers (RFC 792: echo, port unreachable).
extension Stack {
    func receiveIPv4(_ bytes: ArraySlice<UInt8>, on interface: Interface) {
        guard let ip = IPv4Header(bytes) else {
            count(drop: "malformed IPv4")
            return
        }
        guard ip.isChecksumValid else {
            count(drop: "IPv4 checksum")
            return
        }
        let destination = ip.destination
        let broadcast = destination == IPv4Address(rawValue: .max) || interface.subnets.contains { $0.broadcast == destination }
        // Martians (RFC 1812 §5.3.7): on a real link, nothing comes from the stack's own
        // addresses, the loopback net or a broadcast/multicast source, and nothing goes to
        // the loopback net (which would reach services bound only to 127.0.0.1).
        if interface.link.hardwareAddress != nil {
            let source = ip.source
            let loopbackNet = { (address: IPv4Address) in address.rawValue >> 24 == 127 }
            if isLocal(source) || loopbackNet(source) || loopbackNet(destination) || source.rawValue >> 28 == 0xe
                || source == IPv4Address(rawValue: .max)
            {
                count(drop: "martian")
                return
            }
        }
        guard isLocal(destination) || broadcast else {
            // The stack is a host, not a router.
            count(drop: "IPv4 for another host")
            return
        }
        var payload = ip.payload
        if ip.moreFragments || ip.fragmentOffset != 0 {
            let key = Reassembly.Key(source: ip.source, destination: destination, protocol: ip.protocol.rawValue, identification: ip.identification)
            switch reassembly.add(key: key, offset: ip.fragmentOffset, more: ip.moreFragments, data: payload, now: clock.now) {
            case .incomplete: return
            case .invalid:
                count(drop: "bad fragment")
                return
            case .complete(let whole): payload = whole[...]
            }
        }
        switch ip.protocol {
        case .icmp: receiveICMP(payload, from: ip.source, to: destination, broadcast: broadcast)
        case .udp: receiveUDP(payload, from: ip.source, to: destination, broadcast: broadcast, header: ip)
        case .tcp where !broadcast: receiveTCP(payload, from: ip.source, to: destination)
        default:
            count(drop: "unknown IP protocol")
        }
    }

    /// Sends `payload` of `protocol` from `source` (nil: the route's) to `destination`,
    /// fragmenting it when it is larger than the MTU and `dontFragment` is false. Returns
    /// EHOSTUNREACH when no route leads there and EMSGSIZE for a packet over 64 KiB or one too
    /// big that must not be fragmented. `checksumPending` and `segmentSize` leave the TCP
    /// checksum and the cutting into segments to the link (`OutboundFrame`): such a packet
    /// may be larger than the MTU, up to the link's segmentation limit.
    @discardableResult
    func sendIPv4(
        _ payload: [UInt8], protocol: IPProtocolNumber, from source: IPv4Address? = nil, to destination: IPv4Address,
        dontFragment: Bool = false, ttl: UInt8 = 64, checksumPending: Bool = false, segmentSize: Int = 0
    ) -> LinuxErrno? {
        guard let route = route(to: destination) else { return .EHOSTUNREACH }
        guard payload.count <= Int(UInt16.max) - IPv4Header.minimumSize else { return .EMSGSIZE }
        let from = source ?? route.source
        let identification = nextIdentification
        nextIdentification &+= 1
        let mtu = route.interface.link.mtu
        // The caller asks for segments when its payload exceeds the peer's MSS, which may be
        // below what the MTU allows.
        let segmented = segmentSize > 0
        if payload.count + IPv4Header.minimumSize <= mtu || segmented {
            if segmented {
                precondition(payload.count + IPv4Header.minimumSize <= route.interface.link.offloads.segmentationLimit, "within the link's segmentation limit")
                // The segments the link cuts take the identifications after this one.
                nextIdentification &+= UInt16(truncatingIfNeeded: payload.count / segmentSize)
            }
            let header = IPv4Header.encode(
                source: from, destination: destination, protocol: `protocol`, payloadLength: payload.count, ttl: ttl,
                identification: identification, dontFragment: dontFragment)
            let frame = OutboundFrame(header + payload, checksumPending: checksumPending, segmentSize: segmented ? segmentSize : 0)
            transmitIPv4(frame, to: route.nextHop, on: route.interface)
            return nil
        }
        if dontFragment { return .EMSGSIZE }
        // Fragments carry a multiple of 8 bytes, all but the last.
        let chunk = (mtu - IPv4Header.minimumSize) / 8 * 8
        var offset = 0
        while offset < payload.count {
            let end = min(offset + chunk, payload.count)
            let header = IPv4Header.encode(
                source: from, destination: destination, protocol: `protocol`, payloadLength: end - offset, ttl: ttl,
                identification: identification, dontFragment: false, fragmentOffset: offset, moreFragments: end < payload.count)
            transmitIPv4(OutboundFrame(header + payload[offset..<end]), to: route.nextHop, on: route.interface)
            offset = end
        }
        return nil
    }

    // MARK: ICMPv4

    func receiveICMP(_ bytes: ArraySlice<UInt8>, from source: IPv4Address, to destination: IPv4Address, broadcast: Bool) {
        guard let icmp = ICMPv4Header(bytes), icmp.isChecksumValid else {
            count(drop: "malformed ICMP")
            return
        }
        // An error about a packet of ours goes to the socket that sent it.
        // (Not one sent to a broadcast address: Linux takes only queries there.)
        if icmp.type == ICMPv4Header.MessageType.destinationUnreachable.rawValue, !broadcast, let quoted = icmp.quoted, isLocal(quoted.source) {
            switch quoted.protocol {
            case .tcp: tcpUnreachable(quoted, code: icmp.code, nextHopMTU: icmp.nextHopMTU)
            case .udp: udpUnreachable(quoted, code: icmp.code)
            default: break
            }
            return
        }
        // Echo requests are answered (not those sent to a broadcast address, as Linux's
        // icmp_echo_ignore_broadcasts default).
        guard icmp.type == ICMPv4Header.MessageType.echoRequest.rawValue, icmp.code == 0, !broadcast else { return }
        let reply = ICMPv4Header.encode(
            type: .echoReply, rest: UInt32(icmp.identifier) << 16 | UInt32(icmp.sequence), payload: icmp.payload)
        sendIPv4(reply, protocol: .icmp, from: destination, to: source)
    }

    /// Sends "destination unreachable" with `code` about the packet `offending` (its header
    /// and first 8 bytes of payload, RFC 792), never in answer to a broadcast.
    func sendUnreachable(code: UInt8, about offending: IPv4Header) {
        let quoted = offending.packet.prefix(offending.headerLength + 8)
        let message = ICMPv4Header.encode(type: .destinationUnreachable, code: code, payload: quoted)
        sendIPv4(message, protocol: .icmp, from: offending.destination, to: offending.source)
    }
}

/// Fragment reassembly (RFC 791 §3.2, with RFC 5722's rule that overlapping fragments void
/// the whole datagram): at most `maximumBytes` held in all, `maximumDatagrams` datagrams in
/// progress, each dropped after `timeout` (Linux's ipfrag_time, 30 s).
struct Reassembly {
    struct Key: Hashable {
        let source: IPv4Address
        let destination: IPv4Address
        let `protocol`: UInt8
        let identification: UInt16
    }

    enum Outcome {
        case incomplete
        case invalid
        case complete([UInt8])
    }

    private struct Datagram {
        var pieces: [(offset: Int, data: [UInt8])] = []
        var totalLength: Int?
        var bytes = 0
        let deadline: UInt64
    }

    static let maximumBytes = 4 << 20
    static let maximumDatagrams = 64
    static let timeout = 30 * Duration.second

    private var datagrams: [Key: Datagram] = [:]
    private var heldBytes = 0

    var nextDeadline: UInt64? { datagrams.values.map(\.deadline).min() }

    mutating func add(key: Key, offset: Int, more: Bool, data: ArraySlice<UInt8>, now: UInt64) -> Outcome {
        // All but the last fragment carry a multiple of 8 bytes; the whole fits in 64 KiB.
        guard !more || data.count % 8 == 0, offset + data.count <= Int(UInt16.max) - IPv4Header.minimumSize, !data.isEmpty || !more
        else { return discard(key) }
        if datagrams[key] == nil {
            guard datagrams.count < Self.maximumDatagrams else { return .invalid }
            datagrams[key] = Datagram(deadline: now + Self.timeout)
        }
        guard var datagram = datagrams[key], heldBytes + data.count <= Self.maximumBytes else { return discard(key) }
        let end = offset + data.count
        if let total = datagram.totalLength, end > total || (!more && end != total) { return discard(key) }
        // The last fragment fixes the length: nothing held may lie past it.
        if !more, datagram.pieces.contains(where: { $0.offset + $0.data.count > end }) { return discard(key) }
        if !more { datagram.totalLength = end }
        if datagram.pieces.contains(where: { $0.offset < end && offset < $0.offset + $0.data.count }) {
            // An exact duplicate is harmless; any other overlap voids the datagram.
            if datagram.pieces.contains(where: { $0.offset == offset && $0.data.elementsEqual(data) }) { return .incomplete }
            return discard(key)
        }
        datagram.pieces.append((offset, Array(data)))
        datagram.bytes += data.count
        heldBytes += data.count
        // Complete when the pieces (which never overlap) add up to the whole length; each
        // lies inside it, so they cover it exactly.
        if let total = datagram.totalLength, datagram.bytes == total {
            datagrams[key] = nil
            heldBytes -= datagram.bytes
            var whole = [UInt8](repeating: 0, count: total)
            for piece in datagram.pieces { whole.replaceSubrange(piece.offset..<(piece.offset + piece.data.count), with: piece.data) }
            return .complete(whole)
        }
        datagrams[key] = datagram
        return .incomplete
    }

    private mutating func discard(_ key: Key) -> Outcome {
        if let datagram = datagrams.removeValue(forKey: key) { heldBytes -= datagram.bytes }
        return .invalid
    }

    /// Drops the datagrams whose time is up.
    mutating func expire(now: UInt64) {
        for (key, datagram) in datagrams where datagram.deadline <= now { _ = discard(key) }
    }
}

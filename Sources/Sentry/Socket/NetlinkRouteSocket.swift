import HostSys
import LinuxABI
import Netstack

/// An AF_NETLINK socket of protocol NETLINK_ROUTE (rtnetlink(7)) inside the Sentry: the
/// program reads the sandbox's network, its Netstack's interfaces, addresses and routes, as
/// from Linux (`ip addr`, `ip link`, `ip route`). The host's netlink is never reached.
///
/// Answered: RTM_GETLINK, RTM_GETADDR and RTM_GETROUTE dumps, and RTM_GETLINK of one
/// interface (by index or name; ENODEV for none). Every other request, such as one that
/// would change the network, is answered with NLMSG_ERROR EOPNOTSUPP: the program cannot
/// reconfigure its Netstack. Replies queue as datagrams of at most 4 KiB (a dump takes
/// several when it is longer), addressed from the kernel (port 0) to the socket's port.
/// Messages that are not requests, and control messages, are skipped (acknowledged when
/// asked), as Linux's netlink_rcv_skb does. At most `queueLimit` bytes of replies wait: past
/// it the answers are dropped and the next receive fails with ENOBUFS, as a Linux netlink
/// socket whose receive buffer overran.
///
/// Locks: `monitor` guards the queue, the overrun and the port.
final class NetlinkRouteSocket: FileOperations, @unchecked Sendable {
    let sandbox: Sandbox
    let inode: UInt64
    let monitor = Monitor()
    private var queue: [[UInt8]] = []
    private var queuedBytes = 0
    /// Replies were dropped for want of room: the next receive reports ENOBUFS.
    private var overrun = false
    private var port: UInt32
    /// Replies queued.
    let events = ReadinessEvents()
    /// The most bytes of replies one datagram carries.
    static let datagramLimit = 4096
    /// The most bytes of replies waiting (Linux's default receive buffer).
    static let queueLimit = 212_992

    /// `port`: the socket's netlink port id (Linux's autobind gives the first socket of a
    /// process its thread group id).
    init(sandbox: Sandbox, inode: UInt64, port: UInt32) {
        self.sandbox = sandbox
        self.inode = inode
        self.port = port
    }

    /// bind(2): `requested` 0 keeps the port it has; group subscriptions are taken and, as
    /// the sandbox's network never changes, never deliver.
    func bind(port requested: UInt32) {
        if requested != 0 { monitor.locked { port = requested } }
    }

    /// sockaddr_nl of the socket (getsockname): AF_NETLINK, its port, no groups.
    var name: [UInt8] { Self.address(port: monitor.locked { port }) }

    /// sockaddr_nl of `port`.
    static func address(port: UInt32) -> [UInt8] {
        var writer = ByteWriter(capacity: 12)
        writer.writeInteger(UInt16(AddressFamily.netlink))
        writer.writeInteger(UInt16(0))
        writer.writeInteger(port)
        writer.writeInteger(UInt32(0))
        return writer.bytes
    }

    /// Takes a datagram of requests for the kernel and queues the answers. Returns its length,
    /// as sendmsg(2) does.
    func send(_ datagram: [UInt8]) throws(LinuxErrno) -> Int {
        let requests = RouteNetlinkWire.requests(datagram[...])
        guard !requests.isEmpty else { return datagram.count }
        let listing = try sandbox.network().interfaces()
        let port = monitor.locked { self.port }
        var replies: [[UInt8]] = []
        for request in requests {
            var datagram: [UInt8] = []
            for message in RouteNetlinkReplies.answer(request, listing: listing, port: port) {
                if !datagram.isEmpty && datagram.count + message.count > Self.datagramLimit {
                    replies.append(datagram)
                    datagram = []
                }
                datagram += message
            }
            if !datagram.isEmpty { replies.append(datagram) }
        }
        monitor.locked {
            for reply in replies {
                guard queuedBytes + reply.count <= Self.queueLimit else {
                    overrun = true
                    break
                }
                queue.append(reply)
                queuedBytes += reply.count
            }
            monitor.broadcast()
        }
        events.changed()
        return datagram.count
    }

    /// Takes the next datagram of replies, cut to `count` bytes; `length` is its whole size
    /// (what MSG_TRUNC returns). Waits for one unless `nonBlocking` (EAGAIN); `peek` leaves it.
    func receive(count: Int, nonBlocking: Bool, peek: Bool) throws(LinuxErrno) -> (bytes: [UInt8], length: Int) {
        let result: Result<[UInt8], LinuxErrno> = monitor.locked {
            if overrun {
                overrun = false
                return .failure(.ENOBUFS)
            }
            while queue.isEmpty {
                if nonBlocking { return .failure(.EAGAIN) }
                if Task.sleep(on: monitor) == .interrupted { return .failure(.ERESTARTSYS) }
            }
            if peek { return .success(queue[0]) }
            let datagram = queue.removeFirst()
            queuedBytes -= datagram.count
            return .success(datagram)
        }
        let datagram = try result.get()
        return (Array(datagram.prefix(count)), datagram.count)
    }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { try read(count: count, at: offset, nonBlocking: false) }

    func read(count: Int, at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> [UInt8] {
        if offset != nil { throw .ESPIPE }
        return try receive(count: count, nonBlocking: nonBlocking, peek: false).bytes
    }

    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int {
        if offset != nil { throw .ESPIPE }
        return try send(bytes)
    }

    func stat() throws(LinuxErrno) -> LinuxStat { socketStat(inode: inode) }

    func readiness(_ events: PollEvents) -> PollEvents {
        monitor.locked {
            var ready: PollEvents = queue.isEmpty ? .output : [.input, .output]
            if overrun { ready.insert(.error) }
            return ready.intersection(events.union(.error))
        }
    }

    var eventStamp: UInt64 { events.stamp }
}

/// The kernel's answers to route netlink requests, built from the Netstack's listing as
/// Linux's rtnetlink builds them from its tables (the attributes `ip` reads).
enum RouteNetlinkReplies {
    /// The messages answering `request`, addressed to `port`: a dump ends with NLMSG_DONE;
    /// another answer is followed by an acknowledgement when the request asked for one.
    static func answer(_ request: RouteNetlinkWire.Request, listing: InterfaceListing, port: UInt32) -> [[UInt8]] {
        let asksAcknowledgement = request.flags & Netlink.acknowledgeFlag != 0
        // Not a request, or a control message: nothing but the acknowledgement asked for.
        guard request.flags & Netlink.requestFlag != 0, request.type >= Netlink.minimumType else {
            return asksAcknowledgement ? [acknowledgement(request, port: port)] : []
        }
        let isDump = request.flags & Netlink.dumpFlag == Netlink.dumpFlag
        func reply(_ type: UInt16, _ payload: [UInt8], multipart: Bool) -> [UInt8] {
            RouteNetlinkWire.message(
                type: type, flags: multipart ? Netlink.multipartFlag : 0, sequence: request.sequence, port: port, payload: payload)
        }
        func dump(_ type: UInt16, _ payloads: [[UInt8]]) -> [[UInt8]] {
            payloads.map { reply(type, $0, multipart: true) } + [reply(Netlink.done, [0, 0, 0, 0], multipart: true)]
        }
        // The family a dump asks for: the first byte of its rtgenmsg, ifinfomsg, ifaddrmsg or rtmsg.
        let family = request.payload.first ?? 0
        let wantsIPv4 = family == 0 || family == UInt8(AddressFamily.inet)
        switch request.type {
        case RouteMessage.getLink where isDump:
            return dump(RouteMessage.newLink, listing.interfaces.map(link))
        case RouteMessage.getLink:
            let header = ByteReader(Array(request.payload))
            let index = header.integer(at: 4, as: Int32.self) ?? 0
            let name = (try? RouteNetlinkWire.attributes(of: request.payload, after: RouteMessage.linkHeaderSize))?
                .first { $0.type == RouteAttribute.linkName }
                .map { String(decoding: $0.value.prefix { $0 != 0 }, as: UTF8.self) }
            guard let interface = listing.interfaces.first(where: { index > 0 ? $0.index == index : $0.name == name }) else {
                return [error(.ENODEV, to: request, port: port)]
            }
            return [reply(RouteMessage.newLink, link(interface), multipart: false)]
                + (asksAcknowledgement ? [acknowledgement(request, port: port)] : [])
        case RouteMessage.getAddress where isDump:
            return dump(RouteMessage.newAddress, wantsIPv4 ? listing.interfaces.flatMap { addresses($0) } : [])
        case RouteMessage.getRoute where isDump:
            return dump(RouteMessage.newRoute, wantsIPv4 ? routes(listing) : [])
        default:
            return [error(.EOPNOTSUPP, to: request, port: port)]
        }
    }

    /// An acknowledgement: NLMSG_ERROR with error 0, quoting the request's header.
    static func acknowledgement(_ request: RouteNetlinkWire.Request, port: UInt32) -> [UInt8] {
        error(nil, to: request, port: port)
    }

    /// NLMSG_ERROR with `errno` (negated, as the kernel sends it; nil: 0, an acknowledgement),
    /// quoting the request's header.
    static func error(_ errno: LinuxErrno?, to request: RouteNetlinkWire.Request, port: UInt32) -> [UInt8] {
        var payload = ByteWriter()
        payload.writeInteger(-(errno?.rawValue ?? 0))
        payload.writeInteger(UInt32(Netlink.headerSize + request.payload.count))
        payload.writeInteger(request.type)
        payload.writeInteger(request.flags)
        payload.writeInteger(request.sequence)
        payload.writeInteger(request.port)
        return RouteNetlinkWire.message(type: Netlink.error, flags: 0, sequence: request.sequence, port: port, payload: payload.bytes)
    }

    /// RTM_NEWLINK's payload: ifinfomsg, then the name, MTU, addresses and state.
    static func link(_ interface: InterfaceListing.Interface) -> [UInt8] {
        var header = ByteWriter()
        header.writeInteger(UInt8(0))  // AF_UNSPEC
        header.writeInteger(UInt8(0))
        header.writeInteger(interface.isLoopback ? InterfaceFlag.loopbackType : InterfaceFlag.etherType)
        header.writeInteger(interface.index)
        let kind = interface.isLoopback ? InterfaceFlag.loopback : InterfaceFlag.broadcast | InterfaceFlag.multicast
        header.writeInteger(InterfaceFlag.up | InterfaceFlag.running | InterfaceFlag.lowerUp | kind)
        header.writeInteger(UInt32(0))  // ifi_change
        var mtu = ByteWriter()
        mtu.writeInteger(interface.mtu)
        var queueLength = ByteWriter()
        queueLength.writeInteger(UInt32(1000))  // Linux's default txqueuelen
        let hardware = interface.isLoopback ? [UInt8](repeating: 0, count: 6) : interface.hardwareAddress
        let broadcast = interface.isLoopback ? [UInt8](repeating: 0, count: 6) : [UInt8](repeating: 0xff, count: hardware.count)
        return header.bytes + RouteNetlinkWire.attribute(RouteAttribute.linkName, Array(interface.name.utf8) + [0])
            + RouteNetlinkWire.attribute(RouteAttribute.linkMTU, mtu.bytes)
            + RouteNetlinkWire.attribute(RouteAttribute.linkQueueLength, queueLength.bytes)
            + RouteNetlinkWire.attribute(
                RouteAttribute.linkOperationalState, [interface.isLoopback ? InterfaceFlag.operationalUnknown : InterfaceFlag.operationalUp])
            + RouteNetlinkWire.attribute(RouteAttribute.linkAddress, hardware)
            + RouteNetlinkWire.attribute(RouteAttribute.linkBroadcast, broadcast)
    }

    /// RTM_NEWADDR payloads of an interface: ifaddrmsg, then the address, its broadcast
    /// (not on the loopback or a /31 or /32) and the label.
    static func addresses(_ interface: InterfaceListing.Interface) -> [[UInt8]] {
        interface.subnets.map { subnet in
            var header = ByteWriter()
            header.writeInteger(UInt8(AddressFamily.inet))
            header.writeInteger(UInt8(subnet.prefixLength))
            header.writeInteger(InterfaceFlag.permanentAddress)
            header.writeInteger(interface.isLoopback ? InterfaceFlag.hostScope : InterfaceFlag.universeScope)
            header.writeInteger(UInt32(bitPattern: interface.index))
            var payload = header.bytes + RouteNetlinkWire.attribute(RouteAttribute.addressAddress, subnet.address.bytes)
                + RouteNetlinkWire.attribute(RouteAttribute.addressLocal, subnet.address.bytes)
            if !interface.isLoopback && subnet.prefixLength < 31 {
                payload += RouteNetlinkWire.attribute(RouteAttribute.addressBroadcast, subnet.broadcast.bytes)
            }
            return payload + RouteNetlinkWire.attribute(RouteAttribute.addressLabel, Array(interface.name.utf8) + [0])
        }
    }

    /// RTM_NEWROUTE payloads of the main table (`InterfaceListing.mainTable`). A subnet's own
    /// route has link scope, the kernel as its protocol and the interface's address as source.
    static func routes(_ listing: InterfaceListing) -> [[UInt8]] {
        listing.mainTable.compactMap { route in
            guard let interface = listing.interfaces.first(where: { $0.index == route.interfaceIndex }) else { return nil }
            let own = route.gateway == nil ? interface.subnets.first { $0.prefixLength == route.destination.prefixLength && $0.contains(route.destination.address) } : nil
            var header = ByteWriter()
            header.writeInteger(UInt8(AddressFamily.inet))
            header.writeInteger(UInt8(route.destination.prefixLength))
            header.writeInteger(UInt8(0))  // source length
            header.writeInteger(UInt8(0))  // TOS
            header.writeInteger(UInt8(InterfaceFlag.mainTable))
            header.writeInteger(own != nil ? InterfaceFlag.kernelProtocol : InterfaceFlag.bootProtocol)
            header.writeInteger(route.gateway == nil ? InterfaceFlag.linkScope : InterfaceFlag.universeScope)
            header.writeInteger(InterfaceFlag.unicastRoute)
            header.writeInteger(UInt32(0))  // rtm_flags
            var table = ByteWriter()
            table.writeInteger(InterfaceFlag.mainTable)
            var outputInterface = ByteWriter()
            outputInterface.writeInteger(route.interfaceIndex)
            var payload = header.bytes + RouteNetlinkWire.attribute(RouteAttribute.routeTable, table.bytes)
            if route.destination.prefixLength > 0 {
                let network = IPv4Address(rawValue: route.destination.address.rawValue & route.destination.mask)
                payload += RouteNetlinkWire.attribute(RouteAttribute.routeDestination, network.bytes)
            }
            if let own { payload += RouteNetlinkWire.attribute(RouteAttribute.routePreferredSource, own.address.bytes) }
            if let gateway = route.gateway { payload += RouteNetlinkWire.attribute(RouteAttribute.routeGateway, gateway.bytes) }
            return payload + RouteNetlinkWire.attribute(RouteAttribute.routeOutputInterface, outputInterface.bytes)
        }
    }
}

/// Route netlink replies (rtnetlink(7)), parsed with checked lengths: a message or attribute
/// that runs past its container is EBADMSG, never a read out of bounds. The bytes come from
/// the kernel, but they are parsed as any other input is (and fuzzed: tools/fuzz-netstack).
/// Integers are in host order (little-endian here); addresses in network order.
public enum RouteNetlinkWire {
    /// An interface (RTM_NEWLINK).
    public struct Link: Sendable, Equatable {
        public var index: Int32
        public var name: String
        /// ARPHRD_* (`InterfaceFlag.etherType` for Ethernet).
        public var type: UInt16
        /// IFF_* flags.
        public var flags: UInt32
        public var hardwareAddress: [UInt8]
        public var mtu: UInt32?

        public init(index: Int32, name: String, type: UInt16, flags: UInt32, hardwareAddress: [UInt8], mtu: UInt32?) {
            (self.index, self.name, self.type, self.flags, self.hardwareAddress, self.mtu) = (index, name, type, flags, hardwareAddress, mtu)
        }
    }

    /// An IPv4 address of an interface (RTM_NEWADDR), in network byte order.
    public struct Address: Sendable, Equatable {
        public var interfaceIndex: Int32
        public var local: [UInt8]
        public var prefixLength: UInt8
        public var scope: UInt8
        public var flags: UInt8

        public init(interfaceIndex: Int32, local: [UInt8], prefixLength: UInt8, scope: UInt8, flags: UInt8) {
            (self.interfaceIndex, self.local, self.prefixLength, self.scope, self.flags) = (interfaceIndex, local, prefixLength, scope, flags)
        }
    }

    /// An IPv4 route of the main table (RTM_NEWROUTE); addresses in network byte order.
    public struct Route: Sendable, Equatable {
        /// nil with prefix length 0: the default route.
        public var destination: [UInt8]?
        public var prefixLength: UInt8
        public var gateway: [UInt8]?
        public var interfaceIndex: Int32?
        public var table: UInt32
        /// RTN_* (`InterfaceFlag.unicastRoute` for the routes a stack can use).
        public var type: UInt8

        public init(destination: [UInt8]?, prefixLength: UInt8, gateway: [UInt8]?, interfaceIndex: Int32?, table: UInt32, type: UInt8) {
            (self.destination, self.prefixLength, self.gateway, self.interfaceIndex, self.table, self.type) =
                (destination, prefixLength, gateway, interfaceIndex, table, type)
        }
    }

    /// One netlink message of a reply: its type, and its payload after the 16-byte header.
    public struct Message: Sendable {
        public var type: UInt16
        public var payload: ArraySlice<UInt8>
    }

    /// Splits one datagram of a reply into its messages (those of request `sequence`; others
    /// are skipped). `finished`: it held NLMSG_DONE, or an acknowledgement (NLMSG_ERROR with
    /// error 0). An NLMSG_ERROR, or an NLMSG_DONE, with an errno throws it; a dump the kernel
    /// marks interrupted (NLM_F_DUMP_INTR: the tables changed under it) is EINTR, to be asked
    /// again; a length that does not fit is EBADMSG.
    public static func parse(_ datagram: ArraySlice<UInt8>, sequence: UInt32) throws(LinuxErrno) -> (messages: [Message], finished: Bool) {
        let reader = ByteReader(Array(datagram))
        var offset = 0
        var messages: [Message] = []
        var finished = false
        while offset < reader.bytes.count {
            guard let length = reader.integer(at: offset, as: UInt32.self), let type = reader.integer(at: offset + 4, as: UInt16.self),
                let flags = reader.integer(at: offset + 6, as: UInt16.self), let messageSequence = reader.integer(at: offset + 8, as: UInt32.self),
                length >= Netlink.headerSize, Int(length) <= reader.bytes.count - offset,
                let payload = reader.bytes(at: offset + Netlink.headerSize, count: Int(length) - Netlink.headerSize)
            else { throw .EBADMSG }
            offset += Netlink.aligned(Int(length))
            guard messageSequence == sequence else { continue }
            if flags & Netlink.dumpInterruptedFlag != 0 { throw .EINTR }
            switch type {
            case Netlink.done:
                // Its payload, when there is one, is the dump's error (0: none).
                if let error = ByteReader(Array(payload)).integer(at: 0, as: Int32.self), error != 0 { throw errno(error) }
                finished = true
            case Netlink.error:
                guard let error = ByteReader(Array(payload)).integer(at: 0, as: Int32.self) else { throw .EBADMSG }
                if error != 0 { throw errno(error) }
                finished = true
            default:
                messages.append(Message(type: type, payload: payload))
            }
        }
        return (messages, finished)
    }

    /// The errno of a reply's error field (negative from the kernel); one out of range is EBADMSG.
    static func errno(_ error: Int32) -> LinuxErrno {
        let magnitude = error.magnitude
        return magnitude > 4095 ? .EBADMSG : LinuxErrno(Int32(magnitude))
    }

    /// The attributes (type, value) of a message after its fixed header of `headerSize` bytes.
    public static func attributes(of payload: ArraySlice<UInt8>, after headerSize: Int) throws(LinuxErrno) -> [(type: UInt16, value: ArraySlice<UInt8>)] {
        let reader = ByteReader(Array(payload))
        guard reader.bytes.count >= headerSize else { throw .EBADMSG }
        var offset = Netlink.aligned(headerSize)
        var attributes: [(type: UInt16, value: ArraySlice<UInt8>)] = []
        while offset + RouteMessage.attributeHeaderSize <= reader.bytes.count {
            guard let length = reader.integer(at: offset, as: UInt16.self), let type = reader.integer(at: offset + 2, as: UInt16.self),
                Int(length) >= RouteMessage.attributeHeaderSize, Int(length) <= reader.bytes.count - offset,
                let value = reader.bytes(at: offset + RouteMessage.attributeHeaderSize, count: Int(length) - RouteMessage.attributeHeaderSize)
            else { throw .EBADMSG }
            // NLA_TYPE_MASK: the top two bits are the nested and byte-order flags.
            attributes.append((type & 0x3fff, value))
            offset += Netlink.aligned(Int(length))
        }
        return attributes
    }

    /// An RTM_NEWLINK payload (ifinfomsg and IFLA_* attributes).
    public static func link(from payload: ArraySlice<UInt8>) throws(LinuxErrno) -> Link {
        let header = ByteReader(Array(payload.prefix(RouteMessage.linkHeaderSize)))
        guard let type = header.integer(at: 2, as: UInt16.self), let index = header.integer(at: 4, as: Int32.self),
            let flags = header.integer(at: 8, as: UInt32.self)
        else { throw .EBADMSG }
        var link = Link(index: index, name: "", type: type, flags: flags, hardwareAddress: [], mtu: nil)
        for attribute in try attributes(of: payload, after: RouteMessage.linkHeaderSize) {
            switch attribute.type {
            case RouteAttribute.linkName: link.name = String(decoding: attribute.value.prefix { $0 != 0 }, as: UTF8.self)
            case RouteAttribute.linkAddress: link.hardwareAddress = Array(attribute.value)
            case RouteAttribute.linkMTU: link.mtu = ByteReader(Array(attribute.value)).integer(at: 0, as: UInt32.self)
            default: break
            }
        }
        return link
    }

    /// An RTM_NEWADDR payload (ifaddrmsg and IFA_* attributes); nil when not IPv4 or without
    /// a 4-byte local address.
    public static func address(from payload: ArraySlice<UInt8>) throws(LinuxErrno) -> Address? {
        let header = ByteReader(Array(payload.prefix(RouteMessage.addressHeaderSize)))
        guard let family = header.integer(at: 0, as: UInt8.self), let prefixLength = header.integer(at: 1, as: UInt8.self),
            let flags = header.integer(at: 2, as: UInt8.self), let scope = header.integer(at: 3, as: UInt8.self),
            let index = header.integer(at: 4, as: Int32.self)
        else { throw .EBADMSG }
        var local: [UInt8]?
        var peer: [UInt8]?
        for attribute in try attributes(of: payload, after: RouteMessage.addressHeaderSize) where attribute.value.count == 4 {
            if attribute.type == RouteAttribute.addressLocal { local = Array(attribute.value) }
            if attribute.type == RouteAttribute.addressAddress { peer = Array(attribute.value) }
        }
        // IFA_LOCAL is the interface's own address; without it (some point-to-point setups),
        // IFA_ADDRESS is.
        guard family == UInt8(AddressFamily.inet), prefixLength <= 32, let own = local ?? peer else { return nil }
        return Address(interfaceIndex: index, local: own, prefixLength: prefixLength, scope: scope, flags: flags)
    }

    /// An RTM_NEWROUTE payload (rtmsg and RTA_* attributes); nil when not IPv4.
    public static func route(from payload: ArraySlice<UInt8>) throws(LinuxErrno) -> Route? {
        let header = ByteReader(Array(payload.prefix(RouteMessage.routeHeaderSize)))
        guard let family = header.integer(at: 0, as: UInt8.self), let prefixLength = header.integer(at: 1, as: UInt8.self),
            let table = header.integer(at: 4, as: UInt8.self), let type = header.integer(at: 7, as: UInt8.self),
            header.bytes.count == RouteMessage.routeHeaderSize
        else { throw .EBADMSG }
        guard family == UInt8(AddressFamily.inet), prefixLength <= 32 else { return nil }
        var route = Route(destination: nil, prefixLength: prefixLength, gateway: nil, interfaceIndex: nil, table: UInt32(table), type: type)
        for attribute in try attributes(of: payload, after: RouteMessage.routeHeaderSize) {
            let value = ByteReader(Array(attribute.value))
            switch attribute.type {
            case RouteAttribute.routeDestination where attribute.value.count == 4: route.destination = Array(attribute.value)
            case RouteAttribute.routeGateway where attribute.value.count == 4: route.gateway = Array(attribute.value)
            case RouteAttribute.routeOutputInterface: route.interfaceIndex = value.integer(at: 0, as: Int32.self)
            case RouteAttribute.routeTable: route.table = value.integer(at: 0, as: UInt32.self) ?? route.table
            default: break
            }
        }
        return route
    }

    // MARK: Requests and replies, as the kernel's side sees them

    /// A request a program sent (the Sentry's route netlink sockets answer it).
    public struct Request: Sendable, Equatable {
        public var type: UInt16
        public var flags: UInt16
        public var sequence: UInt32
        public var port: UInt32
        public var payload: ArraySlice<UInt8>
    }

    /// The requests in one datagram a program sent, in order. As Linux's netlink_rcv_skb,
    /// the datagram's reading stops at a message whose length is below its header or runs
    /// past the datagram: what came before it is taken, the rest is dropped.
    public static func requests(_ datagram: ArraySlice<UInt8>) -> [Request] {
        let reader = ByteReader(Array(datagram))
        var offset = 0
        var requests: [Request] = []
        while let length = reader.integer(at: offset, as: UInt32.self), let type = reader.integer(at: offset + 4, as: UInt16.self),
            let flags = reader.integer(at: offset + 6, as: UInt16.self), let sequence = reader.integer(at: offset + 8, as: UInt32.self),
            let port = reader.integer(at: offset + 12, as: UInt32.self), length >= Netlink.headerSize,
            Int(length) <= reader.bytes.count - offset,
            let payload = reader.bytes(at: offset + Netlink.headerSize, count: Int(length) - Netlink.headerSize)
        {
            requests.append(Request(type: type, flags: flags, sequence: sequence, port: port, payload: payload))
            offset += Netlink.aligned(Int(length))
        }
        return requests
    }

    /// One message: the header (its length, `type`, `flags`, `sequence`, `port`) and `payload`,
    /// padded to 4 bytes.
    public static func message(type: UInt16, flags: UInt16, sequence: UInt32, port: UInt32, payload: [UInt8]) -> [UInt8] {
        var writer = ByteWriter(capacity: Netlink.aligned(Netlink.headerSize + payload.count))
        writer.writeInteger(UInt32(Netlink.headerSize + payload.count))
        writer.writeInteger(type)
        writer.writeInteger(flags)
        writer.writeInteger(sequence)
        writer.writeInteger(port)
        writer.writeBytes(payload)
        writer.writeZeros(Netlink.aligned(writer.count) - writer.count)
        return writer.bytes
    }

    /// One attribute: its length, `type` and `value`, padded to 4 bytes.
    public static func attribute(_ type: UInt16, _ value: some Collection<UInt8>) -> [UInt8] {
        var writer = ByteWriter(capacity: Netlink.aligned(RouteMessage.attributeHeaderSize + value.count))
        writer.writeInteger(UInt16(RouteMessage.attributeHeaderSize + value.count))
        writer.writeInteger(type)
        writer.writeBytes(value)
        writer.writeZeros(Netlink.aligned(writer.count) - writer.count)
        return writer.bytes
    }
}

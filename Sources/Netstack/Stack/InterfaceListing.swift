import LinuxABI

/// The stack's interfaces and routes as the program's view of the network shows them (the
/// Sentry's route netlink sockets: `ip addr`, `ip route`). Interface indexes start at 1, in
/// the order the interfaces were added (the loopback first).
public struct InterfaceListing: Equatable, Sendable {
    public struct Interface: Equatable, Sendable {
        public var index: Int32
        public var name: String
        public var isLoopback: Bool
        public var mtu: UInt32
        /// Six bytes for an Ethernet interface; none for the loopback.
        public var hardwareAddress: [UInt8]
        public var subnets: [IPv4Subnet]
        /// Frames and bytes the interface received and sent (a segment the link cuts counts
        /// once, as handed to it).
        public var counters = Counters()

        public struct Counters: Equatable, Sendable {
            public var receivedPackets: UInt64 = 0
            public var receivedBytes: UInt64 = 0
            public var sentPackets: UInt64 = 0
            public var sentBytes: UInt64 = 0

            public init(receivedPackets: UInt64 = 0, receivedBytes: UInt64 = 0, sentPackets: UInt64 = 0, sentBytes: UInt64 = 0) {
                (self.receivedPackets, self.receivedBytes, self.sentPackets, self.sentBytes) = (receivedPackets, receivedBytes, sentPackets, sentBytes)
            }
        }

        public init(
            index: Int32, name: String, isLoopback: Bool, mtu: UInt32, hardwareAddress: [UInt8], subnets: [IPv4Subnet], counters: Counters = Counters()
        ) {
            (self.index, self.name, self.isLoopback, self.mtu, self.hardwareAddress, self.subnets, self.counters) =
                (index, name, isLoopback, mtu, hardwareAddress, subnets, counters)
        }
    }

    public struct Route: Equatable, Sendable {
        public var destination: IPv4Subnet
        public var gateway: IPv4Address?
        public var interfaceIndex: Int32

        public init(destination: IPv4Subnet, gateway: IPv4Address?, interfaceIndex: Int32) {
            (self.destination, self.gateway, self.interfaceIndex) = (destination, gateway, interfaceIndex)
        }
    }

    public var interfaces: [Interface]
    /// Longest prefix first, as the stack tries them.
    public var routes: [Route]

    /// The routes of Linux's main table, in the order Linux lists them (`ip route`,
    /// /proc/net/route: by network address, then the longer prefix first): those out of an interface
    /// that is not the loopback (Linux keeps the loopback's in its local table).
    public var mainTable: [Route] {
        let loopbacks = Set(interfaces.filter(\.isLoopback).map(\.index))
        return routes.filter { !loopbacks.contains($0.interfaceIndex) }.sorted {
            let (left, right) = ($0.destination.address.rawValue & $0.destination.mask, $1.destination.address.rawValue & $1.destination.mask)
            return left != right ? left < right : $0.destination.prefixLength > $1.destination.prefixLength
        }
    }

    public init(interfaces: [Interface], routes: [Route]) {
        self.interfaces = interfaces
        self.routes = routes
    }

    /// On the wire (the socket RPC): counts, then each interface (index, MTU, loopback, name,
    /// hardware address, subnets, counters) and each route (destination, prefix, gateway or none,
    /// interface index); little-endian.
    public func write(to writer: inout ByteWriter) {
        writer.writeInteger(UInt16(clamping: interfaces.count))
        for interface in interfaces.prefix(Int(UInt16.max)) {
            writer.writeInteger(interface.index)
            writer.writeInteger(interface.mtu)
            writer.writeInteger(UInt8(interface.isLoopback ? 1 : 0))
            let name = Array(interface.name.utf8.prefix(15))
            writer.writeInteger(UInt8(name.count))
            writer.writeBytes(name)
            writer.writeInteger(UInt8(min(interface.hardwareAddress.count, 32)))
            writer.writeBytes(interface.hardwareAddress.prefix(32))
            writer.writeInteger(UInt8(min(interface.subnets.count, 255)))
            for subnet in interface.subnets.prefix(255) {
                writer.writeInteger(subnet.address.rawValue)
                writer.writeInteger(UInt8(subnet.prefixLength))
            }
            for counter in [interface.counters.receivedPackets, interface.counters.receivedBytes, interface.counters.sentPackets, interface.counters.sentBytes] {
                writer.writeInteger(counter)
            }
        }
        writer.writeInteger(UInt16(clamping: routes.count))
        for route in routes.prefix(Int(UInt16.max)) {
            writer.writeInteger(route.destination.address.rawValue)
            writer.writeInteger(UInt8(route.destination.prefixLength))
            writer.writeInteger(UInt8(route.gateway == nil ? 0 : 1))
            writer.writeInteger(route.gateway?.rawValue ?? 0)
            writer.writeInteger(route.interfaceIndex)
        }
    }

    /// The listing `write` wrote, every count and length checked; nil for bytes that do not
    /// hold one.
    public init?(reading reader: inout ByteReader) {
        guard let interfaceCount = reader.readInteger(as: UInt16.self) else { return nil }
        var interfaces: [Interface] = []
        for _ in 0..<interfaceCount {
            guard let index = reader.readInteger(as: Int32.self), let mtu = reader.readInteger(as: UInt32.self),
                let loopback = reader.readInteger(as: UInt8.self), loopback <= 1,
                let nameLength = reader.readInteger(as: UInt8.self), nameLength <= 15, let name = reader.readBytes(count: Int(nameLength)),
                let hardwareLength = reader.readInteger(as: UInt8.self), hardwareLength <= 32,
                let hardware = reader.readBytes(count: Int(hardwareLength)), let subnetCount = reader.readInteger(as: UInt8.self)
            else { return nil }
            var subnets: [IPv4Subnet] = []
            for _ in 0..<subnetCount {
                guard let address = reader.readInteger(as: UInt32.self), let prefix = reader.readInteger(as: UInt8.self), prefix <= 32 else { return nil }
                subnets.append(IPv4Subnet(IPv4Address(rawValue: address), prefixLength: Int(prefix)))
            }
            guard let receivedPackets = reader.readInteger(as: UInt64.self), let receivedBytes = reader.readInteger(as: UInt64.self),
                let sentPackets = reader.readInteger(as: UInt64.self), let sentBytes = reader.readInteger(as: UInt64.self)
            else { return nil }
            interfaces.append(
                Interface(
                    index: index, name: String(decoding: name, as: UTF8.self), isLoopback: loopback == 1, mtu: mtu,
                    hardwareAddress: Array(hardware), subnets: subnets,
                    counters: Interface.Counters(receivedPackets: receivedPackets, receivedBytes: receivedBytes, sentPackets: sentPackets, sentBytes: sentBytes)))
        }
        guard let routeCount = reader.readInteger(as: UInt16.self) else { return nil }
        var routes: [Route] = []
        for _ in 0..<routeCount {
            guard let destination = reader.readInteger(as: UInt32.self), let prefix = reader.readInteger(as: UInt8.self), prefix <= 32,
                let hasGateway = reader.readInteger(as: UInt8.self), hasGateway <= 1, let gateway = reader.readInteger(as: UInt32.self),
                let index = reader.readInteger(as: Int32.self)
            else { return nil }
            routes.append(
                Route(
                    destination: IPv4Subnet(IPv4Address(rawValue: destination), prefixLength: Int(prefix)),
                    gateway: hasGateway == 1 ? IPv4Address(rawValue: gateway) : nil, interfaceIndex: index))
        }
        self.init(interfaces: interfaces, routes: routes)
    }
}

extension Stack {
    /// The interfaces and routes, as `InterfaceListing` numbers them.
    public var listing: InterfaceListing {
        InterfaceListing(
            interfaces: interfaces.map { interface in
                InterfaceListing.Interface(
                    index: Int32(interface.id + 1), name: interface.name, isLoopback: interface.link.hardwareAddress == nil,
                    mtu: UInt32(clamping: interface.link.mtu), hardwareAddress: interface.link.hardwareAddress?.bytes ?? [],
                    subnets: interface.subnets,
                    counters: .init(
                        receivedPackets: interface.received.packets, receivedBytes: interface.received.bytes, sentPackets: interface.sent.packets,
                        sentBytes: interface.sent.bytes))
            },
            routes: routes.map { InterfaceListing.Route(destination: $0.destination, gateway: $0.gateway, interfaceIndex: Int32($0.interface + 1)) })
    }
}

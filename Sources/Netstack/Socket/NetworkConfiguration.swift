import HostSys
import LinuxABI

/// What the Netstack serves on besides its loopback: Ethernet interfaces (each an AF_PACKET
/// link in the Netstack's network namespace) with their IPv4 subnets, and the routes between
/// them. With `--network=sandbox` runsc says it on the command line; for a bundle that names
/// its network namespace, the Netstack reads it there over netlink (`takeOver`).
public struct NetworkConfiguration: Sendable, Equatable {
    public struct Interface: Sendable, Equatable {
        public var name: String
        public var subnets: [IPv4Subnet]

        public init(name: String, subnets: [IPv4Subnet]) {
            self.name = name
            self.subnets = subnets
        }
    }

    public struct Route: Sendable, Equatable {
        public var destination: IPv4Subnet
        public var gateway: IPv4Address?
        /// The name of one of `interfaces`.
        public var interface: String

        public init(destination: IPv4Subnet, gateway: IPv4Address?, interface: String) {
            self.destination = destination
            self.gateway = gateway
            self.interface = interface
        }
    }

    public var interfaces: [Interface]
    /// Beyond each interface's own subnets, which are routes of their own.
    public var routes: [Route]

    public init(interfaces: [Interface], routes: [Route]) {
        self.interfaces = interfaces
        self.routes = routes
    }

    /// The configuration of what the kernel reports: each Ethernet interface (not the
    /// loopback) with at least one IPv4 address, and the main table's unicast routes out of
    /// them, less the routes of their own subnets. A multipath route (no single output
    /// interface) is left out: the stack routes each prefix through one interface.
    public init(links: [RouteNetlink.Link], addresses: [RouteNetlink.Address], routes: [RouteNetlink.Route]) {
        var names: [Int32: String] = [:]
        interfaces = []
        for link in links where link.type == InterfaceFlag.etherType && link.flags & InterfaceFlag.loopback == 0 {
            let subnets = addresses.filter { $0.interfaceIndex == link.index }.compactMap { (address) -> IPv4Subnet? in
                guard let local = IPv4Address(wire: address.local) else { return nil }
                return IPv4Subnet(local, prefixLength: Int(address.prefixLength))
            }
            guard !subnets.isEmpty else { continue }
            names[link.index] = link.name
            interfaces.append(Interface(name: link.name, subnets: subnets))
        }
        self.routes = []
        for route in routes {
            guard let index = route.interfaceIndex, let name = names[index] else { continue }
            let destination = IPv4Subnet(route.destination.flatMap { IPv4Address(wire: $0) } ?? IPv4Address(rawValue: 0), prefixLength: Int(route.prefixLength))
            let gateway = route.gateway.flatMap { IPv4Address(wire: $0) }
            let own = interfaces.first { $0.name == name }?.subnets.contains { $0.prefixLength == destination.prefixLength && $0.contains(destination.address) } ?? false
            if gateway == nil && own { continue }
            self.routes.append(Route(destination: destination, gateway: gateway, interface: name))
        }
    }

    /// Reads the current network namespace's interfaces, addresses and routes over netlink:
    /// the configuration to serve, and the host kernel's addresses it covers, which
    /// `removeFromHost` then takes away.
    public static func read() throws(Errno) -> (configuration: NetworkConfiguration, hostAddresses: [RouteNetlink.Address]) {
        var netlink = try RouteNetlink()
        let links = try netlink.links()
        let addresses = try netlink.addresses()
        let configuration = NetworkConfiguration(links: links, addresses: addresses, routes: try netlink.routes())
        let taken = Set(links.filter { link in configuration.interfaces.contains { $0.name == link.name } }.map(\.index))
        return (configuration, addresses.filter { taken.contains($0.interfaceIndex) })
    }

    /// Removes `addresses` from the host kernel (which drops the routes through them), so that
    /// only the Netstack answers for them, as gVisor's runsc does before it starts the
    /// sandbox. Secondary addresses go first: deleting a primary deletes its secondaries too
    /// (unless promote_secondaries is set), and one already gone is no error. Needs
    /// CAP_NET_ADMIN in the namespace.
    public static func removeFromHost(_ addresses: [RouteNetlink.Address]) throws(Errno) {
        guard !addresses.isEmpty else { return }
        var netlink = try RouteNetlink()
        let secondaryFlag: UInt8 = 0x01  // IFA_F_SECONDARY
        for address in addresses.filter({ $0.flags & secondaryFlag != 0 }) + addresses.filter({ $0.flags & secondaryFlag == 0 }) {
            do {
                try netlink.delete(address)
            } catch .EADDRNOTAVAIL {
                continue
            }
        }
    }
}

extension IPv4Address {
    /// The address of 4 bytes in wire order, or nil for another count.
    init?(wire bytes: [UInt8]) {
        guard bytes.count == 4 else { return nil }
        self.init(bytes[0], bytes[1], bytes[2], bytes[3])
    }
}

import LinuxABI
import Netstack
import Testing

@testable import Sentry

@Suite("Sentry: route netlink answers from the Netstack's listing")
struct NetlinkRouteTests {
    let listing = InterfaceListing(
        interfaces: [
            .init(index: 1, name: "lo", isLoopback: true, mtu: 65536, hardwareAddress: [], subnets: [IPv4Subnet(IPv4Address(127, 0, 0, 1), prefixLength: 8)]),
            .init(
                index: 2, name: "eth0", isLoopback: false, mtu: 1500, hardwareAddress: [2, 0, 0, 0, 0, 9],
                subnets: [IPv4Subnet(IPv4Address(198, 18, 0, 2), prefixLength: 30)]),
        ],
        routes: [
            .init(destination: IPv4Subnet(IPv4Address(198, 18, 0, 2), prefixLength: 30), gateway: nil, interfaceIndex: 2),
            .init(destination: IPv4Subnet(IPv4Address(127, 0, 0, 1), prefixLength: 8), gateway: nil, interfaceIndex: 1),
            .init(destination: IPv4Subnet(IPv4Address(rawValue: 0), prefixLength: 0), gateway: IPv4Address(198, 18, 0, 1), interfaceIndex: 2),
        ])

    /// A request as a program sends it: `type`, `flags`, sequence 7, and `payload`.
    func request(_ type: UInt16, flags: UInt16, payload: [UInt8] = [0]) -> RouteNetlinkWire.Request {
        let bytes = RouteNetlinkWire.message(type: type, flags: Netlink.requestFlag | flags, sequence: 7, port: 0, payload: payload)
        return RouteNetlinkWire.requests(bytes[...])[0]
    }

    /// The reply messages to `request`, parsed back as the kernel's reply would be.
    func answer(_ request: RouteNetlinkWire.Request) throws(LinuxErrno) -> [RouteNetlinkWire.Message] {
        let bytes = RouteNetlinkReplies.answer(request, listing: listing, port: 42).flatMap { $0 }
        let parsed = try RouteNetlinkWire.parse(bytes[...], sequence: 7)
        #expect(parsed.finished == (request.flags & Netlink.dumpFlag == Netlink.dumpFlag))
        return parsed.messages
    }

    @Test("link, address and route dumps carry what ip reads, and end with NLMSG_DONE")
    func dumps() throws {
        let links = try answer(request(RouteMessage.getLink, flags: Netlink.dumpFlag)).map { try RouteNetlinkWire.link(from: $0.payload) }
        #expect(links.map(\.name) == ["lo", "eth0"])
        #expect(links[1].hardwareAddress == [2, 0, 0, 0, 0, 9] && links[1].mtu == 1500 && links[1].type == InterfaceFlag.etherType)
        #expect(links[0].flags & InterfaceFlag.loopback != 0 && links[1].flags & InterfaceFlag.up != 0)
        let addresses = try answer(request(RouteMessage.getAddress, flags: Netlink.dumpFlag)).compactMap { try RouteNetlinkWire.address(from: $0.payload) }
        #expect(addresses.map(\.local) == [[127, 0, 0, 1], [198, 18, 0, 2]])
        #expect(addresses.map(\.prefixLength) == [8, 30] && addresses.map(\.interfaceIndex) == [1, 2])
        // The main table: the loopback's route stays out, as Linux keeps it in the local table.
        let routes = try answer(request(RouteMessage.getRoute, flags: Netlink.dumpFlag)).compactMap { try RouteNetlinkWire.route(from: $0.payload) }
        // In Linux's order: the default route first.
        #expect(routes.count == 2)
        #expect(routes[1].destination == [198, 18, 0, 0] && routes[1].prefixLength == 30 && routes[1].gateway == nil)
        #expect(routes[0].destination == nil && routes[0].gateway == [198, 18, 0, 1] && routes[0].interfaceIndex == 2)
        // An IPv6 dump has nothing to show.
        #expect(try answer(request(RouteMessage.getAddress, flags: Netlink.dumpFlag, payload: [UInt8(AddressFamily.inet6)])).isEmpty)
    }

    @Test("one link by name or index; an unknown one is ENODEV; a change is EOPNOTSUPP, never done")
    func singleAndRefused() throws {
        var byName = [UInt8](repeating: 0, count: RouteMessage.linkHeaderSize)
        byName += RouteNetlinkWire.attribute(RouteAttribute.linkName, Array("eth0".utf8) + [0])
        #expect(try answer(request(RouteMessage.getLink, flags: 0, payload: byName)).map { try RouteNetlinkWire.link(from: $0.payload).index } == [2])
        var byIndex = [UInt8](repeating: 0, count: RouteMessage.linkHeaderSize)
        byIndex[4] = 1
        #expect(try answer(request(RouteMessage.getLink, flags: 0, payload: byIndex)).map { try RouteNetlinkWire.link(from: $0.payload).name } == ["lo"])
        var unknown = [UInt8](repeating: 0, count: RouteMessage.linkHeaderSize)
        unknown += RouteNetlinkWire.attribute(RouteAttribute.linkName, Array("eth9".utf8) + [0])
        #expect(throws: LinuxErrno.ENODEV) { try answer(request(RouteMessage.getLink, flags: 0, payload: unknown)) }
        #expect(throws: LinuxErrno.EOPNOTSUPP) {
            try answer(request(RouteMessage.newAddress, flags: Netlink.acknowledgeFlag, payload: [UInt8](repeating: 0, count: 8)))
        }
    }

    @Test("a message that is not a request, or a control message, gets only the acknowledgement asked for; a single answer is acknowledged when asked")
    func acknowledgements() throws {
        let notRequest = RouteNetlinkWire.requests(
            RouteNetlinkWire.message(type: RouteMessage.getLink, flags: Netlink.dumpFlag, sequence: 7, port: 0, payload: [0])[...])[0]
        #expect(RouteNetlinkReplies.answer(notRequest, listing: listing, port: 42).isEmpty)
        let control = request(Netlink.done, flags: Netlink.acknowledgeFlag)
        let acknowledged = try RouteNetlinkWire.parse(RouteNetlinkReplies.answer(control, listing: listing, port: 42).flatMap { $0 }[...], sequence: 7)
        #expect(acknowledged.finished && acknowledged.messages.isEmpty)
        var byIndex = [UInt8](repeating: 0, count: RouteMessage.linkHeaderSize)
        byIndex[4] = 2
        let replies = RouteNetlinkReplies.answer(request(RouteMessage.getLink, flags: Netlink.acknowledgeFlag, payload: byIndex), listing: listing, port: 42)
        #expect(replies.count == 2)
        #expect(try RouteNetlinkWire.parse(replies.flatMap { $0 }[...], sequence: 7).finished)
    }

    @Test("requests are read up to a message whose length does not fit, as Linux reads them")
    func requestParsing() {
        let one = RouteNetlinkWire.message(type: RouteMessage.getLink, flags: 0x301, sequence: 1, port: 0, payload: [0])
        var lying = RouteNetlinkWire.message(type: RouteMessage.getAddress, flags: 0x301, sequence: 2, port: 0, payload: [0])
        lying[0] = 200
        #expect(RouteNetlinkWire.requests((one + lying)[...]).map(\.sequence) == [1])
        #expect(RouteNetlinkWire.requests([1, 2, 3][...]).isEmpty)
        // A message of 17 bytes (padded to 20): taken once all 17 are there.
        for cut in 0...one.count { #expect(RouteNetlinkWire.requests(one[..<cut]).count == (cut >= 17 ? 1 : 0), "cut at \(cut)") }
    }
}

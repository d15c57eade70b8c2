import CShim
import Glibc
import LinuxABI

/// A route netlink socket (rtnetlink(7)) of the calling thread's network namespace: reads its
/// interfaces, IPv4 addresses and routes, and deletes addresses. The Netstack uses it, before
/// it confines itself, to take over a namespace that runsc did not set up (a bundle that
/// names its network namespace by path), as gVisor's runsc does.
///
/// Every reply is parsed with checked lengths (`RouteNetlinkWire`): a message or attribute
/// that runs past its container is `EBADMSG`, never a read out of bounds.
public struct RouteNetlink: ~Copyable {
    public typealias Link = RouteNetlinkWire.Link
    public typealias Address = RouteNetlinkWire.Address
    public typealias Route = RouteNetlinkWire.Route
    public typealias Message = RouteNetlinkWire.Message

    private let socket: FileDescriptor
    private var sequence: UInt32 = 0

    /// Opens a NETLINK_ROUTE socket in the current network namespace.
    public init() throws(Errno) {
        socket = FileDescriptor(
            owning: try hostCall { Glibc.socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Netlink.routeProtocol) })
    }

    /// Every interface of the namespace.
    public mutating func links() throws(Errno) -> [Link] {
        var header = ByteWriter()
        header.writeZeros(RouteMessage.linkHeaderSize)  // ifinfomsg: AF_UNSPEC, all interfaces
        var links: [Link] = []
        for message in try request(RouteMessage.getLink, flags: Netlink.dumpFlag, body: header.bytes) where message.type == RouteMessage.newLink {
            links.append(try Self.decoded { () throws(LinuxErrno) in try RouteNetlinkWire.link(from: message.payload) })
        }
        return links
    }

    /// Every IPv4 address of the namespace.
    public mutating func addresses() throws(Errno) -> [Address] {
        var header = ByteWriter()
        header.writeInteger(UInt8(AF_INET))
        header.writeZeros(RouteMessage.addressHeaderSize - 1)
        var addresses: [Address] = []
        for message in try request(RouteMessage.getAddress, flags: Netlink.dumpFlag, body: header.bytes)
        where message.type == RouteMessage.newAddress {
            if let address = try Self.decoded({ () throws(LinuxErrno) in try RouteNetlinkWire.address(from: message.payload) }) { addresses.append(address) }
        }
        return addresses
    }

    /// The IPv4 unicast routes of the main table.
    public mutating func routes() throws(Errno) -> [Route] {
        var header = ByteWriter()
        header.writeInteger(UInt8(AF_INET))
        header.writeZeros(RouteMessage.routeHeaderSize - 1)
        var routes: [Route] = []
        for message in try request(RouteMessage.getRoute, flags: Netlink.dumpFlag, body: header.bytes) where message.type == RouteMessage.newRoute {
            if let route = try Self.decoded({ () throws(LinuxErrno) in try RouteNetlinkWire.route(from: message.payload) }), route.table == InterfaceFlag.mainTable, route.type == InterfaceFlag.unicastRoute {
                routes.append(route)
            }
        }
        return routes
    }

    /// Removes `address` from its interface (RTM_DELADDR), so that the host kernel no longer
    /// answers for it; the kernel also drops the routes that went through it.
    public mutating func delete(_ address: Address) throws(Errno) {
        var body = ByteWriter()
        body.writeInteger(UInt8(AF_INET))
        body.writeInteger(address.prefixLength)
        body.writeInteger(address.flags)
        body.writeInteger(address.scope)
        body.writeInteger(UInt32(bitPattern: address.interfaceIndex))
        body.writeInteger(UInt16(RouteMessage.attributeHeaderSize + 4))
        body.writeInteger(RouteAttribute.addressLocal)
        body.writeBytes(address.local)
        _ = try request(RouteMessage.deleteAddress, flags: Netlink.acknowledgeFlag, body: body.bytes)
    }

    /// Sends one request and collects its reply: the messages up to NLMSG_DONE for a dump,
    /// the acknowledgement for an NLM_F_ACK request. An NLMSG_ERROR with an errno throws it.
    /// A dump the kernel marks interrupted is asked again (a few times, then EINTR).
    private mutating func request(_ type: UInt16, flags: UInt16, body: [UInt8]) throws(Errno) -> [Message] {
        var attempts = 0
        while true {
            do {
                return try requestOnce(type, flags: flags, body: body)
            } catch .EINTR where flags & Netlink.dumpFlag != 0 && attempts < 4 {
                attempts += 1  // what is left of the old dump has the old sequence number: skipped
            }
        }
    }

    private mutating func requestOnce(_ type: UInt16, flags: UInt16, body: [UInt8]) throws(Errno) -> [Message] {
        sequence &+= 1
        var message = ByteWriter(capacity: Netlink.headerSize + body.count)
        message.writeInteger(UInt32(Netlink.headerSize + body.count))
        message.writeInteger(type)
        message.writeInteger(Netlink.requestFlag | flags)
        message.writeInteger(sequence)
        message.writeInteger(UInt32(0))
        message.writeBytes(body)
        let bytes = message.bytes
        let fd = socket.rawValue
        _ = try hostCall { bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) } }
        var collected: [Message] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            // MSG_TRUNC: the datagram's whole length, to tell a cut one.
            let count = try hostCall { buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, Int32(MSG_TRUNC)) } }
            guard count <= buffer.count else { throw .EMSGSIZE }
            let parsed = try Self.decoded { () throws(LinuxErrno) in try RouteNetlinkWire.parse(buffer[..<count], sequence: sequence) }
            collected += parsed.messages
            if parsed.finished || flags & Netlink.dumpFlag == 0 { return collected }
        }
    }

    /// Runs a parse of a reply; its error (EBADMSG, or the kernel's NLMSG_ERROR) as the
    /// host's errno.
    private static func decoded<Value>(_ parse: () throws(LinuxErrno) -> Value) throws(Errno) -> Value {
        do {
            return try parse()
        } catch {
            throw Errno(error.rawValue)
        }
    }
}

/// Namespaces of the calling thread.
public enum Namespace {
    /// Moves the calling thread into the network namespace `fd` refers to (setns(2) with
    /// CLONE_NEWNET; needs CAP_SYS_ADMIN). The process must not have other threads yet if
    /// they are to share it: a namespace is per thread, inherited by threads started later.
    public static func joinNetwork(_ fd: borrowing FileDescriptor) throws(Errno) {
        let raw = fd.rawValue
        _ = try hostCall {
            cshim_syscall6(Int(SYS_setns), Int(raw), Int(ChildProcess.Namespaces.network.rawValue), 0, 0, 0, 0)
        }
    }
}

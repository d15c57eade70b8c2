// Route netlink (rtnetlink(7)): the message types, flags and attributes the Netstack uses to
// read and take over a network namespace's interfaces, addresses and routes.

/// netlink(7) header values (`struct nlmsghdr`).
public enum Netlink {
    /// NETLINK_ROUTE, the protocol of a route netlink socket.
    public static let routeProtocol: Int32 = 0
    /// sizeof(struct nlmsghdr).
    public static let headerSize = 16
    /// NLMSG_ALIGNTO: messages and attributes start on 4-byte boundaries.
    public static let alignment = 4

    public static let error: UInt16 = 2
    public static let done: UInt16 = 3
    /// NLMSG_MIN_TYPE: types below it are control messages, not requests.
    public static let minimumType: UInt16 = 0x10

    public static let requestFlag: UInt16 = 0x1
    public static let multipartFlag: UInt16 = 0x2
    public static let acknowledgeFlag: UInt16 = 0x4
    /// NLM_F_DUMP_INTR: the dump's tables changed while it ran; its answer may be inconsistent.
    public static let dumpInterruptedFlag: UInt16 = 0x10
    /// NLM_F_DUMP (NLM_F_ROOT | NLM_F_MATCH).
    public static let dumpFlag: UInt16 = 0x300

    /// NLMSG_ALIGN.
    @inlinable public static func aligned(_ length: Int) -> Int { (length + alignment - 1) & ~(alignment - 1) }
}

/// rtnetlink(7) message types.
public enum RouteMessage {
    public static let newLink: UInt16 = 16
    public static let getLink: UInt16 = 18
    public static let newAddress: UInt16 = 20
    public static let deleteAddress: UInt16 = 21
    public static let getAddress: UInt16 = 22
    public static let newRoute: UInt16 = 24
    public static let getRoute: UInt16 = 26

    /// sizeof(struct ifinfomsg), struct ifaddrmsg, struct rtmsg.
    public static let linkHeaderSize = 16
    public static let addressHeaderSize = 8
    public static let routeHeaderSize = 12
    /// sizeof(struct rtattr).
    public static let attributeHeaderSize = 4
}

/// Attribute types of RTM_*LINK (IFLA_*), RTM_*ADDR (IFA_*) and RTM_*ROUTE (RTA_*) messages.
public enum RouteAttribute {
    public static let linkAddress: UInt16 = 1  // IFLA_ADDRESS
    public static let linkBroadcast: UInt16 = 2  // IFLA_BROADCAST
    public static let linkQueueLength: UInt16 = 13  // IFLA_TXQLEN
    public static let linkOperationalState: UInt16 = 16  // IFLA_OPERSTATE
    public static let linkName: UInt16 = 3  // IFLA_IFNAME
    public static let linkMTU: UInt16 = 4  // IFLA_MTU
    public static let addressAddress: UInt16 = 1  // IFA_ADDRESS
    public static let addressLocal: UInt16 = 2  // IFA_LOCAL
    public static let addressLabel: UInt16 = 3  // IFA_LABEL
    public static let addressBroadcast: UInt16 = 4  // IFA_BROADCAST
    public static let routeDestination: UInt16 = 1  // RTA_DST
    public static let routeOutputInterface: UInt16 = 4  // RTA_OIF
    public static let routeGateway: UInt16 = 5  // RTA_GATEWAY
    public static let routePreferredSource: UInt16 = 7  // RTA_PREFSRC
    public static let routeTable: UInt16 = 15  // RTA_TABLE
}

/// Interface flags (IFF_*) and values of routes.
public enum InterfaceFlag {
    public static let up: UInt32 = 0x1
    public static let broadcast: UInt32 = 0x2
    public static let loopback: UInt32 = 0x8
    public static let running: UInt32 = 0x40
    public static let multicast: UInt32 = 0x1000
    public static let lowerUp: UInt32 = 0x10000
    /// ARPHRD_LOOPBACK.
    public static let loopbackType: UInt16 = 772
    /// IF_OPER_UP, IF_OPER_UNKNOWN (the loopback's).
    public static let operationalUp: UInt8 = 6
    public static let operationalUnknown: UInt8 = 0
    /// IFA_F_PERMANENT: an address configured, not learned.
    public static let permanentAddress: UInt8 = 0x80
    /// RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_HOST.
    public static let universeScope: UInt8 = 0
    public static let linkScope: UInt8 = 253
    public static let hostScope: UInt8 = 254
    /// RTPROT_KERNEL (a subnet's own route), RTPROT_BOOT (one configured).
    public static let kernelProtocol: UInt8 = 2
    public static let bootProtocol: UInt8 = 3
    /// ARPHRD_ETHER, the `ifi_type` of an Ethernet interface (a veth is one).
    public static let etherType: UInt16 = 1
    /// RT_TABLE_MAIN.
    public static let mainTable: UInt32 = 254
    /// RTN_UNICAST.
    public static let unicastRoute: UInt8 = 1
}

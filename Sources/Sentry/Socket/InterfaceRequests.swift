import LinuxABI
import Netstack

/// The interface ioctls Linux answers on any socket (netdevice(7)): SIOCGIFCONF and the
/// SIOCGIF* queries of one interface by name (index, name by index, flags, MTU, hardware
/// address, IPv4 address, netmask, broadcast, queue length), from the Netstack's listing.
/// Setting anything (SIOCSIF*, SIOCADDRT...) is EOPNOTSUPP, as route netlink's changes are:
/// the program cannot reconfigure its Netstack.
enum InterfaceRequests {
    static let getName: UInt64 = 0x8910, getConfiguration: UInt64 = 0x8912, getFlags: UInt64 = 0x8913
    static let getAddress: UInt64 = 0x8915, getBroadcast: UInt64 = 0x8919, getNetmask: UInt64 = 0x891b, getMTU: UInt64 = 0x8921
    static let getHardwareAddress: UInt64 = 0x8927, getIndex: UInt64 = 0x8933, getQueueLength: UInt64 = 0x8942
    /// sizeof(struct ifreq), and where its union starts (after the 16-byte name).
    static let requestSize = 40, unionOffset = 16
    /// The calls that change a device or the routes (SIOCADDRT, SIOCDELRT, SIOCSIFFLAGS,
    /// SIOCSIFADDR, SIOCSIFDSTADDR, SIOCSIFBRDADDR, SIOCSIFNETMASK, SIOCSIFMETRIC,
    /// SIOCSIFMTU, SIOCSIFNAME, SIOCSIFHWADDR, SIOCSIFTXQLEN).
    static let setRequests: Set<UInt64> = [0x890b, 0x890c, 0x8914, 0x8916, 0x8918, 0x891a, 0x891c, 0x891e, 0x8922, 0x8923, 0x8924, 0x8943]

    /// Answers `request` if it is an interface ioctl (nil when it is not one), with the
    /// caller's `struct ifreq` or `struct ifconf` at `argument`.
    static func answer(_ request: UInt64, argument: UInt64, mm: MemoryManager, listing: () throws(LinuxErrno) -> InterfaceListing) throws(LinuxErrno) -> Int64? {
        switch request {
        case getConfiguration:
            return try configuration(at: argument, mm: mm, listing: try listing())
        case getName, getFlags, getAddress, getBroadcast, getNetmask, getMTU, getHardwareAddress, getIndex, getQueueLength:
            var ifreq = try mm.copyIn(from: argument, count: requestSize)
            let interfaces = try listing().interfaces
            let interface: InterfaceListing.Interface?
            if request == getName {
                let index = Int32(bitPattern: UInt32(ifreq[16]) | UInt32(ifreq[17]) << 8 | UInt32(ifreq[18]) << 16 | UInt32(ifreq[19]) << 24)
                interface = interfaces.first { $0.index == index }
            } else {
                let name = String(decoding: ifreq[0..<16].prefix { $0 != 0 }, as: UTF8.self)
                interface = interfaces.first { $0.name == name }
            }
            guard let interface else { throw .ENODEV }
            try fill(&ifreq, request: request, interface: interface)
            try mm.copyOut(ifreq, to: argument)
            return 0
        case let other where setRequests.contains(other):
            throw .EOPNOTSUPP
        default:
            return nil
        }
    }

    /// Writes the answer to `request` into `ifreq`'s union (and its name, for SIOCGIFNAME).
    private static func fill(_ ifreq: inout [UInt8], request: UInt64, interface: InterfaceListing.Interface) throws(LinuxErrno) {
        func put(_ bytes: [UInt8]) { ifreq.replaceSubrange(unionOffset..<(unionOffset + bytes.count), with: bytes) }
        func integer<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        let first = interface.subnets.first
        switch request {
        case getName:
            let name = Array(interface.name.utf8.prefix(15))
            ifreq.replaceSubrange(0..<16, with: name + [UInt8](repeating: 0, count: 16 - name.count))
        case getIndex: put(integer(interface.index))
        case getMTU: put(integer(Int32(clamping: interface.mtu)))
        case getQueueLength: put(integer(Int32(1000)))
        case getFlags:
            let kind = interface.isLoopback ? InterfaceFlag.loopback : InterfaceFlag.broadcast | InterfaceFlag.multicast
            put(integer(UInt16(truncatingIfNeeded: InterfaceFlag.up | InterfaceFlag.running | kind)))
        case getHardwareAddress:
            // sa_family ARPHRD_*, then the address in sa_data.
            let hardware = interface.isLoopback ? [UInt8](repeating: 0, count: 6) : interface.hardwareAddress
            put(integer(interface.isLoopback ? InterfaceFlag.loopbackType : InterfaceFlag.etherType) + hardware.prefix(14))
        case getAddress, getNetmask, getBroadcast:
            guard let first else { throw .EADDRNOTAVAIL }
            let address: IPv4Address =
                switch request {
                case getAddress: first.address
                case getNetmask: IPv4Address(rawValue: first.mask)
                default: first.broadcast
                }
            put(sockaddrIn(address))
        default:
            break
        }
    }

    /// SIOCGIFCONF: an ifreq (name and IPv4 address) per address of every interface, as many as
    /// fit in the caller's buffer; a null buffer asks for the length needed.
    private static func configuration(at argument: UInt64, mm: MemoryManager, listing: InterfaceListing) throws(LinuxErrno) -> Int64 {
        let ifconf = try mm.copyIn(from: argument, count: 16)
        let length = Int(Int32(bitPattern: UInt32(ifconf[0]) | UInt32(ifconf[1]) << 8 | UInt32(ifconf[2]) << 16 | UInt32(ifconf[3]) << 24))
        let buffer = ifconf[8..<16].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        var entries: [[UInt8]] = []
        for interface in listing.interfaces {
            for subnet in interface.subnets {
                let name = Array(interface.name.utf8.prefix(15))
                var entry = name + [UInt8](repeating: 0, count: 16 - name.count) + sockaddrIn(subnet.address)
                entry += [UInt8](repeating: 0, count: requestSize - entry.count)
                entries.append(entry)
            }
        }
        var written = 0
        if buffer == 0 {
            written = entries.count * requestSize
        } else {
            for entry in entries where written + requestSize <= max(length, 0) {
                try mm.copyOut(entry, to: buffer + UInt64(written))
                written += requestSize
            }
        }
        try mm.copyOut(withUnsafeBytes(of: Int32(written).littleEndian) { Array($0) }, to: argument)
        return 0
    }

    /// A sockaddr_in of `address` (port 0), 16 bytes.
    private static func sockaddrIn(_ address: IPv4Address) -> [UInt8] {
        withUnsafeBytes(of: UInt16(AddressFamily.inet).littleEndian) { Array($0) } + [0, 0] + address.bytes + [UInt8](repeating: 0, count: 8)
    }
}

import LinuxABI

/// The AF_NETLINK parts of the socket calls (`NetlinkRouteSocket`): socket(2) makes one for
/// NETLINK_ROUTE, and bind, getsockname, connect, sendto/sendmsg, recvfrom/recvmsg and the
/// socket options go to it through these helpers.
extension Syscalls {
    /// SOL_NETLINK, and its options that only change what the kernel adds to its answers
    /// (NETLINK_EXT_ACK: error attributes; NETLINK_GET_STRICT_CHK: strict dump filters).
    static let solNetlink: Int32 = 270
    static let netlinkOptions: Set<UInt64> = [11, 12]
    /// SO_SNDBUFFORCE and SO_RCVBUFFORCE.
    static let soSendBufferForce: UInt64 = 32, soReceiveBufferForce: UInt64 = 33

    /// socket(AF_NETLINK, SOCK_RAW or SOCK_DGRAM, NETLINK_ROUTE); another netlink protocol
    /// is EPROTONOSUPPORT. The socket's port is the process's id, as Linux's autobind gives
    /// the first socket of a process.
    static func netlinkSocket(_ task: Task, type: Int32, protocol: UInt64, flags: Int32) throws(LinuxErrno) -> SyscallOutcome {
        guard type == SocketType.raw || type == SocketType.datagram else { throw .ESOCKTNOSUPPORT }
        guard `protocol` == UInt64(Netlink.routeProtocol) else { throw .EPROTONOSUPPORT }
        let socket = NetlinkRouteSocket(sandbox: task.sandbox, inode: task.sandbox.newPipeInode(), port: UInt32(bitPattern: task.pid))
        let status: OpenFlags = flags & SocketType.nonBlockFlag != 0 ? [.readWrite, .nonBlocking] : .readWrite
        return .value(Int64(try task.fds.add(FileDescription(socket, flags: status), closeOnExec: flags & SocketType.closeOnExecFlag != 0)))
    }

    /// The sockaddr_nl at `address`: its port (EINVAL when short or of another family).
    static func netlinkAddress(_ task: Task, at address: UInt64, length: UInt64) throws(LinuxErrno) -> UInt32 {
        guard length >= 12 else { throw .EINVAL }
        let bytes = try task.mm.copyIn(from: address, count: 12)
        guard UInt16(bytes[0]) | UInt16(bytes[1]) << 8 == UInt16(AddressFamily.netlink) else { throw .EINVAL }
        return UInt32(bytes[4]) | UInt32(bytes[5]) << 8 | UInt32(bytes[6]) << 16 | UInt32(bytes[7]) << 24
    }

    /// A send's destination must be the kernel (port 0): no other netlink peer exists here.
    static func checkNetlinkDestination(_ task: Task, at address: UInt64, length: UInt64) throws(LinuxErrno) {
        guard address != 0 else { return }
        if try netlinkAddress(task, at: address, length: length) != 0 { throw .ECONNREFUSED }
    }

    /// Stores the sockaddr_nl of `port` at `address`, with its length at `lengthAddress`
    /// (cut to the room the caller gave, as Linux does).
    static func storeNetlinkAddress(_ task: Task, port: UInt32, at address: UInt64, lengthAt lengthAddress: UInt64) throws(LinuxErrno) {
        guard address != 0, lengthAddress != 0 else { return }
        let room = Int(word(try task.mm.copyIn(from: lengthAddress, count: 4) + [0, 0, 0, 0]))
        let name = NetlinkRouteSocket.address(port: port)
        try task.mm.copyOut(Array(name.prefix(max(room, 0))), to: address)
        try task.mm.copyOut(Array(bytes(UInt64(name.count)).prefix(4)), to: lengthAddress)
    }

    /// setsockopt(2) on a netlink socket: the buffer sizes (taken: the queue holds what the
    /// answers need) and the SOL_NETLINK options that shape answers this socket does not give
    /// anyway; others are ENOPROTOOPT.
    static func netlinkSetOption(level: Int32, name: UInt64) throws(LinuxErrno) -> SyscallOutcome {
        switch (level, name) {
        case (SocketLevel.socket, soSendBuffer), (SocketLevel.socket, soReceiveBuffer), (SocketLevel.socket, soSendBufferForce),
            (SocketLevel.socket, soReceiveBufferForce):
            return .value(0)
        case (solNetlink, let option) where netlinkOptions.contains(option):
            return .value(0)
        default:
            throw .ENOPROTOOPT
        }
    }
}

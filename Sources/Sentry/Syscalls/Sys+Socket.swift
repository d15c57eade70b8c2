import LinuxABI
import Netstack

extension Syscalls {
    /// The size of `struct sockaddr_in`.
    static let sockaddrInSize = 16

    /// The AF_INET socket behind `fd` (ENOTSOCK for another file).
    static func inetSocket(_ task: Task, _ fd: UInt64) throws(LinuxErrno) -> (InetSocket, FileDescription) {
        let file = try task.fds.get(Syscalls.fd(fd))
        guard let socket = file.operations as? InetSocket else { throw .ENOTSOCK }
        return (socket, file)
    }

    /// Reads a `struct sockaddr_in` of `length` bytes at `address`: EINVAL if shorter,
    /// EAFNOSUPPORT for another family.
    static func socketAddress(_ task: Task, at address: UInt64, length: UInt64) throws(LinuxErrno) -> SocketService.Address {
        guard length >= UInt64(sockaddrInSize), length <= 128 else { throw .EINVAL }
        let bytes = try task.mm.copyIn(from: address, count: sockaddrInSize)
        guard Int32(bytes[0]) | Int32(bytes[1]) << 8 == AddressFamily.inet else { throw .EAFNOSUPPORT }
        let port = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
        let ip = bytes[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return SocketService.Address(IPv4Address(rawValue: ip), port)
    }

    /// Writes `value` as a `struct sockaddr_in` to `address`, through the in/out length at
    /// `lengthAddress` (truncated to the caller's length, which is set to the full size), as
    /// accept(2), getsockname(2) and recvfrom(2) report addresses.
    static func storeSocketAddress(_ task: Task, _ value: SocketService.Address, at address: UInt64, lengthAt lengthAddress: UInt64) throws(LinuxErrno) {
        guard address != 0, lengthAddress != 0 else { return }
        let given = Int32(bitPattern: UInt32(truncatingIfNeeded: word(try task.mm.copyIn(from: lengthAddress, count: 4) + [0, 0, 0, 0])))
        guard given >= 0 else { throw .EINVAL }
        var bytes: [UInt8] = [UInt8(AddressFamily.inet), 0, UInt8(value.port >> 8), UInt8(truncatingIfNeeded: value.port)]
        bytes += value.address.bytes + [UInt8](repeating: 0, count: 8)
        try task.mm.copyOut(Array(bytes.prefix(Int(given))), to: address)
        try task.mm.copyOut([UInt8(sockaddrInSize), 0, 0, 0], to: lengthAddress)
    }

    /// The AF_UNIX end behind `operations`: a socketpair's end, or a connected socket's.
    static func unixEnd(_ operations: any FileOperations) -> UnixSocketEnd? {
        (operations as? UnixSocketEnd) ?? (operations as? UnixStreamSocket)?.connectedEnd
    }

    /// Reads a `struct sockaddr_un` of `length` bytes: the path (without its NUL), or the
    /// abstract name (a first NUL byte, then every byte of the name).
    static func unixAddress(_ task: Task, at address: UInt64, length: UInt64) throws(LinuxErrno) -> (bytes: [UInt8], abstract: Bool) {
        guard length > 2, length <= 110 else { throw .EINVAL }
        let raw = try task.mm.copyIn(from: address, count: Int(length))
        guard Int32(raw[0]) | Int32(raw[1]) << 8 == AddressFamily.unix else { throw .EAFNOSUPPORT }
        let path = raw[2...]
        if path.first == 0 { return (Array(path.dropFirst()), true) }
        let bytes = Array(path.prefix { $0 != 0 })
        guard !bytes.isEmpty else { throw .ENOENT }
        return (bytes, false)
    }

    /// bind(2)'s name for the `struct sockaddr_un` at `address`: an abstract name, or a new
    /// socket file at the path (EADDRINUSE if the path exists), with the sun_path bytes.
    static func makeUnixName(_ task: Task, at address: UInt64, length: UInt64) throws(LinuxErrno) -> (UnixName, [UInt8]) {
        let (path, abstract) = try unixAddress(task, at: address, length: length)
        if abstract { return (.abstract(path), [0] + path) }
        guard let root = task.root, let cwd = task.cwd else { throw .ENOENT }
        let (directory, name) = try PathResolution.resolveParent(path, root: root, start: cwd, mounts: task.sandbox.mounts)
        if task.exists(name, in: directory) { throw .EADDRINUSE }
        try task.requireMayChange(directory)  // as mknod(2): write and search permission
        do {
            try directory.inode.makeSocket(name, mode: 0o777 & ~task.umask)
        } catch .EEXIST {
            throw .EADDRINUSE
        }
        let made = try directory.inode.lookup(name).stat()
        return (.file(device: made.dev, inode: made.ino), path)
    }

    /// connect(2)'s and sendto(2)'s name for the `struct sockaddr_un` at `address`: an
    /// abstract name, or the socket file the path resolves to (ECONNREFUSED for another file).
    static func findUnixName(_ task: Task, at address: UInt64, length: UInt64) throws(LinuxErrno) -> UnixName {
        let (path, abstract) = try unixAddress(task, at: address, length: length)
        if abstract { return .abstract(path) }
        guard let root = task.root, let cwd = task.cwd else { throw .ENOENT }
        let target = try PathResolution.resolve(path, root: root, start: cwd, followFinal: true, mounts: task.sandbox.mounts)
        let stat = try target.inode.stat()
        try task.group.credentials.require(.write, to: stat)  // connecting writes to the socket file, checked first
        guard stat.mode & FileMode.typeMask == FileMode.socket else { throw .ECONNREFUSED }
        return .file(device: stat.dev, inode: stat.ino)
    }

    /// The datagram socket a send goes to: the name at `address` (if given) or the peer.
    static func unixDestination(_ task: Task, _ socket: UnixDatagramSocket, at address: UInt64, length: UInt64) throws(LinuxErrno) -> UnixDatagramSocket {
        if address != 0 {
            guard let target = task.sandbox.unixSocket(try findUnixName(task, at: address, length: length)) as? UnixDatagramSocket else {
                throw .ECONNREFUSED
            }
            return target
        }
        return try socket.connectedPeer()
    }

    /// Writes an AF_UNIX address (`path` as sun_path bytes; empty: unnamed) through the
    /// in/out length at `lengthAddress`, as getsockname(2) and accept(2) report it. A
    /// datagram's unnamed sender (`fromDatagram`) is reported with length 0, as Linux does.
    static func storeUnixAddress(
        _ task: Task, _ path: [UInt8], at address: UInt64, lengthAt lengthAddress: UInt64, fromDatagram: Bool = false
    ) throws(LinuxErrno) {
        guard address != 0, lengthAddress != 0 else { return }
        if fromDatagram && path.isEmpty {
            try task.mm.copyOut([0, 0, 0, 0], to: lengthAddress)
            return
        }
        let given = Int32(bitPattern: UInt32(truncatingIfNeeded: word(try task.mm.copyIn(from: lengthAddress, count: 4) + [0, 0, 0, 0])))
        guard given >= 0 else { throw .EINVAL }
        var encoded: [UInt8] = [UInt8(AddressFamily.unix), 0] + path
        if path.first != 0 && !path.isEmpty { encoded.append(0) }  // a path's length counts its NUL
        try task.mm.copyOut(Array(encoded.prefix(Int(given))), to: address)
        try task.mm.copyOut(bytes(UInt64(encoded.count)).prefix(4).map { $0 }, to: lengthAddress)
    }

    /// Implements Linux socket(2) for AF_INET stream (TCP) and datagram (UDP) sockets and
    /// AF_UNIX stream, seqpacket and datagram sockets, with SOCK_NONBLOCK and SOCK_CLOEXEC. AF_UNIX
    /// datagram sockets and other families (AF_INET6, netlink) are EAFNOSUPPORT until they
    /// land; unknown types are EINVAL, as Linux answers.
    static func socket(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (domain, type, proto) = (Int32(truncatingIfNeeded: arguments[0]), Int32(truncatingIfNeeded: arguments[1]), arguments[2])
        let flags = type & (SocketType.nonBlockFlag | SocketType.closeOnExecFlag)
        if domain == AddressFamily.unix {
            guard proto == 0 else { throw .EPROTONOSUPPORT }
            let kind: UnixConnection.Kind
            switch type & ~flags {
            case SocketType.stream: kind = .stream
            case SocketType.seqpacket: kind = .seqpacket
            case SocketType.datagram:
                let socket = UnixDatagramSocket(sandbox: task.sandbox, inode: task.sandbox.newPipeInode())
                let status: OpenFlags = flags & SocketType.nonBlockFlag != 0 ? [.readWrite, .nonBlocking] : .readWrite
                return .value(Int64(try task.fds.add(FileDescription(socket, flags: status), closeOnExec: flags & SocketType.closeOnExecFlag != 0)))
            default: throw .EINVAL
            }
            let socket = UnixStreamSocket(kind: kind, sandbox: task.sandbox, inode: task.sandbox.newPipeInode())
            let status: OpenFlags = flags & SocketType.nonBlockFlag != 0 ? [.readWrite, .nonBlocking] : .readWrite
            return .value(Int64(try task.fds.add(FileDescription(socket, flags: status), closeOnExec: flags & SocketType.closeOnExecFlag != 0)))
        }
        if domain == AddressFamily.netlink { return try netlinkSocket(task, type: type & ~flags, protocol: proto, flags: flags) }
        guard domain == AddressFamily.inet else { throw .EAFNOSUPPORT }
        let kind: SocketService.Kind
        switch type & ~flags {
        case SocketType.stream:
            guard proto == 0 || proto == 6 else { throw .EPROTONOSUPPORT }
            kind = .stream
        case SocketType.datagram:
            guard proto == 0 || proto == 17 else { throw .EPROTONOSUPPORT }
            kind = .datagram
        case SocketType.raw: throw .EPERM  // raw sockets need CAP_NET_RAW in the sandbox's stack
        default: throw .EINVAL
        }
        let service = try task.sandbox.network()
        let socket = InetSocket(service: service, id: try service.socket(kind), kind: kind, inode: task.sandbox.newPipeInode())
        let status: OpenFlags = flags & SocketType.nonBlockFlag != 0 ? [.readWrite, .nonBlocking] : .readWrite
        return .value(Int64(try task.fds.add(FileDescription(socket, flags: status), closeOnExec: flags & SocketType.closeOnExecFlag != 0)))
    }

    /// Implements Linux bind(2) for AF_INET, AF_UNIX and AF_NETLINK.
    static func bind(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let operations = try task.fds.get(fd(arguments[0])).operations
        if let netlink = operations as? NetlinkRouteSocket {
            netlink.bind(port: try netlinkAddress(task, at: arguments[1], length: arguments[2]))
            return .value(0)
        }
        if let unix = operations as? UnixStreamSocket {
            let (name, path) = try makeUnixName(task, at: arguments[1], length: arguments[2])
            try unix.bind(name, path: path)
            return .value(0)
        }
        if let unix = operations as? UnixDatagramSocket {
            let (name, path) = try makeUnixName(task, at: arguments[1], length: arguments[2])
            try unix.bind(name, path: path)
            return .value(0)
        }
        let (socket, _) = try inetSocket(task, arguments[0])
        try socket.service.bind(socket.id, to: socketAddress(task, at: arguments[1], length: arguments[2]))
        return .value(0)
    }

    /// Implements Linux listen(2) (the backlog is capped at 4096, Linux's somaxconn).
    static func listen(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let backlog = Int(Int32(truncatingIfNeeded: arguments[1]))
        if let unix = try task.fds.get(fd(arguments[0])).operations as? UnixStreamSocket {
            try unix.listen(backlog: min(max(backlog, 1), 4096))
            return .value(0)
        }
        let (socket, _) = try inetSocket(task, arguments[0])
        guard socket.kind == .stream else { throw .EOPNOTSUPP }
        try socket.service.listen(socket.id, backlog: min(max(backlog, 1), 4096))
        return .value(0)
    }

    /// Implements Linux accept(2).
    static func accept(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        try accept4(task, SyscallArguments(values: (arguments[0], arguments[1], arguments[2], 0, 0, 0)))
    }

    /// Implements Linux accept4(2): waits for an established connection (EAGAIN with
    /// O_NONBLOCK), returns it as a new fd with SOCK_NONBLOCK/SOCK_CLOEXEC, and the peer's
    /// address.
    static func accept4(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let flags = Int32(truncatingIfNeeded: arguments[3])
        guard flags & ~(SocketType.nonBlockFlag | SocketType.closeOnExecFlag) == 0 else { throw .EINVAL }
        let described = try task.fds.get(fd(arguments[0]))
        if let unix = described.operations as? UnixStreamSocket {
            guard let listener = unix.listener else { throw .EINVAL }
            let connection = try listener.accept(nonBlocking: described.flags.contains(.nonBlocking))
            let accepted = UnixSocketEnd(connection, side: 1, inode: task.sandbox.newPipeInode())
            let status: OpenFlags = flags & SocketType.nonBlockFlag != 0 ? [.readWrite, .nonBlocking] : .readWrite
            let new = try task.fds.add(FileDescription(accepted, flags: status), closeOnExec: flags & SocketType.closeOnExecFlag != 0)
            if arguments[1] != 0, arguments[2] != 0 { try storeUnixAddress(task, connection.names[0], at: arguments[1], lengthAt: arguments[2]) }
            return .value(Int64(new))
        }
        let (socket, file) = try inetSocket(task, arguments[0])
        guard socket.kind == .stream else { throw .EOPNOTSUPP }
        let (id, peer) = try InetSocket.waiting(nonBlocking: file.flags.contains(.nonBlocking)) { () throws(LinuxErrno) in
            try socket.service.accept(socket.id)
        }
        let accepted = InetSocket(service: socket.service, id: id, kind: .stream, inode: task.sandbox.newPipeInode())
        // The stack gave the connection the listener's options; getsockopt reports them.
        accepted.noDelay = socket.noDelay
        accepted.keepalive = socket.keepalive
        let status: OpenFlags = flags & SocketType.nonBlockFlag != 0 ? [.readWrite, .nonBlocking] : .readWrite
        let fd = try task.fds.add(FileDescription(accepted, flags: status), closeOnExec: flags & SocketType.closeOnExecFlag != 0)
        try storeSocketAddress(task, peer, at: arguments[1], lengthAt: arguments[2])
        return .value(Int64(fd))
    }

    /// Implements Linux connect(2): a stream socket waits for the handshake (EINPROGRESS with
    /// O_NONBLOCK; its result then comes from SO_ERROR), failing with ECONNREFUSED or
    /// ETIMEDOUT; a datagram socket records its peer.
    static func connect(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let described = try task.fds.get(fd(arguments[0]))
        if described.operations is NetlinkRouteSocket {
            // The kernel is the one peer there is.
            try checkNetlinkDestination(task, at: arguments[1], length: max(arguments[2], 1))
            return .value(0)
        }
        if let unix = described.operations as? UnixDatagramSocket {
            let name = try findUnixName(task, at: arguments[1], length: arguments[2])
            guard let target = task.sandbox.unixSocket(name) as? UnixDatagramSocket else { throw .ECONNREFUSED }
            unix.connect(to: target)
            return .value(0)
        }
        if let unix = described.operations as? UnixStreamSocket {
            let name = try findUnixName(task, at: arguments[1], length: arguments[2])
            let listening = task.sandbox.unixSocket(name) as? UnixStreamSocket
            guard let listening, let listener = listening.listener else { throw .ECONNREFUSED }
            guard listener.kind == unix.kind else { throw .EPROTOTYPE }
            guard unix.isUnconnected else { throw .EISCONN }
            let connection = try listener.connect(
                nonBlocking: described.flags.contains(.nonBlocking), names: (unix.localPath, listening.localPath))
            do {
                try unix.attach(connection)
            } catch {
                connection.close(0)  // another thread connected it meanwhile: no phantom peer
                throw error
            }
            return .value(0)
        }
        let (socket, file) = try inetSocket(task, arguments[0])
        let destination = try socketAddress(task, at: arguments[1], length: arguments[2])
        do {
            try socket.service.connect(socket.id, to: destination)
            return .value(0)
        } catch .EINPROGRESS where !file.flags.contains(.nonBlocking) {
            let outcome = try InetSocket.waiting(nonBlocking: false) { () throws(LinuxErrno) -> LinuxErrno? in
                guard let result = try socket.service.connectResult(socket.id) else { throw .EAGAIN }
                return result
            }
            if let outcome { throw outcome }
            return .value(0)
        }
    }

    /// Runs a send: on EPIPE (the stream's sending side is shut down or reset) the sender
    /// gets SIGPIPE first, as with write(2), unless the call said MSG_NOSIGNAL.
    static func sending(_ task: Task, _ flags: MessageFlags, _ body: () throws(LinuxErrno) -> Int64) throws(LinuxErrno) -> SyscallOutcome {
        if flags.contains(.noSignal) { return .value(try body()) }
        return try brokenPipe(task, body)
    }

    /// Implements Linux sendto(2) (and send(2)): a destination only for datagram sockets
    /// (a stream ignores it, as Linux does once connected). EPIPE raises SIGPIPE unless
    /// MSG_NOSIGNAL.
    static func sendto(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let flags = MessageFlags(rawValue: Int32(truncatingIfNeeded: arguments[3]))
        return try sending(task, flags) { () throws(LinuxErrno) -> Int64 in try sendtoCount(task, arguments, flags) }
    }

    private static func sendtoCount(_ task: Task, _ arguments: SyscallArguments, _ flags: MessageFlags) throws(LinuxErrno) -> Int64 {
        let bytes = try task.mm.copyIn(from: arguments[1], count: Int(min(arguments[2], UInt64(maxReadWriteCount))))
        let described = try task.fds.get(fd(arguments[0]))
        if let netlink = described.operations as? NetlinkRouteSocket {
            try checkNetlinkDestination(task, at: arguments[4], length: arguments[5])
            return Int64(try netlink.send(bytes))
        }
        if let unix = described.operations as? UnixDatagramSocket {
            let target = try unixDestination(task, unix, at: arguments[4], length: arguments[5])
            let nonBlocking = described.flags.contains(.nonBlocking) || flags.contains(.dontWait)
            try target.deliver(UnixDatagramSocket.Datagram(bytes: bytes, files: [], source: unix.boundPath), nonBlocking: nonBlocking)
            return Int64(bytes.count)
        }
        if let unix = unixEnd(described.operations) {
            // A connected pair: a destination is EISCONN, as Linux answers.
            guard arguments[4] == 0 else { throw .EISCONN }
            return Int64(try unix.send(bytes, files: [], nonBlocking: described.flags.contains(.nonBlocking) || flags.contains(.dontWait)))
        }
        let (socket, file) = try inetSocket(task, arguments[0])
        let nonBlocking = file.flags.contains(.nonBlocking) || flags.contains(.dontWait)
        if socket.kind == .datagram, arguments[4] != 0 {
            let destination = try socketAddress(task, at: arguments[4], length: arguments[5])
            let sent = try InetSocket.waiting(nonBlocking: nonBlocking) { () throws(LinuxErrno) in
                try socket.service.send(socket.id, bytes, to: destination)
            }
            return Int64(sent)
        }
        return Int64(try socket.write(bytes, at: nil, nonBlocking: nonBlocking))
    }

    /// Implements Linux recvfrom(2) (and recv(2)) with MSG_DONTWAIT and MSG_PEEK (what is
    /// read stays for the next receive); the other flags are EOPNOTSUPP until they land.
    static func recvfrom(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let flags = MessageFlags(rawValue: Int32(truncatingIfNeeded: arguments[3]))
        let peek = flags.contains(.peek)
        let count = Int(min(arguments[2], UInt64(maxReadWriteCount)))
        let described = try task.fds.get(fd(arguments[0]))
        if let netlink = described.operations as? NetlinkRouteSocket {
            guard flags.subtracting([.dontWait, .noSignal, .peek, .truncated]).isEmpty else { throw .EOPNOTSUPP }
            let nonBlocking = described.flags.contains(.nonBlocking) || flags.contains(.dontWait)
            let (received, length) = try netlink.receive(count: count, nonBlocking: nonBlocking, peek: peek)
            try task.mm.copyOut(received, to: arguments[1])
            try storeNetlinkAddress(task, port: 0, at: arguments[4], lengthAt: arguments[5])
            return .value(Int64(flags.contains(.truncated) ? length : received.count))  // MSG_TRUNC: the whole length
        }
        guard flags.subtracting([.dontWait, .noSignal, .peek]).isEmpty else { throw .EOPNOTSUPP }
        if let unix = described.operations as? UnixDatagramSocket {
            let nonBlocking = described.flags.contains(.nonBlocking) || flags.contains(.dontWait)
            let received = try unix.receive(count: count, nonBlocking: nonBlocking, peek: peek).datagram
            try task.mm.copyOut(received.bytes, to: arguments[1])
            try storeUnixAddress(task, received.source, at: arguments[4], lengthAt: arguments[5], fromDatagram: true)
            return .value(Int64(received.bytes.count))
        }
        if let unix = unixEnd(described.operations) {
            let nonBlocking = described.flags.contains(.nonBlocking) || flags.contains(.dontWait)
            let received = try unix.connection.receive(at: unix.side, count: count, nonBlocking: nonBlocking, peek: peek)
            try task.mm.copyOut(received.bytes, to: arguments[1])
            if arguments[5] != 0 { try task.mm.copyOut([0, 0, 0, 0], to: arguments[5]) }  // no address: a connected pair
            return .value(Int64(received.bytes.count))
        }
        let (socket, file) = try inetSocket(task, arguments[0])
        let nonBlocking = file.flags.contains(.nonBlocking) || flags.contains(.dontWait)
        let (bytes, source) = try InetSocket.waiting(nonBlocking: nonBlocking) { () throws(LinuxErrno) in
            try socket.service.receive(socket.id, maximum: count, peek: peek)
        }
        try task.mm.copyOut(bytes, to: arguments[1])
        if let source { try storeSocketAddress(task, source, at: arguments[4], lengthAt: arguments[5]) }
        return .value(Int64(bytes.count))
    }

    /// Implements Linux shutdown(2): SHUT_RD, SHUT_WR, SHUT_RDWR.
    static func shutdown(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let how = arguments[1]
        guard how <= 2 else { throw .EINVAL }
        if let unix = unixEnd(try task.fds.get(fd(arguments[0])).operations) {
            unix.connection.shutdown(unix.side, read: how != 1, write: how != 0)
            return .value(0)
        }
        let (socket, _) = try inetSocket(task, arguments[0])
        try socket.service.shutdown(socket.id, read: how != 1, write: how != 0)
        return .value(0)
    }

    /// Implements Linux getsockname(2).
    static func getsockname(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let operations = try task.fds.get(fd(arguments[0])).operations
        if let netlink = operations as? NetlinkRouteSocket {
            let name = netlink.name
            try storeNetlinkAddress(task, port: UInt32(name[4]) | UInt32(name[5]) << 8 | UInt32(name[6]) << 16 | UInt32(name[7]) << 24,
                at: arguments[1], lengthAt: arguments[2])
            return .value(0)
        }
        if let unix = operations as? UnixStreamSocket {
            try storeUnixAddress(task, unix.localPath, at: arguments[1], lengthAt: arguments[2])
            return .value(0)
        }
        if let unix = operations as? UnixDatagramSocket {
            try storeUnixAddress(task, unix.boundPath, at: arguments[1], lengthAt: arguments[2])
            return .value(0)
        }
        if let end = operations as? UnixSocketEnd {
            try storeUnixAddress(task, end.connection.names[end.side], at: arguments[1], lengthAt: arguments[2])
            return .value(0)
        }
        let (socket, _) = try inetSocket(task, arguments[0])
        try storeSocketAddress(task, try socket.service.localAddress(socket.id), at: arguments[1], lengthAt: arguments[2])
        return .value(0)
    }

    /// Implements Linux getpeername(2).
    static func getpeername(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let operations = try task.fds.get(fd(arguments[0])).operations
        if let unix = operations as? UnixStreamSocket {
            try storeUnixAddress(task, try unix.peerPath(), at: arguments[1], lengthAt: arguments[2])
            return .value(0)
        }
        if let end = unixEnd(operations) {
            // The other end's name: a listener's for a connector, empty for a socket pair's.
            try storeUnixAddress(task, end.connection.names[1 - end.side], at: arguments[1], lengthAt: arguments[2])
            return .value(0)
        }
        let (socket, _) = try inetSocket(task, arguments[0])
        try storeSocketAddress(task, try socket.service.peerAddress(socket.id), at: arguments[1], lengthAt: arguments[2])
        return .value(0)
    }

    /// Socket options (SOL_SOCKET and IPPROTO_TCP) as the stack behaves.
    static let soReuseAddress: UInt64 = 2, soType: UInt64 = 3, soError: UInt64 = 4, soSendBuffer: UInt64 = 7
    static let soReceiveBuffer: UInt64 = 8, soKeepAlive: UInt64 = 9, soReusePort: UInt64 = 15, tcpNoDelay: UInt64 = 1

    /// Implements Linux setsockopt(2) for the options whose meaning the stack has:
    /// SO_REUSEADDR (ports in TIME-WAIT never block a bind here), TCP_NODELAY (no Nagle
    /// delay for short segments) and SO_KEEPALIVE (probes after two idle hours). Others are
    /// ENOPROTOOPT until they land, as is the TCP level on a UDP socket (as Linux's).
    static func setsockopt(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        if try task.fds.get(fd(arguments[0])).operations is NetlinkRouteSocket {
            guard arguments[4] >= 4 else { throw .EINVAL }
            return try netlinkSetOption(level: Int32(truncatingIfNeeded: arguments[1]), name: arguments[2])
        }
        let (socket, _) = try inetSocket(task, arguments[0])
        guard arguments[4] >= 4 else { throw .EINVAL }
        if Int32(truncatingIfNeeded: arguments[1]) == ipProtocolTCP, socket.kind != .stream { throw .ENOPROTOOPT }
        let value = word(try task.mm.copyIn(from: arguments[3], count: 4) + [0, 0, 0, 0]) != 0
        switch (Int32(truncatingIfNeeded: arguments[1]), arguments[2]) {
        case (SocketLevel.socket, soReuseAddress): return .value(0)
        case (ipProtocolTCP, tcpNoDelay):
            try socket.service.setOption(socket.id, .noDelay, value)
            socket.noDelay = value
        case (SocketLevel.socket, soKeepAlive):
            try socket.service.setOption(socket.id, .keepalive, value)
            socket.keepalive = value
        default: throw .ENOPROTOOPT
        }
        return .value(0)
    }

    /// Implements Linux getsockopt(2) for SO_ERROR (a connect's outcome, reported once),
    /// SO_TYPE, SO_REUSEADDR, SO_KEEPALIVE, SO_SNDBUF, SO_RCVBUF, TCP_NODELAY and TCP_INFO (of
    /// a connection, a listener or an unconnected stream socket). The TCP level on a UDP
    /// socket is EOPNOTSUPP, as Linux's.
    static func getsockopt(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let operations = try task.fds.get(fd(arguments[0])).operations
        let value: Int32
        if !(operations is InetSocket) {
            // AF_UNIX sockets: their type, no pending error, Linux's default buffer size.
            let type: Int32
            switch operations {
            case let end as UnixSocketEnd: type = end.connection.kind == .stream ? SocketType.stream : end.connection.kind == .datagram ? SocketType.datagram : SocketType.seqpacket
            case let socket as UnixStreamSocket: type = socket.kind == .stream ? SocketType.stream : SocketType.seqpacket
            case is UnixDatagramSocket: type = SocketType.datagram
            case is NetlinkRouteSocket: type = SocketType.raw
            default: throw .ENOTSOCK
            }
            switch (Int32(truncatingIfNeeded: arguments[1]), arguments[2]) {
            case (SocketLevel.socket, soType): value = type
            case (SocketLevel.socket, soError): value = 0
            case (SocketLevel.socket, soSendBuffer), (SocketLevel.socket, soReceiveBuffer): value = Int32(UnixConnection.capacity)
            default: throw .ENOPROTOOPT
            }
            return try storeOption(task, value, at: arguments[3], lengthAt: arguments[4])
        }
        let (socket, _) = try inetSocket(task, arguments[0])
        if Int32(truncatingIfNeeded: arguments[1]) == ipProtocolTCP {
            guard socket.kind == .stream else { throw .EOPNOTSUPP }
        }
        if Int32(truncatingIfNeeded: arguments[1]) == ipProtocolTCP, arguments[2] == tcpInfo {
            return try storeOption(task, tcpInfoBytes(try socket.service.tcpInfo(socket.id)), at: arguments[3], lengthAt: arguments[4])
        }
        switch (Int32(truncatingIfNeeded: arguments[1]), arguments[2]) {
        case (SocketLevel.socket, soError):
            value = ((try socket.service.connectResult(socket.id)) ?? nil).map { $0.rawValue } ?? 0
        case (SocketLevel.socket, soType): value = socket.kind == .stream ? SocketType.stream : SocketType.datagram
        case (SocketLevel.socket, soReuseAddress): value = 1
        case (ipProtocolTCP, tcpNoDelay): value = socket.noDelay ? 1 : 0
        case (SocketLevel.socket, soKeepAlive): value = socket.keepalive ? 1 : 0
        case (SocketLevel.socket, soSendBuffer), (SocketLevel.socket, soReceiveBuffer): value = Int32(TCPConnection.bufferSize)
        default: throw .ENOPROTOOPT
        }
        return try storeOption(task, value, at: arguments[3], lengthAt: arguments[4])
    }

    /// TCP_INFO, the option's number at IPPROTO_TCP.
    static let tcpInfo: UInt64 = 11
    /// IPPROTO_TCP, the TCP level of socket options.
    static let ipProtocolTCP: Int32 = 6

    /// Linux's struct tcp_info (232 bytes) from what the stack keeps; the rest is zero.
    static func tcpInfoBytes(_ info: TCPConnection.Info) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 232)
        bytes[0] = info.state
        bytes[2] = info.retransmits
        // TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK, TCPI_OPT_WSCALE
        bytes[5] = (info.timestamps ? 1 : 0) | (info.sackEnabled ? 2 : 0) | (info.windowScaling ? 4 : 0)
        bytes[6] = info.sendShift & 0x0f | info.receiveShift << 4
        let words: [(Int, UInt32)] = [
            (8, info.rtoMicroseconds), (16, info.sendMSS), (20, info.receiveMSS), (24, info.unacknowledgedSegments), (68, info.rttMicroseconds),
            (72, info.rttVarianceMicroseconds), (76, info.sendSlowStartThreshold), (80, info.congestionWindowSegments), (84, info.advertisedMSS),
            (88, 3),  // tcpi_reordering: Linux's initial value
            (96, info.receiveSpace), (100, info.totalRetransmissions),
        ]
        for (offset, value) in words {
            withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + 4), with: $0) }
        }
        return bytes
    }

    /// Writes an int option value through getsockopt(2)'s in/out length.
    private static func storeOption(_ task: Task, _ value: Int32, at address: UInt64, lengthAt lengthAddress: UInt64) throws(LinuxErrno) -> SyscallOutcome {
        try storeOption(task, withUnsafeBytes(of: value.littleEndian) { Array($0) }, at: address, lengthAt: lengthAddress)
    }

    /// Writes an option's bytes through getsockopt(2)'s in/out length, cut to what the caller
    /// has room for.
    private static func storeOption(_ task: Task, _ value: [UInt8], at address: UInt64, lengthAt lengthAddress: UInt64) throws(LinuxErrno) -> SyscallOutcome {
        let length = Int32(bitPattern: UInt32(truncatingIfNeeded: word(try task.mm.copyIn(from: lengthAddress, count: 4) + [0, 0, 0, 0])))
        guard length >= 0 else { throw .EINVAL }
        let encoded = value.prefix(Int(length))
        try task.mm.copyOut(Array(encoded), to: address)
        try task.mm.copyOut(bytes(UInt64(encoded.count)).prefix(4).map { $0 }, to: lengthAddress)
        return .value(0)
    }
}

extension Syscalls {
    /// Implements Linux socketpair(2) for AF_UNIX stream, datagram and seqpacket sockets,
    /// with SOCK_NONBLOCK and SOCK_CLOEXEC. Other families are EOPNOTSUPP, as Linux answers
    /// for AF_INET.
    static func socketpair(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let (domain, type, proto) = (Int32(truncatingIfNeeded: arguments[0]), Int32(truncatingIfNeeded: arguments[1]), arguments[2])
        guard domain == AddressFamily.unix else { throw domain == AddressFamily.inet ? .EOPNOTSUPP : .EAFNOSUPPORT }
        guard proto == 0 else { throw .EPROTONOSUPPORT }
        let flags = type & (SocketType.nonBlockFlag | SocketType.closeOnExecFlag)
        let kind: UnixConnection.Kind
        switch type & ~flags {
        case SocketType.stream: kind = .stream
        case SocketType.datagram: kind = .datagram
        case SocketType.seqpacket: kind = .seqpacket
        default: throw .EINVAL
        }
        let connection = UnixConnection(kind: kind)
        let status: OpenFlags = flags & SocketType.nonBlockFlag != 0 ? [.readWrite, .nonBlocking] : .readWrite
        let closeOnExec = flags & SocketType.closeOnExecFlag != 0
        let first = try task.fds.add(
            FileDescription(UnixSocketEnd(connection, side: 0, inode: task.sandbox.newPipeInode()), flags: status), closeOnExec: closeOnExec)
        let second: Int32
        do {
            second = try task.fds.add(
                FileDescription(UnixSocketEnd(connection, side: 1, inode: task.sandbox.newPipeInode()), flags: status),
                closeOnExec: closeOnExec)
        } catch {
            _ = try? task.fds.remove(first)
            throw error
        }
        try task.mm.copyOut(bytes(UInt64(UInt32(bitPattern: first)) | UInt64(UInt32(bitPattern: second)) << 32), to: arguments[3])
        return .value(0)
    }

    /// The iovecs of a `struct msghdr` at `address`: (base, length) pairs, at most UIO_MAXIOV.
    private static func messageVectors(_ task: Task, _ header: [UInt8]) throws(LinuxErrno) -> [(UInt64, Int)] {
        let (vectors, count) = (word(Array(header[16..<24])), word(Array(header[24..<32])))
        guard count <= 1024 else { throw .EMSGSIZE }
        let raw = try task.mm.copyIn(from: vectors, count: Int(count) * 16)
        var result: [(UInt64, Int)] = []
        var total = 0
        for index in 0..<Int(count) {
            let length = Int(min(word(Array(raw[(index * 16 + 8)..<(index * 16 + 16)])), UInt64(maxReadWriteCount)))
            total += length
            guard total <= maxReadWriteCount else { throw .EINVAL }
            result.append((word(Array(raw[(index * 16)..<(index * 16 + 8)])), length))
        }
        return result
    }

    /// Implements Linux sendmsg(2): the iovecs' bytes, and for AF_UNIX sockets the files of an
    /// SCM_RIGHTS control message; for AF_INET datagram sockets, the destination in msg_name.
    /// Other control messages are EINVAL. EPIPE raises SIGPIPE unless MSG_NOSIGNAL.
    static func sendmsg(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let flags = MessageFlags(rawValue: Int32(truncatingIfNeeded: arguments[2]))
        return try sending(task, flags) { () throws(LinuxErrno) -> Int64 in try sendmsgCount(task, arguments, flags) }
    }

    private static func sendmsgCount(_ task: Task, _ arguments: SyscallArguments, _ flags: MessageFlags) throws(LinuxErrno) -> Int64 {
        let file = try task.fds.get(fd(arguments[0]))
        let header = try task.mm.copyIn(from: arguments[1], count: 56)
        let nonBlocking = file.flags.contains(.nonBlocking) || flags.contains(.dontWait)
        var payload: [UInt8] = []
        for (base, length) in try messageVectors(task, header) where length > 0 { payload += try task.mm.copyIn(from: base, count: length) }
        let (control, controlLength) = (word(Array(header[32..<40])), Int(min(word(Array(header[40..<48])), 1 << 20)))
        var files: [FileDescription] = []
        var offset = 0
        while offset + 16 <= controlLength {
            let entry = try task.mm.copyIn(from: control + UInt64(offset), count: 16)
            let length = Int(min(word(Array(entry[0..<8])), UInt64(controlLength - offset)))
            let (level, type) = (Int32(truncatingIfNeeded: word(Array(entry[8..<12]) + [0, 0, 0, 0])), Int32(truncatingIfNeeded: word(Array(entry[12..<16]) + [0, 0, 0, 0])))
            guard length >= 16, level == SocketLevel.socket, type == SocketLevel.rights,
                unixEnd(file.operations) != nil || file.operations is UnixDatagramSocket
            else { throw .EINVAL }
            let data = try task.mm.copyIn(from: control + UInt64(offset) + 16, count: length - 16)
            for index in 0..<(data.count / 4) {
                let number = Int32(truncatingIfNeeded: word(Array(data[(index * 4)..<(index * 4 + 4)]) + [0, 0, 0, 0]))
                files.append(try task.fds.get(number))
            }
            guard files.count <= UnixConnection.maximumFiles else { throw .EINVAL }
            offset += (length + 7) & ~7
        }
        if let unix = unixEnd(file.operations) {
            return Int64(try unix.send(payload, files: files, nonBlocking: nonBlocking))
        }
        if let netlink = file.operations as? NetlinkRouteSocket {
            try checkNetlinkDestination(task, at: word(Array(header[0..<8])), length: word(Array(header[8..<12]) + [0, 0, 0, 0]))
            return Int64(try netlink.send(payload))
        }
        if let unix = file.operations as? UnixDatagramSocket {
            let target = try unixDestination(task, unix, at: word(Array(header[0..<8])), length: word(Array(header[8..<12]) + [0, 0, 0, 0]))
            try target.deliver(UnixDatagramSocket.Datagram(bytes: payload, files: files, source: unix.boundPath), nonBlocking: nonBlocking)
            return Int64(payload.count)
        }
        guard let socket = file.operations as? InetSocket else { throw .ENOTSOCK }
        let (name, nameLength) = (word(Array(header[0..<8])), word(Array(header[8..<12]) + [0, 0, 0, 0]))
        if socket.kind == .datagram, name != 0 {
            let destination = try socketAddress(task, at: name, length: nameLength)
            return Int64(try InetSocket.waiting(nonBlocking: nonBlocking) { () throws(LinuxErrno) in
                try socket.service.send(socket.id, payload, to: destination)
            })
        }
        return Int64(try socket.write(payload, at: nil, nonBlocking: nonBlocking))
    }

    /// Implements Linux recvmsg(2): scatters into the iovecs; for AF_UNIX sockets, received
    /// files become fds in an SCM_RIGHTS control message (MSG_CMSG_CLOEXEC honoured; those
    /// that do not fit are closed and MSG_CTRUNC set); for AF_INET, msg_name gets the source.
    /// MSG_TRUNC is set when a datagram was longer than the buffers. MSG_PEEK leaves what it read queued (files it
    /// carries become new fds all the same, as Linux does).
    static func recvmsg(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let file = try task.fds.get(fd(arguments[0]))
        let header = try task.mm.copyIn(from: arguments[1], count: 56)
        let flags = MessageFlags(rawValue: Int32(truncatingIfNeeded: arguments[2]))
        // MSG_TRUNC asks a datagram socket for the whole length (netlink's callers size
        // their buffers by it).
        let allowed: MessageFlags = file.operations is NetlinkRouteSocket ? [.dontWait, .noSignal, .closeOnExec, .peek, .truncated] : [.dontWait, .noSignal, .closeOnExec, .peek]
        guard flags.subtracting(allowed).isEmpty else { throw .EOPNOTSUPP }
        let peek = flags.contains(.peek)
        let nonBlocking = file.flags.contains(.nonBlocking) || flags.contains(.dontWait)
        let vectors = try messageVectors(task, header)
        let capacity = vectors.reduce(0) { $0 + $1.1 }
        var received: [UInt8]
        var files: [FileDescription] = []
        var truncated = false
        var source: SocketService.Address?
        var unixSource: [UInt8]?
        var netlinkLength: Int?
        if let netlink = file.operations as? NetlinkRouteSocket {
            let length: Int
            (received, length) = try netlink.receive(count: capacity, nonBlocking: nonBlocking, peek: peek)
            truncated = length > received.count
            netlinkLength = length
        } else if let unix = unixEnd(file.operations) {
            (received, files, truncated) = try unix.connection.receive(at: unix.side, count: capacity, nonBlocking: nonBlocking, peek: peek)
        } else if let unix = file.operations as? UnixDatagramSocket {
            let (datagram, cut) = try unix.receive(count: capacity, nonBlocking: nonBlocking, peek: peek)
            (received, files, truncated, unixSource) = (datagram.bytes, datagram.files, cut, datagram.source)
        } else if let socket = file.operations as? InetSocket {
            (received, source) = try InetSocket.waiting(nonBlocking: nonBlocking) { () throws(LinuxErrno) in
                try socket.service.receive(socket.id, maximum: capacity, peek: peek)
            }
        } else {
            throw .ENOTSOCK
        }
        var done = 0
        for (base, length) in vectors where done < received.count && length > 0 {
            let piece = Array(received[done..<min(done + length, received.count)])
            try task.mm.copyOut(piece, to: base)
            done += piece.count
        }
        var resultFlags: Int32 = truncated ? MessageFlags.truncated.rawValue : 0
        let (control, controlLength) = (word(Array(header[32..<40])), Int(min(word(Array(header[40..<48])), 1 << 20)))
        var controlUsed = 0
        if !files.isEmpty {
            let room = max(0, (controlLength - 16) / 4)
            if room < files.count { resultFlags |= MessageFlags.controlTruncated.rawValue }
            var numbers: [Int32] = []
            for received in files.prefix(room) {
                numbers.append(try task.fds.add(received, closeOnExec: flags.contains(.closeOnExec)))
            }
            if !numbers.isEmpty {
                var message = bytes(UInt64(16 + 4 * numbers.count))
                message += bytes(UInt64(UInt32(bitPattern: SocketLevel.socket)) | UInt64(UInt32(bitPattern: SocketLevel.rights)) << 32)
                for number in numbers { message += bytes(UInt64(UInt32(bitPattern: number))).prefix(4) }
                try task.mm.copyOut(message, to: control)
                controlUsed = (message.count + 7) & ~7
            }
        }
        if netlinkLength != nil, word(Array(header[0..<8])) != 0 {
            try storeNetlinkAddress(task, port: 0, at: word(Array(header[0..<8])), lengthAt: arguments[1] + 8)
        } else if let unixSource, word(Array(header[0..<8])) != 0 {
            try storeUnixAddress(task, unixSource, at: word(Array(header[0..<8])), lengthAt: arguments[1] + 8, fromDatagram: true)
        } else if let source, word(Array(header[0..<8])) != 0 {
            let nameLengthAddress = arguments[1] + 8
            try storeSocketAddress(task, source, at: word(Array(header[0..<8])), lengthAt: nameLengthAddress)
        } else if word(Array(header[0..<8])) != 0 {
            try task.mm.copyOut([0, 0, 0, 0], to: arguments[1] + 8)  // no address (a connected pair)
        }
        try task.mm.copyOut(bytes(UInt64(controlUsed)), to: arguments[1] + 40)
        try task.mm.copyOut(bytes(UInt64(UInt32(bitPattern: resultFlags))).prefix(4).map { $0 }, to: arguments[1] + 48)
        if let netlinkLength, flags.contains(.truncated) { return .value(Int64(netlinkLength)) }
        return .value(Int64(received.count))
    }
}

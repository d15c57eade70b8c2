import LinuxABI

/// A bound UDP socket (RFC 768): datagrams to its port queue here (at most `queueLimit`,
/// then they drop, as a full receive buffer drops them); sends go out with a checksum.
public final class UDPEndpoint {
    /// A received datagram and where it came from.
    public struct Datagram: Equatable, Sendable {
        public let source: IPv4Address
        public let sourcePort: UInt16
        public let payload: [UInt8]
    }

    public let port: UInt16
    /// The local address it is bound to; nil for INADDR_ANY.
    public let address: IPv4Address?
    weak var stack: Stack?
    /// The owner's name for it (see `TCPConnection.tag`): a datagram arriving changes it.
    public var tag: Int32?
    private(set) var queue: [Datagram] = []
    /// Datagrams queued, counted (the events an edge-triggered poller is woken for).
    public private(set) var arrivals = 0
    /// The peer connect(2) set: ICMP errors about datagrams to it are reported.
    public var peer: (address: IPv4Address, port: UInt16)?
    /// A hard ICMP error about a datagram to the peer, not yet reported (Linux's sk_err):
    /// the next receive or send fails with it, once.
    public private(set) var pendingError: LinuxErrno?

    /// Takes the pending error (the call that reports it clears it, and POLLERR goes).
    public func takeError() -> LinuxErrno? {
        guard let error = pendingError else { return nil }
        pendingError = nil
        stack?.noteChange(tag)
        return error
    }
    static let queueLimit = 256

    init(stack: Stack, port: UInt16, address: IPv4Address?) {
        self.stack = stack
        self.port = port
        self.address = address
    }

    /// The oldest datagram waiting, left in place (MSG_PEEK).
    public var next: Datagram? { queue.first }

    /// The oldest datagram waiting, if any.
    public func receive() -> Datagram? {
        queue.isEmpty ? nil : queue.removeFirst()
    }

    /// Whether a datagram waits (poll's POLLIN).
    public var isReadable: Bool { !queue.isEmpty }
    /// The size of the next datagram, if one waits (FIONREAD).
    public var nextSize: Int? { queue.first?.payload.count }

    func fail(_ error: LinuxErrno) {
        pendingError = error
        arrivals += 1
        stack?.noteChange(tag)
    }

    func deliver(_ datagram: Datagram) -> Bool {
        guard queue.count < Self.queueLimit else { return false }
        queue.append(datagram)
        arrivals += 1
        stack?.noteChange(tag)
        return true
    }

    /// Sends `payload` to `destination`:`destinationPort`. EMSGSIZE above 65507 bytes,
    /// EHOSTUNREACH without a route.
    public func send(_ payload: [UInt8], to destination: IPv4Address, port destinationPort: UInt16) throws(LinuxErrno) {
        guard let stack else { throw .EBADF }
        guard payload.count <= Int(UInt16.max) - IPv4Header.minimumSize - UDPHeader.size else { throw .EMSGSIZE }
        guard let route = stack.route(to: destination) else { throw .EHOSTUNREACH }
        let source = address ?? route.source
        let datagram = UDPHeader.encode(sourcePort: port, destinationPort: destinationPort, payload: payload, source: source, destination: destination)
        if let error = stack.sendIPv4(datagram, protocol: .udp, from: source, to: destination) { throw error }
        stack.flush()
    }

    /// Unbinds the port.
    public func close() {
        if stack?.udpEndpoints[port] === self { stack?.udpEndpoints[port] = nil }
    }
}

extension Stack {
    /// The first port of the ephemeral range (Linux's ip_local_port_range default).
    static let ephemeralPorts: ClosedRange<UInt16> = 32768...60999

    /// Binds a UDP endpoint to `port` (0: an ephemeral one) on `address` (nil: any).
    /// EADDRINUSE if the port is taken.
    public func bindUDP(port: UInt16 = 0, address: IPv4Address? = nil) throws(LinuxErrno) -> UDPEndpoint {
        if let address, !isLocal(address) { throw .EADDRNOTAVAIL }
        let chosen = port != 0 ? port : try ephemeralPort { udpEndpoints[$0] == nil }
        guard udpEndpoints[chosen] == nil else { throw .EADDRINUSE }
        let endpoint = UDPEndpoint(stack: self, port: chosen, address: address)
        udpEndpoints[chosen] = endpoint
        return endpoint
    }

    /// A free port of the ephemeral range, starting at a random one; EADDRINUSE if none is.
    func ephemeralPort(isFree: (UInt16) -> Bool) throws(LinuxErrno) -> UInt16 {
        let range = Self.ephemeralPorts
        let span = UInt32(range.upperBound - range.lowerBound) + 1
        let start = randomWord() % span
        for step in 0..<span {
            let port = range.lowerBound + UInt16((start + step) % span)
            if isFree(port) { return port }
        }
        throw .EADDRINUSE
    }

    /// ICMP destination unreachable about a datagram we sent: a hard error (port or protocol
    /// unreachable...) to the peer of a connected endpoint becomes its pending error, as on
    /// Linux (an unconnected socket, or a soft error, is told nothing without IP_RECVERR).
    func udpUnreachable(_ quoted: QuotedPacket, code: UInt8) {
        guard let (errno, hard) = ICMPv4Header.unreachableError(code: code), hard,
            let endpoint = udpEndpoints[quoted.sourcePort], endpoint.address == nil || endpoint.address == quoted.source,
            let peer = endpoint.peer, peer.address == quoted.destination, peer.port == quoted.destinationPort
        else { return }
        endpoint.fail(errno)
    }

    func receiveUDP(_ bytes: ArraySlice<UInt8>, from source: IPv4Address, to destination: IPv4Address, broadcast: Bool, header: IPv4Header) {
        guard let udp = UDPHeader(bytes), trustChecksums || udp.isChecksumValid(source: source, destination: destination) else {
            count(drop: "malformed UDP")
            return
        }
        guard let endpoint = udpEndpoints[udp.destinationPort], endpoint.address == nil || endpoint.address == destination else {
            // Nobody listens: port unreachable (not for broadcasts, RFC 1122 §3.2.2).
            if !broadcast { sendUnreachable(code: ICMPv4Header.codePortUnreachable, about: header) }
            count(drop: "UDP port closed")
            return
        }
        if !endpoint.deliver(UDPEndpoint.Datagram(source: source, sourcePort: udp.sourcePort, payload: Array(udp.payload))) {
            count(drop: "UDP queue full")
        }
    }
}

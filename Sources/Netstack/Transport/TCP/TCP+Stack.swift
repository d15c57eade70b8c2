import LinuxABI

/// TCP in the stack: the listen and connect calls, demultiplexing segments to connections
/// and listeners, and RST for segments nobody takes (RFC 9293 §3.10.7.1).
extension Stack {
    /// listen(2) on `port` (0: an ephemeral one) of `address` (nil: any). EADDRINUSE if a
    /// listener has the port.
    public func listenTCP(port: UInt16 = 0, address: IPv4Address? = nil, backlog: Int = 128) throws(LinuxErrno) -> TCPListener {
        if let address, !isLocal(address) { throw .EADDRNOTAVAIL }
        let chosen = port != 0 ? port : try ephemeralPort { tcpListeners[$0] == nil }
        guard tcpListeners[chosen] == nil else { throw .EADDRINUSE }
        let listener = TCPListener(stack: self, port: chosen, address: address, backlog: min(backlog, 4096))
        tcpListeners[chosen] = listener
        return listener
    }

    /// connect(2) to `address`:`port` from an ephemeral port: sends the SYN and returns the
    /// connection in SYN-SENT (it becomes ESTABLISHED, or fails with ECONNREFUSED or
    /// ETIMEDOUT, as segments and timers are handled). ENETUNREACH without a route.
    public func connectTCP(to address: IPv4Address, port: UInt16, from localPort: UInt16 = 0) throws(LinuxErrno) -> TCPConnection {
        guard let route = route(to: address) else { throw .ENETUNREACH }
        let source = route.source
        let chosen = localPort != 0 ? localPort : try ephemeralPort { candidate in
            tcpConnections[TCPConnection.Key(localAddress: source, localPort: candidate, remoteAddress: address, remotePort: port)] == nil
                && tcpListeners[candidate] == nil
        }
        let key = TCPConnection.Key(localAddress: source, localPort: chosen, remoteAddress: address, remotePort: port)
        guard tcpConnections[key] == nil else { throw .EADDRINUSE }
        let connection = TCPConnection(stack: self, key: key, state: .synSent, iss: randomWord(), mtu: route.interface.link.mtu)
        tcpConnections[key] = connection
        connection.connect()
        flush()
        return connection
    }

    /// ICMP destination unreachable about a segment of ours, for its connection.
    func tcpUnreachable(_ quoted: QuotedPacket, code: UInt8, nextHopMTU: UInt16) {
        let key = TCPConnection.Key(
            localAddress: quoted.source, localPort: quoted.sourcePort, remoteAddress: quoted.destination, remotePort: quoted.destinationPort)
        tcpConnections[key]?.handleUnreachable(code: code, nextHopMTU: Int(nextHopMTU), sequence: SequenceNumber(quoted.sequenceNumber))
    }

    /// Drops a closed connection from the tables.
    func forget(_ connection: TCPConnection) {
        if tcpConnections[connection.key] === connection { tcpConnections[connection.key] = nil }
        connection.listener?.forget(connection)
    }

    func receiveTCP(_ bytes: ArraySlice<UInt8>, from source: IPv4Address, to destination: IPv4Address) {
        guard let tcp = TCPHeader(bytes), trustChecksums || tcp.isChecksumValid(source: source, destination: destination) else {
            count(drop: "malformed TCP")
            return
        }
        let key = TCPConnection.Key(localAddress: destination, localPort: tcp.destinationPort, remoteAddress: source, remotePort: tcp.sourcePort)
        if let connection = tcpConnections[key] {
            connection.handle(tcp)
            return
        }
        let flags = tcp.flags
        if let listener = tcpListeners[tcp.destinationPort], listener.address == nil || listener.address == destination {
            if flags.contains(.rst) { return }
            if flags.contains(.ack) {
                resetUnowned(tcp, from: source, to: destination)
                return
            }
            guard flags.contains(.syn) else { return }
            guard listener.hasRoom, let route = route(to: source) else {
                count(drop: "listen queue full")
                return
            }
            let connection = TCPConnection(stack: self, key: key, state: .synReceived, iss: randomWord(), mtu: route.interface.link.mtu)
            connection.listener = listener
            listener.started(connection)
            tcpConnections[key] = connection
            connection.acceptSYN(tcp)
            return
        }
        count(drop: "TCP port closed")
        resetUnowned(tcp, from: source, to: destination)
    }

    /// The RST for a segment no connection or listener takes: <SEQ=SEG.ACK><CTL=RST> if it
    /// had an ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; never for a RST.
    private func resetUnowned(_ tcp: TCPHeader, from source: IPv4Address, to destination: IPv4Address) {
        let flags = tcp.flags
        guard !flags.contains(.rst) else { return }
        let reply: [UInt8]
        if flags.contains(.ack) {
            reply = TCPHeader.encode(
                sourcePort: tcp.destinationPort, destinationPort: tcp.sourcePort, sequenceNumber: tcp.acknowledgmentNumber,
                acknowledgmentNumber: 0, flags: .rst, window: 0, payload: [UInt8](), source: destination, destination: source)
        } else {
            let length = tcp.payload.count + (flags.contains(.syn) ? 1 : 0) + (flags.contains(.fin) ? 1 : 0)
            reply = TCPHeader.encode(
                sourcePort: tcp.destinationPort, destinationPort: tcp.sourcePort, sequenceNumber: 0,
                acknowledgmentNumber: tcp.sequenceNumber &+ UInt32(length), flags: [.rst, .ack], window: 0, payload: [UInt8](),
                source: destination, destination: source)
        }
        sendIPv4(reply, protocol: .tcp, from: destination, to: source, dontFragment: true)
    }
}

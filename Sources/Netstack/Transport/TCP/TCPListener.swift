import LinuxABI

/// A listening TCP socket (listen(2)): SYNs to its port make connections, which wait in the
/// accept queue once their handshake completes. At most `backlog` connections wait, counting
/// those still in their handshake; further SYNs are dropped (the peer retries), as Linux
/// drops them when the queue is full.
public final class TCPListener {
    public let port: UInt16
    /// The local address it is bound to; nil for INADDR_ANY.
    public let address: IPv4Address?
    public private(set) var backlog: Int
    weak var stack: Stack?
    /// The owner's name for it (see `TCPConnection.tag`): a connection ready to accept
    /// changes it.
    public var tag: Int32?
    private var ready: [TCPConnection] = []
    private var handshaking: [ObjectIdentifier: TCPConnection] = [:]

    init(stack: Stack, port: UInt16, address: IPv4Address?, backlog: Int) {
        self.stack = stack
        self.port = port
        self.address = address
        self.backlog = max(backlog, 1)
    }

    /// Whether accept would not wait (poll's POLLIN).
    public var isReadable: Bool { !ready.isEmpty }
    /// Connections that became ready to accept, counted (the events an edge-triggered poller
    /// is woken for).
    public private(set) var arrivals = 0
    /// Connections established and waiting for accept (Linux's sk_ack_backlog).
    public var waiting: Int { ready.count }

    /// The oldest established connection, if any (accept(2)).
    public func accept() -> TCPConnection? {
        guard !ready.isEmpty else { return nil }
        let connection = ready.removeFirst()
        connection.listener = nil
        return connection
    }

    /// Whether a new SYN may start a handshake.
    var hasRoom: Bool { ready.count + handshaking.count < backlog }

    func started(_ connection: TCPConnection) {
        handshaking[ObjectIdentifier(connection)] = connection
    }

    func established(_ connection: TCPConnection) {
        handshaking[ObjectIdentifier(connection)] = nil
        ready.append(connection)
        arrivals += 1
        stack?.noteChange(tag)
    }

    func forget(_ connection: TCPConnection) {
        handshaking[ObjectIdentifier(connection)] = nil
        let waited = ready.count
        ready.removeAll { $0 === connection }
        // A connection reset before it was accepted: the listener may be readable no more.
        if ready.count != waited { stack?.noteChange(tag) }
    }

    /// Stops listening: connections not yet accepted are reset, as Linux resets them.
    public func close() {
        guard let stack else { return }
        if stack.tcpListeners[port] === self { stack.tcpListeners[port] = nil }
        for connection in ready + Array(handshaking.values) { connection.abort() }
        ready = []
        handshaking = [:]
    }
}

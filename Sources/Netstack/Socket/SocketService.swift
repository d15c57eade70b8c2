import HostSys
import LinuxABI

/// The socket calls of the Sentry's AF_INET sockets, served by one stack (DESIGN.md: the
/// Netstack's socket RPC). Every call is non-blocking: one that would wait answers EAGAIN,
/// and the caller sleeps until `onChange` announces that the socket's state moved (then
/// tries again). A socket is a number the service hands out.
///
/// `onChange` names the sockets whose state a packet, a timer or a call moved, each with
/// what poll(2) reports for it now and a stamp that orders every such report (and those of
/// `stampedReadiness`): a caller that keeps the report with the highest stamp knows each
/// socket's readiness without asking.
///
/// The stack is single-threaded: the service runs every call, and its timer thread, under
/// one lock; the loopback's packets are delivered before a call returns.
///
/// Locks: `lock` guards the stack and the socket table. `onChange` is called without it.
public final class SocketService: @unchecked Sendable {
    /// The most bytes one send or receive moves (a larger write takes several).
    public static let largestTransfer = 256 * 1024

    public enum Kind: Sendable {
        case stream, datagram
    }

    /// An IPv4 socket address.
    public struct Address: Equatable, Sendable {
        public var address: IPv4Address
        public var port: UInt16
        public init(_ address: IPv4Address, _ port: UInt16) {
            self.address = address
            self.port = port
        }
        public static let any = Address(IPv4Address(rawValue: 0), 0)
    }

    /// The boolean socket options the stack has.
    public enum Option: UInt8, Sendable {
        case keepalive = 1
        /// TCP_NODELAY: no Nagle delay for short segments.
        case noDelay = 2
    }

    private enum Endpoint {
        case unbound(Kind, local: Address?)
        case listener(TCPListener)
        case connection(TCPConnection)
        case datagram(UDPEndpoint, peer: Address?)
    }

    private struct Socket {
        var endpoint: Endpoint
        var readShutdown = false
        var keepalive = false
        var noDelay = false
        /// A connect(2) whose result was not yet reported (SO_ERROR, or the next connect).
        var connecting = false
    }

    private let stack: Stack
    private let lock = Monitor()
    private var sockets: [Int32: Socket] = [:]
    private var nextID: Int32 = 1
    private var stopped = false
    /// A socket whose state moved: what poll(2) reports for it now, and when (`stamp` grows
    /// with every report the service makes).
    public struct Change: Equatable, Sendable {
        public var id: Int32
        public var events: PollEvents
        public var stamp: UInt64
        public init(id: Int32, events: PollEvents, stamp: UInt64) {
            self.id = id
            self.events = events
            self.stamp = stamp
        }
    }

    /// Called after a call, a timer or a packet moved some sockets' state, with those sockets:
    /// a sleeper retries. Set from any thread (under the lock), called without it.
    public var onChange: (@Sendable ([Change]) -> Void)? {
        get { lock.locked { changeHandler } }
        set { lock.locked { changeHandler = newValue } }
    }
    private var changeHandler: (@Sendable ([Change]) -> Void)?
    /// The last stamp handed out.
    private var stamp: UInt64 = 0
    /// With `reportsOnlyChanges`: what each socket's last report said.
    private var reported: [Int32: PollEvents] = [:]
    /// With `reportsOnlyChanges`: sockets read from since their last report, whose next
    /// arrival (data, a datagram, a connection to accept: `arrivals`) is reported even if
    /// their readiness reads the same: an edge-triggered epoll entry wakes for each arrival
    /// after a read, as on Linux, while a stream into a socket nobody reads wakes no one.
    private var rearmed: Set<Int32> = []
    /// The socket's arrivals count at its last report.
    private var reportedArrivals: [Int32: Int] = [:]
    /// The stamp of each socket's latest report (`eventStamp`).
    private var lastReport: [Int32: UInt64] = [:]
    /// Announce a socket only when its readiness differs from its last report (`onChange`'s
    /// or `stampedReadiness`'s), for a caller that keeps every report and asks through
    /// `stampedReadiness` (the Netstack's client): a stream of data into a socket that is
    /// readable already then wakes no one. Off for a caller that is told only "something
    /// changed" and looks again itself.
    public var reportsOnlyChanges: Bool {
        get { lock.locked { onlyChanges } }
        set { lock.locked { onlyChanges = newValue } }
    }
    private var onlyChanges = false
    /// Frames a call makes wait until `releaseOutput`: the Netstack answers the Sentry first
    /// and sends them after (a read's window update costs the host's TCP its whole reaction,
    /// in the thread that sends it).
    public var holdsCallOutput: Bool {
        get { lock.locked { holdCalls } }
        set { lock.locked { holdCalls = newValue } }
    }
    private var holdCalls = false

    /// A service over `stack`, whose timers a thread of the service runs from now on.
    public init(stack: Stack) {
        self.stack = stack
    }

    /// The loopback-only stack of `--network=none`: 127.0.0.1/8 on a loopback interface
    /// (whose packets go to `capture` too, when given).
    public static func loopbackOnly(capture: PacketCapture? = nil) -> SocketService {
        let stack = Stack(clock: MonotonicClock())
        let loopback = LoopbackLink()
        if let capture { loopback.capture = { capture.record($0) } }
        stack.addInterface(loopback, subnets: [IPv4Subnet(IPv4Address(127, 0, 0, 1), prefixLength: 8)])
        return SocketService(stack: stack)
    }

    /// Starts the thread that runs the stack's timers (retransmissions, delayed ACKs,
    /// TIME-WAIT), waking every 10 ms while any timer is set.
    public func start() throws(Errno) {
        try HostThread.detach { [weak self] in
            while let service = self {
                let ran = service.lock.locked { () -> (idle: Bool, changes: [Change])? in
                    if service.stopped { return nil }
                    service.stack.runTimers()
                    service.stack.poll()
                    return (service.stack.nextDeadline == nil, service.takeChanges(also: nil))
                }
                guard let ran else { return }
                service.announce(ran.changes)
                Clock.sleep(nanoseconds: ran.idle ? 50_000_000 : 10_000_000)
            }
        }
    }

    /// Stops the timer thread.
    public func stop() {
        lock.locked { stopped = true }
    }

    /// Hands `frames` that arrived on interface `interface` to the stack (each with whether
    /// the link vouches for its transport checksum), and announces the change.
    func deliver(_ frames: [(bytes: ArraySlice<UInt8>, checksumTrusted: Bool)], on interface: Int) {
        let changes = lock.locked {
            stack.receive(frames, on: interface)
            stack.poll()
            return takeChanges(also: nil)
        }
        announce(changes)
    }

    /// Runs `body` on the stack for socket `id`, delivers the loopback's packets, and
    /// announces the sockets that moved. A call that only moves data (`announcing` false)
    /// does not announce its own socket: its caller has the answer, and reading or writing
    /// makes no socket of its own more ready. Its loopback peers are announced as they move.
    /// A call that fails (EAGAIN, EINPROGRESS) leaves its own socket no more ready than it
    /// was, so it does not announce it (else a caller waiting for a change would be woken by
    /// its own retries), unless reports go out only on a change (`reportsOnlyChanges`): then
    /// it is announced if it changed (a connect's EINPROGRESS takes its POLLOUT away), and a
    /// retry that changes nothing wakes no one. What it moved on the loopback is announced
    /// all the same.
    private func call<Value>(_ id: Int32, announcing: Bool = true, _ body: () throws(LinuxErrno) -> Value) throws(LinuxErrno) -> Value {
        let (outcome, changes) = lock.locked { () -> (Result<Value, LinuxErrno>, [Change]) in
            if holdCalls { stack.holdingOutput = true }
            let outcome = Result { () throws(LinuxErrno) -> Value in try body() }
            stack.poll()
            let succeeded = (try? outcome.get()) != nil
            return (outcome, takeChanges(also: announcing && (succeeded || onlyChanges) ? id : nil))
        }
        announce(changes)
        return try outcome.get()
    }

    /// Sends the frames calls held (`holdsCallOutput`), delivers what they carry on the
    /// loopback, and announces the sockets that moved.
    public func releaseOutput() {
        let changes = lock.locked { () -> [Change] in
            guard stack.holdingOutput else { return [] }
            stack.holdingOutput = false
            stack.flush()
            stack.poll()
            return takeChanges(also: nil)
        }
        announce(changes)
    }

    /// The reports of the sockets the stack changed, and of `also` (under the lock).
    private func takeChanges(also: Int32?) -> [Change] {
        var ids = stack.takeChanged()
        if let also { ids.insert(also) }
        return ids.sorted().compactMap { id in
            let events = readinessLocked(id)
            if onlyChanges {
                let arrived = arrivalsLocked(id)
                if reported[id] == events && !(rearmed.contains(id) && arrived != reportedArrivals[id]) { return nil }
                rearmed.remove(id)
                reported[id] = sockets[id] == nil ? nil : events
                reportedArrivals[id] = sockets[id] == nil ? nil : arrived
            }
            let stamp = nextStamp()
            lastReport[id] = sockets[id] == nil ? nil : stamp
            return Change(id: id, events: events, stamp: stamp)
        }
    }

    private func nextStamp() -> UInt64 {
        stamp += 1
        return stamp
    }

    private func announce(_ changes: [Change]) {
        if !changes.isEmpty { onChange?(changes) }
    }

    /// Names `endpoint` after socket `id`, so the stack reports its changes under that id.
    private func tagged(_ endpoint: Endpoint, _ id: Int32) -> Endpoint {
        switch endpoint {
        case .unbound: break
        case .listener(let listener): listener.tag = id
        case .connection(let connection): connection.tag = id
        case .datagram(let datagram, _): datagram.tag = id
        }
        return endpoint
    }

    // MARK: Calls

    /// socket(2): a new socket of `kind`.
    public func socket(_ kind: Kind) -> Int32 {
        lock.locked {
            let id = freshID()
            sockets[id] = Socket(endpoint: .unbound(kind, local: nil))
            return id
        }
    }

    /// A socket number not in use (lock held): counting up, wrapping past Int32.max.
    private func freshID() -> Int32 {
        repeat {
            nextID = nextID == .max ? 1 : nextID + 1
        } while sockets[nextID] != nil
        return nextID
    }

    /// bind(2): EINVAL if already bound, EADDRINUSE if taken, EADDRNOTAVAIL for an address
    /// the stack does not have.
    public func bind(_ id: Int32, to address: Address) throws(LinuxErrno) {
        try call(id) { () throws(LinuxErrno) in
            guard var socket = sockets[id] else { throw .EBADF }
            switch socket.endpoint {
            case .unbound(.datagram, nil):
                let endpoint = try stack.bindUDP(port: address.port, address: address.address.rawValue == 0 ? nil : address.address)
                socket.endpoint = tagged(.datagram(endpoint, peer: nil), id)
            case .unbound(.stream, nil):
                if address.address.rawValue != 0 && !stack.isLocal(address.address) { throw .EADDRNOTAVAIL }
                var chosen = address
                if chosen.port == 0 { chosen.port = try stack.ephemeralPort { stack.tcpListeners[$0] == nil } }
                if stack.tcpListeners[chosen.port] != nil { throw .EADDRINUSE }
                socket.endpoint = .unbound(.stream, local: chosen)
            default:
                throw .EINVAL
            }
            sockets[id] = socket
        }
    }

    /// listen(2) on a stream socket (bound or not: an unbound one gets an ephemeral port).
    public func listen(_ id: Int32, backlog: Int) throws(LinuxErrno) {
        try call(id) { () throws(LinuxErrno) in
            guard var socket = sockets[id] else { throw .EBADF }
            switch socket.endpoint {
            case .unbound(.stream, let local):
                let address = local.flatMap { $0.address.rawValue == 0 ? nil : $0.address }
                socket.endpoint = tagged(.listener(try stack.listenTCP(port: local?.port ?? 0, address: address, backlog: backlog)), id)
            case .listener:
                return  // a second listen changes only the backlog on Linux
            default:
                throw .EINVAL
            }
            sockets[id] = socket
        }
    }

    /// connect(2): a stream socket starts its handshake (EINPROGRESS; `connectResult` tells
    /// the outcome once it is writable); a datagram socket records its peer.
    public func connect(_ id: Int32, to address: Address) throws(LinuxErrno) {
        try call(id) { () throws(LinuxErrno) in
            guard var socket = sockets[id] else { throw .EBADF }
            switch socket.endpoint {
            case .unbound(.stream, let local):
                let connection = try stack.connectTCP(to: address.address, port: address.port, from: local?.port ?? 0)
                socket.endpoint = tagged(.connection(connection), id)
                apply(socket, to: connection)
                socket.connecting = true
                sockets[id] = socket
                throw .EINPROGRESS
            case .connection(let connection):
                if socket.connecting { throw connection.state == .synSent ? .EALREADY : .EISCONN }
                throw .EISCONN
            case .unbound(.datagram, _):
                let endpoint = try stack.bindUDP()
                endpoint.peer = (address.address, address.port)
                socket.endpoint = tagged(.datagram(endpoint, peer: address), id)
            case .datagram(let endpoint, _):
                endpoint.peer = (address.address, address.port)
                socket.endpoint = tagged(.datagram(endpoint, peer: address), id)
            default:
                throw .EINVAL
            }
            sockets[id] = socket
        }
    }

    /// The outcome of a connect in progress: nil while it runs, else its error (0: none),
    /// which is reported once (SO_ERROR).
    /// A datagram socket reports (and clears) its pending ICMP error here, as SO_ERROR does.
    public func connectResult(_ id: Int32) -> LinuxErrno?? {
        let (result, changes) = lock.locked { () -> (LinuxErrno??, [Change]) in
            (connectResultLocked(id), takeChanges(also: nil))
        }
        announce(changes)
        return result
    }

    private func connectResultLocked(_ id: Int32) -> LinuxErrno?? {
        if case .datagram(let endpoint, _) = sockets[id]?.endpoint { return .some(endpoint.takeError()) }
        guard var socket = sockets[id], case .connection(let connection) = socket.endpoint else { return .some(nil) }
        if connection.state == .synSent || connection.state == .synReceived { return nil }
        guard socket.connecting else { return .some(nil) }
        socket.connecting = false
        sockets[id] = socket
        return .some(connection.error)
    }

    /// accept(2): an established connection as a new socket with its peer; EAGAIN if none waits.
    public func accept(_ id: Int32) throws(LinuxErrno) -> (Int32, Address) {
        try call(id) { () throws(LinuxErrno) -> (Int32, Address) in
            guard let socket = sockets[id] else { throw .EBADF }
            guard case .listener(let listener) = socket.endpoint else { throw .EINVAL }
            guard let connection = listener.accept() else { throw .EAGAIN }
            rearm(id)  // the next connection wakes an edge-triggered waiter
            let new = freshID()
            // Like Linux, the new socket inherits the listener's SO_KEEPALIVE and TCP_NODELAY.
            let accepted = Socket(endpoint: tagged(.connection(connection), new), keepalive: socket.keepalive, noDelay: socket.noDelay)
            sockets[new] = accepted
            apply(accepted, to: connection)
            return (new, Address(connection.key.remoteAddress, connection.key.remotePort))
        }
    }

    /// send(2)/sendto(2): bytes taken (a stream takes what fits: EAGAIN when none does).
    public func send(_ id: Int32, _ bytes: [UInt8], to destination: Address? = nil) throws(LinuxErrno) -> Int {
        let sent = bytes.withUnsafeBytes { buffer in Result { () throws(LinuxErrno) in try send(id, buffer, to: destination) } }
        return try sent.get()
    }

    /// `send` from memory the caller holds (the RPC's window, without a copy first).
    public func send(_ id: Int32, _ bytes: UnsafeRawBufferPointer, to destination: Address? = nil) throws(LinuxErrno) -> Int {
        try call(id, announcing: false) { () throws(LinuxErrno) -> Int in
            guard let socket = sockets[id] else { throw .EBADF }
            switch socket.endpoint {
            case .connection(let connection):
                let taken = try connection.write(bytes)
                if taken == 0 && !bytes.isEmpty { throw .EAGAIN }
                return taken
            case .datagram(let endpoint, let peer):
                if let error = endpoint.takeError() { throw error }
                guard let target = destination ?? peer else { throw .EDESTADDRREQ }
                try endpoint.send(Array(bytes), to: target.address, port: target.port)
                return bytes.count
            case .unbound(.datagram, _):
                guard let destination else { throw .EDESTADDRREQ }
                let endpoint = try stack.bindUDP()
                sockets[id]?.endpoint = tagged(.datagram(endpoint, peer: nil), id)
                try endpoint.send(Array(bytes), to: destination.address, port: destination.port)
                return bytes.count
            default:
                throw .ENOTCONN
            }
        }
    }

    /// recv(2)/recvfrom(2): up to `maximum` bytes and where they came from. A stream at end
    /// of file gives no bytes; EAGAIN when nothing waits.
    public func receive(_ id: Int32, maximum: Int, peek: Bool = false) throws(LinuxErrno) -> (bytes: [UInt8], from: Address?) {
        var result: Result<Address?, LinuxErrno> = .success(nil)
        // A socket read moves at most `largestTransfer`: the buffer is not sized by the caller's count.
        let bytes = [UInt8](unsafeUninitializedCapacity: min(maximum, Self.largestTransfer)) { buffer, count in
            result = Result { () throws(LinuxErrno) in
                let (taken, from) = try receive(id, into: UnsafeMutableRawBufferPointer(buffer), peek: peek)
                count = taken
                return from
            }
            if case .failure = result { count = 0 }
        }
        return (bytes, try result.get())
    }

    /// `receive` scattered into `buffers` (for the Sentry's own stack: through one copy).
    public func receive(_ id: Int32, into buffers: [UnsafeMutableRawBufferPointer]) throws(LinuxErrno) -> (count: Int, from: Address?) {
        let (bytes, from) = try receive(id, maximum: buffers.reduce(0) { $0 + $1.count })
        bytes.withUnsafeBytes { scatter($0, into: buffers) }
        return (bytes.count, from)
    }

    /// `receive` into memory the caller holds (the RPC's window, without a copy after):
    /// returns how many bytes it took, and where they came from.
    /// With `peek` (MSG_PEEK) the bytes stay for the next receive.
    public func receive(_ id: Int32, into buffer: UnsafeMutableRawBufferPointer, peek: Bool = false) throws(LinuxErrno) -> (count: Int, from: Address?) {
        try call(id, announcing: false) { () throws(LinuxErrno) -> (count: Int, from: Address?) in
            guard let socket = sockets[id] else { throw .EBADF }
            switch socket.endpoint {
            case .connection(let connection):
                if socket.readShutdown || buffer.isEmpty { return (0, nil) }
                let count = try peek ? connection.peek(into: buffer) : connection.read(into: buffer)
                if count == 0 && !connection.isAtEndOfStream && connection.state != .closed { throw .EAGAIN }
                if !peek { rearm(id) }
                return (count, Address(connection.key.remoteAddress, connection.key.remotePort))
            case .datagram(let endpoint, let peer):
                if let error = endpoint.takeError() { throw error }
                // A connected UDP socket takes datagrams from its peer only (as Linux's).
                while let datagram = endpoint.next {
                    if let peer, peer.address != datagram.source || peer.port != datagram.sourcePort {
                        _ = endpoint.receive()  // not from the peer: dropped, as Linux drops it
                        continue
                    }
                    if !peek {
                        _ = endpoint.receive()
                        rearm(id)
                    }
                    let count = min(buffer.count, datagram.payload.count)
                    datagram.payload.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                    return (count, Address(datagram.source, datagram.sourcePort))
                }
                throw .EAGAIN
            case .unbound(.datagram, _):
                throw .EAGAIN
            default:
                throw .ENOTCONN
            }
        }
    }

    /// shutdown(2): `read`, `write` or both.
    public func shutdown(_ id: Int32, read: Bool, write: Bool) throws(LinuxErrno) {
        try call(id) { () throws(LinuxErrno) in
            guard var socket = sockets[id] else { throw .EBADF }
            guard case .connection(let connection) = socket.endpoint else { throw .ENOTCONN }
            if write { connection.shutdownWrite() }
            if read { socket.readShutdown = true }
            sockets[id] = socket
        }
    }

    /// close(2) of the last fd: a connection sends its FIN (or RST with unread data), a
    /// listener resets what was not accepted, a datagram socket frees its port.
    public func close(_ id: Int32) {
        _ = try? call(id) { () throws(LinuxErrno) in
            guard let socket = sockets.removeValue(forKey: id) else { return }
            reported[id] = nil
            rearmed.remove(id)
            reportedArrivals[id] = nil
            lastReport[id] = nil
            // What the endpoint does from here on (a FIN exchange) concerns no socket.
            switch socket.endpoint {
            case .connection(let connection):
                connection.tag = nil
                connection.close()
            case .listener(let listener):
                listener.tag = nil
                listener.close()
            case .datagram(let endpoint, _):
                endpoint.tag = nil
                endpoint.close()
            case .unbound: break
            }
        }
    }

    /// getsockname(2).
    public func localAddress(_ id: Int32) throws(LinuxErrno) -> Address {
        try lock.locked { () throws(LinuxErrno) -> Address in
            guard let socket = sockets[id] else { throw .EBADF }
            switch socket.endpoint {
            case .unbound(_, let local): return local ?? .any
            case .listener(let listener): return Address(listener.address ?? IPv4Address(rawValue: 0), listener.port)
            case .connection(let connection): return Address(connection.key.localAddress, connection.key.localPort)
            case .datagram(let endpoint, _): return Address(endpoint.address ?? IPv4Address(rawValue: 0), endpoint.port)
            }
        }
    }

    /// getpeername(2): ENOTCONN unless connected.
    public func peerAddress(_ id: Int32) throws(LinuxErrno) -> Address {
        try lock.locked { () throws(LinuxErrno) -> Address in
            guard let socket = sockets[id] else { throw .EBADF }
            switch socket.endpoint {
            case .connection(let connection) where connection.state != .synSent:
                return Address(connection.key.remoteAddress, connection.key.remotePort)
            case .datagram(_, let peer?): return peer
            default: throw .ENOTCONN
            }
        }
    }

    /// The stamp of the socket's latest change report: it moves with each event of the
    /// socket (for edge-triggered epoll entries).
    public func eventStamp(_ id: Int32) -> UInt64 {
        lock.locked { lastReport[id] ?? 0 }
    }

    /// What poll(2) would report for the socket now.
    public func readiness(_ id: Int32) -> PollEvents {
        lock.locked { readinessLocked(id) }
    }

    /// `readiness` with the stamp that orders it among `onChange`'s reports.
    public func stampedReadiness(_ id: Int32) -> (events: PollEvents, stamp: UInt64) {
        lock.locked {
            let events = readinessLocked(id)
            if onlyChanges && sockets[id] != nil {
                reported[id] = events
                reportedArrivals[id] = arrivalsLocked(id)
            }
            return (events, nextStamp())
        }
    }

    /// The program took from socket `id` (a read, an accept): with `reportsOnlyChanges`, its
    /// next arrival is reported even if its readiness reads the same. Arrivals until now are
    /// what it has seen.
    private func rearm(_ id: Int32) {
        guard onlyChanges else { return }
        rearmed.insert(id)
        reportedArrivals[id] = arrivalsLocked(id)
    }

    /// The arrivals count of the socket's endpoint (0 for one without).
    private func arrivalsLocked(_ id: Int32) -> Int {
        switch sockets[id]?.endpoint {
        case .connection(let connection): connection.arrivals
        case .listener(let listener): listener.arrivals
        case .datagram(let endpoint, _): endpoint.arrivals
        default: 0
        }
    }

    private func readinessLocked(_ id: Int32) -> PollEvents {
        guard let socket = sockets[id] else { return .error }
        switch socket.endpoint {
        case .unbound(.stream, _): return [.output, .hangUp]
        case .unbound(.datagram, _): return .output
        case .listener(let listener): return listener.isReadable ? .input : []
        case .datagram(let endpoint, _):
            var events: PollEvents = endpoint.isReadable ? [.input, .output] : .output
            if endpoint.pendingError != nil { events.insert(.error) }
            return events
        case .connection(let connection):
            var events: PollEvents = []
            if connection.isReadable || socket.readShutdown { events.insert(.input) }
            if connection.isAtEndOfStream { events.insert(.readHangUp) }
            if connection.isWritable { events.insert(.output) }
            if connection.error != nil { events.formUnion([.error, .hangUp]) }
            if connection.state == .closed && connection.error == nil { events.insert(.hangUp) }
            return events
        }
    }

    /// setsockopt(2) of SO_KEEPALIVE or TCP_NODELAY: on a TCP connection it takes effect at
    /// once (TCP_NODELAY sends what Nagle held); on a socket not yet connected it is kept for
    /// the connection, and a listener's goes to the connections it accepts. Datagram sockets
    /// take and ignore it, as Linux's UDP does.
    public func setOption(_ id: Int32, _ option: Option, _ value: Bool) throws(LinuxErrno) {
        try call(id) { () throws(LinuxErrno) in
            guard var socket = sockets[id] else { throw .EBADF }
            switch option {
            case .keepalive: socket.keepalive = value
            case .noDelay: socket.noDelay = value
            }
            sockets[id] = socket
            if case .connection(let connection) = socket.endpoint { apply(socket, to: connection) }
        }
    }

    /// Gives `connection` the options set on its socket before it existed.
    private func apply(_ socket: Socket, to connection: TCPConnection) {
        if connection.keepalive != socket.keepalive { connection.keepalive = socket.keepalive }
        if connection.noDelay != socket.noDelay { connection.noDelay = socket.noDelay }
    }

    /// getsockopt(TCP_INFO): a connection's state and numbers; a listener's or an
    /// unconnected stream socket's initial values, as Linux; ENOPROTOOPT for a datagram socket.
    public func tcpInfo(_ id: Int32) throws(LinuxErrno) -> TCPConnection.Info {
        try lock.locked { () throws(LinuxErrno) -> TCPConnection.Info in
            guard let socket = sockets[id] else { throw .EBADF }
            switch socket.endpoint {
            case .connection(let connection): return connection.info
            case .listener(let listener): return TCPConnection.unconnectedInfo(listening: listener.waiting)
            case .unbound(.stream, _): return TCPConnection.unconnectedInfo(listening: nil)
            default: throw .ENOPROTOOPT  // a datagram socket has no TCP level
            }
        }
    }

    /// The stack's interfaces and routes.
    public func interfaces() -> InterfaceListing {
        lock.locked { stack.listing }
    }

    /// Bytes waiting to be read (FIONREAD).
    public func available(_ id: Int32) -> Int {
        lock.locked {
            guard let socket = sockets[id] else { return 0 }
            switch socket.endpoint {
            case .connection(let connection): return connection.available
            case .datagram(let endpoint, _): return endpoint.nextSize ?? 0
            default: return 0
            }
        }
    }
}

extension SocketService: SocketCalls {}

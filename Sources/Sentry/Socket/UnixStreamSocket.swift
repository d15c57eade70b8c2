import HostSys
import LinuxABI

/// The name an AF_UNIX socket is bound to: a socket file (known by its device and inode, so a
/// path that reaches it another way finds it too) or a name in the abstract namespace.
enum UnixName: Hashable {
    case file(device: UInt64, inode: UInt64)
    case abstract([UInt8])
}

/// A listening AF_UNIX socket's queue: connections made and not yet accepted (their
/// accepting ends), at most `backlog`.
///
/// Locks: `monitor` guards the queue; connectors and acceptors sleep on it.
final class UnixListener: @unchecked Sendable {
    let kind: UnixConnection.Kind
    let monitor = Monitor()
    private var pending: [UnixConnection] = []
    private var backlog: Int
    private var closed = false
    /// Connections arriving, the listener closed.
    let events = ReadinessEvents()

    init(kind: UnixConnection.Kind, backlog: Int) {
        self.kind = kind
        self.backlog = backlog
    }

    /// Makes a connection for a connector: side 0 is the connector's, side 1 waits here for
    /// accept. Waits while the queue is full (EAGAIN if `nonBlocking`); ECONNREFUSED once
    /// closed. `names`: the connector's and the listener's sun_path bytes.
    func connect(nonBlocking: Bool, names: (connector: [UInt8], listener: [UInt8])) throws(LinuxErrno) -> UnixConnection {
        let result: Result<UnixConnection, LinuxErrno> = monitor.locked {
            while true {
                if closed { return .failure(.ECONNREFUSED) }
                if pending.count < backlog {
                    let connection = UnixConnection(kind: kind, names: [names.connector, names.listener])
                    pending.append(connection)
                    monitor.broadcast()
                    return .success(connection)
                }
                if nonBlocking { return .failure(.EAGAIN) }
                if Task.sleep(on: monitor) == .interrupted { return .failure(.ERESTARTSYS) }
            }
        }
        events.changed()
        return try result.get()
    }

    /// Takes the oldest connection (waiting unless `nonBlocking`: EAGAIN).
    func accept(nonBlocking: Bool) throws(LinuxErrno) -> UnixConnection {
        let result: Result<UnixConnection, LinuxErrno> = monitor.locked {
            while pending.isEmpty {
                if nonBlocking { return .failure(.EAGAIN) }
                if Task.sleep(on: monitor) == .interrupted { return .failure(.ERESTARTSYS) }
            }
            monitor.broadcast()
            return .success(pending.removeFirst())
        }
        Readiness.changed()
        return try result.get()
    }

    var hasPending: Bool { monitor.locked { !pending.isEmpty } }

    /// Stops listening: the connections not accepted see their peer closed.
    func close() {
        let dropped: [UnixConnection] = monitor.locked {
            closed = true
            monitor.broadcast()
            defer { pending = [] }
            return pending
        }
        for connection in dropped { connection.close(1) }
        events.changed()
    }
}

/// An AF_UNIX stream or seqpacket socket made by socket(2): unbound, bound to a name,
/// listening, or connected (then it reads and writes through its end of a `UnixConnection`,
/// as a socketpair's end does).
///
/// Locks: `lock` guards `state` and `name`.
final class UnixStreamSocket: FileOperations, @unchecked Sendable {
    enum State {
        case unbound
        case listening(UnixListener)
        case connected(UnixSocketEnd)
    }

    let kind: UnixConnection.Kind
    let sandbox: Sandbox
    let inode: UInt64
    private let lock = Monitor()
    private var state: State = .unbound
    /// The Sentry's readiness generation when it began to listen or connected: its event
    /// stamps from then on count up from there, so they never go back below what an epoll
    /// entry saw while it was unconnected.
    private var stampBase: UInt64 = 0
    /// What bind(2) gave it, as sockaddr_un's sun_path bytes (for getsockname), and its key.
    private(set) var boundPath: [UInt8]?
    private var name: UnixName?

    init(kind: UnixConnection.Kind, sandbox: Sandbox, inode: UInt64) {
        self.kind = kind
        self.sandbox = sandbox
        self.inode = inode
    }

    deinit {
        if case .listening(let listener) = state { listener.close() }
        if let name { sandbox.unbindUnix(name) }
    }

    /// The sun_path bytes getsockname(2) reports.
    var localPath: [UInt8] { lock.locked { boundPath ?? [] } }

    /// Takes `name` (EINVAL if already bound; EADDRINUSE if another socket has it).
    func bind(_ name: UnixName, path: [UInt8]) throws(LinuxErrno) {
        try lock.locked { () throws(LinuxErrno) in
            guard self.name == nil, case .unbound = state else { throw .EINVAL }
            try sandbox.bindUnix(name, to: self)
            self.name = name
            boundPath = path
        }
    }

    /// listen(2): the socket must be bound (EINVAL otherwise, as an autobind is not done).
    func listen(backlog: Int) throws(LinuxErrno) {
        try lock.locked { () throws(LinuxErrno) in
            switch state {
            case .listening: return
            case .connected: throw .EINVAL
            case .unbound:
                guard name != nil else { throw .EINVAL }
                stampBase = Readiness.current()
                state = .listening(UnixListener(kind: kind, backlog: backlog))
            }
        }
    }

    var listener: UnixListener? {
        lock.locked {
            if case .listening(let listener) = state { return listener }
            return nil
        }
    }

    /// Whether it is neither listening nor connected (connect(2) may go on).
    var isUnconnected: Bool {
        lock.locked {
            if case .unbound = state { return true }
            return false
        }
    }

    /// Becomes connected through `connection` (its side 0).
    func attach(_ connection: UnixConnection) throws(LinuxErrno) {
        try lock.locked { () throws(LinuxErrno) in
            guard case .unbound = state else { throw .EISCONN }
            stampBase = Readiness.current()
            state = .connected(UnixSocketEnd(connection, side: 0, inode: inode))
        }
    }

    /// The connected end's peer name (getpeername(2)); ENOTCONN unless connected.
    func peerPath() throws(LinuxErrno) -> [UInt8] {
        guard let end else { throw .ENOTCONN }
        return end.connection.names[1 - end.side]
    }

    private var end: UnixSocketEnd? {
        lock.locked {
            if case .connected(let end) = state { return end }
            return nil
        }
    }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { try read(count: count, at: offset, nonBlocking: false) }

    func read(count: Int, at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> [UInt8] {
        guard let end else { throw .ENOTCONN }
        return try end.read(count: count, at: offset, nonBlocking: nonBlocking)
    }

    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { try write(bytes, at: offset, nonBlocking: false) }

    func write(_ bytes: [UInt8], at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> Int {
        guard let end else { throw .ENOTCONN }
        return try end.write(bytes, at: offset, nonBlocking: nonBlocking)
    }

    func stat() throws(LinuxErrno) -> LinuxStat { socketStat(inode: inode) }

    func readiness(_ events: PollEvents) -> PollEvents {
        switch lock.locked({ state }) {
        case .unbound: return events.intersection(.output).union(.hangUp)
        case .listening(let listener): return listener.hasPending ? events.intersection(.input) : []
        case .connected(let end): return end.readiness(events)
        }
    }

    var eventStamp: UInt64 {
        let (state, base) = lock.locked { (self.state, stampBase) }
        switch state {
        case .unbound: return Readiness.current()
        case .listening(let listener): return base + listener.events.stamp
        case .connected(let end): return base + end.eventStamp
        }
    }

    /// The connected end, for sendmsg/recvmsg and shutdown.
    var connectedEnd: UnixSocketEnd? { end }
}

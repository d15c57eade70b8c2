import HostSys
import LinuxABI

/// An AF_UNIX datagram socket made by socket(2) (unix(7)): bound to a name or not, sending
/// to a name (sendto) or to the peer connect(2) set, receiving what is sent to its name,
/// with the sender's name. Messages keep their boundaries and may carry files (SCM_RIGHTS).
///
/// Locks: `monitor` guards the queue and the peer; receivers and senders sleep on it.
final class UnixDatagramSocket: FileOperations, @unchecked Sendable {
    struct Datagram {
        var bytes: [UInt8]
        var files: [FileDescription]
        /// The sender's bound path (sun_path bytes), empty when it has none.
        var source: [UInt8]
    }

    let sandbox: Sandbox
    let inode: UInt64
    let monitor = Monitor()
    private var queue: [Datagram] = []
    private var queued = 0
    /// connect(2)'s peer (weak: two sockets connected to each other still go away).
    private weak var peer: UnixDatagramSocket?
    private var path: [UInt8] = []
    private var name: UnixName?

    init(sandbox: Sandbox, inode: UInt64) {
        self.sandbox = sandbox
        self.inode = inode
    }

    deinit {
        if let name { sandbox.unbindUnix(name) }
    }

    /// Takes `name` (EINVAL if already bound; EADDRINUSE if another socket has it).
    func bind(_ name: UnixName, path: [UInt8]) throws(LinuxErrno) {
        try monitor.locked { () throws(LinuxErrno) in
            guard self.name == nil else { throw .EINVAL }
            try sandbox.bindUnix(name, to: self)
            self.name = name
            self.path = path
        }
    }

    /// The sun_path bytes bind(2) gave it (empty: unnamed).
    var boundPath: [UInt8] { monitor.locked { path } }

    /// connect(2): the default destination.
    func connect(to target: UnixDatagramSocket) {
        monitor.locked {
            peer = target
            connected = true
        }
    }
    private var connected = false

    /// The peer connect(2) set: ENOTCONN without one, ECONNREFUSED once it has closed.
    func connectedPeer() throws(LinuxErrno) -> UnixDatagramSocket {
        let (target, wasConnected) = monitor.locked { (peer, connected) }
        guard wasConnected else { throw .ENOTCONN }
        guard let target else { throw .ECONNREFUSED }
        return target
    }

    /// Queues a datagram from `sender` (waits for room unless `nonBlocking`: EAGAIN).
    func deliver(_ datagram: Datagram, nonBlocking: Bool) throws(LinuxErrno) {
        guard datagram.bytes.count <= UnixConnection.capacity else { throw .EMSGSIZE }
        let charge = datagram.bytes.count + UnixConnection.messageOverhead
        let result: Result<Void, LinuxErrno> = monitor.locked {
            while queued + charge > UnixConnection.capacity {
                if nonBlocking { return .failure(.EAGAIN) }
                if Task.sleep(on: monitor) == .interrupted { return .failure(.ERESTARTSYS) }
            }
            queue.append(datagram)
            queued += charge
            monitor.broadcast()
            return .success(())
        }
        events.changed()
        try result.get()
    }

    /// Takes the next datagram, cut to `count` (`truncated` says it was longer).
    /// With `peek` (MSG_PEEK) the datagram stays queued.
    func receive(count: Int, nonBlocking: Bool, peek: Bool = false) throws(LinuxErrno) -> (datagram: Datagram, truncated: Bool) {
        let result: Result<(Datagram, Bool), LinuxErrno> = monitor.locked {
            while queue.isEmpty {
                if nonBlocking { return .failure(.EAGAIN) }
                if Task.sleep(on: monitor) == .interrupted { return .failure(.ERESTARTSYS) }
            }
            guard var datagram = queue.first else { return .failure(.EAGAIN) }
            if !peek {
                queue.removeFirst()
                queued -= datagram.bytes.count + UnixConnection.messageOverhead
                monitor.broadcast()
            }
            let truncated = datagram.bytes.count > count
            datagram.bytes = Array(datagram.bytes.prefix(count))
            return .success((datagram, truncated))
        }
        Readiness.changed()
        return try result.get()
    }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { try read(count: count, at: offset, nonBlocking: false) }

    func read(count: Int, at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> [UInt8] {
        if offset != nil { throw .ESPIPE }
        return try receive(count: count, nonBlocking: nonBlocking).datagram.bytes
    }

    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { try write(bytes, at: offset, nonBlocking: false) }

    /// write(2) goes to the connected peer (ENOTCONN without one).
    func write(_ bytes: [UInt8], at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> Int {
        if offset != nil { throw .ESPIPE }
        let peer = try connectedPeer()
        try peer.deliver(Datagram(bytes: bytes, files: [], source: boundPath), nonBlocking: nonBlocking)
        return bytes.count
    }

    func stat() throws(LinuxErrno) -> LinuxStat { socketStat(inode: inode) }

    /// Datagrams arriving (a receive frees room only for senders, which always see room).
    let events = ReadinessEvents()
    var eventStamp: UInt64 { events.stamp }

    func readiness(_ events: PollEvents) -> PollEvents {
        monitor.locked {
            var ready: PollEvents = .output
            if !queue.isEmpty { ready.insert(.input) }
            return ready.intersection(events)
        }
    }
}

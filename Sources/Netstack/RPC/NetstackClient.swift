import Flipcall
import HostSys
import LinuxABI
import Synchronization

/// The Sentry's side of the socket RPC: `SocketCalls` over a pool of Flipcall channels to the
/// `runsc netstack` process (one call per channel at a time; a caller waits for a free one),
/// and a thread that turns the Netstack's change ring into `onChange` calls.
///
/// Readiness is known here without a call: the change ring reports every socket a packet or
/// a timer moved, with its readiness, and the replies to send and receive report their
/// socket's; each report carries a stamp, and the latest one wins (`SocketService.Change`).
/// poll(2) and select(2) over Netstack sockets therefore cost no round trip once a socket
/// has been asked about once.
///
/// Nothing the Netstack answers is trusted: replies are decoded with checked readers, a
/// malformed one fails the call with EIO, and a Netstack that is gone (its channels hang up,
/// or its ring does) fails every call with ENETDOWN at once, and every socket reads as in
/// error and hung up.
///
/// Locks: `pool` guards the free channels; it is never held across a call. `known` guards
/// the readiness table.
public final class NetstackClient: SocketCalls, @unchecked Sendable {
    private let channels: [Endpoint]
    private var free: [Endpoint]
    private let pool = Monitor()
    private let ring: RingConsumer
    /// Called for every change the Netstack announces.
    public var onChange: (@Sendable () -> Void)?
    /// The latest readiness report of each open socket asked about, and the open sockets.
    private let known = Mutex<ReadinessTable>(ReadinessTable())

    /// Opens `channelCount` channels and the change ring, and sends the Netstack its ends over
    /// `control` (see `NetstackServer.serve`).
    public init(control: borrowing FileDescriptor, channelCount: Int = 4) throws(LinuxErrno) {
        precondition((1...NetstackServer.maximumChannels).contains(channelCount))
        var opened: [Endpoint] = []
        do throws(FlipcallError) {
            for _ in 0..<channelCount {
                let pair = try Endpoint.makeChannel(capacity: SocketRPC.windowCapacity)
                try Self.send(NetstackServer.channelMessage, pair.remote, on: control)
                opened.append(try Endpoint(files: pair.local, side: .client, policy: .socketCalls))
            }
            let ringPair = try Ring.make(slotCount: 256, slotSize: 32)
            try Self.send(NetstackServer.ringMessage, ringPair.remote, on: control)
            ring = try RingConsumer(files: ringPair.local)
        } catch {
            throw .ENOMEM
        }
        channels = opened
        free = opened
    }

    /// Sends the Netstack the memfd and socket of one channel or ring, after a byte that
    /// says which.
    private static func send(_ kind: UInt8, _ files: borrowing ChannelFiles, on control: borrowing FileDescriptor) throws(FlipcallError) {
        var byte = kind
        let fds = [files.memory.rawValue, files.socket.rawValue]
        let sent = withUnsafeBytes(of: &byte) { bytes in Result { () throws(Errno) in try UnixSocket.send(on: control, bytes: bytes, descriptors: fds) } }
        guard case .success = sent else { throw .shutdown }
    }

    deinit {
        for channel in channels { channel.shutdown() }
        ring.shutdown()
    }

    /// Starts the thread that consumes the change ring.
    public func start() throws(Errno) {
        let ring = self.ring
        try HostThread.detach { [weak self] in
            while true {
                var changes: [SocketService.Change] = []
                guard (try? ring.consume({ entry in SocketRPC.decodeChange(entry).map { changes.append($0) } })) != nil else {
                    // The Netstack is gone: every socket is in error from now on.
                    self?.known.withLock { $0.down = true }
                    self?.onChange?()
                    return
                }
                guard let self else { return }
                known.withLock { table in for change in changes { table.record(change.id, change.events, change.stamp, isEvent: true) } }
                onChange?()
            }
        }
    }

    /// Sends `request` on a free channel and returns a reader over the reply's results (after
    /// its errno, which is thrown if not 0).
    private func call(_ request: [UInt8]) throws(LinuxErrno) -> ByteReader {
        try results(
            exchange(
                { window in
                    request.withUnsafeBytes { window.copyMemory(from: $0) }
                    return request.count
                },
                { reply in ByteReader(copying: reply) }))
    }

    /// The results of a reply: after its errno, which is thrown if not 0.
    private func results(_ reply: ByteReader) throws(LinuxErrno) -> ByteReader {
        var reader = reply
        guard let errno = reader.readInteger(as: Int32.self) else { throw .EIO }
        if errno != 0 { throw SocketRPC.errno(errno) }
        return reader
    }

    /// One round trip on a free channel: `fill` writes the request into the window and
    /// returns its length; `decode` reads the reply in place, before the channel is free
    /// again. ENETDOWN when the Netstack is gone.
    private func exchange<Result>(
        _ fill: (UnsafeMutableRawBufferPointer) -> Int, _ decode: (UnsafeRawBufferPointer) throws(LinuxErrno) -> Result
    ) throws(LinuxErrno) -> Result {
        let channel = pool.locked {
            while free.isEmpty { pool.wait() }
            return free.removeLast()
        }
        defer {
            pool.locked {
                free.append(channel)
                pool.broadcast()
            }
        }
        let length: Int
        do throws(FlipcallError) {
            length = try channel.call(length: fill(channel.window))
        } catch {
            known.withLock { $0.down = true }
            throw .ENETDOWN
        }
        return try decode(UnsafeRawBufferPointer(rebasing: channel.window[0..<length]))
    }

    /// Fails with EIO unless the reply was read to its end.
    private func finish(_ reader: ByteReader) throws(LinuxErrno) {
        guard reader.isAtEnd else { throw .EIO }
    }

    // MARK: SocketCalls

    public func socket(_ kind: SocketService.Kind) throws(LinuxErrno) -> Int32 {
        var reader = try call(SocketRPC.request(.socket, 0) { $0.writeInteger(UInt8(kind == .stream ? 0 : 1)) })
        guard let id = reader.readInteger(as: Int32.self) else { throw .EIO }
        try finish(reader)
        known.withLock { _ = $0.open.insert(id) }
        return id
    }

    public func bind(_ id: Int32, to address: SocketService.Address) throws(LinuxErrno) {
        try finish(try call(SocketRPC.request(.bind, id) { SocketRPC.write(address, to: &$0) }))
    }

    public func listen(_ id: Int32, backlog: Int) throws(LinuxErrno) {
        try finish(try call(SocketRPC.request(.listen, id) { $0.writeInteger(Int32(clamping: backlog)) }))
    }

    public func connect(_ id: Int32, to address: SocketService.Address) throws(LinuxErrno) {
        try finish(try call(SocketRPC.request(.connect, id) { SocketRPC.write(address, to: &$0) }))
    }

    public func connectResult(_ id: Int32) throws(LinuxErrno) -> LinuxErrno?? {
        var reader = try call(SocketRPC.request(.connectResult, id))
        guard let done = reader.readInteger(as: UInt8.self), let errno = reader.readInteger(as: Int32.self) else { throw .EIO }
        try finish(reader)
        if done == 0 { return nil }
        return .some(errno == 0 ? nil : SocketRPC.errno(errno))
    }

    public func accept(_ id: Int32) throws(LinuxErrno) -> (Int32, SocketService.Address) {
        var reader = try call(SocketRPC.request(.accept, id))
        guard let new = reader.readInteger(as: Int32.self), let peer = SocketRPC.readAddress(&reader) else { throw .EIO }
        try finish(reader)
        known.withLock { _ = $0.open.insert(new) }
        return (new, peer)
    }

    public func send(_ id: Int32, _ bytes: [UInt8], to destination: SocketService.Address?) throws(LinuxErrno) -> Int {
        let count = min(bytes.count, SocketRPC.maximumData)
        let header = SocketRPC.dataRequest(.send, id, address: destination, count: count)
        var reader = try results(
            exchange(
                { window in
                    header.withUnsafeBytes { window.copyMemory(from: $0) }
                    bytes.withUnsafeBytes { data in
                        UnsafeMutableRawBufferPointer(rebasing: window[header.count...]).copyMemory(from: UnsafeRawBufferPointer(rebasing: data[0..<count]))
                    }
                    return header.count + count
                },
                { reply in ByteReader(copying: reply) }))
        guard let taken = reader.readInteger(as: UInt32.self), Int(taken) <= count, let readiness = SocketRPC.readReadiness(&reader)
        else { throw .EIO }
        try finish(reader)
        known.withLock { $0.record(id, readiness.events, readiness.stamp) }
        return Int(taken)
    }

    public func receive(_ id: Int32, maximum: Int, peek: Bool = false) throws(LinuxErrno) -> (bytes: [UInt8], from: SocketService.Address?) {
        try receive(id, limit: maximum, peek: peek) { data in Array(data) }
    }

    public func receive(_ id: Int32, into buffers: [UnsafeMutableRawBufferPointer]) throws(LinuxErrno) -> (count: Int, from: SocketService.Address?) {
        let (count, from) = try receive(id, limit: buffers.reduce(0) { $0 + $1.count }, peek: false) { data in
            scatter(data, into: buffers)
            return data.count
        }
        return (count, from)
    }

    /// A receive of at most `maximum` bytes, whose data `take` copies out of the window.
    private func receive<Taken>(
        _ id: Int32, limit maximum: Int, peek: Bool, take: (UnsafeRawBufferPointer) -> Taken
    ) throws(LinuxErrno) -> (Taken, from: SocketService.Address?) {
        let limit = min(maximum, SocketRPC.maximumData)
        let request = SocketRPC.dataRequest(.receive, id, address: nil, count: limit, flags: peek ? SocketRPC.peekFlag : 0)
        return try exchange(
            { window in
                request.withUnsafeBytes { window.copyMemory(from: $0) }
                return request.count
            },
            { (reply) throws(LinuxErrno) in
                // The header is read from a copy (the Netstack could change the window while
                // we look); the data is copied out once, after its length was checked.
                var header = ByteReader(copying: UnsafeRawBufferPointer(rebasing: reply.prefix(SocketRPC.dataReplyHeaderSize)))
                guard let errno = header.readInteger(as: Int32.self) else { throw .EIO }
                if errno != 0 {
                    try finish(header)
                    throw SocketRPC.errno(errno)
                }
                guard let hasSource = header.readInteger(as: UInt8.self), hasSource <= 1, let source = SocketRPC.readAddress(&header),
                    let count = header.readInteger(as: UInt32.self), Int(count) <= limit, let readiness = SocketRPC.readReadiness(&header),
                    reply.count == SocketRPC.dataReplyHeaderSize + Int(count)
                else { throw .EIO }
                known.withLock { $0.record(id, readiness.events, readiness.stamp) }
                return (take(UnsafeRawBufferPointer(rebasing: reply[SocketRPC.dataReplyHeaderSize...])), hasSource == 1 ? source : nil)
            })
    }

    public func shutdown(_ id: Int32, read: Bool, write: Bool) throws(LinuxErrno) {
        try finish(
            try call(
                SocketRPC.request(.shutdown, id) {
                    $0.writeInteger(UInt8(read ? 1 : 0))
                    $0.writeInteger(UInt8(write ? 1 : 0))
                }))
    }

    public func close(_ id: Int32) {
        known.withLock { $0.forget(id) }
        _ = try? call(SocketRPC.request(.close, id))
    }

    public func localAddress(_ id: Int32) throws(LinuxErrno) -> SocketService.Address {
        var reader = try call(SocketRPC.request(.localAddress, id))
        guard let address = SocketRPC.readAddress(&reader) else { throw .EIO }
        try finish(reader)
        return address
    }

    public func peerAddress(_ id: Int32) throws(LinuxErrno) -> SocketService.Address {
        var reader = try call(SocketRPC.request(.peerAddress, id))
        guard let address = SocketRPC.readAddress(&reader) else { throw .EIO }
        try finish(reader)
        return address
    }

    /// The latest report of the socket's readiness; a call for the first one. A socket whose
    /// Netstack is gone reads as in error and hung up.
    public func readiness(_ id: Int32) -> PollEvents { stampedReadiness(id).events }

    /// `readiness` with the stamp of its report (the highest for a Netstack gone: no later
    /// event can come).
    public func stampedReadiness(_ id: Int32) -> (events: PollEvents, stamp: UInt64) {
        switch known.withLock({ $0.lookup(id) }) {
        case .down: return ([.error, .hangUp], .max)
        case .known(let events, let stamp): return (events, stamp)
        case .unknown: break
        }
        guard var reader = try? call(SocketRPC.request(.readiness, id)), let readiness = SocketRPC.readReadiness(&reader), reader.isAtEnd
        else { return ([.error, .hangUp], .max) }
        known.withLock { $0.record(id, readiness.events, readiness.stamp) }
        return readiness
    }

    public func eventStamp(_ id: Int32) -> UInt64 {
        known.withLock { $0.eventStamp(id) }
    }

    public func setOption(_ id: Int32, _ option: SocketService.Option, _ value: Bool) throws(LinuxErrno) {
        try finish(
            try call(
                SocketRPC.request(.setOption, id) {
                    $0.writeInteger(option.rawValue)
                    $0.writeInteger(UInt8(value ? 1 : 0))
                }))
    }

    public func tcpInfo(_ id: Int32) throws(LinuxErrno) -> TCPConnection.Info {
        var reader = try call(SocketRPC.request(.tcpInfo, id))
        guard let info = SocketRPC.readInfo(&reader) else { throw .EIO }
        try finish(reader)
        return info
    }

    public func interfaces() throws(LinuxErrno) -> InterfaceListing {
        var reader = try call(SocketRPC.request(.interfaces, 0))
        guard let listing = InterfaceListing(reading: &reader) else { throw .EIO }
        try finish(reader)
        return listing
    }

    public func available(_ id: Int32) -> Int {
        guard var reader = try? call(SocketRPC.request(.available, id)), let count = reader.readInteger(as: UInt32.self) else { return 0 }
        return Int(count)
    }
}

/// The readiness reports the client keeps (`NetstackClient`): for each open socket, the one
/// with the highest stamp.
struct ReadinessTable {
    enum Lookup: Equatable {
        case known(PollEvents, stamp: UInt64)
        case unknown
        case down
    }

    /// Sockets opened and not yet closed: reports of others (closed ones) are dropped.
    var open: Set<Int32> = []
    private var reports: [Int32: (events: PollEvents, stamp: UInt64)] = [:]
    /// The stamp of each socket's latest report from the change ring: its events, where a
    /// call's answer is none.
    private var eventStamps: [Int32: UInt64] = [:]
    /// The Netstack is gone.
    var down = false

    /// Keeps `events` for `id` unless a later report is kept already; `isEvent`: the report
    /// came from the change ring.
    mutating func record(_ id: Int32, _ events: PollEvents, _ stamp: UInt64, isEvent: Bool = false) {
        guard open.contains(id) else { return }
        if isEvent { eventStamps[id] = max(eventStamps[id] ?? 0, stamp) }
        guard stamp > reports[id]?.stamp ?? 0 else { return }
        reports[id] = (events, stamp)
    }

    func eventStamp(_ id: Int32) -> UInt64 { eventStamps[id] ?? 0 }

    func lookup(_ id: Int32) -> Lookup {
        if down { return .down }
        return reports[id].map { .known($0.events, stamp: $0.stamp) } ?? .unknown
    }

    mutating func forget(_ id: Int32) {
        open.remove(id)
        reports[id] = nil
        eventStamps[id] = nil
    }
}

extension WaitPolicy {
    /// The Sentry's side of a socket call: spin about as long as a quick call takes before
    /// sleeping, so that the answer does not cost the Netstack a futex wake and the caller a
    /// cross-CPU wake-up; adaptively, so that calls that take long (a large loopback write
    /// the Netstack carries through its TCP) do not cost a CPU spent spinning. The Netstack's
    /// side sleeps at once: it waits for calls, which may be far apart, and spinning there took
    /// the CPU the program needs.
    static let socketCalls = WaitPolicy(spinIterations: 4000, adaptive: true)
}

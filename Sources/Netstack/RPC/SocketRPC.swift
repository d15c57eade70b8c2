import LinuxABI

/// The socket calls the Sentry makes, whoever serves them: `SocketService` in the same
/// process, or `NetstackClient` over Flipcall to the `runsc netstack` process. Every call is
/// non-blocking (EAGAIN when it would wait); `onChange` announces that a socket's state may
/// have moved, so a waiting caller tries again.
public protocol SocketCalls: AnyObject, Sendable {
    func socket(_ kind: SocketService.Kind) throws(LinuxErrno) -> Int32
    func bind(_ id: Int32, to address: SocketService.Address) throws(LinuxErrno)
    func listen(_ id: Int32, backlog: Int) throws(LinuxErrno)
    /// A stream socket answers EINPROGRESS and `connectResult` tells the outcome.
    func connect(_ id: Int32, to address: SocketService.Address) throws(LinuxErrno)
    /// nil while the handshake runs, then the connect's error (or none), reported once.
    func connectResult(_ id: Int32) throws(LinuxErrno) -> LinuxErrno??
    func accept(_ id: Int32) throws(LinuxErrno) -> (Int32, SocketService.Address)
    func send(_ id: Int32, _ bytes: [UInt8], to destination: SocketService.Address?) throws(LinuxErrno) -> Int
    /// `peek` (MSG_PEEK): the bytes stay, and the next receive gets them again.
    func receive(_ id: Int32, maximum: Int, peek: Bool) throws(LinuxErrno) -> (bytes: [UInt8], from: SocketService.Address?)
    /// `receive` into `buffers` in order (the program's memory, without a copy between):
    /// how many bytes, and where they came from.
    func receive(_ id: Int32, into buffers: [UnsafeMutableRawBufferPointer]) throws(LinuxErrno) -> (count: Int, from: SocketService.Address?)
    func shutdown(_ id: Int32, read: Bool, write: Bool) throws(LinuxErrno)
    func close(_ id: Int32)
    func localAddress(_ id: Int32) throws(LinuxErrno) -> SocketService.Address
    func peerAddress(_ id: Int32) throws(LinuxErrno) -> SocketService.Address
    func readiness(_ id: Int32) -> PollEvents
    /// A count that moves with each change report of the socket (an event: data, room, a
    /// connection, the peer gone), not with a call's own answer.
    func eventStamp(_ id: Int32) -> UInt64
    /// `readiness` with its stamp, in the order of `eventStamp`'s: it reflects every event
    /// stamped up to it.
    func stampedReadiness(_ id: Int32) -> (events: PollEvents, stamp: UInt64)
    func available(_ id: Int32) -> Int
    /// setsockopt(2) of a boolean option the stack has (SO_KEEPALIVE).
    func setOption(_ id: Int32, _ option: SocketService.Option, _ value: Bool) throws(LinuxErrno)
    /// The stack's interfaces and routes (for the Sentry's route netlink sockets).
    func interfaces() throws(LinuxErrno) -> InterfaceListing
    /// getsockopt(TCP_INFO) of a TCP connection.
    func tcpInfo(_ id: Int32) throws(LinuxErrno) -> TCPConnection.Info
}

/// The wire format of `SocketCalls` over a Flipcall channel, little-endian.
///
/// A request is an 8-byte header (operation, three zero bytes, the socket id) and the
/// operation's fields; a reply is an errno (0: success) and, on success, the operation's
/// results. Both sides decode with `ByteReader`, so a short, long or lying message is an
/// error (EINVAL to the Sentry's call, or EIO from a netstack that sent it), never a trap.
enum SocketRPC {
    enum Operation: UInt8 {
        case socket = 1, bind, listen, connect, connectResult, accept, send, receive, shutdown, close
        case localAddress, peerAddress, readiness, available, setOption, tcpInfo, interfaces
    }

    /// The most payload bytes one send or receive carries; larger ones take several calls.
    static let maximumData = SocketService.largestTransfer
    /// The window every channel needs: the largest message and its headers.
    static let windowCapacity = maximumData + 64

    static func request(_ operation: Operation, _ id: Int32, _ fields: (inout ByteWriter) -> Void = { _ in }) -> [UInt8] {
        var writer = ByteWriter(capacity: 32)
        writer.writeInteger(operation.rawValue)
        writer.writeZeros(3)
        writer.writeInteger(id)
        fields(&writer)
        return writer.bytes
    }

    /// A send or receive request: the header, whether an address follows (1) or not (0),
    /// the address (zero when none), a count (the data's length for a send, whose data
    /// follows; the most bytes to receive), and flags (`peekFlag` for a receive; 0 else).
    static let dataRequestSize = 8 + 1 + 6 + 4 + 1
    static let peekFlag: UInt8 = 1
    /// A receive's reply before its data: errno 0, whether a source address follows, the
    /// address, the data's length, and the socket's readiness after the call (events and
    /// stamp, `SocketService.Change`).
    static let dataReplyHeaderSize = 4 + 1 + 6 + 4 + 2 + 8

    static func dataRequest(_ operation: Operation, _ id: Int32, address: SocketService.Address?, count: Int, flags: UInt8 = 0) -> [UInt8] {
        request(operation, id) {
            $0.writeInteger(UInt8(address == nil ? 0 : 1))
            write(address ?? .any, to: &$0)
            $0.writeInteger(UInt32(count))
            $0.writeInteger(flags)
        }
    }

    /// The fields of a send or receive request after its operation.
    static func readDataRequest(_ reader: inout ByteReader) -> (id: Int32, address: SocketService.Address?, count: UInt32, flags: UInt8)? {
        guard reader.readInteger(as: UInt8.self) != nil, reader.readBytes(count: 3) != nil, let id = reader.readInteger(as: Int32.self),
            let hasAddress = reader.readInteger(as: UInt8.self), hasAddress <= 1, let address = readAddress(&reader),
            let count = reader.readInteger(as: UInt32.self), let flags = reader.readInteger(as: UInt8.self), flags & ~peekFlag == 0
        else { return nil }
        return (id, hasAddress == 1 ? address : nil, count, flags)
    }

    static func writeDataReplyHeader(
        _ writer: inout ByteWriter, source: SocketService.Address?, count: Int, readiness: (events: PollEvents, stamp: UInt64)
    ) {
        writer.writeInteger(Int32(0))
        writer.writeInteger(UInt8(source == nil ? 0 : 1))
        write(source ?? .any, to: &writer)
        writer.writeInteger(UInt32(count))
        write(readiness, to: &writer)
    }

    /// A socket's readiness and its stamp (a readiness reply, and the tail of a send's or
    /// receive's).
    static func write(_ readiness: (events: PollEvents, stamp: UInt64), to writer: inout ByteWriter) {
        writer.writeInteger(readiness.events.rawValue)
        writer.writeInteger(readiness.stamp)
    }

    static func readReadiness(_ reader: inout ByteReader) -> (events: PollEvents, stamp: UInt64)? {
        guard let events = reader.readInteger(as: Int16.self), let stamp = reader.readInteger(as: UInt64.self) else { return nil }
        return (PollEvents(rawValue: events), stamp)
    }

    /// One entry of the change ring: a `SocketService.Change` in a 16-byte slot (id, events,
    /// two zero bytes, stamp).
    static let changeEntrySize = 16

    static func encode(_ change: SocketService.Change) -> [UInt8] {
        var writer = ByteWriter(capacity: changeEntrySize)
        writer.writeInteger(change.id)
        writer.writeInteger(change.events.rawValue)
        writer.writeZeros(2)
        writer.writeInteger(change.stamp)
        return writer.bytes
    }

    /// A change-ring entry, or nil if it is not one.
    static func decodeChange(_ bytes: UnsafeRawBufferPointer) -> SocketService.Change? {
        guard bytes.count == changeEntrySize else { return nil }
        var reader = ByteReader(copying: bytes)
        guard let id = reader.readInteger(as: Int32.self), let events = reader.readInteger(as: Int16.self),
            reader.readBytes(count: 2) != nil, let stamp = reader.readInteger(as: UInt64.self)
        else { return nil }
        return SocketService.Change(id: id, events: PollEvents(rawValue: events), stamp: stamp)
    }

    /// TCP_INFO on the wire: the 8-bit fields, then the 32-bit ones, in `Info`'s order.
    static func write(_ info: TCPConnection.Info, to writer: inout ByteWriter) {
        for byte in [info.state, info.retransmits, info.sackEnabled ? 1 : 0, info.windowScaling ? 1 : 0, info.timestamps ? 1 : 0, info.sendShift, info.receiveShift] {
            writer.writeInteger(byte)
        }
        for word in [
            info.rtoMicroseconds, info.sendMSS, info.receiveMSS, info.unacknowledgedSegments, info.rttMicroseconds, info.rttVarianceMicroseconds,
            info.sendSlowStartThreshold, info.congestionWindowSegments, info.advertisedMSS, info.receiveSpace, info.totalRetransmissions,
        ] {
            writer.writeInteger(word)
        }
    }

    static func readInfo(_ reader: inout ByteReader) -> TCPConnection.Info? {
        guard let bytes = reader.readBytes(count: 7), bytes.dropFirst(2).prefix(3).allSatisfy({ $0 <= 1 }) else { return nil }
        var words: [UInt32] = []
        for _ in 0..<11 {
            guard let word = reader.readInteger(as: UInt32.self) else { return nil }
            words.append(word)
        }
        let b = Array(bytes)
        return TCPConnection.Info(
            state: b[0], retransmits: b[1], sackEnabled: b[2] == 1, windowScaling: b[3] == 1, timestamps: b[4] == 1,
            sendShift: b[5], receiveShift: b[6],
            rtoMicroseconds: words[0], sendMSS: words[1], receiveMSS: words[2], unacknowledgedSegments: words[3], rttMicroseconds: words[4],
            rttVarianceMicroseconds: words[5], sendSlowStartThreshold: words[6], congestionWindowSegments: words[7], advertisedMSS: words[8],
            receiveSpace: words[9], totalRetransmissions: words[10])
    }

    static func write(_ address: SocketService.Address, to writer: inout ByteWriter) {
        writer.writeInteger(address.address.rawValue)
        writer.writeInteger(address.port)
    }

    static func readAddress(_ reader: inout ByteReader) -> SocketService.Address? {
        guard let address = reader.readInteger(as: UInt32.self), let port = reader.readInteger(as: UInt16.self) else { return nil }
        return SocketService.Address(IPv4Address(rawValue: address), port)
    }

    static func readBytes(_ reader: inout ByteReader, limit: Int) -> [UInt8]? {
        guard let count = reader.readInteger(as: UInt32.self), Int(count) <= limit, let bytes = reader.readBytes(count: Int(count)) else {
            return nil
        }
        return Array(bytes)
    }

    /// An errno as it travels: one the Sentry knows, or EIO for anything else.
    static func errno(_ raw: Int32) -> LinuxErrno {
        raw > 0 && raw < 4096 ? LinuxErrno(raw) : .EIO
    }
}

/// Copies `data` into `buffers` in order, as far as they reach.
func scatter(_ data: UnsafeRawBufferPointer, into buffers: [UnsafeMutableRawBufferPointer]) {
    var done = 0
    for buffer in buffers where done < data.count {
        let count = min(buffer.count, data.count - done)
        UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]).copyMemory(from: UnsafeRawBufferPointer(rebasing: data[done..<(done + count)]))
        done += count
    }
}

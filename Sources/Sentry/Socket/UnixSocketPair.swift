import HostSys
import LinuxABI

/// A connected pair of AF_UNIX sockets inside the Sentry (socketpair(2), unix(7)): for each
/// direction, the messages one end sent and the other has not read, with the open files
/// they carry (SCM_RIGHTS). A stream reads across message boundaries (but not across one
/// that carries files, as Linux keeps rights with their bytes); datagram and seqpacket
/// sockets read one message at a time, cut to the reader's buffer.
///
/// Locks: `monitor` guards the queues and the end states; readers and writers sleep on it.
final class UnixConnection: @unchecked Sendable {
    enum Kind {
        case stream, datagram, seqpacket
    }

    struct Message {
        var bytes: [UInt8]
        var files: [FileDescription]
    }

    /// Bytes queued per direction before a writer waits (Linux's default socket buffer).
    static let capacity = 212_992
    /// The most files one message carries (SCM_MAX_FD).
    static let maximumFiles = 253
    /// What a datagram or seqpacket message costs beyond its bytes.
    static let messageOverhead = 256

    let kind: Kind
    let monitor = Monitor()
    /// `queues[side]`: what end `side` has to read.
    private var queues: [[Message]] = [[], []]
    private var queued = [0, 0]
    private var open = [true, true]
    /// `writeShutdown[side]`: end `side` sends no more (shutdown(SHUT_WR) or close).
    private var writeShutdown = [false, false]
    private var readShutdown = [false, false]
    /// `events[side]`: the events of end `side` (data or room for it, its peer shut or gone).
    let events = [ReadinessEvents(), ReadinessEvents()]

    /// `names[side]`: the sun_path bytes end `side` goes by (getsockname; the other end's
    /// getpeername). Empty for a socket pair's ends and an unbound connector; an accepted end
    /// goes by its listener's name, as on Linux.
    let names: [[UInt8]]

    init(kind: Kind, names: [[UInt8]] = [[], []]) {
        self.kind = kind
        self.names = names
    }

    func close(_ side: Int) {
        var dropped: [Message] = monitor.locked {
            open[side] = false
            writeShutdown[side] = true
            readShutdown[side] = true
            defer { queues[side] = [] }
            monitor.broadcast()
            return queues[side]
        }
        // Files in unread messages close outside the lock, one at a time (a socket in one of
        // them may hold more files in its own queue: see `DeferredRelease`).
        var files = dropped.flatMap(\.files)
        dropped.removeAll()
        DeferredRelease.release(&files)
        events[1 - side].changed()
    }

    func shutdown(_ side: Int, read: Bool, write: Bool) {
        monitor.locked {
            if read { readShutdown[side] = true }
            if write { writeShutdown[side] = true }
            monitor.broadcast()
        }
        events[side].changed()
        events[1 - side].changed()
    }

    /// Sends `bytes` with `files` from end `side`: waits for room unless `nonBlocking`
    /// (EAGAIN); EPIPE once the other end is closed or shut for reading, or this one for
    /// writing. A stream takes what fits (a partial write); a message is whole or waits.
    func send(from side: Int, _ bytes: [UInt8], files: [FileDescription], nonBlocking: Bool) throws(LinuxErrno) -> Int {
        let peer = 1 - side
        if kind != .stream && bytes.count > Self.capacity { throw .EMSGSIZE }
        // A stream sends nothing for no bytes (files need at least one).
        if kind == .stream && bytes.isEmpty { return 0 }
        // Each message costs a little beyond its bytes, so empty ones cannot queue forever.
        let charge = kind == .stream ? bytes.count : bytes.count + Self.messageOverhead
        let result: Result<Int, LinuxErrno> = monitor.locked {
            while true {
                if writeShutdown[side] || !open[peer] || readShutdown[peer] { return .failure(.EPIPE) }
                let room = Self.capacity - queued[peer]
                let fits = kind == .stream ? room > 0 : room >= charge
                if fits {
                    let taken = kind == .stream ? min(room, bytes.count) : bytes.count
                    queues[peer].append(Message(bytes: Array(bytes.prefix(taken)), files: files))
                    queued[peer] += kind == .stream ? taken : charge
                    monitor.broadcast()
                    return .success(taken)
                }
                if nonBlocking { return .failure(.EAGAIN) }
                if Task.sleep(on: monitor) == .interrupted { return .failure(.ERESTARTSYS) }
            }
        }
        events[peer].changed()
        return try result.get()
    }

    /// Receives up to `count` bytes at end `side`, with the files that came with them: waits
    /// for data unless `nonBlocking` (EAGAIN); no bytes once the writer is gone (end of file).
    /// `truncated` says a message was longer than `count` (its rest is dropped, MSG_TRUNC).
    /// With `peek` (MSG_PEEK) what it returns stays queued, files included (the caller
    /// installs them as new fds, as Linux does for a peek).
    func receive(at side: Int, count: Int, nonBlocking: Bool, peek: Bool = false) throws(LinuxErrno) -> (bytes: [UInt8], files: [FileDescription], truncated: Bool) {
        let peer = 1 - side
        let result: Result<([UInt8], [FileDescription], Bool), LinuxErrno> = monitor.locked {
            while queues[side].isEmpty {
                if writeShutdown[peer] || !open[peer] || readShutdown[side] { return .success(([], [], false)) }
                if nonBlocking { return .failure(.EAGAIN) }
                if Task.sleep(on: monitor) == .interrupted { return .failure(.ERESTARTSYS) }
            }
            if kind != .stream {
                guard let message = queues[side].first else { return .success(([], [], false)) }
                if !peek {
                    queues[side].removeFirst()
                    queued[side] -= message.bytes.count + Self.messageOverhead
                    monitor.broadcast()
                }
                return .success((Array(message.bytes.prefix(count)), message.files, message.bytes.count > count))
            }
            var bytes: [UInt8] = []
            var files: [FileDescription] = []
            var index = 0
            while bytes.count < count, index < queues[side].count {
                var first = queues[side][index]
                // Files stay with the bytes they came with: a read stops before the next
                // message that carries some.
                if !first.files.isEmpty && !bytes.isEmpty { break }
                let take = min(count - bytes.count, first.bytes.count)
                bytes += first.bytes.prefix(take)
                files += first.files
                if peek {
                    index += 1
                } else {
                    first.files = []
                    first.bytes.removeFirst(take)
                    queued[side] -= take
                    if first.bytes.isEmpty { queues[side].removeFirst() } else { queues[side][0] = first }
                }
                if !files.isEmpty { break }
            }
            if !peek { monitor.broadcast() }
            return .success((bytes, files, false))
        }
        events[peer].changed()  // room for the writer
        return try result.get()
    }

    /// poll(2) readiness of end `side`.
    func readiness(of side: Int, _ events: PollEvents) -> PollEvents {
        let peer = 1 - side
        return monitor.locked {
            var ready: PollEvents = []
            if !queues[side].isEmpty || writeShutdown[peer] || readShutdown[side] { ready.insert(.input) }
            if writeShutdown[peer] { ready.insert(.readHangUp) }
            if !writeShutdown[side] && open[peer] && queued[peer] < Self.capacity { ready.insert(.output) }
            if !open[peer] { ready.insert(.hangUp) }
            return ready.intersection(events.union([.hangUp, .error]))
        }
    }

    /// Bytes waiting at end `side` (FIONREAD).
    func available(at side: Int) -> Int { monitor.locked { queued[side] } }
}

/// One end of a `UnixConnection`: what an fd of a socketpair(2) refers to.
final class UnixSocketEnd: FileOperations, @unchecked Sendable {
    let connection: UnixConnection
    let side: Int
    let inode: UInt64

    init(_ connection: UnixConnection, side: Int, inode: UInt64) {
        self.connection = connection
        self.side = side
        self.inode = inode
    }

    deinit { connection.close(side) }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { try read(count: count, at: offset, nonBlocking: false) }

    func read(count: Int, at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> [UInt8] {
        if offset != nil { throw .ESPIPE }
        return try connection.receive(at: side, count: count, nonBlocking: nonBlocking).bytes
    }

    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { try write(bytes, at: offset, nonBlocking: false) }

    /// A blocking write to a stream sends everything, waiting for room as it goes.
    func write(_ bytes: [UInt8], at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> Int {
        if offset != nil { throw .ESPIPE }
        return try send(bytes, files: [], nonBlocking: nonBlocking)
    }

    func send(_ bytes: [UInt8], files: [FileDescription], nonBlocking: Bool) throws(LinuxErrno) -> Int {
        var sent = try connection.send(from: side, bytes, files: files, nonBlocking: nonBlocking)
        while connection.kind == .stream && !nonBlocking && sent < bytes.count {
            do {
                sent += try connection.send(from: side, Array(bytes[sent...]), files: [], nonBlocking: false)
            } catch {
                return sent  // a partial write reports what went
            }
        }
        return sent
    }

    func stat() throws(LinuxErrno) -> LinuxStat { socketStat(inode: inode) }

    func readiness(_ events: PollEvents) -> PollEvents { connection.readiness(of: side, events) }

    var eventStamp: UInt64 { connection.events[side].stamp }

    /// FIONREAD.
    func ioctl(request: UInt64, argument: UInt64, mm: MemoryManager) throws(LinuxErrno) -> Int64 {
        guard request == 0x541b else { throw .ENOTTY }
        try mm.copyOut(withUnsafeBytes(of: UInt32(clamping: connection.available(at: side)).littleEndian) { Array($0) }, to: argument)
        return 0
    }
}

/// Releases file descriptions carried in socket messages iteratively: closing a socket whose
/// queue holds another socket, whose queue holds another... would otherwise release them by
/// nested deinits, one stack frame each, and a long enough chain overflows the stack. The
/// first release on a thread drains a queue; releases that happen during it join the queue.
enum DeferredRelease {
    private final class Queue {
        var pending: [FileDescription] = []
        var draining = false
    }
    private static let queue = ThreadLocal<Queue>()

    /// Takes every reference out of `files` (leaving it empty) and releases them.
    static func release(_ files: inout [FileDescription]) {
        guard !files.isEmpty else { return }
        let local = queue.value ?? Queue()
        queue.value = local
        local.pending += files
        files.removeAll()
        guard !local.draining else { return }  // an outer call is draining: it takes these
        local.draining = true
        while !local.pending.isEmpty {
            // Dropping the popped reference may release a socket, whose close comes back here.
            _ = local.pending.removeLast()
        }
        local.draining = false
    }
}

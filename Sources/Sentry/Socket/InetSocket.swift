import HostSys
import LinuxABI
import Netstack

/// An AF_INET socket of the program: a handle in the sandbox's network stack (the Netstack
/// process through `NetstackClient`, or a `SocketService` in the Sentry), whose calls never
/// wait; this file makes the waiting ones wait (unless
/// O_NONBLOCK) until the stack announces a change, interruptibly, as Linux's socket calls
/// sleep (a signal ends the wait with ERESTARTSYS, so SA_RESTART restarts it).
final class InetSocket: FileOperations, @unchecked Sendable {
    let service: any SocketCalls
    let id: Int32
    let kind: SocketService.Kind
    /// The socket's inode number (what fstat and /proc/PID/fd show as socket:[N]).
    let inode: UInt64
    /// TCP_NODELAY and SO_KEEPALIVE as set, for getsockopt (the stack has the real state).
    var noDelay = false
    var keepalive = false

    init(service: any SocketCalls, id: Int32, kind: SocketService.Kind, inode: UInt64) {
        self.service = service
        self.id = id
        self.kind = kind
        self.inode = inode
    }

    /// The last fd is closed: the stack closes the socket (FIN, or RST with unread data).
    deinit { service.close(id) }

    /// Runs `attempt` until it stops answering EAGAIN, sleeping until the stack changes
    /// between tries, unless `nonBlocking` (then EAGAIN is the answer).
    static func waiting<Result>(nonBlocking: Bool, _ attempt: () throws(LinuxErrno) -> Result) throws(LinuxErrno) -> Result {
        while true {
            let seen = Readiness.current()
            do {
                return try attempt()
            } catch .EAGAIN {
                if nonBlocking { throw .EAGAIN }
            }
            let wake = Readiness.wait(after: seen, until: Clock.monotonicNanoseconds() + 1_000_000_000)
            if wake == .interrupted { throw .ERESTARTSYS }
        }
    }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] {
        try read(count: count, at: offset, nonBlocking: false)
    }

    func read(count: Int, at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> [UInt8] {
        if offset != nil { throw .ESPIPE }
        return try Self.waiting(nonBlocking: nonBlocking) { () throws(LinuxErrno) in try service.receive(id, maximum: count, peek: false).bytes }
    }

    /// A read straight into the program's memory (no copy between the Netstack's answer and
    /// the program) when data waits. One that would wait answers nil instead, and the
    /// caller waits in `read(count:at:nonBlocking:)`: the program's memory must not stay
    /// pinned (its munmaps deferred) while a read waits, maybe for good.
    func read(into buffers: [UnsafeMutableRawBufferPointer], at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> Int? {
        if offset != nil { throw .ESPIPE }
        do {
            return try service.receive(id, into: buffers).count
        } catch .EAGAIN where !nonBlocking {
            return nil
        }
    }

    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int {
        try write(bytes, at: offset, nonBlocking: false)
    }

    /// A blocking write sends everything (waiting for room as it goes), as Linux's does for
    /// a stream; a non-blocking one what fits.
    func write(_ bytes: [UInt8], at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> Int {
        if offset != nil { throw .ESPIPE }
        var sent = 0
        repeat {
            do {
                sent += try Self.waiting(nonBlocking: nonBlocking || sent > 0 && kind == .datagram) { () throws(LinuxErrno) in
                    // One RPC's worth at a time: copying the whole rest each time would be
                    // quadratic in a large write.
                    try service.send(id, Array(bytes[sent..<min(bytes.count, sent + SocketService.largestTransfer)]), to: nil)
                }
            } catch {
                if sent > 0 { return sent }  // a partial write reports what went
                throw error
            }
        } while sent < bytes.count && !nonBlocking && kind == .stream
        return sent
    }

    func stat() throws(LinuxErrno) -> LinuxStat { socketStat(inode: inode) }

    var eventStamp: UInt64 { service.eventStamp(id) }

    /// The readiness the stack reported and its stamp (the Netstack's order of events, in
    /// which `eventStamp`'s are too): a report of an event already in it arriving late does
    /// not count as a new one.
    func stampedReadiness(_ events: PollEvents) -> (events: PollEvents, stamp: UInt64) {
        let readiness = service.stampedReadiness(id)
        return (readiness.events.intersection(events.union([.error, .hangUp])), readiness.stamp)
    }

    func readiness(_ events: PollEvents) -> PollEvents {
        service.readiness(id).intersection(events.union([.error, .hangUp]))
    }

    /// FIONREAD: the bytes waiting to be read.
    func ioctl(request: UInt64, argument: UInt64, mm: MemoryManager) throws(LinuxErrno) -> Int64 {
        guard request == 0x541b else { throw .ENOTTY }
        let count = UInt32(clamping: service.available(id))
        try mm.copyOut(withUnsafeBytes(of: count.littleEndian) { Array($0) }, to: argument)
        return 0
    }
}

import HostSys
import LinuxABI

/// A pipe (pipe(7)) inside the Sentry: a 64 KiB buffer between its read and write ends.
/// Reads block until data arrives or no writer is left (end of file); writes block until
/// there is room, and fail with EPIPE once no reader is left. Writes of up to PIPE_BUF bytes
/// are atomic (they wait for room for all of it).
///
/// Locks: `monitor` guards the buffer and the end counts; each end's lifetime is that of its
/// file description (dup and fork share it), so the counts follow the open descriptions.
final class Pipe: @unchecked Sendable {
    static let capacity = 65536
    static let atomicSize = 4096  // PIPE_BUF

    let monitor = Monitor()
    let inode: UInt64
    private var buffer: [UInt8] = []
    private var readers = 0
    private var writers = 0
    /// Events of the read end (data, the last writer gone) and of the write end (room, the
    /// last reader gone): a write wakes readers, a read wakes writers, as Linux's two queues.
    let readerEvents = ReadinessEvents()
    let writerEvents = ReadinessEvents()

    init(inode: UInt64) {
        self.inode = inode
    }

    /// FIFO open(2): waits until the other end is open too (an interruptible wait:
    /// ERESTARTSYS). With O_NONBLOCK a reader does not wait, and a writer without a reader
    /// is ENXIO.
    func waitForPeer(reader: Bool, nonBlocking: Bool) throws(LinuxErrno) {
        let result: Result<Void, LinuxErrno> = monitor.locked {
            while reader ? writers == 0 : readers == 0 {
                if nonBlocking { return reader ? .success(()) : .failure(.ENXIO) }
                if Task.sleep(on: monitor) == .interrupted { return .failure(.ERESTARTSYS) }
            }
            return .success(())
        }
        try result.get()
    }

    func open(reader: Bool) {
        monitor.locked {
            monitor.broadcast()  // a FIFO end waiting for this one
            if reader { readers += 1 } else { writers += 1 }
        }
    }

    func close(reader: Bool) {
        monitor.locked {
            if reader { readers -= 1 } else { writers -= 1 }
            monitor.broadcast()
        }
        if reader { writerEvents.changed() } else { readerEvents.changed() }
    }

    /// Takes up to `count` bytes, sleeping while the pipe is empty and has writers; an empty
    /// result is end of file. A signal interrupts the sleep (ERESTARTSYS).
    func read(count: Int, nonBlocking: Bool = false) throws(LinuxErrno) -> [UInt8] {
        let result: Result<[UInt8], LinuxErrno> = monitor.locked {
            guard count > 0 else { return .success([]) }
            while buffer.isEmpty && writers > 0 {
                if nonBlocking { return .failure(.EAGAIN) }
                if Task.sleep(on: monitor) == .interrupted { return .failure(.ERESTARTSYS) }
            }
            let taken = Array(buffer.prefix(count))
            buffer.removeFirst(taken.count)
            monitor.broadcast()
            return .success(taken)
        }
        writerEvents.changed()
        return try result.get()
    }

    func write(_ bytes: [UInt8], nonBlocking: Bool = false) throws(LinuxErrno) -> Int {
        let result: Result<Int, LinuxErrno> = monitor.locked {
            var written = 0
            while written < bytes.count {
                let needed = bytes.count - written <= Self.atomicSize ? bytes.count - written : 1
                while readers > 0 && Self.capacity - buffer.count < needed {
                    if nonBlocking { return written > 0 ? .success(written) : .failure(.EAGAIN) }
                    // A signal ends the call: with what was written, else to be restarted.
                    if Task.sleep(on: monitor) == .interrupted { return written > 0 ? .success(written) : .failure(.ERESTARTSYS) }
                }
                guard readers > 0 else { return written > 0 ? .success(written) : .failure(.EPIPE) }
                let chunk = min(bytes.count - written, Self.capacity - buffer.count)
                buffer += bytes[written..<(written + chunk)]
                written += chunk
                monitor.broadcast()
                readerEvents.changed()  // a poller may wait for this chunk while the rest waits for room
            }
            return .success(written)
        }
        readerEvents.changed()
        return try result.get()
    }

    func readiness(reader: Bool, _ events: PollEvents) -> PollEvents {
        monitor.locked {
            var ready: PollEvents = []
            if reader {
                if !buffer.isEmpty { ready.insert(.input) }
                if writers == 0 { ready.insert(.hangUp) }
            } else {
                if buffer.count < Self.capacity { ready.insert(.output) }
                if readers == 0 { ready.insert(.error) }
            }
            return ready.intersection(events.union([.hangUp, .error]))
        }
    }
}

/// An open FIFO: its read end, its write end, or both (O_RDWR, which never waits, as on Linux).
enum FifoEnd {
    static func open(_ pipe: Pipe, flags: OpenFlags) throws(LinuxErrno) -> any FileOperations {
        let nonBlocking = flags.contains(.nonBlocking)
        switch flags.rawValue & OpenFlags.accessModeMask {
        case OpenFlags.readOnly.rawValue:
            let end = PipeEnd(pipe, reader: true)
            try pipe.waitForPeer(reader: true, nonBlocking: nonBlocking)
            return end
        case OpenFlags.writeOnly.rawValue:
            // Without a reader a non-blocking open fails before it counts as a writer.
            let end = PipeEnd(pipe, reader: false)
            try pipe.waitForPeer(reader: false, nonBlocking: nonBlocking)
            return end
        default:
            return BothEnds(reader: PipeEnd(pipe, reader: true), writer: PipeEnd(pipe, reader: false))
        }
    }

    /// A FIFO opened for reading and writing.
    final class BothEnds: FileOperations {
        let reader: PipeEnd
        let writer: PipeEnd

        init(reader: PipeEnd, writer: PipeEnd) {
            self.reader = reader
            self.writer = writer
        }

        func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] { try reader.read(count: count, at: offset) }
        func read(count: Int, at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> [UInt8] {
            try reader.read(count: count, at: offset, nonBlocking: nonBlocking)
        }
        func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { try writer.write(bytes, at: offset) }
        func write(_ bytes: [UInt8], at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> Int {
            try writer.write(bytes, at: offset, nonBlocking: nonBlocking)
        }
        func stat() throws(LinuxErrno) -> LinuxStat { try reader.stat() }
        func readiness(_ events: PollEvents) -> PollEvents { reader.readiness(events).union(writer.readiness(events)) }
        var eventStamp: UInt64 { reader.eventStamp &+ writer.eventStamp }
    }
}

/// One end of a pipe as an open file.
final class PipeEnd: FileOperations {
    let pipe: Pipe
    let isReader: Bool

    init(_ pipe: Pipe, reader: Bool) {
        self.pipe = pipe
        self.isReader = reader
        pipe.open(reader: reader)
    }

    deinit { pipe.close(reader: isReader) }

    func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] {
        try read(count: count, at: offset, nonBlocking: false)
    }

    func read(count: Int, at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> [UInt8] {
        guard isReader else { throw .EBADF }
        if offset != nil { throw .ESPIPE }
        return try pipe.read(count: count, nonBlocking: nonBlocking)
    }

    func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int {
        try write(bytes, at: offset, nonBlocking: false)
    }

    func write(_ bytes: [UInt8], at offset: Int64?, nonBlocking: Bool) throws(LinuxErrno) -> Int {
        guard !isReader else { throw .EBADF }
        if offset != nil { throw .ESPIPE }
        return try pipe.write(bytes, nonBlocking: nonBlocking)
    }

    func stat() throws(LinuxErrno) -> LinuxStat { fifoStat(inode: pipe.inode) }

    func readiness(_ events: PollEvents) -> PollEvents { pipe.readiness(reader: isReader, events) }

    var eventStamp: UInt64 { (isReader ? pipe.readerEvents : pipe.writerEvents).stamp }
}

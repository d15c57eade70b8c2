import ArgumentParser
import Flipcall
import Glibc
import HostSys
import LinuxABI

/// flipcall-bench: Flipcall against a pipe and a unix socket, across two real processes.
@main
struct FlipcallBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flipcall-bench",
        abstract: "Measure Flipcall round trips and ring throughput beside a pipe and a unix socket.",
        subcommands: [Run.self, Peer.self, RingPeer.self],
        defaultSubcommand: Run.self)
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the benchmark and print the table (the default).")

    @Option(help: "Payload sizes in bytes, comma-separated.")
    var sizes: String = "0,64,4096,65536,1048576"

    @Option(help: "Milliseconds measured per transport and size (after a warm-up of a tenth of it).")
    var milliseconds: Int = 400

    @Option(help: "CPU for this (client) process.")
    var clientCPU: Int = 0

    @Option(help: "CPU for the peer (server) process.")
    var serverCPU: Int = 1

    @Flag(help: "Leave both processes to the scheduler instead of pinning them.")
    var noPin = false

    @Option(help: "Messages sent one way in the ring test.")
    var ringMessages: Int = 2_000_000

    func validate() throws {
        guard parsedSizes != nil else { throw ValidationError("--sizes must be comma-separated byte counts from 0 to 1 GiB") }
        guard milliseconds > 0 else { throw ValidationError("--milliseconds must be positive") }
        guard ringMessages > 0 else { throw ValidationError("--ring-messages must be positive") }
        guard clientCPU >= 0, serverCPU >= 0 else { throw ValidationError("CPU numbers start at 0") }
    }

    var parsedSizes: [Int]? {
        let fields = self.sizes.split(separator: ",")
        let sizes = fields.compactMap { Int($0) }.filter { (0...(1 << 30)).contains($0) }
        return !sizes.isEmpty && sizes.count == fields.count ? sizes : nil
    }

    func run() throws {
        let cpus = try CPU.allowedCount()
        let clientCPU = !noPin && clientCPU < cpus ? clientCPU : nil
        let serverCPU = !noPin && serverCPU < cpus ? serverCPU : nil
        if let clientCPU { try CPU.pinCurrentThread(to: clientCPU) }
        print("flipcall-bench: client on CPU \(clientCPU.map(String.init) ?? "any"), server on CPU \(serverCPU.map(String.init) ?? "any"), \(milliseconds) ms per row")

        var report = Report()
        let duration = UInt64(milliseconds) * 1_000_000
        for size in parsedSizes ?? [] {
            let copy = memcpyBandwidth(size: size, nanoseconds: duration / 2)
            report.memcpy[size] = copy
            for transport in Transport.allCases {
                let result = try measureRoundTrips(transport: transport, size: size, duration: duration, serverCPU: serverCPU)
                report.rows.append(result)
            }
        }
        let oneWay = try [true, false].map { ring in
            try measureOneWay(ring: ring, count: ring ? ringMessages : ringMessages / 4, size: 64, serverCPU: serverCPU)
        }
        report.oneWay = oneWay
        report.print()
    }

    /// Starts the peer for `transport`/`size`, warms up, and measures round trips for `duration`.
    func measureRoundTrips(transport: Transport, size: Int, duration: UInt64, serverCPU: Int?) throws -> Row {
        let arguments = ["flipcall-bench", "peer", transport.rawValue, String(size), String(serverCPU ?? -1)]
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 64)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0x5a, count: max(size, 1))

        switch transport {
        case .flipcallFutex, .flipcallSpin:
            let pair = try Endpoint.makeChannel(capacity: max(size, 64))
            var peer = try ChildProcess.spawn(
                path: "/proc/self/exe", arguments: arguments,
                descriptors: [(pair.remote.memory.rawValue, PeerFD.first), (pair.remote.socket.rawValue, PeerFD.second)],
                options: .dieWithParent)
            _ = consume pair.remote
            let client = try Endpoint(files: pair.local, side: .client, policy: transport.policy)
            let payload = UnsafeRawBufferPointer(start: buffer, count: size)
            let roundTrip = {
                try client.write(payload)
                _ = try client.call(length: size)
            }
            let result = try measure(duration: duration, roundTrip)
            client.shutdown()
            _ = try peer.wait()
            return Row(transport: transport, size: size, roundTrips: result.count, nanoseconds: result.elapsed)
        case .pipe, .socket:
            let (requestParent, requestChild, replyParent, replyChild): (Int32, Int32, Int32, Int32)
            var fds: [Int32] = [-1, -1, -1, -1]
            if transport == .pipe {
                let requests = try FileDescriptor.pipe()
                let replies = try FileDescriptor.pipe()
                (requestChild, requestParent, replyParent, replyChild) =
                    (requests.first.release(), requests.second.release(), replies.first.release(), replies.second.release())
                fds = [requestParent, requestChild, replyParent, replyChild]
            } else {
                let sockets = try UnixSocket.pair()
                let (mine, theirs) = (sockets.first.release(), sockets.second.release())
                (requestParent, replyParent, requestChild, replyChild) = (mine, mine, theirs, theirs)
                fds = [mine, theirs]
            }
            defer { for fd in fds { Glibc.close(fd) } }
            var peer = try ChildProcess.spawn(
                path: "/proc/self/exe", arguments: arguments,
                descriptors: [(requestChild, PeerFD.first), (replyChild, PeerFD.second)], options: .dieWithParent)
            var ack: UInt8 = 0
            let roundTrip = {
                try writeAll(requestParent, buffer, max(size, 1))
                guard try readAll(replyParent, &ack, 1) else { throw Errno.EPIPE }
            }
            let result = try measure(duration: duration, roundTrip)
            shutdown(requestParent, Int32(SHUT_WR))
            if transport == .pipe { Glibc.close(requestParent); fds.removeAll { $0 == requestParent } }
            _ = try peer.wait()
            return Row(transport: transport, size: size, roundTrips: result.count, nanoseconds: result.elapsed)
        }
    }

    /// Warms up for a tenth of `duration`, then times `roundTrip` for `duration`.
    func measure(duration: UInt64, _ roundTrip: () throws -> Void) throws -> (count: Int, elapsed: UInt64) {
        _ = try timed(nanoseconds: duration / 10, batch: 1, roundTrip)
        return try timed(nanoseconds: duration, minimumRounds: 20, batch: 1, roundTrip)
    }

    /// Sends `count` messages of `size` bytes one way: through a ring (batched: the producer
    /// publishes when the ring is full or every 64 messages) or through a pipe (a write each).
    func measureOneWay(ring: Bool, count: Int, size: Int, serverCPU: Int?) throws -> OneWay {
        let done = try FileDescriptor.pipe()
        let arguments = ["flipcall-bench", "ring-peer", ring ? "ring" : "pipe", String(count), String(size), String(serverCPU ?? -1)]
        let message = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { message.deallocate() }
        message.initializeMemory(as: UInt8.self, repeating: 7)
        var elapsed: UInt64 = 0
        var marker: UInt8 = 0
        if ring {
            let pair = try Ring.make(slotCount: 1024, slotSize: (size + 8 + 7) & ~7)
            var peer = try ChildProcess.spawn(
                path: "/proc/self/exe", arguments: arguments,
                descriptors: [
                    (pair.remote.memory.rawValue, PeerFD.first), (pair.remote.socket.rawValue, PeerFD.second),
                    (done.second.rawValue, PeerFD.done),
                ], options: .dieWithParent)
            _ = consume pair.remote
            let producer = try RingProducer(files: pair.local, policy: WaitPolicy(spinIterations: 2000))
            let start = now()
            let bytes = UnsafeRawBufferPointer(message)
            for index in 0..<count {
                if try !producer.write(bytes) { try producer.push(bytes) }
                if index % 64 == 63 { try producer.publish() }
            }
            try producer.publish()
            _ = try withUnsafeMutableBytes(of: &marker) { try done.first.readExactly(into: $0) }
            elapsed = now() - start
            _ = try peer.wait()
        } else {
            let pipe = try FileDescriptor.pipe()
            var peer = try ChildProcess.spawn(
                path: "/proc/self/exe", arguments: arguments,
                descriptors: [(pipe.first.rawValue, PeerFD.first), (done.second.rawValue, PeerFD.done)],
                options: .dieWithParent)
            let start = now()
            let bytes = UnsafeRawBufferPointer(message)
            for _ in 0..<count { try pipe.second.writeAll(bytes) }
            _ = try withUnsafeMutableBytes(of: &marker) { try done.first.readExactly(into: $0) }
            elapsed = now() - start
            _ = try peer.wait()
        }
        return OneWay(name: ring ? "flipcall-ring" : "pipe", count: count, size: size, nanoseconds: elapsed)
    }
}

/// The peer of a round-trip row (started by `run`, not by hand).
struct Peer: ParsableCommand {
    static let configuration = CommandConfiguration(shouldDisplay: false)

    @Argument var transport: String
    @Argument var size: Int
    @Argument var cpu: Int

    func run() throws {
        guard let transport = Transport(rawValue: transport) else { throw ValidationError("unknown transport") }
        try servePeer(transport: transport, size: size, cpu: cpu >= 0 ? cpu : nil)
    }
}

/// The peer of a one-way row.
struct RingPeer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ring-peer", shouldDisplay: false)

    @Argument var kind: String
    @Argument var count: Int
    @Argument var size: Int
    @Argument var cpu: Int

    func run() throws {
        try consumePeer(ring: kind == "ring", count: count, size: size, cpu: cpu >= 0 ? cpu : nil)
    }
}

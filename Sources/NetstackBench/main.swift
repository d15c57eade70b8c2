import ArgumentParser
import HostSys
import Netstack

/// `netstack-bench`: a TCP transfer between two stacks over the in-memory Ethernet link, with
/// random loss, checked byte for byte (a checksum of what arrived against what was sent),
/// timed on the host's clock; the stacks' own clock is simulated, so loss recovery waits no
/// real time. It measures the stack's processing cost per byte and shows the transfer survives.
@main
struct NetstackBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netstack-bench", abstract: "Transfer data over TCP between two in-memory stacks, with loss, and check it.")

    @Option(help: "Megabytes to send.")
    var megabytes = 100

    @Option(help: "Frames lost, in percent (both directions).")
    var loss = 1.0

    @Option(help: "Seed of the loss pattern.")
    var seed: UInt64 = 1

    func validate() throws {
        guard megabytes > 0, megabytes <= 4096 else { throw ValidationError("--megabytes must be 1 to 4096") }
        guard loss >= 0, loss < 50 else { throw ValidationError("--loss must be below 50 percent") }
    }

    func run() throws {
        let clock = ManualClock()
        let (linkA, linkB) = ChannelLink.pair()
        let a = Stack(clock: clock)
        let b = Stack(clock: clock)
        a.addInterface(linkA, subnets: [IPv4Subnet(IPv4Address(198, 18, 0, 1), prefixLength: 24)])
        b.addInterface(linkB, subnets: [IPv4Subnet(IPv4Address(198, 18, 0, 2), prefixLength: 24)])
        var random = XorShift(state: seed | 1)
        let threshold = UInt64(loss * 100)
        let lose: ([UInt8]) -> [[UInt8]] = { frame in random.next() % 10_000 < threshold ? [] : [frame] }
        linkA.impairment = lose
        linkB.impairment = lose

        let listener = try b.listenTCP(port: 5001)
        let client = try a.connectTCP(to: IPv4Address(198, 18, 0, 2), port: 5001)
        func pump() {
            while true {
                let toB = linkB.takeInbox()
                let toA = linkA.takeInbox()
                if toB.isEmpty && toA.isEmpty { return }
                if !toB.isEmpty { b.receive(toB, on: 0) }
                if !toA.isEmpty { a.receive(toA, on: 0) }
            }
        }
        func tick() {
            clock.advance(by: 1_000_000)
            a.runTimers()
            b.runTimers()
            pump()
        }
        var server: TCPConnection?
        for _ in 0..<60_000 where server == nil {
            tick()
            server = listener.accept()
        }
        guard let server else { throw ValidationError("the handshake did not complete") }

        let total = megabytes << 20
        var pattern = XorShift(state: seed &* 0x9e37_79b9_7f4a_7c15 | 1)
        let block = (0..<(1 << 20)).map { _ in UInt8(truncatingIfNeeded: pattern.next()) }
        var sent = 0
        var received = 0
        var sentSum = Fletcher()
        var receivedSum = Fletcher()
        let start = Clock.monotonicNanoseconds()
        let simulatedStart = clock.now
        while received < total {
            if sent < total {
                let offset = sent % block.count
                let chunk = block[offset..<min(block.count, offset + total - sent)]
                let taken = try client.write(chunk)
                sentSum.add(chunk.prefix(taken))
                sent += taken
            }
            pump()
            while true {
                let bytes = try server.read(maximum: 1 << 20)
                if bytes.isEmpty { break }
                receivedSum.add(bytes[...])
                received += bytes.count
            }
            if sent == total || !client.isWritable { tick() }
        }
        let seconds = Double(Clock.monotonicNanoseconds() - start) / 1e9
        let simulated = Double(clock.now - simulatedStart) / 1e9
        let intact = sentSum == receivedSum && received == total
        print("transferred \(megabytes) MB with \(loss)% loss each way: \(intact ? "intact" : "CORRUPTED") (checksum \(String(receivedSum.value, radix: 16)))")
        let rate = Int(Double(megabytes) / seconds)
        let hundredths = Int(seconds * 100)
        let shown = "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
        print("host time \(shown) s (\(rate) MB/s of stack processing, both stacks on one thread); simulated time \(Int(simulated)) s")
        print("frames: \(linkA.transmitted) sent by the client, \(linkB.transmitted) by the server")
        if !intact { throw ExitCode(1) }
    }
}

/// xorshift64: a fast, repeatable pseudo-random sequence.
struct XorShift {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

/// Fletcher-64 over the byte stream (order-sensitive, so a reordered or corrupted byte shows).
struct Fletcher: Equatable {
    var low: UInt64 = 0
    var high: UInt64 = 0
    mutating func add(_ bytes: ArraySlice<UInt8>) {
        for byte in bytes {
            low = (low &+ UInt64(byte)) % 0xffff_ffff
            high = (high &+ low) % 0xffff_ffff
        }
    }
    var value: UInt64 { high << 32 | low }
}

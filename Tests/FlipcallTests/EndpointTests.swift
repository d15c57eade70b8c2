import Flipcall
import Glibc
import HostSys
import LinuxABI
import TestSupport
import Testing

/// Starts sandbox-test-helper in `mode` as the server of a new channel (its files inherited at
/// fds 3 and 4) and returns the client endpoint and the helper.
func startServer(
    _ mode: String, _ arguments: [String] = [], capacity: Int = 64 * 1024, policy: WaitPolicy = .futex
) throws -> (Endpoint, RunningHelper) {
    let pair = try Endpoint.makeChannel(capacity: capacity)
    let helper = try Helper.start(
        mode, arguments,
        descriptors: [(pair.remote.memory.rawValue, 3), (pair.remote.socket.rawValue, 4)])
    // The child has its copies; ours must go, or the server's death would not hang up.
    _ = consume pair.remote
    return (try Endpoint(files: pair.local, side: .client, policy: policy), helper)
}

/// One checked round trip of `length` bytes with the echo server.
func roundTrip(_ client: Endpoint, sequence: Int, length: Int) throws {
    for index in 0..<length { client.window[index] = patternByte(sequence: sequence, index: index) }
    let reply = try client.call(length: length)
    #expect(reply == length)
    for index in 0..<reply where client.window[index] != ~patternByte(sequence: sequence, index: index) {
        Issue.record("round trip \(sequence): reply byte \(index) is wrong")
        return
    }
}

func patternByte(sequence: Int, index: Int) -> UInt8 {
    UInt8(truncatingIfNeeded: index &* 131 &+ sequence &* 7 &+ 1)
}

@Suite("Flipcall endpoints across two processes")
struct EndpointTests {
    @Test("many round trips with checked payloads, futex and spin waiting")
    func manyRoundTrips() throws {
        for (policy, spin) in [(WaitPolicy.futex, "0"), (WaitPolicy.spin, "20000")] {
            let (client, helper) = try startServer("echo-server", [spin], policy: policy)
            for sequence in 0..<3000 {
                try roundTrip(client, sequence: sequence, length: (sequence &* 37) % 3000)
            }
            client.shutdown()
            #expect(try helper.readAll().contains("ended shutdown"))
            #expect(try helper.wait() == .exited(0))
        }
    }

    @Test("every payload size from 0 to the window, and a full 1 MiB window")
    func everySize() throws {
        let (client, helper) = try startServer("echo-server", capacity: 4096)
        #expect(client.capacity == 4096)
        for length in 0...4096 { try roundTrip(client, sequence: length, length: length) }
        #expect(throws: FlipcallError.messageTooLarge(4097)) { try client.call(length: 4097) }
        client.shutdown()
        #expect(try helper.wait() == .exited(0))

        let (big, bigHelper) = try startServer("echo-server", capacity: 1 << 20)
        for sequence in 0..<4 { try roundTrip(big, sequence: sequence, length: 1 << 20) }
        big.shutdown()
        #expect(try bigHelper.wait() == .exited(0))
    }

    @Test("the channel files can also reach the peer by SCM_RIGHTS")
    func filesBySCMRights() throws {
        let pair = try Endpoint.makeChannel(capacity: 4096)
        let carrier = try UnixSocket.pair()
        let helper = try Helper.start("echo-server-received", descriptors: [(carrier.second.rawValue, 3)])
        var byte: UInt8 = 1
        _ = try withUnsafeBytes(of: &byte) {
            try UnixSocket.send(
                on: carrier.first, bytes: $0, descriptors: [pair.remote.memory.rawValue, pair.remote.socket.rawValue])
        }
        _ = consume pair.remote
        let client = try Endpoint(files: pair.local, side: .client)
        for sequence in 0..<100 { try roundTrip(client, sequence: sequence, length: sequence * 10) }
        client.shutdown()
        #expect(try helper.wait() == .exited(0))
    }

    @Test("a length larger than the window from the peer is an error, not a read out of bounds")
    func lyingLength() throws {
        let capacity = 4096
        let memorySize = 8192
        let (client, helper) = try startServer("lying-server", [String(memorySize)], capacity: capacity)
        #expect(throws: FlipcallError.badLength(UInt32.max)) { try client.call(length: 10) }
        #expect(try helper.wait() == .exited(0))
    }

    @Test("the server shuts down while the client waits for its reply")
    func serverShutsDown() throws {
        let (client, helper) = try startServer("shutdown-after-receive")
        #expect(throws: FlipcallError.shutdown) { try client.call(length: 1) }
        #expect(try helper.wait() == .exited(0))
        #expect(throws: FlipcallError.shutdown) { try client.call(length: 1) }
    }

    @Test("the client shuts down while the server waits for a request")
    func clientShutsDown() throws {
        let (client, helper) = try startServer("wait-for-shutdown")
        #expect(try helper.readLine() == "waiting")
        usleep(50_000)  // let it reach the futex
        client.shutdown()
        #expect(try helper.readLine() == "ended shutdown")
        #expect(try helper.wait() == .exited(0))
    }

    @Test("a server killed with SIGKILL fails the waiting call within a second")
    func peerKilled() throws {
        let (client, helper) = try startServer("reply-once-then-hang")
        #expect(try client.call(length: 8) == 8)  // the server is up and answering
        let killer = try DelayedKill(pid: helper.pid, afterMilliseconds: 200)
        #expect(throws: FlipcallError.peerGone) { try client.call(length: 8) }
        let noticed = killer.secondsSinceKill
        #expect(noticed < 1.0, "noticed \(noticed) s after the kill")
        #expect(try helper.wait() == .signaled(.SIGKILL))
        // The failure shut the endpoint down: a retry fails cleanly instead of waiting again.
        #expect(client.isShutdown)
        #expect(throws: FlipcallError.shutdown) { try client.call(length: 8) }
    }

    @Test("memory that is not a sealed endpoint is refused")
    func badMemory() throws {
        #expect(throws: FlipcallError.badMemory("memfd is not sealed against shrinking")) {
            let unsealed = try MemoryFile.create(name: "plain", size: 8192)
            let sockets = try UnixSocket.pair()
            _ = try Endpoint(files: ChannelFiles(memory: unsealed, socket: sockets.first), side: .server)
        }
        #expect(throws: FlipcallError.badMemory("not a flipcall endpoint (magic or version)")) {
            let ring = try Ring.make(slotCount: 4, slotSize: 64)
            _ = try Endpoint(files: ring.local, side: .server)
        }
        #expect(throws: FlipcallError.badMemory("not a memfd")) {
            let pipe = try FileDescriptor.pipe()
            let other = try UnixSocket.pair()
            _ = try Endpoint(files: ChannelFiles(memory: pipe.first, socket: other.first), side: .server)
        }
    }
}

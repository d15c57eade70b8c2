import Dispatch
import Flipcall
import Glibc
import HostSys
import TestSupport
import Testing

/// Message `sequence` of the ring tests: the sequence number, then pattern bytes.
func fillMessage(_ buffer: UnsafeMutableRawBufferPointer, sequence: Int) -> UnsafeRawBufferPointer {
    let length = 8 + sequence % (buffer.count - 7)
    buffer.storeBytes(of: UInt64(sequence), as: UInt64.self)
    for index in 8..<length { buffer[index] = patternByte(sequence: sequence, index: index) }
    return UnsafeRawBufferPointer(rebasing: buffer[0..<length])
}

/// Opens `local` as a producer and starts the helper consuming `count` messages from `remote`.
func startConsumer(slotCount: Int, slotSize: Int, count: Int, batch: Int? = nil) throws -> (RingProducer, RunningHelper) {
    let pair = try Ring.make(slotCount: slotCount, slotSize: slotSize)
    let helper = try Helper.start(
        "ring-consume", [String(count)] + (batch.map { [String($0)] } ?? []),
        descriptors: [(pair.remote.memory.rawValue, 3), (pair.remote.socket.rawValue, 4)])
    _ = consume pair.remote
    return (try RingProducer(files: pair.local), helper)
}

@Suite("Flipcall rings across two processes")
struct RingTests {
    @Test("messages wrap around a small ring many times, one by one and in batches")
    func wrapAround() throws {
        let count = 20_000
        let (producer, helper) = try startConsumer(slotCount: 8, slotSize: 64, count: count)
        #expect(producer.maximumMessageSize == 56)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 56, alignment: 8)
        defer { buffer.deallocate() }
        var sequence = 0
        while sequence < count {
            if sequence % 3 == 0 {
                try producer.push(fillMessage(buffer, sequence: sequence))
                sequence += 1
            } else {
                // A batch: stage what fits, publish once.
                while sequence < count, try producer.write(fillMessage(buffer, sequence: sequence)) { sequence += 1 }
                try producer.publish()
                if sequence < count {
                    try producer.push(fillMessage(buffer, sequence: sequence))
                    sequence += 1
                }
            }
        }
        #expect(try helper.readAll().hasPrefix("consumed \(count) in "))
        #expect(try helper.wait() == .exited(0))
    }

    @Test("a full ring refuses writes, then push waits until the consumer frees slots")
    func fullRing() throws {
        let pair = try Ring.make(slotCount: 4, slotSize: 32)
        let producer = try RingProducer(files: pair.local)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 24, alignment: 8)
        defer { buffer.deallocate() }
        for sequence in 0..<4 { #expect(try producer.write(fillMessage(buffer, sequence: sequence))) }
        #expect(try producer.write(fillMessage(buffer, sequence: 4)) == false)
        try producer.publish()

        let count = 1000
        let helper = try Helper.start(
            "ring-consume", [String(count), "1"],
            descriptors: [(pair.remote.memory.rawValue, 3), (pair.remote.socket.rawValue, 4)])
        _ = consume pair.remote
        for sequence in 4..<count { try producer.push(fillMessage(buffer, sequence: sequence)) }
        let output = try helper.readAll()
        #expect(output.hasPrefix("consumed \(count) in \(count) batches"))
        #expect(try helper.wait() == .exited(0))
    }

    @Test("messages published before a shutdown are still delivered, then shutdown is reported")
    func drainAfterShutdown() throws {
        let pair = try Ring.make(slotCount: 8, slotSize: 64)
        let consumer = try RingConsumer(files: pair.local)
        let producer = try RingProducer(files: pair.remote)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 56, alignment: 8)
        defer { buffer.deallocate() }
        for sequence in 0..<5 { try producer.push(fillMessage(buffer, sequence: sequence)) }
        producer.shutdown()
        #expect(throws: FlipcallError.shutdown) { try producer.push(fillMessage(buffer, sequence: 5)) }
        var received: [UInt64] = []
        let count = try consumer.consume { received.append($0.loadUnaligned(as: UInt64.self)) }
        #expect(count == 5 && received == [0, 1, 2, 3, 4])
        #expect(throws: FlipcallError.shutdown) { try consumer.consume { _ in } }
        #expect(throws: FlipcallError.shutdown) { try consumer.tryConsume { _ in } }
    }

    @Test("a slot length larger than the slot from the producer is an error")
    func lyingLength() throws {
        let pair = try Ring.make(slotCount: 4, slotSize: 64)
        let helper = try Helper.start(
            "ring-lying-producer", ["4096"],
            descriptors: [(pair.remote.memory.rawValue, 3), (pair.remote.socket.rawValue, 4)])
        _ = consume pair.remote
        let consumer = try RingConsumer(files: pair.local)
        #expect(try helper.wait() == .exited(0))
        #expect(throws: FlipcallError.badLength(UInt32.max)) { try consumer.consume { _ in } }
    }

    @Test("shutdown wakes a consumer that sleeps on an empty ring; a dead producer is noticed")
    func shutdownAndDeath() throws {
        let pair = try Ring.make(slotCount: 4, slotSize: 64)
        let consumer = try RingConsumer(files: pair.local)
        let producer = try RingProducer(files: pair.remote)
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(100)) { producer.shutdown() }
        #expect(throws: FlipcallError.shutdown) { try consumer.consume { _ in } }

        // The helper consumes from a ring whose producer (this process) closes its socket.
        let second = try Ring.make(slotCount: 4, slotSize: 64)
        let helper = try Helper.start(
            "ring-consume", ["10"],
            descriptors: [(second.remote.memory.rawValue, 3), (second.remote.socket.rawValue, 4)])
        _ = consume second.remote
        _ = consume second.local
        #expect(try helper.readAll().contains("FAIL peerGone"))
        #expect(try helper.wait() == .exited(1))
    }
}

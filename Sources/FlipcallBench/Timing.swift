import Glibc

/// Monotonic time in nanoseconds (CLOCK_MONOTONIC).
func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Runs `body` in rounds until `nanoseconds` have passed (at least `minimumRounds` rounds) and
/// returns (round count, elapsed ns). `body` does `batch` operations per call.
func timed(nanoseconds: UInt64, minimumRounds: Int = 3, batch: Int, _ body: () throws -> Void) rethrows -> (count: Int, elapsed: UInt64) {
    let start = now()
    var rounds = 0
    var elapsed: UInt64 = 0
    repeat {
        try body()
        rounds += 1
        elapsed = now() - start
    } while elapsed < nanoseconds || rounds < minimumRounds
    return (rounds * batch, elapsed)
}

/// memcpy bandwidth for `size`-byte copies between two buffers, in MB/s (10^6 bytes).
func memcpyBandwidth(size: Int, nanoseconds: UInt64) -> Double {
    let source = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 64)
    let destination = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 64)
    defer {
        source.deallocate()
        destination.deallocate()
    }
    source.initializeMemory(as: UInt8.self, repeating: 1, count: max(size, 1))
    destination.initializeMemory(as: UInt8.self, repeating: 0, count: max(size, 1))
    let perRound = max(1, (64 << 20) / max(size, 1))
    var sink: UInt8 = 0
    let (count, elapsed) = timed(nanoseconds: nanoseconds, batch: perRound) {
        for round in 0..<perRound {
            memcpy(destination, source, size)
            // Read the copy back so the optimizer cannot drop copies nobody reads.
            sink &+= destination.load(fromByteOffset: round % max(size, 1), as: UInt8.self)
        }
    }
    if sink == 1 { print("", terminator: "") }
    return Double(count) * Double(size) / Double(elapsed) * 1e3
}

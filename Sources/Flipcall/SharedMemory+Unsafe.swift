import Atomics
import CShim
import HostSys
import LinuxABI

/// A channel's shared mapping and typed access to its words. All pointer arithmetic of
/// Flipcall is here; offsets come from the layouts in `EndpointLayout` and `RingLayout`,
/// and are checked against the mapping's length when the mapping is made.
final class SharedMemory {
    let region: MappedRegion

    /// Maps all of `memory`, which must be at least `minimumLength` bytes and sealed against
    /// shrinking (else the peer could truncate it under us and make our accesses fault).
    init(memory: borrowing FileDescriptor, minimumLength: Int) throws(FlipcallError) {
        let seals: FileSeals
        do {
            seals = try MemoryFile.seals(of: memory)
        } catch {
            throw error == .EINVAL ? .badMemory("not a memfd") : .host(error)
        }
        guard seals.contains(.shrink) else { throw .badMemory("memfd is not sealed against shrinking") }
        let size = try host { () throws(Errno) in try memory.size() }
        guard size >= Int64(minimumLength), size <= Int64(Int32.max) else {
            throw .badMemory("memfd has \(size) bytes, need at least \(minimumLength)")
        }
        region = try host { () throws(Errno) in try MappedRegion(fd: memory, length: Int(size)) }
    }

    var length: Int { region.length }

    /// The 32-bit word at `offset`, for futex calls.
    func word(at offset: Int) -> UnsafeMutablePointer<UInt32> {
        precondition(offset % 4 == 0 && offset + 4 <= region.length)
        return region.base.advanced(by: offset).assumingMemoryBound(to: UInt32.self)
    }

    /// The same word as an atomic.
    func atomic(at offset: Int) -> UnsafeAtomic<UInt32> {
        UnsafeAtomic(at: UnsafeMutableRawPointer(word(at: offset)).assumingMemoryBound(to: UInt32.AtomicRepresentation.self))
    }

    /// `count` bytes from `offset`.
    func bytes(at offset: Int, count: Int) -> UnsafeMutableRawBufferPointer {
        precondition(offset >= 0 && count >= 0 && offset + count <= region.length)
        return UnsafeMutableRawBufferPointer(start: region.base.advanced(by: offset), count: count)
    }

    /// A plain (non-atomic) little-endian 32-bit load, for header fields read once at setup.
    func load32(at offset: Int) -> UInt32 {
        UInt32(littleEndian: region.base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    func store32(_ value: UInt32, at offset: Int) {
        region.base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }
}

/// Where a waiter sleeps: a futex word and the value it must still hold.
struct SleepTarget {
    let word: UnsafeMutablePointer<UInt32>
    let expected: UInt32
}

/// Spin-then-futex waiting on shared memory, with peer liveness checks.
struct Waiter {
    let policy: WaitPolicy
    /// The channel's socket: its hang-up means the peer process is gone.
    let liveness: Int32

    /// After this many attempts to sleep in a row that found the word changed, sleep anyway
    /// for `contentionSleepNanoseconds`: an honest peer does not change the word that often,
    /// and a hostile one must not be able to keep us spinning.
    static let contentionLimit = 64
    static let contentionSleepNanoseconds: UInt64 = 1_000_000

    /// Waits until `isDone()`, or throws `shutdown` once `isShutdown()`. Spins `spins` times
    /// (`policy.spinIterations` unless told), then sleeps: `prepareSleep()` publishes that
    /// this side sleeps (so the other side knows to wake it) and returns where to sleep, or
    /// nil if anything changed meanwhile (look again). Each sleep lasts at most one slice;
    /// whenever a slice has passed since the last check, the peer's liveness is checked,
    /// however the sleeps ended (a stream of signals must not hide a dead peer). Returns
    /// whether the wait ended while spinning.
    @discardableResult
    func wait(spins: Int? = nil, isDone: () -> Bool, isShutdown: () -> Bool, prepareSleep: () -> SleepTarget?) throws(FlipcallError) -> Bool {
        for _ in 0..<max(0, spins ?? policy.spinIterations) {
            if isDone() { return true }
            if isShutdown() { throw .shutdown }
            cshim_cpu_relax()
        }
        var lastCheck = Clock.monotonicNanoseconds()
        var misses = 0
        while true {
            if isDone() { return false }
            if isShutdown() { throw .shutdown }
            if let target = prepareSleep() {
                misses = 0
                _ = try host { () throws(Errno) in
                    try Futex.wait(target.word, expected: target.expected, timeoutNanoseconds: policy.sliceNanoseconds)
                }
            } else {
                misses += 1
                if misses < Self.contentionLimit { continue }
                misses = 0
                Clock.sleep(nanoseconds: Self.contentionSleepNanoseconds)
            }
            let now = Clock.monotonicNanoseconds()
            if now &- lastCheck >= UInt64(max(0, policy.sliceNanoseconds)) {
                try checkPeerAlive()
                lastCheck = now
            }
        }
    }

    /// Throws `peerGone` if the peer's end of the socket has closed.
    func checkPeerAlive() throws(FlipcallError) {
        let fd = liveness
        let events = try host { () throws(Errno) in try FileDescriptor.poll(fd, .input, timeoutMilliseconds: 0) }
        if events.contains(.hangUp) || events.contains(.error) { throw .peerGone }
    }
}

/// Runs a host operation and reports its failure as a Flipcall error.
@inline(__always)
func host<Result: ~Copyable>(_ body: () throws(Errno) -> Result) throws(FlipcallError) -> Result {
    do {
        return try body()
    } catch {
        throw .host(error)
    }
}

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

/// Spin-then-futex waiting on a word of shared memory, with peer liveness checks.
struct Waiter {
    let policy: WaitPolicy
    /// The channel's socket: its hang-up means the peer process is gone.
    let liveness: Int32

    /// Waits until `isDone(value)` holds for the word, or throws `shutdown` once `isShutdown()`.
    /// Spins `policy.spinIterations` times, then sleeps on the word's futex. Before each sleep
    /// `sleepValue(value)` publishes that this side sleeps (so the other side knows to wake it)
    /// and returns the value to sleep on, or nil if the word changed meanwhile. Each sleep lasts
    /// at most one slice; after a slice that timed out, the peer's liveness is checked.
    func wait(
        on word: UnsafeMutablePointer<UInt32>, atomic: UnsafeAtomic<UInt32>,
        sleepValue: (UInt32) -> UInt32?, isDone: (UInt32) -> Bool, isShutdown: () -> Bool
    ) throws(FlipcallError) {
        for _ in 0..<policy.spinIterations {
            let value = atomic.load(ordering: .acquiring)
            if isDone(value) { return }
            if isShutdown() { throw .shutdown }
            cshim_cpu_relax()
        }
        while true {
            let value = atomic.load(ordering: .sequentiallyConsistent)
            if isDone(value) { return }
            if isShutdown() { throw .shutdown }
            // sleepValue publishes "I am asleep" and returns the value to sleep on, or nil
            // when the word changed meanwhile (look again).
            guard let expected = sleepValue(value) else { continue }
            let result = try host { () throws(Errno) in
                try Futex.wait(word, expected: expected, timeoutNanoseconds: policy.sliceNanoseconds)
            }
            if result == .timedOut { try checkPeerAlive() }
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

import HostSys
import LinuxABI

// Flipcall: shared-memory channels between two processes (DESIGN.md, "Flipcall").
//
// - `Endpoint`: synchronous calls over one packet window. The control word says which side
//   owns the window; only the owner touches the data, so the data path has no locks.
// - `RingProducer` / `RingConsumer`: a single-producer, single-consumer ring of slots for
//   one-way messages, with futex wake-ups only when the other side sleeps.
//
// Trust: the peer is another process and may be hostile or buggy. Every value read from the
// shared memory (lengths, indices) is read once into a local and checked before use; the
// memfd is sealed against shrinking so the peer cannot make our accesses fault. A peer that
// dies is noticed through the hang-up of the channel's socket, polled between futex waits.
//
// Locks: none. Each endpoint or ring end is used by one thread at a time; `shutdown()` may be
// called from any thread (it only sets a bit and wakes).

/// Why a Flipcall operation failed.
public enum FlipcallError: Error, Equatable, Sendable {
    /// This side or the peer shut the channel down.
    case shutdown
    /// The peer process went away (its socket hung up) without shutting down.
    case peerGone
    /// The peer wrote a length larger than the window or slot can hold.
    case badLength(UInt32)
    /// A message of this size does not fit the window or slot.
    case messageTooLarge(Int)
    /// The peer left the shared memory in a state no correct peer can produce.
    case corrupt(String)
    /// The memory handed to us is not a valid channel (size, seals, header).
    case badMemory(String)
    /// A host syscall failed.
    case host(Errno)
}

/// How a side waits for the other: spin first, then sleep on a futex.
public struct WaitPolicy: Sendable, Equatable {
    /// Spin-loop iterations (each a PAUSE instruction and a load) before sleeping on the futex.
    /// 0 goes straight to the futex.
    public var spinIterations: Int
    /// Longest single futex sleep. Between sleeps the peer's liveness is checked, so a peer
    /// that died is noticed within about this long.
    public var sliceNanoseconds: Int64
    /// Spin only as long as spinning pays: each wait the peer ends while we spin doubles the
    /// next spin (up to `spinIterations`), each that outlasts the spin halves it (down to a
    /// sixteenth), as an adaptive mutex does. A peer that answers quickly is waited for
    /// without a futex; one that takes long does not cost a CPU spent spinning.
    public var adaptive: Bool

    public init(spinIterations: Int = 0, sliceNanoseconds: Int64 = 100_000_000, adaptive: Bool = false) {
        self.spinIterations = spinIterations
        self.sliceNanoseconds = sliceNanoseconds
        self.adaptive = adaptive
    }

    /// Sleep on the futex at once: lowest CPU use, a syscall per wake-up.
    public static let futex = WaitPolicy(spinIterations: 0)
    /// Spin for a while (about a millisecond) before sleeping: lowest latency when each side
    /// has a CPU of its own.
    public static let spin = WaitPolicy(spinIterations: 20_000)
}

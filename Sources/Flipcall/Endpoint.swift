import Atomics
import HostSys
import LinuxABI

/// One side of a synchronous Flipcall channel: a packet window in shared memory and a control
/// word that says which side owns it.
///
/// The client writes a request into `window` and calls `call(length:)`, which hands the window
/// to the server and returns when the server hands it back, with the reply's length. The
/// server calls `receive()` once, then `reply(length:)` for each request, which returns the
/// next request's length. Exactly one side owns the window at any time, so neither side locks.
///
/// An endpoint is used by one thread at a time; `shutdown()` may come from any thread.
public final class Endpoint: @unchecked Sendable {
    /// Which side of the channel this endpoint is.
    public enum Side: Sendable {
        case client
        case server
    }

    public let side: Side
    /// Data bytes the window holds, fixed when the channel was created.
    public let capacity: Int
    /// The packet window. Touch it only while this side owns the window: before `call` (the
    /// request) and after it returns (the reply) on the client; between `receive`/`reply`
    /// returning and the next `reply` on the server. A hostile peer can still write it at any
    /// time: decode a message from a copy, or read each field exactly once.
    public let window: UnsafeMutableRawBufferPointer

    private let memory: SharedMemory
    private let socket: FileDescriptor
    private let state: UnsafeAtomic<UInt32>
    private let stateWord: UnsafeMutablePointer<UInt32>
    private let lengthWord: UnsafeAtomic<UInt32>
    private let waiter: Waiter
    /// The next wait's spin, when the policy adapts it (one waiter at a time per side).
    private var spins: Int
    private let mine: UInt32
    private let peers: UInt32
    /// Set by `shutdown()` and by any failure, here in private memory: a peer can clear the
    /// shared shutdown bit, but not this.
    private let locallyShutDown = ManagedAtomic<Bool>(false)

    /// Creates the memory and sockets of a new channel with a window of `capacity` bytes.
    /// The creator opens `local` as one side (usually the client) and hands `remote` to the
    /// peer process (by inheritance or `UnixSocket.send`), then lets it go, so that it keeps no
    /// copy of the peer's socket: that socket's hang-up is how the peer's death is seen.
    public static func makeChannel(capacity: Int = 64 * 1024) throws(FlipcallError) -> ChannelFilePair {
        guard capacity > 0, capacity <= EndpointLayout.maximumCapacity else { throw .messageTooLarge(capacity) }
        let size = EndpointLayout.memorySize(capacity: capacity)
        let memfd = try host { () throws(Errno) in
            try MemoryFile.create(name: "flipcall", size: size, seals: [.shrink, .grow, .seal])
        }
        let creator = try SharedMemory(memory: memfd, minimumLength: size)
        creator.store32(EndpointLayout.magic, at: EndpointLayout.magicOffset)
        creator.store32(EndpointLayout.version, at: EndpointLayout.versionOffset)
        creator.store32(UInt32(capacity), at: EndpointLayout.capacityOffset)
        creator.atomic(at: EndpointLayout.stateOffset).store(EndpointLayout.clientOwns, ordering: .sequentiallyConsistent)
        NUMA.bindToCurrentNode(creator.bytes(at: 0, count: creator.length))

        return try ChannelFilePair(memory: memfd)
    }

    /// Opens the `side` end of a channel from its memfd and socket (received from the creator).
    /// Checks the memory before use: sealed against shrinking, the header's magic and version,
    /// and a capacity that fits the memfd. The capacity is read once and kept here.
    public init(files: consuming ChannelFiles, side: Side, policy: WaitPolicy = .futex) throws(FlipcallError) {
        let memory = try SharedMemory(memory: files.memory, minimumLength: EndpointLayout.windowOffset)
        let socket = files.socket  // the mapping keeps the memory alive once its fd closes
        guard memory.load32(at: EndpointLayout.magicOffset) == EndpointLayout.magic,
            memory.load32(at: EndpointLayout.versionOffset) == EndpointLayout.version
        else { throw .badMemory("not a flipcall endpoint (magic or version)") }
        let capacity = Int(memory.load32(at: EndpointLayout.capacityOffset))
        guard capacity > 0, EndpointLayout.windowOffset + capacity <= memory.length else {
            throw .badMemory("window of \(capacity) bytes does not fit \(memory.length) bytes of memory")
        }
        self.side = side
        self.capacity = capacity
        self.memory = memory
        self.window = memory.bytes(at: EndpointLayout.windowOffset, count: capacity)
        self.state = memory.atomic(at: EndpointLayout.stateOffset)
        self.stateWord = memory.word(at: EndpointLayout.stateOffset)
        self.lengthWord = memory.atomic(at: EndpointLayout.lengthOffset)
        self.waiter = Waiter(policy: policy, liveness: socket.rawValue)
        self.spins = policy.spinIterations
        self.socket = socket
        (mine, peers) =
            side == .client
            ? (EndpointLayout.clientOwns, EndpointLayout.serverOwns)
            : (EndpointLayout.serverOwns, EndpointLayout.clientOwns)
    }

    deinit { shutdown() }

    // MARK: Calls

    /// Client: sends the `length` bytes at the start of `window` to the server and waits for
    /// the reply. Returns the reply's length, checked against the window.
    ///
    /// Any failure other than a too-large `length` shuts the endpoint down: after it, every call
    /// throws `shutdown`.
    public func call(length: Int) throws(FlipcallError) -> Int {
        precondition(side == .client, "call is the client's")
        return try failing { () throws(FlipcallError) in
            try flip(length: length)
            return try waitForWindow()
        }
    }

    /// Server: waits for the first request and returns its length.
    public func receive() throws(FlipcallError) -> Int {
        precondition(side == .server, "receive is the server's")
        return try failing { () throws(FlipcallError) in try waitForWindow() }
    }

    /// Server: sends the `length` bytes at the start of `window` back as the reply, then waits
    /// for the next request and returns its length. A reply followed at once by `shutdown()`
    /// may or may not reach the client.
    public func reply(length: Int) throws(FlipcallError) -> Int {
        try reply(length: length, beforeWaiting: {})
    }

    /// `reply(length:)` that runs `work` once the reply is on its way, before waiting: what
    /// the server still has to do for the call that the client need not wait for.
    public func reply(length: Int, beforeWaiting work: () -> Void) throws(FlipcallError) -> Int {
        precondition(side == .server, "reply is the server's")
        return try failing { () throws(FlipcallError) in
            try flip(length: length)
            work()
            return try waitForWindow()
        }
    }

    /// Shuts the channel down: every current and later wait on either side fails with
    /// `shutdown`. Idempotent; safe from any thread.
    public func shutdown() {
        locallyShutDown.store(true, ordering: .sequentiallyConsistent)
        _ = state.loadThenBitwiseOr(with: EndpointLayout.shutdownBit, ordering: .sequentiallyConsistent)
        _ = try? Futex.wake(stateWord, count: UInt32(Int32.max))
    }

    /// Whether either side has shut the channel down.
    public var isShutdown: Bool {
        locallyShutDown.load(ordering: .relaxed) || state.load(ordering: .relaxed) & EndpointLayout.shutdownBit != 0
    }

    /// Runs `body`; on a failure that leaves the channel in an unknown state, shuts it down.
    private func failing<Result>(_ body: () throws(FlipcallError) -> Result) throws(FlipcallError) -> Result {
        do {
            return try body()
        } catch {
            if case .messageTooLarge = error {} else { shutdown() }
            throw error
        }
    }

    /// Copies `bytes` into the window at `offset` (the window must be this side's), or throws
    /// `messageTooLarge` if they do not fit.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) throws(FlipcallError) {
        guard offset >= 0, offset <= capacity, bytes.count <= capacity - offset else {
            throw .messageTooLarge(offset + bytes.count)
        }
        guard let source = bytes.baseAddress, let base = window.baseAddress else { return }
        (base + offset).copyMemory(from: source, byteCount: bytes.count)
    }

    // MARK: File descriptors

    /// Sends `descriptors` to the peer over the channel's socket (with one byte of data).
    public func send(descriptors: [Int32]) throws(FlipcallError) {
        var marker: UInt8 = 0
        _ = try host { () throws(Errno) in
            try withUnsafeBytes(of: &marker) { (bytes) throws(Errno) in
                try UnixSocket.send(on: socket, bytes: bytes, descriptors: descriptors)
            }
        }
    }

    /// Receives fds the peer sent with `send(descriptors:)`; blocks until a message arrives.
    /// Throws `peerGone` if the peer closed its socket instead.
    public func receiveDescriptors(max: Int = 16) throws(FlipcallError) -> ReceivedDescriptors {
        var marker: UInt8 = 0
        let message = try host { () throws(Errno) in
            try withUnsafeMutableBytes(of: &marker) { (bytes) throws(Errno) in
                try UnixSocket.receive(on: socket, into: bytes, maxDescriptors: max)
            }
        }
        guard message.count > 0 else { throw .peerGone }
        return message.descriptors
    }

    // MARK: The flip

    /// Publishes `length` and hands the window to the peer, waking it if it sleeps.
    private func flip(length: Int) throws(FlipcallError) {
        guard length >= 0, length <= capacity else { throw .messageTooLarge(length) }
        if locallyShutDown.load(ordering: .relaxed) { throw .shutdown }
        lengthWord.store(UInt32(length), ordering: .relaxed)
        var old = state.load(ordering: .relaxed)
        while true {
            if old & EndpointLayout.shutdownBit != 0 { throw .shutdown }
            // Only the owner flips, so the word says we own the window unless the peer wrote it
            // behind our back.
            guard old & EndpointLayout.ownerMask == mine else { throw .corrupt("the peer took the window while we owned it") }
            // Sequentially consistent: the data and the length written above are visible to
            // the peer before it can see that it owns the window.
            let (exchanged, original) = state.weakCompareExchange(
                expected: old, desired: peers, successOrdering: .sequentiallyConsistent,
                failureOrdering: .relaxed)
            if exchanged { break }
            old = original
        }
        if old & EndpointLayout.sleepingBit != 0 {
            _ = try host { () throws(Errno) in try Futex.wake(stateWord, count: 1) }
        }
    }

    /// Waits until this side owns the window, then reads the peer's length once and checks it.
    private func waitForWindow() throws(FlipcallError) -> Int {
        let mine = self.mine
        let state = self.state
        let stateWord = self.stateWord
        let locallyShutDown = self.locallyShutDown
        let spun = try waiter.wait(
            spins: spins,
            isDone: {
                let value = state.load(ordering: .acquiring)
                return value & EndpointLayout.ownerMask == mine && value & EndpointLayout.shutdownBit == 0
            },
            isShutdown: {
                locallyShutDown.load(ordering: .relaxed)
                    || state.load(ordering: .acquiring) & EndpointLayout.shutdownBit != 0
            },
            prepareSleep: {
                // Announce that we sleep; the peer's flip sees the bit and wakes us.
                let value = state.load(ordering: .sequentiallyConsistent)
                if value & EndpointLayout.ownerMask == mine || value & EndpointLayout.shutdownBit != 0 { return nil }
                if value & EndpointLayout.sleepingBit != 0 { return SleepTarget(word: stateWord, expected: value) }
                let desired = value | EndpointLayout.sleepingBit
                let (exchanged, _) = state.compareExchange(
                    expected: value, desired: desired, ordering: .sequentiallyConsistent)
                return exchanged ? SleepTarget(word: stateWord, expected: desired) : nil
            })
        if waiter.policy.adaptive {
            let most = waiter.policy.spinIterations
            spins = spun ? min(most, max(spins * 2, 1)) : max(most / 16, spins / 2)
        }
        let length = lengthWord.load(ordering: .relaxed)
        guard length <= UInt32(capacity) else { throw .badLength(length) }
        return Int(length)
    }
}

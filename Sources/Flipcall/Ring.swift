import Atomics
import HostSys
import LinuxABI

/// The layout of a ring's memfd. Each word both sides touch has a cache line of its own.
///
/// ```
/// 0    header: magic "FLPR", version, slot count (a power of two), slot size
/// 64   head: index of the next slot the producer fills (written by the producer only)
/// 128  tail: index of the next slot the consumer reads (written by the consumer only)
/// 192  consumer-sleeping word: the consumer sleeps on it (futex) with value 1; the producer
///      that publishes clears it and wakes; shutdown sets it to 2 and wakes
/// 256  producer-sleeping word: the same for a producer that waits on a full ring
/// 320  shutdown flag
/// 384  slots: slot count × slot size; a slot is [length u32][reserved u32][payload]
/// ```
/// Indices are free-running 32-bit counters; slot = index & (count - 1).
enum RingLayout {
    static let magic: UInt32 = 0x5250_4C46  // "FLPR"
    static let version: UInt32 = 1
    static let slotCountOffset = 8
    static let slotSizeOffset = 12
    static let headOffset = 64
    static let tailOffset = 128
    static let consumerSleepingOffset = 192
    static let producerSleepingOffset = 256
    static let shutdownOffset = 320
    static let slotsOffset = 384
    static let slotHeader = 8

    static let maximumSlotCount = 1 << 16
    static let maximumSlotSize = 1 << 20

    static func isValid(slotCount: Int, slotSize: Int) -> Bool {
        slotCount > 0 && slotCount <= maximumSlotCount && slotCount & (slotCount - 1) == 0
            && slotSize > slotHeader && slotSize <= maximumSlotSize && slotSize % 8 == 0
    }

    static func memorySize(slotCount: Int, slotSize: Int) -> Int {
        (slotsOffset + slotCount * slotSize + 4095) & ~4095
    }
}

/// The shared state both ends of a ring read: the mapping, its geometry (read once and
/// checked), and the atomics.
final class RingMemory {
    let memory: SharedMemory
    let socket: FileDescriptor
    let slotCount: UInt32
    let slotSize: Int
    let head: UnsafeAtomic<UInt32>
    let tail: UnsafeAtomic<UInt32>
    let consumerSleeping: UnsafeAtomic<UInt32>
    let producerSleeping: UnsafeAtomic<UInt32>
    let shutdownFlag: UnsafeAtomic<UInt32>
    let waiter: Waiter

    init(files: consuming ChannelFiles, policy: WaitPolicy) throws(FlipcallError) {
        let memory = try SharedMemory(memory: files.memory, minimumLength: RingLayout.slotsOffset)
        guard memory.load32(at: 0) == RingLayout.magic, memory.load32(at: 4) == RingLayout.version else {
            throw .badMemory("not a flipcall ring (magic or version)")
        }
        let slotCount = Int(memory.load32(at: RingLayout.slotCountOffset))
        let slotSize = Int(memory.load32(at: RingLayout.slotSizeOffset))
        guard RingLayout.isValid(slotCount: slotCount, slotSize: slotSize),
            RingLayout.slotsOffset + slotCount * slotSize <= memory.length
        else { throw .badMemory("ring of \(slotCount) slots of \(slotSize) bytes does not fit") }
        self.memory = memory
        self.slotCount = UInt32(slotCount)
        self.slotSize = slotSize
        head = memory.atomic(at: RingLayout.headOffset)
        tail = memory.atomic(at: RingLayout.tailOffset)
        consumerSleeping = memory.atomic(at: RingLayout.consumerSleepingOffset)
        producerSleeping = memory.atomic(at: RingLayout.producerSleepingOffset)
        shutdownFlag = memory.atomic(at: RingLayout.shutdownOffset)
        let socket = files.socket
        waiter = Waiter(policy: policy, liveness: socket.rawValue)
        self.socket = socket
    }

    var payloadCapacity: Int { slotSize - RingLayout.slotHeader }

    func slot(_ index: UInt32) -> UnsafeMutableRawBufferPointer {
        memory.bytes(at: RingLayout.slotsOffset + Int(index & (slotCount - 1)) * slotSize, count: slotSize)
    }

    /// Set by our `shutdown()`: unlike the shared flag, the peer cannot clear it.
    private let locallyShutDown = ManagedAtomic<Bool>(false)

    /// Whether either side shut the ring down. Acquire: a producer publishes its last messages
    /// before it sets the flag, so a consumer that sees the flag and then reads the head sees them.
    var isShutdown: Bool {
        locallyShutDown.load(ordering: .relaxed) || shutdownFlag.load(ordering: .acquiring) != 0
    }

    /// Sets the shutdown flag and wakes both ends: each sleeps on its sleeping word, which this
    /// sets to 2, so a sleeper that announced itself before the flag was set still wakes.
    func shutdown() {
        locallyShutDown.store(true, ordering: .sequentiallyConsistent)
        shutdownFlag.store(1, ordering: .sequentiallyConsistent)
        for offset in [RingLayout.consumerSleepingOffset, RingLayout.producerSleepingOffset] {
            memory.atomic(at: offset).store(2, ordering: .sequentiallyConsistent)
            _ = try? Futex.wake(memory.word(at: offset), count: UInt32(Int32.max))
        }
    }

    /// Wakes the other end if its sleeping word says it sleeps (after we moved our index).
    func wakeIfSleeping(_ sleeping: UnsafeAtomic<UInt32>, wordOffset offset: Int) throws(FlipcallError) {
        if sleeping.load(ordering: .sequentiallyConsistent) != 0 && sleeping.exchange(0, ordering: .sequentiallyConsistent) != 0 {
            _ = try host { () throws(Errno) in try Futex.wake(memory.word(at: offset), count: 1) }
        }
    }

    /// Waits until `isDone()` holds, sleeping on the sleeping word at `offset`.
    ///
    /// Dekker with the other end's "store index; load sleeping word": we store 1 into our
    /// sleeping word and then look at the condition again, so either we see the other end's
    /// move, or it sees our 1 and wakes us (any change of the word ends the futex wait).
    func wait(sleepingWordOffset offset: Int, isDone: () -> Bool) throws(FlipcallError) {
        let sleeping = memory.atomic(at: offset)
        let word = memory.word(at: offset)
        defer { sleeping.store(0, ordering: .relaxed) }
        try waiter.wait(
            isDone: isDone,
            isShutdown: { isShutdown },
            prepareSleep: {
                sleeping.store(1, ordering: .sequentiallyConsistent)
                if isDone() || isShutdown { return nil }
                return SleepTarget(word: word, expected: 1)
            })
    }
}

/// Ring construction.
public enum Ring {
    /// Creates the memory and sockets of a ring of `slotCount` slots (a power of two) that each
    /// carry up to `slotSize - 8` bytes (`slotSize` a multiple of 8). Open `local` as one end and
    /// hand `remote` to the other process.
    public static func make(slotCount: Int = 256, slotSize: Int = 256) throws(FlipcallError) -> ChannelFilePair {
        guard RingLayout.isValid(slotCount: slotCount, slotSize: slotSize) else {
            throw .badMemory("invalid ring geometry: \(slotCount) slots of \(slotSize) bytes")
        }
        let size = RingLayout.memorySize(slotCount: slotCount, slotSize: slotSize)
        let memfd = try host { () throws(Errno) in
            try MemoryFile.create(name: "flipcall-ring", size: size, seals: [.shrink, .grow, .seal])
        }
        let creator = try SharedMemory(memory: memfd, minimumLength: size)
        creator.store32(RingLayout.magic, at: 0)
        creator.store32(RingLayout.version, at: 4)
        creator.store32(UInt32(slotCount), at: RingLayout.slotCountOffset)
        creator.store32(UInt32(slotSize), at: RingLayout.slotSizeOffset)
        NUMA.bindToCurrentNode(creator.bytes(at: 0, count: creator.length))
        return try ChannelFilePair(memory: memfd)
    }
}

/// The producing end of a ring. One thread at a time.
///
/// `write` stages messages without telling the consumer; `publish` makes all staged messages
/// visible at once and wakes the consumer only if it sleeps, so a batch costs at most one
/// futex wake. `push` is write-and-publish, waiting for space when the ring is full.
public final class RingProducer: @unchecked Sendable {
    private let ring: RingMemory
    /// The next index to fill: ours alone, never read back from shared memory.
    private var head: UInt32
    private var published: UInt32

    public init(files: consuming ChannelFiles, policy: WaitPolicy = .futex) throws(FlipcallError) {
        ring = try RingMemory(files: files, policy: policy)
        head = ring.head.load(ordering: .acquiring)
        published = head
    }

    deinit { ring.shutdown() }

    /// The largest message a slot carries.
    public var maximumMessageSize: Int { ring.payloadCapacity }

    /// Stages `message` in the next free slot. Returns false if the ring is full.
    public func write(_ message: UnsafeRawBufferPointer) throws(FlipcallError) -> Bool {
        guard message.count <= ring.payloadCapacity else { throw .messageTooLarge(message.count) }
        if ring.isShutdown { throw .shutdown }
        guard try freeSlots() > 0 else { return false }
        let slot = ring.slot(head)
        slot.storeBytes(of: UInt32(message.count).littleEndian, toByteOffset: 0, as: UInt32.self)
        if let source = message.baseAddress, let destination = slot.baseAddress {
            (destination + RingLayout.slotHeader).copyMemory(from: source, byteCount: message.count)
        }
        head &+= 1
        return true
    }

    /// Makes every staged message visible to the consumer and wakes it if it sleeps.
    public func publish() throws(FlipcallError) {
        guard head != published else { return }
        ring.head.store(head, ordering: .sequentiallyConsistent)
        published = head
        try ring.wakeIfSleeping(ring.consumerSleeping, wordOffset: RingLayout.consumerSleepingOffset)
    }

    /// Writes and publishes `message`, waiting while the ring is full.
    public func push(_ message: UnsafeRawBufferPointer) throws(FlipcallError) {
        while try !write(message) {
            try publish()  // staged messages must reach the consumer, or it never frees a slot
            let head = self.head
            let count = ring.slotCount
            let tail = ring.tail
            // Done when a slot is free, or when the indices are corrupt (then `write` throws).
            try ring.wait(sleepingWordOffset: RingLayout.producerSleepingOffset) {
                head &- tail.load(ordering: .acquiring) != count
            }
        }
        try publish()
    }

    /// Shuts the ring down: waits on both ends fail with `shutdown`.
    public func shutdown() { ring.shutdown() }

    private func freeSlots() throws(FlipcallError) -> UInt32 {
        let used = head &- ring.tail.load(ordering: .acquiring)
        guard used <= ring.slotCount else { throw .corrupt("consumer index is \(used) slots behind") }
        return ring.slotCount - used
    }
}

/// The consuming end of a ring. One thread at a time.
public final class RingConsumer: @unchecked Sendable {
    private let ring: RingMemory
    /// The next index to read: ours alone.
    private var tail: UInt32

    public init(files: consuming ChannelFiles, policy: WaitPolicy = .futex) throws(FlipcallError) {
        ring = try RingMemory(files: files, policy: policy)
        tail = ring.tail.load(ordering: .acquiring)
    }

    deinit { ring.shutdown() }

    /// Waits for at least one message, then passes up to `maximum` messages to `body` in order
    /// and frees their slots (one index store and at most one wake for the whole batch).
    /// Returns how many were consumed. A length the producer wrote is checked against the slot
    /// before `body` sees the bytes.
    /// Messages published before a shutdown are still delivered; `shutdown` is thrown once
    /// the ring is empty.
    public func consume(maximum: Int = .max, _ body: (UnsafeRawBufferPointer) -> Void) throws(FlipcallError) -> Int {
        let tail = self.tail
        let head = ring.head
        do {
            try ring.wait(sleepingWordOffset: RingLayout.consumerSleepingOffset) {
                head.load(ordering: .acquiring) != tail
            }
        } catch .shutdown {
            // Drain what was published before the shutdown (or throw `shutdown` if nothing was).
        }
        return try tryConsume(maximum: maximum, body)
    }

    /// Like `consume` without waiting: returns 0 when the ring is empty, or throws `shutdown`
    /// when it is empty and shut down.
    public func tryConsume(maximum: Int = .max, _ body: (UnsafeRawBufferPointer) -> Void) throws(FlipcallError) -> Int {
        let shutDown = ring.isShutdown  // before the head: see the isShutdown comment
        let available = ring.head.load(ordering: .acquiring) &- tail
        guard available <= ring.slotCount else { throw .corrupt("producer index is \(available) slots ahead") }
        let count = Int(min(UInt32(clamping: max(maximum, 0)), available))
        guard count > 0 else {
            if shutDown { throw .shutdown }
            return 0
        }
        for _ in 0..<count {
            let slot = ring.slot(tail)
            let length = UInt32(littleEndian: slot.load(fromByteOffset: 0, as: UInt32.self))
            guard length <= UInt32(ring.payloadCapacity) else { throw .badLength(length) }
            body(UnsafeRawBufferPointer(rebasing: slot[RingLayout.slotHeader..<(RingLayout.slotHeader + Int(length))]))
            tail &+= 1
        }
        ring.tail.store(tail, ordering: .sequentiallyConsistent)
        try ring.wakeIfSleeping(ring.producerSleeping, wordOffset: RingLayout.producerSleepingOffset)
        return count
    }

    /// Shuts the ring down: waits on both ends fail with `shutdown`.
    public func shutdown() { ring.shutdown() }
}

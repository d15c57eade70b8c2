import HostSys
import LinuxABI
import Testing

@testable import Sentry

/// A count shared between threads.
final class SharedCount: @unchecked Sendable {
    private let monitor = Monitor()
    private var count = 0
    func add() { monitor.locked { count += 1 } }
    var value: Int { monitor.locked { count } }
}

@Suite("futex queues")
struct FutexTests {
    /// Starts `count` threads waiting on `key` (the word reads 0) and waits until all are queued.
    func startWaiters(_ futexes: Futexes, key: Int, count: Int, done: SharedCount) throws {
        let queued = SharedCount()
        for _ in 0..<count {
            try HostThread.detach {
                try? futexes.wait(
                    key: key, load: { () throws(LinuxErrno) in
                        queued.add()
                        return 0
                    }, expected: 0, bitset: FutexOp.bitsetMatchAny, deadline: Clock.monotonicNanoseconds() + 10_000_000_000)
                done.add()
            }
        }
        // A waiter loads the word and queues itself under the queues' lock, so once every load
        // has run, any later call on the queues sees every waiter.
        for _ in 0..<1000 where queued.value < count { Clock.sleep(nanoseconds: 1_000_000) }
    }

    @Test("requeue onto another word moves the waiters; onto the same word keeps them (none is lost)")
    func requeue() throws {
        let futexes = Futexes()
        let done = SharedCount()
        try startWaiters(futexes, key: 1, count: 2, done: done)
        #expect(try futexes.requeue(key: 1, target: 1, count: 0, requeue: 2, check: {}) == 2)
        #expect(try futexes.requeue(key: 1, target: 2, count: 0, requeue: 1, check: {}) == 1)
        #expect(futexes.wake(key: 1, count: 5) == 1)
        #expect(futexes.wake(key: 2, count: 5) == 1)
        for _ in 0..<1000 where done.value < 2 { Clock.sleep(nanoseconds: 1_000_000) }
        #expect(done.value == 2)
    }
}

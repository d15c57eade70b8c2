import HostSys
import LinuxABI

extension Syscalls {
    /// The futex word at `address`: its key (where it lives in the memory file) and a loader.
    static func futexWord(_ task: Task, _ address: UInt64) throws(LinuxErrno) -> (key: Int, load: () throws(LinuxErrno) -> UInt32) {
        guard address % 4 == 0 else { throw .EINVAL }
        guard let range = try task.mm.ranges(address, 4).first, let base = range.baseAddress else { throw .EFAULT }
        let mm = task.mm
        return (Int(bitPattern: base), { () throws(LinuxErrno) in UInt32(truncatingIfNeeded: word(try mm.copyIn(from: address, count: 4) + [0, 0, 0, 0])) })
    }

    /// Implements Linux futex(2) FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET,
    /// FUTEX_REQUEUE and FUTEX_CMP_REQUEUE, private or shared, keyed by the memory file so they
    /// work across processes on shared mappings. Waits are not interrupted by signals until
    /// delivery lands. PI futexes and FUTEX_WAKE_OP are ENOSYS.
    static func futex(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let futexes = task.sandbox.futexes
        let operation = Int32(truncatingIfNeeded: arguments[1]) & ~(FutexOp.privateFlag | FutexOp.clockRealtimeFlag)
        let realtime = Int32(truncatingIfNeeded: arguments[1]) & FutexOp.clockRealtimeFlag != 0
        let value = UInt32(truncatingIfNeeded: arguments[2])
        switch FutexOp(rawValue: operation) {
        case .wait, .waitBitset:
            let bitset = operation == FutexOp.wait.rawValue ? FutexOp.bitsetMatchAny : UInt32(truncatingIfNeeded: arguments[5])
            guard bitset != 0 else { throw .EINVAL }
            var deadline: UInt64?
            if arguments[3] != 0 {
                let time = try readTimespec(task, arguments[3])
                let nanoseconds = UInt64(time.totalNanoseconds)
                if operation == FutexOp.wait.rawValue {
                    deadline = Clock.monotonicNanoseconds() + nanoseconds  // relative
                } else {
                    // Absolute, on CLOCK_MONOTONIC or (FUTEX_CLOCK_REALTIME) CLOCK_REALTIME.
                    let now = try Syscalls.now(realtime ? clockRealtime : clockMonotonic)
                    let current = UInt64(now.totalNanoseconds)
                    deadline = Clock.monotonicNanoseconds() + (nanoseconds > current ? nanoseconds - current : 0)
                }
            }
            let word = try futexWord(task, arguments[0])
            try futexes.wait(key: word.key, load: word.load, expected: value, bitset: bitset, deadline: deadline)
            return .value(0)
        case .wake, .wakeBitset:
            let bitset = operation == FutexOp.wake.rawValue ? FutexOp.bitsetMatchAny : UInt32(truncatingIfNeeded: arguments[5])
            guard bitset != 0 else { throw .EINVAL }
            let word = try futexWord(task, arguments[0])
            return .value(Int64(futexes.wake(key: word.key, count: Int(min(value, UInt32(Int32.max))), bitset: bitset)))
        case .requeue, .cmpRequeue:
            let word = try futexWord(task, arguments[0])
            let target = try futexWord(task, arguments[4])
            let requeueCount = Int(min(arguments[3], UInt64(Int32.max)))
            let expected = UInt32(truncatingIfNeeded: arguments[5])
            let compare = operation == FutexOp.cmpRequeue.rawValue
            let moved = try futexes.requeue(key: word.key, target: target.key, count: Int(min(value, UInt32(Int32.max))), requeue: requeueCount) {
                () throws(LinuxErrno) in
                if compare, try word.load() != expected { throw .EAGAIN }
            }
            return .value(Int64(moved))
        default:
            throw .ENOSYS
        }
    }
}

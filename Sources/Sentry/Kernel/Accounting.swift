import Glibc
import HostSys
import Synchronization

/// CPU time as getrusage(2), times(2), wait4(2) and the CPU-time clocks report it.
struct CPUUsage: Sendable, Equatable {
    /// Nanoseconds the program's own code ran (Linux's utime).
    var user: UInt64 = 0
    /// Nanoseconds the Sentry spent serving the program's syscalls and faults (stime).
    var system: UInt64 = 0

    var total: UInt64 { user &+ system }

    static func + (left: CPUUsage, right: CPUUsage) -> CPUUsage {
        CPUUsage(user: left.user &+ right.user, system: left.system &+ right.system)
    }

    static func += (left: inout CPUUsage, right: CPUUsage) { left = left + right }
}

/// The CPU time one task has used.
///
/// User time is the time the task's thread spends running on the platform, from resuming its
/// stub to the stub's next stop (gVisor also charges a task by the time it spends in the
/// application); a stub that waits there for a host CPU is charged too. System time is the CPU
/// time of the OS thread that serves the task (its tracer), which the host measures exactly
/// and which does not grow while the task sleeps in the Sentry.
///
/// Locks: `user` guards the user time and when the current run began (written only by the
/// task's own OS thread, read by any); the tracer's clock is read by any thread until `finish`
/// freezes the system time, when that OS thread is about to end (its clock ends with it).
final class TaskAccounting: Sendable {
    private struct UserTime {
        var nanoseconds: UInt64 = 0
        /// When the program was last resumed (Clock.monotonicNanoseconds), while it runs.
        var runningSince: UInt64?
    }
    private let user = Mutex(UserTime())
    /// The tracer thread's CPU-time clock, once it runs the task (Int32.min: not yet).
    private let tracerClock = Atomic<Int32>(Int32.min)
    /// The system time at `finish`; UInt64.max while the tracer still runs.
    private let finalSystem = Atomic<UInt64>(UInt64.max)

    /// Called on the OS thread that will run the task, before it first runs it.
    func start() {
        tracerClock.store(Clock.currentThreadCPUClock(), ordering: .releasing)
    }

    /// The task's thread resumes the program on the platform.
    func resumed() {
        let now = Clock.monotonicNanoseconds()
        user.withLock { $0.runningSince = now }
    }

    /// The program stopped (a syscall, a fault, a signal): the run is user time.
    func stopped() {
        let now = Clock.monotonicNanoseconds()
        user.withLock { time in
            if let since = time.runningSince { time.nanoseconds &+= now &- min(since, now) }
            time.runningSince = nil
        }
    }

    /// The user time so far, counting the run in progress.
    private var userNanoseconds: UInt64 {
        let now = Clock.monotonicNanoseconds()
        return user.withLock { time in time.nanoseconds &+ (time.runningSince.map { now &- min($0, now) } ?? 0) }
    }

    /// The task's CPU time so far.
    var usage: CPUUsage {
        var system = finalSystem.load(ordering: .acquiring)
        if system == UInt64.max {
            let clock = tracerClock.load(ordering: .acquiring)
            system = clock == Int32.min ? 0 : Clock.nanoseconds(on: clock) ?? 0
        }
        return CPUUsage(user: userNanoseconds, system: system)
    }

    /// Freezes the system time (on the task's own OS thread, as it leaves) and returns the
    /// task's final usage.
    func finish() -> CPUUsage {
        stopped()
        let final = usage
        finalSystem.store(final.system, ordering: .releasing)
        return final
    }
}

extension CPUUsage {
    /// Linux's clock tick for times(2) and /proc (USER_HZ): 100 a second.
    static let tickNanoseconds: UInt64 = 10_000_000

    var userTicks: UInt64 { user / Self.tickNanoseconds }
    var systemTicks: UInt64 { system / Self.tickNanoseconds }

    /// A `struct rusage` (144 bytes) with these times; the memory, I/O and context-switch
    /// counters the Sentry does not keep are zero.
    var rusageBytes: [UInt8] {
        Syscalls.timevalBytes(user, roundUp: false) + Syscalls.timevalBytes(system, roundUp: false) + [UInt8](repeating: 0, count: 112)
    }
}

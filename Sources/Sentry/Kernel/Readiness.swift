import HostSys
import Synchronization

/// The events of one waitable object (a pipe, a connection, a listener): a count that goes up
/// with each change, for the edge-triggered epoll entries of its files
/// (`FileOperations.eventStamp`), and the Sentry-wide announcement that wakes sleepers.
final class ReadinessEvents: Sendable {
    private let count = Atomic<UInt64>(0)

    var stamp: UInt64 { count.load(ordering: .sequentiallyConsistent) }

    /// Announces a change of the object (call after changing its state).
    func changed() {
        count.add(1, ordering: .sequentiallyConsistent)
        Readiness.changed()
    }
}

/// Wakes poll(2) and select(2) sleepers when a file's readiness may have changed (a pipe got
/// data, room or a closed end). One queue for the Sentry: a sleeper re-scans its files when
/// woken, so a change it does not care about costs it one scan.
///
/// Pipes announce every read and write, so an announcement with nobody asleep costs two
/// atomic operations and no lock: the generation goes up, and only when the sleeper count is
/// not zero does it take the monitor to wake them. A sleeper counts itself before it checks
/// the generation, and the announcer bumps the generation before it checks the count, so one
/// of the two always sees the other (both sequentially consistent).
enum Readiness {
    private static let monitor = Monitor()
    private static let generation = Atomic<UInt64>(0)
    private static let sleepers = Atomic<Int>(0)

    /// The current generation: take it before scanning, then wait for a later one.
    static func current() -> UInt64 { generation.load(ordering: .sequentiallyConsistent) }

    /// Announces a change (call after changing the file's state).
    static func changed() {
        generation.add(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 { monitor.locked { monitor.broadcast() } }
    }

    /// Sleeps until a change after `seen`, `deadline`, or a signal for the calling task.
    static func wait(after seen: UInt64, until deadline: UInt64) -> SleepResult {
        monitor.locked {
            sleepers.add(1, ordering: .sequentiallyConsistent)
            defer { sleepers.subtract(1, ordering: .sequentiallyConsistent) }
            while generation.load(ordering: .sequentiallyConsistent) == seen {
                let result = Task.sleep(on: monitor, deadline: deadline)
                if result != .woken { return result }
            }
            return .woken
        }
    }
}

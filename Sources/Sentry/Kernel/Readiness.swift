import HostSys

/// Wakes poll(2) and select(2) sleepers when a file's readiness may have changed (a pipe got
/// data, room or a closed end). One queue for the Sentry: a sleeper re-scans its files when
/// woken, so a change it does not care about costs it one scan.
///
/// Locks: `monitor` guards `generation`; a sleeper holds it from its check to its sleep.
enum Readiness {
    private static let monitor = Monitor()
    nonisolated(unsafe) private static var generation: UInt64 = 0

    /// The current generation: take it before scanning, then wait for a later one.
    static func current() -> UInt64 { monitor.locked { generation } }

    /// Announces a change (call after changing the file's state).
    static func changed() {
        monitor.locked {
            generation &+= 1
            monitor.broadcast()
        }
    }

    /// Sleeps until a change after `seen`, `deadline`, or a signal for the calling task.
    static func wait(after seen: UInt64, until deadline: UInt64) -> SleepResult {
        monitor.locked {
            while generation == seen {
                let result = Task.sleep(on: monitor, deadline: deadline)
                if result != .woken { return result }
            }
            return .woken
        }
    }
}

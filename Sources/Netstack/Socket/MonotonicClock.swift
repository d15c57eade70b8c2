import HostSys

/// CLOCK_MONOTONIC, the clock of a stack that serves real sockets.
public final class MonotonicClock: StackClock {
    public init() {}
    public var now: UInt64 { Clock.monotonicNanoseconds() }
}

import Glibc
import LinuxABI

/// Host signals a process takes synchronously, on a thread of its own (sigwait(3)), instead
/// of with handlers: what a daemon does to forward them.
public enum HostSignals {
    /// Blocks `signals` in the calling thread; threads it starts afterwards inherit the mask,
    /// so block before starting any.
    public static func block(_ signals: [LinuxSignal]) throws(Errno) {
        var set = makeSet(signals)
        let code = pthread_sigmask(SIG_BLOCK, &set, nil)
        guard code == 0 else { throw Errno(code) }
    }

    /// Waits until one of `signals` (blocked in every thread) is pending, takes it and
    /// returns it.
    public static func wait(_ signals: [LinuxSignal]) -> LinuxSignal {
        var set = makeSet(signals)
        var number: Int32 = 0
        while sigwait(&set, &number) != 0 {}  // fails only for an invalid set
        return LinuxSignal(number)
    }

    private static func makeSet(_ signals: [LinuxSignal]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal.rawValue) }
        return set
    }
}

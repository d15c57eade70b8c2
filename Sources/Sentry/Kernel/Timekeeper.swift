import CShim
import Glibc
import HostSys

/// The program's clocks: CLOCK_MONOTONIC and CLOCK_REALTIME as the vDSO computes them in the
/// program, from the TSC and parameters the Sentry keeps current on a page of the memory file
/// (`cshim_vdso_parameters`); the Sentry's clock_gettime answers from the same parameters, so
/// the program sees one clock whichever way it asks (gVisor's timekeeper and vDSO do the same).
///
/// The parameters follow the host's clocks. Every `interval` the timekeeper samples the host's
/// monotonic clock with the TSC, takes the TSC's rate over all the time since it started, and
/// steers the program's clock to run `lead` ahead of the host's by the next update: without a
/// step back (each update starts where the last one's line is), the rate changed by at most
/// `maximumCorrection`. Ahead, not behind: a sleep the Sentry ends by the host's clock (an
/// absolute deadline the program gave) then never ends before the program's clock reaches it.
/// Parameters older than `maximumAge` are stale: the vDSO makes the system call, and the
/// Sentry updates them first.
///
/// On a host whose clock source is not the TSC (or before `start`), the timekeeper is off:
/// the vDSO makes the system call, and the Sentry reads the host's clocks.
/// Locks: `lock` guards `state`; the vDSO reads the pages under their sequence lock.
final class Timekeeper: @unchecked Sendable {
    static let shared = Timekeeper()

    static let interval: UInt64 = 100_000_000  // ns
    static let maximumAge: UInt64 = 250_000_000
    static let lead: Int64 = 50_000
    static let maximumCorrection = 500e-6

    /// The conversion from the TSC to the program's monotonic clock.
    struct Parameters: Equatable {
        var tscBase: UInt64
        var monotonicBase: Int64
        var realtimeOffset: Int64
        /// Nanoseconds per cycle, as a 32.32 fixed-point number.
        var multiplier: UInt64
        var maximumDelta: UInt64

        /// The monotonic time at `tsc`, or nil if `tsc` lies before the base or too far past it.
        func monotonic(at tsc: UInt64) -> Int64? {
            guard tsc >= tscBase, tsc - tscBase <= maximumDelta else { return nil }
            let (high, low) = (tsc - tscBase).multipliedFullWidth(by: multiplier)
            return monotonicBase + Int64(truncatingIfNeeded: high << 32 | low >> 32)
        }
    }

    private struct State {
        var enabled = false
        var started = false
        var parameters: Parameters?
        /// The first sample: the TSC's rate is measured from it.
        var origin: Sample?
        /// The Sentry's views of the parameter pages to keep current (one per memory file).
        var pages: [UnsafeMutableRawPointer] = []
    }

    private struct Sample {
        var tsc: UInt64
        var monotonic: Int64
        var realtimeOffset: Int64
    }

    private let lock = Monitor()
    private var state = State()

    /// Turns the timekeeper on if the host's clock source is the TSC, and starts its thread.
    /// Call before the Sentry gives up its view of the host's files (it reads sysfs).
    func start() {
        let path = "/sys/devices/system/clocksource/clocksource0/current_clocksource"
        let source = try? FileDescriptor.open(path, flags: O_RDONLY | O_CLOEXEC).readToEnd()
        guard let source, source.prefix(while: { $0 != UInt8(ascii: "\n") }) == Array("tsc".utf8) else { return }
        let begin = lock.locked { () -> Bool in
            guard !state.started else { return false }
            state.started = true
            state.enabled = true
            state.origin = Self.sample()
            return true
        }
        guard begin else { return }
        try? HostThread.detach {
            Clock.sleep(nanoseconds: Self.interval / 2)
            while true {
                Timekeeper.shared.lock.locked { Timekeeper.shared.update() }
                Clock.sleep(nanoseconds: Self.interval)
            }
        }
    }

    /// The program's time on the monotonic clock (realtime: on the realtime clock), in ns.
    func now(realtime: Bool) -> Int64 {
        let computed = lock.locked { () -> Int64? in
            guard state.enabled else { return nil }
            if let parameters = state.parameters, let value = parameters.monotonic(at: cshim_read_tsc()) {
                return value + (realtime ? parameters.realtimeOffset : 0)
            }
            update()
            guard let parameters = state.parameters, let value = parameters.monotonic(at: cshim_read_tsc()) else { return nil }
            return value + (realtime ? parameters.realtimeOffset : 0)
        }
        if let computed { return computed }
        let host = Clock.now(realtime: realtime)
        return host.seconds * 1_000_000_000 + host.nanoseconds
    }

    /// Keeps the page at `page` (the Sentry's view of a memory file's parameter page) current.
    func attach(page: UnsafeMutableRawPointer) {
        lock.locked {
            state.pages.append(page)
            Self.publish(state.parameters, enabled: state.enabled, to: page)
        }
    }

    func detach(page: UnsafeMutableRawPointer) {
        lock.locked { state.pages.removeAll { $0 == page } }
    }

    /// Takes a sample and moves the parameters to it (see the type's comment). Under `lock`.
    private func update() {
        guard state.enabled, let origin = state.origin else { return }
        let sample = Self.sample()
        let cycles = sample.tsc &- origin.tsc
        let nanoseconds = sample.monotonic - origin.monotonic
        // Too soon after the start to know the rate to a few ppm.
        guard sample.tsc > origin.tsc, nanoseconds >= Int64(Self.interval / 4) else { return }
        let hostRate = Double(nanoseconds) / Double(cycles)  // ns per cycle
        var base = sample.monotonic + Self.lead
        var correction = 0.0
        if let current = state.parameters?.monotonic(at: sample.tsc) {
            // Continue the current line; steer its lead over the host's toward `lead`.
            let lead = current - sample.monotonic
            if lead >= 0 {
                base = current
                correction = max(-Self.maximumCorrection, min(Self.maximumCorrection, Double(Self.lead - lead) / Double(Self.interval)))
            }
            // Behind the host (the updates stalled): step forward to the lead.
        }
        state.parameters = Parameters(
            tscBase: sample.tsc, monotonicBase: base, realtimeOffset: sample.realtimeOffset,
            multiplier: UInt64(hostRate * (1 + correction) * 4_294_967_296), maximumDelta: UInt64(Double(Self.maximumAge) / hostRate))
        for page in state.pages { Self.publish(state.parameters, enabled: true, to: page) }
    }

    private static func publish(_ parameters: Parameters?, enabled: Bool, to page: UnsafeMutableRawPointer) {
        var values = cshim_vdso_parameters()
        if let parameters, enabled {
            values.ready = 1
            values.tsc_base = parameters.tscBase
            values.monotonic_base = parameters.monotonicBase
            values.realtime_offset = parameters.realtimeOffset
            values.multiplier = parameters.multiplier
            values.maximum_delta = parameters.maximumDelta
        }
        cshim_vdso_publish(page, &values)
    }

    /// The TSC with the host's monotonic clock read around it (the closest of a few tries),
    /// and the realtime clock's offset from the monotonic one.
    private static func sample() -> Sample {
        var best: (gap: Int64, tsc: UInt64, monotonic: Int64)?
        for _ in 0..<5 {
            let before = Int64(Clock.monotonicNanoseconds())
            let tsc = cshim_read_tsc()
            let after = Int64(Clock.monotonicNanoseconds())
            if best == nil || after - before < best!.gap { best = (after - before, tsc, before + (after - before) / 2) }
        }
        let real = Clock.now(realtime: true)
        let monotonic = Int64(Clock.monotonicNanoseconds())
        let offset = real.seconds * 1_000_000_000 + real.nanoseconds - monotonic
        return Sample(tsc: best!.tsc, monotonic: best!.monotonic, realtimeOffset: offset)
    }
}

import CShim
import Glibc
import HostSys

/// The program's clocks: CLOCK_MONOTONIC and CLOCK_REALTIME as the vDSO computes them in the
/// program, from the TSC and parameters the Sentry keeps current on a page of the memory file
/// (`cshim_vdso_parameters`); the Sentry's clock_gettime answers from the same parameters, so
/// the program sees one clock whichever way it asks (gVisor's timekeeper and vDSO do the same).
///
/// The parameters follow the host's clocks. Every `interval` the timekeeper samples the host's
/// monotonic clock with the TSC, takes the TSC's rate over the last `rateWindow` (so it follows
/// the host's clock as NTP slews it), and steers the program's clock to run `lead` ahead of the
/// host's: without a step back (each update starts where the last one's line stands), faster
/// than the host's by at most `maximumCorrection` and never slower. Ahead, not behind: a sleep
/// the Sentry ends by the host's clock (an absolute deadline the program gave) then never ends
/// before the program's clock reaches it.
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
    static let rateWindow: Int64 = 10_000_000_000

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
            return value(at: tsc)
        }

        /// The line's value at `tsc` (not before the base), stale or not.
        func value(at tsc: UInt64) -> Int64 {
            let (high, low) = (max(tsc, tscBase) - tscBase).multipliedFullWidth(by: multiplier)
            return monotonicBase + Int64(truncatingIfNeeded: high << 32 | low >> 32)
        }
    }

    private struct State {
        var enabled = false
        var started = false
        var parameters: Parameters?
        /// Samples of the last `rateWindow`, oldest first: the TSC's rate is measured from the
        /// oldest.
        var history: [Sample] = []
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
            state.history = [Self.sample()]
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
    ///
    /// The new line starts where the old one stands at the moment of the switch, or at the
    /// host's time plus `lead` if that is later (the old line fell behind, or went stale):
    /// never below any time the old one can have shown (the vDSO and `now` refuse a stale
    /// line, so that is its value at its `maximumDelta`). The vDSO stays off the page between
    /// that moment and the publication, so no reading extends the old line past it. The rate
    /// is the host's over the last `rateWindow`, sped up to close the lead's shortfall, never
    /// slowed: a program timing a sleep on its clock never finds it shorter than asked.
    private func update() {
        guard state.enabled else { return }
        let sample = Self.sample()
        state.history.append(sample)
        state.history.removeAll { sample.monotonic - $0.monotonic > Self.rateWindow }
        guard let baseline = state.history.first, sample.tsc > baseline.tsc,
            sample.monotonic - baseline.monotonic >= Int64(Self.interval / 4)
        else { return }
        let hostRate = Double(sample.monotonic - baseline.monotonic) / Double(sample.tsc - baseline.tsc)  // ns per cycle
        for page in state.pages { cshim_vdso_begin(page) }
        let tsc = cshim_read_tsc()
        let host = sample.monotonic + Int64(Double(tsc &- sample.tsc) * hostRate)
        var base = host + Self.lead
        if let old = state.parameters {
            let shown = old.value(at: min(tsc, old.tscBase &+ old.maximumDelta))
            if shown >= host { base = shown }
        }
        let shortfall = Self.lead - (base - host)
        let correction = max(0, min(Self.maximumCorrection, Double(shortfall) / Double(Self.interval)))
        state.parameters = Parameters(
            tscBase: tsc, monotonicBase: base, realtimeOffset: sample.realtimeOffset,
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

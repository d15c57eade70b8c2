import HostSys
import LinuxABI
import Logging

extension Syscalls {
    /// Implements Linux uname(2): Linux on x86_64, with the sandbox's host and domain names.
    /// The release is what gVisor reports, so that programs see the same kernel under either.
    static func uname(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let fields: [[UInt8]] = [
            Array("Linux".utf8), task.sandbox.hostname, Array("4.4.0".utf8), Array("#1 SMP Sun Jan 10 15:06:54 PST 2016".utf8),
            Array("x86_64".utf8), task.sandbox.domainname,
        ]
        var bytes: [UInt8] = []
        for field in fields {
            let value = Array(field.prefix(64))
            bytes += value + Array(repeating: 0, count: 65 - value.count)
        }
        try task.mm.copyOut(bytes, to: arguments[0])
        return .value(0)
    }

    /// Implements Linux sethostname(2) and setdomainname(2): CAP_SYS_ADMIN (EPERM), at most
    /// 64 bytes (EINVAL).
    static func sethostname(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        task.sandbox.hostname = try utsName(task, arguments)
        return .value(0)
    }

    static func setdomainname(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        task.sandbox.domainname = try utsName(task, arguments)
        return .value(0)
    }

    private static func utsName(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> [UInt8] {
        guard task.group.credentials.has(Capability.sysAdmin) else { throw .EPERM }
        guard arguments[1] <= 64 else { throw .EINVAL }
        return try task.mm.copyIn(from: arguments[0], count: Int(arguments[1]))
    }

    /// getrandom(2) flags.
    static let randomNonBlocking: UInt64 = 1, randomTrue: UInt64 = 2, randomInsecure: UInt64 = 4

    /// Implements Linux getrandom(2) from the host's generator (at most 32 MiB - 1 a call, as
    /// Linux). GRND_RANDOM with GRND_INSECURE is EINVAL.
    static func getrandom(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let flags = arguments[2]
        guard flags & ~(randomNonBlocking | randomTrue | randomInsecure) == 0,
            flags & (randomTrue | randomInsecure) != (randomTrue | randomInsecure)
        else { throw .EINVAL }
        let count = Int(min(arguments[1], 0x1ff_ffff))
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: count)
        for index in stride(from: 0, to: count, by: 8) {
            let word = generator.next()
            for offset in 0..<min(8, count - index) { bytes[index + offset] = UInt8(truncatingIfNeeded: word >> (8 * offset)) }
        }
        try task.mm.copyOut(bytes, to: arguments[0])
        return .value(Int64(count))
    }

    /// Implements Linux sysinfo(2): the uptime, the memory the sandbox offers (as
    /// /proc/meminfo), no swap, the number of processes; the load averages are 0, as
    /// /proc/loadavg shows them.
    static func sysinfo(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        var info = [UInt8](repeating: 0, count: 112)
        func put(_ value: UInt64, at offset: Int, size: Int = 8) { info.replaceSubrange(offset..<(offset + size), with: bytes(value).prefix(size)) }
        let elapsed = Clock.monotonicNanoseconds() - task.sandbox.startTime
        put(elapsed / 1_000_000_000 + (elapsed % 1_000_000_000 == 0 ? 0 : 1), at: 0)  // rounded up, as Linux
        put(UInt64(Sandbox.memoryBytes), at: 32)  // totalram
        put(UInt64(Sandbox.memoryBytes / 2), at: 40)  // freeram, as MemFree
        put(UInt64(task.sandbox.liveProcesses().reduce(0) { $0 + $1.liveThreads.count }), at: 80, size: 2)  // procs: threads, as Linux
        put(1, at: 104, size: 4)  // mem_unit
        try task.mm.copyOut(info, to: arguments[0])
        return .value(0)
    }
}

extension Syscalls {
    /// personality(2) values: the query, PER_LINUX, and ADDR_NO_RANDOMIZE (which always holds:
    /// the Sentry places mappings at the same addresses every time).
    static let personalityQuery: UInt64 = 0xffff_ffff, addressNoRandomize: UInt64 = 0x0040000
    private static let personalityLog = Logger(label: "sentry.syscalls")

    /// Implements Linux personality(2) for PER_LINUX, with or without ADDR_NO_RANDOMIZE:
    /// returns the previous persona (0xffffffff only asks). Other personas (another ABI,
    /// READ_IMPLIES_EXEC, a 3 GiB address space...) are not served: EINVAL, and logged, rather
    /// than claimed.
    static func personality(_ task: Task, _ arguments: SyscallArguments) throws(LinuxErrno) -> SyscallOutcome {
        let old = task.group.personality
        let requested = arguments[0] & 0xffff_ffff
        if requested == personalityQuery { return .value(Int64(old)) }
        guard requested & ~addressNoRandomize == 0 else {
            personalityLog.notice("personality \(String(requested, radix: 16)) is not served")
            throw .EINVAL
        }
        task.group.personality = UInt32(requested)
        return .value(Int64(old))
    }
}

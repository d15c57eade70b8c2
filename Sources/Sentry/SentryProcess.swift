import Glibc
import Gofer
import HostSys
import LinuxABI
import Netstack
import Logging

/// The `runsc boot` process: the Sentry of one sandbox. runsc starts it in new pid, mount,
/// ipc, uts and network namespaces with the caller's stdio and the gofer's socket; it
/// mounts the gofer's tree as the program's root (under a tmpfs overlay with `overlay`),
/// installs its own seccomp filter, and runs the program until it ends.
public enum SentryProcess {
    private static let log = Logger(label: "sentry")

    /// Host signals the Sentry passes on to the program's init (pid 1), as `runsc kill` and a
    /// terminal send them; SIGKILL and SIGSTOP cannot be caught and act on the Sentry itself.
    static let forwardedSignals: [LinuxSignal] = [.SIGHUP, .SIGINT, .SIGQUIT, .SIGUSR1, .SIGUSR2, .SIGTERM, .SIGWINCH]

    /// Runs `path` with `arguments` and returns the shell-style exit code: the program's exit
    /// status, or 128 + the signal that killed it.
    /// With `strace`, a line per syscall goes to `logFD` (an inherited fd; stderr by default).
    /// With `startGate`, the program starts only once a byte can be read from that fd
    /// (`runsc start` writes it; end of file means the container is deleted before it started).
    public static func run(
        goferSocket: consuming FileDescriptor, path: String, arguments: [String], environment: [String],
        workingDirectory: String, user: Kernel.ProgramUser = .root, hostname: String = "runsc", overlay: Bool = false, netstack: Int32? = nil, filter: Bool = true,
        strace: Bool = false, logFD: Int32 = 2, startGate: Int32? = nil
    ) throws(LinuxErrno) -> Int32 {
        // Before any thread starts, so that every thread inherits the mask and only the
        // forwarding thread takes these signals.
        do {
            try HostSignals.block(forwardedSignals)
        } catch {
            throw error.linuxErrno
        }
        let client = try LisafsClient(socket: goferSocket, channels: 1)
        // The Netstack's channels, opened before the filter goes on.
        var network: NetstackClient?
        if let netstack {
            let control = FileDescriptor(owning: netstack)
            let stack = try NetstackClient(control: control)
            stack.onChange = { Readiness.changed() }
            try onBehalfOfGuest { () throws(Errno) in try stack.start() }
            network = stack
        }
        // Nothing of the host's file system is needed from here on (the program's files come
        // from the gofer): an empty root, and no capability but CAP_SYS_PTRACE, which
        // attaching a new stub thread needs where Yama's ptrace_scope is 2. libnuma reads
        // /sys once, first.
        _ = NUMA.currentNode()
        // The program's clocks (and the vDSO's parameters): it reads the host's clock source.
        Timekeeper.shared.start()
        do {
            try Confinement.pivotToEmptyRoot()
            try Confinement.limitCapabilities(to: [.sysPtrace])
        } catch {
            throw error.linuxErrno
        }
        if let startGate {
            var byte: UInt8 = 0
            let count = try onBehalfOfGuest { () throws(Errno) in
                try withUnsafeMutableBytes(of: &byte) { (buffer) throws(Errno) in
                    try hostCall { Glibc.read(startGate, buffer.baseAddress, 1) }
                }
            }
            guard count == 1 else { return 128 + LinuxSignal.SIGKILL.rawValue }  // never started
            Glibc.close(startGate)
        }
        if filter {
            do {
                try seccompFilter.load()
            } catch {
                throw error.linuxErrno
            }
        }
        var trace: (@Sendable (String) -> Void)?
        if strace {
            trace = { line in
                var bytes = Array((line + "\n").utf8)
                _ = bytes.withUnsafeMutableBytes { Glibc.write(logFD, $0.baseAddress, $0.count) }
            }
        }
        let outcome = try Kernel.run(
            path: path, arguments: arguments, environment: environment, root: client, overlay: overlay, network: network, user: user,
            hostname: hostname,
            workingDirectory: workingDirectory, stdio: .host, trace: trace, started: forwardSignals)
        for (sysno, count) in outcome.unimplementedCalls.sorted(by: { $0.key < $1.key }) {
            log.debug("unimplemented syscall \(sysno) called \(count) times")
        }
        return outcome.status.shellCode
    }

    /// Starts the thread that passes host signals on to the program's init.
    static func forwardSignals(to sandbox: Sandbox) {
        try? HostThread.detach {
            while true {
                let signal = HostSignals.wait(forwardedSignals)
                // ESRCH: init has ended, and the Sentry with it.
                try? sandbox.signal(1, signal.rawValue, from: 0)
            }
        }
    }

    /// The Sentry's allow-list: what it needs to trace stubs, move memory and talk to the
    /// gofer. The program's syscalls never reach the host, so nothing here is for them.
    /// The stub's own code between fork and its stop runs under this filter too (it is
    /// inherited), so the calls it makes there are listed.
    public static var seccompFilter: SeccompFilter {
        var filter = SeccompFilter(defaultAction: .killProcess)
        filter.allow([
            // Tracing stubs: fork from C, ptrace, wait, signals to them.
            .clone, .ptrace, .wait4, .waitid, .kill, .tgkill, .getpid, .gettid, .getppid,
            // The stub's own steps before it stops.
            .prctl, .dup2, .close_range, .rseq, .seccomp, .rt_sigprocmask, .rt_sigaction,
            // Memory: the memory file and mappings.
            .memfd_create, .ftruncate, .fcntl, .mmap, .munmap, .mprotect, .madvise, .mremap, .brk,
            // The gofer: socket, flipcall channels, donated fds.
            .sendmsg, .recvmsg, .futex, .poll, .ppoll, .read, .write, .pread64, .pwrite64, .readv, .writev,
            .close, .dup, .openat, .fstat, .newfstatat, .statx, .lseek,
            // Time, threads and the runtime.
            .clock_gettime, .clock_nanosleep, .nanosleep, .sched_yield, .sched_getaffinity, .getrandom,
            .set_robust_list, .sigaltstack, .rt_sigreturn, .exit, .exit_group, .prlimit64, .get_mempolicy, .mbind,
            // Forwarding host signals to the program: sigwait.
            .rt_sigtimedwait,
            // A sleep interrupted by a stop and a continue is resumed through restart_syscall.
            .restart_syscall,
            .getcpu,
        ])
        // A tracer thread pins itself to its CPU (only itself: pid 0).
        filter.allow(.sched_setaffinity, where: [.init(0, .equal(0))])
        // The terminal requests HostStream passes on for a program whose stdio is a terminal.
        for request in [0x5401, 0x5402, 0x5403, 0x5404, 0x5413, 0x5414] {
            filter.allow(.ioctl, where: [.init(1, .equal(UInt64(request)))])
        }
        // Tracer threads: glibc tries clone3 first and falls back to clone on ENOSYS.
        filter.add(.errno(.ENOSYS), for: .clone3)
        return filter
    }
}

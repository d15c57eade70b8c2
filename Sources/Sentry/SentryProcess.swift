import Glibc
import Gofer
import HostSys
import LinuxABI
import Logging

/// The `runsc boot` process: the Sentry of one sandbox. runsc starts it in new pid, mount,
/// ipc, uts and network namespaces with the caller's stdio and the gofer's socket; it
/// mounts the gofer's tree as the program's root, installs its own seccomp filter, and runs
/// the program until it ends.
public enum SentryProcess {
    private static let log = Logger(label: "sentry")

    /// Runs `path` with `arguments` and returns the shell-style exit code: the program's exit
    /// status, or 128 + the signal that killed it.
    /// With `strace`, a line per syscall goes to `logFD` (an inherited fd; stderr by default).
    public static func run(
        goferSocket: consuming FileDescriptor, path: String, arguments: [String], environment: [String],
        workingDirectory: String, filter: Bool = true, strace: Bool = false, logFD: Int32 = 2
    ) throws(LinuxErrno) -> Int32 {
        let client = try LisafsClient(socket: goferSocket, channels: 1)
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
            path: path, arguments: arguments, environment: environment, root: client, workingDirectory: workingDirectory,
            stdio: .host, trace: trace)
        for (sysno, count) in outcome.unimplementedCalls.sorted(by: { $0.key < $1.key }) {
            log.debug("unimplemented syscall \(sysno) called \(count) times")
        }
        return outcome.status.shellCode
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
            .getcpu,
        ])
        // A tracer thread pins itself to its CPU (only itself: pid 0).
        filter.allow(.sched_setaffinity, where: [.init(0, .equal(0))])
        // Tracer threads: glibc tries clone3 first and falls back to clone on ENOSYS.
        filter.add(.errno(.ENOSYS), for: .clone3)
        return filter
    }
}

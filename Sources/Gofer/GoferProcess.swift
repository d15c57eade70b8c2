import HostSys
import LinuxABI
import Logging

/// The `runsc gofer` process: the only process of a sandbox that touches the container's
/// files. It confines itself before it reads a byte from the Sentry:
///
/// 1. it was started in a new mount namespace and an empty network namespace (by runsc);
/// 2. it makes its mounts private, bind-mounts the served tree (read-only if asked) and
///    pivot_roots into it, detaching the old root: no path leads outside the tree (serving
///    the host's whole root, for `runsc do`, it only remounts it read-only);
/// 3. it keeps only the capabilities a file server needs, and sets no_new_privs;
/// 4. it installs a seccomp allow-list of the calls it makes; any other call kills it.
public enum GoferProcess {
    private static let log = Logger(label: "gofer")

    /// Capabilities the gofer keeps: to create files with the owners the Sentry asks for and
    /// to read and write them whatever their modes.
    public static let capabilities: Set<Confinement.Capability> = [.chown, .dacOverride, .dacReadSearch, .fowner, .fsetid]

    /// Confines this process to `root` and serves lisafs on `socket` until the Sentry closes
    /// it. Must run in a fresh mount namespace, before any other thread starts.
    public static func run(root: String, socket: consuming FileDescriptor, readOnly: Bool) throws(Errno) {
        // libnuma reads /sys once, when first asked; ask while /sys is still visible.
        _ = NUMA.currentNode()
        try Confinement.makeMountsPrivate()
        if root == "/" {
            // The host's whole root (runsc do): nothing lies outside it to hide.
            if readOnly { try Confinement.remountRootReadOnly() }
        } else {
            try Confinement.pivotRoot(to: root, readOnly: readOnly)
        }
        let tree = try FileDescriptor.open("/", flags: OpenFlags([.path, .directory]).rawValue)
        try Confinement.limitCapabilities(to: capabilities)
        try seccompFilter.load()
        let server = try LisafsServer(root: tree, readOnly: readOnly)
        LisafsConnection(server: server, socket: socket).serve()
    }

    /// The gofer's allow-list. Everything not listed kills the process (SIGSYS).
    public static var seccompFilter: SeccompFilter {
        var filter = SeccompFilter(defaultAction: .killProcess)
        filter.allow([
            // lisafs: files relative to fds the server holds.
            .openat, .close, .read, .write, .readv, .writev, .pread64, .pwrite64, .lseek, .fstat, .newfstatat,
            .statx, .fstatfs, .getdents64, .readlinkat, .mkdirat, .mknodat, .symlinkat, .linkat, .unlinkat,
            .renameat2, .fchownat, .utimensat, .fchmodat2, .fsync, .fdatasync, .fallocate, .ftruncate, .fcntl, .dup,
            // Transport: the socket, flipcall channels (memfd, futex), liveness polls.
            .recvmsg, .sendmsg, .socketpair, .memfd_create, .futex, .poll, .ppoll, .mmap, .munmap, .mprotect,
            .madvise, .mremap, .brk,
            // Threads (one per channel) and the runtime.
            .set_robust_list, .rseq, .rt_sigaction, .rt_sigprocmask, .rt_sigreturn, .sigaltstack, .sched_yield,
            .sched_getaffinity, .gettid, .getpid, .tgkill, .getrandom, .clock_gettime, .clock_nanosleep,
            .nanosleep, .exit, .exit_group, .prlimit64,
            // A sleep interrupted by a stop and a continue is resumed through restart_syscall.
            .restart_syscall,
            // NUMA placement of channel memory (libnuma), and the CPU it asks about.
            .get_mempolicy, .mbind, .getcpu,
        ])
        // Threads only: clone with CLONE_THREAD (0x10000). clone3 answers ENOSYS, so glibc
        // falls back to clone, whose flags the filter can see.
        filter.allow(.clone, where: [.init(0, .maskedEqual(mask: 0x10000, value: 0x10000))])
        filter.add(.errno(.ENOSYS), for: .clone3)
        return filter
    }
}

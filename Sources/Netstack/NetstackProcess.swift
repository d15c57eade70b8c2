import HostSys
import LinuxABI

/// The `runsc netstack` process (DESIGN.md, "Netstack"): the sandbox's TCP/IP stack, apart
/// from the Sentry, so that a bug in packet parsing reaches neither the program's memory nor
/// its files. runsc starts it in a new mount namespace; it confines itself (an empty root, no
/// capabilities, its own seccomp allow-list) before it reads anything the Sentry or the
/// network sends, then serves the Sentry's socket calls (`NetstackServer`).
///
/// runsc starts it in new mount and network namespaces. With `--network=none` the stack has
/// only a loopback interface (127.0.0.1/8). With `--network=sandbox` runsc moves one end of a
/// veth pair into the Netstack's namespace, without an address (so the host kernel answers
/// nothing there); the Netstack sets it up, opens an AF_PACKET socket on it and takes the
/// address itself. The namespace lives as long as the Netstack: when it ends, the veth goes.
public enum NetstackProcess {
    /// Where the stack attaches with `--network=sandbox`.
    public struct Attachment: Sendable {
        /// An inherited fd to read one byte from once runsc has moved the veth's end into the
        /// Netstack's network namespace (end of file: runsc gave up).
        public var readyFD: Int32
        public var interface: String
        public var address: IPv4Subnet
        public var gateway: IPv4Address?

        public init(readyFD: Int32, interface: String, address: IPv4Subnet, gateway: IPv4Address?) {
            self.readyFD = readyFD
            self.interface = interface
            self.address = address
            self.gateway = gateway
        }
    }

    /// Confines this process and serves the Sentry at the other end of `control` until it is
    /// gone. Must run in a fresh mount namespace, before any other thread starts.
    /// With `captureFD` (an inherited, writable file), every frame of the stack's link goes
    /// there as a pcap capture: the veth's Ethernet frames, or the loopback's IPv4 packets.
    public static func run(control: consuming FileDescriptor, attachment: Attachment? = nil, captureFD: Int32? = nil) throws(LinuxErrno) {
        var link: PacketLink?
        do throws(Errno) {
            if let attachment {
                let ready = FileDescriptor(owning: attachment.readyFD)
                var byte: UInt8 = 0
                guard try withUnsafeMutableBytes(of: &byte, { (buffer) throws(Errno) in try ready.read(into: buffer) }) == 1 else {
                    throw Errno.ENODEV
                }
                try NetworkInterface.setUp(attachment.interface)
                link = PacketLink(socket: try PacketSocket(interface: attachment.interface))
            }
            _ = NUMA.currentNode()  // libnuma reads /sys once; ask while it is visible
            try Confinement.pivotToEmptyRoot()
            try Confinement.limitCapabilities(to: [])
            try seccompFilter.load()
        } catch {
            throw error.linuxErrno
        }
        let capture = captureFD.map { PacketCapture(fd: FileDescriptor(owning: $0), linkType: link == nil ? .rawIPv4 : .ethernet) }
        let service: SocketService
        if let link, let attachment {
            link.capture = capture
            service = .sandbox(link: link, address: attachment.address, gateway: attachment.gateway)
        } else {
            service = .loopbackOnly(capture: capture)
        }
        do {
            try service.start()
            if let link { try service.startReceiving(from: link, interface: 1) }
        } catch {
            throw error.linuxErrno
        }
        try NetstackServer.serve(service, control: control)
    }

    /// The Netstack's allow-list: channels and ring (futex, shared memory, the control
    /// socket), its threads and timers. Everything else kills it.
    public static var seccompFilter: SeccompFilter {
        var filter = SeccompFilter(defaultAction: .killProcess)
        filter.allow([
            // The control socket, flipcall channels and ring, liveness polls.
            .recvmsg, .sendmsg, .close, .read, .write, .futex, .poll, .ppoll, .mmap, .munmap, .mprotect, .madvise,
            // The packet socket on the veth.
            .recvmmsg, .sendmmsg,
            .mremap, .brk, .fcntl, .fstat, .newfstatat,
            // Threads (one per channel, one for timers) and the runtime.
            .set_robust_list, .rseq, .rt_sigaction, .rt_sigprocmask, .rt_sigreturn, .sigaltstack, .sched_yield,
            .sched_getaffinity, .gettid, .getpid, .tgkill, .getrandom, .clock_gettime, .clock_nanosleep,
            .nanosleep, .exit, .exit_group, .prlimit64, .get_mempolicy, .mbind, .getcpu,
            // A sleep interrupted by a stop and a continue is resumed through restart_syscall.
            .restart_syscall,
        ])
        filter.allow(.clone, where: [.init(0, .maskedEqual(mask: 0x10000, value: 0x10000))])
        filter.add(.errno(.ENOSYS), for: .clone3)
        // glibc opens /sys files when a new thread first allocates (it counts CPUs for its
        // malloc arenas); the root is empty, so the answer is ENOENT either way.
        filter.add(.errno(.ENOENT), for: .openat)
        return filter
    }
}

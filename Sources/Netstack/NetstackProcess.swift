import HostSys
import LinuxABI

/// The `runsc netstack` process (DESIGN.md, "Netstack"): the sandbox's TCP/IP stack, apart
/// from the Sentry, so that a bug in packet parsing reaches neither the program's memory nor
/// its files. runsc starts it in a new mount namespace; it confines itself (an empty root, no
/// capabilities, its own seccomp allow-list) before it reads anything the Sentry or the
/// network sends, then serves the Sentry's socket calls (`NetstackServer`).
///
/// runsc starts it in a new mount namespace, and either in a new network namespace or in the
/// one a bundle names. With `--network=none` the stack has only a loopback interface
/// (127.0.0.1/8). With `--network=sandbox` runsc moves one end of a veth pair into the
/// Netstack's new namespace, without an address (so the host kernel answers nothing there),
/// and says which address to take; the namespace lives as long as the Netstack, and when it
/// ends the veth goes. In a namespace a bundle names, the Netstack reads the interfaces,
/// addresses and routes over netlink and removes the addresses from the host kernel
/// (`NetworkConfiguration.takeOver`). Either way it opens an AF_PACKET socket on each
/// interface and answers for the addresses itself.
public enum NetstackProcess {
    /// Where the stack's interfaces come from.
    public enum Network: Sendable {
        /// runsc moves the interfaces of `configuration` into the Netstack's new network
        /// namespace, then writes one byte to `readyFD` (end of file: runsc gave up).
        case moved(readyFD: Int32, configuration: NetworkConfiguration)
        /// The Netstack joins the network namespace `namespaceFD` refers to and takes over
        /// the interfaces it finds there.
        case joined(namespaceFD: Int32)
    }

    /// Confines this process and serves the Sentry at the other end of `control` until it is
    /// gone. Must run in a fresh mount namespace, before any other thread starts.
    /// With `captureFD` (an inherited, writable file), every frame of the stack's links goes
    /// there as a pcap capture: the interfaces' Ethernet frames, or, without a network, the
    /// loopback's IPv4 packets.
    public static func run(control: consuming FileDescriptor, network: Network? = nil, captureFD: Int32? = nil) throws(LinuxErrno) {
        var links: [PacketLink] = []
        var configuration = NetworkConfiguration(interfaces: [], routes: [])
        var hostAddresses: [RouteNetlink.Address] = []
        do throws(Errno) {
            switch network {
            case .moved(let readyFD, let given):
                let ready = FileDescriptor(owning: readyFD)
                var byte: UInt8 = 0
                guard try withUnsafeMutableBytes(of: &byte, { (buffer) throws(Errno) in try ready.read(into: buffer) }) == 1 else {
                    throw Errno.ENODEV
                }
                configuration = given
            case .joined(let namespaceFD):
                // Before any other thread starts: the threads started later share it.
                try Namespace.joinNetwork(FileDescriptor(owning: namespaceFD))
                (configuration, hostAddresses) = try NetworkConfiguration.read()
            case nil:
                break
            }
            for interface in configuration.interfaces {
                try NetworkInterface.setUp(interface.name)
                links.append(PacketLink(socket: try PacketSocket(interface: interface.name)))
            }
            // Only once every link is open: a failure before leaves the namespace as it was.
            try NetworkConfiguration.removeFromHost(hostAddresses)
            _ = NUMA.currentNode()  // libnuma reads /sys once; ask while it is visible
            try Confinement.pivotToEmptyRoot()
            try Confinement.limitCapabilities(to: [])
            try seccompFilter.load()
        } catch {
            throw error.linuxErrno
        }
        let capture = captureFD.map { PacketCapture(fd: FileDescriptor(owning: $0), linkType: links.isEmpty ? .rawIPv4 : .ethernet) }
        let service: SocketService
        var interfaces: [Int] = []
        if links.isEmpty {
            service = .loopbackOnly(capture: capture)
        } else {
            for link in links { link.capture = capture }
            (service, interfaces) = SocketService.sandbox(links: links, configuration: configuration)
        }
        do {
            try service.start()
            for (link, interface) in zip(links, interfaces) { try service.startReceiving(from: link, interface: interface) }
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

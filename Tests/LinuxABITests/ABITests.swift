import CShim
import Glibc
import LinuxABI
import Testing

/// A table of the C headers as Swift pairs.
func cTable(_ entries: (UnsafeMutablePointer<Int32>) -> UnsafePointer<cshim_abi_entry>?) -> [(name: String, value: Int)] {
    var count: Int32 = 0
    guard let table = entries(&count) else { return [] }
    return (0..<Int(count)).map { (String(cString: table[$0].name), Int(table[$0].value)) }
}

/// A constant from a C header that Swift's Glibc module leaves out.
func cConstant(_ name: String) -> Int { cshim_abi_constant(name) }

@Suite("LinuxABI against the C headers")
struct ABITests {
    @Test("every x86-64 syscall number matches <sys/syscall.h>")
    func syscallNumbers() {
        let c = cTable(cshim_syscall_entries)
        #expect(c.count == Sysno.amd64.count)
        #expect(c.count > 350)
        for (entry, swift) in zip(c, Sysno.amd64) {
            #expect(entry.name == swift.name)
            #expect(entry.value == swift.sysno.rawValue, "\(entry.name)")
            #expect(Sysno(name: entry.name) == swift.sysno)
            #expect(swift.sysno.name == entry.name)
        }
        #expect(Sysno.read.rawValue == Int(SYS_read))
        #expect(Sysno.rt_sigreturn.rawValue == 15)
        #expect(Sysno.clone3.rawValue == 435)
        #expect(Sysno(999).name == nil)
        #expect(Sysno(999).description == "syscall_999")
    }

    @Test("every errno matches <errno.h>, with names and texts")
    func errnos() {
        let c = cTable(cshim_errno_entries)
        #expect(c.count >= 131)
        for entry in c {
            let errno = LinuxErrno(Int32(entry.value))
            #expect(errno.name == entry.name, "\(entry.name)")
            #expect(LinuxErrno(name: entry.name) == errno)
        }
        #expect(LinuxErrno.ENOENT.rawValue == ENOENT)
        #expect(LinuxErrno.EWOULDBLOCK == .EAGAIN)
        #expect(LinuxErrno.ENOENT.description == "ENOENT (No such file or directory)")
        #expect(LinuxErrno(41).name == nil)  // never assigned
        #expect(LinuxErrno(-5).description == "errno -5")
        #expect(LinuxErrno(100_000).name == nil)
    }

    @Test("the internal restart codes are named and marked as never reaching a program")
    func restartCodes() {
        let codes: [(LinuxErrno, String, Int32)] = [
            (.ERESTARTSYS, "ERESTARTSYS", 512), (.ERESTARTNOINTR, "ERESTARTNOINTR", 513),
            (.ERESTARTNOHAND, "ERESTARTNOHAND", 514), (.ENOIOCTLCMD, "ENOIOCTLCMD", 515),
            (.ERESTART_RESTARTBLOCK, "ERESTART_RESTARTBLOCK", 516),
        ]
        for (code, name, value) in codes {
            #expect(code.rawValue == value)
            #expect(code.name == name)
            #expect(code.isInternalRestart)
            #expect(LinuxErrno(name: name) == code)
        }
        #expect(!LinuxErrno.EINTR.isInternalRestart)
        #expect(!LinuxErrno(517).isInternalRestart)
    }

    @Test("struct sizes and field offsets match the C layouts")
    func structLayouts() {
        #expect(MemoryLayout<LinuxTimespec>.size == MemoryLayout<timespec>.size)
        #expect(MemoryLayout<LinuxStat>.size == MemoryLayout<stat>.size)
        #expect(MemoryLayout<LinuxStat>.size == 144)
        #expect(MemoryLayout<LinuxStat>.offset(of: \.mode) == MemoryLayout<stat>.offset(of: \.st_mode))
        #expect(MemoryLayout<LinuxStat>.offset(of: \.rdev) == MemoryLayout<stat>.offset(of: \.st_rdev))
        #expect(MemoryLayout<LinuxStat>.offset(of: \.size) == MemoryLayout<stat>.offset(of: \.st_size))
        #expect(MemoryLayout<LinuxStat>.offset(of: \.blocks) == MemoryLayout<stat>.offset(of: \.st_blocks))
        #expect(MemoryLayout<LinuxStat>.offset(of: \.atime) == MemoryLayout<stat>.offset(of: \.st_atim))
        #expect(MemoryLayout<LinuxStat>.offset(of: \.ctime) == MemoryLayout<stat>.offset(of: \.st_ctim))

        #expect(MemoryLayout<LinuxUserRegs>.size == MemoryLayout<user_regs_struct>.size)
        #expect(MemoryLayout<LinuxUserRegs>.offset(of: \.origRax) == MemoryLayout<user_regs_struct>.offset(of: \.orig_rax))
        #expect(MemoryLayout<LinuxUserRegs>.offset(of: \.rip) == MemoryLayout<user_regs_struct>.offset(of: \.rip))
        #expect(MemoryLayout<LinuxUserRegs>.offset(of: \.fsBase) == MemoryLayout<user_regs_struct>.offset(of: \.fs_base))
        #expect(MemoryLayout<LinuxUserRegs>.offset(of: \.gs) == MemoryLayout<user_regs_struct>.offset(of: \.gs))

        #expect(MemoryLayout<LinuxStatx>.size == cConstant("sizeof(struct statx)"))
        #expect(MemoryLayout<LinuxStatx>.size == 256)
        #expect(MemoryLayout<LinuxStatx>.offset(of: \.mode) == cConstant("offsetof(struct statx, stx_mode)"))
        #expect(MemoryLayout<LinuxStatx>.offset(of: \.ino) == cConstant("offsetof(struct statx, stx_ino)"))
        #expect(MemoryLayout<LinuxStatx>.offset(of: \.atime) == cConstant("offsetof(struct statx, stx_atime)"))
        #expect(MemoryLayout<LinuxStatx>.offset(of: \.mtime) == cConstant("offsetof(struct statx, stx_mtime)"))
        #expect(MemoryLayout<LinuxStatx>.offset(of: \.rdevMajor) == cConstant("offsetof(struct statx, stx_rdev_major)"))
        #expect(MemoryLayout<LinuxStatx>.offset(of: \.mountID) == cConstant("offsetof(struct statx, stx_mnt_id)"))
        #expect(MemoryLayout<LinuxStatfs>.size == cConstant("sizeof(struct statfs)"))
        #expect(MemoryLayout<LinuxStatfs>.offset(of: \.nameLength) == cConstant("offsetof(struct statfs, f_namelen)"))
        #expect(Int(LinuxStatx.basicStats) == cConstant("STATX_BASIC_STATS"))
        #expect(FileMode.typeMask == 0o170000 && FileMode.symlink == UInt32(Glibc.S_IFLNK))

        #expect(MemoryLayout<LinuxControlMessageHeader>.size == MemoryLayout<cmsghdr>.size)
        #expect(MemoryLayout<LinuxControlMessageHeader>.offset(of: \.type) == MemoryLayout<cmsghdr>.offset(of: \.cmsg_type))
    }

    @Test("constants match the C macros")
    func constants() {
        #expect(FutexOp.wait.rawValue == FUTEX_WAIT)
        #expect(FutexOp.wake.rawValue == FUTEX_WAKE)
        #expect(FutexOp.requeue.rawValue == FUTEX_REQUEUE)
        #expect(FutexOp.cmpRequeue.rawValue == FUTEX_CMP_REQUEUE)
        #expect(FutexOp.waitBitset.rawValue == FUTEX_WAIT_BITSET)
        #expect(FutexOp.wakeBitset.rawValue == FUTEX_WAKE_BITSET)
        #expect(FutexOp.privateFlag == FUTEX_PRIVATE_FLAG)
        #expect(FutexOp.clockRealtimeFlag == FUTEX_CLOCK_REALTIME)

        #expect(MemoryProtection.read.rawValue == PROT_READ)
        #expect(MemoryProtection.write.rawValue == PROT_WRITE)
        #expect(MemoryProtection.exec.rawValue == PROT_EXEC)
        #expect(MapFlags.shared.rawValue == MAP_SHARED)
        #expect(MapFlags.private.rawValue == MAP_PRIVATE)
        #expect(MapFlags.fixed.rawValue == MAP_FIXED)
        #expect(MapFlags.anonymous.rawValue == MAP_ANONYMOUS)
        #expect(MapFlags.noReserve.rawValue == MAP_NORESERVE)
        #expect(MapFlags.populate.rawValue == MAP_POPULATE)
        #expect(MapFlags.growsDown.rawValue == MAP_GROWSDOWN)
        #expect(MapFlags.stack.rawValue == MAP_STACK)

        #expect(Int(FileSeals.seal.rawValue) == cConstant("F_SEAL_SEAL"))
        #expect(Int(FileSeals.shrink.rawValue) == cConstant("F_SEAL_SHRINK"))
        #expect(Int(FileSeals.grow.rawValue) == cConstant("F_SEAL_GROW"))
        #expect(Int(FileSeals.write.rawValue) == cConstant("F_SEAL_WRITE"))
        #expect(Int(FcntlSealCommand.addSeals) == cConstant("F_ADD_SEALS"))
        #expect(Int(FileSeals.futureWrite.rawValue) == cConstant("F_SEAL_FUTURE_WRITE"))
        #expect(Int(MemfdFlags.allowSealing.rawValue) == cConstant("MFD_ALLOW_SEALING"))
        #expect(Int(MemfdFlags.closeOnExec.rawValue) == cConstant("MFD_CLOEXEC"))
        #expect(Int(MapFlags.fixedNoReplace.rawValue) == cConstant("MAP_FIXED_NOREPLACE"))
        #expect(cConstant("NO_SUCH_THING") == Int.min)
        #expect(Int(FcntlSealCommand.getSeals) == cConstant("F_GET_SEALS"))

        #expect(Int(OpenFlags.path.rawValue) == cConstant("O_PATH"))
        #expect(Int(OpenFlags.noFollow.rawValue) == cConstant("O_NOFOLLOW"))
        #expect(Int(OpenFlags.directory.rawValue) == cConstant("O_DIRECTORY"))
        #expect(OpenFlags.create.rawValue == O_CREAT && OpenFlags.exclusive.rawValue == O_EXCL)
        #expect(OpenFlags.truncate.rawValue == O_TRUNC && OpenFlags.append.rawValue == O_APPEND)
        #expect(OpenFlags.closeOnExec.rawValue == O_CLOEXEC && OpenFlags.nonBlocking.rawValue == O_NONBLOCK)
        #expect(OpenFlags.readWrite.rawValue == O_RDWR && OpenFlags.writeOnly.rawValue == O_WRONLY)
        #expect(AtFlags.currentDirectory == AT_FDCWD)
        #expect(Int(AtFlags.emptyPath) == cConstant("AT_EMPTY_PATH"))
        #expect(Int(AtFlags.symlinkNoFollow) == cConstant("AT_SYMLINK_NOFOLLOW"))
        #expect(Int(AtFlags.removeDirectory) == cConstant("AT_REMOVEDIR"))
        #expect(Int(RenameFlags.noReplace) == cConstant("RENAME_NOREPLACE"))
        #expect(Int(RenameFlags.exchange) == cConstant("RENAME_EXCHANGE"))

        #expect(AddressFamily.unix == AF_UNIX)
        #expect(AddressFamily.inet == AF_INET)
        #expect(AddressFamily.inet6 == AF_INET6)
        #expect(AddressFamily.packet == AF_PACKET)
        #expect(AddressFamily.netlink == AF_NETLINK)
        #expect(SocketType.closeOnExecFlag == Int32(SOCK_CLOEXEC.rawValue))
        #expect(SocketType.nonBlockFlag == Int32(SOCK_NONBLOCK.rawValue))
        #expect(SocketLevel.socket == SOL_SOCKET)
        #expect(SocketLevel.rights == Int32(SCM_RIGHTS))
        #expect(MessageFlags.noSignal.rawValue == Int32(MSG_NOSIGNAL))
        #expect(MessageFlags.controlTruncated.rawValue == Int32(MSG_CTRUNC))
        #expect(MessageFlags.closeOnExec.rawValue == Int32(MSG_CMSG_CLOEXEC))
        #expect(PollEvents.input.rawValue == Int16(POLLIN))
        #expect(PollEvents.hangUp.rawValue == Int16(POLLHUP))
        #expect(PollEvents.readHangUp.rawValue == 0x2000)

        let signals: [(LinuxSignal, Int32)] = [
            (.SIGHUP, SIGHUP), (.SIGKILL, SIGKILL), (.SIGSEGV, SIGSEGV), (.SIGCHLD, SIGCHLD),
            (.SIGSTOP, SIGSTOP), (.SIGSYS, SIGSYS), (.SIGSTKFLT, SIGSTKFLT), (.SIGPWR, SIGPWR),
            (.SIGURG, SIGURG), (.SIGWINCH, SIGWINCH),
        ]
        for (signal, value) in signals { #expect(signal.rawValue == value, "\(signal)") }
        #expect(LinuxSignal.SIGSYS.description == "SIGSYS")
        #expect(LinuxSignal(34).description == "SIGRTMIN+2")
        #expect(!LinuxSignal(65).isValid)
    }

    @Test("route netlink constants and struct sizes match <linux/rtnetlink.h>")
    func netlink() {
        let expected: [(Int, String)] = [
            (Int(Netlink.routeProtocol), "NETLINK_ROUTE"), (Netlink.headerSize, "sizeof(struct nlmsghdr)"),
            (Netlink.alignment, "NLMSG_ALIGNTO"), (Int(Netlink.error), "NLMSG_ERROR"), (Int(Netlink.minimumType), "NLMSG_MIN_TYPE"), (Int(Netlink.done), "NLMSG_DONE"),
            (Int(Netlink.requestFlag), "NLM_F_REQUEST"), (Int(Netlink.multipartFlag), "NLM_F_MULTI"),
            (Int(Netlink.acknowledgeFlag), "NLM_F_ACK"), (Int(Netlink.dumpFlag), "NLM_F_DUMP"), (Int(Netlink.dumpInterruptedFlag), "NLM_F_DUMP_INTR"),
            (Int(RouteMessage.newLink), "RTM_NEWLINK"), (Int(RouteMessage.getLink), "RTM_GETLINK"),
            (Int(RouteMessage.newAddress), "RTM_NEWADDR"), (Int(RouteMessage.deleteAddress), "RTM_DELADDR"),
            (Int(RouteMessage.getAddress), "RTM_GETADDR"), (Int(RouteMessage.newRoute), "RTM_NEWROUTE"),
            (Int(RouteMessage.getRoute), "RTM_GETROUTE"), (RouteMessage.linkHeaderSize, "sizeof(struct ifinfomsg)"),
            (RouteMessage.addressHeaderSize, "sizeof(struct ifaddrmsg)"), (RouteMessage.routeHeaderSize, "sizeof(struct rtmsg)"),
            (RouteMessage.attributeHeaderSize, "sizeof(struct rtattr)"), (Int(RouteAttribute.linkAddress), "IFLA_ADDRESS"),
            (Int(RouteAttribute.linkName), "IFLA_IFNAME"), (Int(RouteAttribute.linkMTU), "IFLA_MTU"),
            (Int(RouteAttribute.addressAddress), "IFA_ADDRESS"), (Int(RouteAttribute.addressLocal), "IFA_LOCAL"),
            (Int(RouteAttribute.routeDestination), "RTA_DST"), (Int(RouteAttribute.routeOutputInterface), "RTA_OIF"),
            (Int(RouteAttribute.routeGateway), "RTA_GATEWAY"), (Int(RouteAttribute.routeTable), "RTA_TABLE"),
            (Int(InterfaceFlag.up), "IFF_UP"), (Int(InterfaceFlag.loopback), "IFF_LOOPBACK"),
            (Int(InterfaceFlag.etherType), "ARPHRD_ETHER"), (Int(InterfaceFlag.mainTable), "RT_TABLE_MAIN"),
            (Int(InterfaceFlag.unicastRoute), "RTN_UNICAST"), (Int(RouteAttribute.linkBroadcast), "IFLA_BROADCAST"),
            (Int(RouteAttribute.linkQueueLength), "IFLA_TXQLEN"), (Int(RouteAttribute.linkOperationalState), "IFLA_OPERSTATE"),
            (Int(RouteAttribute.addressLabel), "IFA_LABEL"), (Int(RouteAttribute.addressBroadcast), "IFA_BROADCAST"),
            (Int(RouteAttribute.routePreferredSource), "RTA_PREFSRC"), (Int(InterfaceFlag.broadcast), "IFF_BROADCAST"),
            (Int(InterfaceFlag.running), "IFF_RUNNING"), (Int(InterfaceFlag.multicast), "IFF_MULTICAST"),
            (Int(InterfaceFlag.loopbackType), "ARPHRD_LOOPBACK"), (Int(InterfaceFlag.permanentAddress), "IFA_F_PERMANENT"),
            (Int(InterfaceFlag.universeScope), "RT_SCOPE_UNIVERSE"), (Int(InterfaceFlag.linkScope), "RT_SCOPE_LINK"),
            (Int(InterfaceFlag.hostScope), "RT_SCOPE_HOST"), (Int(InterfaceFlag.kernelProtocol), "RTPROT_KERNEL"),
            (Int(InterfaceFlag.bootProtocol), "RTPROT_BOOT"),
        ]
        for (value, name) in expected { #expect(value == cConstant(name), "\(name)") }
        #expect(Int(AddressFamily.netlink) == Int(AF_NETLINK))
    }

    @Test("timespec from nanoseconds, and validity as syscalls check it")
    func timespec() {
        #expect(LinuxTimespec(totalNanoseconds: 1_500_000_000) == LinuxTimespec(seconds: 1, nanoseconds: 500_000_000))
        #expect(LinuxTimespec(totalNanoseconds: -1) == LinuxTimespec(seconds: 0, nanoseconds: 0))
        #expect(!LinuxTimespec(seconds: 0, nanoseconds: 1_000_000_000).isValid)
        #expect(!LinuxTimespec(seconds: -1, nanoseconds: 0).isValid)
    }
}

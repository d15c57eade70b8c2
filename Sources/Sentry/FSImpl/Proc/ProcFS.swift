import CShim
import HostSys
import LinuxABI
import Netstack

/// /proc (proc(5)), the parts programs read: `self`, one directory per process (status,
/// stat, cmdline, comm, exe, cwd, fd/, maps), meminfo, cpuinfo, mounts, uptime, loadavg,
/// version, and net/dev and net/route (from the Netstack's interface listing). Files are
/// generated when opened, from the Sentry's own state: the host's /proc is never read.
///
/// "The calling process" (for `self`) is the task whose tracer thread makes the call: each
/// task runs on its own thread, which the sandbox maps to the task.
enum ProcFS {
    static let device: UInt64 = 0x16

    /// A directory whose children are computed on each lookup and listing.
    final class Directory: Inode, @unchecked Sendable {
        func fileSystemStatistics() throws(LinuxErrno) -> LinuxStatfs { FileSystemMagic.empty(type: FileSystemMagic.proc, device: ProcFS.device) }

        let ino: UInt64
        let children: () -> [([UInt8], any Inode)]

        init(ino: UInt64, children: @escaping () -> [([UInt8], any Inode)]) {
            self.ino = ino
            self.children = children
        }

        func stat() throws(LinuxErrno) -> LinuxStat { procStat(ino: ino, mode: FileMode.directory | 0o555, nlink: 2) }

        func lookup(_ name: [UInt8]) throws(LinuxErrno) -> any Inode {
            guard let child = children().first(where: { $0.0 == name }) else { throw .ENOENT }
            return child.1
        }

        func readLink() throws(LinuxErrno) -> [UInt8] { throw .EINVAL }

        func open(flags: OpenFlags) throws(LinuxErrno) -> any FileOperations {
            guard flags.rawValue & OpenFlags.accessModeMask == 0 else { throw .EISDIR }
            var entries: [(UInt64, UInt8, [UInt8])] = [(ino, 4, [0x2e]), (1, 4, [0x2e, 0x2e])]
            for (index, (name, inode)) in children().enumerated() {
                let type: UInt8 = (try? inode.fileType()) == FileMode.directory ? 4 : ((try? inode.fileType()) == FileMode.symlink ? 10 : 8)
                entries.append((ino &+ UInt64(index) &+ 1, type, name))
            }
            let attributes = procStat(ino: ino, mode: FileMode.directory | 0o555, nlink: 2)
            return DirectoryListing(stat: { attributes }) { entries.map { (inode: $0.0, type: $0.1, name: $0.2) } }
        }
    }

    /// A file whose contents are generated when opened.
    final class Generated: Inode, @unchecked Sendable {
        func fileSystemStatistics() throws(LinuxErrno) -> LinuxStatfs { FileSystemMagic.empty(type: FileSystemMagic.proc, device: ProcFS.device) }

        let ino: UInt64
        let contents: () -> [UInt8]

        init(ino: UInt64, contents: @escaping () -> [UInt8]) {
            self.ino = ino
            self.contents = contents
        }

        func stat() throws(LinuxErrno) -> LinuxStat { procStat(ino: ino, mode: FileMode.regular | 0o444, nlink: 1) }
        func lookup(_ name: [UInt8]) throws(LinuxErrno) -> any Inode { throw .ENOTDIR }
        func readLink() throws(LinuxErrno) -> [UInt8] { throw .EINVAL }

        func open(flags: OpenFlags) throws(LinuxErrno) -> any FileOperations {
            guard flags.rawValue & OpenFlags.accessModeMask == 0 else { throw .EACCES }
            return Snapshot(contents(), attributes: try stat())
        }
    }

    /// A symlink whose target is computed when read.
    final class Link: Inode, @unchecked Sendable {
        func fileSystemStatistics() throws(LinuxErrno) -> LinuxStatfs { FileSystemMagic.empty(type: FileSystemMagic.proc, device: ProcFS.device) }

        let ino: UInt64
        let target: () -> [UInt8]?

        init(ino: UInt64, target: @escaping () -> [UInt8]?) {
            self.ino = ino
            self.target = target
        }

        func stat() throws(LinuxErrno) -> LinuxStat { procStat(ino: ino, mode: FileMode.symlink | 0o777, nlink: 1) }
        func lookup(_ name: [UInt8]) throws(LinuxErrno) -> any Inode { throw .ENOTDIR }
        func readLink() throws(LinuxErrno) -> [UInt8] {
            guard let target = target() else { throw .ENOENT }
            return target
        }
        func open(flags: OpenFlags) throws(LinuxErrno) -> any FileOperations { throw .ELOOP }
    }

    /// An open generated file: its contents as they were at open.
    final class Snapshot: FileOperations, @unchecked Sendable {
        let bytes: [UInt8]
        let attributes: LinuxStat
        private let position = FilePosition()

        init(_ bytes: [UInt8], attributes: LinuxStat) {
            self.bytes = bytes
            self.attributes = attributes
        }

        func read(count: Int, at offset: Int64?) throws(LinuxErrno) -> [UInt8] {
            try position.withLock { position in
                let start = Int(min(offset ?? position, Int64(bytes.count)))
                let taken = Array(bytes[start..<min(bytes.count, start + count)])
                if offset == nil { position += Int64(taken.count) }
                return taken
            }
        }

        func write(_ bytes: [UInt8], at offset: Int64?) throws(LinuxErrno) -> Int { throw .EBADF }
        func stat() throws(LinuxErrno) -> LinuxStat { attributes }

        func seek(offset: Int64, whence: Int32) throws(LinuxErrno) -> Int64 {
            try position.seek(offset: offset, whence: whence, size: Int64(bytes.count))
        }
    }

    static func procStat(ino: UInt64, mode: UInt32, nlink: UInt64) -> LinuxStat {
        var stat = LinuxStat()
        stat.dev = device
        stat.ino = ino
        stat.mode = mode
        stat.nlink = nlink
        stat.blksize = 1024
        return stat
    }

    static func text(_ string: String) -> [UInt8] { Array(string.utf8) }

    /// The root of /proc for `sandbox`.
    static func makeRoot(_ sandbox: Sandbox) -> any Inode {
        Directory(ino: 1) { [weak sandbox] in
            guard let sandbox else { return [] }
            var children: [([UInt8], any Inode)] = [
                (text("self"), Link(ino: 2) { Task.current.map { text(String($0.pid)) } }),
                (text("meminfo"), Generated(ino: 3) { meminfo() }),
                (text("cpuinfo"), Generated(ino: 4) { cpuinfo(sandbox.cpuCount) }),
                (text("mounts"), Generated(ino: 5) { [weak sandbox] in
                    let root = sandbox?.root?.inode is OverlayInode ? "overlay / overlay rw 0 0\n" : "none / gofer ro 0 0\n"
                    return text(root + "proc /proc proc rw 0 0\ntmpfs /tmp tmpfs rw 0 0\ntmpfs /dev tmpfs rw 0 0\n")
                }),
                (text("uptime"), Generated(ino: 6) {
                    let seconds = Double(Clock.monotonicNanoseconds() - sandbox.startTime) / 1e9
                    return text("\(formatted(seconds)) \(formatted(seconds))\n")
                }),
                (text("loadavg"), Generated(ino: 7) { text("0.00 0.00 0.00 1/\(sandbox.taskCount()) \(sandbox.lastPID())\n") }),
                (text("version"), Generated(ino: 8) { text("Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016\n") }),
                (text("net"), Directory(ino: 9) { [weak sandbox] in
                    [
                        (text("dev"), Generated(ino: 10) { [weak sandbox] in text(netDevices((try? sandbox?.network().interfaces()) ?? nil)) }),
                        (text("route"), Generated(ino: 11) { [weak sandbox] in text(netRoutes((try? sandbox?.network().interfaces()) ?? nil)) }),
                    ]
                }),
            ]
            for process in sandbox.liveProcesses() {
                guard let task = process.liveThreads.first else { continue }
                children.append((text(String(process.pid)), processDirectory(task)))
            }
            return children
        }
    }

    /// /proc/net/dev: each interface's counters in Linux's layout. The Netstack counts frames
    /// and bytes; errors, drops and the rest are not counted per interface and read 0.
    static func netDevices(_ listing: InterfaceListing?) -> String {
        var text = "Inter-|   Receive                                                |  Transmit\n"
        text += " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
        for interface in listing?.interfaces ?? [] {
            let counters = interface.counters
            let columns: [(UInt64, Int)] = [
                (counters.receivedBytes, 7), (counters.receivedPackets, 7), (0, 4), (0, 4), (0, 4), (0, 5), (0, 10), (0, 9),
                (counters.sentBytes, 8), (counters.sentPackets, 7), (0, 4), (0, 4), (0, 4), (0, 5), (0, 7), (0, 10),
            ]
            text += padded(interface.name, 6) + ": " + columns.map { padded(String($0.0), $0.1) }.joined(separator: " ") + "\n"
        }
        return text
    }

    /// /proc/net/route: the main table's routes (not the loopback's, which Linux keeps in its
    /// local table) in Linux's layout: addresses as the host reads their network-order bytes,
    /// RTF_UP and RTF_GATEWAY, each line padded to 127 characters.
    static func netRoutes(_ listing: InterfaceListing?) -> String {
        func line(_ text: String) -> String { text + String(repeating: " ", count: max(0, 127 - text.count)) + "\n" }
        func hex(_ value: UInt32, _ width: Int) -> String {
            let digits = String(value, radix: 16, uppercase: true)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        // The address's bytes in network order, read as a little-endian word (as %08X shows them).
        func word(_ address: IPv4Address) -> UInt32 { address.rawValue.byteSwapped }
        var text = line("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT")
        for route in listing?.mainTable ?? [] {
            guard let interface = listing?.interfaces.first(where: { $0.index == route.interfaceIndex }) else { continue }
            let network = IPv4Address(rawValue: route.destination.address.rawValue & route.destination.mask)
            // RTF_UP, RTF_GATEWAY, RTF_HOST (a /32).
            let flags: UInt32 = 0x1 | (route.gateway == nil ? 0 : 0x2) | (route.destination.prefixLength == 32 ? 0x4 : 0)
            let fields = [
                interface.name, hex(word(network), 8), hex(route.gateway.map(word) ?? 0, 8), hex(flags, 4), "0", "0", "0",
                hex(word(IPv4Address(rawValue: route.destination.mask)), 8), "0", "0", "0",
            ]
            text += line(fields.joined(separator: "\t"))
        }
        return text
    }

    /// `text` right-aligned in `width` columns.
    static func padded(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }

    static func formatted(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }

    /// /proc/PID: what the process exposes of itself.
    static func processDirectory(_ task: Task) -> any Inode {
        let base = UInt64(task.pid) << 16
        return Directory(ino: base) { [weak task] in
            guard let task else { return [] }
            return [
                (text("status"), Generated(ino: base + 1) { [weak task] in task.map { text(status($0)) } ?? [] }),
                (text("stat"), Generated(ino: base + 2) { [weak task] in task.map { text(stat($0)) } ?? [] }),
                (text("cmdline"), Generated(ino: base + 3) { [weak task] in task?.commandLine ?? [] }),
                (text("comm"), Generated(ino: base + 4) { [weak task] in (task?.name ?? []) + [0x0a] }),
                (text("maps"), Generated(ino: base + 5) { [weak task] in task.map { text(maps($0)) } ?? [] }),
                (text("exe"), Link(ino: base + 6) { [weak task] in task?.executablePath }),
                (text("cwd"), Link(ino: base + 7) { [weak task] in task?.cwd?.path }),
                (text("root"), Link(ino: base + 8) { [0x2f] }),
                (text("fd"), Directory(ino: base + 9) { [weak task] in
                    guard let task else { return [] }
                    return task.fds.descriptors.map { fd in
                        (text(String(fd)), Link(ino: base + 0x100 + UInt64(fd)) { [weak task] in
                            guard let file = try? task?.fds.get(fd) else { return nil }
                            if let dentry = file.dentry { return dentry.path }
                            let ino = (try? file.operations.stat().ino) ?? 0
                            return text("pipe:[\(ino)]")
                        } as any Inode)
                    }
                }),
            ]
        }
    }

    static func status(_ task: Task) -> String {
        let mask = { (value: UInt64) -> String in
            let hex = String(value, radix: 16)
            return String(repeating: "0", count: max(0, 16 - hex.count)) + hex
        }
        var ignored: UInt64 = 0
        var caught: UInt64 = 0
        for number in 1...64 {
            let handler = task.signals.actions[number].handler
            if handler == SignalAction.ignore { ignored |= 1 << UInt64(number - 1) } else if handler != 0 { caught |= 1 << UInt64(number - 1) }
        }
        let pages = task.mm.vmas.reduce(UInt64(0)) { $0 + ($1.end - $1.start) } / 1024
        let credentials = task.group.credentials
        let uids = [credentials.realUID, credentials.effectiveUID, credentials.savedUID, credentials.fileSystemUID]
        let gids = [credentials.realGID, credentials.effectiveGID, credentials.savedGID, credentials.fileSystemGID]
        func capabilities(_ set: UInt64) -> String {
            let digits = String(set, radix: 16)
            return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
        }
        return """
            Name:\t\(String(decoding: task.name, as: UTF8.self))
            Umask:\t\(String(repeating: "0", count: max(0, 4 - String(task.umask, radix: 8).count)))\(String(task.umask, radix: 8))
            State:\tR (running)
            Tgid:\t\(task.pid)
            Ngid:\t0
            Pid:\t\(task.tid)
            PPid:\t\(task.parentPID)
            TracerPid:\t0
            Uid:\t\(uids.map(String.init).joined(separator: "\t"))
            Gid:\t\(gids.map(String.init).joined(separator: "\t"))
            FDSize:\t64
            Groups:\t\(credentials.groups.map { "\($0) " }.joined())
            VmSize:\t\(pages) kB
            VmRSS:\t\(pages) kB
            Threads:\t\(task.group.liveThreads.count)
            SigQ:\t0/127655
            SigPnd:\t0000000000000000
            ShdPnd:\t0000000000000000
            SigBlk:\t\(mask(task.signals.blocked))
            SigIgn:\t\(mask(ignored))
            SigCgt:\t\(mask(caught))
            CapInh:\t\(capabilities(credentials.inheritable))
            CapPrm:\t\(capabilities(credentials.permitted))
            CapEff:\t\(capabilities(credentials.effective))
            CapBnd:\t\(capabilities(credentials.bounding))
            CapAmb:\t\(capabilities(credentials.ambient))
            NoNewPrivs:\t\(credentials.noNewPrivileges ? 1 : 0)
            Seccomp:\t0
            Cpus_allowed_list:\t\(task.sandbox.cpuCount == 1 ? "0" : "0-\(task.sandbox.cpuCount - 1)")

            """
    }

    /// /proc/PID/stat: the fields ps and top read (state, parent, process group, session, the
    /// process's and its waited-for children's CPU time in ticks, nice, threads, start time,
    /// virtual size); the fault counters and what the Sentry does not keep are 0.
    static func stat(_ task: Task) -> String {
        let name = String(decoding: task.name, as: UTF8.self)
        let group = task.group
        let (processGroup, session) = (try? task.sandbox.processGroup(of: task.pid)) ?? (task.pid, task.pid)
        let (own, children) = (group.usage, group.childrenUsage)
        let times = "\(own.userTicks) \(own.systemTicks) \(children.userTicks) \(children.systemTicks)"
        let nice = group.nice
        let started = group.startTime / Int64(CPUUsage.tickNanoseconds)
        return "\(task.pid) (\(name)) R \(task.parentPID) \(processGroup) \(session) 0 -1 0 0 0 0 0 \(times) \(20 + nice) \(nice) "
            + "\(group.liveThreads.count) 0 \(started) \(task.mm.vmas.reduce(UInt64(0)) { $0 + ($1.end - $1.start) }) "
            + "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n"
    }

    /// /proc/PID/maps: a line per mapping, the special ones named as Linux names them
    /// ([heap], [stack], [vvar], [vdso], shared anonymous memory as "/dev/zero (deleted)" and
    /// a System V segment as "/SYSV<key> (deleted)", both marked "s") after the padding Linux
    /// puts before a name.
    static func maps(_ task: Task) -> String {
        let mm = task.mm
        return mm.vmas.map { vma in
            let protection = vma.protection
            let permissions = (protection.contains(.read) ? "r" : "-") + (protection.contains(.write) ? "w" : "-")
                + (protection.contains(.exec) ? "x" : "-") + (vma.sharedMemory != nil ? "s" : "p")
            let line = "\(String(vma.start, radix: 16))-\(String(vma.end, radix: 16)) \(permissions) 00000000 00:00 0"
            let name: String? =
                if vma.shared { "[vvar]" } else if let memory = vma.sharedMemory {
                    memory.systemVKey.map { key in
                        let hex = String(UInt32(bitPattern: key), radix: 16)
                        return "/SYSV" + String(repeating: "0", count: max(0, 8 - hex.count)) + hex + " (deleted)"
                    } ?? "/dev/zero (deleted)"
                } else if vma.start == mm.vdsoBase { "[vdso]" } else if vma.start < Loader.stackTop && Loader.stackTop <= vma.end {
                    "[stack]"
                } else if mm.brk > mm.brkStart && vma.start >= mm.brkStart && vma.end <= mm.brk { "[heap]" } else { nil }
            guard let name else { return line + "\n" }
            return line + String(repeating: " ", count: max(1, 73 - line.count)) + name + "\n"
        }.joined()
    }

    static func meminfo() -> [UInt8] {
        let total = Sandbox.memoryBytes / 1024
        return text("MemTotal:       \(total) kB\nMemFree:        \(total / 2) kB\nMemAvailable:   \(total / 2) kB\nBuffers:               0 kB\nCached:                0 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n")
    }

    static func cpuinfo(_ count: Int) -> [UInt8] {
        return text((0..<count).map { "processor\t: \($0)\nvendor_id\t: unknown\nmodel name\t: sandboxed x86_64\nflags\t\t: fpu sse sse2\n\n" }.joined())
    }
}

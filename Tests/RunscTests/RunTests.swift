import Glibc
import HostSys
import LinuxABI
import TestSupport
import Testing

/// A bundle with Debian's static busybox as its whole userland.
final class BusyboxBundle {
    let path: String

    /// `networkNamespace`: a path for the bundle's network namespace entry (a new one when nil).
    init(arguments: [String], readOnly: Bool = true, networkNamespace: String? = nil) throws {
        var template = Array("/tmp/runsc-bundle-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Errno.current }
        path = String(cString: made)
        for directory in ["rootfs", "rootfs/bin", "rootfs/etc", "rootfs/tmp"] { mkdir(path + "/" + directory, 0o755) }
        try copy("/bin/busybox", to: path + "/rootfs/bin/busybox", mode: 0o755)
        for applet in ["sh", "echo", "cat", "ls", "sleep", "true", "false", "tr", "wc", "rm", "grep", "head", "mkdir", "mv", "test", "stty", "httpd", "wget", "kill", "nc", "printf", "ip", "ifconfig", "route"] {
            symlink("busybox", path + "/rootfs/bin/" + applet)
        }
        try write(path + "/rootfs/etc/hostname", "bundle-host\n")
        let args = arguments.map { "\"\($0.replacing("\\", with: "\\\\").replacing("\"", with: "\\\""))\"" }.joined(separator: ", ")
        try write(path + "/config.json", """
            {"ociVersion": "1.0.2", "process": {"user": {"uid": 0, "gid": 0}, "args": [\(args)],
             "env": ["PATH=/bin"], "cwd": "/"}, "root": {"path": "rootfs", "readonly": \(readOnly)}, "hostname": "runsc",
             "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "network"\(networkNamespace.map { ", \"path\": \"\($0)\"" } ?? "")}]}}
            """)
    }

    deinit {
        var remover = try? ChildProcess.spawn(path: "/bin/rm", arguments: ["rm", "-rf", path])
        _ = try? remover?.wait()
    }

    func write(_ file: String, _ text: String) throws {
        let fd = try FileDescriptor.open(file, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        try Array(text.utf8).withUnsafeBytes { try fd.writeAll($0) }
    }

    func copy(_ source: String, to destination: String, mode: mode_t) throws {
        let input = try FileDescriptor.open(source, flags: O_RDONLY)
        let output = try FileDescriptor.open(destination, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let n = try input.read(into: buffer)
            if n == 0 { break }
            try output.writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// Starts `runsc run` on the bundle; its stdout goes to the returned helper's pipe.
    func start() throws -> RunningHelper {
        try Helper.startExecutable("runsc", ["run", "--bundle", path, "test-\(getpid())"])
    }

    func run() throws -> (status: HostSys.ExitStatus, output: String) {
        let runsc = try start()
        let output = try runsc.readAll()
        return (try runsc.wait(), output)
    }
}

let canRunSandboxes = getuid() == 0 && access("/bin/busybox", X_OK) == 0

@Suite(
    "runsc run: busybox bundles end to end",
    .enabled(if: canRunSandboxes, "needs root (namespaces, ptrace) and Debian's busybox-static (tools/test installs it)"))
struct RunTests {
    @Test("programs run with the caller's stdio and exit statuses as a shell reports them")
    func statuses() throws {
        let cases: [([String], Int32, String)] = [
            (["echo", "hello", "from", "runsc"], 0, "hello from runsc\n"),
            (["sh", "-c", "exit 7"], 7, ""),
            (["sh", "-c", "kill -9 $$"], 137, ""),
            (["sh", "-c", "echo pid $$"], 0, "pid 1\n"),
            (["cat", "/etc/hostname"], 0, "bundle-host\n"),
            (["ls", "/"], 0, "bin\netc\ntmp\n"),
            (["cat", "/etc/passwd"], 1, ""),
            (["sh", "-c", "echo a | tr a b"], 0, "b\n"),
            (["sh", "-c", "for i in 1 2 3; do echo $i; done | wc -l"], 0, "3\n"),
            (["sh", "-c", "echo $(echo nested) $$; (exit 3); echo status $?"], 0, "nested 1\nstatus 3\n"),
            (["sh", "-c", "echo written > /tmp/f && cat /tmp/f && rm /tmp/f && cat /tmp/f"], 1, "written\n"),
            // sh runs its last command in place (exec): grep is pid 1, with no parent inside.
            (["sh", "-c", "grep -E '^(Pid|PPid|Name):' /proc/self/status"], 0, "Name:\tgrep\nPid:\t1\nPPid:\t0\n"),
            (["sh", "-c", "cat /proc/self/status | grep -E '^(Name|PPid):'"], 0, "Name:\tcat\nPPid:\t1\n"),
            (["sh", "-c", "trap 'echo caught' USR1; kill -USR1 $$; sleep 0.1 & wait; echo done"], 0, "caught\ndone\n"),
            (["sh", "-c", "echo gone > /dev/null; head -c 4 /dev/zero | wc -c"], 0, "4\n"),
        ]
        for (arguments, code, output) in cases {
            let bundle = try BusyboxBundle(arguments: arguments)
            let result = try bundle.run()
            #expect(result.status == .exited(code), "\(arguments)")
            #expect(result.output == output, "\(arguments)")
        }
    }

    @Test("inside the sandbox, busybox httpd serves a file on 127.0.0.1 and busybox wget fetches it byte for byte")
    func loopbackHTTP() throws {
        let script = "httpd -f -p 127.0.0.1:8080 -h /www & sleep 0.3; wget -q -O - http://127.0.0.1:8080/page.txt; echo status $?; kill $!"
        let bundle = try BusyboxBundle(arguments: ["sh", "-c", script])
        mkdir(bundle.path + "/rootfs/www", 0o755)
        let page = (0..<4000).map { "line \($0) of the page served over the sandbox's loopback\n" }.joined()
        try bundle.write(bundle.path + "/rootfs/www/page.txt", page)
        let result = try bundle.run()
        #expect(result.status == .exited(0))
        #expect(result.output == page + "status 0\n", "\(result.output.suffix(200))")
    }

    @Test("with a terminal as stdio: /dev/tty is there, and stty reads the terminal's settings and window size")
    func terminal() throws {
        let terminal = try Pseudoterminal()
        let (master, slavePath) = (terminal.master.rawValue, terminal.slavePath)
        var stty = try ChildProcess.spawn(path: "/bin/stty", arguments: ["stty", "-F", slavePath, "rows", "33", "cols", "101"])
        #expect(try stty.wait() == .exited(0))
        let slave = open(slavePath, O_RDWR | O_NOCTTY)
        let bundle = try BusyboxBundle(arguments: ["sh", "-c", "test -c /dev/tty && echo tty; stty size"])
        var runsc = try ChildProcess.spawn(
            path: Helper.buildDirectory + "/runsc", arguments: ["runsc", "run", "--bundle", bundle.path, "tty-\(getpid())"],
            descriptors: [(slave, 0), (slave, 1), (slave, 2)])
        close(slave)
        #expect(try runsc.wait() == .exited(0))
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var ready = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        while poll(&ready, 1, 1000) > 0 && ready.revents & Int16(POLLIN) != 0 {
            let count = read(master, &buffer, buffer.count)
            if count <= 0 { break }
            output += buffer[0..<count]
        }
        #expect(String(decoding: output, as: UTF8.self) == "tty\r\n33 101\r\n")
        _ = consume terminal  // closes the master
    }

    @Test("a writable root takes writes in the Sentry's overlay: the program sees them, the bundle never does")
    func overlay() throws {
        let script = """
            echo changed > /etc/hostname && cat /etc/hostname && mkdir -p /new/deep && mv /etc/hostname /new/deep/h \
            && cat /new/deep/h && rm /bin/true && ls / && test ! -e /bin/true && ls /etc && echo done
            """
        let bundle = try BusyboxBundle(arguments: ["sh", "-c", script], readOnly: false)
        let result = try bundle.run()
        #expect(result.status == .exited(0))
        #expect(result.output == "changed\nchanged\nbin\netc\nnew\ntmp\ndone\n")
        #expect(try procText(bundle.path + "/rootfs/etc/hostname") == "bundle-host")
        var info = stat()
        #expect(lstat(bundle.path + "/rootfs/bin/true", &info) == 0)
        #expect(access(bundle.path + "/rootfs/new", F_OK) != 0)

        let readOnly = try BusyboxBundle(arguments: ["sh", "-c", "echo changed > /etc/hostname"]).run()
        #expect(readOnly.status != .exited(0))
    }

    @Test("while a program runs, the Sentry, the gofer and the Netstack are under seccomp, the Sentry and the Netstack in empty roots; nothing is left after")
    func confinement() throws {
        let bundle = try BusyboxBundle(arguments: ["sleep", "1"])
        let start = Clock.monotonicNanoseconds()
        let runsc = try bundle.start()
        Clock.sleep(nanoseconds: 400_000_000)
        func children(_ pid: Int32) throws -> [Int32] {
            try procText("/proc/\(pid)/task/\(pid)/children").split(separator: " ").compactMap { Int32($0) }
        }
        let direct = try children(runsc.pid)
        #expect(direct.count == 3)
        // The gofer, the Netstack, and the waiter of the Sentry's pid namespace, whose one
        // child is the Sentry (pid 1 there).
        var sandboxProcesses: [Int32] = []
        for child in direct {
            let command = (try? procText("/proc/\(child)/cmdline")) ?? ""
            let role = command.split(separator: "\0").dropFirst().first.map(String.init) ?? ""
            if role == "gofer" || role == "netstack" {
                sandboxProcesses.append(child)
            } else {
                sandboxProcesses += try children(child)
            }
        }
        #expect(sandboxProcesses.count == 3)
        for process in sandboxProcesses {
            let status = try procText("/proc/\(process)/status")
            let command = ((try? procText("/proc/\(process)/cmdline")) ?? "").replacing("\0", with: " ")
            // The role is the first argument: `runsc gofer`, `runsc boot`, `runsc netstack`.
            let role = command.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            #expect(status.split(separator: "\n").contains("Seccomp:\t2"), "\(command)")
            #expect(["gofer", "boot", "netstack"].contains(role), "\(command)")
            if role == "netstack" {
                // The Netstack sees an empty root and holds no capability.
                #expect(try directoryNames("/proc/\(process)/root").isEmpty)
                #expect(status.split(separator: "\n").contains("CapEff:\t0000000000000000"), "\(status)")
            }
            if role == "boot" {
                // The Sentry sees an empty root and holds only CAP_SYS_PTRACE.
                #expect(try directoryNames("/proc/\(process)/root").isEmpty)
                #expect(status.split(separator: "\n").contains("CapEff:\t0000000000080000"), "\(status)")
            }
        }
        let children = direct + sandboxProcesses
        #expect(try runsc.wait() == .exited(0))
        #expect(Clock.monotonicNanoseconds() - start >= 1_000_000_000)
        for child in children { #expect(kill(child, 0) != 0, "process \(child) outlived runsc run") }
    }
}

func procText(_ path: String) throws -> String {
    let fd = try FileDescriptor.open(path, flags: O_RDONLY)
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = try buffer.withUnsafeMutableBytes { try fd.read(into: $0) }
        if n == 0 { break }
        bytes += buffer[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self).trimmingSuffix()
}

extension String {
    func trimmingSuffix() -> String {
        var text = self
        while text.last == "\n" || text.last == " " || text.last == "\0" { text.removeLast() }
        return text
    }
}

@Suite("runsc do: Debian's dynamic binaries over the host's root", .enabled(if: getuid() == 0, "needs root (namespaces, ptrace)"))
struct DoTests {
    /// Runs `runsc do -- arguments` and returns its status and stdout.
    func runDo(_ arguments: [String]) throws -> (status: HostSys.ExitStatus, output: String) {
        let runsc = try Helper.startExecutable("runsc", ["do", "--cwd", "/", "--"] + arguments)
        let output = try runsc.readAll()
        return (try runsc.wait(), output)
    }

    func runNative(_ arguments: [String]) throws -> (status: HostSys.ExitStatus, output: String) {
        let run = try ChildProcess.run(path: arguments[0], arguments: arguments)
        return (run.status, String(decoding: run.output, as: UTF8.self))
    }

    @Test("echo and ls -l / print what they print natively")
    func dynamicBinaries() throws {
        let echo = try runDo(["/bin/echo", "hello"])
        #expect(echo.status == .exited(0))
        #expect(echo.output == "hello\n")
        let inside = try runDo(["/bin/ls", "-l", "/"])
        let outside = try runNative(["/bin/ls", "-l", "/"])
        #expect(inside.status == outside.status)
        // /proc's link count follows the number of processes, which the sandbox changes; /dev
        // and /tmp are the sandbox's own (devices, tmpfs), and the total counts their blocks.
        // Column widths follow the widest entry, so lines are compared word by word.
        func stable(_ text: String) -> [[Substring]] {
            text.split(separator: "\n").filter { !$0.hasSuffix(" proc") && !$0.hasSuffix(" dev") && !$0.hasSuffix(" tmp") && !$0.hasPrefix("total") }
                .map { $0.split(separator: " ") }
        }
        #expect(stable(inside.output) == stable(outside.output))
        #expect(!inside.output.isEmpty)
    }

    @Test("--strace logs each syscall with decoded arguments and its result to the debug log")
    func strace() throws {
        let log = "/tmp/runsc-strace-\(getpid()).log"
        defer { unlink(log) }
        let runsc = try Helper.startExecutable("runsc", ["do", "--strace", "--debug-log", log, "--cwd", "/", "--", "/bin/echo", "traced"])
        #expect(try runsc.readAll() == "traced\n")
        #expect(try runsc.wait() == .exited(0))
        let lines = try procText(log).split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("[pid 1] openat(-100, \"/etc/ld.so.cache\", ") && $0.hasSuffix(" = 3") })
        #expect(lines.contains { $0.hasPrefix("[pid 1] access(\"/etc/ld.so.preload\", 4) = -1 ENOENT") })
        #expect(lines.contains { $0.hasPrefix("[pid 1] write(1, ") && $0.hasSuffix(" = 7") })
        #expect(lines.last?.hasPrefix("[pid 1] exit_group(0) = ?") == true)
    }

    @Test("writes to the host's root stay in the sandbox's overlay; with --overlay2=none they fail")
    func overlay() throws {
        let file = "/var/tmp/runsc-do-overlay-\(getpid())"
        let script = "echo inside > \(file) && cat \(file) && rm /etc/hostname && test ! -e /etc/hostname && echo removed"
        let hadHostname = access("/etc/hostname", F_OK) == 0
        let written = try runDo(["/bin/sh", "-c", script])
        #expect(written.status == .exited(0))
        #expect(written.output == (hadHostname ? "inside\nremoved\n" : "inside\n"))
        #expect(access(file, F_OK) != 0)
        #expect(access("/etc/hostname", F_OK) == (hadHostname ? 0 : -1))

        let runsc = try Helper.startExecutable("runsc", ["do", "--overlay2", "none", "--cwd", "/", "--", "/bin/sh", "-c", "echo x > \(file)"])
        _ = try runsc.readAll()
        #expect(try runsc.wait() != .exited(0))
        #expect(access(file, F_OK) != 0)
    }
}

@Suite("runsc run: the C test suite", .enabled(if: getuid() == 0, "needs root (namespaces, ptrace)"))
struct CSuiteTests {
    /// Builds Programs/`name`.c with `gcc -static -pthread` into a fresh bundle, runs it natively and
    /// under `runsc run`, and returns both (output, status).
    func runBoth(_ name: String, arguments: [String] = [], user: String = #"{"uid": 0, "gid": 0}"#, hostname: String = "runsc") throws -> (
        inside: String, insideStatus: HostSys.ExitStatus, native: String, nativeStatus: HostSys.ExitStatus
    ) {
        var template = Array("/tmp/runsc-suite-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Errno.current }
        let bundle = String(cString: made)
        defer {
            var remover = try? ChildProcess.spawn(path: "/bin/rm", arguments: ["rm", "-rf", bundle])
            _ = try? remover?.wait()
        }
        mkdir(bundle + "/rootfs", 0o755)
        mkdir(bundle + "/rootfs/tmp", 0o1777)
        let directory = String(#filePath.prefix(upTo: #filePath.lastIndex(of: "/") ?? #filePath.endIndex))
        var gcc = try ChildProcess.spawn(
            path: "/usr/bin/gcc", arguments: ["gcc", "-static", "-O2", "-pthread", "-o", bundle + "/rootfs/" + name, directory + "/Programs/\(name).c"],
            environment: ["PATH=/usr/bin:/bin"], descriptors: [(2, 2)])
        #expect(try gcc.wait() == .exited(0))
        let config = """
            {"ociVersion": "1.0.2", "process": {"user": \(user), "args": [\((["/" + name] + arguments).map { "\"\($0)\"" }.joined(separator: ", "))], "env": ["PATH=/"], "cwd": "/"},
             "root": {"path": "rootfs", "readonly": true}, "hostname": "\(hostname)"}
            """
        let fd = try FileDescriptor.open(bundle + "/config.json", flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        try Array(config.utf8).withUnsafeBytes { try fd.writeAll($0) }

        let runsc = try Helper.startExecutable("runsc", ["run", "--bundle", bundle, "\(name)-\(getpid())"])
        let inside = try runsc.readAll()
        let insideStatus = try runsc.wait()
        let native = try DoTests().runNative([bundle + "/rootfs/" + name] + arguments)
        return (inside, insideStatus, native.output, native.status)
    }

    @Test("fork/wait, pipes, signals, kill, mmap/mremap/madvise, brk, select, waitid, tmpfs files and rename, 600 forks, exec and posix_spawn match native")
    func suite() throws {
        let run = try runBoth("suite")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 19, "\(run.inside)")
    }

    @Test("signals interrupt sleeps in the Sentry (kill of a sleeper, EINTR with time left, SA_RESTART, pause, wait4); poll and select wake for pipes; O_NONBLOCK; itimers and alarm; ppoll's mask")
    func interruptions() throws {
        let run = try runBoth("interrupt")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 10, "\(run.inside)")
    }

    @Test("signals reach a program that makes no syscall (itimer, kill, pthread_kill), and faults reach handlers with their siginfo or kill")
    func faults() throws {
        let run = try runBoth("faults")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 10, "\(run.inside)")
    }

    @Test("AF_INET sockets on the loopback: a 3 MiB TCP echo between processes, shutdown and end of file, refused connects (blocking and not), UDP with its source, FIONREAD, MSG_PEEK, TCP_INFO (of a connection, a listener, an unconnected socket; none on UDP), TCP_NODELAY and SO_KEEPALIVE inherited by accept, SIGPIPE on a shut stream unless MSG_NOSIGNAL, a connected UDP socket's ICMP port unreachable as ECONNREFUSED")
    func sockets() throws {
        let run = try runBoth("sockets")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 11, "\(run.inside)")
        #expect(run.inside.contains("udp refused: send 1, poll 1 revents 0x8, recv -1 errno 111, again -1 errno 11, then poll 0; unconnected send 1, poll 0"))
        #expect(run.inside.contains("peek: stream 4 \"peek\" then 8 \"peekaboo\"; tcp_info 0 length 1 established 1 mss set 1 cwnd set 1; listener 0 state 10 waiting 1; unconnected 0 state 7 rto 1000000; udp -1 errno 95; udp nodelay set -1 errno 92 get -1 errno 95; accepted nodelay 1 keepalive 1; datagram 5 \"again\" then 5 \"again\", then nothing 1"))
        #expect(run.inside.contains("sigpipe: send -1 errno 32 signals 1; MSG_NOSIGNAL -1 errno 32 signals 1; sendmsg -1 errno 32 signals 2"))
    }

    @Test("process groups and sessions: setsid, setpgid with Linux's checks (EACCES after execve), getpgid, getsid, kill of a group and of 0, wait4 for a group")
    func sessions() throws {
        let run = try runBoth("sessions")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 7, "\(run.inside)")
        #expect(run.inside.contains("after execve: setpgid errno 13, killed 1"))
        #expect(run.inside.contains("kill 0: 0, caller got it 1, sibling reaped from the group 1 with code 7"))
    }

    @Test("job control: SIGSTOP and SIGTSTP stop a process, SIGCONT continues it, the parent sees both (SIGCHLD, wait4 WUNTRACED and WCONTINUED, waitid WSTOPPED), SIGKILL ends a stopped process, a handled SIGTSTP does not stop")
    func jobs() throws {
        let run = try runBoth("jobs")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 4, "\(run.inside)")
        #expect(run.inside.contains("stop: running 1, stopped by 19, progress while stopped 0, reported again 0; continued 1, resumed 1"))
    }

    @Test("scheduling, system information and early file calls: sched_yield, affinity, getcpu, policies, nice values, sysinfo, clock_getres, preadv/pwritev, sendfile, close_range, posix_fadvise, syncfs, sigpending, get_robust_list, membarrier, creat, getgroups, getresuid, eventfd, statfs and fstatfs, mincore, the old getdents, personality, fallocate, preadv2 and pwritev2, epoll_pwait2, MAP_SHARED anonymous memory across fork, scheduling policies")
    func misc() throws {
        let run = try runBoth("misc")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 22, "\(run.inside)")
        #expect(run.inside.contains("shared anonymous: parent sees BB, private stays a, after DONTNEED B, maps marks it 1"))
    }

    @Test("CPU time: the process, thread and child CPU-time clocks grow while computing and not while asleep; getrusage (self, thread, children), times, wait4's rusage; clock ids Linux refuses; ITIMER_PROF and ITIMER_VIRTUAL, a POSIX timer on the process's CPU clock, clock_nanosleep on it")
    func usage() throws {
        let run = try runBoth("usage")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 12, "\(run.inside)")
        #expect(run.inside.contains("itimer prof: armed left 50..54 ms 1, fired 1, not before 40 ms of CPU 1"))
        #expect(run.inside.contains("wait4 rusage >= 290 ms 1, children's >= 290 ms 1"))
    }

    @Test("POSIX timers and timerfds: periodic signals with SI_TIMER and the value given, timer_gettime, overruns of a blocked signal, a stale signal dropped after the timer is set again, absolute realtime times, SIGEV_NONE, SIGEV_THREAD_ID and SIGEV_THREAD, none across fork; timerfd reads, counts, poll, epoll, disarming, absolute times; signalfd records, poll, epoll, a blocking read, a timer's signal; the errors Linux gives")
    func timers() throws {
        let run = try runBoth("timers")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 19, "\(run.inside)")
        #expect(run.inside.contains("blocking: the child read signal 10; forged code -1/1"))
        #expect(run.inside.contains("overrun: signals 1..2 1, overrun one per 5 ms 1; stale signal dropped 1"))
        #expect(run.inside.contains("timerfd: first read 8 count 1 1 after >= 20 ms 1; later count one per 20 ms 1; interval 20 ms 1"))
    }

    @Test("credentials and permissions: seteuid and back, setfsuid, setreuid, setuid's rules, PR_SET_KEEPCAPS, capset's rules, the bounding set, no_new_privs; after dropping root: permission bits, search permission, access, ownership of new files, chmod, chown, utimes, the sticky bit, exec permission, kill; a set-user-ID program")
    func credentials() throws {
        let run = try runBoth("credentials")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 16, "\(run.inside)")
        #expect(run.inside.contains("o_path locks: fcntl -9, flock -9, fchmod -9, poll revents 0x20"))
        #expect(run.inside.contains("sticky: unlink root's -1, rename root's -1, unlink own 0; exec without x -13; setuid(0) -1; kill root -1, kill self 0"))
        #expect(run.inside.contains("report: ids 1000 0 0, caps 1, secure 1"))
        #expect(run.inside.contains("no_new_privs: ids 1000 1000 1000, caps 0, secure 0"))
        #expect(run.inside.contains("o_path: opened 1, read -1 errno 9, size kept 1; unsearchable: unlink -13, mkdir -13; utimensat now+omit -1"))
    }

    @Test("the OCI process user: the program starts with its uid, gid, supplementary groups (sorted) and umask, without capabilities")
    func processUser() throws {
        let run = try runBoth("credentials", arguments: ["user"], user: #"{"uid": 1000, "gid": 1001, "additionalGids": [7, 5], "umask": 63}"#)
        #expect(run.insideStatus == .exited(0))
        #expect(
            run.inside
                == "user: ids 1000 1000 1000, caps 0, secure 0, gid 1001, groups 2: 5 7, umask 077, write /tmp 0, effective 0 permitted 0, no_new_privs 0, host runsc\n")
    }

    @Test("the OCI process capabilities, noNewPrivileges and hostname: root gets only the bundle's capabilities (as runc sets them before the program's execve), no_new_privs is set, uname shows the hostname")
    func processCapabilities() throws {
        let run = try runBoth(
            "credentials", arguments: ["user"],
            user: #"{"uid": 0, "gid": 0}, "noNewPrivileges": true, "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL", "CAP_CHOWN"]}"#,
            hostname: "box")
        #expect(run.insideStatus == .exited(0))
        #expect(
            run.inside
                == "user: ids 0 0 0, caps 0, secure 0, gid 0, groups 0:, umask 022, write /tmp 0, effective 21 permitted 21, no_new_privs 1, host box\n")
    }

    @Test("System V IPC: shared memory (a private segment shared with a forked child, IPC_STAT, keys with IPC_CREAT and IPC_EXCL, IPC_RMID while attached, read-only attachments, permissions after dropping root) and semaphores (P and V, waiting woken by another process, timeouts, SEM_UNDO at exit, GETALL and SETALL, removal waking a waiter) and message queues (type selection, MSG_EXCEPT, truncation, a waiting receiver, a full queue, removal), with the errors")
    func ipc() throws {
        let run = try runBoth("ipc")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 15, "\(run.inside)")
        #expect(run.inside.contains("undo limit: 0 0 then -34"))
        #expect(run.inside.contains("errors: type 0 -22, past MSGMAX -22; removed 0, the waiter got EIDRM 1, then -22"))
        #expect(run.inside.contains("removed: 0, the waiter got EIDRM 1, then -22"))
        #expect(run.inside.contains("read-only: mprotect -13, read into it -14, maps 1, still \"hello\""))
        #expect(run.inside.contains("parent sees \"world\"; stat 0 size 10000 attached 1 mode 600 creator ok 1"))
    }

    @Test("file attributes: chmod, fchmod, fchmodat, chown (clearing set-user-ID), lchown of a symlink, utimensat with NULL, given, omitted and current times, futimens, utimes, hard links, FIFOs and mknod, and their errors")
    func attributes() throws {
        let run = try runBoth("attributes")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 5, "\(run.inside)")
    }

    @Test("flock between processes (shared, exclusive, LOCK_NB, conversion, a waiter, release on the last close, dup), fcntl record locks (F_GETLK, conflicts, split ranges, F_SETLKW, release on any close, OFD locks) and sigtimedwait (pending, timeout, arrival, interruption)")
    func locks() throws {
        let run = try runBoth("locks")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 5, "\(run.inside)")
        #expect(run.inside.contains("child: busy errno 11, waited 0 for at least 100 ms 1"))
    }

    @Test("clocks: the vDSO (AT_SYSINFO_EHDR) and the system call read one clock: monotonic readings in order, realtime readings in order, absolute sleeps never end early; /proc/self/maps names [vdso], [vvar] and [stack]")
    func clocks() throws {
        let run = try runBoth("clocks")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 6, "\(run.inside)")
        #expect(run.inside.contains("maps: read 1, [vdso] 1, [vvar] 1, [stack] 1"))
    }

    @Test("epoll: level and edge triggered, one-shot, EPOLLOUT, a TCP listener and connection with EPOLLRDHUP, the epoll_ctl errors and ELOOP, an entry dropped when its file closes, edge-triggered entries woken by their own file's events only (pipes, AF_UNIX, TCP)")
    func epoll() throws {
        let run = try runBoth("epoll")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 15, "\(run.inside)")
        #expect(run.inside.contains("edges tcp: 1 (1), 1 (2), after a partial read 0, after a new write 1 (1), then 0\n"))
    }

    @Test("AF_UNIX pairs: a stream between processes with shutdown and EPIPE, datagram boundaries, an fd passed with SCM_RIGHTS through sendmsg/recvmsg iovecs; named and abstract sockets: bind, listen, accept, connect, EADDRINUSE, ECONNREFUSED; named datagram sockets with their senders' names; getsockname and getpeername on a connection; MSG_PEEK on streams and datagrams; a chain of 20000 sockets in each other's queues closes")
    func unixPairs() throws {
        let run = try runBoth("unix")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 15, "\(run.inside)")
        #expect(run.inside.contains("names: connector's peer 1, accepted end's own 1, accepted end's peer unnamed 1"))
        #expect(run.inside.contains("peek: stream 3 \"abc\" then 4 \"abcd\"; datagrams 3 \"one\" 3 \"one\" 3 \"two\""))
    }

    @Test("threads: a mutex and a condition variable over futexes, TLS, pthread_kill, 50 created and joined, fork, exit and execve from a threaded process, pthread_exit in main, clone3's short struct")
    func threads() throws {
        let run = try runBoth("threads")
        #expect(run.insideStatus == run.nativeStatus)
        #expect(run.inside == run.native)
        #expect(run.inside.split(separator: "\n").count == 12, "\(run.inside)")
    }
}

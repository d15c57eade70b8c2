import Glibc
import HostSys
import LinuxABI
import TestSupport
import Testing

/// The host tools the network tests drive (tools/test installs them).
let networkToolsPresent = ["/usr/sbin/ip", "/usr/bin/tcpdump", "/usr/bin/ping", "/usr/bin/timeout"].allSatisfy { (path: String) in access(path, X_OK) == 0 }

@Suite(
    "runsc run --network=sandbox: the Netstack on a veth, seen from the host",
    .enabled(if: canRunSandboxes && networkToolsPresent, "needs root, busybox, iproute2, tcpdump and ping (tools/test installs them)"))
struct NetworkTests {
    /// Runs a host tool to its end; returns its status and standard output.
    func host(_ path: String, _ arguments: [String]) throws -> (status: HostSys.ExitStatus, output: String) {
        let run = try ChildProcess.run(path: path, arguments: [path] + arguments, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
        return (run.status, String(decoding: run.output, as: UTF8.self))
    }

    @Test("a host server is reached from the sandbox and a sandbox server from the host, byte for byte; tcpdump on the host's veth sees the handshake and the FIN; the Netstack answers ping; --pcap-log records its frames")
    func veth() throws {
        // A /30 of 198.18.0.0/15 of this test run's own.
        let block = UInt32(getpid() % 4000) * 4 + 0x1000
        let base = (UInt32(198) << 24 | UInt32(19) << 16) + block
        func address(_ offset: UInt32) -> String {
            let value = base + offset
            return "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
        }
        let (gateway, sandbox) = (address(1), address(2))
        let hostPort = 20000 + Int(getpid() % 20000)

        // The host's server, on every address (the veth's appears once runsc makes it).
        var template = Array("/tmp/runsc-hostwww-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Errno.current }
        let hostDirectory = String(cString: made)
        defer { _ = try? host("/bin/rm", ["-rf", hostDirectory]) }
        let hostPage = (0..<3000).map { "host line \($0)\n" }.joined()
        let page = try FileDescriptor.open(hostDirectory + "/host.txt", flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        try Array(hostPage.utf8).withUnsafeBytes { try page.writeAll($0) }
        var hostServer = try ChildProcess.spawn(path: "/bin/busybox", arguments: ["busybox", "httpd", "-f", "-p", "\(hostPort)", "-h", hostDirectory])
        defer {
            try? hostServer.kill(.SIGKILL)
            _ = try? hostServer.wait()
        }

        // The sandbox: its own server, and a fetch from the host's once the host has looked.
        let script = """
            httpd -f -p 8080 -h /www & sleep 1.5; wget -q -O - http://\(gateway):\(hostPort)/host.txt; sleep 4; kill $!
            """
        let bundle = try BusyboxBundle(arguments: ["sh", "-c", script])
        mkdir(bundle.path + "/rootfs/www", 0o755)
        let sandboxPage = (0..<3000).map { "sandbox line \($0)\n" }.joined()
        try bundle.write(bundle.path + "/rootfs/www/sandbox.txt", sandboxPage)
        let stackCapture = hostDirectory + "/netstack.pcap"
        let runsc = try Helper.startExecutable(
            "runsc",
            ["run", "--network-address", "\(address(0))/30", "--pcap-log", stackCapture, "--bundle", bundle.path, "net-\(getpid())"])

        // The host's end of the veth, once runsc has made it (bounded wait).
        var interface = ""
        for _ in 0..<100 where interface.isEmpty {
            let listing = try host("/usr/sbin/ip", ["-o", "-4", "addr", "show", "to", "\(gateway)/32"]).output
            interface = listing.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            if interface.isEmpty { Clock.sleep(nanoseconds: 20_000_000) }
        }
        #expect(!interface.isEmpty)
        let capture = hostDirectory + "/veth.pcap"
        var tcpdump = try ChildProcess.spawn(
            path: "/usr/bin/tcpdump", arguments: ["tcpdump", "-i", interface, "-U", "-w", capture, "tcp port 8080"])
        Clock.sleep(nanoseconds: 500_000_000)

        // Host → sandbox, retried while the sandbox's server starts (for at most 5 s).
        var fetched = ""
        let start = Clock.monotonicNanoseconds()
        while fetched.isEmpty && Clock.monotonicNanoseconds() - start < 5_000_000_000 {
            // (Debian's busybox wget crashes with -T: timeout(1) bounds it instead.)
            fetched = try host("/usr/bin/timeout", ["5", "/bin/busybox", "wget", "-q", "-O", "-", "http://\(sandbox):8080/sandbox.txt"]).output
            if fetched.isEmpty { Clock.sleep(nanoseconds: 100_000_000) }
        }
        #expect(fetched == sandboxPage)
        let ping = try host("/usr/bin/ping", ["-c", "2", "-W", "2", sandbox])
        #expect(ping.output.contains("2 received"), "\(ping.output)")

        // Sandbox → host.
        let output = try runsc.readAll()
        #expect(try runsc.wait() == .exited(0))
        #expect(output == hostPage)

        try tcpdump.kill(.SIGINT)
        _ = try tcpdump.wait()
        let packets = try host("/usr/bin/tcpdump", ["-n", "-r", capture]).output.split(separator: "\n")
        #expect(packets.contains { $0.contains("\(sandbox).8080: Flags [S],") }, "\(packets.prefix(5))")
        #expect(packets.contains { $0.contains("\(sandbox).8080 > ") && $0.contains("Flags [S.],") })
        #expect(packets.contains { $0.contains("Flags [F") })
        // The Netstack's own capture (--pcap-log) has the same handshake and the ping's replies.
        let logged = try host("/usr/bin/tcpdump", ["-n", "-r", stackCapture]).output.split(separator: "\n")
        #expect(logged.contains { $0.contains("\(sandbox).8080 > ") && $0.contains("Flags [S.],") }, "\(logged.prefix(5))")
        #expect(logged.contains { $0.contains("ICMP echo reply") })
        // Nothing of the sandbox's network is left.
        #expect(try host("/usr/sbin/ip", ["-o", "-4", "addr", "show", "to", "\(gateway)/32"]).output.isEmpty)
    }
}

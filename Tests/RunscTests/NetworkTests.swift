import Glibc
import HostSys
import LinuxABI
import Netstack
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

    /// A /30 of 198.18.0.0/15 of this test run's own (`salt` keeps two tests apart): the
    /// host's end (.1 of it) and the sandbox's (.2), and the block's first address.
    func addresses(salt: UInt32) -> (block: String, gateway: String, sandbox: String) {
        let block = (UInt32(getpid() % 2000) * 2 + salt) * 4 + 0x1000
        let base = (UInt32(198) << 24 | UInt32(19) << 16) + block
        func address(_ offset: UInt32) -> String {
            let value = base + offset
            return "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
        }
        return (address(0), address(1), address(2))
    }

    /// The host's end of the veth that holds `gateway`, once runsc has made it (bounded wait).
    func hostInterface(holding gateway: String) throws -> String {
        var interface = ""
        for _ in 0..<100 where interface.isEmpty {
            let listing = try host("/usr/sbin/ip", ["-o", "-4", "addr", "show", "to", "\(gateway)/32"]).output
            interface = listing.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            if interface.isEmpty { Clock.sleep(nanoseconds: 20_000_000) }
        }
        return interface
    }

    /// Fetches `url` from the host with busybox wget, retried while the sandbox's server starts
    /// (for at most 5 s).
    func fetch(_ url: String) throws -> String {
        var fetched = ""
        let start = Clock.monotonicNanoseconds()
        while fetched.isEmpty && Clock.monotonicNanoseconds() - start < 5_000_000_000 {
            // (Debian's busybox wget crashes with -T: timeout(1) bounds it instead.)
            fetched = try host("/usr/bin/timeout", ["5", "/bin/busybox", "wget", "-q", "-O", "-", url]).output
            if fetched.isEmpty { Clock.sleep(nanoseconds: 100_000_000) }
        }
        return fetched
    }

    @Test("a host server is reached from the sandbox and a sandbox server from the host, byte for byte, by wget and by nc; tcpdump on the host's veth sees the handshake and the FIN; the Netstack answers ping; --pcap-log records its frames")
    func veth() throws {
        let (block, gateway, sandbox) = addresses(salt: 0)
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

        // The host's nc listener, for the sandbox's nc.
        var hostListener = try ChildProcess.spawn(
            path: "/bin/sh", arguments: ["sh", "-c", "exec timeout 20 busybox nc -l -p \(hostPort + 1) > \(hostDirectory)/nc.txt"],
            environment: ["PATH=/usr/bin:/bin"])
        var listenerDone = false
        defer {
            if !listenerDone {
                try? hostListener.kill(.SIGKILL)
                _ = try? hostListener.wait()
            }
        }

        // The sandbox: its own servers (httpd; nc, whose bytes it keeps), a fetch from the
        // host's once the host has looked, and a line to the host's nc.
        let script = [
            "httpd -f -p 8080 -h /www & web=$!; nc -l -p 8081 > /tmp/nc.txt & sleep 1.5; wget -q -O - http://\(gateway):\(hostPort)/host.txt",
            "printf 'from the sandbox by nc\\n' | nc \(gateway) \(hostPort + 1); sleep 4; kill $web; echo; cat /tmp/nc.txt",
        ].joined(separator: "; ")
        let bundle = try BusyboxBundle(arguments: ["sh", "-c", script])
        mkdir(bundle.path + "/rootfs/www", 0o755)
        let sandboxPage = (0..<3000).map { "sandbox line \($0)\n" }.joined()
        try bundle.write(bundle.path + "/rootfs/www/sandbox.txt", sandboxPage)
        let stackCapture = hostDirectory + "/netstack.pcap"
        let runsc = try Helper.startExecutable(
            "runsc",
            ["run", "--network-address", "\(block)/30", "--pcap-log", stackCapture, "--bundle", bundle.path, "net-\(getpid())"])
        let interface = try hostInterface(holding: gateway)
        #expect(!interface.isEmpty)
        let capture = hostDirectory + "/veth.pcap"
        var tcpdump = try ChildProcess.spawn(
            path: "/usr/bin/tcpdump", arguments: ["tcpdump", "-i", interface, "-U", "-w", capture, "tcp port 8080"])
        Clock.sleep(nanoseconds: 500_000_000)

        // Host → sandbox: httpd, then nc.
        #expect(try fetch("http://\(sandbox):8080/sandbox.txt") == sandboxPage)
        let sent = try host("/bin/sh", ["-c", "printf 'from the host by nc\\n' | timeout 5 busybox nc \(sandbox) 8081"])
        #expect(sent.status == .exited(0))
        let ping = try host("/usr/bin/ping", ["-c", "2", "-W", "2", sandbox])
        #expect(ping.output.contains("2 received"), "\(ping.output)")

        // Sandbox → host; and what each nc received.
        let output = try runsc.readAll()
        #expect(try runsc.wait() == .exited(0))
        #expect(output == hostPage + "\nfrom the host by nc\n")
        _ = try hostListener.wait()
        listenerDone = true
        let received = String(decoding: try readFile(hostDirectory + "/nc.txt"), as: UTF8.self)
        #expect(received == "from the sandbox by nc\n")

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

    @Test("malformed frames sent into the veth (truncated headers, bad checksums, lying lengths, overlapping fragments, TCP with every flag combination, random bytes) are dropped or answered; the Netstack keeps serving")
    func malformedFrames() throws {
        let (block, gateway, sandbox) = addresses(salt: 1)
        let bundle = try BusyboxBundle(arguments: ["sh", "-c", "httpd -f -p 8080 -h /www & sleep 8; kill $!"])
        mkdir(bundle.path + "/rootfs/www", 0o755)
        let page = (0..<500).map { "line \($0)\n" }.joined()
        try bundle.write(bundle.path + "/rootfs/www/page.txt", page)
        let runsc = try Helper.startExecutable("runsc", ["run", "--network-address", "\(block)/30", "--bundle", bundle.path, "bad-\(getpid())"])
        let interface = try hostInterface(holding: gateway)
        #expect(!interface.isEmpty)
        #expect(try fetch("http://\(sandbox):8080/page.txt") == page)

        // The sandbox's MAC, which the fetch taught the host.
        let neighbour = try host("/usr/sbin/ip", ["neigh", "show", sandbox, "dev", interface]).output
        let words = neighbour.split(separator: " ")
        let lladdr = try #require(words.firstIndex(of: "lladdr").map { words[$0 + 1] })
        let mac = try #require(MACAddress(lladdr.split(separator: ":").compactMap { UInt8($0, radix: 16) }))
        let socket = try PacketSocket(interface: interface)
        let own = try #require(MACAddress(socket.hardwareAddress))
        let (from, to) = (try #require(IPv4Address(parsing: gateway)), try #require(IPv4Address(parsing: sandbox)))
        func ethernet(_ packet: [UInt8]) -> [UInt8] { EthernetHeader.encode(destination: mac, source: own, etherType: .ipv4) + packet }
        func ipv4(_ payload: [UInt8], protocol: IPProtocolNumber, identification: UInt16 = 7, fragmentOffset: Int = 0, more: Bool = false) -> [UInt8] {
            IPv4Header.encode(
                source: from, destination: to, protocol: `protocol`, payloadLength: payload.count, identification: identification,
                dontFragment: false, fragmentOffset: fragmentOffset, moreFragments: more) + payload
        }
        func tcp(_ flags: TCPFlags, port: UInt16 = 8080, from sourcePort: UInt16) -> [UInt8] {
            TCPHeader.encode(
                sourcePort: sourcePort, destinationPort: port, sequenceNumber: 1000, acknowledgmentNumber: 1, flags: flags, window: 512,
                payload: [UInt8]("x".utf8), source: from, destination: to)
        }
        // (A frame shorter than an Ethernet header cannot be sent into a veth at all.)
        var frames: [[UInt8]] = [ethernet([]), ethernet([0x45, 0, 0])]
        var badChecksum = ipv4(tcp(.syn, from: 41000), protocol: .tcp)
        badChecksum[10] ^= 0xff
        frames.append(ethernet(badChecksum))
        var lying = ipv4(tcp(.syn, from: 41001), protocol: .tcp)
        lying[2] = 0x10  // a total length of 4 KiB in a short frame
        frames.append(ethernet(lying))
        var badTCP = tcp(.syn, from: 41002)
        badTCP[16] ^= 0x55
        frames.append(ethernet(ipv4(badTCP, protocol: .tcp)))
        var shortUDP = UDPHeader.encode(sourcePort: 5, destinationPort: 9, payload: [1, 2, 3], source: from, destination: to)
        shortUDP[4] = 0xff  // a UDP length past the packet
        frames.append(ethernet(ipv4(shortUDP, protocol: .udp)))
        frames.append(ethernet(ipv4([8, 0], protocol: .icmp)))  // a truncated echo request
        // Two fragments that overlap, then the tail of another datagram alone.
        let datagram = UDPHeader.encode(sourcePort: 5, destinationPort: 9, payload: [UInt8](repeating: 7, count: 40), source: from, destination: to)
        frames.append(ethernet(ipv4(Array(datagram[0..<24]), protocol: .udp, identification: 99, more: true)))
        frames.append(ethernet(ipv4(Array(datagram[16...]), protocol: .udp, identification: 99, fragmentOffset: 16)))
        frames.append(ethernet(ipv4(Array(datagram[24...]), protocol: .udp, identification: 100, fragmentOffset: 24)))
        // TCP with every combination of the six flags, to the listener and to a closed port.
        for bits in 0..<64 {
            frames.append(ethernet(ipv4(tcp(TCPFlags(rawValue: UInt8(bits)), from: UInt16(42000 + bits)), protocol: .tcp)))
            frames.append(ethernet(ipv4(tcp(TCPFlags(rawValue: UInt8(bits)), port: 9, from: UInt16(43000 + bits)), protocol: .tcp)))
        }
        // Random bytes behind a valid Ethernet header, and bare.
        var random = SystemRandomNumberGenerator()
        for index in 0..<200 {
            let noise = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            frames.append(index % 2 == 0 ? ethernet(noise) : mac.bytes + noise + [UInt8](repeating: 0, count: 8))
        }
        for batch in stride(from: 0, to: frames.count, by: PacketSocket.batchLimit) {
            let slice = frames[batch..<min(batch + PacketSocket.batchLimit, frames.count)]
            var buffer: [UInt8] = []
            var described: [PacketSocket.OutgoingFrame] = []
            for frame in slice {
                described.append(PacketSocket.OutgoingFrame(offset: buffer.count, count: frame.count))
                buffer += frame
            }
            #expect(try buffer.withUnsafeBytes { try socket.send(described, from: $0) } == described.count)
        }

        // Still serving, byte for byte; still answering ping; and the sandbox ends normally.
        #expect(try fetch("http://\(sandbox):8080/page.txt") == page)
        let ping = try host("/usr/bin/ping", ["-c", "1", "-W", "2", sandbox])
        #expect(ping.output.contains("1 received"), "\(ping.output)")
        _ = try runsc.readAll()
        #expect(try runsc.wait() == .exited(0))
        #expect(try host("/usr/sbin/ip", ["-o", "-4", "addr", "show", "to", "\(gateway)/32"]).output.isEmpty)
    }

    @Test("a bundle that names its network namespace: the Netstack takes over the interface's addresses (a secondary too) and routes there (the kernel's copies go), serves both ways, and the namespace keeps its interface")
    func joinedNamespace() throws {
        // A /29 (the /30s of salts 2 and 3): the host's end .1, the sandbox's .2 and .3 (a
        // secondary address, which the kernel deletes with the primary unless asked first).
        let (_, gateway, sandbox) = addresses(salt: 2)
        let octets = sandbox.split(separator: ".")
        let secondary = octets.dropLast().joined(separator: ".") + ".\(Int(octets[3])! + 1)"
        // An address of the host's beyond the /29, reached only through a route of the namespace.
        let (_, remote, _) = addresses(salt: 4)
        let namespace = "rsc-join-\(getpid())"
        let hostEnd = "rscj\(getpid())"
        let hostPort = 20000 + Int(getpid() % 20000) + 2
        defer {
            _ = try? host("/usr/sbin/ip", ["link", "delete", hostEnd])
            _ = try? host("/usr/sbin/ip", ["netns", "delete", namespace])
        }
        for command in [
            ["netns", "add", namespace],
            ["link", "add", hostEnd, "type", "veth", "peer", "name", "eth1", "netns", namespace],
            ["addr", "add", "\(gateway)/29", "dev", hostEnd], ["addr", "add", "\(remote)/32", "dev", hostEnd],
            ["link", "set", hostEnd, "up"],
            ["-n", namespace, "addr", "add", "\(sandbox)/29", "dev", "eth1"], ["-n", namespace, "addr", "add", "\(secondary)/29", "dev", "eth1"],
            ["-n", namespace, "link", "set", "eth1", "up"],
            ["-n", namespace, "route", "add", "\(remote)/32", "via", gateway],
        ] {
            #expect(try host("/usr/sbin/ip", command).status == .exited(0), "ip \(command)")
        }

        var template = Array("/tmp/runsc-joinwww-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Errno.current }
        let hostDirectory = String(cString: made)
        defer { _ = try? host("/bin/rm", ["-rf", hostDirectory]) }
        let hostPage = (0..<2000).map { "remote line \($0)\n" }.joined()
        let page = try FileDescriptor.open(hostDirectory + "/remote.txt", flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        try Array(hostPage.utf8).withUnsafeBytes { try page.writeAll($0) }
        var hostServer = try ChildProcess.spawn(path: "/bin/busybox", arguments: ["busybox", "httpd", "-f", "-p", "\(hostPort)", "-h", hostDirectory])
        defer {
            try? hostServer.kill(.SIGKILL)
            _ = try? hostServer.wait()
        }

        let script = "httpd -f -p 8080 -h /www & web=$!; sleep 1.5; wget -q -O - http://\(remote):\(hostPort)/remote.txt; sleep 3; kill $web"
        let bundle = try BusyboxBundle(arguments: ["sh", "-c", script], networkNamespace: "/run/netns/\(namespace)")
        mkdir(bundle.path + "/rootfs/www", 0o755)
        let sandboxPage = (0..<2000).map { "joined line \($0)\n" }.joined()
        try bundle.write(bundle.path + "/rootfs/www/sandbox.txt", sandboxPage)
        let runsc = try Helper.startExecutable("runsc", ["run", "--bundle", bundle.path, "join-\(getpid())"])
        // Host → sandbox: the kernel no longer holds the address (it would reset the
        // connection, having no listener); the Netstack answers.
        #expect(try fetch("http://\(sandbox):8080/sandbox.txt") == sandboxPage)
        #expect(try fetch("http://\(secondary):8080/sandbox.txt") == sandboxPage)
        #expect(try host("/usr/sbin/ip", ["-n", namespace, "-o", "-4", "addr", "show", "dev", "eth1"]).output.isEmpty)
        // Sandbox → host, through the namespace's route.
        let output = try runsc.readAll()
        #expect(try runsc.wait() == .exited(0))
        #expect(output == hostPage)
        // The namespace and its interface stay (they are the bundle's); the address does not come back.
        #expect(try host("/usr/sbin/ip", ["-n", namespace, "-o", "link", "show", "eth1"]).status == .exited(0))
    }

    @Test("a bundle whose network namespace path does not exist, or is not a namespace, is refused with a clear error")
    func missingNamespace() throws {
        let bundle = try BusyboxBundle(arguments: ["true"], networkNamespace: "/run/netns/rsc-absent-\(getpid())")
        let run = try host("/bin/sh", ["-c", "exec \(Helper.buildDirectory)/runsc run --bundle \(bundle.path) absent-\(getpid()) 2>&1"])
        #expect(run.status != .exited(0))
        let errors = run.output
        #expect(errors.contains("network namespace /run/netns/rsc-absent-\(getpid())"), "\(errors)")
        // A file that is not a namespace is refused as one.
        let file = try BusyboxBundle(arguments: ["true"], networkNamespace: "/etc/hostname")
        let refused = try host("/bin/sh", ["-c", "exec \(Helper.buildDirectory)/runsc run --bundle \(file.path) notns-\(getpid()) 2>&1"])
        #expect(refused.status != .exited(0))
        #expect(refused.output.contains("/etc/hostname: not a namespace file"), "\(refused.output)")
    }

    @Test("the program sees its network as on Linux: ip addr, ip link, ip route and ifconfig read the Netstack's interfaces over route netlink and the interface ioctls; changing them is refused")
    func interfacesInside() throws {
        let (block, gateway, sandbox) = addresses(salt: 5)
        let script = "ip -4 addr show dev eth0; ip link show lo; ip route; ifconfig eth0 | grep -i mask; route -n; grep -c eth0: /proc/net/dev; ip addr add 198.18.255.1/32 dev eth0; echo status $?"
        let bundle = try BusyboxBundle(arguments: ["sh", "-c", script])
        let runsc = try Helper.startExecutable("runsc", ["run", "--network-address", "\(block)/30", "--bundle", bundle.path, "ifaces-\(getpid())"])
        let output = try runsc.readAll()
        #expect(try runsc.wait() == .exited(0))
        let octets = sandbox.split(separator: ".")
        let broadcast = octets.dropLast().joined(separator: ".") + ".\(Int(octets[3])! + 1)"
        let lines = output.split(separator: "\n").map { String($0.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
        #expect(lines.contains("inet \(sandbox)/30 brd \(broadcast) scope global eth0"), "\(output)")
        #expect(lines.contains("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qlen 1000"))
        #expect(lines.contains("default via \(gateway) dev eth0"))
        #expect(lines.contains { $0.contains("\(block)/30 dev eth0") && $0.contains("src \(sandbox)") })
        #expect(lines.contains { $0.contains("inet addr:\(sandbox)") && $0.contains("Mask:255.255.255.252") })
        // route -n reads /proc/net/route: the default route first, as Linux lists it.
        let routeTable = lines.filter { $0.hasSuffix(" eth0") && $0.first?.isNumber == true }.map { $0.split(separator: " ").map(String.init) }
        #expect(routeTable.first == ["0.0.0.0", gateway, "0.0.0.0", "UG", "0", "0", "0", "eth0"], "\(routeTable)")
        #expect(routeTable.last == [block, "0.0.0.0", "255.255.255.252", "U", "0", "0", "0", "eth0"])
        #expect(lines.contains("1"))  // /proc/net/dev has eth0
        #expect(lines.last == "status 2")  // "RTNETLINK answers: Operation not supported"
    }
}

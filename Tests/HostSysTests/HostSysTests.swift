import CShim
import Dispatch
import Glibc
import HostSys
import LinuxABI
import TestSupport
import Testing

/// Counts SIGUSR1 deliveries to the test's handler.
nonisolated(unsafe) var signalsHandled: Int32 = 0

/// Installs a SIGUSR1 handler without SA_RESTART, so a blocked read fails with EINTR.
func installInterruptingHandler() {
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in signalsHandled += 1 }
    action.sa_flags = 0
    sigemptyset(&action.sa_mask)
    sigaction(SIGUSR1, &action, nil)
}

@Suite("HostSys: the door to the host", .serialized)
struct HostSysTests {
    @Test("a read interrupted by a signal is retried; without retry it reports EINTR")
    func interruptedRead() throws {
        installInterruptingHandler()
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGUSR1)
        var previousMask = sigset_t()
        pthread_sigmask(SIG_UNBLOCK, &unblock, &previousMask)
        defer { pthread_sigmask(SIG_SETMASK, &previousMask, nil) }

        let pipe = try FileDescriptor.pipe()
        let writer = pipe.second.rawValue
        let pid = getpid()
        let tid = cshim_gettid()
        signalsHandled = 0
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            for _ in 0..<3 {
                usleep(30_000)
                cshim_tgkill(pid, tid, SIGUSR1)
            }
            usleep(30_000)
            var byte: UInt8 = 42
            _ = Glibc.write(writer, &byte, 1)
            done.signal()
        }
        var byte: UInt8 = 0
        let count = try withUnsafeMutableBytes(of: &byte) { try pipe.first.read(into: $0) }
        done.wait()
        #expect(count == 1 && byte == 42)
        #expect(signalsHandled == 3)

        DispatchQueue.global().async {
            usleep(30_000)
            cshim_tgkill(pid, tid, SIGUSR1)
            usleep(500_000)  // if the read did not fail, end it so the test fails instead of hanging
            var byte: UInt8 = 43
            _ = Glibc.write(writer, &byte, 1)
            done.signal()
        }
        #expect(throws: Errno.EINTR) {
            _ = try withUnsafeMutableBytes(of: &byte) { try pipe.first.read(into: $0, retryOnInterrupt: false) }
        }
        done.wait()
    }

    @Test("fds pass over a unix socket and refer to the same open file")
    func descriptorPassing() throws {
        let sockets = try UnixSocket.pair()
        let memory = try MemoryFile.create(name: "passed", size: 4096)
        let pipe = try FileDescriptor.pipe()
        var payload: [UInt8] = [7, 8, 9]
        let sent = try payload.withUnsafeBytes {
            try UnixSocket.send(on: sockets.first, bytes: $0, descriptors: [memory.rawValue, pipe.second.rawValue])
        }
        #expect(sent == 3)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 1)
        defer { buffer.deallocate() }
        var message = try UnixSocket.receive(on: sockets.second, into: buffer)
        #expect(message.count == 3 && Array(buffer[0..<3]) == payload)
        #expect(message.descriptors.count == 2)
        guard let receivedMemory = message.descriptors.take(), let receivedPipe = message.descriptors.take() else {
            Issue.record("two fds were sent")
            return
        }
        #expect(message.descriptors.count == 0)
        #expect(receivedMemory.rawValue != memory.rawValue)

        // Same file: a write through one fd is read through the other.
        payload = [1, 2, 3, 4]
        _ = try payload.withUnsafeBytes { try receivedMemory.write($0, at: 100) }
        var readBack = [UInt8](repeating: 0, count: 4)
        _ = try readBack.withUnsafeMutableBytes { try memory.read(into: $0, at: 100) }
        #expect(readBack == payload)
        try payload.withUnsafeBytes { try receivedPipe.writeAll($0) }
        #expect(try readBack.withUnsafeMutableBytes { try pipe.first.readExactly(into: $0) })
        #expect(readBack == payload)
        // Received fds close on exec.
        #expect(fcntl(receivedPipe.rawValue, F_GETFD) & FD_CLOEXEC != 0)
    }

    @Test("more fds than the receiver makes room for: the extras are closed and EMSGSIZE reported")
    func truncatedDescriptors() throws {
        let sockets = try UnixSocket.pair()
        let pipe = try FileDescriptor.pipe()
        var byte: UInt8 = 1
        let fds = [pipe.first.rawValue, pipe.second.rawValue, pipe.first.rawValue]
        _ = try withUnsafeBytes(of: &byte) { try UnixSocket.send(on: sockets.first, bytes: $0, descriptors: fds) }
        #expect(throws: Errno.EMSGSIZE) {
            _ = try withUnsafeMutableBytes(of: &byte) { try UnixSocket.receive(on: sockets.second, into: $0, maxDescriptors: 1) }
        }
    }

    @Test("spawn maps fds into the child, reports exec failures and exit statuses")
    func spawn() throws {
        let pipe = try FileDescriptor.pipe()
        let reader = pipe.first
        let writer = pipe.second
        var child = try ChildProcess.spawn(
            path: "/bin/sh", arguments: ["sh", "-c", "echo hello >&5; exit 3"],
            descriptors: [(writer.rawValue, 5)])
        #expect(try child.wait() == .exited(3))
        _ = consume writer
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
        #expect(String(decoding: buffer[0..<count], as: UTF8.self) == "hello\n")

        #expect(throws: Errno.ENOENT) {
            _ = try ChildProcess.spawn(path: "/nonexistent/program", arguments: ["x"])
        }
        var killed = try ChildProcess.spawn(path: "/bin/sh", arguments: ["sh", "-c", "kill -9 $$"])
        #expect(try killed.wait() == .signaled(.SIGKILL))
        #expect(ExitStatus.signaled(.SIGKILL).shellCode == 137)

        // Only mapped fds reach the child: the pipe's read end does not.
        let probe = try FileDescriptor.pipe()
        let probeReader = probe.first
        let probeWriter = probe.second
        var lister = try ChildProcess.spawn(
            path: "/bin/sh", arguments: ["sh", "-c", "ls /proc/self/fd >&7"], descriptors: [(probeWriter.rawValue, 7)])
        #expect(try lister.wait() == .exited(0))
        _ = consume probeWriter
        let listed = try buffer.withUnsafeMutableBytes { try probeReader.read(into: $0) }
        let fds = String(decoding: buffer[0..<listed], as: UTF8.self).split(separator: "\n").compactMap { Int($0) }
        #expect(Set(fds).isSubset(of: [0, 1, 2, 3, 7]), "child saw fds \(fds)")  // 3: ls's own dir fd
    }

    @Test("memfd seals stop shrinking but not writing")
    func memfdSeals() throws {
        let memory = try MemoryFile.create(name: "sealed", size: 8192, seals: [.shrink, .grow])
        #expect(try MemoryFile.seals(of: memory) == [.shrink, .grow])
        #expect(throws: Errno.EPERM) { try memory.truncate(to: 4096) }
        #expect(throws: Errno.EPERM) { try memory.truncate(to: 16384) }
        #expect(try memory.size() == 8192)
        let region = try MappedRegion(fd: memory, length: 8192)
        region.bytes[8191] = 5
        var byte: UInt8 = 0
        _ = try withUnsafeMutableBytes(of: &byte) { try memory.read(into: $0, at: 8191) }
        #expect(byte == 5)
        let pipe = try FileDescriptor.pipe()
        #expect(throws: Errno.EINVAL) { _ = try MemoryFile.seals(of: pipe.first) }
    }

    @Test("futex wait reports a changed value and a timeout; wake reaches a waiter through a shared mapping")
    func futex() throws {
        let memory = try MemoryFile.create(name: "futex", size: 4096)
        let a = try MappedRegion(fd: memory, length: 4096)
        let b = try MappedRegion(fd: memory, length: 4096)
        let wordA = a.base.assumingMemoryBound(to: UInt32.self)
        let wordB = b.base.assumingMemoryBound(to: UInt32.self)
        #expect(try Futex.wait(wordA, expected: 1) == .valueChanged)
        #expect(try Futex.wait(wordA, expected: 0, timeoutNanoseconds: 10_000_000) == .timedOut)
        let address = Int(bitPattern: wordB)
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) {
            let word = UnsafeMutablePointer<UInt32>(bitPattern: address)!
            word.pointee = 1
            _ = try? Futex.wake(word)
        }
        var result = Futex.WaitResult.timedOut
        for _ in 0..<100 where wordA.pointee == 0 {
            result = try Futex.wait(wordA, expected: 0, timeoutNanoseconds: 2_000_000_000)
        }
        #expect(wordA.pointee == 1)
        #expect(result == .woken || result == .valueChanged)
    }

    @Test("CPU pinning and NUMA placement")
    func placement() throws {
        let count = try CPU.allowedCount()
        #expect(count >= 1)
        try CPU.pinCurrentThread(to: count - 1)
        #expect(CPU.current() == count - 1)
        #expect(try CPU.allowedCount() == 1)
        #expect(throws: Errno.EINVAL) { try CPU.pinCurrentThread(to: 1023) }
        let region = try MappedRegion(anonymous: 65536)
        let node = NUMA.bindToCurrentNode(region.bytes)
        #expect(node == nil || node == NUMA.currentNode())
        #expect(NUMA.isAvailable == (NUMA.currentNode() != nil))
    }
}

@Suite("HostSys: seccomp filters in a child process")
struct SeccompTests {
    @Test("an errno rule makes the denied call fail with that errno, others run")
    func errnoRule() throws {
        let (status, output) = try Helper.run("seccomp", ["allow", "errno"])
        #expect(status == .exited(0))
        #expect(output == "getppid -13 getfd ok getfl 0\n")
    }

    @Test("an allow-list with an errno default and an argument rule")
    func allowList() throws {
        let (status, output) = try Helper.run("seccomp", ["errno", "allow"])
        #expect(status == .exited(0))
        #expect(output == "getppid 1 getfd ok getfl -13\n")
    }

    @Test("a kill rule kills the process with SIGSYS")
    func killRule() throws {
        let (status, output) = try Helper.run("seccomp", ["allow", "kill"])
        #expect(status == .signaled(.SIGSYS))
        #expect(output == "")
    }

    @Test("an allow-list with a kill default kills on the first call it does not list")
    func killDefault() throws {
        // getppid is allowed, fcntl(F_GETFD) is allowed by its argument, fcntl(F_GETFL) kills.
        let (status, output) = try Helper.run("seccomp", ["kill", "allow"])
        #expect(status == .signaled(.SIGSYS))
        #expect(output == "")
    }
}

@Suite("HostSys: route netlink, parsed with checked lengths")
struct RouteNetlinkTests {
    /// One netlink message: header (length, type, flags, sequence, port) and payload, padded.
    func message(type: UInt16, sequence: UInt32, payload: [UInt8], length: UInt32? = nil) -> [UInt8] {
        var writer = ByteWriter()
        writer.writeInteger(length ?? UInt32(Netlink.headerSize + payload.count))
        writer.writeInteger(type)
        writer.writeInteger(Netlink.multipartFlag)
        writer.writeInteger(sequence)
        writer.writeInteger(UInt32(0))
        writer.writeBytes(payload)
        writer.writeZeros(Netlink.aligned(writer.count) - writer.count)
        return writer.bytes
    }

    /// An attribute: length, type, value, padded to 4 bytes.
    func attribute(_ type: UInt16, _ value: [UInt8], length: UInt16? = nil) -> [UInt8] {
        var writer = ByteWriter()
        writer.writeInteger(length ?? UInt16(RouteMessage.attributeHeaderSize + value.count))
        writer.writeInteger(type)
        writer.writeBytes(value)
        writer.writeZeros(Netlink.aligned(writer.count) - writer.count)
        return writer.bytes
    }

    func linkPayload(index: Int32, name: String, mac: [UInt8]) -> [UInt8] {
        var header = ByteWriter()
        header.writeInteger(UInt8(0))
        header.writeInteger(UInt8(0))
        header.writeInteger(InterfaceFlag.etherType)
        header.writeInteger(index)
        header.writeInteger(InterfaceFlag.up)
        header.writeInteger(UInt32(0))
        return header.bytes + attribute(RouteAttribute.linkName, Array(name.utf8) + [0]) + attribute(RouteAttribute.linkAddress, mac)
            + attribute(RouteAttribute.linkMTU, [0xdc, 0x05, 0, 0])
    }

    @Test("a dump's messages, its end, and other requests' messages skipped")
    func dump() throws {
        let mac: [UInt8] = [2, 0, 0, 0, 0, 7]
        let datagram = message(type: RouteMessage.newLink, sequence: 9, payload: linkPayload(index: 3, name: "eth1", mac: mac))
            + message(type: RouteMessage.newLink, sequence: 8, payload: linkPayload(index: 4, name: "old", mac: mac))
            + message(type: Netlink.done, sequence: 9, payload: [0, 0, 0, 0])
        let parsed = try RouteNetlinkWire.parse(datagram[...], sequence: 9)
        #expect(parsed.finished)
        #expect(parsed.messages.count == 1)
        let link = try RouteNetlinkWire.link(from: try #require(parsed.messages.first).payload)
        #expect(link == RouteNetlink.Link(index: 3, name: "eth1", type: InterfaceFlag.etherType, flags: InterfaceFlag.up, hardwareAddress: mac, mtu: 1500))
        // Without NLMSG_DONE the dump goes on in the next datagram.
        #expect(try !RouteNetlinkWire.parse(datagram[..<(datagram.count - 20)], sequence: 9).finished)
    }

    @Test("lengths that run past their container are EBADMSG; an NLMSG_ERROR throws its errno")
    func malformed() throws {
        let good = message(type: RouteMessage.newLink, sequence: 1, payload: linkPayload(index: 1, name: "eth0", mac: [1, 2, 3, 4, 5, 6]))
        // Every prefix that cuts the message, a length beyond the datagram, one below the header.
        for cut in 1..<good.count {
            #expect(throws: LinuxErrno.EBADMSG) { try RouteNetlinkWire.parse(good[..<cut], sequence: 1) }
        }
        #expect(throws: LinuxErrno.EBADMSG) { try RouteNetlinkWire.parse(message(type: 16, sequence: 1, payload: [], length: 4096)[...], sequence: 1) }
        #expect(throws: LinuxErrno.EBADMSG) { try RouteNetlinkWire.parse(message(type: 16, sequence: 1, payload: [0, 0, 0, 0], length: 8)[...], sequence: 1) }
        // An attribute whose length lies: past the message, or shorter than its own header.
        var header = [UInt8](repeating: 0, count: RouteMessage.linkHeaderSize)
        #expect(throws: LinuxErrno.EBADMSG) { try RouteNetlinkWire.link(from: (header + attribute(3, [0x41, 0], length: 200))[...]) }
        #expect(throws: LinuxErrno.EBADMSG) { try RouteNetlinkWire.link(from: (header + attribute(3, [0x41, 0], length: 2))[...]) }
        header.removeLast()
        #expect(throws: LinuxErrno.EBADMSG) { try RouteNetlinkWire.link(from: header[...]) }
        // A route's header cut short; an address of another family is skipped.
        #expect(throws: LinuxErrno.EBADMSG) { try RouteNetlinkWire.route(from: [2, 0, 0, 0][...]) }
        #expect(try RouteNetlinkWire.address(from: ([10, 64, 0, 0, 1, 0, 0, 0] + attribute(RouteAttribute.addressLocal, [UInt8](repeating: 0, count: 16)))[...]) == nil)
        // The kernel's refusal, as a negative errno.
        var error = ByteWriter()
        error.writeInteger(Int32(-1))
        error.writeZeros(Netlink.headerSize)
        #expect(throws: LinuxErrno.EPERM) { try RouteNetlinkWire.parse(message(type: Netlink.error, sequence: 5, payload: error.bytes)[...], sequence: 5) }
    }

    @Test("this namespace's loopback, its 127.0.0.1/8 and a route table, read from the kernel")
    func live() throws {
        var netlink = try RouteNetlink()
        let links = try netlink.links()
        let loopback = try #require(links.first { $0.name == "lo" })
        #expect(loopback.flags & InterfaceFlag.loopback != 0)
        #expect(Int32(if_nametoindex("lo")) == loopback.index)
        let addresses = try netlink.addresses()
        #expect(addresses.contains { $0.interfaceIndex == loopback.index && $0.local == [127, 0, 0, 1] && $0.prefixLength == 8 })
        // The main table's unicast routes, as iproute2 lists them: as many, with the same
        // default gateway.
        let routes = try netlink.routes()
        let listed = String(decoding: try ChildProcess.run(path: "/usr/sbin/ip", arguments: ["ip", "-4", "-o", "route", "show", "table", "main", "type", "unicast"]).output, as: UTF8.self)
            .split(separator: "\n")
        #expect(routes.count == listed.count, "\(routes) against \(listed)")
        let defaultGateway = routes.first { $0.prefixLength == 0 }?.gateway.map { $0.map(String.init).joined(separator: ".") }
        #expect(defaultGateway == listed.first { $0.hasPrefix("default via ") }.map { String($0.split(separator: " ")[2]) })
    }
}

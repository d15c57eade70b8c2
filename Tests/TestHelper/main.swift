// sandbox-test-helper: the second process of the HostSys and Flipcall tests.
//
// Usage: sandbox-test-helper MODE [ARGS]. Channel modes find their channel files at fd 3
// (memfd) and fd 4 (socket), as the tests map them. Each mode prints what the test checks on
// stdout and exits 0 when its own checks pass.

import Atomics
import Flipcall
import Gofer
import Glibc
import HostSys
import LinuxABI

/// Writes a line to stdout at once (no stdio buffering: the test may read it while we wait).
func say(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { Glibc.write(1, $0.baseAddress, $0.count) }
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let mode = arguments.first else {
    say("usage: sandbox-test-helper MODE [ARGS]")
    exit(2)
}

func integer(_ index: Int, default value: Int) -> Int {
    arguments.count > index ? Int(arguments[index]) ?? value : value
}

func channelFiles() -> ChannelFiles {
    ChannelFiles(memory: FileDescriptor(owning: 3), socket: FileDescriptor(owning: 4))
}

/// The channel files sent over the unix socket at fd 3 (SCM_RIGHTS) instead of inherited.
func receivedChannelFiles() throws -> ChannelFiles {
    let socket = FileDescriptor(owning: 3)
    var byte: UInt8 = 0
    var message = try withUnsafeMutableBytes(of: &byte) { try UnixSocket.receive(on: socket, into: $0, maxDescriptors: 2) }
    guard message.descriptors.count == 2, let memory = message.descriptors.take(), let peer = message.descriptors.take()
    else { fail("expected 2 fds, got \(message.descriptors.count)") }
    return ChannelFiles(memory: memory, socket: peer)
}

func fail(_ message: String) -> Never {
    say("FAIL \(message)")
    exit(1)
}

/// Serves echo requests until the channel ends; checks each request's pattern and replies
/// with the complement. Prints how the channel ended.
func echoServer(policy: WaitPolicy, files: () throws -> ChannelFiles = channelFiles) {
    do {
        let server = try Endpoint(files: files(), side: .server, policy: policy)
        var sequence = 0
        var length = try server.receive()
        while true {
            for index in 0..<length where server.window[index] != patternByte(sequence: sequence, index: index) {
                fail("request \(sequence) byte \(index)")
            }
            for index in 0..<length { server.window[index] = ~server.window[index] }
            sequence += 1
            length = try server.reply(length: length)
        }
    } catch {
        say("ended \(error)")
    }
}

switch mode {
case "echo-server":
    echoServer(policy: WaitPolicy(spinIterations: integer(1, default: 0)))

case "echo-server-received":
    echoServer(policy: .futex, files: receivedChannelFiles)

case "shutdown-after-receive":
    // Receives one request, then shuts down instead of replying.
    do {
        let server = try Endpoint(files: channelFiles(), side: .server)
        _ = try server.receive()
        server.shutdown()
        say("shut down")
    } catch {
        fail("\(error)")
    }

case "reply-once-then-hang":
    // Answers the first request, takes the second and never replies (the test kills it).
    do {
        let server = try Endpoint(files: channelFiles(), side: .server)
        _ = try server.reply(length: try server.receive())
        say("received")
        while true { pause() }
    } catch {
        fail("\(error)")
    }

case "lying-server":
    // A hostile server: answers with a length larger than the window, behind the API's back.
    do {
        let region = try MappedRegion(fd: FileDescriptor(owning: 3), length: integer(1, default: 4096))
        let state = UnsafeAtomic<UInt32>(at: (region.base + 64).assumingMemoryBound(to: UInt32.AtomicRepresentation.self))
        while state.load(ordering: .acquiring) & 3 != 2 { usleep(100) }  // wait for the request
        (region.base + 68).storeBytes(of: UInt32.max, as: UInt32.self)
        state.store(1, ordering: .sequentiallyConsistent)
        _ = try Futex.wake((region.base + 64).assumingMemoryBound(to: UInt32.self), count: 1)
        say("lied")
    } catch {
        fail("\(error)")
    }

case "wait-for-shutdown":
    // Waits for a request that never comes; the client shuts down meanwhile.
    do {
        let server = try Endpoint(files: channelFiles(), side: .server)
        say("waiting")
        _ = try server.receive()
        fail("received a request")
    } catch {
        say("ended \(error)")
    }

case "ring-consume":
    // Consumes COUNT messages, message i holding i as 8 bytes then pattern bytes; checks each.
    let count = integer(1, default: 1000)
    let batch = integer(2, default: Int.max)
    do {
        let consumer = try RingConsumer(files: channelFiles())
        var next = 0
        var batches = 0
        while next < count {
            batches += 1
            _ = try consumer.consume(maximum: batch) { message in
                guard message.count >= 8 else { fail("message \(next) has \(message.count) bytes") }
                let sequence = Int(message.loadUnaligned(as: UInt64.self))
                guard sequence == next else { fail("message \(next) carries \(sequence)") }
                for index in 8..<message.count where message[index] != patternByte(sequence: sequence, index: index) {
                    fail("message \(next) byte \(index)")
                }
                next += 1
            }
        }
        say("consumed \(next) in \(batches) batches")
    } catch {
        fail("\(error)")
    }

case "ring-lying-producer":
    // A hostile producer: publishes a slot whose length exceeds the slot.
    do {
        let region = try MappedRegion(fd: FileDescriptor(owning: 3), length: integer(1, default: 4096))
        (region.base + 384).storeBytes(of: UInt32.max, as: UInt32.self)
        let head = UnsafeAtomic<UInt32>(at: (region.base + 64).assumingMemoryBound(to: UInt32.AtomicRepresentation.self))
        head.store(1, ordering: .sequentiallyConsistent)
        _ = try Futex.wake((region.base + 64).assumingMemoryBound(to: UInt32.self), count: 1)
        say("lied")
    } catch {
        fail("\(error)")
    }

case "seccomp":
    // seccomp DEFAULT RULE: installs a filter whose default is DEFAULT (allow, errno, kill)
    // and whose rule for getppid is RULE, then calls getppid and fcntl(F_GETFL) and prints
    // what each returned.
    let actions: [String: SeccompFilter.Action] = [
        "allow": .allow, "errno": .errno(.EACCES), "kill": .killProcess, "eperm": .errno(.EPERM),
    ]
    guard arguments.count == 3, let defaultAction = actions[arguments[1]], let rule = actions[arguments[2]] else {
        fail("usage: seccomp DEFAULT RULE")
    }
    var filter = SeccompFilter(defaultAction: defaultAction)
    if defaultAction != .allow {
        // What this process needs after the filter is in: print, exit, and the Swift runtime.
        filter.allow([.write, .exit, .exit_group, .futex, .munmap, .madvise, .rt_sigprocmask, .brk, .mmap, .newfstatat])
        // fcntl only for F_GETFD (1): F_GETFL (3) falls to the default action.
        filter.allow(.fcntl, where: [.init(1, .equal(1))])
    }
    if rule != defaultAction { filter.add(rule, for: .getppid) }
    do {
        try filter.load()
    } catch {
        fail("load: \(error)")
    }
    // glibc's getppid cannot fail, so it returns the kernel's -errno as it is.
    let ppid = getppid()
    let getfd = fcntl(1, F_GETFD)
    let getfl = fcntl(1, F_GETFL)
    let getflErrno = getfl < 0 ? Errno.current.rawValue : 0
    say("getppid \(ppid < 0 ? ppid : 1) getfd \(getfd >= 0 ? "ok" : "fail") getfl \(getfl < 0 ? -getflErrno : 0)")

case "gofer-serve":
    // gofer-serve ROOT [ro]: serves ROOT over the lisafs socket at fd 3 until the client leaves.
    guard arguments.count >= 2 else { fail("usage: gofer-serve ROOT [ro]") }
    do {
        let root = try FileDescriptor.open(arguments[1], flags: OpenFlags([.path, .directory]).rawValue)
        let server = try LisafsServer(root: root, readOnly: arguments.count > 2 && arguments[2] == "ro")
        say("serving")
        LisafsConnection(server: server, socket: FileDescriptor(owning: 3)).serve()
        say("open files \(server.openFileCount)")
    } catch {
        fail("\(error)")
    }

default:
    fail("unknown mode \(mode)")
}

import Glibc
import HostSys
import LinuxABI
import TestSupport
import Testing

@testable import Sentry

/// Compiles a C program of Tests/SentryTests/Programs with `gcc -static -nostdlib -ffreestanding` and
/// returns the executable's path.
func buildProgram(_ name: String) throws -> String {
    let directory = String(#filePath.prefix(upTo: #filePath.lastIndex(of: "/") ?? #filePath.endIndex))
    let source = "\(directory)/Programs/\(name).c"
    let output = "/tmp/sentry-test-\(name)-\(getpid())"
    var gcc = try ChildProcess.spawn(
        path: "/usr/bin/gcc", arguments: ["gcc", "-static", "-nostdlib", "-ffreestanding", "-O2", "-fno-stack-protector", "-o", output, source],
        environment: ["PATH=/usr/bin:/bin"], descriptors: [(2, 2)])
    #expect(try gcc.wait() == .exited(0))
    return output
}

/// Collects what a program writes, from the tracer thread.
final class OutputBox: @unchecked Sendable {
    var bytes: [UInt8] = []
    var text: String { String(decoding: bytes, as: UTF8.self) }
}

@Suite("Sentry on the ptrace platform")
struct PtraceTests {
    @Test("a static program runs with every syscall served by the Sentry")
    func rawHello() throws {
        let path = try buildProgram("raw_hello")
        defer { unlink(path) }
        let executable = try readFile(path)
        let output = OutputBox()
        let done = Semaphore()
        nonisolated(unsafe) var result: Result<Kernel.Outcome, LinuxErrno>?
        // The tracer is a dedicated OS thread, as the platform requires.
        try HostThread.detach {
            result = Result { () throws(LinuxErrno) in
                try Kernel.runStatic(executable: executable, arguments: ["raw_hello"], stdio: .captured { _, bytes in output.bytes += bytes })
            }
            done.signal()
        }
        done.wait()
        let outcome = try #require(try result?.get())
        #expect(outcome.status == .exited(7))
        #expect(
            output.text == """
                hello from the sandbox
                getpid 1
                open -38
                write to an unmapped buffer -14
                write to fd 5 -9

                """)
        #expect(outcome.unimplementedCalls.isEmpty)  // open is served: with no root attached it is ENOSYS

        // Natively the same program sees the host: its own pid and the host's file.
        let native = try runNative(path)
        #expect(native.status == .exited(7))
        #expect(native.output.hasPrefix("hello from the sandbox\ngetpid "))
        #expect(!native.output.contains("getpid 1\n") && !native.output.contains("open -38"))
    }

    @Test(
        "Debian's static busybox runs in the Sentry and prints what it prints natively",
        .enabled(if: access("/bin/busybox", X_OK) == 0, "needs Debian's busybox-static (tools/test installs it)"),
        arguments: [
            ["echo", "hello", "sandbox"], ["true"], ["false"], ["basename", "/a/b/c"], ["dirname", "/a/b/c"],
            ["printf", "%s-%d\\n", "x", "42"], ["cat"], ["seq", "3"], ["expr", "6", "*", "7"], ["wc", "-c"],
        ])
    func busybox(_ arguments: [String]) throws {
        let executable = try readFile("/bin/busybox")
        let output = OutputBox()
        let done = Semaphore()
        nonisolated(unsafe) var result: Result<Kernel.Outcome, LinuxErrno>?
        try HostThread.detach {
            result = Result { () throws(LinuxErrno) in
                try Kernel.runStatic(
                    executable: executable, arguments: ["busybox"] + arguments, stdio: .captured { _, bytes in output.bytes += bytes })
            }
            done.signal()
        }
        done.wait()
        let outcome = try #require(try result?.get())
        let native = try runNative("/bin/busybox", arguments)
        #expect(outcome.status == native.status)
        #expect(output.text == native.output)
    }

    @Test("a stub keeps no mapping of the Sentry's and holds only the memory file")
    func stubIsEmpty() throws {
        let done = Semaphore()
        nonisolated(unsafe) var maps = ""
        nonisolated(unsafe) var fds: [String] = []
        try HostThread.detach {
            defer { done.signal() }
            guard let memory = try? MemoryFile(), let stub = try? PtraceStub.start(memory: memory.fd).process else { return }
            maps = (try? String(decoding: readFile("/proc/\(stub.pid)/maps"), as: UTF8.self)) ?? ""
            fds = (try? directoryNames("/proc/\(stub.pid)/fd")) ?? []
        }
        done.wait()
        let lines = maps.split(separator: "\n")
        #expect(lines.count <= 2, "\(maps)")  // the code page, and [vsyscall] which cannot go
        #expect(lines.contains { $0.hasPrefix("7ffffff00000-7ffffff01000 r-xp") })
        #expect(fds == ["3"])
    }

    @Test("the stub runs under its seccomp filter: a call the Sentry does not inject kills it")
    func stubFilter() throws {
        let done = Semaphore()
        nonisolated(unsafe) var status = ""
        nonisolated(unsafe) var mapped = false
        nonisolated(unsafe) var failure: LinuxErrno?
        nonisolated(unsafe) var pid: pid_t = 0
        try HostThread.detach {
            defer { done.signal() }
            guard let memory = try? MemoryFile(), let thread = try? PtraceStub.start(memory: memory.fd) else { return }
            let stub = thread.process
            pid = stub.pid
            status = (try? String(decoding: readFile("/proc/\(stub.pid)/status"), as: UTF8.self)) ?? ""
            // mmap is one of the injected calls: it runs.
            mapped = (try? stub.map(address: 0x10000, length: 4096, protection: [.read], fileOffset: 0)) != nil
            // getpid is not: the stub dies with SIGSYS, and the injection fails.
            do {
                _ = try thread.inject(.getpid)
            } catch {
                failure = error as? LinuxErrno
            }
        }
        done.wait()
        #expect(status.split(separator: "\n").contains("Seccomp:\t2"), "\(status)")
        #expect(mapped)
        #expect(failure == .EFAULT)
        #expect(kill(pid, 0) != 0)  // reaped: gone
    }

    @Test("malformed executables fail to load with ENOEXEC, never crash")
    func badExecutable() throws {
        let done = Semaphore()
        nonisolated(unsafe) var errors: [LinuxErrno?] = []
        try HostThread.detach {
            defer { done.signal() }
            for bytes in [[UInt8](), Array("#!/bin/sh\n".utf8), [0x7f, 0x45, 0x4c, 0x46] + [UInt8](repeating: 0xff, count: 60)] {
                let run = Result { () throws(LinuxErrno) in
                    try Kernel.runStatic(executable: bytes, arguments: ["x"], stdio: .captured { _, _ in })
                }
                if case .failure(let error) = run { errors.append(error) } else { errors.append(nil) }
            }
        }
        done.wait()
        #expect(errors == [.ENOEXEC, .ENOEXEC, .ENOEXEC])
    }
}

/// A counting semaphore over a pthread mutex and condition, for waiting on a tracer thread.
final class Semaphore: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var count = 0

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    func signal() {
        pthread_mutex_lock(&mutex)
        count += 1
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    func wait() {
        pthread_mutex_lock(&mutex)
        while count == 0 { pthread_cond_wait(&condition, &mutex) }
        count -= 1
        pthread_mutex_unlock(&mutex)
    }
}


/// Runs `path` natively and returns its status and standard output.
func runNative(_ path: String, _ arguments: [String] = []) throws -> (status: HostSys.ExitStatus, output: String) {
    // Standard input at end of file, as the Sentry gives it until host stdio is wired through.
    let null = try FileDescriptor.open("/dev/null", flags: O_RDONLY)
    let run = try ChildProcess.run(path: path, arguments: [path] + arguments, descriptors: [(null.rawValue, 0)])
    return (run.status, String(decoding: run.output, as: UTF8.self))
}

import Glibc
import Gofer
import HostSys
import LinuxABI
import TestSupport
import Testing

@testable import Sentry

/// A small tree served by a gofer process, as a program's root file system.
final class RootFixture {
    let path: String
    let client: LisafsClient
    let gofer: RunningHelper

    init() throws {
        var template = Array("/tmp/sentry-root-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Errno.current }
        path = String(cString: made)
        for directory in ["dir", "nested", "nested/deep", "etc"] { mkdir(path + "/" + directory, 0o755) }
        for (file, text) in [
            ("hello.txt", "hello from the gofer\n"), ("dir/a", "first\n"), ("dir/b", "second\nline\n"),
            ("nested/deep/file", "deep\n"), ("etc/hostname", "sandbox-host\n"),
        ] {
            try Self.write(path + "/" + file, text)
        }
        symlink("hello.txt", path + "/link")
        symlink("/nested/deep", path + "/deeplink")
        symlink("loop2", path + "/loop1")
        symlink("loop1", path + "/loop2")
        let sockets = try UnixSocket.pair()
        gofer = try Helper.start("gofer-serve", [path, "ro"], descriptors: [(sockets.second.rawValue, 3)])
        _ = consume sockets.second
        guard try gofer.readLine() == "serving" else { throw Errno.EIO }
        client = try LisafsClient(socket: sockets.first, channels: 1)
    }

    deinit {
        var remover = try? ChildProcess.spawn(path: "/bin/rm", arguments: ["rm", "-rf", path])
        _ = try? remover?.wait()
    }

    static func write(_ path: String, _ text: String) throws {
        let fd = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        try Array(text.utf8).withUnsafeBytes { try fd.writeAll($0) }
    }

    /// Runs busybox with `arguments` in the Sentry on this root; returns status and stdout.
    func run(_ arguments: [String]) throws -> (status: HostSys.ExitStatus, output: String) {
        let executable = try readFile("/bin/busybox")
        let output = OutputBox()
        let done = Semaphore()
        let client = self.client
        nonisolated(unsafe) var result: Result<Kernel.Outcome, LinuxErrno>?
        try HostThread.detach {
            result = Result { () throws(LinuxErrno) in
                try Kernel.runStatic(
                    executable: executable, arguments: ["busybox"] + arguments, root: client,
                    stdio: .captured { fd, bytes in if fd == 1 { output.bytes += bytes } })
            }
            done.signal()
        }
        done.wait()
        return (try #require(try result?.get()).status, output.text)
    }
}

@Suite(
    "Sentry: the root file system served by the gofer",
    .enabled(if: access("/bin/busybox", X_OK) == 0, "needs Debian's busybox-static (tools/test installs it)"))
struct GoferRootTests {
    @Test("busybox reads, lists and follows symlinks in the gofer's tree as natively in the same tree")
    func matchesNative() throws {
        let fixture = try RootFixture()
        // (arguments in the sandbox, arguments natively): absolute paths in the sandbox are
        // paths under the fixture natively.
        let cases: [([String], [String])] = [
            (["cat", "/hello.txt"], ["cat", "\(fixture.path)/hello.txt"]),
            (["cat", "/link"], ["cat", "\(fixture.path)/link"]),
            (["cat", "/deeplink/file"], ["cat", "\(fixture.path)/nested/deep/file"]),
            (["ls", "/dir"], ["ls", "\(fixture.path)/dir"]),
            (["ls", "-a", "/"], ["ls", "-a", fixture.path]),
            (["wc", "-l", "/dir/b"], ["wc", "-l", "\(fixture.path)/dir/b"]),
            (["head", "-c", "5", "/hello.txt"], ["head", "-c", "5", "\(fixture.path)/hello.txt"]),
            (["cat", "/dir/../dir/./a", "/dir/b"], ["cat", "\(fixture.path)/dir/../dir/./a", "\(fixture.path)/dir/b"]),
            (["cat", "/missing"], ["cat", "\(fixture.path)/missing"]),
            (["cat", "/loop1"], ["cat", "\(fixture.path)/loop1"]),
            (["cat", "/hello.txt/x"], ["cat", "\(fixture.path)/hello.txt/x"]),
            (["sh", "-c", "exit 7"], ["sh", "-c", "exit 7"]),
            (["sh", "-c", "echo $((6 * 7)); x=sandbox; echo ${#x} $x"], ["sh", "-c", "echo $((6 * 7)); x=sandbox; echo ${#x} $x"]),
            (["sh", "-c", "read -r line < /hello.txt && echo got $line"], ["sh", "-c", "read -r line < \(fixture.path)/hello.txt && echo got $line"]),
        ]
        for (sandboxed, native) in cases {
            let inside = try fixture.run(sandboxed)
            let outside = try runNative("/bin/busybox", native)
            #expect(inside.status == outside.status, "\(sandboxed)")
            #expect(inside.output == outside.output.replacingFixture(fixture.path), "\(sandboxed)")
        }
    }

    @Test("the program sees the bundle's files, not the host's, and .. stops at the root")
    func isolation() throws {
        let fixture = try RootFixture()
        #expect(try fixture.run(["cat", "/etc/hostname"]).output == "sandbox-host\n")
        #expect(try fixture.run(["cat", "/../../../etc/hostname"]).output == "sandbox-host\n")
        #expect(try fixture.run(["cat", "/etc/passwd"]).status == .exited(1))
        #expect(try fixture.run(["ls", "/.."]).output == (try fixture.run(["ls", "/"]).output))
    }

    @Test("sleep sleeps")
    func sleeps() throws {
        let fixture = try RootFixture()
        let start = Clock.monotonicNanoseconds()
        #expect(try fixture.run(["sleep", "0.3"]).status == .exited(0))
        #expect(Clock.monotonicNanoseconds() - start >= 300_000_000)
    }

    @Test("writes to the read-only root fail with EROFS")
    func readOnly() throws {
        let fixture = try RootFixture()
        #expect(try fixture.run(["touch", "/new"]).status == .exited(1))
        #expect(access(fixture.path + "/new", F_OK) != 0)
    }
}

extension String {
    /// The text with the fixture's path prefix removed from paths (natively, busybox prints
    /// the paths it was given).
    func replacingFixture(_ path: String) -> String { replacing(path, with: "") }
}

import Foundation
import Glibc
import HostSys
import TestSupport
import Testing

@testable import Runsc

@Suite(
    "runsc create, start, state, kill, delete, list",
    .enabled(if: canRunSandboxes, "needs root (namespaces, ptrace) and Debian's busybox-static (tools/test installs it)"))
struct LifecycleTests {
    /// A fresh state root, removed at the end.
    final class StateRoot {
        let path: String

        init() throws {
            var template = Array("/tmp/runsc-state-XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else { throw Errno.current }
            path = String(cString: made)
        }

        deinit {
            var remover = try? ChildProcess.spawn(path: "/bin/rm", arguments: ["rm", "-rf", path])
            _ = try? remover?.wait()
        }

        /// Runs `runsc <command> --root <path> <arguments>` to its end. (Not for a `create`
        /// that succeeds: its stdout stays open in the container until the container ends.)
        func runsc(_ command: String, _ arguments: [String]) throws -> (status: HostSys.ExitStatus, output: String) {
            let process = try Helper.startExecutable("runsc", [command, "--root", path] + arguments)
            let output = try process.readAll()
            return (try process.wait(), output)
        }

        /// Runs `runsc create` and returns its exit status and the pipe of the container's
        /// stdout (read it to its end once the container has ended).
        func create(_ bundle: String, _ id: String) throws -> (status: HostSys.ExitStatus, output: RunningHelper) {
            let process = try Helper.startExecutable("runsc", ["create", "--root", path, "--bundle", bundle, id])
            return (try process.wait(), process)
        }

        /// The container's state as `runsc state` prints it.
        func state(_ id: String) throws -> [String: Any] {
            let result = try runsc("state", [id])
            try #require(result.status == .exited(0))
            return try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        }

        /// Polls until the container's status is `status` (at most 30 s: CI runs suites side by side).
        func wait(_ id: String, for status: String) throws -> [String: Any] {
            for _ in 0..<600 {
                let current = try state(id)
                if current["status"] as? String == status { return current }
                usleep(50_000)
            }
            return try state(id)
        }
    }

    @Test("create waits at the start gate; start runs the program; kill TERM reaches its trap; delete leaves nothing")
    func lifecycle() throws {
        let root = try StateRoot()
        let bundle = try BusyboxBundle(arguments: ["sh", "-c", "trap 'echo got TERM; exit 3' TERM; echo started; while true; do sleep 1; done"])
        let id = "life-\(getpid())"
        // create's stdout becomes the program's: read it once the container has ended.
        let (status, create) = try root.create(bundle.path, id)
        #expect(status == .exited(0))

        let created = try root.state(id)
        #expect(created["status"] as? String == "created")
        #expect(created["id"] as? String == id)
        #expect(created["bundle"] as? String == bundle.path)
        let pid = try #require(created["pid"] as? Int)
        #expect(kill(pid_t(pid), 0) == 0)
        #expect(try root.runsc("list", ["--quiet"]).output == id + "\n")
        let listed = try Helper.startExecutable("runsc", ["--root", root.path, "list", "--quiet"])  // runc's flag order
        #expect(try listed.readAll() == id + "\n")
        #expect(try listed.wait() == .exited(0))
        #expect(try root.runsc("create", ["--bundle", bundle.path, id]).status == .exited(1))  // the id is taken

        #expect(try root.runsc("start", [id]).status == .exited(0))
        #expect(try root.wait(id, for: "running")["status"] as? String == "running")
        #expect(try root.runsc("start", [id]).status == .exited(1))  // not created any more
        #expect(try root.runsc("delete", [id]).status == .exited(1))  // running: needs --force
        #expect(try create.readLine() == "started")  // printed after the trap is set
        #expect(try root.runsc("kill", [id, "TERM"]).status == .exited(0))
        let stopped = try root.wait(id, for: "stopped")
        #expect(stopped["status"] as? String == "stopped")
        #expect(stopped["exitStatus"] as? Int == 3)
        #expect(try root.runsc("kill", [id, "TERM"]).status == .exited(1))  // not running

        #expect(try root.runsc("delete", [id]).status == .exited(0))
        #expect(access(root.path + "/" + id, F_OK) != 0)
        #expect(kill(pid_t(pid), 0) != 0)
        #expect(try create.readAll() == "got TERM\n")
        #expect(try root.runsc("state", [id]).status == .exited(1))
    }

    @Test("delete of a created container kills it; delete --force kills a running one; bad input changes nothing")
    func deleteAndErrors() throws {
        let root = try StateRoot()
        let bundle = try BusyboxBundle(arguments: ["sleep", "100"])
        for (index, startFirst) in [false, true].enumerated() {
            let id = "del-\(index)-\(getpid())"
            #expect(try root.create(bundle.path, id).status == .exited(0))
            let pid = try #require(try root.state(id)["pid"] as? Int)
            if startFirst {
                #expect(try root.runsc("start", [id]).status == .exited(0))
                #expect(try root.runsc("delete", ["--force", id]).status == .exited(0))
            } else {
                #expect(try root.runsc("delete", [id]).status == .exited(0))
            }
            #expect(kill(pid_t(pid), 0) != 0)
            #expect(access(root.path + "/" + id, F_OK) != 0)
        }
        #expect(try root.runsc("start", ["missing"]).status == .exited(1))
        #expect(try root.runsc("kill", ["missing", "KILL"]).status == .exited(1))
        #expect(try root.runsc("create", ["--bundle", "/nonexistent-bundle", "bad"]).status == .exited(1))
        #expect(try root.runsc("create", ["--bundle", bundle.path, "../escape"]).status != .exited(0))
        #expect(try root.runsc("kill", ["x", "NOSUCHSIGNAL"]).status != .exited(0))
        #expect(try root.runsc("list", ["--quiet"]).output == "")
    }
}

@Suite("runsc global flags")
struct GlobalFlagTests {
    @Test("flags before the command, as runc takes them, move after it where the command uses them")
    func moved() {
        #expect(RunscCommand.movingGlobalFlags(["--root", "/r", "create", "--bundle", "b", "id"]) == ["create", "--root", "/r", "--bundle", "b", "id"])
        #expect(RunscCommand.movingGlobalFlags(["--root=/r", "--strace", "state", "id"]) == ["state", "--root=/r", "id"])
        #expect(RunscCommand.movingGlobalFlags(["--root", "/r", "--strace", "run", "id"]) == ["run", "--strace", "id"])
        #expect(RunscCommand.movingGlobalFlags(["list", "--root", "/r"]) == ["list", "--root", "/r"])
        #expect(RunscCommand.movingGlobalFlags(["--unknown", "list"]) == ["--unknown", "list"])
        #expect(RunscCommand.movingGlobalFlags(["--root"]) == ["--root"])
    }
}

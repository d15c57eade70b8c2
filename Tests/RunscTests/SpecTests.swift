import ArgumentParser
import Foundation
import Testing

@testable import Runsc

/// A fresh empty directory under the system temporary directory.
func makeTemporaryBundle() throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("runsc-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    return path
}

@Suite("OCI spec")
struct SpecTests {
    @Test("the default spec matches runc's shape")
    func defaults() throws {
        let spec = Spec.makeDefault()
        #expect(spec.ociVersion == "1.0.2")
        let process = try #require(spec.process)
        #expect(process.args == ["sh"])
        #expect(process.cwd == "/")
        #expect(process.env?.contains { $0.hasPrefix("PATH=") } == true)
        #expect(process.env?.contains("TERM=xterm") == true)
        #expect(process.user == Spec.User(uid: 0, gid: 0))
        #expect(spec.root == Spec.Root(path: "rootfs", readonly: true))
        #expect(spec.hostname == "runsc")
        #expect(spec.mounts?.map(\.destination) == ["/proc", "/dev", "/dev/pts", "/dev/shm", "/sys"])
        #expect(spec.linux?.namespaces?.map(\.type) == [.pid, .network, .ipc, .uts, .mount])
    }

    @Test("encode then decode gives the same spec")
    func roundTrip() throws {
        let spec = Spec.makeDefault(args: ["/bin/echo", "hello"])
        let data = try encodeSpec(spec)
        #expect(try decodeSpec(data) == spec)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"ociVersion\" : \"1.0.2\""))
        #expect(text.contains("\"/dev/pts\""))  // slashes are not escaped
        #expect(try encodeSpec(spec) == data)  // stable output
    }

    @Test("a config.json from elsewhere decodes; unknown keys are ignored")
    func foreignConfig() throws {
        let json = """
            {"ociVersion": "1.1.0", "process": {"user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [10, 4294967295]},
             "args": ["ls", "-l"], "cwd": "/tmp", "capabilities": {"bounding": []}},
             "root": {"path": "/var/lib/rootfs"}, "annotations": {"a": "b"},
             "linux": {"namespaces": [{"type": "network", "path": "/var/run/netns/x"}], "resources": {}}}
            """
        let spec = try decodeSpec(Data(json.utf8))
        #expect(spec.process?.user == Spec.User(uid: 1000, gid: 1000, umask: 18, additionalGids: [10, .max]))
        #expect(spec.root?.readonly == nil)
        #expect(spec.mounts == nil)
        #expect(spec.linux?.namespaces == [Spec.Namespace(type: .network, path: "/var/run/netns/x")])
    }

    @Test("a wrong type names the field", arguments: [
        (#"{"ociVersion": "1.0.2", "process": {"args": 5, "cwd": "/", "user": {"uid": 0, "gid": 0}}}"#, "process.args"),
        (#"{"ociVersion": 1}"#, "ociVersion"),
        (#"{"ociVersion": "1.0.2", "process": {"args": ["sh", 7], "cwd": "/", "user": {"uid": 0, "gid": 0}}}"#, "process.args.1"),
        (#"{"ociVersion": "1.0.2", "process": {"args": ["sh"], "cwd": "/", "user": {"uid": -1, "gid": 0}}}"#, "process.user.uid"),
        (#"{"ociVersion": "1.0.2", "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 1.5}}}"#, "process.user.gid"),
        (#"{"ociVersion": "1.0.2", "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": "0"}}}"#, "process.user.gid"),
        (#"{"ociVersion": "1.0.2", "process": {"args": ["sh"], "cwd": "/", "user": {"gid": 0}}}"#, "process.user.uid"),
        (#"{"ociVersion": "1.0.2", "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0, "umask": 4294967296}}}"#, "process.user.umask"),
        (#"{"ociVersion": "1.0.2", "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0, "additionalGids": [1, -2]}}}"#, "process.user.additionalGids.1"),
        (#"{"ociVersion": "1.0.2", "mounts": [{"destination": "/a"}, {"destination": null}]}"#, "mounts.1.destination"),
        (#"{"ociVersion": "1.0.2", "mounts": [{"destination": "/a"}, {"type": "tmpfs"}]}"#, "mounts.1.destination"),
        (#"{"ociVersion": "1.0.2", "linux": {"namespaces": [{"type": "bogus"}]}}"#, "linux.namespaces.0.type"),
        (#"{"ociVersion": "1.0.2", "root": {"path": "rootfs", "readonly": "yes"}}"#, "root.readonly"),
        (#"{"process": {}}"#, "ociVersion"),
    ])
    func fieldPath(json: String, field: String) {
        do {
            _ = try decodeSpec(Data(json.utf8), path: "/b/config.json")
            Issue.record("decoded \(json)")
        } catch {
            guard case .invalidField(let path, let named, _) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(path == "/b/config.json")
            #expect(named == field)
            #expect(error.description.contains("\"\(field)\""))
        }
    }

    @Test("validation names the field", arguments: [
        (#"{"ociVersion": "2.0.0"}"#, "ociVersion"),
        (#"{"ociVersion": "1.0.2", "process": {"args": ["sh"], "cwd": "tmp", "user": {"uid": 0, "gid": 0}}}"#, "process.cwd"),
        (#"{"ociVersion": "1.0.2", "process": {"args": [], "cwd": "/", "user": {"uid": 0, "gid": 0}}}"#, "process.args"),
        (#"{"ociVersion": "1.0.2", "process": {"cwd": "/", "user": {"uid": 0, "gid": 0}}}"#, "process.args"),
        (#"{"ociVersion": "1.0.2", "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "capabilities": {"permitted": ["CAP_KILL", "CAP_FLY"]}}}"#, "process.capabilities.permitted"),
        (#"{"ociVersion": "1.0.2", "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "capabilities": {"effective": ["CAP_KILL"]}}}"#, "process.capabilities.effective"),
    ])
    func validation(json: String, field: String) {
        #expect {
            try decodeSpec(Data(json.utf8))
        } throws: { error in
            guard let error = error as? SpecError, case .invalidField(_, let named, _) = error else { return false }
            return named == field
        }
    }

    @Test("text that is not JSON says so")
    func notJSON() {
        #expect {
            try decodeSpec(Data("{ociVersion".utf8))
        } throws: { error in
            guard let error = error as? SpecError, case .invalidJSON = error else { return false }
            return true
        }
    }

    @Test("loadSpec: missing bundle, missing file, good file")
    func load() throws {
        let bundle = try makeTemporaryBundle()
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        #expect(throws: SpecError.notFound(path: bundle + "/config.json")) { try loadSpec(bundle: bundle) }
        try writeSpec(Spec.makeDefault(), bundle: bundle)
        #expect(try loadSpec(bundle: bundle) == Spec.makeDefault())
    }
}

@Suite("runsc spec")
struct SpecCommandTests {
    @Test("writes config.json into --bundle and refuses to overwrite it")
    func writesOnce() throws {
        let bundle = try makeTemporaryBundle()
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        let command = try SpecCommand.parse(["--bundle", bundle, "--", "/bin/ls", "-l"])
        try command.run()
        #expect(try loadSpec(bundle: bundle).process?.args == ["/bin/ls", "-l"])

        let before = try Data(contentsOf: URL(fileURLWithPath: bundle + "/config.json"))
        #expect(throws: SpecError.alreadyExists(path: bundle + "/config.json")) {
            try SpecCommand.parse(["--bundle", bundle]).run()
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: bundle + "/config.json")) == before)
        #expect(SpecError.alreadyExists(path: "x").description.contains("already exists"))
    }

    @Test("a bundle directory that does not exist is an error")
    func missingBundle() throws {
        #expect(throws: SpecError.notFound(path: "/nonexistent-runsc-bundle")) {
            try SpecCommand.parse(["-b", "/nonexistent-runsc-bundle"]).run()
        }
    }
}

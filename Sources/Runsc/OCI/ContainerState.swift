import ArgumentParser
import Foundation
import Glibc
import HostSys

/// The state runsc keeps for a container between `create` and `delete`: a directory per
/// container under the state root (`--root`, by default /run/swift-runsc: our own, so that
/// gVisor's runsc and runc keep theirs beside it), holding `state.json` and, until `start`,
/// the `start` FIFO the Sentry waits on.
struct ContainerState: Codable, Equatable {
    /// OCI runtime-spec states.
    enum Status: String, Codable {
        case creating, created, running, stopped
    }

    var ociVersion = "1.0.2"
    var id: String
    var status: Status
    /// The Sentry's host pid (the container's process, as runc reports its init).
    var pid: Int32
    var bundle: String
    /// The process that started the sandbox and waits for it (`runsc monitor`).
    var monitorPID: Int32
    var created: String
    /// The program's status in the shell's convention, once stopped.
    var exitStatus: Int32?

    static let defaultRoot = "/run/swift-runsc"
}

/// A container's state directory.
struct ContainerDirectory {
    let root: String
    let id: String

    var path: String { root + "/" + id }
    var stateFile: String { path + "/state.json" }
    var startFIFO: String { path + "/start" }

    /// Checks `id` as runc does: letters, digits, '-', '_', '.', not starting with '.'.
    static func validate(_ id: String) throws {
        guard !id.isEmpty, !id.hasPrefix("."), id.count <= 1024,
            id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        else { throw ValidationError("invalid container id '\(id)': use letters, digits, '-', '_' or '.'") }
    }

    /// Makes the directory; an existing one means the id is taken.
    func create() throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        guard mkdir(path, 0o700) == 0 else {
            if errno == EEXIST { throw RuntimeError("container \(id) already exists") }
            throw RuntimeError("\(path): \(Errno.current)")
        }
    }

    /// The recorded state with its status brought up to date: a Sentry that is gone means
    /// stopped; one still waiting at its start FIFO means created.
    func load() throws -> ContainerState {
        var state = try read()
        if state.status == .created || state.status == .running {
            if Glibc.kill(state.pid, 0) != 0 && errno == ESRCH {
                // The sandbox has ended; its monitor records how in a moment (bounded wait).
                for _ in 0..<200 where Glibc.kill(state.monitorPID, 0) == 0 {
                    usleep(10_000)
                    if let recorded = try? read(), recorded.status == .stopped { return recorded }
                }
                state.status = .stopped
            } else {
                state.status = access(startFIFO, F_OK) == 0 ? .created : .running
            }
        }
        return state
    }

    /// The state file as it is.
    private func read() throws -> ContainerState {
        guard let data = FileManager.default.contents(atPath: stateFile) else {
            throw RuntimeError("container \(id) does not exist")
        }
        do {
            return try JSONDecoder().decode(ContainerState.self, from: data)
        } catch {
            throw RuntimeError("\(stateFile): unreadable state: \(error)")
        }
    }

    /// Writes `state` atomically (a reader never sees half a file).
    func save(_ state: ContainerState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(state).write(to: URL(fileURLWithPath: stateFile), options: .atomic)
    }

    /// Removes the directory and everything in it.
    func remove() throws {
        try FileManager.default.removeItem(atPath: path)
    }

    /// The ids of every container under `root`, sorted.
    static func all(root: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter {
            FileManager.default.fileExists(atPath: root + "/" + $0 + "/state.json")
        }.sorted()
    }
}

/// A failure runsc reports as "runsc: message" with exit status 1.
struct RuntimeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The state root option of the lifecycle commands.
struct StateOptions: ParsableArguments {
    @Option(help: "The directory runsc keeps container state in.")
    var root = ContainerState.defaultRoot

    func directory(_ id: String) throws -> ContainerDirectory {
        try ContainerDirectory.validate(id)
        return ContainerDirectory(root: root, id: id)
    }
}

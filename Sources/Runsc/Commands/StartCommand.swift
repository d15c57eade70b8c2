import ArgumentParser
import Foundation
import Glibc
import HostSys

/// `runsc start`: starts the program of a created container (writes to its start FIFO, on
/// which the Sentry waits, and removes the FIFO: the container is running from then on).
struct StartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a created container's program.")

    @OptionGroup var state: StateOptions

    @Argument(help: "The container id.")
    var id: String

    func run() throws {
        let directory = try state.directory(id)
        let current = try directory.load()
        guard current.status == .created else {
            throw RuntimeError("cannot start container \(id): it is \(current.status.rawValue), not created")
        }
        // Non-blocking: with no reader (the Sentry is gone) this fails instead of waiting.
        do {
            let gate = try FileDescriptor.open(directory.startFIFO, flags: O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            try [UInt8(1)].withUnsafeBytes { try gate.writeAll($0) }
        } catch {
            throw RuntimeError("cannot start container \(id): \(error)")
        }
        unlink(directory.startFIFO)
    }
}

/// `runsc state`: prints a container's state as JSON (the OCI runtime-spec state).
struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "state", abstract: "Print a container's state as JSON.")

    @OptionGroup var state: StateOptions

    @Argument(help: "The container id.")
    var id: String

    func run() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(try state.directory(id).load()), as: UTF8.self))
    }
}

/// `runsc list`: a table of the containers in the state root.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the containers.")

    @OptionGroup var state: StateOptions

    @Flag(name: .shortAndLong, help: "Print only the ids.")
    var quiet = false

    func run() throws {
        let states = ContainerDirectory.all(root: state.root).compactMap { try? ContainerDirectory(root: state.root, id: $0).load() }
        if quiet {
            for container in states { print(container.id) }
            return
        }
        let rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED"]]
            + states.map { [$0.id, String($0.pid), $0.status.rawValue, $0.bundle, $0.created] }
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(row.enumerated().map { $0.offset == 4 ? $0.element : $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "   "))
        }
    }
}

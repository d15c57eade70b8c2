import ArgumentParser
import Foundation
import Glibc

/// `runsc delete`: removes a stopped container's state; with --force, kills a running one
/// first. A created container (never started) is killed and removed, as runc does.
struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a container and its state.")

    @OptionGroup var state: StateOptions

    @Flag(name: .shortAndLong, help: "Kill the container first if it is running.")
    var force = false

    @Argument(help: "The container id.")
    var id: String

    func run() throws {
        let directory = try state.directory(id)
        let current = try directory.load()
        if current.status == .running && !force {
            throw RuntimeError("cannot delete container \(id): it is running (stop it, or use --force)")
        }
        if current.status != .stopped { Glibc.kill(current.pid, SIGKILL) }
        // The monitor records the end and stops the gofer; wait for it (bounded) so that
        // nothing of the container is left when delete returns.
        for _ in 0..<1000 where Glibc.kill(current.monitorPID, 0) == 0 { usleep(10_000) }
        try directory.remove()
    }
}

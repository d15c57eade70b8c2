import ArgumentParser
import Foundation
import Glibc
import HostSys
import LinuxABI

/// `runsc kill`: sends a signal to a container's program. The Sentry passes catchable
/// signals on to the program's init; SIGKILL ends the whole sandbox at once.
struct KillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kill", abstract: "Send a signal to a container's program.")

    @OptionGroup var state: StateOptions

    @Argument(help: "The container id.")
    var id: String

    @Argument(help: "The signal: a name (TERM, SIGTERM) or a number (default: SIGTERM).")
    var signal = "SIGTERM"

    /// `text` as a signal number, or nil if it names none.
    static func parse(_ text: String) -> LinuxSignal? {
        if let number = Int32(text) { return (1...64).contains(number) ? LinuxSignal(number) : nil }
        let name = text.uppercased().hasPrefix("SIG") ? text.uppercased() : "SIG" + text.uppercased()
        return (1...31).map { LinuxSignal(Int32($0)) }.first { $0.description == name }
    }

    func validate() throws {
        guard Self.parse(signal) != nil else { throw ValidationError("unknown signal '\(signal)'") }
    }

    func run() throws {
        let current = try state.directory(id).load()
        guard current.status == .created || current.status == .running else {
            throw RuntimeError("container \(id) is not running")
        }
        let number = Self.parse(signal)!.rawValue
        guard Glibc.kill(current.pid, number) == 0 else { throw RuntimeError("kill \(id): \(Errno.current)") }
    }
}

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

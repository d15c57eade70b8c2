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

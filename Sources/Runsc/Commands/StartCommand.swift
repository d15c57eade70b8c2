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

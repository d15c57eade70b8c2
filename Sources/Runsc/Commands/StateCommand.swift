import ArgumentParser
import Foundation

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

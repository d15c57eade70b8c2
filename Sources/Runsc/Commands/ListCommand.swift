import ArgumentParser
import Foundation

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

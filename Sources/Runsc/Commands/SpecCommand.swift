import ArgumentParser
import Foundation

/// `runsc spec`: writes a starter config.json, as `runc spec` does.
struct SpecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spec",
        abstract: "Create a default OCI config.json in a bundle directory.",
        discussion: """
            The spec runs `sh` (or the command given after --) as root in ./rootfs, read-only, \
            with new pid, network, ipc, uts and mount namespaces. An existing config.json is \
            never overwritten.
            """)

    @Option(name: [.customShort("b"), .long], help: "The bundle directory to write config.json into (default: the current directory).")
    var bundle: String?

    @Argument(parsing: .postTerminator, help: "The command and arguments of the container's process (default: sh).")
    var command: [String] = []

    func run() throws {
        let directory = bundle ?? FileManager.default.currentDirectoryPath
        try writeSpec(Spec.makeDefault(args: command.isEmpty ? ["sh"] : command), bundle: directory)
    }
}

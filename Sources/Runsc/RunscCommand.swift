import ArgumentParser

/// `runsc`: the OCI runtime front end of the sandbox (see DESIGN.md, "runsc"). Each subcommand
/// lives in its own file under Commands/.
@main
struct RunscCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runsc",
        abstract: "Run OCI containers in a sandbox whose kernel is the Sentry, not the host.",
        subcommands: [
            RunCommand.self, CreateCommand.self, StartCommand.self, StateCommand.self, KillCommand.self, DeleteCommand.self,
            ListCommand.self, DoCommand.self, SpecCommand.self, SyscallsCommand.self, GoferCommand.self, BootCommand.self,
            MonitorCommand.self,
        ])
}

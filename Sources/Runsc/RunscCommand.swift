import ArgumentParser

/// `runsc`: the OCI runtime front end of the sandbox (see DESIGN.md, "runsc"). Each subcommand
/// lives in its own file under Commands/ (the internal `monitor` beside `create`, which starts it).
@main
struct RunscCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runsc",
        abstract: "Run OCI containers in a sandbox whose kernel is the Sentry, not the host.",
        subcommands: [
            RunCommand.self, CreateCommand.self, StartCommand.self, StateCommand.self, KillCommand.self, DeleteCommand.self,
            ListCommand.self, DoCommand.self, SpecCommand.self, SyscallsCommand.self, GoferCommand.self, BootCommand.self,
            MonitorCommand.self, NetstackCommand.self,
        ])

    /// Flags runc and gVisor take before the command (`runsc --root DIR create ...`), whether
    /// they take a value, and the commands that use them.
    static let globalFlags: [String: (takesValue: Bool, commands: Set<String>)] = [
        "--root": (true, ["create", "start", "state", "kill", "delete", "list", "monitor"]),
        "--debug-log": (true, ["run", "do", "create", "monitor"]),
        "--strace": (false, ["run", "do", "create", "monitor"]),
        "--no-sentry-seccomp": (false, ["run", "do", "create", "monitor"]),
    ]

    /// `arguments` with the global flags before the command moved after it, where the
    /// command's own options take them; a flag the command has no use for (--root for `run`,
    /// which keeps no state) is dropped.
    static func movingGlobalFlags(_ arguments: [String]) -> [String] {
        var rest = arguments[...]
        var global: [(name: String, words: [String])] = []
        while let first = rest.first, first.hasPrefix("--") {
            let name = String(first.prefix { $0 != "=" })
            guard let flag = globalFlags[name] else { break }
            rest = rest.dropFirst()
            var words = [first]
            if flag.takesValue && !first.contains("="), let value = rest.first {
                words.append(value)
                rest = rest.dropFirst()
            }
            global.append((name, words))
        }
        guard let command = rest.first else { return arguments }
        let moved = global.filter { globalFlags[$0.name]?.commands.contains(command) == true }.flatMap(\.words)
        return [command] + moved + rest.dropFirst()
    }

    static func main() {
        main(movingGlobalFlags(Array(CommandLine.arguments.dropFirst())))
    }
}
